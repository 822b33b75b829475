"""Data tab: browse, search, edit and review critique samples. Widgets and wiring only; logic is cft.annotate.

Stable elem_ids (the keyboard shortcuts in assets/shortcuts.js and the browser tests click them) and api_names
(the gradio_client tests call them) are part of this tab's interface.
"""

from __future__ import annotations

import functools

import gradio as gr
import pandas as pd

from cft import annotate as an
from cft.data.samples import STATUSES, VERDICTS
from cft.data.store import Store
from pages.common import user_errors

SHORTCUTS = (
    "**Keys:** <kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit · <kbd>Ctrl</kbd>+<kbd>S</kbd> save draft · "
    "<kbd>Alt</kbd>+<kbd>→</kbd> next · <kbd>Alt</kbd>+<kbd>←</kbd> previous"
)


def _table(page: an.Page):
    return pd.DataFrame(page.rows, columns=an.TABLE_HEADERS), page.label, page.page


def build() -> dict:
    store = Store()
    names = an.dataset_names(store)
    first = names[0] if names else None

    with gr.Row(elem_classes="cft-toolbar"):
        dataset = gr.Dropdown(names, value=first, label="Dataset", elem_id="data-dataset", scale=2)
        refresh = gr.Button("↻ Refresh", elem_id="data-refresh", size="sm", scale=0, min_width=90)
        annotator = gr.Textbox(label="Your name (when not logged in)", placeholder=an.ANONYMOUS,
                               elem_id="data-annotator", scale=1)
        counts = gr.HTML(an.counts_html(store, first), elem_id="data-counts")

    with gr.Accordion("Import / export", open=False, elem_id="data-io"):
        with gr.Row():
            upload = gr.File(label="Import a file (JSONL, JSON, CSV, Parquet; alpaca or messages)",
                             elem_id="data-upload", scale=2)
            with gr.Column(scale=1):
                import_dataset = gr.Textbox(label="Into dataset", value=first or "", elem_id="data-import-dataset")
                import_fmt = gr.Dropdown(an.import_formats(), value="auto", label="Format", elem_id="data-import-format")
                skip_bad = gr.Checkbox(label="Skip bad rows", value=False, elem_id="data-import-skip-bad")
                import_btn = gr.Button("Import", elem_id="data-import", variant="secondary")
            with gr.Column(scale=1):
                export_fmt = gr.Dropdown(list(an.EXPORT_FORMATS), value="messages", label="Export format",
                                         elem_id="data-export-format")
                reviewed_only = gr.Checkbox(label="Reviewed samples only (else: the current filter)", value=True,
                                            elem_id="data-export-reviewed")
                export_btn = gr.Button("Export", elem_id="data-export")
        import_msg = gr.Markdown(elem_id="data-import-message")
        export_file = gr.File(label="Download", elem_id="data-export-file", interactive=False)

    with gr.Row(elem_classes="cft-filters"):
        status = gr.Dropdown(list(STATUSES), multiselect=True, label="Status", elem_id="data-filter-status", scale=2)
        verdict = gr.Dropdown(an.VERDICT_FILTERS, value=an.ALL, label="Verdict", elem_id="data-filter-verdict")
        flag = gr.Dropdown(an.FLAG_FILTERS, value=an.ALL, label="Flag", elem_id="data-filter-flag")
        source = gr.Dropdown([an.ALL, *an.sources(store, first)], value=an.ALL, label="Source",
                             allow_custom_value=True, elem_id="data-filter-source")
        search = gr.Textbox(label="Search", placeholder="words in question, response or critique",
                            elem_id="data-search", scale=2)
        order = gr.Dropdown(list(an.ORDERS), value="Flagged first", label="Order", elem_id="data-order")

    page0 = an.browse(store, an.Filters(first), 1) if first else an.Page([], 0, 1, 1)
    table = gr.Dataframe(
        pd.DataFrame(page0.rows, columns=an.TABLE_HEADERS), headers=an.TABLE_HEADERS, interactive=False,
        elem_id="data-table", max_height=420, column_widths=["6%", "46%", "9%", "10%", "19%", "10%"],
    )
    with gr.Row(elem_classes="cft-pager"):
        prev_page = gr.Button("‹ Page", elem_id="data-prev-page", size="sm", scale=0, min_width=80)
        page = gr.Number(value=1, label="Page", precision=0, minimum=1, elem_id="data-page", scale=0, min_width=90)
        next_page = gr.Button("Page ›", elem_id="data-next-page", size="sm", scale=0, min_width=80)
        page_label = gr.Markdown(page0.label, elem_id="data-page-label")
        goto = gr.Number(None, label="Open id", precision=0, elem_id="data-goto", scale=0, min_width=100)
        open_btn = gr.Button("Open", elem_id="data-open", size="sm", scale=0, min_width=70)

    # -- editor ---------------------------------------------------------------------------------------------------
    header = gr.Markdown(an.empty_view().header, elem_id="data-editor-header")
    sample_id = gr.Number(visible=False, precision=0, elem_id="data-sample-id")
    revision = gr.Number(value=0, visible=False, precision=0, elem_id="data-revision")
    with gr.Row(equal_height=False, elem_id="data-editor"):
        with gr.Column(scale=1, elem_classes="cft-pane"):
            gr.Markdown("##### Question")
            question = gr.Markdown(latex_delimiters=an.LATEX_DELIMITERS, elem_id="data-question", max_height=220,
                                   container=True)
            gr.Markdown("##### Noisy response")
            response = gr.Markdown(latex_delimiters=an.LATEX_DELIMITERS, elem_id="data-response", max_height=520,
                                   container=True)
            reference = gr.Markdown(latex_delimiters=an.LATEX_DELIMITERS, elem_id="data-reference")
        with gr.Column(scale=1, elem_classes="cft-pane"):
            flags = gr.HTML(elem_id="data-flags")
            verdict_radio = gr.Radio(list(VERDICTS), value="unknown", label="Verdict (the conclusion line)",
                                     elem_id="data-verdict")
            critique = gr.Textbox(label="Critique (editable)", lines=14, max_lines=28, elem_id="data-critique")
            with gr.Row(elem_classes="cft-actions"):
                submit = gr.Button("Submit · Ctrl+Enter", variant="primary", elem_id="data-submit")
                draft = gr.Button("Save draft · Ctrl+S", elem_id="data-save-draft")
                discard = gr.Button("Discard", variant="stop", elem_id="data-discard")
                reset = gr.Button("Reset to teacher", elem_id="data-reset")
            with gr.Row(elem_classes="cft-actions"):
                prev_btn = gr.Button("← Previous · Alt+←", elem_id="data-prev", size="sm")
                next_btn = gr.Button("Next · Alt+→ →", elem_id="data-next", size="sm")
                advance = gr.Checkbox(label="Next after submit", value=True, elem_id="data-advance")
            gr.Markdown(SHORTCUTS, elem_id="data-shortcuts")
            message = gr.Markdown(elem_id="data-message")
            conflict = gr.HTML(elem_id="data-conflict")
            reload_btn = gr.Button("Load latest", elem_id="data-reload", size="sm")
            with gr.Tabs():
                with gr.Tab("Diff vs teacher", id="data-tab-diff"):
                    diff = gr.HTML(elem_id="data-diff")
                with gr.Tab("Teacher's suggestion", id="data-tab-original"):
                    original = gr.Textbox(label="The teacher's original critique", lines=12, max_lines=28,
                                          interactive=False, elem_id="data-original")
                with gr.Tab("History", id="data-tab-history"):
                    history = gr.HTML(elem_id="data-history")
                    with gr.Row():
                        restore_rev = gr.Dropdown([], label="Revision", elem_id="data-restore-revision", scale=1)
                        restore_btn = gr.Button("Restore this revision", elem_id="data-restore", scale=1)

    filters_in = [dataset, status, verdict, flag, source, search, order]
    table_out = [table, page_label, page, counts]
    editor_out = [sample_id, revision, header, question, response, reference, flags, critique, verdict_radio,
                  original, diff, history, restore_rev, message, conflict]

    def filters_of(dataset, status, verdict, flag, source, search, order) -> an.Filters:
        return an.Filters(dataset, status, verdict, flag, source, search or "", order)

    def table_values(dataset, status, verdict, flag, source, search, order, page):
        filters = filters_of(dataset, status, verdict, flag, source, search, order)
        return (*_table(an.browse(store, filters, page)), an.counts_html(store, dataset))

    def editor_values(view: an.EditorView, msg: str = "", conflict_html: str = ""):
        values = list(view.values())
        return (*values, gr.update(choices=view.revisions, value=None), msg, conflict_html)

    @user_errors
    def do_load():
        # Datasets imported since the app started (CLI, Generate tab) appear on every page load.
        names = an.dataset_names(store)
        dataset = names[0] if names else None
        table = table_values(dataset, None, an.ALL, an.ALL, an.ALL, "", "Flagged first", 1)
        return (gr.update(choices=names, value=dataset), *table)

    @user_errors
    def do_refresh(dataset, status, verdict, flag, source, search, order, page):
        names = an.dataset_names(store)
        return (gr.update(choices=names), *table_values(dataset, status, verdict, flag, source, search, order, page))

    @user_errors
    def do_browse(dataset, status, verdict, flag, source, search, order, page):
        return table_values(dataset, status, verdict, flag, source, search, order, page)

    @user_errors
    def do_first_page(dataset, status, verdict, flag, source, search, order):
        return table_values(dataset, status, verdict, flag, source, search, order, 1)

    @user_errors
    def do_step_page(step, dataset, status, verdict, flag, source, search, order, page):
        return table_values(dataset, status, verdict, flag, source, search, order, int(page or 1) + step)

    @user_errors
    def do_open(sample_id):
        return editor_values(an.open_sample(store, sample_id))

    def do_select(evt: gr.SelectData):
        row = evt.row_value or []
        return do_open(row[0] if row else None)

    @user_errors
    def do_dataset(dataset):
        srcs = an.sources(store, dataset)
        return gr.update(choices=[an.ALL, *srcs], value=an.ALL), gr.update(value=dataset or "")

    def who(request: gr.Request | None, annotator: str) -> str:
        return an.annotator_name(getattr(request, "username", None), annotator)

    def save_with(status_value: str):
        @user_errors
        def handler(sample_id, revision, critique, annotator, advance,
                    dataset, status, verdict, flag, source, search, order, page, request: gr.Request):
            outcome = an.save(store, sample_id, critique, status=status_value, expected_revision=revision,
                              annotator=who(request, annotator))
            table_vals = table_values(dataset, status, verdict, flag, source, search, order, page)
            if not outcome.ok:
                # Keep the annotator's critique and loaded revision; show the other version beside it.
                keep = [gr.skip()] * (len(editor_out) - 2)
                return (*keep, outcome.message, outcome.conflict, *table_vals)
            msg = outcome.message
            view = an.view_of(store, outcome.sample)
            if status_value == "reviewed" and advance:
                filters = filters_of(dataset, status, verdict, flag, source, search, order)
                nxt = an.neighbor(store, filters, outcome.sample.id, +1)
                if nxt is not None:
                    view = an.open_sample(store, nxt)
                    msg += f" Opened #{nxt}."
            return (*editor_values(view, msg), *table_vals)

        return handler

    @user_errors
    def do_move(step, sample_id, dataset, status, verdict, flag, source, search, order):
        nxt = an.neighbor(store, filters_of(dataset, status, verdict, flag, source, search, order), sample_id, step)
        if nxt is None:
            return (*[gr.skip()] * (len(editor_out) - 2), "No more samples in this filter.", gr.skip())
        return editor_values(an.open_sample(store, nxt))

    @user_errors
    def do_restore(sample_id, restore_revision, revision, annotator,
                   dataset, status, verdict, flag, source, search, order, page, request: gr.Request):
        outcome = an.restore(store, sample_id, restore_revision, expected_revision=revision,
                             annotator=who(request, annotator))
        table_vals = table_values(dataset, status, verdict, flag, source, search, order, page)
        if not outcome.ok:
            return (*[gr.skip()] * (len(editor_out) - 2), outcome.message, outcome.conflict, *table_vals)
        return (*editor_values(an.view_of(store, outcome.sample), outcome.message), *table_vals)

    def do_reset(original, critique):
        return an.reset_to_suggestion(original, critique)

    def do_edit(critique, original):
        return an.verdict_of(critique), an.suggestion_diff_html(original, critique)

    def do_radio(verdict_choice, critique, original):
        new = an.with_verdict(critique, verdict_choice)
        return new, an.suggestion_diff_html(original, new)

    @user_errors
    def do_import(file, into_dataset, import_format, skip_bad):
        msg = an.import_upload(store, file, into_dataset, import_format, skip_bad=skip_bad)
        names = an.dataset_names(store)
        chosen = into_dataset if into_dataset in names else (names[0] if names else None)
        return msg, gr.update(choices=names, value=chosen)

    @user_errors
    def do_export(export_format, reviewed_only, dataset, status, verdict, flag, source, search, order):
        filters = filters_of(dataset, status, verdict, flag, source, search, order)
        return str(an.export(store, filters, export_format, reviewed_only=reviewed_only))

    # -- wiring ---------------------------------------------------------------------------------------------------
    browse_in = [*filters_in, page]
    gr.on(None, do_load, [], [dataset, *table_out], api_visibility="private")
    refresh.click(do_refresh, browse_in, [dataset, *table_out], api_name="data_browse")
    page.submit(do_browse, browse_in, table_out, api_visibility="private")
    for comp in (status, verdict, flag, source, order):
        comp.input(do_first_page, filters_in, table_out, api_visibility="private")
    search.submit(do_first_page, filters_in, table_out, api_name="data_search")
    dataset.change(do_dataset, dataset, [source, import_dataset], api_visibility="private").then(
        do_first_page, filters_in, table_out, api_visibility="private")
    prev_page.click(functools.partial(do_step_page, -1), browse_in, table_out, api_visibility="private")
    next_page.click(functools.partial(do_step_page, +1), browse_in, table_out, api_visibility="private")

    table.select(do_select, None, editor_out, api_visibility="private")
    open_btn.click(do_open, goto, editor_out, api_name="data_open")
    reload_btn.click(do_open, sample_id, editor_out, api_name="data_reload")

    save_in = [sample_id, revision, critique, annotator, advance, *filters_in, page]
    submit.click(save_with("reviewed"), save_in, editor_out + table_out, api_name="data_submit")
    draft.click(save_with("draft"), save_in, editor_out + table_out, api_name="data_save_draft")
    discard.click(save_with("discarded"), save_in, editor_out + table_out, api_name="data_discard")
    reset.click(do_reset, [original, critique], [critique, verdict_radio, diff, message], api_name="data_reset")
    critique.input(do_edit, [critique, original], [verdict_radio, diff], api_name="data_edit",
                   trigger_mode="always_last", show_progress="hidden")
    verdict_radio.input(do_radio, [verdict_radio, critique, original], [critique, diff], api_name="data_set_verdict")
    prev_btn.click(functools.partial(do_move, -1), [sample_id, *filters_in], editor_out, api_name="data_prev")
    next_btn.click(functools.partial(do_move, +1), [sample_id, *filters_in], editor_out, api_name="data_next")
    restore_btn.click(do_restore, [sample_id, restore_rev, revision, annotator, *filters_in, page],
                      editor_out + table_out, api_name="data_restore")
    import_btn.click(do_import, [upload, import_dataset, import_fmt, skip_bad], [import_msg, dataset], api_name="data_import")
    export_btn.click(do_export, [export_fmt, reviewed_only, *filters_in], export_file, api_name="data_export")

    return {"dataset": dataset, "table": table, "critique": critique, "submit": submit}
