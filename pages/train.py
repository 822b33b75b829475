"""Train tab: launch LoRA CFT runs and paired SFT baselines, watch their losses live, stop and resume them.

Thin: widgets and wiring only. The logic is in cft.runs (launch, dashboard, stop/resume), cft.train (the config)
and cft.plots (the chart). Every refresh reads the run directories, so a reloaded page re-attaches by itself.
"""

from __future__ import annotations

import gradio as gr

from cft import demo, runs
from cft.train import FORM_FIELDS, PRECISIONS, PRESETS, SAMPLE_FILTERS, SCHEDULERS
from pages.common import user_errors

_INT = {"limit", "lora_r", "lora_alpha", "max_steps", "per_device_batch_size", "grad_accum", "max_length",
        "eval_steps", "save_steps", "logging_steps", "seed"}
_LABELS = {"per_device_batch_size": "batch size (per device)", "grad_accum": "gradient accumulation",
           "limit": "sample limit (0 = all)", "max_steps": "max steps (-1 = use epochs)",
           "sample_filter": "samples (usable = non-discarded with a critique)"}


def _dataset_names() -> list[str]:
    try:
        from cft.data.store import Store

        return [d["name"] for d in Store().datasets()]
    except Exception:  # noqa: BLE001 - an empty or missing store just offers no choices
        return []


def _widget(name: str, value):
    label = _LABELS.get(name, name.replace("_", " "))
    if name == "dataset":
        names = _dataset_names()
        return gr.Dropdown(names, value=names[0] if names else None, label=label, allow_custom_value=True)
    if name == "sample_filter":
        return gr.Radio(list(SAMPLE_FILTERS), value=value, label=label)
    if name == "scheduler":
        return gr.Dropdown(list(SCHEDULERS), value=value, label=label)
    if name == "precision":
        return gr.Dropdown(list(PRECISIONS), value=value, label=label)
    if name == "gradient_checkpointing":
        return gr.Checkbox(value=value, label=label)
    if name in _INT:
        return gr.Number(value=value, precision=0, label=label)
    if isinstance(value, float):
        return gr.Number(value=value, label=label)
    return gr.Textbox(value=value, label=label)


def build() -> dict:
    defaults = runs.default_form("cpu-quick")
    widgets: dict = {}
    with gr.Row():
        with gr.Column(scale=2):
            if demo.is_demo():
                gr.Markdown(demo.train_cap_markdown(), elem_id="train-demo-cap")
            preset = gr.Dropdown(demo.allowed_presets(list(PRESETS)), value="cpu-quick",
                                 label="Preset (fills the fields below)")
            with gr.Row():
                for name in ("name", "dataset", "base_model"):
                    widgets[name] = _widget(name, defaults[name])
            with gr.Row():
                for name in ("sample_filter", "limit"):
                    widgets[name] = _widget(name, defaults[name])
            with gr.Accordion("Hyperparameters", open=False):
                rest = [f for f in FORM_FIELDS if f not in widgets]
                for start in range(0, len(rest), 4):
                    with gr.Row():
                        for name in rest[start:start + 4]:
                            widgets[name] = _widget(name, defaults[name])
            with gr.Row():
                launch_cft = gr.Button("Launch CFT", variant="primary")
                launch_sft = gr.Button("Launch SFT")
                launch_both = gr.Button("Launch both (CFT + paired SFT)")
            message = gr.Markdown(elem_id="train-message")
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
                current = gr.Dropdown([], label="Run", scale=3, allow_custom_value=True)
                stop = gr.Button("Stop", variant="stop", scale=1)
                resume = gr.Button("Resume", scale=1)
            log = gr.Textbox(label="Log tail", lines=14, max_lines=14, autoscroll=True, elem_id="train-log")
    form = [widgets[f] for f in FORM_FIELDS]

    preset.change(runs.preset_values, inputs=preset, outputs=[widgets[f] for f in runs.PRESET_FIELDS],
                  api_name="preset_values")
    for button, kind in ((launch_cft, "cft"), (launch_sft, "sft"), (launch_both, "both")):
        button.click(user_errors(lambda p, *values, kind=kind: runs.launch_from_form(kind, list(values), p)),
                     inputs=[preset, *form], outputs=message, api_name=f"launch_{kind}")
    stop.click(user_errors(runs.stop_message), inputs=current, outputs=message, api_name="stop_run")
    resume.click(user_errors(runs.resume_message), inputs=current, outputs=message, api_name="resume_run")

    def refresh(selected, smooth, logscale, chosen):
        view = runs.dashboard(selected, smooth, logscale, chosen)
        return (view["rows"], gr.update(choices=view["names"]), view["figure"],
                gr.update(choices=view["names"], value=view["current"]), view["log"])

    outputs = [table, compare, plot, current, log]
    inputs = [compare, smoothing, log_y, current]
    timer = gr.Timer(2.0)
    timer.tick(refresh, inputs=inputs, outputs=outputs, show_progress="hidden", api_name="refresh_runs")
    for control in (compare, smoothing, log_y, current):
        control.input(refresh, inputs=inputs, outputs=outputs, show_progress="hidden", api_visibility="private")
    return {"form": widgets, "table": table, "plot": plot, "timer": timer, "log": log}
