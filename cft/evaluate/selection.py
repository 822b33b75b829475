"""Checkpoint selection: every checkpoint of a run evaluated on a validation subset, the best one recorded in
``runs/<run>/best_checkpoint.json`` (the paper picked its checkpoint on MATH-500)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from cft import jobs, workspace
from cft.errors import UserError
from cft.evaluate.config import EvalConfig, SelectConfig, eval_dir, run_checkpoints, slug
from cft.evaluate.runner import run_eval

def select_checkpoint(
    run: str,
    *,
    model: str | None = None,
    benchmark: str = "math500",
    limit: int | None = 100,
    seed: int = 0,
    max_new_tokens: int = 1024,
    batch_size: int = 8,
    progress: Callable[[str, int, int, int], None] | None = None,
    prompt_policy: str = "",
) -> dict:
    """Evaluate every checkpoint of ``run`` on a validation subset and mark the best, as the paper does on MATH-500.

    Each checkpoint gets an ordinary eval dir (so the sweep resumes and its evals show up in the Compare tab).
    The best (highest accuracy; on a tie the later step, which has seen more data) is written to
    ``runs/<run>/best_checkpoint.json`` and returned.
    """
    candidates = []
    for ckpt in run_checkpoints(run):
        config = EvalConfig(
            name=slug(f"select-{run}-{ckpt.name}-{Path(benchmark).stem}-{limit or 'all'}"), model=model,
            adapter=f"{run}/{ckpt.name}", benchmark=benchmark, limit=limit, seed=seed,
            max_new_tokens=max_new_tokens, batch_size=batch_size, prompt_policy=prompt_policy,
        )
        cb = (lambda d, t, c, _n=ckpt.name: progress(_n, d, t, c)) if progress else None
        summary = run_eval(config, progress=cb)
        candidates.append({"checkpoint": ckpt.name, "step": workspace.checkpoint_step(ckpt), "path": str(ckpt), "eval": config.name,
                           "accuracy": summary["accuracy"], "correct": summary["correct"], "n": summary["n"],
                           "ci95": summary["ci95"]})
    best = max(candidates, key=lambda c: (c["accuracy"], c["step"]))
    record = {"run": run, "benchmark": benchmark, "limit": limit, "seed": seed, "max_new_tokens": max_new_tokens,
              "prompt_policy": prompt_policy,
              "best": best, "candidates": candidates, "selected_at": time.time()}
    out = workspace.runs_dir() / run / "best_checkpoint.json"
    jobs.write_json_atomic(out, record)
    return record


def run_selection(config: SelectConfig, *, progress: Callable[[int, int, int], None] | None = None) -> dict:
    job = jobs.JobDir(eval_dir(config.name))
    n_ckpts = len(run_checkpoints(config.run))
    seen: list[str] = []

    def report(ckpt, done, total, correct):
        if ckpt not in seen:
            seen.append(ckpt)
        # Overall progress across checkpoints, so the jobs table shows one bar for the sweep.
        job.write_progress((len(seen) - 1) * total + done, n_ckpts * total, correct=correct, checkpoint=ckpt)
        if progress is not None:
            progress(done, total, correct)

    return select_checkpoint(config.run, model=config.model, benchmark=config.benchmark, limit=config.limit,
                             seed=config.seed, max_new_tokens=config.max_new_tokens, batch_size=config.batch_size,
                             progress=report)


def runs_with_checkpoints() -> list[str]:
    """The runs that have at least one checkpoint with an adapter."""
    root = workspace.runs_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and workspace.checkpoints(p))


def best_checkpoint(run: str) -> dict | None:
    """The run's ``best_checkpoint.json`` record, or None before a selection finished."""
    try:
        run_dir = workspace.safe_child(workspace.runs_dir(), run, "run name")  # a name never leaves the runs dir
    except UserError:
        return None
    return jobs.read_json(run_dir / "best_checkpoint.json", None)
