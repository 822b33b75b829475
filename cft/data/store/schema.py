"""The store's schema: the tables, indexes, FTS5 index and triggers, and how a row becomes a Sample.

``SCHEMA_VERSION`` is written into ``PRAGMA user_version``; :mod:`cft.data.store.migrations` brings an older file
forward. The DDL uses ``IF NOT EXISTS`` throughout, so creating it over a migrated file only adds what is missing.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from cft.data.samples import Sample

SCHEMA_VERSION = 5

SCHEMA = """
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
ORDERS = {
    "id": "id ASC",
    "flagged_first": "flagged DESC, id ASC",
    "updated": "updated_at DESC, id DESC",
}
CREATED = "created"  # the history field of a sample's first revision


def dumps(value: Any) -> str:
    # Compact: '{}' is the one spelling of "no flags", which the ``flagged`` column relies on. Key order is kept
    # (not sorted) because meta records the original field order of imported records for lossless export.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def statements(script: str) -> list[str]:
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


def row_to_sample(row: tuple) -> Sample:
    data = dict(zip(COLUMNS, row))
    for name in JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else {}
    return Sample(**data)
