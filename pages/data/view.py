"""What the Data tab shows: the table's rows and page label, status counts, the editor's view of a sample (question,
response, reference, flags, the critique, its diff against the teacher's, the history) and a conflict.

Everything a sample holds is rendered inert (pages.render): as escaped HTML fragments or as Markdown whose raw
HTML shows as text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from cft.data.flags import AUTO_FLAGS
from cft.data.review import ALL, ANONYMOUS, Page, diff_counts, verdict_of
from cft.data.samples import STATUSES, Sample
from pages.render import esc, fmt_time, safe_markdown, undouble_math

TABLE_HEADERS = ["id", "question", "verdict", "status", "flags", "annotator"]
# Label shown in the order dropdown -> the store's order name.
ORDERS = {"Flagged first": "flagged_first", "Id": "id", "Recently updated": "updated"}
FLAG_FILTERS = [ALL, "any", "none", *AUTO_FLAGS]
VERDICT_FILTERS = [ALL, "right", "wrong", "unknown"]


# -- the table -----------------------------------------------------------------------------------------------------
def _question_start(question: str, n: int = 90) -> str:
    text = " ".join(undouble_math(question or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def table_rows(samples: list[Sample]) -> list[list]:
    """Plain-text rows for the table (the Dataframe shows them as text, so nothing in them is markup)."""
    return [
        [s.id, _question_start(s.question), s.verdict, s.status, ", ".join(sorted(s.flags)), s.annotator]
        for s in samples
    ]


def page_label(page: Page) -> str:
    if not page.total:
        return "No samples match."
    first = page.start
    last = first + len(page.samples) - 1
    if not page.exact:  # a search counts its matches only so far
        return f"Rows {first}–{last} of more than {page.total:,} · page {page.page}"
    return f"Rows {first}–{last} of {page.total} · page {page.page} of {page.pages}"


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


# -- word-level diff -----------------------------------------------------------------------------------------------
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


def reset_to_suggestion(original: str | None, current: str) -> tuple[str, str, str, str]:
    """(critique, verdict, diff, message) after "Reset to teacher"; nothing is saved until Submit/Save draft."""
    if not original:
        return current, verdict_of(current), suggestion_diff_html(None, current), "No teacher suggestion to reset to."
    return original, verdict_of(original), suggestion_diff_html(original, original), (
        "Reset to the teacher's critique (not saved yet).")


# -- the editor ----------------------------------------------------------------------------------------------------
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


# -- history -------------------------------------------------------------------------------------------------------
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
