"""The reproduction presets, by name. None caps anything silently: a preset that asks for more questions than its
sources hold says so in the log and the report, and uses what is there.

- ``cpu-smoke``: the pipeline end to end in minutes on a laptop CPU; no claims.
- ``cpu``: a comparison this 2-core CPU can settle. The embedded 135M model scores near 0 on GSM8K, so the task is
  the procedural ``arith`` family (about one in five right zero-shot; 468 test items for an interval of a few
  points), asked with the bare question (the ``none`` prompt policy: under the paper's "reason step by step" system
  prompt the model rambles and scores about half as well), two training seeds per mode. GSM8K and MATH-500 stay as
  transfer benchmarks.
- ``gpu-small``: one GPU, the embedded model, 2,000 GSM8K questions, every mode, two seeds, full GSM8K test and
  MATH-500, the checkpoint picked on held-out GSM8K train questions.
- ``paper``: the paper's recipe, a full fine-tune at lr 5e-6, global batch 512, max length 2048, cosine, warmup 0.1,
  one epoch, 50,000 questions (GSM8K train, MATH train, then generated word problems: the log says how many of
  each), an API teacher, the checkpoint picked on the validation set, never on MATH-500.
- ``paper-lora``: the same data with LoRA at a LoRA learning rate (1e-4) and global batch 64, for one card.
"""

from __future__ import annotations

from typing import Any

from cft.errors import UserError
from cft.reproduce.config import ReproduceConfig

_PAPER_DATA = dict(
    source="gsm8k_train,math_train,wordprob_train", n_questions=50000, samples_per_question=1,
    student_max_new_tokens=1024, generate_batch_size=64, teacher="openai", max_length=2048, warmup_ratio=0.1,
    num_epochs=1.0, max_steps=-1, seeds=1, select_checkpoint=True, selection_benchmark="math500_val",
    selection_limit=500, benchmarks=["math500:0:2048", "gsm8k:0:1024"], eval_batch_size=64, critic_limit=500,
    critic_max_new_tokens=1024, train_timeout=48 * 3600, save_steps=20,
)

PRESETS: dict[str, dict[str, Any]] = {
    "cpu-smoke": {},
    "cpu": dict(
        source="arith_train", n_questions=300, samples_per_question=2, student_max_new_tokens=64,
        student_temperature=0.8, prompt_policy="none", seeds=2, max_steps=60, per_device_batch_size=4,
        grad_accum=1, max_length=320, learning_rate=3e-4, lora_r=8, lora_alpha=16, save_steps=30,
        benchmarks=["arith:0:64", "gsm8k:30:192", "math500:30:192"], eval_batch_size=32, critic_limit=20,
        critic_max_new_tokens=128, train_timeout=2 * 3600,
    ),
    "gpu-small": dict(
        n_questions=2000, samples_per_question=2, student_max_new_tokens=512, generate_batch_size=64, seeds=2,
        train_preset="gpu", max_steps=-1, num_epochs=1.0, learning_rate=1e-4, per_device_batch_size=16, grad_accum=4,
        max_length=1536, lora_r=64, lora_alpha=128, save_steps=20, select_checkpoint=True, selection_limit=200,
        benchmarks=["gsm8k:0:1024", "math500:0:1024"], eval_batch_size=64, critic_limit=500,
        critic_max_new_tokens=1024, train_timeout=6 * 3600,
    ),
    "paper": dict(_PAPER_DATA, train_preset="paper-full", finetuning="full", learning_rate=5e-6,
                  per_device_batch_size=8, grad_accum=64),
    "paper-lora": dict(_PAPER_DATA, train_preset="gpu", finetuning="lora", learning_rate=1e-4,
                       per_device_batch_size=8, grad_accum=8, lora_r=64, lora_alpha=128),
}


def preset_config(preset: str, **overrides: Any) -> ReproduceConfig:
    if preset not in PRESETS:
        raise UserError(f"preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return ReproduceConfig.from_dict({**PRESETS[preset], "preset": preset, "name": preset, **overrides})
