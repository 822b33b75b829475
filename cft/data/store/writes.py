"""Writes: datasets, inserting samples, and the compare-and-set update that appends history.

Every function takes the connection first and runs in one :func:`~cft.data.store.connection.write` transaction.
An update reads the current revision *under* the write lock; if it is not the revision the caller loaded, nothing
is written and :class:`ConflictError` says who saved in between.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from cft import workspace
from cft.data.samples import STATUSES, VERDICTS, Sample
from cft.data.store.connection import write
from cft.data.store.queries import get
from cft.data.store.schema import CREATED, EDITABLE, JSON_FIELDS, TEXT_NOT_NULL, dumps
from cft.errors import UserError


class ConflictError(UserError):
    """Someone saved the sample after the caller loaded it; nothing was written."""

    def __init__(self, sample_id: int, expected_revision: int, current_revision: int, current: Sample):
        self.sample_id = sample_id
        self.expected_revision = expected_revision
        self.current_revision = current_revision
        self.current = current
        who = current.annotator or "someone"
        when = datetime.fromtimestamp(current.updated_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(
            f"sample {sample_id} was changed by {who} at {when}: you edited revision "
            f"{expected_revision}, the store now has revision {current_revision}. Nothing was saved; reload the "
            f"sample to see their version, then apply your change again."
        )


# -- datasets ------------------------------------------------------------------------------------------------------
def check_dataset_name(name: str) -> str:
    """A dataset name follows the one name rule (cft.workspace.check_name): it ends up in job and export file names,
    log lines and pages."""
    return workspace.check_name(name, "dataset name")


def ensure_dataset(conn: sqlite3.Connection, name: str, description: str = "") -> None:
    conn.execute(
        "INSERT INTO datasets(name, description, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
        (name, description or "", time.time()),
    )
    if description:
        conn.execute("UPDATE datasets SET description = ? WHERE name = ?", (description, name))


def create_dataset(conn: sqlite3.Connection, name: str, description: str = "") -> None:
    name = check_dataset_name(name)
    with write(conn):
        ensure_dataset(conn, name, description)


def delete_dataset(conn: sqlite3.Connection, name: str, *, confirm: str) -> int:
    if confirm != name:
        raise UserError(f"to delete dataset {name!r}, pass its name again as confirm (got {confirm!r})")
    with write(conn):
        if not conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone():
            raise UserError(f"no dataset named {name!r}")
        conn.execute("DELETE FROM history WHERE sample_id IN (SELECT id FROM samples WHERE dataset = ?)", (name,))
        count = conn.execute("DELETE FROM samples WHERE dataset = ?", (name,)).rowcount
        conn.execute("DELETE FROM datasets WHERE name = ?", (name,))
    return count


# -- samples -------------------------------------------------------------------------------------------------------
def _check_sample(s: Sample, where: str) -> None:
    if s.status not in STATUSES:
        raise UserError(f"{where}: status must be one of {STATUSES}, got {s.status!r}")
    if s.verdict not in VERDICTS:
        raise UserError(f"{where}: verdict must be one of {VERDICTS}, got {s.verdict!r}")
    if not isinstance(s.question, str):
        raise UserError(f"{where}: question must be a string, got {type(s.question).__name__}")
    if not isinstance(s.flags, dict) or not isinstance(s.meta, dict):
        raise UserError(f"{where}: flags and meta must be dicts")


_INSERT = (
    "INSERT INTO samples(dataset, key, question, response, critique, verdict, reference_answer, "
    "reference_solution, source, student_model, teacher, original_critique, status, flags, flagged, revision, "
    "created_at, updated_at, annotator, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?)"
)


def add_samples(conn: sqlite3.Connection, dataset: str, samples: Iterable[Sample], *,
                on_conflict: str = "error") -> list[int]:
    """Insert ``samples`` into ``dataset`` in one transaction; returns the new ids (skipped ones excluded)."""
    if on_conflict not in ("error", "ignore"):
        raise UserError(f"on_conflict must be 'error' or 'ignore', got {on_conflict!r}")
    dataset = check_dataset_name(dataset)
    ids: list[int] = []
    now = time.time()
    insert = _INSERT + (" ON CONFLICT DO NOTHING" if on_conflict == "ignore" else "")
    with write(conn):
        ensure_dataset(conn, dataset)
        for n, s in enumerate(samples):
            _check_sample(s, f"sample {n} (key {s.key!r})")
            created = s.created_at or now
            try:
                cur = conn.execute(insert, (
                    dataset, s.key, s.question, s.response or "", s.critique or "", s.verdict,
                    s.reference_answer, s.reference_solution, s.source or "", s.student_model or "",
                    s.teacher or "", s.original_critique, s.status, dumps(s.flags), int(bool(s.flags)), created,
                    s.updated_at or created, s.annotator or "", dumps(s.meta),
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


def update(conn: sqlite3.Connection, sample_id: int, changes: dict, *, expected_revision: int,
           annotator: str = "") -> Sample:
    """Compare-and-set save. Returns the sample as saved (unchanged, same revision, when nothing differs)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise UserError(f"cannot update field(s) {unknown} of sample {sample_id}; editable fields: {list(EDITABLE)}")
    with write(conn):
        current = get(conn, sample_id)
        if current.revision != expected_revision:
            raise ConflictError(sample_id, expected_revision, current.revision, current)
        diff = _diff(sample_id, current, changes)
        if not diff:
            return current
        revision = current.revision + 1
        now = time.time()
        sets = ", ".join(f"{name} = ?" for name in diff)
        values = [dumps(new) if name in JSON_FIELDS else new for name, (_, new) in diff.items()]
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
            [(sample_id, revision, annotator or "", now, name, dumps(old), dumps(new))
             for name, (old, new) in diff.items()],
        )
        return get(conn, sample_id)
