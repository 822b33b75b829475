"""History: every revision of a sample, a sample as it was at a revision, and restoring one.

History is append-only. The insert is revision 1 (one ``created`` row); each update appends one row per changed
field with its old and new value (JSON). An old revision is rebuilt by undoing later rows, and :func:`restore`
writes it back as a *new* revision, so history is never rewritten.
"""

from __future__ import annotations

import json

from cft.data.samples import Sample
from cft.data.store.queries import get
from cft.data.store.schema import CREATED, EDITABLE
from cft.data.store.writes import update
from cft.errors import UserError


def history(db, sample_id: int) -> list[dict]:
    """Every change, oldest first: ``[{revision, annotator, at, field, old, new}]`` (``field='created'`` first)."""
    get(db, sample_id)  # a clear error for a missing id
    rows = db.all("SELECT revision, annotator, at, field, old, new FROM history WHERE sample_id = ? "
                  "ORDER BY revision, id", (sample_id,))
    return [
        {"revision": r, "annotator": a, "at": t, "field": f,
         "old": json.loads(o) if o is not None else None, "new": json.loads(n) if n is not None else None}
        for r, a, t, f, o, n in rows
    ]


def at_revision(db, sample_id: int, revision: int) -> Sample:
    """The sample as it was right after ``revision`` was saved (later changes undone, newest first)."""
    current = get(db, sample_id)
    if not 1 <= revision <= current.revision:
        raise UserError(f"sample {sample_id} has revisions 1..{current.revision}, not {revision}")
    later = db.all("SELECT revision, field, old, annotator, at FROM history WHERE sample_id = ? AND revision > ? "
                   "AND field <> ? ORDER BY revision DESC, id DESC", (sample_id, revision, CREATED))
    for _, name, old, _, _ in later:
        setattr(current, name, json.loads(old))
    current.revision = revision
    # annotator/updated_at as of that revision: from the row that wrote it (or the creation row).
    row = db.one("SELECT annotator, at FROM history WHERE sample_id = ? AND revision = ? ORDER BY id LIMIT 1",
                 (sample_id, revision))
    if row:
        current.annotator, current.updated_at = row
    return current


def restore(db, sample_id: int, revision: int, *, expected_revision: int,
            annotator: str = "") -> Sample:
    """Write revision ``revision``'s content back as a new revision (history keeps everything)."""
    old = at_revision(db, sample_id, revision)
    changes = {name: getattr(old, name) for name in EDITABLE}
    return update(db, sample_id, changes, expected_revision=expected_revision, annotator=annotator)
