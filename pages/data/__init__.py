"""Data tab: browse, search, edit and review critique samples.

``build()`` lays out the widgets and wires them; ``handlers`` holds the callbacks (each takes the tab's store,
bound here), ``view`` renders the table and the editor, cft.data.review does the reviewing.

Stable elem_ids (the keyboard shortcuts in assets/shortcuts.js and the browser tests click them) and api_names
(the gradio_client tests call them) are part of this tab's interface.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from cft.data import review
from cft.data.samples import STATUSES, VERDICTS
from cft.data.store import Store
from pages.common import bound, user_errors
from pages.data import handlers as h
from pages.data import view
from pages.render import LATEX_DELIMITERS

SHORTCUTS = (
    "**Keys:** <kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit · <kbd>Ctrl</kbd>+<kbd>S</kbd> save draft · "
    "<kbd>Alt</kbd>+<kbd>→</kbd> next · <kbd>Alt</kbd>+<kbd>←</kbd> previous"
)


def build() -> dict:
    store = Store()
    names = review.dataset_names(store)
    first = names[0] if names else None

    with gr.Row(elem_classes="cft-toolbar"):
        dataset = gr.Dropdown(names, value=first, label="Dataset", elem_id="data-dataset", scale=2)
        refresh = gr.Button("↻ Refresh", elem_id="data-refresh", size="sm", scale=0, min_width=90)
        annotator = gr.Textbox(label="Your name (when not logged in)", placeholder=review.ANONYMOUS,
                               elem_id="data-annotator", scale=1)
        counts = gr.HTML(view.counts_html(store, first), elem_id="data-counts")

    with gr.Accordion("Import / export", open=False, elem_id="data-io"):
        with gr.Row():
            upload = gr.File(label="Import a file (JSONL, JSON, CSV, Parquet; alpaca or messages)",
                             elem_id="data-upload", scale=2)
            with gr.Column(scale=1):
                import_dataset = gr.Textbox(label="Into dataset", value=first or "", elem_id="data-import-dataset")
                import_fmt = gr.Dropdown(h.import_formats(), value="auto", label="Format", elem_id="data-import-format")
                skip_bad = gr.Checkbox(label="Skip bad rows", value=False, elem_id="data-import-skip-bad")
                import_btn = gr.Button("Import", elem_id="data-import", variant="secondary")
            with gr.Column(scale=1):
                export_fmt = gr.Dropdown(list(review.EXPORT_FORMATS), value="messages", label="Export format",
                                         elem_id="data-export-format")
                reviewed_only = gr.Checkbox(label="Reviewed samples only (else: the current filter)", value=True,
                                            elem_id="data-export-reviewed")
                export_btn = gr.Button("Export", elem_id="data-export")
        import_msg = gr.Markdown(elem_id="data-import-message")
        export_file = gr.File(label="Download", elem_id="data-export-file", interactive=False)

    with gr.Row(elem_classes="cft-filters"):
        status = gr.Dropdown(list(STATUSES), multiselect=True, label="Status", elem_id="data-filter-status", scale=2)
        verdict = gr.Dropdown(view.VERDICT_FILTERS, value=review.ALL, label="Verdict", elem_id="data-filter-verdict")
        flag = gr.Dropdown(view.FLAG_FILTERS, value=review.ALL, label="Flag", elem_id="data-filter-flag")
        source = gr.Dropdown([review.ALL, *review.sources(store, first)], value=review.ALL, label="Source",
                             allow_custom_value=True, elem_id="data-filter-source")
        search = gr.Textbox(label="Search", placeholder="words in question, response or critique",
                            elem_id="data-search", scale=2)
        order = gr.Dropdown(list(view.ORDERS), value="Flagged first", label="Order", elem_id="data-order")

    page0 = review.browse(store, review.Filters(first), 1) if first else review.Page([], 0, 1, 1)
    table = gr.Dataframe(
        pd.DataFrame(view.table_rows(page0.samples), columns=view.TABLE_HEADERS), headers=view.TABLE_HEADERS, interactive=False,
        elem_id="data-table", max_height=420, column_widths=["6%", "46%", "9%", "10%", "19%", "10%"],
    )
    # Where the table is (its first and last rows' keys): next/previous/refresh page by key from here.
    position = gr.State(page0.position())
    with gr.Row(elem_classes="cft-pager"):
        first_page = gr.Button("« First", elem_id="data-first-page", size="sm", scale=0, min_width=70)
        prev_page = gr.Button("‹ Page", elem_id="data-prev-page", size="sm", scale=0, min_width=80)
        page = gr.Number(value=1, label="Page", precision=0, minimum=1, elem_id="data-page", scale=0, min_width=90)
        next_page = gr.Button("Page ›", elem_id="data-next-page", size="sm", scale=0, min_width=80)
        last_page = gr.Button("Last »", elem_id="data-last-page", size="sm", scale=0, min_width=70)
        page_label = gr.Markdown(view.page_label(page0), elem_id="data-page-label")
        goto = gr.Number(None, label="Open id", precision=0, elem_id="data-goto", scale=0, min_width=100)
        open_btn = gr.Button("Open", elem_id="data-open", size="sm", scale=0, min_width=70)

    # -- editor ---------------------------------------------------------------------------------------------------
    header = gr.Markdown(view.empty_view().header, elem_id="data-editor-header")
    sample_id = gr.Number(visible=False, precision=0, elem_id="data-sample-id")
    revision = gr.Number(value=0, visible=False, precision=0, elem_id="data-revision")
    with gr.Row(equal_height=False, elem_id="data-editor"):
        with gr.Column(scale=1, elem_classes="cft-pane"):
            gr.Markdown("##### Question")
            question = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="data-question", max_height=220,
                                   container=True)
            gr.Markdown("##### Noisy response")
            response = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="data-response", max_height=520,
                                   container=True)
            reference = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="data-reference")
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
    browse_in = [*filters_in, page, position]
    table_out = [table, page_label, page, counts, position]
    editor_out = [sample_id, revision, header, question, response, reference, flags, critique, verdict_radio,
                  original, diff, history, restore_rev, message, conflict]
    save_in = [sample_id, revision, critique, annotator, advance, *filters_in, page, position]

    def on(fn, *args):
        return user_errors(bound(fn, store, *args))

    # -- wiring ---------------------------------------------------------------------------------------------------
    gr.on(None, on(h.load), [], [dataset, *table_out], api_visibility="private")
    refresh.click(on(h.refresh), browse_in, [dataset, *table_out], api_name="data_browse")
    page.submit(on(h.jump_page), [*filters_in, page], table_out, api_visibility="private")
    for comp in (status, verdict, flag, source, order):
        comp.input(on(h.first_page), filters_in, table_out, api_visibility="private")
    search.submit(on(h.first_page), filters_in, table_out, api_name="data_search")
    dataset.change(on(h.dataset_changed), dataset, [source, import_dataset], api_visibility="private").then(
        on(h.first_page), filters_in, table_out, api_visibility="private")
    for button, move in ((first_page, "first"), (prev_page, "prev"), (next_page, "next"), (last_page, "last")):
        button.click(on(h.step_page, move), browse_in, table_out, api_visibility="private")

    table.select(on(h.select_row), None, editor_out, api_visibility="private")
    open_btn.click(on(h.open_editor), goto, editor_out, api_name="data_open")
    reload_btn.click(on(h.open_editor), sample_id, editor_out, api_name="data_reload")

    submit.click(on(h.save_as, "reviewed"), save_in, editor_out + table_out, api_name="data_submit")
    draft.click(on(h.save_as, "draft"), save_in, editor_out + table_out, api_name="data_save_draft")
    discard.click(on(h.save_as, "discarded"), save_in, editor_out + table_out, api_name="data_discard")
    reset.click(view.reset_to_suggestion, [original, critique], [critique, verdict_radio, diff, message],
                api_name="data_reset")
    critique.input(h.edited, [critique, original], [verdict_radio, diff], api_name="data_edit",
                   trigger_mode="always_last", show_progress="hidden")
    verdict_radio.input(h.verdict_picked, [verdict_radio, critique, original], [critique, diff],
                        api_name="data_set_verdict")
    prev_btn.click(on(h.move, -1), [sample_id, *filters_in], editor_out, api_name="data_prev")
    next_btn.click(on(h.move, +1), [sample_id, *filters_in], editor_out, api_name="data_next")
    restore_btn.click(on(h.restore_revision), [sample_id, restore_rev, revision, annotator, *filters_in, page,
                                               position], editor_out + table_out, api_name="data_restore")
    import_btn.click(on(h.import_file), [upload, import_dataset, import_fmt, skip_bad], [import_msg, dataset],
                     api_name="data_import")
    export_btn.click(on(h.export), [export_fmt, reviewed_only, *filters_in], export_file, api_name="data_export")

    return {"dataset": dataset, "table": table, "critique": critique, "submit": submit}
