"""Evaluation: a model (base, or base + a run's adapter) on a benchmark, in the paper's setting.

The paper's setting is zero-shot, greedy, its system prompt ("Please reason step by step, and put your final
answer within \\boxed{}."), max_new_tokens 1024. Generation is batched with left padding (cft.models.generate);
grading is cft.grading (math-verify in a process pool with a per-item timeout).

An eval directory ``evals/<name>/`` is also a job directory (cft.jobs): ``config.json`` (the EvalConfig),
``status.json``, ``progress.json``, ``train.log``, plus

- ``results.jsonl``: one line per problem, appended batch by batch as the eval goes, so a killed eval loses at
  most one batch. Resuming skips every id already in it, so a problem is never generated twice.
- ``summary.json``: accuracy with a 95% Wilson interval, counts, time, model, adapter, benchmark.

Run in the background with :func:`launch` (``python -m cft.evaluate --config evals/<name>/config.json``) or in
the foreground with :func:`run_eval` (the CLI wraps it in a tqdm bar).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cft import jobs, workspace
from cft.config import JobConfig, read_json_object
from cft.errors import UserError

KIND = "eval"
# Fields that define what an eval measures: resuming under the same name with any of these changed would mix
# two different experiments in one results file, so it is refused.
_IDENTITY = ("kind", "model", "adapter", "benchmark", "limit", "seed", "max_new_tokens", "greedy", "temperature")


@dataclass
class EvalConfig(JobConfig):
    """One evaluation job. The CLI, the UI and the tests all build this object."""

    what = "eval config"

    name: str = ""
    # "embedded", a local model dir or a Hub id. None: the adapter's base model, else the embedded model.
    model: str | None = None
    # A run name ("cft-1"), a run checkpoint ("cft-1/checkpoint-20") or a PEFT adapter directory.
    adapter: str | None = None
    benchmark: str = "gsm8k"
    limit: int | None = None
    seed: int = 0
    max_new_tokens: int = 1024
    batch_size: int = 8
    greedy: bool = True
    temperature: float = 0.7  # only when greedy is False
    top_p: float = 0.95
    grading_timeout: float = 5.0
    kind: str = KIND

    def __post_init__(self) -> None:
        if self.limit is not None and int(self.limit) <= 0:
            raise UserError(f"limit must be a positive number of problems, got {self.limit!r}")
        if int(self.max_new_tokens) <= 0:
            raise UserError(f"max_new_tokens must be positive, got {self.max_new_tokens!r}")
        if int(self.batch_size) <= 0:
            raise UserError(f"batch_size must be positive, got {self.batch_size!r}")
        if not self.name:
            self.name = default_name(self)
        eval_dir(self.name)  # refuse path tricks early, naming the field


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "model"


def model_label(model: str | None, adapter: str | None) -> str:
    """A short human name: ``embedded``, ``cft-1``, ``cft-1/checkpoint-20`` or the model dir's name."""
    if adapter:
        path = Path(str(adapter))
        runs = workspace.runs_dir().resolve()
        try:
            rel = path.resolve().relative_to(runs)
            parts = rel.parts
            if len(parts) >= 2 and parts[1] == "adapter":
                return parts[0]
            if len(parts) >= 3 and parts[1] == "checkpoints":
                return f"{parts[0]}/{parts[2]}"
        except ValueError:
            pass
        return str(adapter) if not path.is_absolute() else path.name
    if model is None or model == "embedded":
        return "embedded"
    return Path(str(model)).name if os.sep in str(model) and Path(str(model)).exists() else str(model)


def default_name(config: "EvalConfig") -> str:
    bench = Path(config.benchmark).stem if config.benchmark.endswith(".jsonl") else config.benchmark
    parts = [model_label(config.model, config.adapter), bench, str(config.limit or "all")]
    if config.kind != KIND:
        parts.insert(0, config.kind)
    return _slug("-".join(parts).replace("/", "-"))


# ----------------------------------------------------------------------------------------------- paths


def eval_dir(name: str) -> Path:
    return workspace.safe_child(workspace.evals_dir(), name, "eval name")


def resolve_adapter(adapter: str | None) -> Path | None:
    """A run name, ``run/checkpoint-N`` or an adapter directory -> the adapter directory."""
    if not adapter:
        return None
    text = str(adapter)
    path = Path(text).expanduser()
    if (path / "adapter_config.json").exists():
        return path.resolve()
    runs = workspace.runs_dir()
    run, _, ckpt = text.partition("/")
    try:
        run_dir = workspace.safe_child(runs, run)
    except UserError:
        run_dir = None
    if run_dir is not None and run_dir.is_dir():
        candidate = run_dir / "checkpoints" / ckpt if ckpt else run_dir / "adapter"
        if ckpt and "/" not in ckpt and (candidate / "adapter_config.json").exists():
            return candidate.resolve()
        if not ckpt and (candidate / "adapter_config.json").exists():
            return candidate.resolve()
        raise UserError(f"adapter {text!r}: run {run!r} has no adapter at {candidate} (is the run finished?)")
    raise UserError(
        f"adapter {text!r}: not a PEFT adapter directory (no adapter_config.json) and no run named {run!r} under {runs}"
    )


# ----------------------------------------------------------------------------------------------- statistics


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: unlike the normal approximation it stays inside [0, 1] at 0% and 100%."""
    if n <= 0:
        return (0.0, 0.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def format_accuracy(summary: dict) -> str:
    """``41.5% ± 4.8`` (half the width of the 95% interval, in points)."""
    lo, hi = summary.get("ci95", (0.0, 0.0))
    return f"{100 * summary.get('accuracy', 0.0):.1f}% ± {100 * (hi - lo) / 2:.1f}"


# ----------------------------------------------------------------------------------------------- results


def read_results(path_or_name: str | Path) -> list[dict]:
    """Rows of a results.jsonl (eval name or file), first occurrence of each id only; a torn last line is ignored."""
    path = Path(path_or_name)
    if not path.suffix == ".jsonl":
        path = eval_dir(str(path_or_name)) / "results.jsonl"
    rows, seen = [], set()
    # A torn last line is what a killed job was writing; its problem is redone on resume.
    for row in jobs.read_jsonl(path):
        key = str(row.get("id"))
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    return rows


def _append_rows(path: Path, rows: list[dict]) -> None:
    # A torn last line (killed mid-write) must not swallow the next row: start on a fresh line.
    needs_newline = False
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            needs_newline = fh.read(1) != b"\n"
    with open(path, "a") as fh:
        if needs_newline:
            fh.write("\n")
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def summarize(rows: list[dict], *, total: int, seconds: float, config: EvalConfig) -> dict:
    n = len(rows)
    correct = sum(1 for r in rows if r.get("correct"))
    lo, hi = wilson_interval(correct, n)
    return {
        "name": config.name,
        "kind": config.kind,
        "model": config.model or "embedded",
        "adapter": config.adapter,
        "label": model_label(config.model, config.adapter),
        "benchmark": config.benchmark,
        "limit": config.limit,
        "seed": config.seed,
        "max_new_tokens": config.max_new_tokens,
        "greedy": config.greedy,
        "n": n,
        "total": total,
        "complete": n >= total,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "ci95": [lo, hi],
        "timed_out": sum(1 for r in rows if r.get("timed_out")),
        "no_answer": sum(1 for r in rows if r.get("extracted") in (None, "")),
        "seconds": round(seconds, 2),
        "finished_at": time.time(),
    }


def read_summary(name: str) -> dict | None:
    return jobs.read_json(eval_dir(name) / "summary.json", None)


def list_evals(kind: str | None = KIND) -> list[dict]:
    """Every eval directory with its config, status and summary (None until the first summary is written)."""
    out = []
    root = workspace.evals_dir()
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        job = jobs.JobDir(d)
        config = job.config()
        if kind is not None and config.get("kind", KIND) != kind:
            continue
        out.append({"name": d.name, "config": config, "status": job.status(), "summary": read_summary(d.name),
                    "progress": job.progress()})
    return out


# ----------------------------------------------------------------------------------------------- running


def _prepare_dir(config: EvalConfig) -> jobs.JobDir:
    """Create or re-open the eval dir; refuse to resume into a dir that measured something else."""
    job = jobs.JobDir(eval_dir(config.name))
    existing = job.config()
    if existing:
        diffs = [k for k in _IDENTITY if existing.get(k, getattr(EvalConfig, k, None)) != getattr(config, k)]
        if diffs:
            fields_ = ", ".join(f"{k}: {existing.get(k)!r} -> {getattr(config, k)!r}" for k in diffs)
            raise UserError(
                f"eval {config.name!r} already exists with a different setup ({fields_}); "
                f"choose another --name or delete {job.path}"
            )
    job.write_config(config.to_dict())
    return job


def _load(config: EvalConfig):
    from cft.models import load_model

    adapter = resolve_adapter(config.adapter)
    return load_model(config.model, adapter=adapter) if adapter else load_model(config.model or "embedded")


def run_eval(
    config: EvalConfig,
    *,
    progress: Callable[[int, int, int], None] | None = None,
    stop_after: int | None = None,
    model_and_tokenizer=None,
) -> dict:
    """Evaluate (or resume) ``config``; returns the summary, also written to summary.json.

    ``progress(done, total, correct)`` is called after each batch. ``stop_after`` stops after that many new
    problems (an interruption on purpose: the tests and the checkpoint sweep use it). ``model_and_tokenizer``
    lets a caller that already holds the model skip loading it again.
    """
    from cft.data.benchmarks import load_benchmark
    from cft.grading import grade_many
    from cft.models import generate
    from cft.prompts import eval_messages, render

    job = _prepare_dir(config)
    results_path = job.path / "results.jsonl"
    started = time.time()
    problems = load_benchmark(config.benchmark, limit=config.limit, seed=config.seed)
    if not problems:
        raise UserError(f"benchmark {config.benchmark!r} has no problems")
    wanted = {str(p.id) for p in problems}
    done_rows = [r for r in read_results(results_path) if str(r.get("id")) in wanted]
    done_ids = {str(r["id"]) for r in done_rows}
    todo = [p for p in problems if str(p.id) not in done_ids]
    if stop_after is not None:
        todo = todo[: max(0, stop_after)]
    total = len(problems)
    correct = sum(1 for r in done_rows if r.get("correct"))
    done = len(done_rows)
    previous_seconds = float((read_summary(config.name) or {}).get("seconds", 0.0))

    def report() -> None:
        job.write_progress(done, total, correct=correct)
        if progress is not None:
            progress(done, total, correct)

    report()
    if todo:
        model, tokenizer = model_and_tokenizer or _load(config)
        temperature = 0.0 if config.greedy else config.temperature
        # One generate() call per chunk; each chunk is written before the next starts (resume granularity).
        chunk = max(1, config.batch_size)
        for start in range(0, len(todo), chunk):
            batch = todo[start:start + chunk]
            prompts = [render(tokenizer, eval_messages(p.question)) for p in batch]
            outputs = generate(model, tokenizer, prompts, max_new_tokens=config.max_new_tokens, temperature=temperature,
                               top_p=config.top_p, batch_size=config.batch_size, seed=config.seed)
            grades = grade_many([(str(p.answer), out) for p, out in zip(batch, outputs)], timeout=config.grading_timeout)
            rows = [
                {"id": p.id, "question": p.question, "reference": p.answer, "output": out, "extracted": g.extracted,
                 "correct": bool(g.correct), "timed_out": bool(g.timed_out)}
                for p, out, g in zip(batch, outputs, grades)
            ]
            _append_rows(results_path, rows)
            done += len(rows)
            correct += sum(r["correct"] for r in rows)
            report()
    rows = [r for r in read_results(results_path) if str(r.get("id")) in wanted]
    seconds = previous_seconds + (time.time() - started)
    summary = summarize(rows, total=total, seconds=seconds, config=config)
    jobs.write_json_atomic(job.path / "summary.json", summary)
    return summary


def launch(config: EvalConfig) -> jobs.JobDir:
    """Start the eval as a background job (a subprocess writing into its eval dir); returns the job dir."""
    job = jobs.JobDir(eval_dir(config.name))
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"eval {config.name!r} is already running (pid {job.status().get('pid')})")
    job = _prepare_dir(config)
    module = "cft.critic" if config.kind != KIND else "cft.evaluate"
    jobs.spawn(["python", "-m", module, "--config", str(job.config_path)], job)
    return job


def job_main(argv: list[str] | None, load_config: Callable[[str], object], run: Callable[..., dict]) -> int:
    """The body of ``python -m cft.evaluate|cft.critic --config PATH``: status bookkeeping around ``run``."""
    parser = argparse.ArgumentParser(description="Run one evaluation job (normally started by the app or the CLI).")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    job = jobs.JobDir(Path(args.config).resolve().parent)

    def on_term(signum, frame):  # a stop from the UI: leave a clean 'stopped' state, results so far kept
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    job.write_status("running", pid=os.getpid())
    try:
        def show(done, total, correct):
            print(f"{done}/{total} done, {correct} correct", flush=True)

        summary = run(config, progress=show)
    except KeyboardInterrupt:
        job.write_status("stopped")
        print("stopped; run again with the same name to resume", flush=True)
        return 130
    except Exception as exc:  # the UI shows this; the log has the traceback
        import traceback

        traceback.print_exc()
        job.write_status("failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    job.write_status("completed", summary=summary)
    print(json.dumps(summary, indent=2), flush=True)
    return 0




# ----------------------------------------------------------------------------------------------- checkpoints


def _step(path: Path) -> int:
    try:
        return int(path.name.rsplit("-", 1)[-1])
    except ValueError:
        return -1


def run_checkpoints(run: str) -> list[Path]:
    """The run's ``checkpoints/checkpoint-N`` adapters, by step."""
    run_dir = workspace.safe_child(workspace.runs_dir(), run, "run name")
    ckpts = run_dir / "checkpoints"
    found = sorted((p for p in ckpts.glob("checkpoint-*") if (p / "adapter_config.json").exists()), key=_step) \
        if ckpts.is_dir() else []
    if not found:
        raise UserError(f"run {run!r}: no checkpoints with an adapter under {ckpts}")
    return found


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
) -> dict:
    """Evaluate every checkpoint of ``run`` on a validation subset and mark the best, as the paper does on MATH-500.

    Each checkpoint gets an ordinary eval dir (so the sweep resumes and its evals show up in the Compare tab).
    The best (highest accuracy; on a tie the later step, which has seen more data) is written to
    ``runs/<run>/best_checkpoint.json`` and returned.
    """
    candidates = []
    for ckpt in run_checkpoints(run):
        config = EvalConfig(
            name=_slug(f"select-{run}-{ckpt.name}-{Path(benchmark).stem}-{limit or 'all'}"), model=model,
            adapter=f"{run}/{ckpt.name}", benchmark=benchmark, limit=limit, seed=seed,
            max_new_tokens=max_new_tokens, batch_size=batch_size,
        )
        cb = (lambda d, t, c, _n=ckpt.name: progress(_n, d, t, c)) if progress else None
        summary = run_eval(config, progress=cb)
        candidates.append({"checkpoint": ckpt.name, "step": _step(ckpt), "path": str(ckpt), "eval": config.name,
                           "accuracy": summary["accuracy"], "correct": summary["correct"], "n": summary["n"],
                           "ci95": summary["ci95"]})
    best = max(candidates, key=lambda c: (c["accuracy"], c["step"]))
    record = {"run": run, "benchmark": benchmark, "limit": limit, "seed": seed, "max_new_tokens": max_new_tokens,
              "best": best, "candidates": candidates, "selected_at": time.time()}
    out = workspace.runs_dir() / run / "best_checkpoint.json"
    jobs.write_json_atomic(out, record)
    return record


@dataclass
class SelectConfig(JobConfig):
    """A checkpoint-selection job (run in the background from the Compare tab): the sweep of select_checkpoint."""

    what = "checkpoint selection config"

    run: str
    benchmark: str = "math500"
    limit: int | None = 100
    seed: int = 0
    max_new_tokens: int = 1024
    batch_size: int = 8
    model: str | None = None
    name: str = ""
    kind: str = "select"

    def __post_init__(self) -> None:
        run_checkpoints(self.run)  # a run without checkpoints is refused now, not in the background
        if not self.name:
            self.name = _slug(f"select-{self.run}-{Path(self.benchmark).stem}-{self.limit or 'all'}")
        eval_dir(self.name)


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


def launch_selection(config: SelectConfig) -> jobs.JobDir:
    job = jobs.JobDir(eval_dir(config.name))
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"checkpoint selection {config.name!r} is already running")
    job.write_config(config.to_dict())
    jobs.spawn(["python", "-m", "cft.evaluate", "--config", str(job.config_path)], job)
    return job


def _load_any(path: str):
    data = read_json_object(path, "eval config")
    if data.get("kind") == "select":
        return SelectConfig.from_dict(data, where=path)
    return EvalConfig.from_dict(data, where=path)


def _run_any(config, **kwargs) -> dict:
    return run_selection(config, **kwargs) if isinstance(config, SelectConfig) else run_eval(config, **kwargs)


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, _load_any, _run_any)


if __name__ == "__main__":
    sys.exit(main())
