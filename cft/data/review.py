"""Reviewing samples as an annotator does: a filtered, paged browse, previous/next, save and restore with the
conflict check, the verdict line, and export of what was reviewed.

The Data tab (pages/data/) wires widgets to these and renders what they return; everything an annotator can do is
testable here on plain Sample objects and a Store. A save made against a stale revision raises the store's
:class:`~cft.data.store.ConflictError`, which carries the version that won.
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cft import workspace
from cft.data import formats
from cft.data.flags import compute_flags
from cft.data.samples import STATUSES, Sample, parse_verdict, set_verdict
from cft.errors import UserError

PAGE_SIZE = 50
ALL = "all"  # a filter value meaning "no filter on this field"
ANONYMOUS = "anonymous"
EXPORT_FORMATS = ("messages", "alpaca", "parquet", "hf")
_EXPORT_EXT = {"messages": ".jsonl", "alpaca": ".jsonl", "parquet": ".parquet", "hf": ""}


# -- browsing -----------------------------------------------------------------------------------------------------
@dataclass
class Filters:
    """What the table shows. ``ALL``/empty means no filter on that field; ``order`` is a store order name."""

    dataset: str | None = None
    status: list[str] | str | None = None
    verdict: str | None = None
    flag: str | None = None
    source: str | None = None
    search: str = ""
    order: str = "flagged_first"

    def store_kwargs(self) -> dict:
        def pick(value):
            if value in (None, "", ALL) or value == []:
                return None
            return value

        return {
            "status": pick(self.status),
            "verdict": pick(self.verdict),
            "flag": pick(self.flag),
            "source": pick(self.source),
            "search": (self.search or "").strip() or None,
            "order": self.order or "id",
        }

    def signature(self) -> list:
        """What a page position is only valid for: the same dataset, filter and order."""
        kwargs = self.store_kwargs()
        status = kwargs["status"]
        kwargs["status"] = sorted(status) if isinstance(status, (list, tuple)) else status
        return [self.dataset, *kwargs.values()]


@dataclass
class Page:
    """One page of the table, and where it sits: ``first``/``last`` are its first and last rows' keys, which the
    next, previous and refresh requests page from (by key: as fast on page 20,000 as on page 1)."""

    samples: list[Sample]
    total: int
    page: int  # 1-based, clamped to [1, pages]; after many edits elsewhere it may be off by a page or so
    pages: int
    exact: bool = True  # False: ``total`` is a lower bound (a search stops counting)
    first: list | None = None
    last: list | None = None
    signature: list | None = None  # the filter and order it was read with (Filters.signature)

    @property
    def start(self) -> int:
        """The row number of the first row (1-based): exact on page 1 and the last page, else page-based."""
        if self.page >= self.pages and self.exact:
            return max(1, self.total - len(self.samples) + 1)
        return (self.page - 1) * PAGE_SIZE + 1

    def position(self) -> dict:
        """What the table keeps between requests (JSON-able)."""
        return {"page": self.page, "first": self.first, "last": self.last, "filters": self.signature}


MOVES = ("next", "prev", "first", "last", "here")


def browse(store, filters: Filters, page: int = 1, *, move: str | None = None, position: dict | None = None) -> Page:
    """A page of matching samples.

    ``move`` pages by key from ``position`` (what :meth:`Page.position` returned for the page shown): ``next``,
    ``prev``, ``here`` (the same page again, e.g. after a save), ``first``, ``last``. Without a move (or a
    position), ``page`` is a page number: the first and last pages are read by key, any other by offset (a jump).
    """
    if move is not None and move not in MOVES:
        raise UserError(f"move must be one of {MOVES}, got {move!r}")
    kwargs = filters.store_kwargs()
    # A position read under another filter or order says nothing about this one: then start from ``page``.
    pos = position if position and position.get("filters") == filters.signature() else {}
    current = int(pos.get("page") or page or 1)

    def read(number: int, **where) -> Page:
        got = store.page(filters.dataset, **kwargs, **{"limit": PAGE_SIZE, **where})
        pages = max(1, -(-got.total // PAGE_SIZE))
        number = pages if where.get("last") and not where.get("offset") else min(max(1, number), pages)
        return Page(got.samples, got.total, number, pages, got.exact, list(got.first) if got.first else None,
                    list(got.last) if got.last else None, filters.signature())

    def last_page() -> Page:
        # The last page holds what is left after the full pages (as paging forward would end), not 50 rows.
        total = store.page(filters.dataset, **kwargs, limit=0)  # from the counts: cheap
        rest = total.total % PAGE_SIZE if total.exact else 0
        return read(0, last=True, limit=rest or PAGE_SIZE)

    if move == "next" and pos.get("last"):
        shown = read(current + 1, after=pos["last"])
        return shown if shown.samples else browse(store, filters, move="here", position=pos)
    if move == "prev" and pos.get("first"):
        shown = read(current - 1, before=pos["first"])
        return shown if len(shown.samples) == PAGE_SIZE else read(1)  # reached the start: a full first page
    if move == "here" and pos.get("first"):
        shown = read(current, at=pos["first"])
        return shown if shown.samples else read(1)
    if move == "last":
        return last_page()
    if move in ("first", "next", "prev", "here"):
        return read(1)
    number = max(1, int(page or 1))
    if number == 1:
        return read(1)
    total = store.page(filters.dataset, **kwargs, limit=0).total
    if number >= -(-total // PAGE_SIZE):
        return last_page()
    # A jump is the one read by offset, so it counts from the nearer end: at most half the rows are skipped.
    after = total - number * PAGE_SIZE  # rows after the wanted page
    if after < (number - 1) * PAGE_SIZE:
        return read(number, last=True, offset=after)
    return read(number, offset=(number - 1) * PAGE_SIZE)


def dataset_names(store) -> list[str]:
    return [d["name"] for d in store.datasets()]


def sources(store, dataset: str | None) -> list[str]:
    """Every source the dataset's samples name (kept in the store's counts: nothing is scanned)."""
    return store.sources(dataset)


def neighbor(store, filters: Filters, current_id, step: int) -> int | None:
    """The id ``step`` places from ``current_id`` within the filter and order, or None at either end.

    After a submit the current sample may no longer match the filter (e.g. "pending only"): then the next one
    is the first matching sample that comes after it in the same order. Found by key, not by listing ids.
    """
    kwargs = filters.store_kwargs()
    return store.neighbor(filters.dataset, current_id, step, **kwargs)


# -- the critique and its verdict ----------------------------------------------------------------------------------
def verdict_of(critique: str | None) -> str:
    """The radio's value for a critique (the last ``Conclusion: right/wrong`` line, else ``unknown``)."""
    return parse_verdict(critique)


def with_verdict(critique: str | None, verdict: str) -> str:
    """The critique with its conclusion line rewritten for the radio's new value."""
    return set_verdict(critique or "", verdict)


def diff_counts(old: str | None, new: str | None) -> tuple[int, int]:
    """(words added, words removed) from ``old`` to ``new``."""
    a, b = (old or "").split(), (new or "").split()
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            removed += i2 - i1
        if op in ("insert", "replace"):
            added += j2 - j1
    return added, removed


# -- saving --------------------------------------------------------------------------------------------------------
def annotator_name(username: str | None, typed: str | None) -> str:
    """The logged-in user (gr auth) wins; else the name typed in the tab (workspace.check_label: it is saved in the
    history and shown to every annotator); else "anonymous"."""
    if (username or "").strip():
        return username.strip()
    return workspace.check_label(typed, "annotator name") if (typed or "").strip() else ANONYMOUS


def _open_id(sample_id) -> int:
    if sample_id in (None, ""):
        raise UserError("no sample is open: select a row in the table first")
    return int(sample_id)


def save(store, sample_id, critique: str, *, status: str, expected_revision: int, annotator: str) -> Sample:
    """Save the edited critique with ``status``, flags and verdict recomputed; returns the sample as saved.
    A stale ``expected_revision`` raises ConflictError and writes nothing."""
    sample_id = _open_id(sample_id)
    if status not in STATUSES:
        raise UserError(f"status must be one of {STATUSES}, got {status!r}")
    draft = store.get(sample_id)
    draft.critique = critique or ""
    compute_flags(draft)
    changes = {"critique": draft.critique, "verdict": draft.verdict, "flags": draft.flags, "status": status}
    return store.update(sample_id, changes, expected_revision=int(expected_revision), annotator=annotator)


def restore(store, sample_id, revision, *, expected_revision: int, annotator: str) -> Sample:
    """Write revision ``revision`` back as a new revision; refused like any save (ConflictError) when stale."""
    sample_id = _open_id(sample_id)
    if revision in (None, ""):
        raise UserError("pick a revision to restore")
    return store.restore(sample_id, int(revision), expected_revision=int(expected_revision), annotator=annotator)


# -- export --------------------------------------------------------------------------------------------------------
def export(store, filters: Filters, fmt: str, *, reviewed_only: bool) -> Path:
    """Export the dataset's reviewed samples, or those matching the current filter, to workspace/exports/.

    An ``hf`` export is a ``save_to_disk`` directory, so it is zipped for the download.
    """
    if not filters.dataset:
        raise UserError("pick a dataset to export")
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"export format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    kwargs = {k: v for k, v in filters.store_kwargs().items() if k != "order" and v is not None}
    if reviewed_only:
        kwargs.pop("status", None)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", filters.dataset).strip("_") or "dataset"
    out = workspace.subdir("exports") / f"{stem}-{'reviewed' if reviewed_only else 'filtered'}-{fmt}{_EXPORT_EXT[fmt]}"
    path = Path(formats.export_samples(store, filters.dataset, out, fmt, reviewed_only=reviewed_only, **kwargs))
    if path.is_dir():
        path = Path(shutil.make_archive(str(path), "zip", root_dir=path))
    return path
