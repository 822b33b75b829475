"""Logins cannot be guessed fast: back-off per user and per address (cft.auth.LoginThrottle behind app.LoginGuard),
every failure logged without the password."""

from __future__ import annotations

import logging

import httpx

from cft.auth import LoginThrottle
from tests.helpers import launched_app

PASSWORD = "correct-horse-battery-staple"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_back_off_doubles_per_user_and_a_success_clears_it():
    clock = Clock()
    throttle = LoginThrottle(free=3, free_per_address=6, base=2, max_delay=60, window=600, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("alice", "1.2.3.4") == 0
        throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "1.2.3.4") == 2 and throttle.retry_after("alice", "5.6.7.8") == 2
    clock.now += 2
    throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "9.9.9.9") == 4
    for _ in range(10):
        clock.now += 100
        throttle.failed("alice", "1.2.3.4")
    assert throttle.retry_after("alice", "9.9.9.9") == 60  # capped
    # The address has failed 14 times: another user from it waits too, from elsewhere that user does not.
    assert throttle.retry_after("bob", "1.2.3.4") > 0 and throttle.retry_after("bob", "5.6.7.8") == 0
    throttle.succeeded("alice", "5.6.7.8")
    assert throttle.retry_after("alice", "5.6.7.8") == 0
    clock.now += 601  # a quiet window forgets the address too
    assert throttle.retry_after("bob", "1.2.3.4") == 0


def test_sixty_wrong_passwords_are_mostly_refused_unanswered_and_logged(monkeypatch, caplog):
    monkeypatch.setenv("CFT_USERS", f"alice:{PASSWORD}")
    with caplog.at_level(logging.INFO, logger="cft.auth"), launched_app() as url:
        codes = [httpx.post(f"{url}login", data={"username": "alice", "password": f"guess{i}"}, timeout=30).status_code
                 for i in range(60)]
        locked = httpx.post(f"{url}login", data={"username": "alice", "password": PASSWORD}, timeout=30)
        other = [httpx.post(f"{url}login", data={"username": f"user{i}", "password": "x"}, timeout=30).status_code
                 for i in range(30)]
    # Five free tries, then 429 until the back-off (2 s, 4 s, ...) lets one more try through.
    assert codes[:5] == [400] * 5 and codes[5] == 429 and codes.count(400) <= 7 and codes.count(429) >= 50, codes
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1  # even the right password waits
    assert other.count(400) <= 20 and other[-1] == 429, other  # the address is throttled across user names
    failures = [r for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) >= 5 and "alice" in failures[0].getMessage() and "127.0.0.1" in failures[0].getMessage()
    assert PASSWORD not in caplog.text and "guess1" not in caplog.text


def test_the_right_password_logs_in(monkeypatch):
    monkeypatch.setenv("CFT_USERS", f"alice:{PASSWORD}")
    with launched_app() as url:
        assert httpx.post(f"{url}login", data={"username": "alice", "password": "nope"}, timeout=30).status_code == 400
        ok = httpx.post(f"{url}login", data={"username": "alice", "password": PASSWORD}, timeout=30)
        assert ok.status_code == 200 and ok.json() == {"success": True}
