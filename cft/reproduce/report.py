"""The reproduction's report: ``reports/<name>/report.md`` with the accuracy, loss, diff, critic and time tables,
an honest verdict per benchmark, the loss plot (PNG and HTML), the paper's figures, and the exact config."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from cft import jobs, workspace
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


def write_report(cfg: ReproduceConfig, *, seconds: dict[str, float], data: dict, stats: dict, run_names: dict[str, str],
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

    total = sum(seconds.values())
    time_rows = ["| stage | seconds |", "|---|---|", *[f"| {k} | {v:.1f} |" for k, v in seconds.items()],
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
    jobs.write_text_atomic(out / "report.md", text)
    jobs.write_json_atomic(out / "results.json", {"evals": evals, "critics": critics, "seconds": seconds,
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
