"""Copy a whole store into an empty one, on the same backend or the other: SQLite -> PostgreSQL and back.

Everything a reader can see goes, losing nothing: datasets (name, description, creation time), every sample with
all its fields and its id, revision, timestamps and last annotator, and every history row with its id. Flag rows
and counts are rebuilt on the way in by the same write path as any insert. The source is read in one snapshot and
the target written in one transaction, so a failed copy leaves the target as empty as it was. Parts are merged:
each dataset becomes one part in the target. An import still running in the source (a hidden part) is not copied.
"""

from __future__ import annotations

from collections.abc import Callable

from cft.data.store.queries import VISIBLE
from cft.data.store.schema import COLUMNS, HISTORY_COLUMNS, row_to_sample
from cft.data.store.writes import ensure_dataset, insert_batch, new_part
from cft.errors import UserError

BATCH = 2000


def copy_store(src, dst, *, batch: int = BATCH, progress: Callable[[str, int], None] | None = None) -> dict:
    """Copy ``src`` (a Store) into ``dst`` (an empty Store); returns how many datasets, samples and history rows."""
    if src.url == dst.url:
        raise UserError(f"the source and the target are the same store ({src.where()})")
    sdb, ddb = src._db(), dst._db()
    if ddb.scalar("SELECT COUNT(*) FROM datasets") or ddb.scalar("SELECT COUNT(*) FROM samples"):
        raise UserError(f"the target store {dst.where()} is not empty: copy into a new database or file")
    note = progress or (lambda what, n: None)
    copied = {"datasets": 0, "samples": 0, "history": 0}
    with sdb.snapshot(), ddb.write():
        parts: dict[str, int] = {}
        for name, description, created_at in sdb.all(
                "SELECT name, description, created_at FROM datasets WHERE state = 'ready' ORDER BY name"):
            ensure_dataset(ddb, name, description)
            ddb.execute("UPDATE datasets SET created_at = ? WHERE name = ?", (created_at, name))
            parts[name] = new_part(ddb, name, "ready")
            copied["datasets"] += 1
        last, ids = 0, set()
        while True:
            rows = sdb.all(f"SELECT {', '.join(COLUMNS)} FROM samples WHERE id > ? AND {VISIBLE} ORDER BY id LIMIT ?",
                           (last, batch))
            if not rows:
                break
            samples = [row_to_sample(r) for r in rows]
            for name in dict.fromkeys(s.dataset for s in samples):  # each dataset's rows of this batch
                group = [s for s in samples if s.dataset == name]
                if name not in parts:
                    raise UserError(f"sample {group[0].id} belongs to dataset {name!r}, which the source does not "
                                    f"list: run `python -m cft db info --check` on the source")
                insert_batch(ddb, parts[name], name, group, copy=True)
            ids.update(s.id for s in samples)
            last = samples[-1].id
            copied["samples"] += len(samples)
            note("samples", copied["samples"])
        last = 0
        while True:
            rows = sdb.all(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM history WHERE id > ? ORDER BY id LIMIT ?",
                           (last, batch))
            if not rows:
                break
            ddb.insert_rows("history", HISTORY_COLUMNS, [r for r in rows if r[1] in ids])
            copied["history"] += sum(1 for r in rows if r[1] in ids)
            last = rows[-1][0]
            note("history", copied["history"])
        for table in ("samples", "history"):
            top = max(src.dialect.sequence(sdb, table), int(sdb.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table}")))
            dst.dialect.set_sequence(ddb, table, top)
    dst.dialect.after_bulk(ddb)
    return copied
