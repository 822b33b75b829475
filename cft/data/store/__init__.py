"""The sample store: datasets, samples, their full edit history and full-text search, on SQLite or PostgreSQL.

Design notes (why it looks like this):
- One setting picks the backend: ``CFT_DATABASE_URL=postgresql://...`` for a team on several machines (or
  replicas behind a Space); unset, one SQLite file at ``workspace/samples.db`` (WAL), the right default for one
  machine. The logic is written once; ``dialect`` holds what differs (connection, placeholders, column types,
  FTS5 against tsvector, lock discipline, bulk insert), so there are not two copies of any query.
- One connection per thread: Gradio runs handlers in worker threads, and neither driver's connection may be used
  by two threads at once.
- Saving is a compare-and-set on ``revision``: the row is read under the write lock (SQLite ``BEGIN IMMEDIATE``,
  PostgreSQL ``SELECT ... FOR UPDATE``) and written ``WHERE revision = <loaded>``, so of two processes saving the
  same loaded revision exactly one wins and the other gets a :class:`ConflictError` and writes nothing.
- History is append-only. The insert is revision 1 (one ``created`` row); each update appends one row per changed
  field with its old and new value (JSON). An old revision is rebuilt by undoing later rows, and
  :meth:`Store.restore` writes it back as a *new* revision, so history is never rewritten.
- Pages are found by key, never by OFFSET (``plan``): the Data tab's next/previous/first/last and the prev/next
  walk cost the same on page 1 and page 20,000. Totals, status chips and statistics add up ``sample_counts`` rows,
  kept by the write path in each write's own transaction; nothing rescans a million rows.
- Imports commit in batches into a hidden part and appear in one short transaction (``imports``), so a million-row
  import neither holds the write lock for minutes nor shows half a dataset; a killed one is purged later.
- A busy store (a lock held past the timeout) is a :class:`StoreBusy`: a clear, retryable message, never a
  driver's ``OperationalError``.

Modules: ``dialect`` (+ ``sqlite``, ``postgres``), ``connection`` (per-thread connections, the Db wrapper and its
transactions), ``schema`` (baseline DDL, columns, row -> Sample), ``migrations`` (one step per version),
``plan`` (keyset paging), ``queries``, ``counts``, ``writes``, ``imports``, ``history``, ``copy`` (between
backends). :class:`Store` below is a facade of one-line methods over them.
May import: cft core (errors, workspace) and cft.data.samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from cft.data.samples import Sample
from cft.data.store import history, imports, queries, writes
from cft.data.store.connection import Connections
from cft.data.store.dialect import ENV, dialect_for, search_tokens
from cft.data.store.errors import ConflictError, StoreBusy, StoreUnavailable
from cft.data.store.migrations import LATEST, create_or_migrate
from cft.data.store.plan import ORDERS, Key
from cft.data.store.queries import Page
from cft.data.store.schema import CREATED, EDITABLE

SCHEMA_VERSION = LATEST
__all__ = ["CREATED", "EDITABLE", "ENV", "ORDERS", "SCHEMA_VERSION", "ConflictError", "Key", "Page", "Store",
           "StoreBusy", "StoreUnavailable", "fts_query"]


def fts_query(text: str) -> str | None:
    """User text -> the FTS5 query SQLite runs (None: nothing searchable; a substring match is used instead)."""
    tokens = search_tokens(text)
    return " ".join('"' + t.replace('"', '""') + '"' for t in tokens) if tokens else None


class Store:
    """The sample store. Cheap to create; safe to share between threads (one connection per thread).

    ``target``: a ``sqlite:///`` or ``postgresql://`` URL, or a SQLite file path; default ``$CFT_DATABASE_URL``,
    else ``workspace/samples.db``.
    """

    def __init__(self, target: str | Path | None = None):
        self.dialect = dialect_for(target)
        self.url = self.dialect.url
        self.path = getattr(self.dialect, "path", None)  # the SQLite file; None on PostgreSQL
        self._conns = Connections(self.dialect)
        db = self._db()
        # Opening an up-to-date store takes no write lock (a long import elsewhere must not block a page load).
        if self.dialect.version(db) < SCHEMA_VERSION:
            create_or_migrate(db)

    def _db(self):
        return self._conns.get()

    @property
    def backend(self) -> str:
        return self.dialect.name

    def where(self) -> str:
        return self.dialect.where()

    def close(self) -> None:
        self._conns.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- datasets ------------------------------------------------------------------------------------------------
    def create_dataset(self, name: str, description: str = "") -> None:
        writes.create_dataset(self._db(), name, description)

    def datasets(self) -> list[dict]:
        return queries.datasets(self._db())

    def delete_dataset(self, name: str, *, confirm: str) -> int:
        return imports.delete_dataset(self._db(), name, confirm=confirm)

    # -- writes --------------------------------------------------------------------------------------------------
    def add_samples(self, dataset: str, samples: Iterable[Sample], *, on_conflict: str = "error",
                    batch_rows: int = imports.BATCH_ROWS) -> list[int]:
        """Insert ``samples`` into ``dataset``; readers see all of them or none (large inputs commit in batches
        into a hidden part). Returns the new ids (skipped keys excluded)."""
        return imports.add_samples(self._db(), dataset, samples, on_conflict=on_conflict, batch_rows=batch_rows)

    def update(self, sample_id: int, changes: dict, *, expected_revision: int, annotator: str = "") -> Sample:
        """Compare-and-set save. Returns the sample as saved (unchanged, same revision, when nothing differs)."""
        return writes.update(self._db(), sample_id, changes, expected_revision=expected_revision,
                             annotator=annotator)

    def cleanup(self) -> list[int]:
        """Purge what killed imports and deletes left hidden; returns the parts removed."""
        return imports.cleanup_stale(self._db())

    # -- reads ---------------------------------------------------------------------------------------------------
    def get(self, sample_id: int) -> Sample:
        return queries.get(self._db(), sample_id)

    def page(self, dataset=None, **kwargs) -> Page:
        """One page by key (filters, ``order``, ``after``/``before`` a Key, ``last``, ``limit``) with its total."""
        return queries.page(self._db(), dataset, **kwargs)

    def neighbor(self, dataset, current_id, step: int, **filters) -> int | None:
        """The id ``step`` places from ``current_id`` in the filter and ``order``; None past either end."""
        return queries.neighbor(self._db(), dataset, current_id, step, **filters)

    def query(self, dataset=None, **filters) -> tuple[list[Sample], int]:
        """One page of matching samples and the total that match (filters, ``order``, ``offset``, ``limit``)."""
        return queries.query(self._db(), dataset, **filters)

    def ids(self, dataset=None, **filters) -> list[int]:
        return queries.ids(self._db(), dataset, **filters)

    def counts(self, dataset=None) -> dict[str, int]:
        return queries.counts(self._db(), dataset)

    def stats(self, dataset=None) -> dict:
        return queries.stats(self._db(), dataset)

    def sources(self, dataset=None) -> list[str]:
        return queries.sources(self._db(), dataset)

    def iter_samples(self, dataset, **filters) -> Iterator[Sample]:
        """Every matching sample in id order, fetched by key in batches (constant memory)."""
        return queries.iter_samples(self._db(), dataset, **filters)

    def keys(self, dataset: str) -> set[str]:
        return queries.keys(self._db(), dataset)

    # -- history -------------------------------------------------------------------------------------------------
    def history(self, sample_id: int) -> list[dict]:
        """Every change, oldest first: ``[{revision, annotator, at, field, old, new}]``."""
        return history.history(self._db(), sample_id)

    def at_revision(self, sample_id: int, revision: int) -> Sample:
        return history.at_revision(self._db(), sample_id, revision)

    def restore(self, sample_id: int, revision: int, *, expected_revision: int, annotator: str = "") -> Sample:
        """Write revision ``revision``'s content back as a new revision (history keeps everything)."""
        return history.restore(self._db(), sample_id, revision, expected_revision=expected_revision,
                               annotator=annotator)
