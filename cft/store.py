"""The sample store: one SQLite file (WAL) with datasets, samples, their full edit history and FTS5 search.

Design notes (why it looks like this):
- One connection per thread (``threading.local``): Gradio runs handlers in worker threads and sqlite3
  connections must not be shared between threads. WAL lets readers run while one writer writes.
- Saving is a compare-and-set on ``revision`` inside ``BEGIN IMMEDIATE``: the write lock is taken before the
  revision is read, so of two processes saving the same loaded revision exactly one wins, and the other gets a
  :class:`ConflictError` and writes nothing.
- History is append-only. The insert is revision 1 (one ``created`` row); each update appends one row per changed
  field with its old and new value (JSON). An old revision is rebuilt by undoing later rows, and
  :meth:`Store.restore` writes it back as a *new* revision, so history is never rewritten.
- Flags live as a JSON object in ``samples.flags``; triggers mirror the flag names into ``sample_flags`` so that
  "samples with flag X" is an index lookup, not a JSON scan of every row.
- ``samples_fts`` is an external-content FTS5 index over question/response/critique, kept in sync by triggers.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cft import workspace
from cft.errors import UserError
from cft.samples import STATUSES, VERDICTS, Sample

SCHEMA_VERSION = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name         TEXT PRIMARY KEY,
    description  TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    -- kept by triggers: the unfiltered page's total without counting 100k index entries each time
    sample_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS samples (
    -- Small columns first, big text last: reading a filter column (status, flags, ...) of a row then never
    -- walks the overflow pages of a long response or critique.
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset            TEXT NOT NULL REFERENCES datasets(name),
    key                TEXT,
    status             TEXT NOT NULL DEFAULT 'pending',
    verdict            TEXT NOT NULL DEFAULT 'unknown',
    flags              TEXT NOT NULL DEFAULT '{}',
    -- 1 when flags is not empty. A plain column written with flags (not a generated one): SQLite only treats an
    -- index as covering for plain columns, and every filter below must be answerable from an index alone.
    flagged            INTEGER NOT NULL DEFAULT 0,
    source             TEXT NOT NULL DEFAULT '',
    revision           INTEGER NOT NULL DEFAULT 1,
    created_at         REAL NOT NULL,
    updated_at         REAL NOT NULL,
    annotator          TEXT NOT NULL DEFAULT '',
    student_model      TEXT NOT NULL DEFAULT '',
    teacher            TEXT NOT NULL DEFAULT '',
    reference_answer   TEXT,
    meta               TEXT NOT NULL DEFAULT '{}',
    question           TEXT NOT NULL,
    response           TEXT NOT NULL DEFAULT '',
    critique           TEXT NOT NULL DEFAULT '',
    reference_solution TEXT,
    original_critique  TEXT
);
-- NULL keys never collide (SQLite treats NULLs as distinct); the partial index keeps it small.
CREATE UNIQUE INDEX IF NOT EXISTS samples_dataset_key ON samples(dataset, key) WHERE key IS NOT NULL;
-- Every index carries all the filter columns (status, verdict, flagged, source), so whichever one the planner
-- picks (a range on a filter, or a scan in the page order) never reads a table row, which holds the long texts.
-- Ordered scans: id; flagged DESC, id ("flagged_first"); updated_at ("updated").
CREATE INDEX IF NOT EXISTS samples_by_id ON samples(dataset, id, status, verdict, flagged, source);
CREATE INDEX IF NOT EXISTS samples_by_flagged ON samples(dataset, flagged DESC, id, status, verdict, source);
CREATE INDEX IF NOT EXISTS samples_by_updated ON samples(dataset, updated_at, id, status, verdict, flagged, source);
-- Ranges on a filter value.
CREATE INDEX IF NOT EXISTS samples_status ON samples(dataset, status, verdict, flagged, id, source);
CREATE INDEX IF NOT EXISTS samples_verdict ON samples(dataset, verdict, flagged, id, status, source);
CREATE INDEX IF NOT EXISTS samples_source ON samples(dataset, source, status, verdict, flagged, id);
CREATE INDEX IF NOT EXISTS samples_all_status ON samples(status, verdict, flagged, id, dataset, source);

-- One row per (sample, flag name), with copies of the sample's dataset/status/verdict (kept by the triggers) so
-- "flag X, status S, verdict V" is one range of this key, not a probe of every sample that has flag X.
CREATE TABLE IF NOT EXISTS sample_flags (
    flag      TEXT NOT NULL,
    dataset   TEXT NOT NULL,
    status    TEXT NOT NULL,
    verdict   TEXT NOT NULL,
    sample_id INTEGER NOT NULL,
    PRIMARY KEY (flag, dataset, status, verdict, sample_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sample_flags_sample ON sample_flags(sample_id);

CREATE TABLE IF NOT EXISTS history (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sample_id INTEGER NOT NULL,
    revision  INTEGER NOT NULL,
    annotator TEXT NOT NULL DEFAULT '',
    at        REAL NOT NULL,
    field     TEXT NOT NULL,
    old       TEXT,
    new       TEXT
);
CREATE INDEX IF NOT EXISTS history_sample ON history(sample_id, revision);

CREATE VIRTUAL TABLE IF NOT EXISTS samples_fts USING fts5(
    question, response, critique, content='samples', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);

CREATE TRIGGER IF NOT EXISTS samples_count_ai AFTER INSERT ON samples BEGIN
    UPDATE datasets SET sample_count = sample_count + 1 WHERE name = new.dataset;
END;
CREATE TRIGGER IF NOT EXISTS samples_count_ad AFTER DELETE ON samples BEGIN
    UPDATE datasets SET sample_count = sample_count - 1 WHERE name = old.dataset;
END;
CREATE TRIGGER IF NOT EXISTS samples_ai AFTER INSERT ON samples BEGIN
    INSERT INTO samples_fts(rowid, question, response, critique)
        VALUES (new.id, new.question, new.response, new.critique);
    INSERT INTO sample_flags(flag, dataset, status, verdict, sample_id)
        SELECT key, new.dataset, new.status, new.verdict, new.id FROM json_each(new.flags);
END;
CREATE TRIGGER IF NOT EXISTS samples_ad AFTER DELETE ON samples BEGIN
    INSERT INTO samples_fts(samples_fts, rowid, question, response, critique)
        VALUES ('delete', old.id, old.question, old.response, old.critique);
    DELETE FROM sample_flags WHERE sample_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS samples_au_text AFTER UPDATE OF question, response, critique ON samples BEGIN
    INSERT INTO samples_fts(samples_fts, rowid, question, response, critique)
        VALUES ('delete', old.id, old.question, old.response, old.critique);
    INSERT INTO samples_fts(rowid, question, response, critique)
        VALUES (new.id, new.question, new.response, new.critique);
END;
CREATE TRIGGER IF NOT EXISTS samples_au_flags AFTER UPDATE OF flags, status, verdict, dataset ON samples BEGIN
    DELETE FROM sample_flags WHERE sample_id = old.id;
    INSERT INTO sample_flags(flag, dataset, status, verdict, sample_id)
        SELECT key, new.dataset, new.status, new.verdict, new.id FROM json_each(new.flags);
END;
"""

# Column order used by every SELECT that builds a Sample.
_COLUMNS = (
    "id", "dataset", "key", "question", "response", "critique", "verdict", "reference_answer",
    "reference_solution", "source", "student_model", "teacher", "original_critique", "status", "flags",
    "revision", "created_at", "updated_at", "annotator", "meta",
)
_SELECT = "SELECT " + ", ".join(_COLUMNS) + " FROM samples"
_JSON_FIELDS = ("flags", "meta")
# What an update may change. id/dataset/revision/timestamps/annotator are the store's to set.
EDITABLE = (
    "key", "question", "response", "critique", "verdict", "reference_answer", "reference_solution", "source",
    "student_model", "teacher", "original_critique", "status", "flags", "meta",
)
_TEXT_NOT_NULL = ("question", "response", "critique", "source", "student_model", "teacher")
ORDERS = {
    "id": "id ASC",
    "flagged_first": "flagged DESC, id ASC",
    "updated": "updated_at DESC, id DESC",
}
CREATED = "created"  # the history field of a sample's first revision


def _dumps(value: Any) -> str:
    # Compact: '{}' is the one spelling of "no flags", which the ``flagged`` column relies on. Key order is kept
    # (not sorted) because meta records the original field order of imported records for lossless export.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class ConflictError(UserError):
    """Someone saved the sample after the caller loaded it; nothing was written."""

    def __init__(self, sample_id: int, expected_revision: int, current_revision: int, current: Sample):
        self.sample_id = sample_id
        self.expected_revision = expected_revision
        self.current_revision = current_revision
        self.current = current
        who = current.annotator or "someone"
        super().__init__(
            f"sample {sample_id} was changed by {who} at {_fmt_time(current.updated_at)}: you edited revision "
            f"{expected_revision}, the store now has revision {current_revision}. Nothing was saved; reload the "
            f"sample to see their version, then apply your change again."
        )


def _statements(script: str) -> list[str]:
    """Split a DDL script into statements (trigger bodies contain ';', so split on complete statements)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return [s for s in out if s]


def _row_to_sample(row: tuple) -> Sample:
    data = dict(zip(_COLUMNS, row))
    for name in _JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else {}
    return Sample(**data)


def _as_list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        return values or None  # an empty multi-select means "no filter"
    return [value]


_WORD = re.compile(r"\w", re.UNICODE)


def fts_query(text: str) -> str | None:
    """User text -> a safe FTS5 query: every whitespace-separated token becomes a quoted phrase (implicit AND).

    Quoting turns ``"``, ``*``, ``AND``, ``(`` into plain text, so no input is an FTS syntax error. Tokens
    without a letter or digit would be dropped by the tokenizer anyway; ``None`` means nothing searchable is
    left (the caller falls back to a substring match).
    """
    tokens = [t for t in (text or "").split() if _WORD.search(t)]
    if not tokens:
        return None
    return " ".join('"' + t.replace('"', '""') + '"' for t in tokens)


class Store:
    """The sample store. Cheap to create; safe to share between threads (one SQLite connection per thread)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else workspace.db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        conn = self._conn()
        # Opening an existing store takes no write lock (a long import elsewhere must not block a page load).
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            self._create_or_migrate(conn)

    def _create_or_migrate(self, conn: sqlite3.Connection) -> None:
        # One transaction, so two processes creating a fresh file at once cannot interleave half a schema.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            # Schemas 1-4 come from the first hours of development; each step below brings one forward.
            if version in (1, 2):
                self._migrate_prerelease(conn)
            if version in (3, 4):
                for trigger in ("samples_ai", "samples_ad", "samples_au_flags"):  # they write sample_flags
                    conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            if version in (1, 2, 3, 4):
                conn.execute("DROP TABLE IF EXISTS sample_flags")  # gained dataset/status/verdict in schema 5
            if version in (1, 2, 3):
                conn.execute("ALTER TABLE datasets ADD COLUMN sample_count INTEGER NOT NULL DEFAULT 0")
            for statement in _statements(_SCHEMA):
                conn.execute(statement)
            if version in (1, 2):
                names = ", ".join(_COLUMNS)  # the insert triggers rebuild FTS and sample_flags
                conn.execute(f"INSERT INTO samples({names}, flagged) SELECT {names}, flags <> '{{}}' FROM samples_old")
                conn.execute("DROP TABLE samples_old")
            if version in (3, 4):
                conn.execute("INSERT INTO sample_flags(flag, dataset, status, verdict, sample_id) "
                             "SELECT j.key, s.dataset, s.status, s.verdict, s.id FROM samples s, json_each(s.flags) j")
            if version:
                conn.execute("UPDATE datasets SET sample_count = (SELECT COUNT(*) FROM samples WHERE dataset = name)")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _migrate_prerelease(conn: sqlite3.Connection) -> None:
        """Schemas 1-2 (the first hour of development) had a generated ``flagged`` column: move the rows aside so
        the current table, indexes, FTS and triggers are created fresh, then copy them back."""
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'samples'"
                                    ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'samples' "
                                    "AND sql IS NOT NULL").fetchall():
            conn.execute(f"DROP INDEX {name}")
        conn.execute("DROP TABLE IF EXISTS samples_fts")
        conn.execute("ALTER TABLE samples RENAME TO samples_old")

    # -- connections -------------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE for writes).
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
            # A big import goes through the WAL; without a limit the -wal file stays as large as the import.
            conn.execute("PRAGMA journal_size_limit=67108864")
            self._local.conn = conn
            with self._conns_lock:
                self._all_conns.append(conn)
        return conn

    class _write:  # noqa: N801 - a tiny context manager: BEGIN IMMEDIATE ... COMMIT / ROLLBACK
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            if exc_type is None:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._all_conns:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass  # created in another thread; it is closed when that thread's connection is collected
            self._all_conns.clear()
        self._local = threading.local()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- datasets ----------------------------------------------------------------------------------------------
    @staticmethod
    def _check_name(name: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"dataset name must be a non-empty string, got {name!r}")
        if name != name.strip() or len(name) > 200 or any(ord(c) < 32 for c in name):
            raise UserError(f"dataset name {name!r}: no leading/trailing spaces or control characters, at most 200 chars")
        return name

    def create_dataset(self, name: str, description: str = "") -> None:
        name = self._check_name(name)
        conn = self._conn()
        with self._write(conn):
            self._ensure_dataset(conn, name, description)

    @staticmethod
    def _ensure_dataset(conn: sqlite3.Connection, name: str, description: str = "") -> None:
        conn.execute(
            "INSERT INTO datasets(name, description, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
            (name, description or "", time.time()),
        )
        if description:
            conn.execute("UPDATE datasets SET description = ? WHERE name = ?", (description, name))

    def datasets(self) -> list[dict]:
        rows = self._conn().execute(
            "SELECT name, description, created_at, sample_count FROM datasets ORDER BY name"
        ).fetchall()
        return [{"name": n, "description": desc, "count": c, "created_at": t} for n, desc, t, c in rows]

    def delete_dataset(self, name: str, *, confirm: str) -> int:
        if confirm != name:
            raise UserError(f"to delete dataset {name!r}, pass its name again as confirm (got {confirm!r})")
        conn = self._conn()
        with self._write(conn):
            if not conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone():
                raise UserError(f"no dataset named {name!r}")
            conn.execute("DELETE FROM history WHERE sample_id IN (SELECT id FROM samples WHERE dataset = ?)", (name,))
            count = conn.execute("DELETE FROM samples WHERE dataset = ?", (name,)).rowcount
            conn.execute("DELETE FROM datasets WHERE name = ?", (name,))
        return count

    # -- writes ------------------------------------------------------------------------------------------------
    @staticmethod
    def _check_sample(s: Sample, where: str) -> None:
        if s.status not in STATUSES:
            raise UserError(f"{where}: status must be one of {STATUSES}, got {s.status!r}")
        if s.verdict not in VERDICTS:
            raise UserError(f"{where}: verdict must be one of {VERDICTS}, got {s.verdict!r}")
        if not isinstance(s.question, str):
            raise UserError(f"{where}: question must be a string, got {type(s.question).__name__}")
        if not isinstance(s.flags, dict) or not isinstance(s.meta, dict):
            raise UserError(f"{where}: flags and meta must be dicts")

    def add_samples(self, dataset: str, samples: Iterable[Sample], *, on_conflict: str = "error") -> list[int]:
        """Insert ``samples`` into ``dataset`` in one transaction; returns the new ids (skipped ones excluded)."""
        if on_conflict not in ("error", "ignore"):
            raise UserError(f"on_conflict must be 'error' or 'ignore', got {on_conflict!r}")
        dataset = self._check_name(dataset)
        conn = self._conn()
        ids: list[int] = []
        now = time.time()
        insert = (
            "INSERT INTO samples(dataset, key, question, response, critique, verdict, reference_answer, "
            "reference_solution, source, student_model, teacher, original_critique, status, flags, flagged, revision, "
            "created_at, updated_at, annotator, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?)"
        )
        if on_conflict == "ignore":
            insert += " ON CONFLICT DO NOTHING"
        with self._write(conn):
            self._ensure_dataset(conn, dataset)
            for n, s in enumerate(samples):
                self._check_sample(s, f"sample {n} (key {s.key!r})")
                created = s.created_at or now
                try:
                    cur = conn.execute(insert, (
                        dataset, s.key, s.question, s.response or "", s.critique or "", s.verdict,
                        s.reference_answer, s.reference_solution, s.source or "", s.student_model or "",
                        s.teacher or "", s.original_critique, s.status, _dumps(s.flags), int(bool(s.flags)), created,
                        s.updated_at or created, s.annotator or "", _dumps(s.meta),
                    ))
                except sqlite3.IntegrityError as exc:
                    raise UserError(
                        f"dataset {dataset!r}: sample {n} has key {s.key!r}, which already exists in the dataset "
                        f"(use on_conflict='ignore' to skip existing keys)"
                    ) from exc
                if cur.rowcount == 0:
                    continue  # ignored: the key exists
                sid = cur.lastrowid
                ids.append(sid)
                conn.execute(
                    "INSERT INTO history(sample_id, revision, annotator, at, field, old, new) VALUES (?,1,?,?,?,NULL,NULL)",
                    (sid, s.annotator or "", created, CREATED),
                )
        if len(ids) >= 10_000:
            # Fold the big WAL back into the database now, not at some later reader's expense.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return ids

    def update(self, sample_id: int, changes: dict, *, expected_revision: int, annotator: str = "") -> Sample:
        """Compare-and-set save. Returns the sample as saved (unchanged, same revision, when nothing differs)."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise UserError(f"cannot update field(s) {unknown} of sample {sample_id}; editable fields: {list(EDITABLE)}")
        conn = self._conn()
        with self._write(conn):
            current = self._get(conn, sample_id)
            if current.revision != expected_revision:
                raise ConflictError(sample_id, expected_revision, current.revision, current)
            diff: dict[str, tuple[Any, Any]] = {}
            for name, value in changes.items():
                if name in _TEXT_NOT_NULL and value is None:
                    value = ""
                if name in _JSON_FIELDS and not isinstance(value, dict):
                    raise UserError(f"sample {sample_id}: {name} must be a dict, got {type(value).__name__}")
                if name == "status" and value not in STATUSES:
                    raise UserError(f"sample {sample_id}: status must be one of {STATUSES}, got {value!r}")
                if name == "verdict" and value not in VERDICTS:
                    raise UserError(f"sample {sample_id}: verdict must be one of {VERDICTS}, got {value!r}")
                old = getattr(current, name)
                if old != value:
                    diff[name] = (old, value)
            if not diff:
                return current
            revision = current.revision + 1
            now = time.time()
            sets = ", ".join(f"{name} = ?" for name in diff)
            values = [_dumps(new) if name in _JSON_FIELDS else new for name, (_, new) in diff.items()]
            if "flags" in diff:
                sets += ", flagged = ?"
                values.append(int(bool(diff["flags"][1])))
            try:
                conn.execute(
                    f"UPDATE samples SET {sets}, revision = ?, updated_at = ?, annotator = ? WHERE id = ?",
                    (*values, revision, now, annotator or "", sample_id),
                )
            except sqlite3.IntegrityError as exc:
                raise UserError(f"sample {sample_id}: key {changes.get('key')!r} already exists in its dataset") from exc
            conn.executemany(
                "INSERT INTO history(sample_id, revision, annotator, at, field, old, new) VALUES (?,?,?,?,?,?,?)",
                [(sample_id, revision, annotator or "", now, name, _dumps(old), _dumps(new))
                 for name, (old, new) in diff.items()],
            )
            return self._get(conn, sample_id)

    # -- reads -------------------------------------------------------------------------------------------------
    def _get(self, conn: sqlite3.Connection, sample_id: int) -> Sample:
        row = conn.execute(_SELECT + " WHERE id = ?", (sample_id,)).fetchone()
        if row is None:
            raise UserError(f"no sample with id {sample_id}")
        return _row_to_sample(row)

    def get(self, sample_id: int) -> Sample:
        return self._get(self._conn(), sample_id)

    def _where(self, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None) -> tuple[str, list]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("dataset", dataset), ("status", status), ("verdict", verdict), ("source", source)):
            values = _as_list(value)
            if values is None:
                continue
            if len(values) == 1:
                clauses.append(f"{column} = ?")
            else:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
        if flag:
            if flag == "any":
                clauses.append("flagged = 1")
            elif flag == "none":
                clauses.append("flagged = 0")
            else:
                # The same dataset/status/verdict conditions inside, so the subquery returns only real matches.
                inner, inner_params = ["flag = ?"], [flag]
                for column, value in (("dataset", dataset), ("status", status), ("verdict", verdict)):
                    values = _as_list(value)
                    if values is not None:
                        inner.append(f"{column} IN ({','.join('?' * len(values))})")
                        inner_params.extend(values)
                clauses.append(f"id IN (SELECT sample_id FROM sample_flags WHERE {' AND '.join(inner)})")
                params.extend(inner_params)
        if search and search.strip():
            match = fts_query(search)
            if match is not None:
                clauses.append("id IN (SELECT rowid FROM samples_fts WHERE samples_fts MATCH ?)")
                params.append(match)
            else:
                # Only punctuation (e.g. "=" or "\\"): nothing the tokenizer indexes, so match the raw substring.
                needle = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                clauses.append(
                    "(question LIKE ? ESCAPE '\\' OR response LIKE ? ESCAPE '\\' OR critique LIKE ? ESCAPE '\\')"
                )
                params.extend([needle] * 3)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return where, params

    @staticmethod
    def _order(order: str) -> str:
        if order not in ORDERS:
            raise UserError(f"order must be one of {list(ORDERS)}, got {order!r}")
        return ORDERS[order]

    def query(self, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None,
              order: str = "id", offset: int = 0, limit: int | None = 50) -> tuple[list[Sample], int]:
        """One page of matching samples and the total number that match."""
        where, params = self._where(dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
        order_sql = self._order(order)
        offset = max(0, int(offset or 0))
        conn = self._conn()
        if dataset is not None and not isinstance(dataset, (list, tuple, set)) and where == " WHERE dataset = ?":
            row = conn.execute("SELECT sample_count FROM datasets WHERE name = ?", (dataset,)).fetchone()
            total = row[0] if row else 0
        else:
            total = conn.execute("SELECT COUNT(*) FROM samples" + where, params).fetchone()[0]
        if limit is None:
            sql = _SELECT + where + f" ORDER BY {order_sql} LIMIT -1 OFFSET ?"
            params = [*params, offset]
        else:
            # Two steps: pick the page's ids from the indexes (no row is read for skipped or sorted-away
            # matches), then read just those rows.
            sql = (_SELECT + f" WHERE id IN (SELECT id FROM samples{where} ORDER BY {order_sql} LIMIT ? OFFSET ?)"
                   f" ORDER BY {order_sql}")
            params = [*params, max(0, int(limit)), offset]
        rows = conn.execute(sql, params).fetchall()
        return [_row_to_sample(r) for r in rows], total

    def ids(self, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None,
            order: str = "id") -> list[int]:
        where, params = self._where(dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
        sql = "SELECT id FROM samples" + where + f" ORDER BY {self._order(order)}"
        return [r[0] for r in self._conn().execute(sql, params)]

    def counts(self, dataset=None) -> dict[str, int]:
        where, params = self._where(dataset)
        out = {s: 0 for s in STATUSES}
        for status, n in self._conn().execute(f"SELECT status, COUNT(*) FROM samples{where} GROUP BY status", params):
            out[status] = n
        out["total"] = sum(out[s] for s in STATUSES)
        return out

    def stats(self, dataset=None) -> dict:
        conn = self._conn()
        where, params = self._where(dataset)
        verdicts = {v: 0 for v in VERDICTS}
        for verdict, n in conn.execute(f"SELECT verdict, COUNT(*) FROM samples{where} GROUP BY verdict", params):
            verdicts[verdict] = n
        datasets = _as_list(dataset)
        flag_where = f" WHERE dataset IN ({','.join('?' * len(datasets))})" if datasets else ""
        flags = dict(conn.execute(f"SELECT flag, COUNT(*) FROM sample_flags{flag_where} GROUP BY flag "
                                  "ORDER BY COUNT(*) DESC, flag", datasets or []).fetchall())
        status = self.counts(dataset)
        return {"status": status, "verdict": verdicts, "flags": flags, "total": status["total"]}

    def iter_samples(self, dataset, *, status=None, verdict=None, flag=None, source=None, search=None,
                     batch: int = 1000) -> Iterator[Sample]:
        """Every matching sample in id order, fetched in batches (keyset pagination: constant memory)."""
        where, params = self._where(dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
        joiner = " AND " if where else " WHERE "
        last = 0
        conn = self._conn()
        while True:
            rows = conn.execute(
                _SELECT + where + joiner + "id > ? ORDER BY id LIMIT ?", [*params, last, batch]
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_to_sample(row)
            last = rows[-1][0]

    def keys(self, dataset: str) -> set[str]:
        rows = self._conn().execute("SELECT key FROM samples WHERE dataset = ? AND key IS NOT NULL", (dataset,))
        return {r[0] for r in rows}

    # -- history -----------------------------------------------------------------------------------------------
    def history(self, sample_id: int) -> list[dict]:
        """Every change, oldest first: ``[{revision, annotator, at, field, old, new}]`` (``field='created'`` first)."""
        self.get(sample_id)  # a clear error for a missing id
        rows = self._conn().execute(
            "SELECT revision, annotator, at, field, old, new FROM history WHERE sample_id = ? ORDER BY revision, id",
            (sample_id,),
        ).fetchall()
        return [
            {"revision": r, "annotator": a, "at": t, "field": f,
             "old": json.loads(o) if o is not None else None, "new": json.loads(n) if n is not None else None}
            for r, a, t, f, o, n in rows
        ]

    def at_revision(self, sample_id: int, revision: int) -> Sample:
        """The sample as it was right after ``revision`` was saved (later changes undone, newest first)."""
        conn = self._conn()
        current = self._get(conn, sample_id)
        if not 1 <= revision <= current.revision:
            raise UserError(f"sample {sample_id} has revisions 1..{current.revision}, not {revision}")
        later = conn.execute(
            "SELECT revision, field, old, annotator, at FROM history WHERE sample_id = ? AND revision > ? "
            "AND field <> ? ORDER BY revision DESC, id DESC",
            (sample_id, revision, CREATED),
        ).fetchall()
        for _, name, old, _, _ in later:
            setattr(current, name, json.loads(old))
        current.revision = revision
        # annotator/updated_at as of that revision: from the row that wrote it (or the creation row).
        row = conn.execute(
            "SELECT annotator, at FROM history WHERE sample_id = ? AND revision = ? ORDER BY id LIMIT 1",
            (sample_id, revision),
        ).fetchone()
        if row:
            current.annotator, current.updated_at = row
        return current

    def restore(self, sample_id: int, revision: int, *, expected_revision: int, annotator: str = "") -> Sample:
        """Write revision ``revision``'s content back as a new revision (history keeps everything)."""
        old = self.at_revision(sample_id, revision)
        changes = {name: getattr(old, name) for name in EDITABLE}
        return self.update(sample_id, changes, expected_revision=expected_revision, annotator=annotator)
