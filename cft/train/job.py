"""One training run in its directory: build the trainer, resume from the last checkpoint, save the adapter, and
record every outcome (completed, stopped, failed with its message) in status.json. ``python -m cft.train`` runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import traceback
from pathlib import Path
from typing import Iterable

import torch
from transformers.trainer_callback import PrinterCallback

from cft import workspace
from cft.errors import UserError
from cft.jobs import JobDir, write_text_atomic
from cft.train.callbacks import RunCallback
from cft.train.collator import PadCollator
from cft.train.config import TrainConfig
from cft.train.distributed import any_rank
from cft.train.examples import build_examples, load_samples
from cft.train.hardware import auto_threads, cpu_native_bf16, is_main_process, world_size
from cft.train.plan import load_examples
from cft.train.trainer import TargetOnlyTrainer, load_base, lora_model, training_arguments


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint a resume can start from (cft.workspace.checkpoints). Half-written ones, left
    by a kill during a save, are removed first: the Trainer would count them when it rotates old checkpoints."""
    for partial in workspace.incomplete_checkpoints(run_dir):
        print(f"[cft] removing {partial.name}: it was not completely written (killed during the save?)", flush=True)
        shutil.rmtree(partial, ignore_errors=True)
    found = workspace.checkpoints(run_dir, resumable=True)
    return found[-1] if found else None


def _truncate_metrics(job, step: int) -> None:
    """On resume, drop metric lines logged after the checkpoint: those steps are trained again."""
    records = [r for r in job.metrics() if r.get("step", 0) <= step]
    write_text_atomic(job.metrics_path, "".join(json.dumps(r) + "\n" for r in records))


def build_trainer(config: TrainConfig, run_dir: Path, *, stop_requested=lambda: False, samples: list | None = None,
                  extra_callbacks: Iterable = ()):
    """(trainer, run callback, data) for one run: the base model with LoRA, the examples, our Trainer subclass."""
    job = JobDir(run_dir)
    is_main = is_main_process()
    torch.set_num_threads(config.torch_threads or auto_threads())

    model, tokenizer = load_base(config)
    # The examples the launcher built and the user previewed (runs/<name>/examples/); built here only when a
    # caller trains outside a launch (tests, benchmarks) or passes its own samples.
    data = load_examples(run_dir) if samples is None else None
    if data is None:
        data = build_examples(config, tokenizer, load_samples(config) if samples is None else samples)
    print(f"[cft] {config.mode} run {config.name}: {json.dumps(data.stats)}", flush=True)
    if is_main:
        job.write_status("running", data=data.stats)

    if not torch.cuda.is_available() and config.precision == "bf16" and not cpu_native_bf16():
        print("[cft] note: this CPU has no native bf16 (AVX512-BF16/AMX): bf16 autocast is emulated and slower "
              "than fp32", flush=True)
    if config.finetuning == "lora":
        model = lora_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(f"[cft] {config.finetuning}: {trainable:,} trainable of {total:,} parameters", flush=True)

    if "tensorboard" in config.reporters():
        # Event files inside the run directory (not under checkpoints/runs/<date>): the run dir stays self-contained.
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(run_dir / "tensorboard")
    args = training_arguments(config, run_dir / "checkpoints", has_eval=bool(data.eval))
    callback = RunCallback(job, stop_requested, is_main)
    trainer = TargetOnlyTrainer(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.eval or None,
        data_collator=PadCollator(tokenizer.pad_token_id, 8 if torch.cuda.is_available() else 1),
        processing_class=tokenizer,
        callbacks=[callback, *extra_callbacks],
        loss_chunk_size=config.loss_chunk_size,
    )
    trainer.remove_callback(PrinterCallback)  # our callback prints one readable line per log step instead
    return trainer, callback, data


def run(config: TrainConfig, run_dir: Path, *, stop_requested=lambda: False, samples: list | None = None,
        extra_callbacks: Iterable = ()) -> dict:
    """Train one run into ``run_dir``. Returns the final status fields. Raises on errors (main() records them)."""
    job = JobDir(run_dir)
    is_main = is_main_process()
    trainer, callback, _ = build_trainer(config, run_dir, stop_requested=stop_requested, samples=samples,
                                         extra_callbacks=extra_callbacks)
    resume_from = None
    if config.resume:
        resume_from = last_checkpoint(run_dir)
        if resume_from is not None:
            print(f"[cft] resuming from {resume_from}", flush=True)
            if is_main:
                _truncate_metrics(job, workspace.checkpoint_step(resume_from))
    if any_rank(stop_requested()):  # every rank leaves together, or none does
        raise Stopped()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)

    # LoRA: a standard PEFT directory (adapter_config.json + safetensors); full: a plain transformers model. Written
    # beside and renamed into place: a kill during the save leaves the previous weights (or none), never half of them.
    adapter_dir = run_dir / ("adapter" if config.finetuning == "lora" else "model")
    partial = run_dir / f".{adapter_dir.name}.partial"
    if is_main:
        shutil.rmtree(partial, ignore_errors=True)
    trainer.save_model(str(partial))
    if is_main:
        trainer.processing_class.save_pretrained(str(partial))
        shutil.rmtree(adapter_dir, ignore_errors=True)
        os.replace(partial, adapter_dir)
    summary = {k: v for k, v in (result.metrics or {}).items() if isinstance(v, (int, float))}
    return {"state": "stopped" if callback.stopped else "completed", "global_step": trainer.state.global_step,
            "adapter": str(adapter_dir), "summary": summary}


class Stopped(Exception):
    """A stop was requested before the first step."""


def run_job(config_path: Path) -> int:
    """The spawned job: run the config in its run directory, status.json saying how it ended; an exit code."""
    config_path = Path(config_path).resolve()
    run_dir = config_path.parent
    job = JobDir(run_dir)
    is_main = is_main_process()
    flag = {"stop": False}

    def request_stop(signum, frame):  # only a flag: the callback stops the Trainer at the next step boundary
        flag["stop"] = True
        print(f"[cft] received signal {signum}: stopping after this step", flush=True)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        config = TrainConfig.from_json(config_path)
        if is_main:
            fields_ = {"pid": os.getpid()} if world_size() == 1 else {}
            job.write_status("running", ended_at=None, error=None, log_tail=None, name=config.name, mode=config.mode,
                             **fields_)
        result = run(config, run_dir, stop_requested=lambda: flag["stop"])
    except Stopped:
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
