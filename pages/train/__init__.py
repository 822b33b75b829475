"""Train tab: launch LoRA CFT runs and paired SFT baselines, watch their losses live, stop and resume them.

``build()`` lays out the widgets and wires them; ``form`` holds the fields and form -> config, ``handlers`` the
callbacks, ``view`` the dashboard. Every refresh reads the run directories, so a reloaded page re-attaches by itself.
"""

from __future__ import annotations

import gradio as gr

from cft import demo
from cft.train import runs
from cft.train.presets import PRESETS
from pages.common import train_cap_markdown, user_errors
from pages.train import ablation, handlers
from pages.train.form import FORM_FIELDS, LAUNCH_KINDS, PRESET_FIELDS, default_form, preset_values, widget


def build() -> dict:
    defaults = default_form("cpu-quick")
    widgets: dict = {}
    with gr.Row():
        with gr.Column(scale=2):
            hint = gr.Markdown(visible=False, elem_id="train-hint")
            if demo.is_demo():
                gr.Markdown(train_cap_markdown(), elem_id="train-demo-cap")
            preset = gr.Dropdown(demo.allowed_presets(list(PRESETS)), value="cpu-quick",
                                 label="Preset (fills the fields below)")
            with gr.Row():
                for name in ("name", "dataset", "base_model"):
                    widgets[name] = widget(name, defaults[name])
            with gr.Row():
                for name in ("sample_filter", "limit"):
                    widgets[name] = widget(name, defaults[name])
            with gr.Accordion("Hyperparameters", open=False):
                rest = [f for f in FORM_FIELDS if f not in widgets]
                for start in range(0, len(rest), 4):
                    with gr.Row():
                        for name in rest[start:start + 4]:
                            widgets[name] = widget(name, defaults[name])
            kind = gr.Radio([("CFT", "cft"), ("SFT", "sft"), ("SFT-verified", "sft-verified"),
                             ("CFT + SFT (equal steps)", "both"), ("all three (equal steps)", "all")], value="both",
                            label="What to train", elem_id="train-kind")
            with gr.Row():
                preview = gr.Button("Preview examples and steps", elem_id="train-preview")
                launch = gr.Button("Launch", variant="primary", elem_id="train-launch")
            message = gr.Markdown(elem_id="train-message")
            with gr.Accordion("Ablation of critique content (a pair of CFT runs, then paired statistics)",
                              open=False, elem_id="train-ablation"):
                with gr.Row():
                    abl_kind = gr.Dropdown(ablation.KIND_CHOICES, value="strip-solution", label="Ablation", scale=3)
                    abl_ratio = gr.Number(value=0.5, label="wrong share (ratio kind)", minimum=0, maximum=1, scale=1)
                    abl_seeds = gr.Number(value=1, precision=0, minimum=1, maximum=10, label="seeds per arm", scale=1)
                    abl_name = gr.Textbox(label="ablation name (empty: a fresh one)", scale=2)
                abl_launch = gr.Button("Launch ablation pair", variant="primary", elem_id="train-ablation-launch")
                with gr.Row():
                    abl_pick = gr.Dropdown([], label="Ablation to report", allow_custom_value=True, scale=3)
                    abl_bench = gr.Textbox(value="gsm8k", label="benchmark", scale=2)
                    abl_limit = gr.Number(value=50, precision=0, label="items (0 = all)", scale=1)
                    abl_tokens = gr.Number(value=512, precision=0, label="max new tokens", scale=1)
                abl_report_button = gr.Button("Report", elem_id="train-ablation-report")
                abl_report = gr.Markdown(elem_id="train-ablation-message")
            # Hidden per-kind buttons: the stable API (launch_cft, launch_sft, launch_both, ...) for scripts and tests.
            with gr.Row(visible=False):
                api_buttons = {k: gr.Button(k) for k in LAUNCH_KINDS}
        with gr.Column(scale=3):
            table = gr.Dataframe(headers=runs.SUMMARY_HEADERS, value=runs.summary_rows(), interactive=False,
                                 label="Runs", elem_id="train-runs")
            with gr.Row():
                # Custom values allowed: runs appear after the page was built, and an API caller may name any run.
                compare = gr.Dropdown([], multiselect=True, label="Runs to plot (default: running ones)", scale=3,
                                      allow_custom_value=True)
                smoothing = gr.Slider(0, 0.99, value=0.6, step=0.01, label="Smoothing (EMA)", scale=2)
                log_y = gr.Checkbox(value=False, label="Log scale", scale=1)
            plot = gr.Plot(label="Loss")
            with gr.Row():
                current = gr.Dropdown([], label="Run", scale=3, allow_custom_value=True, elem_id="train-run")
                stop = gr.Button("Stop", variant="stop", scale=1, elem_id="train-stop")
                resume = gr.Button("Resume", scale=1)
                load = gr.Button("Load config", scale=1, elem_id="train-load-config")
            log = gr.Textbox(label="Log tail", lines=14, max_lines=14, autoscroll=True, elem_id="train-log")
    form = [widgets[f] for f in FORM_FIELDS]

    preset.change(preset_values, inputs=preset, outputs=[widgets[f] for f in PRESET_FIELDS], api_name="preset_values")
    for name, button in api_buttons.items():
        button.click(user_errors(handlers.launcher(name)), inputs=[preset, *form], outputs=message,
                     api_name=f"launch_{name.replace('-', '_')}")
    preview.click(user_errors(handlers.chosen(preview=True)), inputs=[kind, preset, *form], outputs=message,
                  api_name="preview_training")
    launch.click(user_errors(handlers.chosen(preview=False)), inputs=[kind, preset, *form], outputs=message,
                 api_name="launch_training").then(handlers.next_name, widgets["name"], widgets["name"],
                                                  api_visibility="private")
    abl_launch.click(user_errors(ablation.launch), inputs=[abl_kind, abl_ratio, abl_seeds, abl_name, preset, *form],
                     outputs=abl_report, api_name="launch_ablation").then(
        ablation.names_update, abl_name, abl_pick, api_visibility="private")
    abl_report_button.click(user_errors(ablation.report), inputs=[abl_pick, abl_bench, abl_limit, abl_tokens],
                            outputs=abl_report, api_name="ablation_report")
    abl_pick.focus(ablation.names_update, abl_pick, abl_pick, api_visibility="private")
    load.click(user_errors(handlers.load_config), inputs=current, outputs=[*form, kind, message],
               api_name="load_run_config")
    stop.click(user_errors(handlers.stop_message), inputs=current, outputs=message, api_name="stop_run")
    resume.click(user_errors(handlers.resume_message), inputs=current, outputs=message, api_name="resume_run")

    outputs = [table, compare, plot, current, log]
    inputs = [compare, smoothing, log_y, current]
    timer = gr.Timer(2.0)
    timer.tick(handlers.refresh, inputs=inputs, outputs=outputs, show_progress="hidden", api_name="refresh_runs")
    for control in (compare, smoothing, log_y, current):
        control.input(handlers.refresh, inputs=inputs, outputs=outputs, show_progress="hidden", api_visibility="private")
    named = [widgets["dataset"], widgets["name"]]
    on_show = [(handlers.on_show, named, [*named, hint])]
    return {"form": widgets, "table": table, "plot": plot, "timer": timer, "log": log, "on_show": on_show}
