"""Data tab: browse, search, edit and review critique samples, alone or as a team (K reviews per sample, blind
review, queues, guidelines, progress, agreement and adjudication: the "Team review" panel and the editor).

The table is read-only and sits beside the editor, so that a selected row opens in view on a 1366x768 screen.

``build()`` lays out the widgets and wires them; ``handlers`` holds the callbacks (each takes the tab's store,
bound here), ``view`` renders the table and the editor, cft.data.review does the reviewing.

Stable elem_ids (the keyboard shortcuts in assets/shortcuts.js and the browser tests click them) and api_names
(the gradio_client tests call them) are part of this tab's interface.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from cft.data import review, team
from cft.data.samples import STATUSES, VERDICTS
from cft.data.store import Store
from pages import guide
from pages.common import bound, user_errors
from pages.data import handlers as h
from pages.data import view
from pages.render import LATEX_DELIMITERS

SHORTCUTS = (
    "**Keys:** <kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit · <kbd>Ctrl</kbd>+<kbd>S</kbd> save draft · "
    "<kbd>Alt</kbd>+<kbd>→</kbd> next · <kbd>Alt</kbd>+<kbd>←</kbd> previous · <kbd>Alt</kbd>+<kbd>Q</kbd> next in my "
    "queue"
)


def build() -> dict:
    store = Store()
    names = review.dataset_names(store)
    first = names[0] if names else None

    # The first-run path: on a workspace without datasets, a welcome with the one button that fills it.
    with gr.Row(visible=not names, elem_id="data-first-run") as first_run:
        welcome = gr.Markdown(guide.data_hint(), elem_id="data-hint")
        load_sample = gr.Button("Load the sample data", variant="primary", elem_id="data-load-sample", scale=0,
                                min_width=200)
    start_message = gr.Markdown(elem_id="data-start-message")
    with gr.Row(elem_classes="cft-toolbar"):
        dataset = gr.Dropdown(names, value=first, label="Dataset", elem_id="data-dataset", scale=2)
        refresh = gr.Button("↻ Refresh", elem_id="data-refresh", size="sm", scale=0, min_width=90)
        annotator = gr.Textbox("", label="Your name (if not logged in)", placeholder=review.ANONYMOUS,
                               elem_id="data-annotator", scale=1)
        with gr.Column(scale=2, min_width=320):
            counts = gr.HTML(view.counts_html(store, first), elem_id="data-counts")
            teacher_error = gr.Markdown(elem_id="data-teacher-error")
    # The annotator's name, remembered by their browser between visits.
    remembered = gr.BrowserState("", storage_key="cft-annotator-name")

    with gr.Row(elem_classes="cft-filters"):
        status = gr.Dropdown(list(STATUSES), multiselect=True, label="Status", elem_id="data-filter-status", scale=2)
        verdict = gr.Dropdown(view.VERDICT_FILTERS, value=review.ALL, label="Verdict", elem_id="data-filter-verdict")
        flag = gr.Dropdown(view.FLAG_FILTERS, value=review.ALL, label="Flag", elem_id="data-filter-flag")
        source = gr.Dropdown([review.ALL, *review.sources(store, first)], value=review.ALL, label="Source",
                             allow_custom_value=True, elem_id="data-filter-source")
        search = gr.Textbox(label="Search", placeholder="words in the text",
                            elem_id="data-search", scale=2)
        order = gr.Dropdown(list(view.ORDERS), value="Flagged first", label="Order", elem_id="data-order")

    page0 = review.browse(store, review.Filters(first), 1) if first else review.Page([], 0, 1, 1)
    # The table (read-only) and the editor side by side: selecting a row opens it beside the table, in view on a
    # 1366x768 screen.
    with gr.Row(equal_height=False, elem_id="data-main"):
        with gr.Column(scale=2, min_width=360, elem_id="data-list"):
            table = gr.Dataframe(
                pd.DataFrame(view.table_rows(page0.samples), columns=view.TABLE_HEADERS), headers=view.TABLE_HEADERS,
                interactive=False, elem_id="data-table", max_height=440,
                column_widths=["9%", "43%", "11%", "12%", "13%", "12%"],
            )
            # Where the table is (its first and last rows' keys): next/previous/refresh page by key from here.
            position = gr.State(page0.position())
            with gr.Row(elem_classes="cft-pager"):
                first_page = gr.Button("«", elem_id="data-first-page", size="sm", scale=0, min_width=40)
                prev_page = gr.Button("‹ Page", elem_id="data-prev-page", size="sm", scale=0, min_width=70)
                page = gr.Number(value=1, label="Page", precision=0, minimum=1, elem_id="data-page", scale=0,
                                 min_width=70)
                next_page = gr.Button("Page ›", elem_id="data-next-page", size="sm", scale=0, min_width=70)
                last_page = gr.Button("»", elem_id="data-last-page", size="sm", scale=0, min_width=40)
            page_label = gr.Markdown(view.page_label(page0), elem_id="data-page-label")
            with gr.Row(elem_classes="cft-pager"):
                goto = gr.Number(None, label="Open id", precision=0, elem_id="data-goto", scale=0, min_width=100)
                open_btn = gr.Button("Open", elem_id="data-open", size="sm", scale=0, min_width=70)
                queue_btn = gr.Button("Next in my queue · Alt+Q", elem_id="data-next-queue", variant="primary",
                                      size="sm", scale=0, min_width=160)

        # -- editor -----------------------------------------------------------------------------------------------
        with gr.Column(scale=3, elem_id="data-editor-column"):
            header = gr.Markdown(view.empty_view().header, elem_id="data-editor-header")
            sample_id = gr.Number(visible=False, precision=0, elem_id="data-sample-id")
            revision = gr.Number(value=0, visible=False, precision=0, elem_id="data-revision")
            review_rev = gr.Number(value=0, visible=False, precision=0, elem_id="data-review-revision")
            with gr.Row(equal_height=False, elem_id="data-editor"):
                with gr.Column(scale=1, elem_classes="cft-pane"):
                    gr.Markdown("##### Question")
                    question = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="data-question",
                                           max_height=160, container=True)
                    gr.Markdown("##### Noisy response")
                    response = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="data-response",
                                           max_height=360, container=True)
                    reference = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="data-reference")
                with gr.Column(scale=1, elem_classes="cft-pane"):
                    message = gr.Markdown(elem_id="data-message")
                    verdict_radio = gr.Radio(list(VERDICTS), value="unknown", label="Verdict (the conclusion line)",
                                             elem_id="data-verdict")
                    with gr.Row(elem_classes="cft-actions"):
                        submit = gr.Button("Submit · Ctrl+Enter", variant="primary", elem_id="data-submit", size="sm",
                                           min_width=80)
                        draft = gr.Button("Draft · Ctrl+S", elem_id="data-save-draft", size="sm", min_width=80)
                        discard = gr.Button("Discard", variant="stop", elem_id="data-discard", size="sm",
                                            min_width=60)
                    critique = gr.Textbox(label="Critique (editable)", lines=9, max_lines=24,
                                          elem_id="data-critique")
                    step = gr.Dropdown([("not labelled", team.NOT_LABELLED)], value=team.NOT_LABELLED,
                                       label="First wrong step of the response",
                                       elem_id="data-step")
                    with gr.Row(elem_classes="cft-actions"):
                        prev_btn = gr.Button("← Previous · Alt+←", elem_id="data-prev", size="sm")
                        next_btn = gr.Button("Next · Alt+→", elem_id="data-next", size="sm")
                        advance = gr.Checkbox(label="Next after submit", value=True, elem_id="data-advance")
                    reviews = gr.HTML(elem_id="data-reviews")
                    flags = gr.HTML(elem_id="data-flags")
                    with gr.Accordion("Annotation guidelines", open=True, elem_id="data-guidelines-box"):
                        guidelines = gr.Markdown(elem_id="data-guidelines")
                    gr.Markdown(SHORTCUTS, elem_id="data-shortcuts")
                    conflict = gr.HTML(elem_id="data-conflict")
                    with gr.Row(elem_classes="cft-actions"):
                        reload_btn = gr.Button("Load latest", elem_id="data-reload", size="sm")
                        reset = gr.Button("Reset to teacher", elem_id="data-reset", size="sm")
                        adjudicate = gr.Button("Adjudicate (lead)", elem_id="data-adjudicate", size="sm")
                    with gr.Tabs():
                        with gr.Tab("Diff vs teacher", id="data-tab-diff"):
                            diff = gr.HTML(elem_id="data-diff")
                        with gr.Tab("Teacher's suggestion", id="data-tab-original"):
                            original = gr.Textbox(label="The teacher's original critique", lines=12, max_lines=28,
                                                  interactive=False, elem_id="data-original")
                        with gr.Tab("History", id="data-tab-history"):
                            history = gr.HTML(elem_id="data-history")
                            with gr.Row():
                                restore_rev = gr.Dropdown([], label="Revision", elem_id="data-restore-revision",
                                                          scale=1)
                                restore_btn = gr.Button("Restore this revision", elem_id="data-restore", scale=1)

    # Below the table and the editor, so that those fit on a 1366x768 screen.
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

    with gr.Accordion("Team review: reviews per sample, guidelines, progress, agreement", open=False,
                      elem_id="data-team"):
        with gr.Row():
            reviews_needed = gr.Number(1, label="Reviews needed per sample (K)", precision=0, minimum=1,
                                       maximum=20, elem_id="data-reviews-needed", scale=0, min_width=200)
            settings_rev = gr.Number(0, visible=False, precision=0, elem_id="data-settings-revision")
            guidelines_edit = gr.Textbox(label="Annotation guidelines (Markdown; the dataset's owner or an admin "
                                               "may edit them)", lines=4, max_lines=20, elem_id="data-guidelines-edit",
                                         scale=3)
            save_settings = gr.Button("Save settings", elem_id="data-save-settings", scale=0, min_width=120)
        progress = gr.HTML(elem_id="data-progress")
        with gr.Row():
            gr.Markdown("##### Agreement")
            agreement_refresh = gr.Button("↻ Agreement", elem_id="data-agreement-refresh", size="sm", scale=0,
                                          min_width=110)
        agreement_panel = gr.HTML(elem_id="data-agreement")
        gr.Markdown("##### Disagreements to adjudicate (owner and admins): select one, then **Adjudicate**")
        disagreements = gr.Dataframe(pd.DataFrame([], columns=view.DISAGREEMENT_HEADERS),
                                     headers=view.DISAGREEMENT_HEADERS, interactive=False,
                                     elem_id="data-disagreements", max_height=240)

    filters_in = [dataset, status, verdict, flag, source, search, order]
    browse_in = [*filters_in, page, position]
    table_out = [table, page_label, page, counts, position]
    editor_out = [sample_id, revision, header, question, response, reference, flags, critique, verdict_radio,
                  original, diff, history, restore_rev, message, conflict, step, reviews, review_rev]
    save_in = [sample_id, revision, critique, annotator, advance, *filters_in, page, position, step, review_rev]
    team_out = [reviews_needed, guidelines_edit, settings_rev, guidelines, progress, agreement_panel, disagreements,
                teacher_error]

    def on(fn, *args):
        return user_errors(bound(fn, store, *args))

    # -- wiring ---------------------------------------------------------------------------------------------------
    gr.on(None, on(h.load), [], [dataset, *table_out], api_visibility="private").then(
        on(h.team_panel), [dataset, annotator], team_out, api_visibility="private")
    root = gr.context.Context.root_block
    if root is not None:  # fill in the name this browser remembers (page load only: never while typing)
        root.load(lambda name: name or gr.skip(), remembered, annotator, api_visibility="private")
    annotator.change(lambda name: name, annotator, remembered, api_visibility="private", show_progress="hidden")
    refresh.click(on(h.refresh), browse_in, [dataset, *table_out], api_name="data_browse").then(
        on(h.team_panel), [dataset, annotator], team_out, api_visibility="private")
    page.submit(on(h.jump_page), [*filters_in, page], table_out, api_visibility="private")
    for comp in (status, verdict, flag, source, order):
        comp.input(on(h.first_page), filters_in, table_out, api_visibility="private")
    search.submit(on(h.first_page), filters_in, table_out, api_name="data_search")
    dataset.change(on(h.dataset_changed), dataset, [source, import_dataset, *editor_out],
                   api_visibility="private").then(
        on(h.first_page), filters_in, table_out, api_visibility="private").then(
        on(h.team_panel), [dataset, annotator], team_out, api_visibility="private")
    for button, move in ((first_page, "first"), (prev_page, "prev"), (next_page, "next"), (last_page, "last")):
        button.click(on(h.step_page, move), browse_in, table_out, api_visibility="private")

    table.select(on(h.select_row), annotator, editor_out, api_visibility="private")
    disagreements.select(on(h.open_disagreement), annotator, editor_out, api_visibility="private")
    open_btn.click(on(h.open_editor), [goto, annotator, dataset], editor_out, api_name="data_open")
    reload_btn.click(on(h.open_editor), [sample_id, annotator, dataset], editor_out, api_name="data_reload")
    queue_btn.click(on(h.next_in_queue), [dataset, sample_id, annotator], editor_out, api_name="data_next_in_queue")
    save_settings.click(on(h.save_settings), [dataset, reviews_needed, guidelines_edit, settings_rev, annotator],
                        team_out, api_name="data_save_settings")
    agreement_refresh.click(on(h.team_panel), [dataset, annotator], team_out, api_name="data_team")
    adjudicate.click(on(h.adjudicate), [sample_id, revision, critique, step, annotator, *filters_in, page, position],
                     editor_out + table_out, api_name="data_adjudicate").then(
        on(h.team_panel), [dataset, annotator], team_out, api_visibility="private")

    submit.click(on(h.save_as, "reviewed"), save_in, editor_out + table_out, api_name="data_submit").then(
        on(h.team_progress), dataset, progress, api_visibility="private", show_progress="hidden")
    draft.click(on(h.save_as, "draft"), save_in, editor_out + table_out, api_name="data_save_draft")
    discard.click(on(h.save_as, "discarded"), save_in, editor_out + table_out, api_name="data_discard")
    reset.click(view.reset_to_suggestion, [original, critique], [critique, verdict_radio, diff, message],
                api_name="data_reset")
    critique.input(h.edited, [critique, original], [verdict_radio, diff], api_name="data_edit",
                   trigger_mode="always_last", show_progress="hidden")
    verdict_radio.input(h.verdict_picked, [verdict_radio, critique, original], [critique, diff],
                        api_name="data_set_verdict")
    prev_btn.click(on(h.move, -1), [sample_id, *filters_in, annotator], editor_out, api_name="data_prev")
    next_btn.click(on(h.move, +1), [sample_id, *filters_in, annotator], editor_out, api_name="data_next")
    restore_btn.click(on(h.restore_revision), [sample_id, restore_rev, revision, annotator, *filters_in, page,
                                               position], editor_out + table_out, api_name="data_restore")
    import_btn.click(on(h.import_file), [upload, import_dataset, import_fmt, skip_bad], [import_msg, dataset],
                     api_name="data_import")
    load_sample.click(user_errors(guide.load_sample_data), None, [start_message, dataset, welcome, first_run],
                      api_name="load_sample_data")
    export_btn.click(on(h.export), [export_fmt, reviewed_only, *filters_in], export_file, api_name="data_export")

    on_show = [(guide.first_run_view, None, [welcome, first_run]), (guide.dataset_choices, dataset, dataset)]
    return {"dataset": dataset, "table": table, "critique": critique, "submit": submit, "on_show": on_show}
