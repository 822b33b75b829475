"""The run registry: launch, list, stop, resume, read and delete training runs under ``workspace/runs/<name>/``.

A run's state lives only in its directory (config.json, status.json, metrics.jsonl, train.log, checkpoints/,
adapter/), so the UI, the CLI and a second browser all see the same thing and a refreshed page re-attaches.
Jobs are started with :func:`cft.jobs.spawn`: their own process session, output into train.log, never a pipe.

With several GPUs visible the same config is launched through ``accelerate launch --num_processes N``
(data parallel), and so is a config with ``num_processes`` > 1 or an ``accelerate_config`` file
(:mod:`cft.train.distributed`); only rank 0 writes status and metrics.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from cft import jobs, workspace
from cft.errors import UserError
from cft.train import presets
from cft.train.config import PAIR_BUDGET_NOTE, TrainConfig
from cft.train.examples import load_samples
from cft.train.plan import Plan, make_plan, save_examples, warnings_for

# What a run's fingerprint leaves out: fields that name or schedule a run but do not change what it learns.
_NOT_IN_FINGERPRINT = ("name", "resume", "pair", "budget", "torch_threads", "preset")


def run_dir(name: str) -> Path:
    """The directory of run ``name``; a name that would escape the runs directory is refused."""
    return workspace.safe_child(workspace.runs_dir(), name, "run name")


def job(name: str) -> jobs.JobDir:
    return jobs.JobDir(run_dir(name))


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no torch / no driver: single process
        return 0


def train_argv(config_path: Path, config: TrainConfig | None = None) -> list[str]:
    """The job's command: one process, or ``accelerate launch`` over the GPUs / the config's processes and file."""
    from cft.train.distributed import launch_argv

    if config is None:
        config = TrainConfig.from_json(config_path) if Path(config_path).exists() else TrainConfig()
    return launch_argv(config_path, accelerate_config=config.accelerate_config, num_processes=config.num_processes,
                       gpus=_gpu_count())


def fingerprint(config: TrainConfig, examples: str):
    """What a run is: its training fields, the fingerprint of its examples, its base model's id and revision."""
    from cft.fingerprint import Fingerprint, config_defaults, model_identity

    fields_ = {k: v for k, v in config.to_dict().items() if k not in _NOT_IN_FINGERPRINT}
    return Fingerprint({"config": fields_, "examples": examples, **model_identity(config.base_model)},
                       defaults={"config": config_defaults(TrainConfig)})


def launch(config: TrainConfig, *, plan: Plan | None = None) -> dict:
    """Build the run's examples once into runs/<name>/examples/, write config.json and the fingerprint, start
    the job. Refuses a name that exists unless ``config.resume`` (a resume trains on the examples it has).
    Building the examples here is also the check that the dataset has usable ones: it fails in the launcher,
    not minutes later in the job.

    In demo mode (a public Space) the config is capped to the CPU preset's budget before anything is written.
    """
    config = presets.demo_cap(config.validate()).validate()
    d = job(config.name)
    if d.exists() and not config.resume:
        raise UserError(f"run {config.name!r} already exists: pick another name, resume it, or delete it first")
    if config.resume:
        state = d.status().get("state")
        if state in jobs.ACTIVE:
            raise UserError(f"run {config.name!r} is {state}; stop it before resuming")
    d.path.mkdir(parents=True, exist_ok=True)
    if not config.resume or not (d.path / "examples").exists():
        if plan is None or plan.config.to_dict() != config.to_dict():
            plan = make_plan(config, world_size=max(1, _gpu_count()))
        fingerprint(config, save_examples(d.path, plan)).write(d.path)
    d.write_config(config.to_dict())
    if config.resume:
        with open(d.log_path, "a") as log:
            log.write(f"\n===== resume requested at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n")
    pid = jobs.spawn(train_argv(d.config_path, config), d)
    return {"name": config.name, "pid": pid, "mode": config.mode, "path": str(d.path)}


def pair_plans(config: TrainConfig, modes=("cft", "sft"), *, side_by_side: bool = True,
               skipped: dict[str, str] | None = None) -> list[Plan]:
    """One plan per mode: identical hyperparameters, the same samples and prompt policy, the same max_steps.

    Equal steps is the compute-matched comparison (PAIR_BUDGET_NOTE). Without max_steps the budget is the CFT set's
    epochs. ``side_by_side``: the runs will train at the same time, so on a CPU each gets half the cores.
    ``skipped``: when given, a baseline mode with no usable example is left out and its reason recorded there
    (a student that never answers right has no verified responses) instead of failing the whole pair.
    """
    from cft import models

    base = config.name
    common: dict[str, Any] = dict(pair=f"{base}-{uuid.uuid4().hex[:6]}", budget=PAIR_BUDGET_NOTE)
    if side_by_side and config.torch_threads == 0 and _gpu_count() == 0:
        from cft.train.hardware import physical_cores

        common["torch_threads"] = max(1, physical_cores() // len(modes))
    tokenizer = models.load_tokenizer(config.base_model)
    samples = load_samples(config)
    world = max(1, _gpu_count())
    plans = []
    for m in modes:
        try:
            plans.append(make_plan(config.replace(name=f"{base}-{m}", mode=m, **common), samples=samples,
                                   tokenizer=tokenizer, world_size=world))
        except UserError as exc:
            if skipped is None or m == "cft":
                raise
            skipped[m] = str(exc)
    return equal_steps(plans, config.max_steps)


def equal_steps(plans: list, max_steps: int) -> list:
    """The plans re-made to take the same number of optimizer steps: ``max_steps`` when set, else the first plan's
    (a paired comparison gives every side the same budget), each with the warnings of its own data."""
    steps = max_steps if max_steps > 0 else plans[0].steps
    out = []
    for plan in plans:
        cfg = plan.config.replace(max_steps=steps)
        out.append(Plan(cfg, plan.data, steps, warnings_for(cfg, plan.data, steps)))
    return out


def pair_configs(config: TrainConfig, modes=("cft", "sft")) -> list[TrainConfig]:
    return [p.config for p in pair_plans(config, modes)]


def launch_pair(config: TrainConfig, modes=("cft", "sft")) -> list[dict]:
    plans = pair_plans(config.validate(), modes)
    for plan in plans:  # refuse before starting any
        if job(plan.config.name).exists():
            raise UserError(f"run {plan.config.name!r} already exists: pick another name for the pair")
    return [launch(plan.config, plan=plan) for plan in plans]


def name_taken(name: str) -> bool:
    """Whether a launch named ``name`` would collide: the run, or one of a pair's runs (``<name>-cft`` ...)."""
    modes = ("", "-cft", "-sft", "-sft-verified")
    try:
        return any(job(f"{name}{m}").exists() for m in modes)
    except UserError:
        return False


def fresh_name(prefix: str = "run", taken=None) -> str:
    """A run name no run or pair uses yet: ``run-MMDD-HHMM``, then ``-2``, ``-3``... (read at each call, never
    frozen at server start, so a second launch of the same form does not collide). ``taken(name)`` says whether a
    name is in use (default: :func:`name_taken`)."""
    taken = taken or name_taken
    base = f"{prefix}-{time.strftime('%m%d-%H%M')}"
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name


def get(name: str) -> dict:
    """Everything the UI shows about one run."""
    d = job(name)
    if not d.exists():
        raise UserError(f"run {name!r} not found in {workspace.runs_dir()}")
    config = d.config()
    status = d.status()
    progress = d.progress()
    metrics = d.metrics()
    train_points = [m for m in metrics if m.get("loss") is not None]
    eval_points = [m for m in metrics if m.get("eval_loss") is not None]
    speeds = [m["tokens_per_s"] for m in train_points if m.get("tokens_per_s")]
    adapter = workspace.final_weights(d.path)
    return {
        "name": name,
        "mode": config.get("mode", ""),
        "status": status.get("state", "unknown"),
        "shown_status": jobs.display_state(d, status),  # "stopping…" after a stop, until the job has ended
        "base_model": config.get("base_model", ""),
        "dataset": config.get("dataset", ""),
        "pair": config.get("pair", ""),
        "adapter_path": str(adapter) if workspace.holds_weights(adapter) else None,
        "step": progress.get("done", 0),
        "max_steps": progress.get("total") or status.get("max_steps") or 0,
        "eta": progress.get("eta") if status.get("state") == "running" else None,
        "tokens_per_s": speeds[-1] if speeds else None,
        "final_loss": train_points[-1]["loss"] if train_points else None,
        "eval_loss": eval_points[-1]["eval_loss"] if eval_points else None,
        "error": status.get("error"),
        "pid": status.get("pid"),
        "started_at": status.get("started_at"),
        "path": str(d.path),
    }


def list_runs() -> list[dict]:
    """Every run, newest first."""
    out = []
    for path in workspace.runs_dir().iterdir():
        if path.is_dir() and not path.name.startswith(".") and jobs.JobDir(path).exists():
            out.append(get(path.name))
    out.sort(key=lambda r: r.get("started_at") or 0, reverse=True)
    return out


def metrics(name: str) -> list[dict]:
    return job(name).metrics()


def log_tail(name: str, n: int = 60) -> str:
    return job(name).log_tail(n)


def config_of(name: str) -> TrainConfig:
    d = job(name)
    if not d.config_path.exists():
        raise UserError(f"run {name!r} not found in {workspace.runs_dir()}")
    return TrainConfig.from_json(d.config_path)


def stop(name: str) -> bool:
    """Ask a running job to stop (SIGTERM to its process group): it saves a checkpoint and the adapter, then exits."""
    return jobs.stop(job(name))


def resume(name: str) -> dict:
    """Continue a stopped or failed run from its last checkpoint (from the start if it has none)."""
    state = job(name).status().get("state")
    if state == "completed":
        raise UserError(f"run {name!r} already completed; launch a new run to train further")
    return launch(config_of(name).replace(resume=True))


def wait(name: str, timeout: float = 600) -> dict:
    return jobs.wait(job(name), timeout=timeout)


def delete(name: str) -> None:
    d = job(name)
    if not d.exists():
        raise UserError(f"run {name!r} not found")
    if d.status().get("state") in jobs.ACTIVE:
        raise UserError(f"run {name!r} is still running; stop it first")
    shutil.rmtree(d.path)


def summary_rows(runs: list[dict] | None = None) -> list[list[Any]]:
    """The runs table: name, mode, status, progress, ETA, tokens/s, final loss, eval loss."""
    rows = []
    for r in runs if runs is not None else list_runs():
        progress = f"{r['step']}/{r['max_steps']}" if r["max_steps"] else str(r["step"] or "")
        rows.append([
            r["name"], r["mode"], r.get("shown_status", r["status"]), progress,
            jobs.format_eta(r["eta"]) if r["eta"] is not None else "",
            round(r["tokens_per_s"], 1) if r["tokens_per_s"] else None,
            round(r["final_loss"], 4) if r["final_loss"] is not None else None,
            round(r["eval_loss"], 4) if r["eval_loss"] is not None else None,
        ])
    return rows


SUMMARY_HEADERS = ["name", "mode", "status", "progress", "ETA", "tokens/s", "final loss", "eval loss"]


def pair_budget_text(config: TrainConfig) -> str:
    """How a pair's budget was matched, for the launch messages of the CLI and the Train tab."""
    return f"both for {config.max_steps} steps (equal optimizer updates)"
