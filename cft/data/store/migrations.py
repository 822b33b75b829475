"""Bring a store file of an older schema forward to :data:`~cft.data.store.schema.SCHEMA_VERSION`.

Each step takes a store from one schema version to the next. A step has a ``before`` part (run before the current
schema's ``CREATE ... IF NOT EXISTS``: drop or rename what changed shape) and an ``after`` part (fill what was
recreated). All pending steps run in order inside one ``BEGIN IMMEDIATE``, so two processes opening a fresh or old
file at once cannot interleave half a schema. Schemas 1-4 come from the first hours of development.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable

from cft.data.store.schema import COLUMNS, SCHEMA, SCHEMA_VERSION, statements

Step = Callable[[sqlite3.Connection], None]


def _nothing(conn: sqlite3.Connection) -> None:
    pass


# -- 2 -> 3: ``flagged`` was a generated column; it became a plain one (SQLite only covers plain columns with an
# index). The rows move aside, the table, indexes, FTS and triggers are created fresh, the rows come back.
def _to_3_before(conn: sqlite3.Connection) -> None:
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'samples'"
                                ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'samples' "
                                "AND sql IS NOT NULL").fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("DROP TABLE IF EXISTS samples_fts")
    conn.execute("ALTER TABLE samples RENAME TO samples_old")


def _to_3_after(conn: sqlite3.Connection) -> None:
    names = ", ".join(COLUMNS)  # the insert triggers rebuild FTS and sample_flags
    conn.execute(f"INSERT INTO samples({names}, flagged) SELECT {names}, flags <> '{{}}' FROM samples_old")
    conn.execute("DROP TABLE samples_old")


# -- 3 -> 4: datasets keep their sample count (kept by triggers; recounted after any migration).
def _to_4_before(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE datasets ADD COLUMN sample_count INTEGER NOT NULL DEFAULT 0")


# -- 4 -> 5: sample_flags gained copies of the sample's dataset, status and verdict.
def _to_5_before(conn: sqlite3.Connection) -> None:
    for trigger in ("samples_ai", "samples_ad", "samples_au_flags"):  # they write sample_flags
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute("DROP TABLE IF EXISTS sample_flags")


def _to_5_after(conn: sqlite3.Connection) -> None:
    # OR IGNORE: rows copied back by an earlier step already refilled their flags through the insert trigger.
    conn.execute("INSERT OR IGNORE INTO sample_flags(flag, dataset, status, verdict, sample_id) "
                 "SELECT j.key, s.dataset, s.status, s.verdict, s.id FROM samples s, json_each(s.flags) j")


@dataclass(frozen=True)
class Migration:
    to_version: int
    before: Step
    after: Step = _nothing


# Schemas 1 and 2 differ in nothing a migration has to know, so the first step starts from either.
MIGRATIONS = (
    Migration(3, _to_3_before, _to_3_after),
    Migration(4, _to_4_before),
    Migration(5, _to_5_before, _to_5_after),
)


def create_or_migrate(conn: sqlite3.Connection) -> None:
    """Create the schema in a new file, or run the pending migrations of an old one, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
        if version >= SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        pending = [m for m in MIGRATIONS if version and version < m.to_version]
        for migration in pending:
            migration.before(conn)
        for statement in statements(SCHEMA):
            conn.execute(statement)
        for migration in pending:
            migration.after(conn)
        if version:
            conn.execute("UPDATE datasets SET sample_count = (SELECT COUNT(*) FROM samples WHERE dataset = name)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
