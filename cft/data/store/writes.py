"""Writes: datasets, inserting a batch of samples, and the compare-and-set update that appends history.

Every function takes the Db first and runs inside one :meth:`Db.write` transaction, with the sample's flag rows and
counts changed in that same transaction. An update reads the row under the write lock (SQLite's ``BEGIN
IMMEDIATE``, PostgreSQL's ``SELECT ... FOR UPDATE``) and writes with ``WHERE id = ? AND revision = ?``; if the
revision is not the one the caller loaded, nothing is written and :class:`ConflictError` says who saved between.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from cft import workspace
from cft.data.samples import STATUSES, VERDICTS, Sample
from cft.data.store import counts
from cft.data.store.counts import FLAG_COLUMNS, count_keys, flag_rows
from cft.data.store.errors import ConflictError, DuplicateKey, StoreBusy
from cft.data.store.queries import VISIBLE, get
from cft.data.store.schema import COLUMNS, CREATED, EDITABLE, JSON_FIELDS, TEXT_NOT_NULL, dumps, row_to_sample
from cft.errors import UserError

INSERT_COLUMNS = ("id", "part", "dataset", "key", "question", "response", "critique", "verdict", "reference_answer",
                  "reference_solution", "source", "student_model", "teacher", "original_critique", "status",
                  "flags", "flagged", "revision", "created_at", "updated_at", "annotator", "meta")
HISTORY_INSERT = ("sample_id", "revision", "annotator", "at", "field", "old", "new")


# -- datasets ------------------------------------------------------------------------------------------------------
def check_dataset_name(name: str) -> str:
    """A dataset name follows the one name rule (cft.workspace.check_name): it ends up in job and export file names,
    log lines and pages."""
    return workspace.check_name(name, "dataset name")


def ensure_dataset(db, name: str, description: str = "", *, state: str = "ready") -> str:
    """Create the dataset row if missing (in ``state``); a hidden one created by an import becomes ready when
    ``state`` is ready. Returns the state it has now."""
    db.execute("INSERT INTO datasets(name, description, created_at, state) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (name) DO NOTHING", (name, description or "", time.time(), state))
    current = db.scalar("SELECT state FROM datasets WHERE name = ?", (name,))
    if current == "deleting":
        raise StoreBusy(db.dialect.where(), f"dataset {name!r} is still being deleted")
    if current == "importing" and state == "ready":
        db.execute("UPDATE datasets SET state = 'ready' WHERE name = ?", (name,))
        current = "ready"
    if description:
        db.execute("UPDATE datasets SET description = ? WHERE name = ?", (description, name))
    return current


def create_dataset(db, name: str, description: str = "") -> None:
    name = check_dataset_name(name)
    with db.write():
        ensure_dataset(db, name, description)


def new_part(db, dataset: str, state: str, owner: str = "") -> int:
    now = time.time()
    return int(db.scalar("INSERT INTO parts(dataset, state, owner, heartbeat, created_at) VALUES (?, ?, ?, ?, ?) "
                         "RETURNING id", (dataset, state, owner, now, now)))


def main_part(db, dataset: str) -> int:
    """The ready part that small writes go to (created with the dataset's first sample)."""
    part = db.scalar("SELECT MIN(id) FROM parts WHERE dataset = ? AND state = 'ready'", (dataset,))
    return int(part) if part is not None else new_part(db, dataset, "ready")


# -- samples -------------------------------------------------------------------------------------------------------
def check_sample(s: Sample, where: str) -> None:
    if s.status not in STATUSES:
        raise UserError(f"{where}: status must be one of {STATUSES}, got {s.status!r}")
    if s.verdict not in VERDICTS:
        raise UserError(f"{where}: verdict must be one of {VERDICTS}, got {s.verdict!r}")
    if not isinstance(s.question, str):
        raise UserError(f"{where}: question must be a string, got {type(s.question).__name__}")
    if not isinstance(s.flags, dict) or not isinstance(s.meta, dict):
        raise UserError(f"{where}: flags and meta must be dicts")


def _existing_keys(db, dataset: str, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        found |= {r[0] for r in db.all(f"SELECT key FROM samples WHERE dataset = ? AND key IN "
                                       f"({','.join('?' * len(chunk))})", [dataset, *chunk])}
    return found


def insert_batch(db, part: int, dataset: str, samples: list[Sample], *, on_conflict: str = "error",
                 first: int = 0, copy: bool = False) -> list[int]:
    """Insert ``samples`` into ``part`` inside the caller's write transaction; returns their ids (skipped keys
    excluded). ``copy``: keep each sample's id, revision, timestamps and annotator, and write no history (the
    caller copies it). Keys are checked against the whole dataset first, so the error names the sample."""
    now = time.time()
    seen = _existing_keys(db, dataset, [s.key for s in samples if s.key is not None])
    keep: list[Sample] = []
    for n, s in enumerate(samples, start=first):
        check_sample(s, f"sample {n} (key {s.key!r})")
        if s.key is not None and s.key in seen:
            if on_conflict == "ignore":
                continue
            raise UserError(f"dataset {dataset!r}: sample {n} has key {s.key!r}, which already exists in the dataset "
                            f"(use on_conflict='ignore' to skip existing keys)")
        if s.key is not None:
            seen.add(s.key)
        keep.append(s)
    ids = [s.id for s in keep] if copy else db.dialect.reserve_ids(db, "samples", len(keep))
    rows, history, flags, deltas = [], [], [], Counter()
    for sid, s in zip(ids, keep):
        created = s.created_at or now
        updated = s.updated_at or created
        revision, annotator = (s.revision, s.annotator or "") if copy else (1, s.annotator or "")
        rows.append((sid, part, dataset, s.key, s.question, s.response or "", s.critique or "", s.verdict,
                     s.reference_answer, s.reference_solution, s.source or "", s.student_model or "", s.teacher or "",
                     s.original_critique, s.status, dumps(s.flags), int(bool(s.flags)), revision, created, updated,
                     annotator, dumps(s.meta)))
        if not copy:
            history.append((sid, 1, annotator, created, CREATED, None, None))
        flags += flag_rows(sid, part, s.status, s.verdict, s.source or "", updated, s.flags)
        deltas.update(count_keys(part, s.source or "", s.status, s.verdict, s.flags))
    try:
        db.insert_rows("samples", INSERT_COLUMNS, rows)
    except DuplicateKey as exc:  # a concurrent writer took a key between the check and the insert
        raise StoreBusy(db.dialect.where(), "another import added the same keys at the same time") from exc
    db.insert_rows("history", HISTORY_INSERT, history)
    db.insert_rows("sample_flags", FLAG_COLUMNS, flags)
    counts.apply(db, deltas)
    return list(ids)


def _diff(sample_id: int, current: Sample, changes: dict) -> dict[str, tuple[Any, Any]]:
    """The fields ``changes`` really changes, as (old, new), after checking each value."""
    diff: dict[str, tuple[Any, Any]] = {}
    for name, value in changes.items():
        if name in TEXT_NOT_NULL and value is None:
            value = ""
        if name in JSON_FIELDS and not isinstance(value, dict):
            raise UserError(f"sample {sample_id}: {name} must be a dict, got {type(value).__name__}")
        if name == "status" and value not in STATUSES:
            raise UserError(f"sample {sample_id}: status must be one of {STATUSES}, got {value!r}")
        if name == "verdict" and value not in VERDICTS:
            raise UserError(f"sample {sample_id}: verdict must be one of {VERDICTS}, got {value!r}")
        old = getattr(current, name)
        if old != value:
            diff[name] = (old, value)
    return diff


def update(db, sample_id: int, changes: dict, *, expected_revision: int, annotator: str = "") -> Sample:
    """Compare-and-set save. Returns the sample as saved (unchanged, same revision, when nothing differs)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise UserError(f"cannot update field(s) {unknown} of sample {sample_id}; editable fields: {list(EDITABLE)}")
    with db.write():
        row = db.one(f"SELECT part, {', '.join(COLUMNS)} FROM samples WHERE id = ? AND {VISIBLE}"
                     + db.dialect.for_update, (sample_id,))
        if row is None:
            raise UserError(f"no sample with id {sample_id}")
        part, current = row[0], row_to_sample(row[1:])
        if current.revision != expected_revision:
            raise ConflictError(sample_id, expected_revision, current.revision, current)
        diff = _diff(sample_id, current, changes)
        if not diff:
            return current
        new = row_to_sample(row[1:])
        for name, (_, value) in diff.items():
            setattr(new, name, value)
        new.revision, new.updated_at, new.annotator = current.revision + 1, time.time(), annotator or ""
        sets = ", ".join(f"{name} = ?" for name in diff)
        values = [dumps(value) if name in JSON_FIELDS else value for name, (_, value) in diff.items()]
        try:
            cur = db.execute(f"UPDATE samples SET {sets}, flagged = ?, revision = ?, updated_at = ?, annotator = ? "
                             f"WHERE id = ? AND revision = ?", (*values, int(bool(new.flags)), new.revision,
                                                                 new.updated_at, new.annotator, sample_id,
                                                                 current.revision))
        except DuplicateKey as exc:
            raise UserError(f"sample {sample_id}: key {changes.get('key')!r} already exists in its dataset") from exc
        if cur.rowcount != 1:  # cannot happen under the lock; refuse rather than write history for nothing
            now = get(db, sample_id)
            raise ConflictError(sample_id, expected_revision, now.revision, now)
        db.insert_rows("history", HISTORY_INSERT, [
            (sample_id, new.revision, new.annotator, new.updated_at, name, dumps(old), dumps(value))
            for name, (old, value) in diff.items()])
        if current.flags or new.flags:  # flag rows carry updated_at, so any save of a flagged sample moves them
            db.execute("DELETE FROM sample_flags WHERE sample_id = ?", (sample_id,))
            db.insert_rows("sample_flags", FLAG_COLUMNS, flag_rows(
                sample_id, part, new.status, new.verdict, new.source or "", new.updated_at, new.flags))
        if {"status", "verdict", "flags", "source"} & set(diff):
            deltas = Counter(count_keys(part, new.source or "", new.status, new.verdict, new.flags))
            deltas.subtract(count_keys(part, current.source or "", current.status, current.verdict, current.flags))
            counts.apply(db, deltas)
        return new
