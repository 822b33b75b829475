"""``python -m cft reproduce``: the paper's comparison, CFT against SFT on the same questions, end to end.

Stages (each timed, each resumable because every stage writes through the store, run dirs and eval dirs):
1. questions from a training split; 2. noisy student responses; 3. teacher critiques; 4. a LoRA CFT run and its
paired LoRA SFT run (same questions, same steps); 5. base/SFT/CFT evaluated on GSM8K and MATH-500 subsets;
6. each model as a critic on held-out solutions; then ``reports/<name>/report.md`` with plots.

The report states what happened, including when CFT does not beat SFT at this scale.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from cft import jobs, workspace
from cft.config import JobConfig, read_json_object
from cft.errors import UserError

# Quoted for context in every report (Wang, Yue & Chen, "Critique Fine-Tuning", arXiv 2501.17703).
PAPER_CONTEXT = """\
- CFT beat SFT by **4–10 points** on six math benchmarks (MATH, Minerva-Math, GSM8K, OlympiadBench, AIME24, AMC23),
  with 50K GPT-4o critiques of WebInstruct responses, across Qwen2.5, Qwen2.5-Math and DeepSeek-Math 7B bases.
- Qwen2.5-Math-7B-CFT reached **79.4% on MATH** and **41.6% on OlympiadBench** after about one hour on 8×H100
  (full fine-tuning, lr 5e-6, 1 epoch, global batch 512, max length 2048, cosine, warmup 0.1, checkpoint picked
  on MATH-500).
- Noisy responses sampled from the student itself worked almost as well as those from other models
  (55.1 against 57.1 average).
- At least 20% of the GPT-4o teacher critiques were themselves wrong.

These are 7B models trained on 50K examples; a 135M model trained for minutes is not expected to show the same
effect. Compare directions and intervals, not magnitudes."""


@dataclass
class ReproduceConfig(JobConfig):
    """Every choice of a reproduction. A JSON file can set any field; flags override it."""

    what = "reproduce config"

    name: str = "cpu-smoke"
    preset: str = "cpu-smoke"
    seed: int = 0
    # 1-3: data
    source: str = "gsm8k_train"
    n_questions: int = 16
    samples_per_question: int = 2
    student_model: str = "embedded"
    student_temperature: float = 0.8
    student_max_new_tokens: int = 192
    generate_batch_size: int = 16
    teacher: str = "verifier"  # "verifier" | "openai"
    teacher_base_url: str = ""
    teacher_model: str = ""
    teacher_concurrency: int = 8
    # 4: training (one config for both runs; the pair differs only in the objective)
    base_model: str = "embedded"
    train_preset: str = "cpu-quick"
    max_steps: int = 12
    num_epochs: float = 1.0
    learning_rate: float = 3e-4
    per_device_batch_size: int = 2
    grad_accum: int = 1
    max_length: int = 512
    lora_r: int = 8
    lora_alpha: int = 16
    warmup_ratio: float = 0.1
    train_timeout: float = 3600.0
    # 5: evaluation
    benchmarks: list[str] = field(default_factory=lambda: ["gsm8k", "math500"])
    eval_limit: int = 15
    eval_max_new_tokens: int = 256
    eval_batch_size: int = 16
    # 6: critic mode
    critic_source: str = "champ"
    critic_limit: int = 15
    critic_max_new_tokens: int = 192

    def validate(self) -> "ReproduceConfig":
        workspace.safe_child(workspace.reports_dir(), self.name, "reproduce field name")
        if self.teacher not in ("verifier", "openai"):
            raise UserError(f"reproduce field teacher={self.teacher!r}: expected 'verifier' or 'openai'")
        if self.teacher == "openai" and not (self.teacher_base_url and self.teacher_model):
            raise UserError("reproduce with teacher=openai needs teacher_base_url and teacher_model")
        for name in ("n_questions", "samples_per_question", "eval_limit", "critic_limit"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"reproduce field {name}={getattr(self, name)!r}: expected at least 1")
        if not self.benchmarks:
            raise UserError("reproduce field benchmarks: name at least one benchmark")
        return self

    @property
    def dataset(self) -> str:
        return f"repro-{self.name}"


PRESETS: dict[str, dict[str, Any]] = {
    # This 2-core CPU, well under 30 minutes: tiny numbers, no claims (the dataclass defaults are this preset).
    "cpu-smoke": {},
    # One GPU, the embedded model, thousands of questions.
    "gpu-small": dict(
        n_questions=2000, samples_per_question=2, student_max_new_tokens=512, generate_batch_size=64,
        train_preset="gpu", max_steps=-1, num_epochs=1.0, learning_rate=1e-4, per_device_batch_size=16, grad_accum=4,
        max_length=1536, lora_r=64, lora_alpha=128, eval_limit=500, eval_max_new_tokens=1024, eval_batch_size=64,
        critic_limit=500, critic_max_new_tokens=1024, train_timeout=6 * 3600,
    ),
    # The paper's hyperparameters (with LoRA instead of a full fine-tune), for a chosen model and an API teacher.
    "paper": dict(
        n_questions=50000, samples_per_question=1, student_max_new_tokens=1024, train_preset="gpu", max_steps=-1,
        num_epochs=1.0, learning_rate=5e-6, per_device_batch_size=8, grad_accum=64, max_length=2048,
        warmup_ratio=0.1, lora_r=64, lora_alpha=128, eval_limit=500, eval_max_new_tokens=2048, critic_limit=500,
        critic_max_new_tokens=1024, teacher="openai", train_timeout=48 * 3600,
    ),
}


def preset_config(preset: str, **overrides: Any) -> ReproduceConfig:
    if preset not in PRESETS:
        raise UserError(f"preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return ReproduceConfig.from_dict({**PRESETS[preset], "preset": preset, "name": preset, **overrides})


# ================================================================================== stages


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def stage(self, name: str, fn: Callable[[], Any], log: Callable[[str], None]) -> Any:
        log(f"[{name}] ...")
        start = time.time()
        result = fn()
        self.seconds[name] = time.time() - start
        log(f"[{name}] done in {self.seconds[name]:.1f} s")
        return result


def _generate(cfg: ReproduceConfig, log: Callable[[str], None]) -> dict:
    import os

    from cft.generate import GenerateConfig
    from cft.generate.job import run_generation

    gen = GenerateConfig(
        source=cfg.source, n_questions=cfg.n_questions, seed=cfg.seed, student_model=cfg.student_model,
        samples_per_question=cfg.samples_per_question, temperature=cfg.student_temperature,
        max_new_tokens=cfg.student_max_new_tokens, batch_size=cfg.generate_batch_size, dataset=cfg.dataset,
        teacher=cfg.teacher, base_url=cfg.teacher_base_url, model=cfg.teacher_model,
        concurrency=cfg.teacher_concurrency,
    )
    counts = run_generation(gen, api_key=os.environ.get("OPENAI_API_KEY"))
    result = counts.as_dict()
    log(f"  generated {result.get('generated')} responses, critiqued {result.get('critiqued')}, failed {result.get('failed')}")
    return result


def _verdict_counts(cfg: ReproduceConfig) -> dict:
    from cft.data.store import Store

    return Store().stats(cfg.dataset)


def _train(cfg: ReproduceConfig, log: Callable[[str], None]) -> dict[str, str]:
    from cft.train import runs
    from cft.train.presets import preset_config as train_preset

    base = train_preset(
        cfg.train_preset, name=cfg.name, dataset=cfg.dataset, base_model=cfg.base_model, max_steps=cfg.max_steps,
        num_epochs=cfg.num_epochs, learning_rate=cfg.learning_rate, per_device_batch_size=cfg.per_device_batch_size,
        grad_accum=cfg.grad_accum, max_length=cfg.max_length, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
        warmup_ratio=cfg.warmup_ratio, seed=cfg.seed,
    ).validate()
    cft_cfg, sft_cfg = runs.pair_configs(base)
    names = {}
    # One after the other: on a small machine two runs at once only slow each other and blur the timings.
    for mode, run_cfg in (("cft", cft_cfg), ("sft", sft_cfg)):
        existing = runs.job(run_cfg.name)
        if existing.exists() and existing.status().get("state") == "completed":
            log(f"  {run_cfg.name}: already completed, reused")
        else:
            if existing.exists():
                runs.delete(run_cfg.name)
            runs.launch(run_cfg)
            status = runs.wait(run_cfg.name, timeout=cfg.train_timeout)
            if status.get("state") != "completed":
                raise UserError(f"training run {run_cfg.name} ended {status.get('state')}: {status.get('error', '')}\n"
                                f"{runs.log_tail(run_cfg.name, 20)}")
        info = runs.get(run_cfg.name)
        log(f"  {run_cfg.name}: final loss {info['final_loss']}, eval loss {info['eval_loss']}")
        names[mode] = run_cfg.name
    return names


def _models(cfg: ReproduceConfig, run_names: dict[str, str]) -> dict[str, str | None]:
    return {"base": None, "sft": run_names["sft"], "cft": run_names["cft"]}


def _evaluate(cfg: ReproduceConfig, run_names: dict[str, str], log: Callable[[str], None]) -> dict:
    from cft.evaluate import EvalConfig
    from cft.evaluate.runner import run_eval
    from cft.evaluate.stats import format_accuracy

    out: dict[str, dict[str, dict]] = {}
    for label, adapter in _models(cfg, run_names).items():
        for bench in cfg.benchmarks:
            ec = EvalConfig(name=f"{cfg.name}-{label}-{bench}", model=cfg.base_model, adapter=adapter, benchmark=bench,
                            limit=cfg.eval_limit, seed=cfg.seed, max_new_tokens=cfg.eval_max_new_tokens,
                            batch_size=cfg.eval_batch_size)
            summary = run_eval(ec)
            out.setdefault(label, {})[bench] = summary
            log(f"  {label:4s} {bench}: {format_accuracy(summary)}")
    return out


def _critic(cfg: ReproduceConfig, run_names: dict[str, str], log: Callable[[str], None]) -> dict:
    from cft.evaluate.critic import CriticConfig, format_summary, run_critic

    out = {}
    for label, adapter in _models(cfg, run_names).items():
        cc = CriticConfig(name=f"{cfg.name}-{label}-critic", model=cfg.base_model, adapter=adapter,
                          benchmark=cfg.critic_source, limit=cfg.critic_limit, seed=cfg.seed,
                          max_new_tokens=cfg.critic_max_new_tokens, batch_size=cfg.eval_batch_size)
        out[label] = run_critic(cc)
        log(f"  {format_summary(out[label])}")
    return out


# ================================================================================== report


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _acc_cell(summary: dict) -> str:
    lo, hi = summary.get("ci95") or (0.0, 0.0)
    return f"{_pct(summary['accuracy'])} [{_pct(lo)}, {_pct(hi)}]"


def verdict_sentence(evals: dict, benchmarks: list[str]) -> str:
    """One honest sentence per benchmark: who won, by how much, and whether the intervals overlap."""
    lines = []
    for bench in benchmarks:
        c, s = evals["cft"][bench], evals["sft"][bench]
        diff = 100 * (c["accuracy"] - s["accuracy"])
        (clo, chi), (slo, shi) = c["ci95"], s["ci95"]
        overlap = not (clo > shi or slo > chi)
        if abs(diff) < 1e-9:
            what = "CFT and SFT tied"
        elif diff > 0:
            what = f"CFT beat SFT by {diff:.1f} points"
        else:
            what = f"CFT did **not** beat SFT: it trailed by {-diff:.1f} points"
        sig = ("the 95% intervals overlap, so this difference is not significant at this sample size"
               if overlap else "the 95% intervals do not overlap")
        lines.append(f"- **{bench}** (n={c['n']}): {what}; {sig}.")
    return "\n".join(lines)


def _versions() -> dict:
    from cft.system import PACKAGES, version

    return {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}}


def write_report(cfg: ReproduceConfig, *, timer: Timer, data: dict, stats: dict, run_names: dict[str, str],
                 evals: dict, critics: dict) -> Path:
    from cft.train import runs
    from cft.evaluate.results import diff_evals

    out = workspace.safe_child(workspace.reports_dir(), cfg.name)
    out.mkdir(parents=True, exist_ok=True)

    fig = pair_loss_figure(run_names)
    fig.write_html(out / "loss.html", include_plotlyjs="cdn")
    png_note = _write_png(fig, out / "loss.png")

    acc_rows = ["| model | " + " | ".join(f"{b} acc % [95% CI]" for b in cfg.benchmarks) + " |",
                "|---|" + "---|" * len(cfg.benchmarks)]
    for label in ("base", "sft", "cft"):
        acc_rows.append(f"| {label} | " + " | ".join(_acc_cell(evals[label][b]) for b in cfg.benchmarks) + " |")

    diff_rows = ["| benchmark | CFT vs SFT: fixed | broken | CFT vs base: fixed | broken |", "|---|---|---|---|---|"]
    for bench in cfg.benchmarks:
        vs_sft = diff_evals(f"{cfg.name}-sft-{bench}", f"{cfg.name}-cft-{bench}")
        vs_base = diff_evals(f"{cfg.name}-base-{bench}", f"{cfg.name}-cft-{bench}")
        diff_rows.append(f"| {bench} | {len(vs_sft['fixed'])} | {len(vs_sft['broke'])} | "
                         f"{len(vs_base['fixed'])} | {len(vs_base['broke'])} |")

    critic_rows = ["| model | verdict accuracy % [95% CI] | F1 on wrong | unknown % | n |", "|---|---|---|---|---|"]
    for label in ("base", "sft", "cft"):
        c = critics[label]
        critic_rows.append(f"| {label} | {_acc_cell(c)} | {c['wrong_f1']:.3f} | {_pct(c['unknown_rate'])} | {c['n']} |")

    loss_rows = ["| run | final train loss | final eval loss | steps |", "|---|---|---|---|"]
    for mode, name in run_names.items():
        info = runs.get(name)
        fmt = lambda v: f"{v:.4f}" if isinstance(v, (int, float)) else "–"  # noqa: E731
        loss_rows.append(f"| {name} ({mode}) | {fmt(info['final_loss'])} | {fmt(info['eval_loss'])} | {info['step']} |")

    total = sum(timer.seconds.values())
    time_rows = ["| stage | seconds |", "|---|---|", *[f"| {k} | {v:.1f} |" for k, v in timer.seconds.items()],
                 f"| **total** | **{total:.1f}** |"]

    text = f"""# CFT vs SFT reproduction: `{cfg.name}`

Preset `{cfg.preset}` · base model `{cfg.base_model}` · teacher `{cfg.teacher}{(' ' + cfg.teacher_model) if cfg.teacher_model else ''}` ·
{cfg.n_questions} questions from `{cfg.source}` × {cfg.samples_per_question} student responses · generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}

## Result

{verdict_sentence(evals, cfg.benchmarks)}

{"This is a smoke-scale run: it shows the pipeline works end to end. It makes no claim about CFT." if cfg.preset == "cpu-smoke" else ""}

## Accuracy (zero-shot, greedy, the paper's evaluation prompt)

{chr(10).join(acc_rows)}

Subsets of {cfg.eval_limit} problems per benchmark (seed {cfg.seed}), max {cfg.eval_max_new_tokens} new tokens.
Intervals are Wilson 95% intervals.

## Loss curves

![loss curves](loss.png)

Interactive: [loss.html](loss.html). {png_note}

{chr(10).join(loss_rows)}

Budget: {runs.config_of(run_names['cft']).budget}

## Problems fixed and broken

{chr(10).join(diff_rows)}

"Fixed" counts problems the first model got wrong and CFT got right; "broken" the reverse.

## Critic accuracy (each model judging held-out solutions from `{cfg.critic_source}`)

{chr(10).join(critic_rows)}

## Data

Teacher verdicts on the generated samples: {json.dumps(stats.get('verdict', {}))}; statuses {json.dumps(stats.get('status', {}))};
flags {json.dumps(stats.get('flags', {}))}. Generation: {json.dumps({k: v for k, v in data.items() if isinstance(v, (int, float, str))})}.

## Time per stage

{chr(10).join(time_rows)}

A resumed reproduction reuses finished work (the store's samples, completed runs, finished evals), so those stages
show only the time to find it.

## The paper's figures, for context

{PAPER_CONTEXT}

## Exact config and versions

```json
{json.dumps({"config": cfg.to_dict(), "versions": _versions()}, indent=2)}
```

Reproduce with `python -m cft reproduce --config {out / 'config.json'}`.
"""
    jobs.write_json_atomic(out / "config.json", cfg.to_dict())
    (out / "report.md").write_text(text)
    jobs.write_json_atomic(out / "results.json", {"evals": evals, "critics": critics, "seconds": timer.seconds,
                                                  "runs": run_names})
    return out / "report.md"


def pair_loss_figure(run_names: dict[str, str]):
    """The pair's loss curves for a static report: the report's heading names the plot, so the figure carries no
    title that a horizontal legend could overlap."""
    from cft.train import runs
    from cft.train.plots import loss_figure

    fig = loss_figure([{"name": n, "mode": mode, "metrics": runs.metrics(n)} for mode, n in run_names.items()],
                      smoothing=0.6, title="")
    fig.update_layout(title=None, margin=dict(t=70), yaxis_title="loss (CFT solid, SFT dashed)")
    return fig


def _write_png(fig, path: Path) -> str:
    """PNG through kaleido, which needs a Chrome/Chromium; without one the HTML plot still stands."""
    try:
        fig.write_image(path, width=900, height=420)
        return ""
    except Exception as exc:  # kaleido or Chrome missing: say so in the report instead of failing the whole run
        return f"(PNG not written: {type(exc).__name__}: {str(exc).splitlines()[0][:160]})"


def reproduce(cfg: ReproduceConfig, log: Callable[[str], None] = print) -> Path:
    cfg.validate()
    timer = Timer()
    data = timer.stage("1-3 questions, student responses, teacher critiques", lambda: _generate(cfg, log), log)
    stats = _verdict_counts(cfg)
    run_names = timer.stage("4 train CFT and SFT", lambda: _train(cfg, log), log)
    evals = timer.stage("5 evaluate base, SFT, CFT", lambda: _evaluate(cfg, run_names, log), log)
    critics = timer.stage("6 critic mode", lambda: _critic(cfg, run_names, log), log)
    path = write_report(cfg, timer=timer, data=data, stats=stats, run_names=run_names, evals=evals, critics=critics)
    log(f"report: {path}")
    return path


# ================================================================================== CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu-smoke")
    parser.add_argument("--config", help="a JSON file of ReproduceConfig fields (flags override it)")
    for f in fields(ReproduceConfig):
        if f.name == "preset":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.name == "benchmarks":
            parser.add_argument(flag, nargs="+", default=None, help="benchmarks to evaluate on")
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=None, help=f"(default: the preset's {f.name})")


def config_from_args(args: argparse.Namespace) -> ReproduceConfig:
    values: dict[str, Any] = read_json_object(args.config, "reproduce config") if args.config else {}
    preset = values.pop("preset", None) or args.preset
    overrides = {f.name: getattr(args, f.name) for f in fields(ReproduceConfig)
                 if f.name != "preset" and getattr(args, f.name, None) is not None}
    return preset_config(preset, **{**values, **overrides})
