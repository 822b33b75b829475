"""LoRA training for CFT runs and their paired SFT baselines: config, examples, metrics, the subprocess entry point.

``python -m cft.train --config runs/<name>/config.json`` runs one job. Everything the UI needs is written into
the run directory (see :mod:`cft.jobs`): ``status.json`` (running → completed / failed / stopped), one line of
``metrics.jsonl`` per log step, ``progress.json``, ``checkpoints/checkpoint-N`` and the final ``adapter/``.

The engine is transformers' ``Trainer`` with a peft LoRA model, so accelerate / DeepSpeed / FSDP work unchanged.
Two things make it faster than a stock completion-only setup (``benchmarks/train_bench.py`` measures it):
- batches are grouped by length and padded to the batch maximum, so little compute goes to padding;
- the vocabulary projection and the loss run only on target positions (``logits_to_keep`` with a boolean mask):
  the prompt (question + noisy response) is most of a CFT example, and its 49k-wide fp32 logits were most of
  the memory traffic of a CPU step.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from cft.config import JobConfig
from cft.errors import UserError

MODES = ("cft", "sft")
SAMPLE_FILTERS = ("usable", "reviewed")  # usable: every non-discarded sample that has a critique
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
IGNORE = -100
# Paired runs get the same number of optimizer steps. The SFT set has one example per question while the CFT set has
# one per (question, response), so equal *epochs* would give SFT far fewer updates and it would lose by being
# under-trained; equal steps (same batch size, so the same number of sequences seen) is the compute-matched comparison.
PAIR_BUDGET_NOTE = (
    "paired runs: equal max_steps (same batch and accumulation, so the same number of optimizer updates and "
    "sequences); equal epochs would give the SFT run, with one example per question, far fewer updates"
)


@dataclass
class TrainConfig(JobConfig):
    """One training run. The UI form, the CLI and the tests all build this; it is saved as runs/<name>/config.json."""

    what = "training config"

    name: str = ""
    dataset: str = ""
    base_model: str = "embedded"
    mode: str = "cft"
    sample_filter: str = "usable"
    limit: int = 0  # use at most this many samples (0: all), for quick experiments
    # LoRA
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    # optimisation
    learning_rate: float = 2e-4
    num_epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides num_epochs
    per_device_batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    weight_decay: float = 0.0
    # evaluation, logging, checkpoints
    eval_fraction: float = 0.05
    max_eval_examples: int = 64  # eval costs forward passes on every eval step: keep it bounded on CPU
    eval_steps: int = 50
    save_steps: int = 50
    logging_steps: int = 5
    seed: int = 42
    precision: str = "auto"
    gradient_checkpointing: bool = False
    torch_threads: int = 0  # 0: one per physical core left free by other processes (auto_threads)
    resume: bool = False
    preset: str = ""
    pair: str = ""  # shared id of a CFT/SFT pair launched together
    budget: str = ""  # how the pair's budget was matched (see PAIR_BUDGET_NOTE)

    # ------------------------------------------------------------------ validation
    def validate(self) -> "TrainConfig":
        def bad(name: str, expected: str) -> UserError:
            return UserError(f"training config field {name}={getattr(self, name)!r}: expected {expected}")

        if not self.name:
            raise bad("name", "a run name (letters, digits, '-', '_')")
        from cft import workspace

        workspace.check_name(self.name, "training config field name")
        if not self.dataset:
            raise bad("dataset", "the name of a dataset in the sample store")
        if self.mode not in MODES:
            raise bad("mode", " or ".join(MODES))
        if self.sample_filter not in SAMPLE_FILTERS:
            raise bad("sample_filter", " or ".join(SAMPLE_FILTERS))
        if self.precision not in PRECISIONS:
            raise bad("precision", ", ".join(PRECISIONS))
        if self.scheduler not in SCHEDULERS:
            raise bad("scheduler", ", ".join(SCHEDULERS))
        for name in ("lora_r", "lora_alpha", "per_device_batch_size", "grad_accum", "logging_steps", "eval_steps", "save_steps"):
            if int(getattr(self, name)) < 1:
                raise bad(name, "an integer >= 1")
        if self.max_length < 16:
            raise bad("max_length", "at least 16 tokens")
        if not 0 <= self.lora_dropout < 1:
            raise bad("lora_dropout", "a number in [0, 1)")
        if not 0 <= self.warmup_ratio < 1:
            raise bad("warmup_ratio", "a number in [0, 1)")
        if not 0 <= self.eval_fraction < 1:
            raise bad("eval_fraction", "a number in [0, 1)")
        if not self.learning_rate > 0:
            raise bad("learning_rate", "a positive number")
        if self.weight_decay < 0:
            raise bad("weight_decay", "a number >= 0")
        if self.max_steps <= 0 and not self.num_epochs > 0:
            raise bad("num_epochs", "a positive number (or set max_steps > 0)")
        if not self.target_modules:
            raise bad("target_modules", "module names such as q_proj, v_proj (or all-linear)")
        if self.limit < 0 or self.torch_threads < 0:
            raise bad("limit" if self.limit < 0 else "torch_threads", "an integer >= 0")
        return self


PRESETS: dict[str, dict[str, Any]] = {
    # Minutes on a laptop CPU with the embedded 135M model: short sequences, few steps, little eval.
    "cpu-quick": dict(
        lora_r=8, lora_alpha=16, lora_dropout=0.0, learning_rate=3e-4, num_epochs=1.0, max_steps=60,
        per_device_batch_size=4, grad_accum=1, max_length=768, warmup_ratio=0.1, weight_decay=0.0,
        eval_fraction=0.05, max_eval_examples=16, eval_steps=30, save_steps=20, logging_steps=2,
        precision="fp32", gradient_checkpointing=False,
    ),
    # One modern GPU: the paper's max length and schedule shape, LoRA in bf16, a larger effective batch.
    "gpu": dict(
        lora_r=64, lora_alpha=128, lora_dropout=0.05, learning_rate=1e-4, num_epochs=1.0, max_steps=-1,
        per_device_batch_size=8, grad_accum=8, max_length=2048, warmup_ratio=0.1, weight_decay=0.0,
        eval_fraction=0.02, max_eval_examples=256, eval_steps=50, save_steps=100, logging_steps=5,
        precision="auto", gradient_checkpointing=True,
    ),
}

# The order of the fields in the Train tab's form (and of its launch endpoints' arguments).
FORM_FIELDS = [
    "name", "dataset", "base_model", "sample_filter", "limit", "lora_r", "lora_alpha", "lora_dropout",
    "target_modules", "learning_rate", "num_epochs", "max_steps", "per_device_batch_size", "grad_accum",
    "max_length", "warmup_ratio", "scheduler", "weight_decay", "eval_fraction", "eval_steps", "save_steps",
    "logging_steps", "seed", "precision", "gradient_checkpointing",
]


def preset_config(preset: str, **overrides: Any) -> TrainConfig:
    if preset not in PRESETS:
        raise UserError(f"preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return TrainConfig.from_dict({**PRESETS[preset], "preset": preset, **overrides})


def config_from_form(values: dict[str, Any] | list, mode: str = "cft") -> TrainConfig:
    """A config from the Train tab's form (a dict by field name, or values in FORM_FIELDS order)."""
    if not isinstance(values, dict):
        values = dict(zip(FORM_FIELDS, values))
    return TrainConfig.from_dict({**values, "mode": mode}, where="form").validate()


# ================================================================================== examples


@dataclass
class BuiltData:
    train: list[dict]
    eval: list[dict]
    stats: dict[str, int]


def encode(tokenizer, prompt: str, target: str, max_length: int) -> dict | None:
    """Tokenize prompt + target (+ eos). Labels are the target ids; the prompt is masked with -100.

    Truncation keeps the whole prompt and cuts the target from the right: a model must always see the full
    question and solution it critiques. Returns None when not even one target token fits.
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        target_ids = target_ids + [tokenizer.eos_token_id]
    room = max_length - len(prompt_ids)
    if room <= 0 or not target_ids:
        return None
    target_ids = target_ids[:room]
    input_ids = prompt_ids + target_ids
    return {
        "input_ids": input_ids,
        "labels": [IGNORE] * len(prompt_ids) + target_ids,
        "length": len(input_ids),
    }


def cft_pair(tokenizer, sample) -> tuple[str, str]:
    from cft import prompts

    return prompts.render(tokenizer, prompts.cft_messages(sample.question, sample.response), True), sample.critique


def sft_pairs(tokenizer, samples: Iterable) -> tuple[list[tuple[str, str]], int]:
    """One (prompt, target) per unique question that has a known correct solution; also the number without one.

    The solution is the question's reference solution, else a response whose critique's verdict is right.
    """
    from cft import prompts

    order: list[str] = []
    solutions: dict[str, str | None] = {}
    for s in samples:
        q = s.question.strip()
        if q not in solutions:
            order.append(q)
            solutions[q] = None
        if s.reference_solution and s.reference_solution.strip():
            # A reference solution beats a response judged right.
            if solutions[q] is None or not solutions[q].startswith("\0ref"):
                solutions[q] = "\0ref" + s.reference_solution
        elif solutions[q] is None and s.verdict == "right" and s.response.strip():
            solutions[q] = s.response
    pairs, missing = [], 0
    for q in order:
        sol = solutions[q]
        if sol is None:
            missing += 1
            continue
        sol = sol[4:] if sol.startswith("\0ref") else sol
        pairs.append((prompts.render(tokenizer, prompts.sft_messages(q), True), sol))
    return pairs, missing


def build_examples(config: TrainConfig, tokenizer, samples: list) -> BuiltData:
    if config.mode == "cft":
        pairs = [cft_pair(tokenizer, s) for s in samples if s.critique and s.critique.strip()]
        stats = {"samples": len(samples), "without_solution": 0}
    else:
        pairs, missing = sft_pairs(tokenizer, samples)
        stats = {"samples": len(samples), "questions": len(pairs) + missing, "without_solution": missing}
    examples, dropped = [], 0
    for prompt, target in pairs:
        ex = encode(tokenizer, prompt, target, config.max_length)
        if ex is None:
            dropped += 1
        else:
            examples.append(ex)
    stats["dropped_too_long"] = dropped
    if not examples:
        what = "samples with a critique" if config.mode == "cft" else "questions with a reference solution or a response judged right"
        raise UserError(
            f"dataset {config.dataset!r} ({config.sample_filter}): no usable training examples "
            f"({len(pairs)} {what}, {dropped} dropped because the prompt fills max_length={config.max_length})"
        )
    rng = random.Random(config.seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    n_eval = 0
    if config.eval_fraction > 0 and len(examples) >= 4:
        n_eval = min(max(1, round(len(examples) * config.eval_fraction)), config.max_eval_examples, len(examples) - 1)
    eval_set = [examples[i] for i in order[:n_eval]]
    train_set = [examples[i] for i in sorted(order[n_eval:])]
    stats.update(train=len(train_set), eval=len(eval_set), target_tokens=sum(sum(1 for l in e["labels"] if l != IGNORE) for e in train_set),
                 tokens=sum(e["length"] for e in train_set))
    return BuiltData(train_set, eval_set, stats)


def load_samples(config: TrainConfig) -> list:
    """The dataset's samples that pass the config's filter, in id order (the same list for a CFT/SFT pair)."""
    from cft.data.store import Store

    store = Store()
    names = {d["name"] for d in store.datasets()}
    if config.dataset not in names:
        raise UserError(f"dataset {config.dataset!r} is not in the store; existing: {', '.join(sorted(names)) or 'none'}")
    if config.sample_filter == "reviewed":
        samples = list(store.iter_samples(config.dataset, status="reviewed"))
    else:
        usable = ["pending", "draft", "reviewed"]  # not discarded, and critiqued (uncritiqued ones have no critique)
        samples = [s for s in store.iter_samples(config.dataset, status=usable) if (s.critique or "").strip()]
    if config.limit:
        samples = samples[: config.limit]
    return samples


def steps_per_epoch(n_train: int, config: TrainConfig, world_size: int = 1) -> int:
    """Optimizer steps in one epoch of ``n_train`` examples (what Trainer computes for num_train_epochs)."""
    batches = math.ceil(n_train / (config.per_device_batch_size * world_size))
    return max(1, math.ceil(batches / config.grad_accum)) if n_train else 0


# ================================================================================== collator and trainer


class PadCollator:
    """Pads a batch to its own longest example (to a multiple of 8 on GPU, for tensor cores): labels with -100."""

    def __init__(self, pad_token_id: int, multiple_of: int = 1):
        self.pad = pad_token_id
        self.multiple_of = multiple_of

    def __call__(self, features: list[dict]) -> dict:
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        if self.multiple_of > 1:
            longest = -(-longest // self.multiple_of) * self.multiple_of
        ids = torch.full((len(features), longest), self.pad, dtype=torch.long)
        labels = torch.full((len(features), longest), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(features), longest), dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            ids[row, :n] = torch.tensor(f["input_ids"])
            labels[row, :n] = torch.tensor(f["labels"])
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _trainer_class():
    import inspect

    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    class TargetOnlyTrainer(Trainer):
        """Trainer whose loss projects only target positions onto the vocabulary.

        Same loss as the model's own (token-mean over the whole accumulated batch, ``num_items_in_batch``), but the
        lm_head and the fp32 softmax skip the prompt. Models whose forward lacks ``logits_to_keep`` use the stock path.
        """

        loss_is_scaled_for_ga = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            from transformers.trainer_utils import unwrap_peft_model

            inner = unwrap_peft_model(self.accelerator.unwrap_model(self.model))
            self._keep_supported = "logits_to_keep" in inspect.signature(inner.forward).parameters
            # Always count target tokens across the accumulated batch so the loss is normalised the same way
            # whichever path computes it.
            self.model_accepts_loss_kwargs = True

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            shifted = labels[:, 1:]
            keep = torch.zeros_like(labels, dtype=torch.bool)
            keep[:, :-1] = shifted.ne(IGNORE)
            if num_items_in_batch is None:
                num_items_in_batch = keep.sum()
            if self._keep_supported:
                outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                                logits_to_keep=keep, use_cache=False)
                logits = outputs.logits  # (number of target tokens, vocab)
                targets = shifted[shifted.ne(IGNORE)]
            else:
                outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
                logits = outputs.logits[:, :-1].reshape(-1, outputs.logits.shape[-1])
                targets = shifted.reshape(-1)
            loss = F.cross_entropy(logits.float(), targets.to(logits.device), ignore_index=IGNORE, reduction="sum")
            loss = loss / num_items_in_batch
            if self.args.average_tokens_across_devices and self.accelerator.num_processes > 1:
                # num_items_in_batch was summed over processes and DDP averages gradients: undo the average.
                loss = loss * self.accelerator.num_processes
            return (loss, outputs) if return_outputs else loss

    return TargetOnlyTrainer


def physical_cores() -> int:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        try:
            cores.add(Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def auto_threads() -> int:
    """One torch thread per physical core that other processes leave free (at least one).

    On a shared, busy CPU every extra thread makes each small op wait at an OpenMP barrier for a descheduled
    sibling: measured here at load ~6 on 2 cores, 2 threads trained the embedded model 12-25x slower than 1.
    """
    cores = physical_cores()
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, round(cores - busy + 1)))


def resolve_precision(config: TrainConfig) -> str:
    import torch

    if config.precision != "auto":
        return config.precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"  # CPU autocast to bf16 changes numerics and is not faster for LoRA on most CPUs: opt-in only


def training_arguments(config: TrainConfig, output_dir: Path, has_eval: bool, **extra: Any):
    import torch
    from transformers import TrainingArguments

    precision = resolve_precision(config)
    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=3,
        seed=config.seed,
        data_seed=config.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        train_sampling_strategy="group_by_length",
        report_to="none",
        disable_tqdm=True,  # the log is a file: progress bars would fill it with carriage returns
        remove_unused_columns=False,
        dataloader_num_workers=0,  # collation is cheap; worker processes only add start-up time and memory
        dataloader_pin_memory=cuda,
        include_num_input_tokens_seen="non_padding",
        prediction_loss_only=True,
        use_cpu=not cuda,
        ddp_find_unused_parameters=False,
        **extra,
    )


def lora_model(model, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    targets: Any = config.target_modules
    if targets == ["all-linear"]:
        targets = "all-linear"
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise UserError(f"training config field target_modules={config.target_modules!r}: {exc}") from exc


def load_base(config: TrainConfig):
    """(model, tokenizer) for training: fp32 weights on CPU (autocast handles bf16), bf16 weights on a bf16 GPU."""
    import torch

    from cft import models

    precision = resolve_precision(config)
    dtype = torch.bfloat16 if precision == "bf16" and torch.cuda.is_available() else torch.float32
    model, tokenizer = models.load_model(config.base_model, dtype=dtype, device="cpu")
    tokenizer.padding_side = "right"
    model.config.use_cache = False
    return model, tokenizer


# ================================================================================== metrics callback


def _memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _callback_class():
    from transformers import TrainerCallback

    class RunCallback(TrainerCallback):
        """Writes metrics.jsonl, progress.json and status.json; turns a stop request into a clean stop with a checkpoint."""

        def __init__(self, job, stop_requested, is_main: bool = True):
            self.job = job
            self.stop_requested = stop_requested  # a callable: True once SIGTERM arrived
            self.is_main = is_main
            self.stopped = False
            self.step_time = 0.0
            self._step_started = None

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.time()
            self.step0 = state.global_step
            self.last_tokens = state.num_input_tokens_seen
            self.last_step_time = 0.0
            if self.is_main:
                self.job.write_status("running", pid=os.getpid() if _world_size() == 1 else self.job.status().get("pid"),
                                      max_steps=state.max_steps, start_step=state.global_step)
                self.job.write_progress(state.global_step, state.max_steps, step=state.global_step, eta=None, elapsed=0.0)

        def on_step_begin(self, args, state, control, **kw):
            self._step_started = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if self._step_started is not None:
                self.step_time += time.perf_counter() - self._step_started
                self._step_started = None
            if self.stop_requested() and not self.stopped:
                # Save a checkpoint at this very step so that resume continues from here, then stop.
                self.stopped = True
                control.should_training_stop = True
                control.should_save = True
            if self.is_main:
                self.job.write_progress(state.global_step, state.max_steps, step=state.global_step,
                                        eta=self._eta(state), elapsed=time.time() - self.t0)
            return control

        def _eta(self, state) -> float | None:
            done = state.global_step - self.step0
            if done <= 0:
                return None
            return (time.time() - self.t0) / done * max(0, state.max_steps - state.global_step)

        def on_log(self, args, state, control, logs=None, **kw):
            if not self.is_main or not logs:
                return
            if "loss" not in logs and "eval_loss" not in logs:
                return  # the end-of-training summary: kept in status.json instead
            record: dict[str, Any] = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
            if "loss" in logs:
                tokens = state.num_input_tokens_seen
                window = self.step_time - self.last_step_time
                record.update(
                    loss=logs["loss"], lr=logs.get("learning_rate"), grad_norm=logs.get("grad_norm"),
                    tokens_per_s=(tokens - self.last_tokens) / window if window > 0 else None, tokens=tokens,
                )
                self.last_tokens, self.last_step_time = tokens, self.step_time
            if "eval_loss" in logs:
                record["eval_loss"] = logs["eval_loss"]
            record.update(elapsed=round(time.time() - self.t0, 2), eta=self._eta(state), memory_mb=round(_memory_mb(), 1),
                          time=time.time())
            self.job.append_metric(record)
            parts = [f"step {state.global_step}/{state.max_steps}"]
            for key in ("loss", "eval_loss", "lr", "grad_norm", "tokens_per_s"):
                if record.get(key) is not None:
                    parts.append(f"{key} {record[key]:.4g}")
            print("[cft] " + "  ".join(parts), flush=True)

    return RunCallback


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def last_checkpoint(run_dir: Path) -> Path | None:
    ckpts = run_dir / "checkpoints"
    if not ckpts.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(ckpts))
    return Path(found) if found else None


def _checkpoint_step(path: Path) -> int:
    try:
        return int(path.name.rsplit("-", 1)[-1])
    except ValueError:
        return 0


def _truncate_metrics(job, step: int) -> None:
    """On resume, drop metric lines logged after the checkpoint: those steps are trained again."""
    records = [r for r in job.metrics() if r.get("step", 0) <= step]
    tmp = job.metrics_path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    os.replace(tmp, job.metrics_path)


# ================================================================================== the job


def build_trainer(config: TrainConfig, run_dir: Path, *, stop_requested=lambda: False, samples: list | None = None,
                  extra_callbacks: Iterable = ()):
    """(trainer, run callback, data) for one run: the base model with LoRA, the examples, our Trainer subclass."""
    import torch
    from transformers.trainer_callback import PrinterCallback

    from cft.jobs import JobDir

    job = JobDir(run_dir)
    is_main = _is_main_process()
    torch.set_num_threads(config.torch_threads or auto_threads())

    model, tokenizer = load_base(config)
    if samples is None:
        samples = load_samples(config)
    data = build_examples(config, tokenizer, samples)
    print(f"[cft] {config.mode} run {config.name}: {json.dumps(data.stats)}", flush=True)
    if is_main:
        job.write_status("running", data=data.stats)

    model = lora_model(model, config)
    trainable, total = model.get_nb_trainable_parameters()
    print(f"[cft] LoRA: {trainable:,} trainable of {total:,} parameters", flush=True)

    args = training_arguments(config, run_dir / "checkpoints", has_eval=bool(data.eval))
    callback = _callback_class()(job, stop_requested, is_main)
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.eval or None,
        data_collator=PadCollator(tokenizer.pad_token_id, 8 if torch.cuda.is_available() else 1),
        processing_class=tokenizer,
        callbacks=[callback, *extra_callbacks],
    )
    trainer.remove_callback(PrinterCallback)  # our callback prints one readable line per log step instead
    return trainer, callback, data


def run(config: TrainConfig, run_dir: Path, *, stop_requested=lambda: False, samples: list | None = None,
        extra_callbacks: Iterable = ()) -> dict:
    """Train one run into ``run_dir``. Returns the final status fields. Raises on errors (main() records them)."""
    from cft.jobs import JobDir

    job = JobDir(run_dir)
    is_main = _is_main_process()
    trainer, callback, _ = build_trainer(config, run_dir, stop_requested=stop_requested, samples=samples,
                                         extra_callbacks=extra_callbacks)
    resume_from = None
    if config.resume:
        resume_from = last_checkpoint(run_dir)
        if resume_from is not None:
            print(f"[cft] resuming from {resume_from}", flush=True)
            if is_main:
                _truncate_metrics(job, _checkpoint_step(resume_from))
    if stop_requested():
        raise _Stopped()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)

    adapter_dir = run_dir / "adapter"
    trainer.save_model(str(adapter_dir))  # a standard PEFT directory (adapter_config.json + safetensors)
    if is_main:
        trainer.processing_class.save_pretrained(str(adapter_dir))
    summary = {k: v for k, v in (result.metrics or {}).items() if isinstance(v, (int, float))}
    return {"state": "stopped" if callback.stopped else "completed", "global_step": trainer.state.global_step,
            "adapter": str(adapter_dir), "summary": summary}


class _Stopped(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cft.train", description="Run one CFT/SFT LoRA training job.")
    parser.add_argument("--config", required=True, help="runs/<name>/config.json")
    args = parser.parse_args(argv)

    from cft.jobs import JobDir

    config_path = Path(args.config).resolve()
    run_dir = config_path.parent
    job = JobDir(run_dir)
    is_main = _is_main_process()
    flag = {"stop": False}

    def request_stop(signum, frame):  # only a flag: the callback stops the Trainer at the next step boundary
        flag["stop"] = True
        print(f"[cft] received signal {signum}: stopping after this step", flush=True)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        config = TrainConfig.from_json(config_path)
        if is_main:
            fields_ = {"pid": os.getpid()} if _world_size() == 1 else {}
            job.write_status("running", ended_at=None, error=None, log_tail=None, name=config.name, mode=config.mode,
                             **fields_)
        result = run(config, run_dir, stop_requested=lambda: flag["stop"])
    except _Stopped:
        if is_main:
            job.write_status("stopped", ended_at=time.time(), global_step=0)
        return 0
    except BaseException as exc:  # noqa: BLE001 - any failure must reach status.json, not only the log
        traceback.print_exc()
        if is_main:
            message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            job.write_status("failed", ended_at=time.time(), error=message, log_tail=job.log_tail(30))
        return 1
    if is_main:
        job.write_status(result.pop("state"), ended_at=time.time(), **result)
    print(f"[cft] finished: {job.status().get('state')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
