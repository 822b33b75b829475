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

Modules: ``schema`` (DDL, columns, row -> Sample), ``migrations`` (one step per schema version), ``connection``
(per-thread connections, pragmas, the write transaction), ``queries``, ``writes`` and ``history`` (functions that
take the connection first). :class:`Store` below is a facade of one-line methods over them.
May import: cft core (errors, workspace) and cft.data.samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from cft import workspace
from cft.data.samples import Sample
from cft.data.store import history, queries, writes
from cft.data.store.connection import Connections
from cft.data.store.migrations import create_or_migrate
from cft.data.store.queries import fts_query
from cft.data.store.schema import CREATED, EDITABLE, ORDERS, SCHEMA_VERSION
from cft.data.store.writes import ConflictError

__all__ = ["CREATED", "EDITABLE", "ORDERS", "SCHEMA_VERSION", "ConflictError", "Store", "fts_query"]


class Store:
    """The sample store. Cheap to create; safe to share between threads (one SQLite connection per thread)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else workspace.db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conns = Connections(self.path)
        conn = self._conn()
        # Opening an existing store takes no write lock (a long import elsewhere must not block a page load).
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            create_or_migrate(conn)

    def _conn(self):
        return self._conns.get()

    def close(self) -> None:
        self._conns.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- datasets ------------------------------------------------------------------------------------------------
    def create_dataset(self, name: str, description: str = "") -> None:
        writes.create_dataset(self._conn(), name, description)

    def datasets(self) -> list[dict]:
        return queries.datasets(self._conn())

    def delete_dataset(self, name: str, *, confirm: str) -> int:
        return writes.delete_dataset(self._conn(), name, confirm=confirm)

    # -- writes --------------------------------------------------------------------------------------------------
    def add_samples(self, dataset: str, samples: Iterable[Sample], *, on_conflict: str = "error") -> list[int]:
        """Insert ``samples`` into ``dataset`` in one transaction; returns the new ids (skipped ones excluded)."""
        return writes.add_samples(self._conn(), dataset, samples, on_conflict=on_conflict)

    def update(self, sample_id: int, changes: dict, *, expected_revision: int, annotator: str = "") -> Sample:
        """Compare-and-set save. Returns the sample as saved (unchanged, same revision, when nothing differs)."""
        return writes.update(self._conn(), sample_id, changes, expected_revision=expected_revision,
                             annotator=annotator)

    # -- reads ---------------------------------------------------------------------------------------------------
    def get(self, sample_id: int) -> Sample:
        return queries.get(self._conn(), sample_id)

    def query(self, dataset=None, **filters) -> tuple[list[Sample], int]:
        """One page of matching samples and the total that match (filters, ``order``, ``offset``, ``limit``)."""
        return queries.query(self._conn(), dataset, **filters)

    def ids(self, dataset=None, **filters) -> list[int]:
        return queries.ids(self._conn(), dataset, **filters)

    def counts(self, dataset=None) -> dict[str, int]:
        return queries.counts(self._conn(), dataset)

    def stats(self, dataset=None) -> dict:
        return queries.stats(self._conn(), dataset)

    def iter_samples(self, dataset, **filters) -> Iterator[Sample]:
        """Every matching sample in id order, fetched in batches (constant memory)."""
        return queries.iter_samples(self._conn(), dataset, **filters)

    def keys(self, dataset: str) -> set[str]:
        return queries.keys(self._conn(), dataset)

    # -- history -------------------------------------------------------------------------------------------------
    def history(self, sample_id: int) -> list[dict]:
        """Every change, oldest first: ``[{revision, annotator, at, field, old, new}]``."""
        return history.history(self._conn(), sample_id)

    def at_revision(self, sample_id: int, revision: int) -> Sample:
        return history.at_revision(self._conn(), sample_id, revision)

    def restore(self, sample_id: int, revision: int, *, expected_revision: int, annotator: str = "") -> Sample:
        """Write revision ``revision``'s content back as a new revision (history keeps everything)."""
        return history.restore(self._conn(), sample_id, revision, expected_revision=expected_revision,
                               annotator=annotator)
