"""The Data tab's callbacks: widget values in, widget values out. Each takes the tab's store first; ``build()``
binds it (pages.common.bound), so these stay plain module-level functions that a test can call directly.

The filters arrive as the seven filter widgets' values (dataset, status, verdict, flag, source, search, order label),
and the editor's outputs are ``EDITOR_OUTPUTS`` values: the editor fields, the revision choices, a message, a
conflict box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import gradio.utils as gr_utils
import pandas as pd

from cft.data import formats, review
from cft.data.samples import Sample
from cft.data.store import ConflictError, StoreBusy
from cft.errors import UserError
from pages.data import view
from pages.render import esc

EDITOR_OUTPUTS = len(view.EDITOR_FIELDS) + 3  # + revision choices, message, conflict


# -- saving, with what the annotator is told -----------------------------------------------------------------------
@dataclass
class SaveOutcome:
    ok: bool
    sample: Sample | None  # as saved, or as the store has it now when the save was refused (None: store busy)
    message: str  # markdown
    conflict: str = ""  # html; non-empty when the save was refused


def _busy(exc: StoreBusy) -> SaveOutcome:
    # The editor keeps the annotator's text; pressing the same button again is all it takes.
    return SaveOutcome(False, None, f"⏳ **Not saved: the store is busy.** {esc(str(exc))} Your text is still in the "
                                    f"editor; press the button again.")


def save(store, sample_id, critique: str, *, status: str, expected_revision: int, annotator: str) -> SaveOutcome:
    """Save the edited critique with ``status``; a stale revision is refused and shows the other version."""
    try:
        saved = review.save(store, sample_id, critique, status=status, expected_revision=expected_revision,
                            annotator=annotator)
    except ConflictError as exc:
        return SaveOutcome(False, exc.current, f"⚠️ **Not saved.** {esc(str(exc))}", view.conflict_html(exc, critique))
    except StoreBusy as exc:
        return _busy(exc)
    verb = {"reviewed": "Submitted", "draft": "Saved draft of", "discarded": "Discarded"}.get(status, "Saved")
    return SaveOutcome(True, saved, f"✅ {verb} sample #{saved.id} (revision {saved.revision}, by {esc(annotator)}).")


def restore(store, sample_id, revision, *, expected_revision: int, annotator: str) -> SaveOutcome:
    """Write revision ``revision`` back as a new revision; refused like any save when the editor is stale."""
    try:
        saved = review.restore(store, sample_id, revision, expected_revision=expected_revision, annotator=annotator)
    except ConflictError as exc:
        return SaveOutcome(False, exc.current, f"⚠️ **Not restored.** {esc(str(exc))}", view.conflict_html(exc, ""))
    except StoreBusy as exc:
        return _busy(exc)
    return SaveOutcome(True, saved, f"↩️ Restored revision {int(revision)} of sample #{saved.id} as revision "
                                    f"{saved.revision}.")


# -- import --------------------------------------------------------------------------------------------------------
def import_formats() -> list[str]:
    return ["auto", *formats.SHAPES, *formats.CONTAINERS]


def import_upload(store, path, dataset: str, fmt: str = "auto", *, skip_bad: bool = False) -> str:
    """Import an uploaded file; returns a markdown report. Bad rows are listed with their line numbers."""
    if not path:
        raise UserError("choose a file to import")
    dataset = (dataset or "").strip()
    if not dataset:
        raise UserError("type the name of the dataset to import into")
    name = Path(str(path)).name
    try:
        # An upload lives in Gradio's upload folder: the one root this handler adds to cft.paths' allowed ones.
        result = formats.import_file(store, path, dataset, fmt=fmt or "auto", skip_bad=skip_bad,
                                     extra_roots=(gr_utils.get_upload_folder(),))
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


# -- the callbacks -------------------------------------------------------------------------------------------------
def filters_of(dataset, status, verdict, flag, source, search, order) -> review.Filters:
    return review.Filters(dataset, status, verdict, flag, source, search or "", view.ORDERS.get(order, order))


def table_values(store, dataset, status, verdict, flag, source, search, order, page, position=None, move=None):
    """The table, its page label, the page number, the status counts and the page's position (a gr.State: the
    keys that the next, previous and refresh requests page from)."""
    shown = review.browse(store, filters_of(dataset, status, verdict, flag, source, search, order), page,
                          move=move, position=position)
    frame = pd.DataFrame(view.table_rows(shown.samples), columns=view.TABLE_HEADERS)
    return frame, view.page_label(shown), shown.page, view.counts_html(store, dataset), shown.position()


def table_here(store, dataset, status, verdict, flag, source, search, order, page, position=None):
    """The page shown, read again from its first row's key (after a save or a refresh); the typed page number
    instead when it differs from the page shown."""
    same = position and int(position.get("page") or 0) == int(page or 1)
    return table_values(store, dataset, status, verdict, flag, source, search, order, page,
                        position if same else None, "here" if same else None)


def editor_values(editor: view.EditorView, msg: str = "", conflict_html: str = ""):
    return (*editor.values(), gr.update(choices=editor.revisions, value=None), msg, conflict_html)


def _keep_editor(msg: str, conflict: str | None = None):
    """Leave the editor as it is (the annotator's text and loaded revision) and show a message."""
    return (*[gr.skip()] * (EDITOR_OUTPUTS - 2), msg, gr.skip() if conflict is None else conflict)


def load(store):
    # Datasets imported since the app started (CLI, Generate tab) appear on every page load.
    names = review.dataset_names(store)
    dataset = names[0] if names else None
    table = table_values(store, dataset, None, review.ALL, review.ALL, review.ALL, "", "Flagged first", 1)
    return (gr.update(choices=names, value=dataset), *table)


def refresh(store, dataset, status, verdict, flag, source, search, order, page, position=None):
    names = review.dataset_names(store)
    return (gr.update(choices=names), *table_here(store, dataset, status, verdict, flag, source, search, order,
                                                  page, position))


def first_page(store, dataset, status, verdict, flag, source, search, order):
    return table_values(store, dataset, status, verdict, flag, source, search, order, 1)


def jump_page(store, dataset, status, verdict, flag, source, search, order, page):
    return table_values(store, dataset, status, verdict, flag, source, search, order, page)


def step_page(store, move, dataset, status, verdict, flag, source, search, order, page, position=None):
    """``move``: next, prev, first or last; from the keys of the page shown."""
    return table_values(store, dataset, status, verdict, flag, source, search, order, page, position, move)


def open_editor(store, sample_id):
    return editor_values(view.open_sample(store, sample_id))


def select_row(store, evt: gr.SelectData):
    row = evt.row_value or []
    return open_editor(store, row[0] if row else None)


def dataset_changed(store, dataset):
    srcs = review.sources(store, dataset)
    return gr.update(choices=[review.ALL, *srcs], value=review.ALL), gr.update(value=dataset or "")


def _who(request: gr.Request | None, annotator: str) -> str:
    return review.annotator_name(getattr(request, "username", None), annotator)


def save_as(store, status_value, sample_id, revision, critique, annotator, advance,
            dataset, status, verdict, flag, source, search, order, page, position=None, request: gr.Request = None):
    """Submit, Save draft or Discard: save, then (after a submit) open the next sample of the filter."""
    outcome = save(store, sample_id, critique, status=status_value, expected_revision=revision,
                   annotator=_who(request, annotator))
    table = table_here(store, dataset, status, verdict, flag, source, search, order, page, position)
    if not outcome.ok:
        # Keep the annotator's critique and loaded revision; show the other version beside it.
        return (*_keep_editor(outcome.message, outcome.conflict), *table)
    msg = outcome.message
    editor = view.view_of(store, outcome.sample)
    if status_value == "reviewed" and advance:
        nxt = review.neighbor(store, filters_of(dataset, status, verdict, flag, source, search, order),
                              outcome.sample.id, +1)
        if nxt is not None:
            editor = view.open_sample(store, nxt)
            msg += f" Opened #{nxt}."
    return (*editor_values(editor, msg), *table)


def move(store, step, sample_id, dataset, status, verdict, flag, source, search, order):
    nxt = review.neighbor(store, filters_of(dataset, status, verdict, flag, source, search, order), sample_id, step)
    if nxt is None:
        return _keep_editor("No more samples in this filter.")
    return editor_values(view.open_sample(store, nxt))


def restore_revision(store, sample_id, restore_revision, revision, annotator,
                     dataset, status, verdict, flag, source, search, order, page, position=None,
                     request: gr.Request = None):
    outcome = restore(store, sample_id, restore_revision, expected_revision=revision, annotator=_who(request, annotator))
    table = table_here(store, dataset, status, verdict, flag, source, search, order, page, position)
    if not outcome.ok:
        return (*_keep_editor(outcome.message, outcome.conflict), *table)
    return (*editor_values(view.view_of(store, outcome.sample), outcome.message), *table)


def edited(critique, original):
    return review.verdict_of(critique), view.suggestion_diff_html(original, critique)


def verdict_picked(verdict_choice, critique, original):
    new = review.with_verdict(critique, verdict_choice)
    return new, view.suggestion_diff_html(original, new)


def import_file(store, file, into_dataset, import_format, skip_bad):
    msg = import_upload(store, file, into_dataset, import_format, skip_bad=skip_bad)
    names = review.dataset_names(store)
    chosen = into_dataset if into_dataset in names else (names[0] if names else None)
    return msg, gr.update(choices=names, value=chosen)


def export(store, export_format, reviewed_only, dataset, status, verdict, flag, source, search, order):
    filters = filters_of(dataset, status, verdict, flag, source, search, order)
    return str(review.export(store, filters, export_format, reviewed_only=reviewed_only))
