"""The run's callback: metrics.jsonl, progress.json and status.json as the Trainer goes, and a clean stop."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from cft.train.distributed import any_rank
from cft.train.hardware import rank, world_size
from cft.workspace import CHECKPOINT_MARKER, mark_checkpoint_complete


def memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
        if world_size() > 1:  # which pid is which rank: the log is the one place all ranks write to
            print(f"[cft] rank {rank()}/{world_size()} pid {os.getpid()} starts at step {state.global_step}", flush=True)
        self.t0 = time.time()
        self.step0 = state.global_step
        self.last_tokens = state.num_input_tokens_seen
        self.last_step_time = 0.0
        if self.is_main:
            self.job.write_status("running", pid=os.getpid() if world_size() == 1 else self.job.status().get("pid"),
                                  max_steps=state.max_steps, start_step=state.global_step)
            self.job.write_progress(state.global_step, state.max_steps, step=state.global_step, eta=None, elapsed=0.0)

    def on_step_begin(self, args, state, control, **kw):
        self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        if self._step_started is not None:
            self.step_time += time.perf_counter() - self._step_started
            self._step_started = None
        # Every rank takes the same decision at the same step (see cft.train.distributed): a rank stopping alone
        # would leave the others waiting in the next collective.
        if any_rank(self.stop_requested(), args.device) and not self.stopped:
            # Save a checkpoint at this very step so that resume continues from here, then stop.
            self.stopped = True
            control.should_training_stop = True
            control.should_save = True
        if self.is_main:
            self.job.write_progress(state.global_step, state.max_steps, step=state.global_step,
                                    eta=self._eta(state), elapsed=time.time() - self.t0)
            if control.should_save:
                # A save into a directory that already has a marker (the same step saved again) must not look
                # complete while its files are being rewritten: the marker comes back in on_save.
                (self._checkpoint_dir(args, state) / CHECKPOINT_MARKER).unlink(missing_ok=True)
        return control

    @staticmethod
    def _checkpoint_dir(args, state) -> Path:
        return Path(args.output_dir) / f"checkpoint-{state.global_step}"

    def on_save(self, args, state, control, **kw):
        """The Trainer has written the whole checkpoint: mark it complete (cft.workspace.checkpoints trusts only
        marked or verifiably whole ones, so a kill during the save never leaves a checkpoint that resume picks)."""
        path = self._checkpoint_dir(args, state)
        if self.is_main and path.is_dir():
            mark_checkpoint_complete(path)

    def on_train_end(self, args, state, control, **kw):
        if world_size() > 1:
            print(f"[cft] rank {rank()}/{world_size()} ends at step {state.global_step}", flush=True)

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
        record.update(elapsed=round(time.time() - self.t0, 2), eta=self._eta(state), memory_mb=round(memory_mb(), 1),
                      time=time.time())
        self.job.append_metric(record)
        parts = [f"step {state.global_step}/{state.max_steps}"]
        for key in ("loss", "eval_loss", "lr", "grad_norm", "tokens_per_s"):
            if record.get(key) is not None:
                parts.append(f"{key} {record[key]:.4g}")
        print("[cft] " + "  ".join(parts), flush=True)
