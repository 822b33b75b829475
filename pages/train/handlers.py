"""The Train tab's callbacks: widget values in, widget values out (a UserError becomes the tab's error toast)."""

from __future__ import annotations

import gradio as gr

from cft.errors import UserError
from cft.train import runs
from cft.train.ablations import changes_targets
from pages.common import starting_job
from pages import guide
from pages.train.form import FORM_FIELDS, LAUNCH_KINDS, config_from_form, form_value
from pages.train.view import dashboard, plan_markdown


def _config(kind: str, values: list, preset: str):
    modes = LAUNCH_KINDS[kind]
    values = list(values)
    if values and not str(values[0] or "").strip():  # no name typed: a fresh one, never a collision
        values[0] = runs.fresh_name()
    config = config_from_form(values, mode=modes[0])
    if preset:
        config.preset = preset
    return config, modes


def launch_from_form(kind: str, values: list, preset: str = "") -> str:
    """Launch ``kind`` (a mode, ``both`` or ``all``) from the form values (FORM_FIELDS order); returns a message
    with the numbers of the launched runs (examples, dropped, steps) and any warning about them."""
    config, modes = _config(kind, values, preset)
    if len(modes) > 1:
        plans = runs.pair_plans(config, modes)
        for plan in plans:  # refuse before starting any
            if runs.job(plan.config.name).exists():
                raise UserError(f"run {plan.config.name!r} already exists: pick another name")
        started = [runs.launch(plan.config, plan=plan) for plan in plans]
        head = ("Launched " + " and ".join(f"`{s['name']}` (pid {s['pid']})" for s in started) +
                f", {runs.pair_budget_text(plans[0].config)}.")
    else:
        from cft.train.plan import make_plan

        plans = [make_plan(config)]
        started = [runs.launch(config, plan=plans[0])]
        head = f"Launched `{started[0]['name']}` ({started[0]['mode']}, pid {started[0]['pid']})."
    return head + "\n\n" + plan_markdown(plans, examples=0)


def preview_from_form(kind: str, values: list, preset: str = "") -> str:
    """What a launch would train, without launching: the first examples of each mode, the counts and warnings."""
    from cft.train.plan import make_plan

    config, modes = _config(kind, values, preset)
    skipped: dict[str, str] = {}
    plans = runs.pair_plans(config, modes, skipped=skipped) if len(modes) > 1 else [make_plan(config)]
    cannot = [f"**{mode}**: ⚠️ cannot train, so this comparison cannot be launched: {why}"
              for mode, why in skipped.items()]
    return "\n\n".join([*cannot, plan_markdown(plans, examples=2)])


def launcher(kind: str, preview: bool = False):
    """The callback of one launch (or preview) button: the preset, then the form's values (Gradio passes the
    request first)."""
    def launch(request: gr.Request, preset: str, *values) -> str:
        if preview:
            return preview_from_form(kind, list(values), preset)
        with starting_job(request):
            return launch_from_form(kind, list(values), preset)

    return launch


def chosen(preview: bool):
    """The callback of the Preview and Launch buttons: the chosen kind, the preset, then the form's values."""
    def run(request: gr.Request, kind: str, preset: str, *values) -> str:
        if kind not in LAUNCH_KINDS:
            raise UserError(f"what to train: expected one of {', '.join(LAUNCH_KINDS)}, got {kind!r}")
        return launcher(kind, preview)(request, preset, *values)

    return run


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


def on_show(dataset: str | None, name: str | None):
    """Page load and the tab shown: the datasets re-read (an import or a generation may have added one), a run name
    no run uses yet when the typed one is empty or taken (a launch took it), and the tab's hint."""
    fresh = runs.fresh_name() if not (name or "").strip() or runs.name_taken(name) else gr.skip()
    return guide.dataset_choices(dataset), fresh, guide.hint_update(guide.train_hint())


def next_name(name: str | None):
    """After a launch: a fresh name when the launch took the typed one, so the next launch does not collide."""
    return runs.fresh_name() if (name or "").strip() and runs.name_taken(name) else gr.skip()


def load_config(name: str | None) -> list:
    """The form filled from run ``name``'s config (a fresh run name; a pair's kind), then a message."""
    if not name:
        raise UserError("choose a run whose config to load")
    config = runs.config_of(name)
    values = [form_value(config, f) for f in FORM_FIELDS]
    values[FORM_FIELDS.index("name")] = runs.fresh_name()
    kind = config.mode
    if config.pair:
        partners = sum(1 for r in runs.list_runs() if r["pair"] == config.pair)
        kind = "all" if partners >= 3 else "both"
    note = ""
    if changes_targets(config):
        note = (" It is an ablation arm: its critique settings are not form fields, so relaunch the ablation from "
                "the Ablation accordion to train them again.")
    return [*values, kind, f"Loaded the config of `{name}` into the form ({kind}); change what you like and "
                           f"launch.{note}"]
