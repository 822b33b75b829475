"""Optional login for several annotators (Gradio ``auth``), so every save records who made it.

Users come from a file named by ``CFT_USERS_FILE`` (one ``user:password`` per line, ``#`` comments allowed) and/or
the ``CFT_USERS`` environment variable (``"alice:pw1,bob:pw2"``). No users configured means no login, and
annotators type their name in the Data tab instead.

Logins are rate limited (:class:`LoginThrottle`, wired into the app's login route by app.py): per user and per
address, with back-off, and every failure is logged.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from pathlib import Path

from cft import redact
from cft.errors import UserError

log = logging.getLogger("cft.auth")


def _parse_pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    user = user.strip()
    if not sep or not user or not password:
        raise UserError(f"{where}: expected 'user:password', got {text.strip()!r}")
    return user, password


def parse_users_file(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"CFT_USERS_FILE {str(path)!r} does not exist")
    users: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, password = _parse_pair(line, f"{path}, line {n}")
        users[user] = password
    return users


def parse_users_env(value: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for n, item in enumerate(value.split(","), start=1):
        if item.strip():
            user, password = _parse_pair(item, f"CFT_USERS entry {n}")
            users[user] = password
    return users


def load_users(environ=None) -> dict[str, str]:
    """All configured users (the file first, then CFT_USERS, which wins on a repeated name)."""
    env = os.environ if environ is None else environ
    users: dict[str, str] = {}
    if env.get("CFT_USERS_FILE"):
        users.update(parse_users_file(env["CFT_USERS_FILE"]))
    if env.get("CFT_USERS"):
        users.update(parse_users_env(env["CFT_USERS"]))
    return users


def gradio_auth(environ=None):
    """A ``launch(auth=...)`` callable, or None when no users are configured (no login page)."""
    users = load_users(environ)
    if not users:
        return None
    for password in users.values():
        redact.register(password)  # a password must not show up in a log line either

    def check(username: str, password: str) -> bool:
        expected = users.get(username)
        # Constant-time comparison: the login form must not leak how much of a password was right, nor (by
        # answering faster) whether the user exists.
        same = hmac.compare_digest((expected or "\x00" * 32).encode(), (password or "").encode())
        return expected is not None and same

    return check


class LoginThrottle:
    """Failed logins counted per user and per address, with exponential back-off: after ``free`` failures a user
    (``free_per_address`` for an address, which several people may share) must wait ``base`` seconds, doubling
    with each further failure up to ``max_delay``. A success clears the user's count; a quiet ``window`` clears
    any count. Failed attempts are logged with the user and the address, never the password."""

    def __init__(self, *, free: int = 5, free_per_address: int = 20, base: float = 2.0, max_delay: float = 900.0,
                 window: float = 3600.0, max_entries: int = 10_000, clock=time.monotonic):
        self.free, self.free_per_address = free, free_per_address
        self.base, self.max_delay, self.window = base, max_delay, window
        self.max_entries, self.clock = max_entries, clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}  # (kind, who) -> (count, last failure)
        self._lock = threading.Lock()

    def _keys(self, user: str, address: str) -> list[tuple[tuple[str, str], int]]:
        return [(("user", user), self.free), (("address", address), self.free_per_address)]

    def _wait(self, key, free: int, now: float) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if count < free or now - last > self.window:
            return 0.0
        delay = min(self.max_delay, self.base * 2 ** (count - free))
        return max(0.0, last + delay - now)

    def retry_after(self, user: str, address: str) -> float:
        """Seconds before ``user`` may try again from ``address`` (0: now)."""
        now = self.clock()
        with self._lock:
            return max(self._wait(key, free, now) for key, free in self._keys(user, address))

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _ in self._keys(user, address):
                count, last = self._failures.get(key, (0, now))
                self._failures[key] = (1 if now - last > self.window else count + 1, now)
            if len(self._failures) > self.max_entries:  # names an attacker invents must not grow memory forever
                oldest = sorted(self._failures, key=lambda k: self._failures[k][1])[: len(self._failures) // 2]
                for key in oldest:
                    del self._failures[key]
            count = self._failures[("user", user)][0]
        wait = self.retry_after(user, address)
        log.warning("login failed for user %r from %s (%d failure(s)%s)", user[:64], address, count,
                    f"; next attempt in {wait:.0f} s" if wait else "")

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop(("user", user), None)
        log.info("login of user %r from %s", user[:64], address)
