"""Evaluation jobs in the background: ``python -m cft.evaluate --config evals/<name>/config.json`` runs an eval, a
critic eval or a checkpoint selection, dispatching on the config's ``kind``; status.json says how it ended."""

from __future__ import annotations

import argparse
import json
import os
import signal
import traceback
from pathlib import Path

from cft import jobs, redact
from cft.config import read_json_object
from cft.errors import UserError
from cft.evaluate.config import EvalConfig, SelectConfig, eval_dir
from cft.evaluate.critic import KIND as CRITIC, CriticConfig, run_critic
from cft.evaluate.steps import KIND as STEPS, StepCriticConfig, run_step_critic
from cft.evaluate.best_of_n import KIND as BEST_OF_N, BestOfNConfig, run_best_of_n
from cft.evaluate.runner import prepare_dir, run_eval


def spawn(config: EvalConfig | SelectConfig, job: jobs.JobDir) -> jobs.JobDir:
    """Start ``python -m cft.evaluate`` on the config already written in ``job``."""
    jobs.spawn(["python", "-m", "cft.evaluate", "--config", str(job.config_path)], job)
    return job


def launch(config: EvalConfig, *, force: bool = False) -> jobs.JobDir:
    """Start the eval (or critic eval) as a background job writing into its eval dir; returns the job dir."""
    job = jobs.JobDir(eval_dir(config.name))
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"eval {config.name!r} is already running (pid {job.status().get('pid')})")
    return spawn(config, prepare_dir(config, force=force))


def launch_selection(config: SelectConfig) -> jobs.JobDir:
    """Start a checkpoint selection (every checkpoint of a run evaluated) as a background job."""
    job = jobs.JobDir(eval_dir(config.name))
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"checkpoint selection {config.name!r} is already running")
    job.write_config(config.to_dict())
    return spawn(config, job)


def load_config(path: str) -> EvalConfig | SelectConfig:
    """The config of an eval dir: an eval, a critic eval (kind "critic"), a step-level critic eval (kind "steps"),
    best-of-N (kind "best-of-n") or a checkpoint selection (kind "select")."""
    data = read_json_object(path, "eval config")
    cls = {"select": SelectConfig, CRITIC: CriticConfig, STEPS: StepCriticConfig,
           BEST_OF_N: BestOfNConfig}.get(data.get("kind"), EvalConfig)
    return cls.from_dict(data, where=path)


def run_config(config: EvalConfig | SelectConfig, **kwargs) -> dict:
    """Run what ``config`` describes; returns its summary."""
    if isinstance(config, SelectConfig):
        from cft.evaluate.selection import run_selection

        return run_selection(config, **kwargs)
    if isinstance(config, BestOfNConfig):
        return run_best_of_n(config, **kwargs)
    if isinstance(config, StepCriticConfig):
        return run_step_critic(config, **kwargs)
    return run_critic(config, **kwargs) if isinstance(config, CriticConfig) else run_eval(config, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """The body of ``python -m cft.evaluate --config PATH``: status bookkeeping around the run."""
    parser = argparse.ArgumentParser(description="Run one evaluation job (normally started by the app or the CLI).")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    redact.guard_output()  # the eval's log is this process's output: no secret may land in it
    config = load_config(args.config)
    job = jobs.JobDir(Path(args.config).resolve().parent)

    def on_term(signum, frame):  # a stop from the UI: leave a clean 'stopped' state, results so far kept
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    job.write_status("running", pid=os.getpid())
    try:
        def show(done, total, correct):
            print(f"{done}/{total} done, {correct} correct", flush=True)

        summary = run_config(config, progress=show)
    except KeyboardInterrupt:
        job.write_status("stopped")
        print("stopped; run again with the same name to resume", flush=True)
        return 130
    except Exception as exc:  # the UI shows this; the log has the traceback
        traceback.print_exc()
        job.write_status("failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    job.write_status("completed", summary=summary)
    print(json.dumps(summary, indent=2), flush=True)
    return 0
