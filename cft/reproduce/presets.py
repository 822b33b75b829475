"""The reproduction presets, by name: this CPU in minutes, one GPU, and the paper's hyperparameters."""

from __future__ import annotations

from typing import Any

from cft.errors import UserError
from cft.reproduce.config import ReproduceConfig

PRESETS: dict[str, dict[str, Any]] = {
    # This 2-core CPU, well under 30 minutes: tiny numbers, no claims (the dataclass defaults are this preset).
    "cpu-smoke": {},
    # One GPU, the embedded model, thousands of questions.
    "gpu-small": dict(
        n_questions=2000, samples_per_question=2, student_max_new_tokens=512, generate_batch_size=64,
        train_preset="gpu", max_steps=-1, num_epochs=1.0, learning_rate=1e-4, per_device_batch_size=16, grad_accum=4,
        max_length=1536, lora_r=64, lora_alpha=128, eval_limit=500, eval_max_new_tokens=1024, eval_batch_size=64,
        critic_limit=500, critic_max_new_tokens=1024, train_timeout=6 * 3600,
    ),
    # The paper's hyperparameters (with LoRA instead of a full fine-tune), for a chosen model and an API teacher.
    "paper": dict(
        n_questions=50000, samples_per_question=1, student_max_new_tokens=1024, train_preset="gpu", max_steps=-1,
        num_epochs=1.0, learning_rate=5e-6, per_device_batch_size=8, grad_accum=64, max_length=2048,
        warmup_ratio=0.1, lora_r=64, lora_alpha=128, eval_limit=500, eval_max_new_tokens=2048, critic_limit=500,
        critic_max_new_tokens=1024, teacher="openai", train_timeout=48 * 3600,
    ),
}


def preset_config(preset: str, **overrides: Any) -> ReproduceConfig:
    if preset not in PRESETS:
        raise UserError(f"preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return ReproduceConfig.from_dict({**PRESETS[preset], "preset": preset, "name": preset, **overrides})
