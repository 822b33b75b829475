"""The Data tab's callbacks: widget values in, widget values out. Each takes the tab's store first; ``build()``
binds it (pages.common.bound), so these stay plain module-level functions that a test can call directly.

The filters arrive as the seven filter widgets' values (dataset, status, verdict, flag, source, search, order label),
and the editor's outputs are ``EDITOR_OUTPUTS`` values: the editor fields, the revision choices, a message, a
conflict box; then ``TEAM_OUTPUTS`` more: the first-wrong-step choices, the reviews panel and the viewer's own review
revision. Who is looking (the login, else the typed name) decides what a blind reviewer sees (cft.data.team).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import gradio.utils as gr_utils
import pandas as pd

from cft.data import agreement, formats, review, team
from cft.data.samples import Sample
from cft.data.store import ConflictError, ReviewConflict, StoreBusy
from cft.errors import UserError
from pages.common import _to_gradio
from pages.data import view
from pages.render import esc

EDITOR_OUTPUTS = len(view.EDITOR_FIELDS) + 3  # + revision choices, message, conflict
QUEUE_COUNT_CAP = 1000  # "1000+ left": counting a whole queue of a million samples is not worth a click
TEAM_OUTPUTS = 3  # after the editor's: first-wrong-step choices and value, the reviews panel, my review revision


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


def save(store, sample_id, critique: str, *, status: str, expected_revision: int, annotator: str,
         viewer: team.Viewer | None = None, step=None, review_revision=0) -> SaveOutcome:
    """Save the edited critique with ``status``; a stale revision is refused and shows the other version. A submit
    (``reviewed``) is a review (cft.data.team.submit): with K >= 2 it records the review and leaves the sample."""
    try:
        if status == "draft" and sample_id not in (None, "") and \
                store.settings(store.get(int(sample_id)).dataset)["reviews_needed"] >= 2:
            return SaveOutcome(False, None, "⚠️ **Not saved.** This dataset needs several independent reviews per "
                                            "sample: submit your review instead of a draft (a draft would show your "
                                            "verdict to the other reviewers).")
        if status == "reviewed":
            saved = team.submit(store, sample_id, critique, viewer=viewer or team.Viewer(annotator),
                                expected_revision=expected_revision, expected_review_revision=review_revision,
                                step=step)["sample"]
        else:
            saved = review.save(store, sample_id, critique, status=status, expected_revision=expected_revision,
                                annotator=annotator)
    except ConflictError as exc:
        return SaveOutcome(False, exc.current, f"⚠️ **Not saved.** {esc(str(exc))}", view.conflict_html(exc, critique))
    except ReviewConflict as exc:
        return SaveOutcome(False, None, f"⚠️ **Not saved.** {esc(str(exc))}")
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


def opened(editor: view.EditorView, msg: str = "", conflict_html: str = ""):
    """The editor's outputs, then the team outputs (step choices, reviews panel, my review revision)."""
    choices, step, reviews, review_revision = view.step_update_values(editor)
    choices = choices or team.step_choices(None)  # an empty editor: still a valid choice for the value
    return (*editor_values(editor, msg, conflict_html), gr.update(choices=choices, value=step), reviews,
            review_revision)


def _keep_editor(msg: str, conflict: str | None = None):
    """Leave the editor as it is (the annotator's text and loaded revision) and show a message."""
    return (*[gr.skip()] * (EDITOR_OUTPUTS - 2), msg, gr.skip() if conflict is None else conflict)


def _keep(msg: str, conflict: str | None = None):
    return (*_keep_editor(msg, conflict), *[gr.skip()] * TEAM_OUTPUTS)


def _viewer(request: gr.Request | None, annotator: str) -> team.Viewer:
    username = getattr(request, "username", None)
    return team.Viewer(review.annotator_name(username, annotator), logged_in=bool((username or "").strip()))


def _toast(message: str) -> None:
    """A save's confirmation as a toast (plain text: the message's Markdown emphasis removed)."""
    gr.Info(message.replace("**", ""), duration=4)


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


def open_editor(store, sample_id, annotator: str = "", dataset: str | None = None, request: gr.Request = None):
    """Open a sample by id; one of another dataset than the one picked is refused (switch the Dataset first)."""
    _same_dataset(store, sample_id, dataset)
    return opened(view.open_sample(store, sample_id, _viewer(request, annotator)))


def select_row(store, annotator: str = "", evt: gr.SelectData = None, request: gr.Request = None):
    row = (evt.row_value if evt is not None else None) or []
    return open_editor(store, row[0] if row else None, annotator, request=request)


def dataset_changed(store, dataset):
    """A new dataset: its sources, the import target, and an empty editor (never a sample of the old dataset)."""
    srcs = review.sources(store, dataset)
    return (gr.update(choices=[review.ALL, *srcs], value=review.ALL), gr.update(value=dataset or ""),
            *opened(view.empty_view()))


def _same_dataset(store, sample_id, dataset) -> None:
    if sample_id in (None, "") or not dataset:
        return
    sample = store.get(int(sample_id))
    if sample.dataset != dataset:
        raise UserError(f"sample #{sample.id} belongs to dataset {sample.dataset!r}, not {dataset!r}: pick "
                        f"{sample.dataset!r} in the Dataset list to work on it")


def next_in_queue(store, dataset, sample_id, annotator, request: gr.Request = None):
    """Open the next sample of my queue: not reviewed by me, still needing reviews, flagged first."""
    viewer = _viewer(request, annotator)
    nxt = team.next_in_queue(store, dataset, viewer.name, after=sample_id)
    if nxt is None:
        return _keep(f"🎉 Your queue in `{esc(dataset)}` is empty: nothing left for **{esc(viewer.name)}** to review.")
    left = _left(store, dataset, viewer.name)
    return opened(view.open_sample(store, nxt, viewer),
                  f"Opened #{nxt} from {esc(viewer.name)}'s queue ({left} left, this one included).")


def save_as(store, status_value, sample_id, revision, critique, annotator, advance,
            dataset, status, verdict, flag, source, search, order, page, position=None, step=None, review_revision=0,
            request: gr.Request = None):
    """Submit, Save draft or Discard: save, then (after a submit) open the next sample: of my queue when the
    dataset needs several reviews per sample, else of the filter."""
    _same_dataset(store, sample_id, dataset)
    viewer = _viewer(request, annotator)
    outcome = save(store, sample_id, critique, status=status_value, expected_revision=revision,
                   annotator=viewer.name, viewer=viewer, step=step, review_revision=review_revision)
    table = table_here(store, dataset, status, verdict, flag, source, search, order, page, position)
    if not outcome.ok:
        # Keep the annotator's critique and loaded revision; show the other version beside it.
        return (*_keep(outcome.message, outcome.conflict), *table)
    msg = outcome.message
    _toast(msg)
    editor = view.view_of(store, outcome.sample, viewer)
    if status_value == "reviewed" and advance:
        if store.settings(outcome.sample.dataset)["reviews_needed"] >= 2:
            nxt = team.next_in_queue(store, outcome.sample.dataset, viewer.name, after=outcome.sample.id)
        else:
            nxt = review.neighbor(store, filters_of(dataset, status, verdict, flag, source, search, order),
                                  outcome.sample.id, +1)
        if nxt is not None:
            editor = view.open_sample(store, nxt, viewer)
            msg += f" Opened #{nxt}."
    return (*opened(editor, msg), *table)


def move(store, step, sample_id, dataset, status, verdict, flag, source, search, order, annotator="",
         request: gr.Request = None):
    nxt = review.neighbor(store, filters_of(dataset, status, verdict, flag, source, search, order), sample_id, step)
    if nxt is None:
        return _keep("No more samples in this filter.")
    return opened(view.open_sample(store, nxt, _viewer(request, annotator)))


def restore_revision(store, sample_id, restore_revision, revision, annotator,
                     dataset, status, verdict, flag, source, search, order, page, position=None,
                     request: gr.Request = None):
    _same_dataset(store, sample_id, dataset)
    viewer = _viewer(request, annotator)
    if sample_id not in (None, "") and team.blind(store, store.get(int(sample_id)), viewer):
        raise UserError("the history is hidden until you submit your review of this sample")
    outcome = restore(store, sample_id, restore_revision, expected_revision=revision, annotator=viewer.name)
    table = table_here(store, dataset, status, verdict, flag, source, search, order, page, position)
    if not outcome.ok:
        return (*_keep(outcome.message, outcome.conflict), *table)
    _toast(outcome.message)
    return (*opened(view.view_of(store, outcome.sample, viewer), outcome.message), *table)


def adjudicate(store, sample_id, revision, critique, step, annotator, dataset, status, verdict, flag, source, search,
               order, page, position=None, request: gr.Request = None):
    """A lead's final verdict on a sample (from the disagreement queue): recorded, and saved into the sample."""
    _same_dataset(store, sample_id, dataset)
    viewer = _viewer(request, annotator)
    try:
        out = team.adjudicate(store, sample_id, critique, viewer=viewer, expected_revision=revision, step=step)
    except ConflictError as exc:
        table = table_here(store, dataset, status, verdict, flag, source, search, order, page, position)
        return (*_keep(f"⚠️ **Not saved.** {esc(str(exc))}", view.conflict_html(exc, critique)), *table)
    msg = f"⚖️ Adjudicated sample #{out['sample'].id}: {out['review']['verdict']} (by {esc(viewer.name)})."
    _toast(msg)
    table = table_here(store, dataset, status, verdict, flag, source, search, order, page, position)
    return (*opened(view.view_of(store, out["sample"], viewer), msg), *table)


# -- team review panel ---------------------------------------------------------------------------------------------
def team_panel(store, dataset, annotator="", request: gr.Request = None):
    """K, the guidelines (editor and rendered), the settings revision, progress, agreement, the disagreement queue
    (leads only: it shows verdicts) and the teacher-error headline."""
    empty = pd.DataFrame([], columns=view.DISAGREEMENT_HEADERS)
    if not dataset:
        return 1, "", 0, "", "", "", empty, ""
    viewer = _viewer(request, annotator)
    settings = store.settings(dataset)
    found = team.items(store, dataset)
    kappa = agreement.kappa_summary(found)
    reference = agreement.reference_agreement(found)
    lead = team.is_lead(settings, viewer)
    rows = view.disagreement_rows(agreement.disagreements(found, settings["reviews_needed"])) if lead else []
    guidelines = settings["guidelines"] or "*No annotation guidelines yet: the dataset's owner can write them in " \
                                           "Team review.*"
    return (settings["reviews_needed"], settings["guidelines"], settings["revision"],
            guidelines if not settings["guidelines"] else view.safe_markdown(settings["guidelines"]),
            _progress(store, dataset), view.agreement_html(kappa, reference, agreement.step_agreement(found)),
            pd.DataFrame(rows, columns=view.DISAGREEMENT_HEADERS), view.teacher_error_markdown(
                agreement.teacher_error(found)))


def _left(store, dataset: str, name: str) -> str:
    n = len(store.review_queue(dataset, name, limit=QUEUE_COUNT_CAP))
    return f"{QUEUE_COUNT_CAP}+" if n >= QUEUE_COUNT_CAP else str(n)


def _progress(store, dataset: str) -> str:
    progress = store.review_progress(dataset)
    return view.progress_html(progress, {name: _left(store, dataset, name) for name in progress["by_annotator"]})


def team_progress(store, dataset):
    """After a submit: the progress only (cheap); agreement and the headline are redrawn on ↻ Agreement."""
    return _progress(store, dataset) if dataset else ""


def save_settings(store, dataset, reviews_needed, guidelines, settings_revision, annotator,
                  request: gr.Request = None):
    viewer = _viewer(request, annotator)
    saved = team.save_settings(store, dataset, viewer, expected_revision=settings_revision,
                               reviews_needed=reviews_needed, guidelines=guidelines)
    _toast(f"Saved the annotation settings of {dataset} (K = {saved['reviews_needed']}).")
    return team_panel(store, dataset, annotator, request)


def open_disagreement(store, annotator="", evt: gr.SelectData = None, request: gr.Request = None):
    return select_row(store, annotator, evt, request)


def edited(critique, original):
    return review.verdict_of(critique), view.suggestion_diff_html(original, critique)


def verdict_picked(verdict_choice, critique, original):
    new = review.with_verdict(critique, verdict_choice)
    return new, view.suggestion_diff_html(original, new)


def import_file(store, file, into_dataset, import_format, skip_bad):
    """Errors go to the message area (never an error badge over the Dataset dropdown, which would block it)."""
    try:
        msg = import_upload(store, file, into_dataset, import_format, skip_bad=skip_bad)
    except Exception as exc:  # noqa: BLE001 - shown the safe way (pages.common), in the message area
        return f"❌ **Not imported.** {esc(_to_gradio('import_file', exc).message)}", gr.skip()
    names = review.dataset_names(store)
    chosen = into_dataset if into_dataset in names else (names[0] if names else None)
    return msg, gr.update(choices=names, value=chosen)


def export(store, export_format, reviewed_only, dataset, status, verdict, flag, source, search, order):
    filters = filters_of(dataset, status, verdict, flag, source, search, order)
    return str(review.export(store, filters, export_format, reviewed_only=reviewed_only))
