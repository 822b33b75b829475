"""What the Train tab shows: the runs table, the loss chart of the chosen runs, and a run's log. Reads run dirs only."""

from __future__ import annotations

from cft import jobs
from cft.train import runs
from cft.train.plots import loss_figure


def default_selection(all_runs: list[dict]) -> list[str]:
    """What the chart shows before the user picks: running runs (and their pair partners), else the newest two."""
    active = [r for r in all_runs if r["status"] in jobs.ACTIVE]
    pairs = {r["pair"] for r in active if r["pair"]}
    chosen = [r["name"] for r in all_runs if r in active or (r["pair"] and r["pair"] in pairs)]
    return chosen or [r["name"] for r in all_runs[:2]]


def dashboard(selected: list[str] | None, smoothing: float = 0.6, log_y: bool = False, current: str | None = None) -> dict:
    """Everything the timer refreshes: the runs table, the chart, the chosen run's log."""
    all_runs = runs.list_runs()
    names = [r["name"] for r in all_runs]
    by_name = {r["name"]: r for r in all_runs}
    shown = [n for n in (selected or []) if n in by_name] or default_selection(all_runs)
    figure = loss_figure(
        [{"name": n, "mode": by_name[n]["mode"], "metrics": runs.metrics(n)} for n in shown],
        smoothing=float(smoothing or 0), log_y=bool(log_y),
    )
    if current not in by_name:
        current = names[0] if names else None
    log = ""
    if current:
        info = by_name[current]
        header = f"[{info['shown_status']}] {current}"
        if info.get("error"):
            header += f"\nerror: {info['error']}"
        log = header + "\n" + runs.log_tail(current, 60)
    return {"rows": runs.summary_rows(all_runs), "names": names, "shown": shown, "figure": figure, "current": current,
            "log": log}


def _fenced(text: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it, so sample text cannot close it early."""
    run, best = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    fence = "`" * max(3, best + 1)
    return f"{fence}text\n{text}\n{fence}"


def plan_markdown(plans: list, examples: int = 2) -> str:
    """What a launch trains, per mode: the numbers (examples, held out, dropped, steps), the warnings, and the first
    ``examples`` examples exactly as the model sees them (prompt, ``>>> TARGET >>>``, the loss-bearing target)."""
    from cft import models
    from cft.train.plan import preview_text

    tokenizer = models.load_tokenizer(plans[0].config.base_model) if examples else None
    parts = []
    for plan in plans:
        s = plan.stats
        parts.append(f"**{plan.config.mode}** (`{plan.config.name}`): {s['train']} training examples, {s['eval']} held "
                     f"out, {s['dropped_too_long']} dropped as too long, {s.get('without_solution', 0)} question(s) "
                     f"without a usable target, {s.get('test_items_dropped', 0)} test-set question(s) left out; "
                     f"**{plan.steps} optimizer steps**.")
        parts += [f"- ⚠️ {w}" for w in plan.warnings]
        if examples:
            parts.append(_fenced(preview_text(plan, tokenizer, examples)))
    return "\n\n".join(parts)
