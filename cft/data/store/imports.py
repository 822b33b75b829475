"""Adding many samples without locking annotators out, and removing many the same way.

A write that fits in one batch is one short transaction into the dataset's main part. A larger one (an import)
creates a hidden part (state ``importing``, with its owner ``host:pid`` and a heartbeat), commits its rows in
batches of at most ``BATCH_ROWS`` rows or ``BATCH_BYTES`` of text, each transaction ending after ``BATCH_S``
seconds even on a loaded machine, and lets waiting saves go first between batches (``Dialect.yield_to_waiters``),
so a save waits for at most one short batch; then it shows the part by flipping its state in one short transaction:
every reader sees
all of the import or none of it. If the import fails, its part is purged before the error is raised; if its
process is killed, the part stays hidden and :func:`cleanup_stale` purges it the next time anyone imports,
deletes or migrates (its owner's process is gone, or its heartbeat is older than ``STALE_AFTER_S``).

Deleting a dataset is the same in reverse: one short transaction hides it, then its rows go in batches.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Iterator

from cft.data.samples import Sample
from cft.data.store.queries import total, filters
from cft.data.store.writes import check_dataset_name, ensure_dataset, insert_batch, main_part, new_part
from cft.errors import UserError

BATCH_ROWS = 500
BATCH_BYTES = 4 << 20
BATCH_S = 0.1  # a batch stops taking rows after this long (its commit, which flushes FTS5, comes on top)
CHUNK = 50  # rows written between two looks at the clock
STALE_AFTER_S = 120.0  # a hidden part whose heartbeat is this old belongs to a dead import


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _size(s: Sample) -> int:
    return sum(len(t or "") for t in (s.question, s.response, s.critique, s.original_critique,
                                      s.reference_solution)) + 200


def batches(samples: Iterable[Sample], rows: int = BATCH_ROWS, size: int = BATCH_BYTES) -> Iterator[list[Sample]]:
    batch, used = [], 0
    for s in samples:
        batch.append(s)
        used += _size(s)
        if len(batch) >= rows or used >= size:
            yield batch
            batch, used = [], 0
    if batch:
        yield batch


def _write_batch(db, part: int, dataset: str, batch: list[Sample], on_conflict: str,
                 first: int) -> tuple[list[int], int]:
    """Write the start of ``batch`` in one transaction of about BATCH_S at most; returns the new ids and how many
    samples of the batch it took."""
    db.dialect.yield_to_waiters()
    ids: list[int] = []
    done = 0
    with db.write():
        start = time.monotonic()
        while done < len(batch) and (not done or time.monotonic() - start < BATCH_S):
            chunk = batch[done:done + CHUNK]
            ids += insert_batch(db, part, dataset, chunk, on_conflict=on_conflict, first=first + done)
            done += len(chunk)
        db.execute("UPDATE parts SET heartbeat = ? WHERE id = ?", (time.time(), part))
    return ids, done


def add_samples(db, dataset: str, samples: Iterable[Sample], *, on_conflict: str = "error",
                batch_rows: int = BATCH_ROWS) -> list[int]:
    """Insert ``samples`` into ``dataset``, all or nothing to readers; returns the new ids (skipped keys excluded)."""
    if on_conflict not in ("error", "ignore"):
        raise UserError(f"on_conflict must be 'error' or 'ignore', got {on_conflict!r}")
    dataset = check_dataset_name(dataset)
    chunks = batches(samples, batch_rows)
    first, second = next(chunks, []), next(chunks, None)
    if second is None:
        with db.write():
            ensure_dataset(db, dataset)
            return insert_batch(db, main_part(db, dataset), dataset, first, on_conflict=on_conflict)
    cleanup_stale(db)
    with db.write():
        ensure_dataset(db, dataset, state="importing")
        part = new_part(db, dataset, "importing", owner())
    ids: list[int] = []
    written = 0
    try:
        for batch in _chain(first, second, chunks):
            while batch:
                new, done = _write_batch(db, part, dataset, batch, on_conflict, written)
                ids += new
                written += done
                batch = batch[done:]
        with db.write():  # the flip: the whole import appears at once
            if db.scalar("SELECT state FROM parts WHERE id = ?", (part,)) != "importing":
                raise UserError(f"the import into {dataset!r} was cancelled: its rows were removed while it ran "
                                f"(another process judged it dead); run it again")
            db.execute("UPDATE parts SET state = 'ready', owner = '' WHERE id = ?", (part,))
            ensure_dataset(db, dataset)
    except BaseException:
        try:
            purge_part(db, part)
        except Exception:  # noqa: BLE001 - it stays hidden; cleanup_stale removes it later
            pass
        raise
    db.dialect.after_bulk(db)
    return ids


def _chain(first, second, rest):
    yield first
    yield second
    yield from rest


def purge_part(db, part: int) -> int:
    """Hide ``part`` (if it is not already) and delete its rows in batches; returns how many went."""
    me = owner()
    with db.write():
        db.execute("UPDATE parts SET state = 'deleting', owner = ?, heartbeat = ? WHERE id = ?",
                   (me, time.time(), part))
    removed = 0
    while True:
        db.dialect.yield_to_waiters()
        with db.write():
            ids = [r[0] for r in db.all("SELECT id FROM samples WHERE part = ? LIMIT ?", (part, BATCH_ROWS))]
            if ids:
                marks = ",".join("?" * len(ids))
                db.execute(f"DELETE FROM history WHERE sample_id IN ({marks})", ids)
                db.execute(f"DELETE FROM sample_flags WHERE sample_id IN ({marks})", ids)
                db.execute(f"DELETE FROM samples WHERE id IN ({marks})", ids)
                db.execute("UPDATE parts SET heartbeat = ? WHERE id = ?", (time.time(), part))
            else:
                dataset = db.scalar("SELECT dataset FROM parts WHERE id = ?", (part,))
                db.execute("DELETE FROM sample_counts WHERE part = ?", (part,))
                db.execute("DELETE FROM parts WHERE id = ?", (part,))
                # A dataset that was never shown (its first import failed) goes with its last part.
                db.execute("DELETE FROM datasets WHERE name = ? AND state <> 'ready' AND NOT EXISTS "
                           "(SELECT 1 FROM parts WHERE dataset = ?)", (dataset, dataset))
                return removed
        removed += len(ids)


def alive(who: str, heartbeat: float) -> bool:
    host, _, pid = who.rpartition(":")
    if time.time() - heartbeat > STALE_AFTER_S:
        return False
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def cleanup_stale(db) -> list[int]:
    """Purge the hidden parts of imports and deletes whose process died; returns their ids."""
    stale = [part for part, who, beat in db.all("SELECT id, owner, heartbeat FROM parts WHERE state <> 'ready'")
             if not alive(who, beat)]
    for part in stale:
        purge_part(db, part)
    with db.write():
        db.execute("DELETE FROM datasets WHERE state = 'deleting' AND NOT EXISTS "
                   "(SELECT 1 FROM parts WHERE parts.dataset = datasets.name)")
    return stale


def delete_dataset(db, name: str, *, confirm: str) -> int:
    """Hide the dataset in one short transaction, then delete its rows in batches; returns how many it had."""
    if confirm != name:
        raise UserError(f"to delete dataset {name!r}, pass its name again as confirm (got {confirm!r})")
    with db.write():
        if db.scalar("SELECT state FROM datasets WHERE name = ?", (name,)) != "ready":
            raise UserError(f"no dataset named {name!r}")
        count = total(db, filters(db, name))[0]
        db.execute("UPDATE datasets SET state = 'deleting' WHERE name = ?", (name,))
        db.execute("UPDATE parts SET state = 'deleting', owner = ?, heartbeat = ? WHERE dataset = ?",
                   (owner(), time.time(), name))
        parts = [r[0] for r in db.all("SELECT id FROM parts WHERE dataset = ?", (name,))]
    for part in parts:
        purge_part(db, part)
    with db.write():
        db.execute("DELETE FROM datasets WHERE name = ? AND state = 'deleting'", (name,))
    return count
