"""The SQLite backend: one file in WAL mode, FTS5 for search, ``PRAGMA user_version`` for the schema version.

SQLite has one write lock per file. A write takes it with ``BEGIN IMMEDIATE`` before it reads anything, which is
what makes a compare-and-set save safe between processes. An import holds the lock for one short batch at a time,
and a save must not keep missing the moments between batches (SQLite's own busy handler sleeps up to 100 ms at a
time, and a loaded machine may not run the waiting process in a gap of a few milliseconds). So a write that finds
the lock taken says so: it holds a shared ``flock`` on ``<store>-writers`` while it polls for the lock every
millisecond or two, and a bulk writer (:meth:`SQLite.yield_to_waiters`, before each batch) waits while anyone
holds it. A save then waits for at most the batch in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time

from cft.data.store.dialect import BUSY_TIMEOUT_S, Dialect, sqlite_path
from cft.data.store.errors import DuplicateKey, StoreBusy, StoreUnavailable

FTS_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS samples_fts USING fts5(question, response, critique, content='samples', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    # External-content FTS5 stays in sync through triggers; only the three text columns matter to it.
    "CREATE TRIGGER IF NOT EXISTS samples_fts_ai AFTER INSERT ON samples BEGIN "
    "INSERT INTO samples_fts(rowid, question, response, critique) VALUES (new.id, new.question, new.response, "
    "new.critique); END",
    "CREATE TRIGGER IF NOT EXISTS samples_fts_ad AFTER DELETE ON samples BEGIN "
    "INSERT INTO samples_fts(samples_fts, rowid, question, response, critique) VALUES ('delete', old.id, "
    "old.question, old.response, old.critique); END",
    "CREATE TRIGGER IF NOT EXISTS samples_fts_au AFTER UPDATE OF question, response, critique ON samples BEGIN "
    "INSERT INTO samples_fts(samples_fts, rowid, question, response, critique) VALUES ('delete', old.id, "
    "old.question, old.response, old.critique); "
    "INSERT INTO samples_fts(rowid, question, response, critique) VALUES (new.id, new.question, new.response, "
    "new.critique); END",
]


class SQLite(Dialect):
    name = "sqlite"
    types = {"id_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "bigint": "INTEGER",
             "without_rowid": " WITHOUT ROWID"}

    def __init__(self, url: str):
        super().__init__(url)
        self.path = sqlite_path(url).resolve()

    def where(self) -> str:
        return str(self.path)

    def connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE for writes).
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise self.translate(exc) or exc
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
        # A big import goes through the WAL; without a limit the -wal file stays as large as the import.
        conn.execute("PRAGMA journal_size_limit=67108864")
        return conn

    def translate(self, exc: BaseException) -> BaseException | None:
        text = str(exc).lower()
        if isinstance(exc, sqlite3.IntegrityError) and "unique" in text:
            return DuplicateKey(str(exc))
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in text or "busy" in text:
                return StoreBusy(self.where())
            if "unable to open" in text or "readonly" in text or "disk i/o" in text:
                return StoreUnavailable(f"cannot open the sample store {self.where()}: {exc}")
        return None

    @contextlib.contextmanager
    def _waiting(self, mode: int):
        fd = os.open(str(self.path) + "-writers", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # releases the flock

    def begin_write(self, raw) -> None:
        raw.execute("PRAGMA busy_timeout=0")
        try:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                    raise
            # Taken: say so to bulk writers, and poll in short steps rather than in SQLite's long sleeps.
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            pause = 0.0005
            with self._waiting(fcntl.LOCK_SH):
                while True:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        return
                    except sqlite3.OperationalError as exc:
                        text = str(exc).lower()
                        if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                            raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")

    def yield_to_waiters(self, longest: float = 2.0) -> None:
        """Before a bulk writer's next batch: wait (up to ``longest``) while other writes wait for the lock."""
        deadline = time.monotonic() + longest
        while True:
            try:
                with self._waiting(fcntl.LOCK_EX | fcntl.LOCK_NB):
                    return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.001)

    def extra_ddl(self) -> list[str]:
        return list(FTS_DDL)

    def version(self, db) -> int:
        return db.scalar("PRAGMA user_version")

    def set_version(self, db, version: int) -> None:
        db.execute(f"PRAGMA user_version = {int(version)}")

    @staticmethod
    def _match(tokens: list[str]) -> str:
        return " ".join('"' + t.replace('"', '""') + '"' for t in tokens)  # each token a phrase; quotes doubled

    def search(self, tokens: list[str]) -> tuple[str, list]:
        return "id IN (SELECT rowid FROM samples_fts WHERE samples_fts MATCH ?)", [self._match(tokens)]

    def fts_join(self, tokens: list[str]) -> tuple[str, str, list, str]:
        # CROSS JOIN keeps FTS5 as the outer loop: it yields matches in rowid order, so a page of matches stops
        # after about a page of rows instead of collecting every match of a common word first.
        return ("samples_fts CROSS JOIN samples ON samples.id = samples_fts.rowid", "samples_fts MATCH ?",
                [self._match(tokens)], "samples_fts.rowid")

    def reserve_ids(self, db, table: str, n: int) -> list[int]:
        # Explicit ids above the AUTOINCREMENT sequence; inserting them moves the sequence on (no id is reused).
        start = max(self.sequence(db, table), db.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
        return list(range(start + 1, start + 1 + n))

    def sequence(self, db, table: str) -> int:
        row = db.one("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
        return int(row[0]) if row else 0

    def set_sequence(self, db, table: str, value: int) -> None:
        if db.one("SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,)):
            db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (value, table))
        else:
            db.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (table, value))

    def after_bulk(self, db) -> None:
        # A bounded ANALYZE (a sample of each index), so the planner knows the new indexes' shapes.
        db.execute("PRAGMA analysis_limit=1000")
        db.execute("PRAGMA optimize")

    def integrity(self, db) -> list[str]:
        problems = [r[0] for r in db.all("PRAGMA integrity_check") if r[0] != "ok"]
        try:
            db.execute("INSERT INTO samples_fts(samples_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            problems.append(f"full-text index: {exc}")
        return problems

    def size_bytes(self, db) -> int | None:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
