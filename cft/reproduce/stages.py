"""The reproduction's stages, each timed and each reused only when its fingerprint matches.

1-3 questions, student responses and teacher critiques (one dataset); 4 every mode trained on it, for every seed,
with equal optimizer steps; 5 optionally the checkpoint of each run picked on a validation set that shares no item
with what is reported; 6 the base model and every run evaluated on every benchmark; 7 each model as a critic.

Reuse is by fingerprint, never by name: before reusing a dataset, a run or an eval, the stage builds the fingerprint
the work would have now (config, data content, model revision) and compares it with the one recorded beside the
result. Equal: reused. Different: the stage says which parts changed and redoes the work (an eval whose only
difference is the grader is re-graded, not regenerated). Every decision goes into the :class:`Ledger`, which the
report prints.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cft import jobs, workspace
from cft.errors import UserError
from cft.fingerprint import Fingerprint, config_defaults, digest, model_identity
from cft.reproduce.config import ReproduceConfig

Log = Callable[[str], None]


class Timer:
    """Each stage's time in this run, and the time its work took when it was last done (``work``): a stage that
    only reused finished work keeps the time recorded in ``record`` (a JSON file) when that work was done."""

    def __init__(self, ledger: "Ledger | None" = None, record: Path | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.ledger, self.record = ledger, record
        self.work: dict[str, float] = jobs.read_json(record, {}) if record else {}

    def stage(self, name: str, fn: Callable[[], Any], log: Log) -> Any:
        log(f"[{name}] ...")
        start, before = time.time(), len(self.ledger.entries) if self.ledger else 0
        result = fn()
        self.seconds[name] = time.time() - start
        new = self.ledger.entries[before:] if self.ledger else []
        reused = bool(new) and all(action.startswith("reused") for _, _, action, _ in new)
        if not reused:  # a reused stage keeps the recorded time of its work, or none when it was never recorded
            self.work[name] = self.seconds[name]
        if self.record:
            jobs.write_json_atomic(self.record, self.work)
        log(f"[{name}] done in {self.seconds[name]:.1f} s")
        return result


@dataclass
class Ledger:
    """What each stage reused, redid, and why: printed by the log as it happens and by the report at the end."""

    entries: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, stage: str, item: str, action: str, why: str, log: Log) -> None:
        self.entries.append((stage, item, action, why))
        log(f"  {item}: {action}" + (f" ({why})" if why else ""))


def _decide(want: Fingerprint, recorded: Fingerprint | None, exists: bool) -> tuple[str, list[str]]:
    """("new" | "reuse" | "redo", the changes that force a redo)."""
    if not exists:
        return "new", []
    changes = want.changes(recorded)
    return ("redo", changes) if changes else ("reuse", [])


# ------------------------------------------------------------------------------------------------ 1-3 data


def _fingerprint_dir(cfg: ReproduceConfig, stage: str) -> Path:
    return workspace.safe_child(workspace.reports_dir(), cfg.name, "reproduce field name") / "fingerprints" / stage


def generate_config(cfg: ReproduceConfig):
    from cft.generate import GenerateConfig

    return GenerateConfig(
        source=cfg.source, n_questions=cfg.n_questions, seed=cfg.seed, student_model=cfg.student_model,
        samples_per_question=cfg.samples_per_question, temperature=cfg.student_temperature,
        max_new_tokens=cfg.student_max_new_tokens, batch_size=cfg.generate_batch_size, dataset=cfg.dataset,
        teacher=cfg.teacher, base_url=cfg.teacher_base_url, model=cfg.teacher_model,
        concurrency=cfg.teacher_concurrency, prompt_policy=cfg.prompt_policy,
    )


def generate(cfg: ReproduceConfig, ledger: Ledger, log: Log) -> dict:
    from cft.data.store import Store
    from cft.generate.job import run_generation
    from cft.generate.questions import load_questions

    gen = generate_config(cfg)
    questions = load_questions(gen, log=lambda line: log(f"  {line}"))
    want = Fingerprint({"config": {k: v for k, v in gen.to_dict().items() if k != "dataset"},
                        "questions": digest([(q.id, q.question, q.answer) for q in questions]),
                        **model_identity(cfg.student_model)}, defaults={"config": config_defaults(gen)})
    store = Store()
    exists = cfg.dataset in {d["name"] for d in store.datasets()}
    where = _fingerprint_dir(cfg, "data")
    decision, changes = _decide(want, Fingerprint.read(where), exists)
    if decision == "redo":
        ledger.add("data", cfg.dataset, "regenerated", "; ".join(changes), log)
        store.delete_dataset(cfg.dataset, confirm=cfg.dataset)
    else:
        ledger.add("data", cfg.dataset, "reused, completing what is missing" if exists else "generated",
                   "fingerprint matches" if exists else "", log)
    counts = run_generation(gen, api_key=os.environ.get("OPENAI_API_KEY"), store=store)
    want.write(where)
    result = counts.as_dict()
    result["questions"] = len(questions)
    log(f"  {len(questions)} questions; generated {result.get('generated')} responses, critiqued "
        f"{result.get('critiqued')}, failed {result.get('failed')}")
    return result


# ------------------------------------------------------------------------------------------------ 4 training


def train(cfg: ReproduceConfig, ledger: Ledger, log: Log) -> tuple[dict[str, str], dict[str, str]]:
    """Train every mode for every seed; returns ``{"cft-s0": run name, ...}`` and the modes left out, with why."""
    from cft.train import runs
    from cft.train.plan import examples_digest
    from cft.train.presets import preset_config as train_preset

    base = train_preset(
        cfg.train_preset, name=cfg.name, dataset=cfg.dataset, base_model=cfg.base_model, max_steps=cfg.max_steps,
        num_epochs=cfg.num_epochs, learning_rate=cfg.learning_rate, per_device_batch_size=cfg.per_device_batch_size,
        grad_accum=cfg.grad_accum, max_length=cfg.max_length, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
        warmup_ratio=cfg.warmup_ratio, prompt_policy=cfg.prompt_policy, finetuning=cfg.finetuning,
        save_steps=cfg.save_steps,
    ).validate()
    names: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for seed in cfg.seed_list():
        # One run after another: on a small machine runs side by side only slow each other and blur the timings.
        plans = runs.pair_plans(base.replace(name=f"{cfg.name}-s{seed}", seed=seed),
                                [m for m in cfg.modes if m not in skipped], side_by_side=False, skipped=skipped)
        for mode, why in skipped.items():
            if not any(e[1] == f"{cfg.name}-{mode}" for e in ledger.entries):
                ledger.add("train", f"{cfg.name}-{mode}", "left out", why, log)
        for plan in plans:
            name = plan.config.name
            want = runs.fingerprint(plan.config, examples_digest(plan))
            d = runs.job(name)
            decision, changes = _decide(want, Fingerprint.read(d.path), d.exists())
            state = d.status().get("state") if d.exists() else None
            if decision == "reuse" and state == "completed":
                ledger.add("train", name, "reused", "fingerprint matches, completed", log)
            elif decision == "reuse" and state in ("stopped", "failed"):
                ledger.add("train", name, "resumed", f"fingerprint matches, it had {state}", log)
                runs.resume(name)
            else:
                if decision == "redo" or state is not None:
                    ledger.add("train", name, "retrained", "; ".join(changes) or f"the existing run is {state}", log)
                    runs.delete(name)
                else:
                    ledger.add("train", name, "trained", "", log)
                runs.launch(plan.config, plan=plan)
            if runs.job(name).status().get("state") != "completed":
                status = runs.wait(name, timeout=cfg.train_timeout)
                if status.get("state") != "completed":
                    raise UserError(f"training run {name} ended {status.get('state')}: {status.get('error', '')}\n"
                                    f"{runs.log_tail(name, 20)}")
            info = runs.get(name)
            log(f"  {name}: {info['step']} steps, final loss {info['final_loss']}, eval loss {info['eval_loss']}")
            names[f"{plan.config.mode}-s{seed}"] = name
    return {k: v for k, v in names.items() if k.rsplit("-s", 1)[0] not in skipped}, skipped


def select(cfg: ReproduceConfig, run_names: dict[str, str], log: Log) -> tuple[dict[str, str], dict]:
    """The weights each run is reported with: its best checkpoint on the validation set, or its final adapter."""
    if not cfg.select_checkpoint:
        return dict(run_names), {}
    from cft.data.splits import check_disjoint
    from cft.evaluate.selection import select_checkpoint

    selection = cfg.selection_set()
    reported = [bench for bench, _, _ in cfg.eval_plan()]
    overlaps = check_disjoint(selection, reported, limit=cfg.selection_limit, seed=cfg.seed)
    tokens = cfg.eval_plan()[0][2]
    chosen, records = {}, {}
    for label, run in run_names.items():
        record = select_checkpoint(run, model=cfg.base_model, benchmark=selection, limit=cfg.selection_limit,
                                   seed=cfg.seed, max_new_tokens=tokens, batch_size=cfg.eval_batch_size,
                                   prompt_policy=cfg.prompt_policy)
        chosen[label] = f"{run}/{record['best']['checkpoint']}"
        records[label] = record
        log(f"  {run}: {record['best']['checkpoint']} ({100 * record['best']['accuracy']:.1f}% on {selection})")
    return chosen, {"selection": selection, "limit": cfg.selection_limit, "reported": reported,
                    "overlaps": overlaps, "records": records}


# ------------------------------------------------------------------------------------------------ 6-7 evals


def _run(config, runner, ledger: Ledger, log: Log) -> dict:
    """Run (or reuse, resume, re-grade, redo) one eval by its fingerprint."""
    from cft.evaluate.config import eval_dir
    from cft.evaluate.regrade import regrade
    from cft.evaluate.results import read_summary
    from cft.evaluate.runner import fingerprint

    where = eval_dir(config.name)
    want = fingerprint(config)
    decision, changes = _decide(want, Fingerprint.read(where), (where / "config.json").exists())
    summary = read_summary(config.name)
    if decision == "redo" and all(c.startswith("grader:") for c in changes) and summary and summary.get("complete"):
        ledger.add("evaluate", config.name, "re-graded", "; ".join(changes), log)
        return regrade(config.name)["after"]
    if decision == "redo":
        ledger.add("evaluate", config.name, "re-evaluated", "; ".join(changes), log)
    elif decision == "reuse":
        ledger.add("evaluate", config.name, "reused" if summary and summary.get("complete") else "resumed",
                   "fingerprint matches", log)
    return runner(config, force=decision == "redo")


def evaluate(cfg: ReproduceConfig, weights: dict[str, str], ledger: Ledger, log: Log) -> dict:
    """``{model label: {benchmark: summary}}`` for the base model and every run; eval names are ``summary["name"]``."""
    from cft.evaluate import EvalConfig
    from cft.evaluate.runner import run_eval
    from cft.evaluate.stats import format_accuracy

    out: dict[str, dict[str, dict]] = {}
    for label, adapter in {"base": None, **weights}.items():
        for bench, limit, tokens in cfg.eval_plan():
            ec = EvalConfig(name=f"{cfg.name}-{label}-{bench}", model=cfg.base_model, adapter=adapter, benchmark=bench,
                            limit=limit, seed=cfg.seed, max_new_tokens=tokens, batch_size=cfg.eval_batch_size,
                            prompt_policy=cfg.prompt_policy)
            summary = _run(ec, run_eval, ledger, log)
            out.setdefault(label, {})[bench] = summary
            log(f"  {label:16s} {bench}: {format_accuracy(summary)}")
    return out


def critic(cfg: ReproduceConfig, weights: dict[str, str], ledger: Ledger, log: Log) -> dict:
    from cft.evaluate.critic import CriticConfig, format_summary, run_critic

    out = {}
    for label, adapter in {"base": None, **weights}.items():
        cc = CriticConfig(name=f"{cfg.name}-{label}-critic", model=cfg.base_model, adapter=adapter,
                          benchmark=cfg.critic_source, limit=cfg.critic_limit, seed=cfg.seed,
                          max_new_tokens=cfg.critic_max_new_tokens, batch_size=cfg.eval_batch_size)
        out[label] = _run(cc, run_critic, ledger, log)
        log(f"  {format_summary(out[label])}")
    return out


def compare(cfg: ReproduceConfig, evals: dict) -> list[dict]:
    """Every paired comparison the report shows: CFT against each baseline, and each trained mode against base."""
    from cft.evaluate.paired import compare_evals

    def names(mode: str, bench: str) -> list[str]:
        if mode == "base":
            return [evals["base"][bench]["name"]]
        return [evals[f"{mode}-s{s}"][bench]["name"] for s in cfg.seed_list()]

    pairs = [(m, "cft") for m in cfg.modes if m != "cft"] + [("base", m) for m in cfg.modes]
    out = []
    for bench, _, _ in cfg.eval_plan():
        for baseline, candidate in pairs:
            result = compare_evals(names(baseline, bench), names(candidate, bench), seed=cfg.seed)
            out.append({"benchmark": bench, "baseline_mode": baseline, "candidate_mode": candidate, **result})
    return out


def reproduce(cfg: ReproduceConfig, log: Log = print) -> Path:
    from cft.reproduce.report import write_report

    cfg.validate()
    ledger = Ledger()
    timer = Timer(ledger, _fingerprint_dir(cfg, "data").parent / "stage_seconds.json")
    data = timer.stage("1-3 questions, student responses, teacher critiques", lambda: generate(cfg, ledger, log), log)
    run_names, skipped = timer.stage("4 train " + ", ".join(cfg.modes), lambda: train(cfg, ledger, log), log)
    if skipped:  # the rest of the reproduction compares the modes that could be trained
        cfg = cfg.replace(modes=[m for m in cfg.modes if m not in skipped])
    weights, selection = timer.stage("5 checkpoint selection", lambda: select(cfg, run_names, log), log)
    evals = timer.stage("6 evaluate", lambda: evaluate(cfg, weights, ledger, log), log)
    critics = timer.stage("7 critic mode", lambda: critic(cfg, weights, ledger, log), log)
    comparisons = compare(cfg, evals)
    path = write_report(cfg, seconds=timer.seconds, work_seconds=timer.work, data=data, run_names=run_names, weights=weights,
                        selection=selection, evals=evals, critics=critics, comparisons=comparisons, ledger=ledger,
                        skipped=skipped)
    log(f"report: {path}")
    return path
