"""The reproduction's report: ``reports/<name>/report.md``, written only by code from the stages' results.

It holds the verdict per benchmark (from paired statistics), accuracy with Wilson intervals (mean ± sd over seeds and
each seed), every paired comparison, the side effects on the answers, the training data and runs, the splits (what
was reported, what picked checkpoints, their measured overlap), the loss plot, critic accuracy, what was reused or
redone and why, the time per stage, the hardware, the paper's figures for context, and the exact config.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from cft import jobs, workspace
from cft.reproduce import tables
from cft.reproduce.config import ReproduceConfig

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

SCALE_NOTES = {
    "cpu-smoke": "This is a smoke-scale run: it shows the pipeline works end to end. Its numbers are too small to "
                 "support any claim about CFT, and the intervals say so.",
    "cpu": "A 135M model trained for minutes on one-step arithmetic: the comparison is real but tiny. It says "
           "which objective moved this model on this task, not whether the paper's result holds for 7B models.",
}


def _versions() -> dict:
    from cft.system import PACKAGES, version

    return {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}}


def write_report(cfg: ReproduceConfig, *, seconds: dict[str, float], data: dict, run_names: dict[str, str],
                 weights: dict[str, str], selection: dict, evals: dict, critics: dict, comparisons: list[dict],
                 ledger, skipped: dict[str, str] | None = None, work_seconds: dict[str, float] | None = None) -> Path:
    from cft.data.store import Store
    from cft.prompts import PROMPT_POLICIES
    from cft.system import hardware

    out = workspace.safe_child(workspace.reports_dir(), cfg.name, "reproduce field name")
    out.mkdir(parents=True, exist_ok=True)
    fig = loss_figure(run_names)
    fig.write_html(out / "loss.html", include_plotlyjs="cdn")
    png_note = _write_png(fig, out / "loss.png")
    stats = Store().stats(cfg.dataset)
    teacher = cfg.teacher + (f" {cfg.teacher_model}" if cfg.teacher_model else "")

    text = f"""# CFT vs SFT reproduction: `{cfg.name}`

Preset `{cfg.preset}` · base model `{cfg.base_model}` ({cfg.finetuning}) · teacher `{teacher}` ·
{data.get('questions')} questions from `{cfg.source}` × {cfg.samples_per_question} student responses ·
modes {', '.join(cfg.modes)} · {cfg.seeds} training seed(s) per mode · prompt policy `{cfg.prompt_policy}`
({PROMPT_POLICIES[cfg.prompt_policy]}) · hardware: {hardware()} · generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}

## Result

{tables.verdict_lines(cfg, comparisons)}
{"".join(f"{chr(10)}- **{mode}** could not be trained, so it is not compared: {why}" for mode, why in (skipped or {}).items())}

{SCALE_NOTES.get(cfg.preset, "")}

## Accuracy (zero-shot, greedy)

{tables.accuracy_tables(cfg, evals)}

Benchmarks (name, items, max new tokens): {', '.join(f'`{b}` {evals["base"][b]["n"]} items, {t} tokens' for b, _, t in cfg.eval_plan())}.
Every model sees the same items, the same prompt and the same token budget. Intervals are Wilson 95% intervals.

## Paired comparisons

{tables.comparison_table(comparisons)}

Computed on the items both sides answered. "Fixed": the baseline was wrong and the candidate right; "broke": the
reverse; with several seeds an item's score is its mean over the seeds, its counts the mean number right per seed,
and "fixed"/"broke" the items whose mean rose/fell. The interval is a paired bootstrap of the difference (10,000
resamples of items). The p-value is the exact two-sided McNemar test on the discordant pairs with one seed a side,
and a two-sided paired sign-flip permutation test of the per-item differences with several (exact up to 16 items
that differ, 20,000 resamples beyond); the table names which.

## Side effects on the answers

{tables.side_effect_table(cfg, evals)}

Training on critiques can change how a model answers (the literature reports damage to instruction following):
this table shows the share of answers that state a final answer as asked, their length, and the share that drift
into the critique format (a `Conclusion: right/wrong` line).

## Training data and runs

{tables.training_table(run_names)}

Every mode trains on the same samples of `{cfg.dataset}` for the same number of optimizer steps. Teacher verdicts:
{json.dumps(stats.get('verdict', {}))}; flags {json.dumps(stats.get('flags', {}))}.

## Splits

{tables.splits_text(cfg, evals, selection)}

## Loss curves

![loss curves](loss.png)

Interactive: [loss.html](loss.html). {png_note}

## Critic accuracy (each model judging held-out solutions from `{cfg.critic_source}`)

{tables.critic_table(critics)}

## Reused and redone

{tables.ledger_table(ledger)}

Finished work is reused only when its fingerprint (config, data content, model revision) matches; otherwise the
stage names what changed and redoes it.

## Time per stage

{tables.time_table(seconds, work_seconds)}

## The paper's figures, for context

{PAPER_CONTEXT}

## Exact config and versions

```json
{json.dumps({"config": cfg.to_dict(), "versions": _versions(), "hardware": hardware()}, indent=2)}
```

Reproduce with `python -m cft reproduce --config {out / 'config.json'}`.
"""
    jobs.write_json_atomic(out / "config.json", cfg.to_dict())
    jobs.write_text_atomic(out / "report.md", text)
    jobs.write_json_atomic(out / "results.json", {"evals": evals, "critics": critics, "comparisons": comparisons,
                                                  "seconds": seconds, "work_seconds": work_seconds or seconds,
                                                  "runs": run_names, "weights": weights, "selection": selection,
                                                  "ledger": ledger.entries})
    return out / "report.md"


def loss_figure(run_names: dict[str, str]):
    """Every run's loss for a static report: the report's heading names the plot, so the figure carries no title
    that a horizontal legend could overlap."""
    from cft.train import runs
    from cft.train.plots import loss_figure as figure

    fig = figure([{"name": n, "mode": label.rsplit("-s", 1)[0], "metrics": runs.metrics(n)}
                  for label, n in run_names.items()], smoothing=0.6, title="")
    fig.update_layout(title=None, margin=dict(t=90), yaxis_title="loss (CFT solid, SFT dashed, verified dash-dot)")
    return fig


def _write_png(fig, path: Path) -> str:
    """PNG through kaleido, which needs a Chrome/Chromium; without one the HTML plot still stands."""
    try:
        fig.write_image(path, width=900, height=460)
        return ""
    except Exception as exc:  # kaleido or Chrome missing: say so in the report instead of failing the whole run
        return f"(PNG not written: {type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
