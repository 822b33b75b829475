"""The store's schema (the baseline that later migrations build on) and how a row becomes a Sample.

Tables:
- ``datasets``: one row per dataset, with its ``state`` (``ready``; ``importing`` while a first import is not yet
  shown; ``deleting`` while its rows are removed in batches).
- ``parts``: a dataset's rows are grouped in parts. Readers see only ``ready`` parts; a large import writes a new
  part in state ``importing``, committed in batches, and shows it by flipping that one row in a short
  transaction, so an import is all-or-nothing to every reader without holding a lock for its whole length.
- ``samples``: the sample columns, with ``part`` (where readers look) and ``dataset`` (the name, which keeps keys
  unique across a dataset's parts, including one still being imported).
- ``sample_flags``: one row per (sample, flag name) with copies of the sample's filter columns, so "flag X" pages
  by key like any other filter.
- ``sample_counts``: how many samples each (part, flag, source, status, verdict, flagged) cell holds, kept by the
  write path in the same transaction as the rows; flag ``''`` counts samples, a flag name counts its rows. Totals,
  status chips and statistics add up a few of these rows instead of counting a million.
- ``history``: append-only, one row per changed field per revision.
Each backend adds its full-text search (``Dialect.extra_ddl``).

Indexes: every paging query is an equality on some of (part, source, status, verdict, flagged) followed by a
range on the order's key (id, or updated_at then id), so each index below is exactly such a prefix and a page reads
only its own 50 entries (see queries.plan).
"""

from __future__ import annotations

import json
from typing import Any

from cft.data.samples import Sample

# The baseline that a new store is created at; migrations.STEPS take it further.
BASELINE_VERSION = 6

BASELINE = """
CREATE TABLE IF NOT EXISTS datasets (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at  {real} NOT NULL,
    state       TEXT NOT NULL DEFAULT 'ready'
);
CREATE TABLE IF NOT EXISTS parts (
    id         {id_pk},
    dataset    TEXT NOT NULL,
    state      TEXT NOT NULL,
    owner      TEXT NOT NULL DEFAULT '',
    heartbeat  {real} NOT NULL,
    created_at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS parts_dataset ON parts(dataset, state);
CREATE TABLE IF NOT EXISTS samples (
    id                 {id_pk},
    part               INTEGER NOT NULL DEFAULT 0,
    dataset            TEXT NOT NULL,
    key                TEXT,
    status             TEXT NOT NULL DEFAULT 'pending',
    verdict            TEXT NOT NULL DEFAULT 'unknown',
    flags              TEXT NOT NULL DEFAULT '{{}}',
    flagged            INTEGER NOT NULL DEFAULT 0,
    source             TEXT NOT NULL DEFAULT '',
    revision           INTEGER NOT NULL DEFAULT 1,
    created_at         {real} NOT NULL,
    updated_at         {real} NOT NULL,
    annotator          TEXT NOT NULL DEFAULT '',
    student_model      TEXT NOT NULL DEFAULT '',
    teacher            TEXT NOT NULL DEFAULT '',
    reference_answer   TEXT,
    meta               TEXT NOT NULL DEFAULT '{{}}',
    question           TEXT NOT NULL,
    response           TEXT NOT NULL DEFAULT '',
    critique           TEXT NOT NULL DEFAULT '',
    reference_solution TEXT,
    original_critique  TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS samples_dataset_key ON samples(dataset, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS samples_part_id ON samples(part, id);
CREATE INDEX IF NOT EXISTS samples_part_flagged ON samples(part, flagged, id);
CREATE INDEX IF NOT EXISTS samples_part_updated ON samples(part, updated_at, id);
CREATE INDEX IF NOT EXISTS samples_cell_id ON samples(part, status, verdict, flagged, id);
CREATE INDEX IF NOT EXISTS samples_cell_updated ON samples(part, status, verdict, flagged, updated_at, id);
CREATE INDEX IF NOT EXISTS samples_source_id ON samples(part, source, status, verdict, flagged, id);
CREATE INDEX IF NOT EXISTS samples_source_updated ON samples(part, source, status, verdict, flagged, updated_at, id);
-- The key's columns first: SQLite 3.40's integrity_check misreads WITHOUT ROWID tables whose key columns do not lead.
CREATE TABLE IF NOT EXISTS sample_flags (
    flag       TEXT NOT NULL,
    part       INTEGER NOT NULL,
    status     TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    sample_id  {bigint} NOT NULL,
    source     TEXT NOT NULL,
    updated_at {real} NOT NULL,
    PRIMARY KEY (flag, part, status, verdict, sample_id)
){without_rowid};
CREATE INDEX IF NOT EXISTS sample_flags_updated ON sample_flags(flag, part, status, verdict, updated_at, sample_id);
CREATE INDEX IF NOT EXISTS sample_flags_source_id ON sample_flags(flag, part, source, status, verdict, sample_id);
CREATE INDEX IF NOT EXISTS sample_flags_source_updated
    ON sample_flags(flag, part, source, status, verdict, updated_at, sample_id);
CREATE INDEX IF NOT EXISTS sample_flags_sample ON sample_flags(sample_id);
CREATE TABLE IF NOT EXISTS sample_counts (
    part    INTEGER NOT NULL,
    flag    TEXT NOT NULL,
    source  TEXT NOT NULL,
    status  TEXT NOT NULL,
    verdict TEXT NOT NULL,
    flagged INTEGER NOT NULL,
    n       {bigint} NOT NULL,
    PRIMARY KEY (part, flag, source, status, verdict, flagged)
);
CREATE TABLE IF NOT EXISTS history (
    id        {id_pk},
    sample_id {bigint} NOT NULL,
    revision  INTEGER NOT NULL,
    annotator TEXT NOT NULL DEFAULT '',
    at        {real} NOT NULL,
    field     TEXT NOT NULL,
    old       TEXT,
    new       TEXT
);
CREATE INDEX IF NOT EXISTS history_sample ON history(sample_id, revision)
"""


def baseline(types: dict[str, str]) -> list[str]:
    """The baseline DDL with a backend's column types, one statement per item."""
    return [s.strip() for s in BASELINE.format(**types).split(";") if s.strip()]


# Column order used by every SELECT that builds a Sample.
COLUMNS = (
    "id", "dataset", "key", "question", "response", "critique", "verdict", "reference_answer",
    "reference_solution", "source", "student_model", "teacher", "original_critique", "status", "flags",
    "revision", "created_at", "updated_at", "annotator", "meta",
)
SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM samples"
JSON_FIELDS = ("flags", "meta")
# What an update may change. id/dataset/revision/timestamps/annotator are the store's to set.
EDITABLE = (
    "key", "question", "response", "critique", "verdict", "reference_answer", "reference_solution", "source",
    "student_model", "teacher", "original_critique", "status", "flags", "meta",
)
TEXT_NOT_NULL = ("question", "response", "critique", "source", "student_model", "teacher")
CREATED = "created"  # the history field of a sample's first revision
HISTORY_COLUMNS = ("id", "sample_id", "revision", "annotator", "at", "field", "old", "new")
DATASET_STATES = ("ready", "importing", "deleting")


def dumps(value: Any) -> str:
    # Compact: '{}' is the one spelling of "no flags". Key order is kept (not sorted) because meta records the
    # original field order of imported records for lossless export; so these stay TEXT, not jsonb, on PostgreSQL.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def row_to_sample(row: tuple) -> Sample:
    data = dict(zip(COLUMNS, row))
    for name in JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else {}
    return Sample(**data)
