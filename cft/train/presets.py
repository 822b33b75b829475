"""Presets: the hyperparameters a preset fills in, by name; and the cap a public demo puts on any run."""

from __future__ import annotations

from typing import Any

from cft import demo
from cft.errors import UserError
from cft.train.config import TrainConfig

PRESETS: dict[str, dict[str, Any]] = {
    # Minutes on a laptop CPU with the embedded 135M model: short sequences, few steps, little eval.
    "cpu-quick": dict(
        lora_r=8, lora_alpha=16, lora_dropout=0.0, learning_rate=3e-4, num_epochs=1.0, max_steps=60,
        per_device_batch_size=4, grad_accum=1, max_length=768, warmup_ratio=0.1, weight_decay=0.0,
        eval_fraction=0.05, max_eval_examples=16, eval_steps=30, save_steps=20, logging_steps=2,
        precision="fp32", gradient_checkpointing=False,
    ),
    # The paper's setting: a full fine-tune (every weight) at lr 5e-6, global batch 512 (8 x 64 on one card, more
    # cards divide the accumulation), max length 2048, cosine, warmup 0.1, one epoch. LoRA at this learning rate
    # barely moves: LoRA presets use LoRA learning rates (1e-4 to 3e-4).
    "paper-full": dict(
        finetuning="full", learning_rate=5e-6, num_epochs=1.0, max_steps=-1, per_device_batch_size=8, grad_accum=64,
        max_length=2048, warmup_ratio=0.1, weight_decay=0.0, eval_fraction=0.01, max_eval_examples=256,
        eval_steps=20, save_steps=20, logging_steps=1, precision="auto", gradient_checkpointing=True,
    ),
    # One modern GPU: the paper's max length and schedule shape, LoRA in bf16, a larger effective batch.
    "gpu": dict(
        lora_r=64, lora_alpha=128, lora_dropout=0.05, learning_rate=1e-4, num_epochs=1.0, max_steps=-1,
        per_device_batch_size=8, grad_accum=8, max_length=2048, warmup_ratio=0.1, weight_decay=0.0,
        eval_fraction=0.02, max_eval_examples=256, eval_steps=50, save_steps=100, logging_steps=5,
        precision="auto", gradient_checkpointing=True,
    ),
    # A 7B base (e.g. Qwen/Qwen2.5-Math-7B, the paper's) on one 80 GB card: bf16 weights, LoRA r 64 on every
    # projection, the paper's max length 2048, global batch 64. Estimated 25.5 GB (cft.train.memory.estimate, not
    # measured): room to spare on 80 GB.
    "lora-7b": dict(
        lora_r=64, lora_alpha=128, lora_dropout=0.05, learning_rate=1e-4, num_epochs=1.0, max_steps=-1,
        per_device_batch_size=8, grad_accum=8, max_length=2048, warmup_ratio=0.1, weight_decay=0.0,
        eval_fraction=0.01, max_eval_examples=256, eval_steps=100, save_steps=100, logging_steps=5,
        precision="auto", gradient_checkpointing=True, quantization="none", loss_chunk_size=1024,
    ),
    # QLoRA (NF4 weights, double quantization, bf16 compute, paged AdamW 8-bit) for a 7B base on one 24 GB card.
    # Estimated 11.3 GB (cft.train.memory.estimate, not measured); on an 80 GB card, raise the batch.
    "qlora-7b": dict(
        lora_r=64, lora_alpha=16, lora_dropout=0.05, learning_rate=2e-4, num_epochs=1.0, max_steps=-1,
        per_device_batch_size=4, grad_accum=16, max_length=2048, warmup_ratio=0.03, weight_decay=0.0,
        eval_fraction=0.01, max_eval_examples=256, eval_steps=100, save_steps=100, logging_steps=5,
        precision="auto", gradient_checkpointing=True, quantization="4bit", loss_chunk_size=1024,
    ),
}
# Every preset says all of these, so that picking one after another leaves nothing of the first behind.
for _values in PRESETS.values():
    _values.setdefault("quantization", "none")
    _values.setdefault("loss_chunk_size", 1024)


def preset_config(preset: str, **overrides: Any) -> TrainConfig:
    if preset not in PRESETS:
        raise UserError(f"preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return TrainConfig.from_dict({**PRESETS[preset], "preset": preset, **overrides})


def demo_cap(config: TrainConfig) -> TrainConfig:
    """In demo mode, any run is forced onto the CPU preset's budget; outside it, the config is returned as is."""
    if not demo.is_demo():
        return config
    steps = config.max_steps if 0 < config.max_steps <= demo.DEMO_MAX_STEPS else demo.DEMO_MAX_STEPS
    return config.replace(
        **{**PRESETS["cpu-quick"], "max_steps": steps, "max_length": min(config.max_length, demo.DEMO_MAX_LENGTH),
           "preset": "cpu-quick (demo cap)"}
    )
