"""Schema migrations (a v5 SQLite store brought forward, counts backfilled) and copying a whole store from SQLite
to PostgreSQL and back, compared field by field."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from cft.__main__ import main
from cft.commands.db import describe
from cft.data.samples import Sample
from cft.data.store import SCHEMA_VERSION, Store, counts
from cft.errors import UserError

V5 = Path(__file__).parent / "fixtures" / "store_v5.sql"  # written by the v5 code (commit ec263bc)


def _v5_store(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.executescript(V5.read_text())
    conn.close()
    return "sqlite:///" + str(path)


def test_a_v5_store_is_migrated_and_its_counts_backfilled(tmp_path, capsys):
    url = _v5_store(tmp_path / "old.db")
    assert describe(url)["schema"] == 5  # info reads without migrating
    assert main(["db", "migrate", "--url", url]) == 0
    assert f"schema 5 -> {SCHEMA_VERSION}" in capsys.readouterr().out
    store = Store(url)
    db = store._db()
    assert db.dialect.version(db) == SCHEMA_VERSION and db.dialect.integrity(db) == []
    assert counts.mismatches(db) == []
    assert {d["name"]: (d["count"], d["description"]) for d in store.datasets()} == {
        "alpha": (3, ""), "beta": (1, ""), "empty": (0, "no samples yet")}
    assert store.counts("alpha") == {"uncritiqued": 1, "pending": 0, "draft": 1, "reviewed": 1, "discarded": 0,
                                     "total": 3}
    assert store.stats()["flags"] == {"no_conclusion": 1} and store.ids(flag="no_conclusion") == [4]
    assert store.ids(search="apples") == [4] and store.ids(search="unicode") == [1]  # FTS kept, diacritics folded
    assert store.get(1).meta == {"import": {"order": ["z", "a"]}} and store.get(1).status == "draft"
    assert [h["field"] for h in store.history(2)] == ["created", "critique", "verdict", "flags", "status"]
    assert store.at_revision(2, 1).critique == "Hmm" and store.at_revision(2, 1).flags == {
        "no_conclusion": "no line", "empty_or_truncated": "short"}
    assert [s.id for s in store.page("alpha", order="flagged_first").samples] == [1, 2, 3]
    (new,) = store.add_samples("alpha", [Sample(question="new", key="a9")])
    assert new == 5 and store.update(2, {"status": "draft"}, expected_revision=2).revision == 3
    assert store._db().scalar("SELECT MAX(id) FROM history") == 11  # ids go on after the old ones
    assert main(["db", "migrate", "--url", url]) == 0 and "up to date" in capsys.readouterr().out
    store.close()


def test_a_store_from_before_v5_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "ancient.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, question TEXT)")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    with pytest.raises(UserError, match="schema version 3.*cannot be upgraded"):
        Store(path)


def _snapshot(store) -> dict:
    """Everything a copy must keep, read back through plain SQL and the store's API."""
    db = store._db()
    return {
        "datasets": [(d["name"], d["description"], d["created_at"], d["count"]) for d in store.datasets()],
        "samples": [asdict(s) for s in store.iter_samples(None)],
        "history": db.all("SELECT id, sample_id, revision, annotator, at, field, old, new FROM history ORDER BY id"),
        "stats": {d["name"]: store.stats(d["name"]) for d in store.datasets()},
        "sources": store.sources(),
        "search": store.ids(search="apples question"),
        "flagged": store.ids(flag="no_conclusion", order="updated"),
    }


def test_copy_round_trips_sqlite_to_postgres_and_back_losing_nothing(tmp_path, postgres_server, capsys):
    src_url = _v5_store(tmp_path / "src.db")
    src = Store(src_url)
    big = [Sample(question=f"question {i} about apples", critique=f"c{i}", key=f"k{i}", source=f"s{i % 3}",
                  flags={"no_conclusion": "x"} if i % 4 == 0 else {}, meta={"z": i, "a": [1, {"é": None}]},
                  reference_solution=None if i % 2 else "sol", student_model="m", teacher="t")
           for i in range(700)]
    ids = src.add_samples("alpha", big, batch_rows=128)  # a second part, from a batched import
    src.update(ids[5], {"critique": "edited ✓", "status": "reviewed", "flags": {"x": "y"}}, expected_revision=1,
               annotator="ann")
    src.restore(ids[5], 1, expected_revision=2, annotator="bob")
    src.add_samples("huge", [Sample(question="q", critique="step " * 200_000, key=None)])
    src.close()
    schema = "copy_" + uuid.uuid4().hex[:8]
    postgres_server.execute(f"CREATE SCHEMA {schema}")
    pg_url = postgres_server.url(schema=schema)
    back_url = "sqlite:///" + str(tmp_path / "back.db")
    try:
        assert main(["db", "copy", "--from", src_url, "--to", pg_url]) == 0
        assert "copied 4 dataset(s), 705 sample(s) and 716 history row(s)" in capsys.readouterr().out
        assert main(["db", "copy", "--from", pg_url, "--to", back_url]) == 0
        want = _snapshot(Store(src_url))
        assert len(want["samples"]) == 705 and len(want["history"]) == 716 and want["search"]
        for url in (pg_url, back_url):
            copy = Store(url)
            got = _snapshot(copy)
            for part in want:
                assert got[part] == want[part], (url, part)
            assert counts.mismatches(copy._db()) == []
            (new,) = copy.add_samples("alpha", [Sample(question="after the copy")])
            assert new > max(s["id"] for s in want["samples"])
            assert copy.history(new)[0]["field"] == "created"
            copy.close()
        capsys.readouterr()
        assert main(["db", "copy", "--from", src_url, "--to", back_url]) == 2
        assert "is not empty: copy into a new database or file" in capsys.readouterr().err
        assert main(["db", "info", "--url", pg_url, "--check"]) == 0
        assert "check: integrity ok, counts match the rows" in capsys.readouterr().out
    finally:
        postgres_server.execute(f"DROP SCHEMA {schema} CASCADE")
