"""The Data tab's logic: browse, open, edit, save and review critique samples (no Gradio here).

pages/data.py only wires widgets to these functions, so everything an annotator can do is testable on plain
Sample objects and a Store:
- ``Filters`` + ``browse``: the paged table (50 rows), served by the store's filters and FTS search;
- ``open_sample``: everything the editor shows for one sample, rendered inert (``safe_markdown``, ``esc``);
- ``save``: submit / draft / discard with flags recomputed and the annotator recorded; a save made against a
  stale revision is refused by the store (ConflictError) and turned into a message that shows the other version;
- ``neighbor``: previous / next within the current filter and order;
- ``history_html`` / ``restore``: every revision, and writing an old one back as a new revision.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cft import workspace
from cft.errors import UserError
from cft.data.flags import AUTO_FLAGS, compute_flags
from cft.data.samples import STATUSES, Sample, parse_verdict, set_verdict

PAGE_SIZE = 50
ALL = "all"
TABLE_HEADERS = ["id", "question", "verdict", "status", "flags", "annotator"]
# Label shown in the order dropdown -> the store's order name.
ORDERS = {"Flagged first": "flagged_first", "Id": "id", "Recently updated": "updated"}
FLAG_FILTERS = [ALL, "any", "none", *AUTO_FLAGS]
VERDICT_FILTERS = [ALL, "right", "wrong", "unknown"]
# Both notations the paper's data uses, plus $...$; rendered client-side by KaTeX.
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]
ANONYMOUS = "anonymous"


# -- safe rendering -----------------------------------------------------------------------------------------------
def esc(text) -> str:
    """HTML-escape anything a sample holds before it goes into an HTML fragment."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_markdown(text: str | None) -> str:
    """Markdown source whose raw HTML is inert: ``<script>`` and ``<img onerror>`` become visible text.

    Only ``&``, ``<`` and ``>`` are escaped, so Markdown and LaTeX (``\\(x\\)``, ``$x$``) still render; the
    Markdown component also sanitizes its output (defense in depth).
    """
    if not text:
        return "*(empty)*"
    # Some datasets store inline math doubly escaped ("\\\\( x \\\\)"); show it as the math it means.
    text = _DOUBLED_PAREN.sub(r"\\\1", text)
    return html.escape(text, quote=False)


_DOUBLED_PAREN = re.compile(r"\\\\([()])")


def fmt_time(ts: float | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- word-level diff ----------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s+|[^\s]+")


def word_diff_html(old: str | None, new: str | None) -> str:
    """``old`` -> ``new`` as escaped HTML with <del>/<ins> per word (whitespace kept, so lines stay lines)."""
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(esc("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{esc(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{esc(''.join(b[j1:j2]))}</ins>")
    return "".join(out)


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


def suggestion_diff_html(original: str | None, critique: str | None) -> str:
    """The teacher's suggestion -> the current critique, for the panel beside the editor."""
    if original is None:
        return '<div class="cft-diff cft-muted">No teacher suggestion is stored for this sample.</div>'
    if (original or "") == (critique or ""):
        return '<div class="cft-diff cft-muted">Unchanged from the teacher\'s critique.</div>'
    added, removed = diff_counts(original, critique)
    return (
        f'<div class="cft-diff-head">+{added} / −{removed} words vs the teacher</div>'
        f'<div class="cft-diff">{word_diff_html(original, critique)}</div>'
    )


# -- verdict radio <-> conclusion line ----------------------------------------------------------------------------
def verdict_of(critique: str | None) -> str:
    """The radio's value for a critique (the last ``Conclusion: right/wrong`` line, else ``unknown``)."""
    return parse_verdict(critique)


def with_verdict(critique: str | None, verdict: str) -> str:
    """The critique with its conclusion line rewritten for the radio's new value."""
    return set_verdict(critique or "", verdict)


def reset_to_suggestion(original: str | None, current: str) -> tuple[str, str, str, str]:
    """(critique, verdict, diff, message) after "Reset to teacher"; nothing is saved until Submit/Save draft."""
    if not original:
        return current, verdict_of(current), suggestion_diff_html(None, current), "No teacher suggestion to reset to."
    return original, verdict_of(original), suggestion_diff_html(original, original), (
        "Reset to the teacher's critique (not saved yet).")


# -- browsing -----------------------------------------------------------------------------------------------------
@dataclass
class Filters:
    """What the table shows. ``ALL``/empty means no filter on that field."""

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

        order = ORDERS.get(self.order, self.order) or "id"
        return {
            "status": pick(self.status),
            "verdict": pick(self.verdict),
            "flag": pick(self.flag),
            "source": pick(self.source),
            "search": (self.search or "").strip() or None,
            "order": order,
        }


@dataclass
class Page:
    rows: list[list]
    total: int
    page: int  # 1-based, clamped to [1, pages]
    pages: int

    @property
    def label(self) -> str:
        if not self.total:
            return "No samples match."
        first = (self.page - 1) * PAGE_SIZE + 1
        last = min(self.total, self.page * PAGE_SIZE)
        return f"Rows {first}–{last} of {self.total} · page {self.page} of {self.pages}"


def _question_start(question: str, n: int = 90) -> str:
    text = " ".join(_DOUBLED_PAREN.sub(r"\\\1", question or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def table_rows(samples: list[Sample]) -> list[list]:
    """Plain-text rows for the table (the Dataframe shows them as text, so nothing in them is markup)."""
    return [
        [s.id, _question_start(s.question), s.verdict, s.status, ", ".join(sorted(s.flags)), s.annotator]
        for s in samples
    ]


def browse(store, filters: Filters, page: int = 1) -> Page:
    """One page of the table. Pages are 1-based; an out-of-range page is clamped."""
    kwargs = filters.store_kwargs()
    _, total = store.query(filters.dataset, **kwargs, limit=0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, int(page or 1)), pages)
    samples, total = store.query(filters.dataset, **kwargs, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return Page(table_rows(samples), total, page, pages)


def dataset_names(store) -> list[str]:
    return [d["name"] for d in store.datasets()]


def sources(store, dataset: str | None, scan: int = 5000) -> list[str]:
    """Distinct sources among the first ``scan`` samples (the store has no DISTINCT query; enough for a picker)."""
    samples, _ = store.query(dataset, order="id", limit=scan)
    return sorted({s.source for s in samples if s.source})


STATUS_COLORS = {
    "uncritiqued": "#94a3b8", "pending": "#f59e0b", "draft": "#3b82f6", "reviewed": "#16a34a", "discarded": "#6b7280",
}


def counts_html(store, dataset: str | None) -> str:
    """Status chips and a reviewed/total progress bar."""
    counts = store.counts(dataset)
    total = counts.get("total", 0)
    reviewed = counts.get("reviewed", 0)
    pct = (100.0 * reviewed / total) if total else 0.0
    chips = "".join(
        f'<span class="cft-chip cft-status-{s}" title="{s}">{s} <b>{counts.get(s, 0)}</b></span>' for s in STATUSES
    )
    return (
        f'<div class="cft-counts">{chips}</div>'
        f'<div class="cft-progress" title="reviewed / total"><div class="cft-progress-bar" style="width:{pct:.1f}%">'
        f'</div></div><div class="cft-progress-label">{reviewed} / {total} reviewed ({pct:.0f}%)</div>'
    )


# -- the editor ---------------------------------------------------------------------------------------------------
@dataclass
class EditorView:
    """Everything the editor shows for one sample; ``values()`` is in ``EDITOR_FIELDS`` order."""

    sample_id: int | None
    revision: int
    header: str  # markdown
    question: str  # markdown (safe)
    response: str  # markdown (safe)
    reference: str  # markdown (safe)
    flags: str  # html
    critique: str  # raw text for the editable textbox
    verdict: str
    original: str  # raw text for the read-only suggestion box
    diff: str  # html
    history: str  # html
    revisions: list[str] = field(default_factory=list)

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name in EDITOR_FIELDS)


EDITOR_FIELDS = (
    "sample_id", "revision", "header", "question", "response", "reference", "flags", "critique", "verdict",
    "original", "diff", "history",
)


def flags_html(flags: dict[str, str]) -> str:
    if not flags:
        return '<div class="cft-flags cft-flags-none">No automatic flags.</div>'
    items = "".join(
        f'<li><span class="cft-flag">{esc(name)}</span> {esc(reason)}</li>' for name, reason in sorted(flags.items())
    )
    return f'<div class="cft-flags"><ul>{items}</ul></div>'


def header_markdown(s: Sample) -> str:
    who = f" · last saved by **{esc(s.annotator)}**" if s.annotator else ""
    when = f" {fmt_time(s.updated_at)}" if s.updated_at else ""
    src = f" · source `{esc(s.source)}`" if s.source else ""
    teacher = f" · teacher `{esc(s.teacher)}`" if s.teacher else ""
    return (
        f"**Sample #{s.id}** · status **{s.status}** · verdict **{s.verdict}** · revision {s.revision}"
        f"{who}{when}{src}{teacher}"
    )


def empty_view() -> EditorView:
    return EditorView(
        sample_id=None, revision=0, header="Select a row in the table to open a sample.", question="", response="",
        reference="", flags="", critique="", verdict="unknown", original="", diff="", history="",
    )


def view_of(store, sample: Sample) -> EditorView:
    ref = sample.reference_answer
    reference = f"**Reference answer:** {safe_markdown(ref)}" if ref else "*No reference answer.*"
    if sample.reference_solution:
        reference += "\n\n**Reference solution:**\n\n" + safe_markdown(sample.reference_solution)
    original = sample.original_critique if sample.original_critique is not None else ""
    return EditorView(
        sample_id=sample.id,
        revision=sample.revision,
        header=header_markdown(sample),
        question=safe_markdown(sample.question),
        response=safe_markdown(sample.response),
        reference=reference,
        flags=flags_html(sample.flags),
        critique=sample.critique or "",
        verdict=verdict_of(sample.critique),
        original=original,
        diff=suggestion_diff_html(sample.original_critique, sample.critique),
        history=history_html(store, sample.id),
        revisions=revision_choices(store, sample.id),
    )


def open_sample(store, sample_id) -> EditorView:
    """Load a sample for editing; the view keeps the revision it loaded (for the conflict check on save)."""
    if sample_id in (None, ""):
        return empty_view()
    return view_of(store, store.get(int(sample_id)))


# -- saving -------------------------------------------------------------------------------------------------------
@dataclass
class SaveOutcome:
    ok: bool
    sample: Sample  # as saved, or as the store has it now when the save was refused
    message: str  # markdown
    conflict: str = ""  # html; non-empty when the save was refused


def annotator_name(username: str | None, typed: str | None) -> str:
    """The logged-in user (gr auth) wins; else the name typed in the tab; else "anonymous"."""
    return (username or "").strip() or (typed or "").strip() or ANONYMOUS


def save(store, sample_id, critique: str, *, status: str, expected_revision: int, annotator: str) -> SaveOutcome:
    """Save the edited critique with ``status``; flags and verdict recomputed; refused on a stale revision."""
    from cft.data.store import ConflictError

    if sample_id in (None, ""):
        raise UserError("no sample is open: select a row in the table first")
    if status not in STATUSES:
        raise UserError(f"status must be one of {STATUSES}, got {status!r}")
    sample_id = int(sample_id)
    draft = store.get(sample_id)
    draft.critique = critique or ""
    compute_flags(draft)
    changes = {"critique": draft.critique, "verdict": draft.verdict, "flags": draft.flags, "status": status}
    try:
        saved = store.update(sample_id, changes, expected_revision=int(expected_revision), annotator=annotator)
    except ConflictError as exc:
        return SaveOutcome(False, exc.current, f"⚠️ **Not saved.** {esc(str(exc))}", conflict_html(exc, critique))
    verb = {"reviewed": "Submitted", "draft": "Saved draft of", "discarded": "Discarded"}.get(status, "Saved")
    return SaveOutcome(True, saved, f"✅ {verb} sample #{saved.id} (revision {saved.revision}, by {esc(annotator)}).")


def conflict_html(exc, mine: str) -> str:
    """What the annotator needs to merge: who saved, when, their critique, and how it differs from theirs."""
    theirs = exc.current
    who = esc(theirs.annotator or "someone")
    return (
        '<div class="cft-conflict" id="data-conflict-box">'
        f"<p><b>Someone else saved this sample first — your save was refused and nothing was overwritten.</b></p>"
        f"<p>{who} saved revision {exc.current_revision} at {fmt_time(theirs.updated_at)} (status "
        f"<b>{esc(theirs.status)}</b>, verdict <b>{esc(theirs.verdict)}</b>) while you were editing revision "
        f"{exc.expected_revision}. Your text is still in the editor and below. Press <b>Load latest</b> to continue "
        "from their version, then re-apply your change.</p>"
        f'<details open><summary>Their critique (revision {exc.current_revision})</summary>'
        f'<pre class="cft-pre">{esc(theirs.critique)}</pre></details>'
        '<details open><summary>Their version → yours</summary>'
        f'<div class="cft-diff">{word_diff_html(theirs.critique, mine)}</div></details>'
        f'<details><summary>Your text</summary><pre class="cft-pre">{esc(mine)}</pre></details>'
        "</div>"
    )


# -- navigation ---------------------------------------------------------------------------------------------------
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


# -- history ------------------------------------------------------------------------------------------------------
def _change_summary(field_name: str, old, new) -> str:
    if field_name == "created":
        return "created"
    if field_name in ("critique", "original_critique", "question", "response"):
        added, removed = diff_counts(old, new)
        return f"{field_name} +{added}/−{removed} words"
    if field_name == "flags":
        old, new = set(old or {}), set(new or {})
        parts = [f"+{f}" for f in sorted(new - old)] + [f"−{f}" for f in sorted(old - new)]
        return "flags " + (" ".join(parts) if parts else "reasons updated")
    return f"{field_name} {_short_value(old)} → {_short_value(new)}"


def _short_value(value, n: int = 40) -> str:
    text = " ".join(str(value).split()) if value is not None else "∅"
    return text if len(text) <= n else text[: n - 1] + "…"


def history_entries(store, sample_id) -> list[dict]:
    """One entry per revision, newest first: {revision, annotator, at, changes: [str], critique_diff: html}."""
    by_rev: dict[int, dict] = {}
    for row in store.history(int(sample_id)):
        entry = by_rev.setdefault(
            row["revision"], {"revision": row["revision"], "annotator": row["annotator"], "at": row["at"],
                              "changes": [], "critique_diff": ""}
        )
        entry["changes"].append(_change_summary(row["field"], row["old"], row["new"]))
        if row["field"] == "critique":
            entry["critique_diff"] = word_diff_html(row["old"], row["new"])
    return [by_rev[r] for r in sorted(by_rev, reverse=True)]


def history_html(store, sample_id) -> str:
    if sample_id in (None, ""):
        return ""
    items = []
    for e in history_entries(store, sample_id):
        detail = (
            f'<details><summary>critique changes</summary><div class="cft-diff">{e["critique_diff"]}</div></details>'
            if e["critique_diff"] else ""
        )
        items.append(
            f'<li><b>r{e["revision"]}</b> · {esc(e["annotator"] or ANONYMOUS)} · {fmt_time(e["at"])}'
            f'<br><span class="cft-muted">{esc("; ".join(e["changes"]))}</span>{detail}</li>'
        )
    return f'<ol class="cft-history">{"".join(items)}</ol>'


def revision_choices(store, sample_id) -> list[str]:
    if sample_id in (None, ""):
        return []
    return [str(e["revision"]) for e in history_entries(store, sample_id)]


def restore(store, sample_id, revision, *, expected_revision: int, annotator: str) -> SaveOutcome:
    """Write revision ``revision`` back as a new revision; refused like any save when the editor is stale."""
    from cft.data.store import ConflictError

    if sample_id in (None, ""):
        raise UserError("no sample is open: select a row in the table first")
    if revision in (None, ""):
        raise UserError("pick a revision to restore")
    sample_id = int(sample_id)
    try:
        saved = store.restore(sample_id, int(revision), expected_revision=int(expected_revision), annotator=annotator)
    except ConflictError as exc:
        return SaveOutcome(False, exc.current, f"⚠️ **Not restored.** {esc(str(exc))}", conflict_html(exc, ""))
    return SaveOutcome(True, saved, f"↩️ Restored revision {int(revision)} of sample #{sample_id} as revision "
                                    f"{saved.revision}.")


# -- import / export ----------------------------------------------------------------------------------------------
def import_formats() -> list[str]:
    from cft.data import formats

    return ["auto", *formats.SHAPES, *formats.CONTAINERS]


def import_upload(store, path, dataset: str, fmt: str = "auto", *, skip_bad: bool = False) -> str:
    """Import an uploaded file; returns a markdown report. Bad rows are listed with their line numbers."""
    from cft.data import formats

    if not path:
        raise UserError("choose a file to import")
    dataset = (dataset or "").strip()
    if not dataset:
        raise UserError("type the name of the dataset to import into")
    name = Path(str(path)).name
    try:
        result = formats.import_file(store, path, dataset, fmt=fmt or "auto", skip_bad=skip_bad)
    except formats.ImportFailed as exc:
        return (f"❌ **{esc(name)}: {len(exc.errors)} bad row(s), nothing imported.** Fix them, or tick "
                f"\"skip bad rows\" to import the rest.\n\n" + _row_errors(exc.errors))
    msg = f"✅ Imported **{len(result.ids)}** samples from `{esc(name)}` ({result.format}) into `{esc(dataset)}`."
    if result.errors:
        msg += f"\n\nSkipped {len(result.errors)} bad row(s):\n\n" + _row_errors(result.errors)
    return msg


def _row_errors(errors, limit: int = 50) -> str:
    lines = []
    for e in list(errors)[:limit]:
        where = f"line {e.line}" if e.line else "file"
        field_name = f" `{esc(e.field)}`:" if e.field else ""
        lines.append(f"- **{where}**:{field_name} {esc(e.reason)}")
    if len(errors) > limit:
        lines.append(f"- … and {len(errors) - limit} more")
    return "\n".join(lines)


EXPORT_FORMATS = ("messages", "alpaca", "parquet", "hf")
_EXPORT_EXT = {"messages": ".jsonl", "alpaca": ".jsonl", "parquet": ".parquet", "hf": ""}


def export(store, filters: Filters, fmt: str, *, reviewed_only: bool) -> Path:
    """Export the dataset's reviewed samples, or those matching the current filter, to workspace/exports/.

    An ``hf`` export is a ``save_to_disk`` directory, so it is zipped for the download.
    """
    import shutil

    from cft.data import formats

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
