"""The report's tables and verdicts, as Markdown text built from the stages' results (no numbers typed by hand).

Model labels: ``base`` and ``<mode>-s<seed>`` (``cft-s0``). A mode over several seeds is shown as mean ± sd, and
each seed has its own row with its Wilson 95% interval. Every claim comes from a paired comparison
(:mod:`cft.evaluate.paired`): the verdict follows the bootstrap interval of the difference, never the point.
"""

from __future__ import annotations

import statistics

from cft.evaluate.paired import paired_test_name
from cft.reproduce.config import ReproduceConfig


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def acc_cell(summary: dict) -> str:
    lo, hi = summary.get("ci95") or (0.0, 0.0)
    return f"{pct(summary['accuracy'])} [{pct(lo)}, {pct(hi)}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _seeds(cfg: ReproduceConfig, evals: dict, mode: str, bench: str) -> list[dict]:
    return [evals[f"{mode}-s{s}"][bench] for s in cfg.seed_list()]


def accuracy_tables(cfg: ReproduceConfig, evals: dict) -> str:
    benches = [b for b, _, _ in cfg.eval_plan()]
    rows = [["base"] + [acc_cell(evals["base"][b]) for b in benches]]
    for mode in cfg.modes:
        cells = []
        for b in benches:
            runs = _seeds(cfg, evals, mode, b)
            accs = [s["accuracy"] for s in runs]
            cells.append(acc_cell(runs[0]) if len(runs) == 1 else
                         f"{pct(statistics.mean(accs))} ± {pct(statistics.stdev(accs))}")
        rows.append([mode + (f" (mean ± sd, {cfg.seeds} seeds)" if cfg.seeds > 1 else "")] + cells)
    main = _table(["model"] + [f"{b} accuracy %" for b in benches], rows)
    if cfg.seeds == 1:
        return main
    per_seed = [[f"{mode}-s{s}"] + [acc_cell(evals[f"{mode}-s{s}"][b]) for b in benches]
                for mode in cfg.modes for s in cfg.seed_list()]
    return main + "\n\nEach seed, with its Wilson 95% interval:\n\n" + _table(["run"] + [f"{b} % [95% CI]" for b in benches],
                                                                               per_seed)


def comparison_table(comparisons: list[dict]) -> str:
    rows = []
    for c in comparisons:
        lo, hi = c["diff_ci95"]
        rows.append([c["benchmark"], c["baseline_mode"], c["candidate_mode"], c["n"], c["baseline_correct"],
                     c["candidate_correct"], c["fixed"], c["broke"],
                     f"{100 * c['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]", f"{c['mcnemar_p']:.3g} ({paired_test_name(c)})",
                     {"better": "candidate better", "worse": "candidate worse"}.get(c["verdict"], "no difference")])
    return _table(["benchmark", "baseline", "candidate", "n", "baseline right", "candidate right", "fixed", "broke",
                   "difference, points [95% CI]", "p (paired test)", "verdict (CI and paired test)"], rows)


MODE_NAMES = {"base": "the base model", "cft": "CFT", "sft": "SFT", "sft-verified": "SFT-verified"}


def verdict_lines(cfg: ReproduceConfig, comparisons: list[dict]) -> str:
    """One sentence per benchmark and baseline: the difference, its interval, the test, and what that allows."""
    lines = []
    for c in comparisons:
        if c["candidate_mode"] != "cft":
            continue
        lo, hi = c["diff_ci95"]
        seeds = f", {cfg.seeds} seeds a side" if cfg.seeds > 1 else ""
        figures = (f"{100 * c['diff']:+.1f} points, 95% CI [{100 * lo:+.1f}, {100 * hi:+.1f}], "
                   f"{paired_test_name(c)} p = {c['mcnemar_p']:.3g} ({c['fixed']} fixed, {c['broke']} broke)")
        other = MODE_NAMES.get(c["baseline_mode"], c["baseline_mode"])
        if c["verdict"] == "better":
            what = f"CFT beat {other}: {figures}. The interval excludes 0 and the paired test agrees."
        elif c["verdict"] == "worse":
            what = (f"CFT did **not** beat {other}; it did worse: {figures}. The interval excludes 0 and the paired "
                    "test agrees.")
        else:
            what = (f"no winner between CFT and {other}: {figures}. The interval includes 0 (or the paired test does "
                    "not reject), so this data cannot tell them apart.")
        lines.append(f"- **{c['benchmark']}** (n={c['n']}{seeds}): {what}")
        lines += [f"  - warning: {w}" for w in c.get("warnings", [])]
    return "\n".join(lines)


def side_effect_table(cfg: ReproduceConfig, evals: dict) -> str:
    rows = []
    for label in ["base"] + [f"{m}-s{s}" for m in cfg.modes for s in cfg.seed_list()]:
        for bench, _, _ in cfg.eval_plan():
            s = evals[label][bench]
            tokens = s.get("mean_output_tokens")
            rows.append([label, bench, pct(s.get("answer_rate")), "–" if tokens is None else f"{tokens:.0f}",
                         pct(s.get("critique_drift")), pct(1 - s["no_answer"] / s["n"]) if s.get("n") else "–"])
    return _table(["model", "benchmark", "explicit final answer %", "mean answer tokens", "drift into critique %",
                   "any answer extracted %"], rows)


def training_table(run_names: dict[str, str]) -> str:
    from cft.train import runs
    from cft.train.plan import read_meta

    rows = []
    for label, name in run_names.items():
        info, meta = runs.get(name), read_meta(runs.run_dir(name)) or {}
        s = meta.get("stats", {})
        fmt = lambda v: f"{v:.4f}" if isinstance(v, (int, float)) else "–"  # noqa: E731
        rows.append([name, label.rsplit("-s", 1)[0], s.get("train", "–"), s.get("eval", "–"),
                     s.get("dropped_too_long", "–"), s.get("without_solution", "–"), s.get("test_items_dropped", "–"),
                     info["step"], fmt(info["final_loss"]), fmt(info["eval_loss"])])
    return _table(["run", "mode", "train examples", "held out", "dropped (too long)", "questions without a target",
                   "test items left out", "steps", "final train loss", "final held-out loss"], rows)


def critic_table(critics: dict) -> str:
    rows = [[label, acc_cell(c), f"{c['wrong_f1']:.3f}", pct(c["unknown_rate"]), c["n"]] for label, c in critics.items()]
    return _table(["model", "verdict accuracy % [95% CI]", "F1 on wrong", "no verdict %", "n"], rows)


def splits_text(cfg: ReproduceConfig, evals: dict, selection: dict) -> str:
    reported = ", ".join(f"`{b}` ({evals['base'][b]['n']} items" + (f", a seed-{cfg.seed} subset)" if limit else ", all)")
                         for b, limit, _ in cfg.eval_plan())
    lines = [f"- Reported: {reported}.",
             f"- Training questions: `{cfg.source}`; every training example whose question is an item of a registered "
             "test set is left out (the training table counts them)."]
    if not selection:
        lines.append("- No checkpoint selection: every run is reported at its final weights, so nothing was chosen "
                     "by looking at any evaluation items.")
    else:
        overlaps = ", ".join(f"`{b}` {n}" for b, n in selection["overlaps"].items())
        lines.append(f"- Checkpoints were picked on `{selection['selection']}` ({selection['limit']} items), a "
                     f"validation set; items it shares with the reported benchmarks: {overlaps}.")
        for label, record in selection["records"].items():
            best = record["best"]
            lines.append(f"  - {label}: {best['checkpoint']} of {len(record['candidates'])} checkpoints "
                         f"({pct(best['accuracy'])}% on validation)")
    return "\n".join(lines)


def ledger_table(ledger) -> str:
    return _table(["stage", "item", "action", "why"], [list(e) for e in ledger.entries])


def time_table(seconds: dict[str, float], work: dict[str, float] | None = None) -> str:
    """Each stage's seconds in this run and, beside them, what its work took when it was done (a stage that reused
    finished work is quick now; the second column keeps the time it really cost)."""
    work = work or {}
    rows = [[k, f"{v:.1f}", f"{work[k]:.1f}" if k in work else "reused, not recorded"] for k, v in seconds.items()]
    known = sum(work.get(k, 0.0) for k in seconds)
    total = f"**{known:.1f}**" + ("" if all(k in work for k in seconds) else " (of the recorded stages)")
    rows.append(["**total**", f"**{sum(seconds.values()):.1f}**", total])
    return _table(["stage", "this run, s", "when its work was done, s"], rows)
