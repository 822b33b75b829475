"""The Train tab's callbacks: widget values in, widget values out (a UserError becomes the tab's error toast)."""

from __future__ import annotations

import gradio as gr

from cft.errors import UserError
from cft.train import runs
from pages.common import starting_job
from pages.train.form import config_from_form
from pages.train.view import dashboard


def launch_from_form(kind: str, values: list, preset: str = "") -> str:
    """Launch ``kind`` (cft, sft or both) from the form values (FORM_FIELDS order); returns a message."""
    config = config_from_form(values, mode="cft" if kind == "both" else kind)
    if preset:
        config.preset = preset
    if kind == "both":
        started = runs.launch_pair(config)
        return "Launched the pair " + " and ".join(f"`{s['name']}` (pid {s['pid']})" for s in started) + \
            f", {runs.pair_budget_text(runs.config_of(started[0]['name']))}."
    started = runs.launch(config)
    return f"Launched `{started['name']}` ({started['mode']}, pid {started['pid']})."


def launcher(kind: str):
    """The callback of one launch button: the preset, then the form's values (Gradio passes the request first)."""
    def launch(request: gr.Request, preset: str, *values) -> str:
        with starting_job(request):
            return launch_from_form(kind, list(values), preset)

    return launch


def stop_message(name: str | None) -> str:
    if not name:
        raise UserError("choose a run to stop")
    return f"Stopping `{name}`: it saves a checkpoint and its adapter, then exits." if runs.stop(name) else \
        f"`{name}` is not running."


def resume_message(name: str | None, request: gr.Request = None) -> str:
    if not name:
        raise UserError("choose a run to resume")
    with starting_job(request):
        started = runs.resume(name)
    return f"Resumed `{name}` from its last checkpoint (pid {started['pid']})."


def refresh(selected, smooth, logscale, chosen):
    """The timer's tick: runs table, run choices, chart, the chosen run and its log."""
    view = dashboard(selected, smooth, logscale, chosen)
    return (view["rows"], gr.update(choices=view["names"]), view["figure"],
            gr.update(choices=view["names"], value=view["current"]), view["log"])
