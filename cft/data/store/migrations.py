"""Versioned schema changes, for both backends: a numbered list of steps, applied in order in one transaction.

A new store is created at the baseline (``schema.BASELINE`` plus the backend's search DDL, version
``BASELINE_VERSION``), then every later step runs on it, exactly as on an old store: so a step is the only place a
change is written. To change the schema, add a function that takes the store from version N-1 to N (using plain
SQL both backends accept, or ``db.dialect`` for what differs) and append ``Migration(N, fn, why)`` to
:data:`MIGRATIONS`; ``python -m cft db migrate`` and every ``Store()`` open apply it. All pending steps run inside
one write transaction (the schema lock on PostgreSQL), so two processes opening an old store cannot interleave.

Stores older than version 5 (the first hours of development) are not upgraded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cft.data.store import counts
from cft.data.store.schema import BASELINE_VERSION, baseline
from cft.errors import UserError

Step = Callable[..., None]


def _v5_to_v6(db) -> None:
    """SQLite's v5 layout -> parts, counts and keyset indexes (PostgreSQL stores start at 6).

    Flags, counts and FTS were kept by triggers in v5; now the write path keeps flags and counts (the same code on
    both backends), and only FTS keeps its triggers. ``datasets.sample_count`` gives way to ``sample_counts``.
    """
    if db.dialect.name != "sqlite":
        raise UserError(f"schema version 5 exists only on SQLite, found it on {db.dialect.name}")
    for (name,) in db.all("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'samples'"):
        db.execute(f"DROP TRIGGER {name}")
    for (name,) in db.all("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'samples' "
                          "AND sql IS NOT NULL AND name <> 'samples_dataset_key'"):
        db.execute(f"DROP INDEX {name}")
    db.execute("DROP TABLE IF EXISTS sample_flags")
    db.execute("ALTER TABLE samples ADD COLUMN part INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE datasets ADD COLUMN state TEXT NOT NULL DEFAULT 'ready'")
    db.execute("ALTER TABLE datasets DROP COLUMN sample_count")
    create_baseline(db)
    db.execute("INSERT INTO parts(dataset, state, owner, heartbeat, created_at) "
               "SELECT name, 'ready', '', created_at, created_at FROM datasets ORDER BY name")
    db.execute("UPDATE samples SET part = (SELECT id FROM parts WHERE parts.dataset = samples.dataset)")
    db.execute("INSERT INTO sample_flags(flag, part, status, verdict, source, updated_at, sample_id) "
               "SELECT j.key, s.part, s.status, s.verdict, s.source, s.updated_at, s.id "
               "FROM samples s, json_each(s.flags) j WHERE j.key <> ''")
    counts.recount(db)


@dataclass(frozen=True)
class Migration:
    version: int  # the version this step brings the store to
    apply: Step
    why: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(6, _v5_to_v6, "parts (all-or-nothing batched imports), maintained counts, keyset paging indexes"),
)
LATEST = max([BASELINE_VERSION, *(m.version for m in MIGRATIONS)])


def create_baseline(db) -> None:
    for statement in baseline(db.dialect.types) + db.dialect.extra_ddl():
        db.execute(statement)


def pending(version: int) -> list[Migration]:
    if version == 0:  # a new store: the baseline, then the steps after it
        return [m for m in MIGRATIONS if m.version > BASELINE_VERSION]
    if version < 5:
        raise UserError(f"this store has schema version {version}, from before release; it cannot be upgraded. "
                        f"Export its datasets with the version that wrote it and import them into a new store.")
    return [m for m in MIGRATIONS if m.version > version]


def create_or_migrate(db) -> list[int]:
    """Create the schema in a new store, or run the pending steps of an old one; returns the versions applied."""
    with db.write():
        db.dialect.lock_schema(db)
        version = db.dialect.version(db)  # re-read under the lock: another process may have just done it
        if version >= LATEST:
            return []
        steps = pending(version)
        if version == 0:
            create_baseline(db)
        for step in steps:
            step.apply(db)
        db.dialect.set_version(db, LATEST)
        return ([BASELINE_VERSION] if version == 0 else []) + [s.version for s in steps]
