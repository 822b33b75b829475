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


@dataclass
class Page:
    samples: list[Sample]
    total: int
    page: int  # 1-based, clamped to [1, pages]
    pages: int


def browse(store, filters: Filters, page: int = 1) -> Page:
    """One page of matching samples. Pages are 1-based; an out-of-range page is clamped."""
    kwargs = filters.store_kwargs()
    _, total = store.query(filters.dataset, **kwargs, limit=0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    samples, total = store.query(filters.dataset, **kwargs, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return Page(samples, total, page, pages)


def dataset_names(store) -> list[str]:
    return [d["name"] for d in store.datasets()]


def sources(store, dataset: str | None, scan: int = 5000) -> list[str]:
    """Distinct sources among the first ``scan`` samples (the store has no DISTINCT query; enough for a picker)."""
    samples, _ = store.query(dataset, order="id", limit=scan)
    return sorted({s.source for s in samples if s.source})


def neighbor(store, filters: Filters, current_id, step: int) -> int | None:
    """The id ``step`` places from ``current_id`` within the filter and order, or None at either end.

    After a submit the current sample may no longer match the filter (e.g. "pending only"): then the next one
    is the first matching sample that came after it in the same order over the whole dataset.
    """
    kwargs = filters.store_kwargs()
    ids = store.ids(filters.dataset, **kwargs)
    if not ids:
        return None
    if current_id in (None, ""):
        return ids[0] if step > 0 else ids[-1]
    current_id = int(current_id)
    if current_id in ids:
        i = ids.index(current_id) + step
        return ids[i] if 0 <= i < len(ids) else None
    order = store.ids(filters.dataset, order=kwargs["order"])
    matching = set(ids)
    pos = order.index(current_id) if current_id in order else -1
    walk = order[pos + 1:] if step > 0 else reversed(order[:max(pos, 0)])
    return next((i for i in walk if i in matching), None)


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
