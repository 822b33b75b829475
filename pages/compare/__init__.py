"""Compare tab: base, SFT and CFT models side by side; the accuracy table; what CFT fixed and broke; votes.

``build()`` lays out the widgets and wires them; ``handlers`` holds the callbacks and ``view`` the tables and text.
"""

from __future__ import annotations

import gradio as gr

from cft.evaluate.selection import runs_with_checkpoints
from cft.evaluate.votes import SLOT_NAMES, VOTES
from pages.common import user_errors
from pages.compare import handlers, view
from pages.render import LATEX_DELIMITERS


def build() -> dict:
    labels = view.model_labels()
    benches = view.benchmark_names()
    evals = view.eval_names()
    md = dict(latex_delimiters=LATEX_DELIMITERS, sanitize_html=True)

    hint = gr.Markdown(visible=False, elem_id="cmp-hint")
    gr.Markdown("Answers stream side by side, the models stepped in turn. The paper's prompt, greedy decoding. "
                "A model on an OpenAI-compatible server: type `endpoint:MODEL@http://host:port/v1`.")
    with gr.Row():
        # Custom values: an endpoint model is typed, not listed.
        model_a = gr.Dropdown(labels, value=labels[0] if labels else None, label="Model A", elem_id="cmp-model-a",
                              allow_custom_value=True)
        model_b = gr.Dropdown([""] + labels, value="", label="Model B", elem_id="cmp-model-b", allow_custom_value=True)
        model_c = gr.Dropdown([""] + labels, value="", label="Model C (optional)", elem_id="cmp-model-c",
                              allow_custom_value=True)
        refresh = gr.Button("↻ Refresh lists", size="sm", scale=0)
    with gr.Row():
        bench = gr.Dropdown(benches, value="gsm8k" if "gsm8k" in benches else None, label="Benchmark", elem_id="cmp-bench",
                            allow_custom_value=True)  # a custom .jsonl benchmark path is a valid value
        pid = gr.Textbox(label="Problem id", elem_id="cmp-pid")
        open_id = gr.Button("Open id", size="sm")
        rand = gr.Button("Random", size="sm", elem_id="cmp-random")
    with gr.Row():
        dis_a = gr.Dropdown(evals, value=evals[0] if evals else None, label="Eval 1 (for disagreements)",
                            allow_custom_value=True)
        dis_b = gr.Dropdown(evals, value=evals[1] if len(evals) > 1 else None, label="Eval 2", allow_custom_value=True)
        disagree = gr.Button("Where the models disagree", size="sm")
    question = gr.Textbox(label="Question (pick one above or type your own)", lines=3, elem_id="cmp-question")
    with gr.Row():
        reference = gr.Textbox(label="Reference answer (optional for typed questions)", elem_id="cmp-reference")
        max_new = gr.Slider(1, 2048, value=512, step=1, label="max new tokens", elem_id="cmp-max-new")
    run = gr.Button("Answer side by side", variant="primary", elem_id="cmp-run")

    headers, answers, marks = [], [], []
    with gr.Row(equal_height=False):
        for i, slot in enumerate(SLOT_NAMES):
            with gr.Column(elem_classes=["cmp-slot"]):
                headers.append(gr.Markdown(view.slot_header(i, None), elem_id=f"cmp-head-{slot.lower()}"))
                answers.append(gr.Markdown("", elem_id=f"cmp-answer-{slot.lower()}", elem_classes=["cmp-answer"],
                                           max_height=520, **md))
                marks.append(gr.Markdown("", elem_id=f"cmp-mark-{slot.lower()}"))
    labels_state, problem_state, answers_state = gr.State([]), gr.State({}), gr.State([])
    with gr.Row():
        # "C better" only while slot C holds a model (model_c.change below).
        vote_buttons = [gr.Button(v, size="sm", elem_id=f"cmp-vote-{i}", visible=v != "C better")
                        for i, v in enumerate(VOTES)]
    vote_status = gr.Markdown(elem_id="cmp-vote-status")

    with gr.Accordion("Accuracy across evals", open=True):
        table = gr.Dataframe(view.aggregate_table(), headers=view.AGGREGATE_HEADERS, interactive=False,
                             elem_id="cmp-table")
        critic_tbl = gr.Dataframe(view.critic_table(), headers=view.CRITIC_HEADERS, interactive=False,
                                  label="Critic mode (can the model judge a solution?)")
        step_tbl = gr.Dataframe(view.step_table(), headers=view.STEP_HEADERS, interactive=False, elem_id="cmp-step-table",
                                label="Step-level critic (can it find the first wrong step? ProcessBench's scores)")
        refresh_tables = gr.Button("↻ Refresh tables", size="sm")
        with gr.Row():
            regrade_eval = gr.Dropdown(evals, value=None, label="Eval to re-grade with the current grader",
                                       allow_custom_value=True, elem_id="cmp-regrade-eval")
            regrade_btn = gr.Button("Re-grade", size="sm", elem_id="cmp-regrade")
        regrade_note = gr.Markdown(elem_id="cmp-regrade-note")

    with gr.Accordion("What CFT fixed and broke", open=False):
        with gr.Row():
            base_eval = gr.Dropdown(evals, value=evals[0] if evals else None, label="Baseline eval (base or SFT)",
                                    elem_id="cmp-base-eval", allow_custom_value=True)
            cft_eval = gr.Dropdown(evals, value=evals[1] if len(evals) > 1 else None, label="CFT eval",
                                   elem_id="cmp-cft-eval", allow_custom_value=True)
            diff_btn = gr.Button("Diff", size="sm", elem_id="cmp-diff")
        diff_note = gr.Markdown(elem_id="cmp-diff-note")
        fixed = gr.Dataframe(headers=view.DIFF_HEADERS, interactive=False, label="CFT fixed", elem_id="cmp-fixed")
        broke = gr.Dataframe(headers=view.DIFF_HEADERS, interactive=False, label="CFT broke", elem_id="cmp-broke")

    with gr.Accordion("Run an evaluation (background job)", open=False):
        with gr.Row():
            ev_model = gr.Dropdown(labels, value=labels[0] if labels else None, label="Model", allow_custom_value=True)
            ev_bench = gr.Dropdown(benches, value="gsm8k" if "gsm8k" in benches else None, label="Benchmark",
                                   allow_custom_value=True)
            ev_limit = gr.Number(value=100, precision=0, label="Problems (empty: all)")
            ev_tokens = gr.Number(value=1024, precision=0, label="max new tokens")
            ev_batch = gr.Number(value=8, precision=0, label="batch size")
        with gr.Row():
            ev_name = gr.Textbox(label="Name (same name resumes)")
            ev_critic = gr.Checkbox(label="Critic mode (CHAMP, or dataset:NAME as benchmark)")
            ev_steps = gr.Checkbox(label="Step level (with critic mode: find the first wrong step)",
                                   elem_id="cmp-ev-steps")
            ev_start = gr.Button("Start eval", variant="primary", size="sm")
            ev_stop = gr.Button("Stop", size="sm")
        with gr.Row():
            ev_endpoint = gr.Textbox("", label="Endpoint (optional: evaluate a model on an OpenAI-compatible server)",
                                     placeholder="http://127.0.0.1:8000/v1", elem_id="cmp-ev-endpoint")
            ev_endpoint_model = gr.Textbox("", label="Endpoint model (an adapter: its LoRA module name)",
                                           elem_id="cmp-ev-endpoint-model")
        with gr.Row():
            sel_run = gr.Dropdown(runs_with_checkpoints(), label="Run (pick its best checkpoint)",
                                  allow_custom_value=True)
            sel_bench = gr.Dropdown(benches, value="math500" if "math500" in benches else None,
                                    label="Validation benchmark (paper: MATH-500)", allow_custom_value=True)
            sel_limit = gr.Number(value=100, precision=0, label="Validation problems")
            sel_start = gr.Button("Select best checkpoint", size="sm")
        sel_best = gr.Markdown()
        ev_status = gr.Markdown(elem_id="cmp-ev-status")
        ev_jobs = gr.Dataframe(view.jobs_table(), headers=view.JOB_HEADERS, interactive=False)
    timer = gr.Timer(3.0)  # outside the accordion: a closed one's timer would not tick

    # ------------------------------------------------------------------------------------------ wiring
    problem_out = [bench, pid, question, reference]
    open_id.click(user_errors(handlers.open_problem), [bench, pid], problem_out, api_name="compare_open_id")
    pid.submit(user_errors(handlers.open_problem), [bench, pid], problem_out)
    rand.click(user_errors(handlers.random_problem), [bench], problem_out, api_name="compare_random")
    disagree.click(user_errors(handlers.disagreement), [dis_a, dis_b], problem_out, api_name="compare_disagree")

    run_inputs = [model_a, model_b, model_c, bench, pid, question, reference, max_new]
    run_outputs = [*headers, *answers, *marks, labels_state, problem_state, answers_state]
    run.click(user_errors(handlers.side_by_side_view), run_inputs, run_outputs, api_name="compare_run")

    for button, vote in zip(vote_buttons, VOTES):
        button.click(user_errors(handlers.voter(vote)), [labels_state, problem_state, answers_state], vote_status,
                     api_name="compare_vote_" + vote.replace(" ", "_"))

    # The lists take any value (allow_custom_value): one deleted while the page was open reaches the handler, which
    # names it (handlers.require_existing), instead of Gradio's "not in the list of choices".
    lists = [model_a, model_b, model_c, dis_a, dis_b, base_eval, cft_eval, ev_model, sel_run, regrade_eval]
    model_c.change(lambda label: gr.update(visible=bool(label)), model_c, vote_buttons[VOTES.index("C better")],
                   api_visibility="private", show_progress="hidden")
    refresh.click(handlers.choices, None, lists)
    refresh_tables.click(handlers.tables, None, [table, critic_tbl, step_tbl], api_name="compare_tables")
    regrade_btn.click(user_errors(handlers.regrade), [regrade_eval], [regrade_note], api_name="compare_regrade").then(
        handlers.tables, None, [table, critic_tbl, step_tbl])

    diff_btn.click(user_errors(handlers.diff), [base_eval, cft_eval], [fixed, broke, diff_note], api_name="compare_diff")
    for frame in (fixed, broke):
        frame.select(user_errors(handlers.open_row), [cft_eval, base_eval], [*problem_out, model_a, model_b]).success(
            user_errors(handlers.side_by_side_view), run_inputs, run_outputs)

    ev_start.click(user_errors(handlers.start_eval), [ev_model, ev_bench, ev_limit, ev_tokens, ev_batch, ev_name, ev_critic,
                                                      ev_endpoint, ev_endpoint_model, ev_steps],
                   ev_status, api_name="compare_start_eval")
    ev_stop.click(user_errors(handlers.stop_eval), [ev_name], ev_status)
    known_lists = gr.State(None)
    timer.tick(handlers.tick, known_lists, [ev_jobs, known_lists, *lists], show_progress="hidden")
    sel_start.click(user_errors(handlers.start_selection), [sel_run, sel_bench, sel_limit, ev_tokens, ev_batch], ev_status,
                    api_name="compare_select_checkpoint")
    sel_run.change(handlers.best_checkpoint, sel_run, sel_best, api_name="best_checkpoint_markdown")

    return {"on_show": [(handlers.on_show, None, [*lists, hint])], "model_a": model_a, "model_b": model_b, "question": question, "run": run, "table": table}
