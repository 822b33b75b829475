"""The Train tab's ablation accordion: launch a critique-content ablation pair from the form, and show its report.

The form's dataset, preset and hyperparameters are the base config; the arms and the report are
cft.reproduce.ablation's (the same calls as ``python -m cft ablate``)."""

from __future__ import annotations

import gradio as gr

from cft.errors import UserError
from cft.reproduce import ablation
from pages.common import starting_job
from pages.train.form import config_from_form

KIND_CHOICES = [(f"{kind}: {what}", kind) for kind, (what, _, _) in ablation.KINDS.items()]


def launch(request: gr.Request, kind: str, ratio, seeds, name: str, preset: str, *values) -> str:
    """The Launch ablation pair button: the kind, the ratio, the training seeds per arm, the ablation's name, the
    preset, then the form's values."""
    if kind not in ablation.KINDS:
        raise UserError(f"ablation kind: expected one of {', '.join(ablation.KINDS)}, got {kind!r}")
    name = (name or "").strip() or ablation.fresh_name(kind)
    values = list(values)
    values[0] = name
    config = config_from_form(values, mode="cft")
    if preset:
        config.preset = preset
    with starting_job(request):
        record = ablation.launch(config, kind, ratio=float(ratio) if kind == "ratio" else None, name=name,
                                 seeds=int(seeds or 1))
    warnings = [f"⚠️ `{a['run']}`: {w}" for a in record["arms"] for w in a["warnings"]]
    return "\n\n".join([f"Launched {ablation.launch_text(record)}.", *warnings,
                        f"Press **Report** once both have finished (ablation `{name}`)."])


def report(request: gr.Request, name: str, benchmark: str, limit, max_new_tokens) -> str:
    """The Report button: the paired statistics once both arms are trained and evaluated, else where they are."""
    if not (name or "").strip():
        raise UserError("choose an ablation to report on")
    with starting_job(request):
        return ablation.report_or_progress(name.strip(), benchmark=(benchmark or "gsm8k").strip(),
                                           limit=int(limit) if limit else None,
                                           max_new_tokens=int(max_new_tokens or 512))


def names_update(current: str | None):
    """The recorded ablations, newest first (re-read when the accordion's list is refreshed)."""
    names = ablation.list_names()
    return gr.update(choices=names, value=current if current in names else (names[0] if names else None))
