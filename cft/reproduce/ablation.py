"""One-click ablations of critique content (issue #16 item 5): two CFT runs that differ only in their targets, then
their evals compared item by item with the paired statistics of ``python -m cft compare``.

Kinds (baseline arm -> candidate arm; the fields are TrainConfig's, see cft.train.ablations):

- ``human``: the teacher's raw critiques -> the human-corrected ones, both on the samples an annotator corrected
  (the question the paper could not answer: does fixing the teacher's mistakes help?);
- ``strip-solution``: full critiques -> critiques with their embedded solutions and boxed answers cut;
- ``verdict-only``: full critiques -> ``Conclusion: right/wrong [END]`` alone (both on critiques with a verdict);
- ``ratio``: the natural share of wrong verdicts -> a chosen share, resampled at the same number of examples.

Both arms get the same samples (so the same questions and responses; ``ratio`` resamples the candidate's), the same
hyperparameters and seed, and the same optimizer steps (the baseline's epochs when max_steps is unset). The pair is
recorded in ``<workspace>/ablations/<name>.json``; its report, ``<workspace>/ablations/<name>.md``, evaluates both
arms' final adapters on the same benchmark items with greedy decoding (reused by fingerprint) and compares them.

May import: cft.train and cft.evaluate (this package's rule). Imported by: the CLI (``python -m cft ablate``) and
the Train tab.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from cft import jobs, workspace
from cft.errors import UserError

KINDS = {
    "human": ("raw teacher critiques against human-corrected ones (on the samples an annotator corrected)",
              ("teacher", dict(critique_source="teacher", sample_require="corrected")),
              ("human", dict(critique_source="current", sample_require="corrected"))),
    "strip-solution": ("full critiques against critiques with embedded solutions stripped",
                       ("full", dict()), ("stripped", dict(critique_transform="strip-solution"))),
    "verdict-only": ("full critiques against the verdict line alone",
                     ("full", dict(sample_require="verdict")),
                     ("verdict", dict(critique_transform="verdict-only", sample_require="verdict"))),
    "ratio": ("the natural right/wrong ratio against a chosen share of wrong verdicts",
              ("natural", dict(sample_require="verdict")), ("ratio", dict(sample_require="verdict"))),
}
ABLATION_NOTE = ("ablation pair: identical hyperparameters, seed and optimizer steps; the arms differ only in their "
                 "CFT targets (cft.train.ablations)")
Log = Callable[[str], None]


def ablations_dir() -> Path:
    return workspace.subdir("ablations")


def record_path(name: str) -> Path:
    return workspace.safe_child(ablations_dir(), f"{name}.json", "ablation name")


def arms(kind: str, ratio: float | None = None) -> list[tuple[str, dict]]:
    """The (suffix, TrainConfig overrides) of the baseline and the candidate arm of ``kind``."""
    if kind not in KINDS:
        raise UserError(f"ablation kind {kind!r}: expected one of {', '.join(KINDS)}")
    (a, a_over), (b, b_over) = KINDS[kind][1], KINDS[kind][2]
    if kind == "ratio":
        if ratio is None or not 0 <= float(ratio) <= 1:
            raise UserError(f"ablation kind ratio: --ratio must be the share of wrong verdicts in [0, 1], got {ratio!r}")
        b, b_over = f"wrong{round(100 * float(ratio))}", {**b_over, "wrong_ratio": float(ratio)}
    return [(a, dict(a_over)), (b, dict(b_over))]


def name_taken(name: str) -> bool:
    from cft.train import runs

    try:
        return record_path(name).exists() or any(runs.job(f"{name}-{s}").exists()
                                                 for kind in KINDS for s in (KINDS[kind][1][0], KINDS[kind][2][0]))
    except UserError:
        return False


def fresh_name(kind: str) -> str:
    from cft.train import runs

    return runs.fresh_name(f"abl-{kind}", taken=name_taken)


def plans(base, kind: str, ratio: float | None = None, *, tag: str = "", side_by_side: int = 2):
    """The two arms' plans (runs ``<base.name>-<arm><tag>``): the base config (mode cft) with each arm's overrides,
    built from one sample list and one tokenizer, with equal optimizer steps. Refuses a pair with no sample to
    compare on. ``side_by_side``: how many runs will train at once (on a CPU each gets its share of the cores)."""
    from cft import models
    from cft.train import runs
    from cft.train.ablations import corrected
    from cft.train.examples import load_samples
    from cft.train.plan import make_plan

    base = base.replace(mode="cft").validate()
    samples = load_samples(base)
    if kind == "human" and not any(corrected(s) for s in samples):
        raise UserError(f"ablation human: dataset {base.dataset!r} ({base.sample_filter} samples) has no critique an "
                        "annotator corrected (a critique whose teacher original differs): correct some in the Data "
                        "tab first")
    common: dict = dict(budget=ABLATION_NOTE, pair="")
    if base.torch_threads == 0 and runs._gpu_count() == 0:  # the runs train side by side: a share of the cores each
        from cft.train.hardware import physical_cores

        common["torch_threads"] = max(1, physical_cores() // max(1, side_by_side))
    tokenizer = models.load_tokenizer(base.base_model)
    world = max(1, runs._gpu_count())
    built = [make_plan(base.replace(name=f"{base.name}-{suffix}{tag}", **over, **common), samples=samples,
                       tokenizer=tokenizer, world_size=world) for suffix, over in arms(kind, ratio)]
    return runs.equal_steps(built, base.max_steps)


def launch(base, kind: str, *, ratio: float | None = None, name: str = "", seeds: int = 1) -> dict:
    """Launch both arms of an ablation and record them; returns the record. One seed: runs ``NAME-<arm>``;
    several (a claim that rests on training wants them): ``NAME-<arm>-s<seed>`` for seeds base.seed, +1, ...,
    each seed's pair with equal steps, and the report compares the arms over all seeds."""
    from cft.train import runs

    name = workspace.check_name(name or base.name or fresh_name(kind), "ablation name")
    if record_path(name).exists():
        raise UserError(f"ablation {name!r} already exists: pick another name")
    if not 1 <= int(seeds) <= 10:
        raise UserError(f"ablation seeds: expected 1 to 10 training seeds per arm, got {seeds!r}")
    from cft import demo

    if int(seeds) > 1 and demo.is_demo():  # a public CPU Space runs a pair at most, not 2 x seeds jobs
        raise UserError("demo mode: one training seed per arm (seeds 1)")
    seed_list = [base.seed + k for k in range(int(seeds))]
    pairs = [plans(base.replace(name=name, seed=seed), kind, ratio, tag=f"-s{seed}" if seeds > 1 else "",
                   side_by_side=2 * len(seed_list)) for seed in seed_list]
    for plan in (p for pair in pairs for p in pair):  # refuse before starting any
        if runs.job(plan.config.name).exists():
            raise UserError(f"run {plan.config.name!r} already exists: pick another ablation name")
    started = [runs.launch(plan.config, plan=plan) for pair in pairs for plan in pair]
    record = {"name": name, "kind": kind, "ratio": ratio, "what": KINDS[kind][0], "dataset": base.dataset,
              "steps": pairs[0][0].steps, "seeds": seed_list, "created_at": time.time(),
              "arms": [{"role": role, "arm": suffix, "run": pairs[0][i].config.name,
                        "runs": [pair[i].config.name for pair in pairs], "overrides": over,
                        "stats": pairs[0][i].stats, "warnings": pairs[0][i].warnings}
                       for i, (role, (suffix, over)) in enumerate(zip(("baseline", "candidate"), arms(kind, ratio)))]}
    jobs.write_json_atomic(record_path(name), record)
    return {**record, "started": started}


def arm_runs(arm: dict) -> list[str]:
    """An arm's runs, one per seed."""
    return list(arm.get("runs") or [arm["run"]])


def read(name: str) -> dict:
    record = jobs.read_json(record_path(name), None)
    if not record:
        names = sorted(p.stem for p in ablations_dir().glob("*.json"))
        raise UserError(f"ablation {name!r} not found; existing: {', '.join(names) or 'none'}")
    return record


def list_names() -> list[str]:
    paths = sorted(ablations_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.stem for p in paths]


def launch_text(record: dict) -> str:
    a, b = record["arms"]
    seeds = record.get("seeds") or [None]
    each = f", {len(seeds)} seeds a side" if len(seeds) > 1 else ""
    return (f"ablation {record['name']} ({record['kind']}: {record['what']}): baseline {', '.join(arm_runs(a))} "
            f"({a['stats']['train']} examples), candidate {', '.join(arm_runs(b))} ({b['stats']['train']} examples), "
            f"both for {record['steps']} steps (equal optimizer updates){each}")


# ------------------------------------------------------------------------------------------------ the report


def eval_configs(record: dict, *, benchmark: str = "gsm8k", limit: int | None = 50, seed: int = 0,
                 max_new_tokens: int = 512, batch_size: int = 8) -> list[list]:
    """Per arm (baseline, candidate), one greedy eval per run (seed), all of the same benchmark items, each run's
    final adapter on its base model."""
    from cft.evaluate import EvalConfig
    from cft.train import runs

    waiting = unfinished(record)
    if waiting:  # an eval of a run without its final adapter would fail less clearly
        raise UserError(f"ablation {record['name']}: not every arm has finished training: {', '.join(waiting)}")
    bench = Path(benchmark).stem if benchmark.endswith(".jsonl") else benchmark
    out = []
    for arm in record["arms"]:
        side = []
        for name in arm_runs(arm):
            run = runs.config_of(name)
            side.append(EvalConfig(name=f"{name}-{bench}-{limit or 'all'}", model=run.base_model, adapter=name,
                                   benchmark=benchmark, limit=limit, seed=seed, greedy=True,
                                   max_new_tokens=max_new_tokens, batch_size=batch_size,
                                   prompt_policy=run.prompt_policy))
        out.append(side)
    return out


def _flat(configs: list[list]) -> list:
    return [c for side in configs for c in side]


def unfinished(record: dict) -> list[str]:
    """The arms whose run has not completed, as "run (state step/max)"."""
    from cft.train import runs

    out = []
    for name in (n for arm in record["arms"] for n in arm_runs(arm)):
        info = runs.get(name)
        if info["status"] != "completed":
            out.append(f"{name} ({info['status']} {info['step']}/{info['max_steps']})")
    return out


def evaluate(record: dict, configs: list, log: Log = print) -> None:
    """Run (or reuse by fingerprint, resume, re-grade) each arm's eval in this process."""
    from cft.evaluate.runner import run_eval
    from cft.reproduce.stages import Ledger, _run

    waiting = unfinished(record)
    if waiting:
        raise UserError(f"ablation {record['name']}: not every arm has finished training: {', '.join(waiting)}")
    ledger = Ledger()
    for config in _flat(configs):
        _run(config, run_eval, ledger, log)


def launch_evals(record: dict, configs: list) -> list[str]:
    """Start, in the background, each arm's eval that is neither complete nor running; returns their names."""
    from cft.evaluate import job as eval_job
    from cft.evaluate.config import eval_dir
    from cft.evaluate.results import read_summary

    waiting = unfinished(record)
    if waiting:
        raise UserError(f"ablation {record['name']}: not every arm has finished training: {', '.join(waiting)}")
    started = []
    for config in _flat(configs):
        summary = read_summary(config.name)
        state = jobs.JobDir(eval_dir(config.name)).status().get("state")
        if (summary and summary.get("complete")) or state in jobs.ACTIVE:
            continue
        eval_job.launch(config, force=True)
        started.append(config.name)
    return started


def evals_done(configs: list) -> bool:
    from cft.evaluate.results import read_summary

    return all((read_summary(c.name) or {}).get("complete") for c in _flat(configs))


def report(record: dict, configs: list, *, seed: int = 0) -> tuple[dict, str, Path]:
    """The paired comparison of the arms' finished evals (baseline first; several seeds a side: each item's mean
    over seeds, cft.evaluate.paired), its markdown, and where it was written."""
    from cft.evaluate.paired import compare_evals, comparison_lines
    from cft.train.plan import read_meta
    from cft.train import runs

    if not evals_done(configs):
        raise UserError(f"ablation {record['name']}: the arms' evals have not finished "
                        f"({', '.join(c.name for c in _flat(configs))})")
    result = compare_evals([c.name for c in configs[0]], [c.name for c in configs[1]], seed=seed)
    seeds = record.get("seeds") or [None]
    lines = [f"# Ablation {record['name']}: {record['kind']}", "", f"{record['what'][0].upper()}{record['what'][1:]}; "
             f"dataset `{record['dataset']}`, {record['steps']} optimizer steps per run"
             f"{f', {len(seeds)} training seeds a side ({seeds})' if len(seeds) > 1 else ''}.", "",
             "| role | run | arm | training examples | critiques changed | wrong share | eval |",
             "|---|---|---|---|---|---|---|"]
    for arm, side in zip(record["arms"], configs):
        for name, config in zip(arm_runs(arm), side):
            stats = (read_meta(runs.run_dir(name)) or {}).get("stats", arm["stats"])
            lines.append(f"| {arm['role']} | `{name}` | {arm['arm']} | {stats.get('train', '')} | "
                         f"{stats.get('critiques_changed', 0)} | {stats.get('wrong_share', '')} | `{config.name}` |")
    c0 = configs[0][0]
    lines += ["", f"Both arms evaluated on {c0.benchmark} ({c0.limit or 'all'} items, seed {c0.seed}), greedy, "
              f"max_new_tokens {c0.max_new_tokens}.", "", "## Paired statistics", "", "```",
              *comparison_lines(result), "```", ""]
    text = "\n".join(lines)
    path = workspace.safe_child(ablations_dir(), f"{record['name']}.md", "ablation name")
    path.write_text(text, encoding="utf-8")
    return result, text, path


def report_or_progress(name: str, **eval_kwargs) -> str:
    """What the Train tab's Report button shows: the report's markdown once both arms are trained and evaluated;
    before that, where they are (the arms' evals are started in the background once both runs have completed)."""
    from cft.evaluate.config import eval_dir

    record = read(name)
    waiting = unfinished(record)
    if waiting:
        return (f"Ablation `{name}` has not finished training: {', '.join(waiting)}. Press Report once both runs "
                "have completed (resume a stopped or failed one with the Resume button).")
    configs = eval_configs(record, **eval_kwargs)
    if evals_done(configs):
        return report(record, configs, seed=configs[0][0].seed)[1]
    failed = [f"`{c.name}` failed ({jobs.JobDir(eval_dir(c.name)).status().get('error') or 'see its log'}), "
              "started again" for c in _flat(configs) if jobs.JobDir(eval_dir(c.name)).status().get("state") == "failed"]
    started = launch_evals(record, configs)
    where = failed[:]
    for config in _flat(configs):
        job = jobs.JobDir(eval_dir(config.name))
        progress = job.progress()
        where.append(f"`{config.name}` {job.status().get('state', 'queued')} "
                     f"{progress.get('done', 0)}/{progress.get('total') or '?'}")
    return (f"Ablation `{name}`: evaluating both arms on {configs[0][0].benchmark} "
            f"({'started ' + ', '.join(started) + '; ' if started else ''}{'; '.join(where)}). "
            "Press Report again when they finish.")
