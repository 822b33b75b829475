"""The Train tab's form: its fields and widgets, what a preset fills in, and form values -> a TrainConfig."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from cft.prompts import PROMPT_POLICIES
from cft.train.config import FINETUNING, PRECISIONS, QUANTIZATIONS, SAMPLE_FILTERS, SCHEDULERS, TrainConfig
from cft.train.presets import preset_config
from pages.guide import dataset_names

# The order of the fields in the form (and of its launch endpoints' arguments, after the preset).
FORM_FIELDS = [
    "name", "dataset", "base_model", "sample_filter", "limit", "lora_r", "lora_alpha", "lora_dropout",
    "target_modules", "learning_rate", "num_epochs", "max_steps", "per_device_batch_size", "grad_accum",
    "max_length", "warmup_ratio", "scheduler", "weight_decay", "eval_fraction", "eval_steps", "save_steps",
    "logging_steps", "seed", "precision", "gradient_checkpointing", "prompt_policy", "finetuning", "keep_checkpoints",
    "quantization", "report_to", "accelerate_config", "num_processes",
]
# The form fields a preset fills (name, dataset, base model and sample filter are the user's, kept as typed).
PRESET_FIELDS = ["lora_r", "lora_alpha", "lora_dropout", "target_modules", "learning_rate", "num_epochs", "max_steps",
                 "per_device_batch_size", "grad_accum", "max_length", "warmup_ratio", "scheduler", "weight_decay",
                 "eval_fraction", "eval_steps", "save_steps", "logging_steps", "seed", "precision",
                 "gradient_checkpointing", "finetuning", "quantization"]
_INT = {"limit", "lora_r", "lora_alpha", "max_steps", "per_device_batch_size", "grad_accum", "max_length",
        "eval_steps", "save_steps", "logging_steps", "seed", "keep_checkpoints", "num_processes"}
_LABELS = {"per_device_batch_size": "batch size (per device)", "grad_accum": "gradient accumulation",
           "limit": "sample limit (0 = all)", "max_steps": "max steps (-1 = use epochs)",
           "sample_filter": "samples (usable = non-discarded with a critique)",
           "prompt_policy": "prompt policy (how questions are asked, in training and evaluation)",
           "finetuning": "fine-tuning (lora, or full: every weight)",
           "keep_checkpoints": "keep checkpoints (0 = all, so any can be selected)",
           "quantization": "quantization (4bit = QLoRA, bitsandbytes)",
           "report_to": "report to (none, tensorboard, trackio, wandb, mlflow)",
           "accelerate_config": "accelerate config (ddp, fsdp, zero2 or a yaml path)",
           "num_processes": "processes (0 = one per GPU)"}
# One launch button per objective, and the compute-matched pairs (cft.train.runs.pair_plans).
LAUNCH_KINDS = {"cft": ("cft",), "sft": ("sft",), "sft-verified": ("sft-verified",), "both": ("cft", "sft"),
                "all": ("cft", "sft", "sft-verified")}


def widget(name: str, value):
    """The form widget for one TrainConfig field."""
    label = _LABELS.get(name, name.replace("_", " "))
    ids = {"label": label, "elem_id": "train-" + name.replace("_", "-")}  # stable ids for the browser tests
    if name == "dataset":
        names = dataset_names()
        return gr.Dropdown(names, value=names[0] if names else None, allow_custom_value=True, **ids)
    if name == "sample_filter":
        return gr.Radio(list(SAMPLE_FILTERS), value=value, **ids)
    if name == "scheduler":
        return gr.Dropdown(list(SCHEDULERS), value=value, **ids)
    if name == "precision":
        return gr.Dropdown(list(PRECISIONS), value=value, **ids)
    if name == "quantization":
        return gr.Dropdown(list(QUANTIZATIONS), value=value, **ids)
    if name == "prompt_policy":
        return gr.Dropdown(list(PROMPT_POLICIES), value=value, info=PROMPT_POLICIES.get(value), **ids)
    if name == "finetuning":
        return gr.Radio(list(FINETUNING), value=value, **ids)
    if name == "gradient_checkpointing":
        return gr.Checkbox(value=value, **ids)
    if name in _INT:
        return gr.Number(value=value, precision=0, **ids)
    if isinstance(value, float):
        return gr.Number(value=value, **ids)
    return gr.Textbox(value=value, **ids)


def form_value(config: TrainConfig, field_name: str) -> Any:
    value = getattr(config, field_name)
    return ", ".join(value) if field_name == "target_modules" else value


def preset_values(preset: str) -> list[Any]:
    """The values a preset puts into the form's hyperparameter fields, in PRESET_FIELDS order."""
    config = preset_config(preset, name="x", dataset="x")
    return [form_value(config, f) for f in PRESET_FIELDS]


def default_form(preset: str = "cpu-quick") -> dict[str, Any]:
    config = preset_config(preset, name=time.strftime("run-%m%d-%H%M"), dataset="")
    return {f: form_value(config, f) for f in FORM_FIELDS}


def config_from_form(values: dict[str, Any] | list, mode: str = "cft") -> TrainConfig:
    """A config from the form (a dict by field name, or values in FORM_FIELDS order)."""
    if not isinstance(values, dict):
        values = dict(zip(FORM_FIELDS, values))
    return TrainConfig.from_dict({**values, "mode": mode}, where="form").validate()
