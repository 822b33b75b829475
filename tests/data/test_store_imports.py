"""Large imports on both backends: committed in batches, all-or-nothing to readers, cleaned up after a failure or a
``kill -9``; saves keep going while one runs; a busy store is a clear, retryable error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from cft.commands.db import describe
from cft.data.samples import Sample
from cft.data.store import Store, StoreBusy, counts
from cft.errors import UserError
from tests.helpers import ROOT, wait_for


def _samples(n: int, prefix: str = "big", start: int = 0) -> list[Sample]:
    return [Sample(question=f"question {i} about apples", critique=f"critique {i}", key=f"{prefix}:{i}",
                   flags={"no_conclusion": "x"} if i % 3 == 0 else {}, source="src") for i in range(start, start + n)]


def _hidden_rows(store) -> int:
    return store._db().scalar("SELECT COUNT(*) FROM samples s JOIN parts p ON p.id = s.part "
                              "WHERE p.state <> 'ready'")


def _consistent(store) -> None:
    db = store._db()
    assert db.dialect.integrity(db) == [] and counts.mismatches(db) == []


@pytest.fixture
def store(store_url):
    st = Store()
    yield st
    st.close()


def test_an_import_is_invisible_until_it_is_shown_whole(store):
    store.add_samples("d", _samples(10, "d"))
    other = Store()  # another connection: what a reader elsewhere sees
    seen = []

    def watched(samples, at):
        for i, s in enumerate(samples):
            if i == at:  # several batches are committed by now, into a hidden part
                seen.append((_hidden_rows(other), other.query("d")[1], other.counts("d")["total"],
                             other.query("new")[1], [d["name"] for d in other.datasets()], other.stats()["total"]))
            yield s

    new_ids = store.add_samples("new", watched(_samples(400), 300), batch_rows=64)
    appended = store.add_samples("d", watched(_samples(200, "d", start=10), 150), batch_rows=64)
    assert seen[0] == (256, 10, 10, 0, ["d"], 10)
    assert seen[1] == (128, 10, 10, 400, ["d", "new"], 410)
    assert len(new_ids) == 400 and len(appended) == 200 and _hidden_rows(store) == 0
    assert store.query("new")[1] == 400 and store.query("d")[1] == 210 and store.query("d", flag="any")[1] == 70
    assert [s.key for s in store.iter_samples("d")][-1] == "d:209"
    assert store.add_samples("d", _samples(210, "d"), on_conflict="ignore", batch_rows=64) == []  # re-import
    _consistent(store)
    other.close()


def test_a_failed_import_leaves_nothing_visible_or_behind(store):
    bad = _samples(400)
    bad[250].status = "weird"
    with pytest.raises(UserError, match="sample 250.*status"):
        store.add_samples("new", bad, batch_rows=64)
    dup = _samples(300) + _samples(1, start=7)  # the duplicate arrives in a later batch than its first
    with pytest.raises(UserError, match="sample 300 has key 'big:7', which already exists"):
        store.add_samples("new", dup, batch_rows=64)
    db = store._db()
    assert store.datasets() == [] and db.scalar("SELECT COUNT(*) FROM samples") == 0
    assert db.scalar("SELECT COUNT(*) FROM parts") == 0 and db.scalar("SELECT COUNT(*) FROM history") == 0
    assert db.scalar("SELECT COUNT(*) FROM datasets") == 0
    assert len(store.add_samples("new", _samples(300), batch_rows=64)) == 300
    _consistent(store)


KILLABLE = """
import sys, time
from cft.data.samples import Sample
from cft.data.store import Store
def slow(n):
    for i in range(n):
        time.sleep(0.002)  # slow enough to be killed halfway
        yield Sample(question=f"question {i} about apples", critique=f"critique {i}", key=f"big:{i}",
                     flags={"no_conclusion": "x"} if i % 3 == 0 else {}, source="src")
Store(sys.argv[1]).add_samples("big", slow(int(sys.argv[2])), batch_rows=50)
print("finished")
"""


def test_kill_9_during_an_import_leaves_a_consistent_store_and_it_can_run_again(store):
    store.add_samples("d", _samples(5, "d"))
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, store.url, "5000"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _hidden_rows(store) >= 500 or proc.poll() is not None, timeout=120, what="the import")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)  # reaped: its pid is gone, as after a crash
    assert "finished" not in out, f"the import finished before it could be killed: {err}"
    info = describe(store.url, check=True)
    assert info["problems"] == [] and info["samples"] == 5  # integrity ok, counts match, nothing half-visible
    assert [h["alive"] for h in info["hidden_parts"]] == [False] and _hidden_rows(store) >= 500
    assert [d["name"] for d in store.datasets()] == ["d"] and store.query("big")[1] == 0
    hidden = store._db().scalar("SELECT MIN(id) FROM samples WHERE dataset = 'big'")
    with pytest.raises(UserError, match=f"no sample with id {hidden}"):
        store.get(hidden)
    ids = store.add_samples("big", _samples(5000), batch_rows=500)  # the same import again: the dead part goes first
    assert len(ids) == 5000 and store.query("big")[1] == 5000 and _hidden_rows(store) == 0
    assert store._db().scalar("SELECT COUNT(*) FROM samples WHERE dataset = 'big'") == 5000
    assert describe(store.url, check=True)["problems"] == []


def _short_busy_timeout(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr("cft.data.store.sqlite.BUSY_TIMEOUT_S", seconds)
    monkeypatch.setattr("cft.data.store.postgres.BUSY_TIMEOUT_S", seconds)


def test_a_busy_store_is_a_clear_retryable_error(store_url, monkeypatch):
    _short_busy_timeout(monkeypatch, 0.3)
    store = Store()
    (sid,) = store.add_samples("d", [Sample(question="q")])
    if store.backend == "sqlite":
        import sqlite3

        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds SQLite's one write lock
    else:
        import psycopg

        blocker = psycopg.connect(store.url, autocommit=True)
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM samples WHERE id = %s FOR UPDATE", (sid,))  # holds the row
    with pytest.raises(StoreBusy, match="is busy.*Nothing was saved; try again in a moment") as info:
        store.update(sid, {"critique": "mine"}, expected_revision=1, annotator="ann")
    assert info.value.retryable and isinstance(info.value, UserError)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.update(sid, {"critique": "mine"}, expected_revision=1, annotator="ann").revision == 2  # the retry
    assert [h["field"] for h in store.history(sid)] == ["created", "critique"]
    store.close()


def test_saves_go_through_while_a_large_import_runs(store_url, monkeypatch):
    _short_busy_timeout(monkeypatch, 1.0)  # a save that waited a whole second would fail
    store = Store()
    live = store.add_samples("live", _samples(20, "live"))
    importer = threading.Thread(target=lambda: Store().add_samples("big", _samples(3000), batch_rows=100))
    importer.start()
    saves = 0
    while importer.is_alive():
        sid = live[saves % len(live)]
        current = store.get(sid)
        store.update(sid, {"critique": current.critique + "+"}, expected_revision=current.revision)
        saves += 1
        time.sleep(0.005)
    importer.join()
    assert saves > 5 and store.query("big")[1] == 3000
    assert sum(store.get(i).revision - 1 for i in live) == saves
    store.close()
