"""What the Compare tab shows: slot headers and marks, the accuracy and critic tables, fixed/broke rows, eval jobs,
the best checkpoint, the vote tally, and the choices of its dropdowns."""

from __future__ import annotations

from pathlib import Path

from cft import jobs, models
from cft.errors import UserError
from cft.evaluate.config import KIND, eval_dir, resolve_adapter
from cft.evaluate.results import diff_evals, finished_evals, list_evals
from cft.evaluate.selection import best_checkpoint
from cft.evaluate.stats import format_accuracy
from cft.evaluate.votes import SLOT_NAMES, VOTES, read_votes
from pages.render import format_eta

AGGREGATE_HEADERS = ["model", "benchmark", "accuracy [95% Wilson CI]", "n", "eval", "complete"]
CRITIC_HEADERS = ["model", "source", "verdict accuracy", "F1 (wrong)", "unknown", "n", "eval"]
STEP_HEADERS = ["critic", "source", "erroneous: exact first wrong step", "correct: no mistake found", "F1", "n", "eval"]
DIFF_HEADERS = ["id", "question", "reference", "baseline answer", "CFT answer"]
JOB_HEADERS = ["eval", "state", "progress", "correct so far", "eta"]


# -- choices -------------------------------------------------------------------------------------------------------
def model_labels() -> list[str]:
    return [m["label"] for m in models.list_models()]


def eval_names(kind: str = KIND) -> list[str]:
    return [e["name"] for e in finished_evals(kind)]


def benchmark_names() -> list[str]:
    from cft.data.benchmarks import list_benchmarks

    return [b["name"] for b in list_benchmarks()]


def eval_models(name: str) -> str | None:
    """The model label an eval ran, as the dropdowns name it (so a diff row opens with the right models)."""
    config = jobs.JobDir(eval_dir(name)).config()
    adapter = config.get("adapter")
    options = models.list_models()
    if not adapter:
        return next((m["label"] for m in options if m["kind"] == "embedded"), None) \
            if (config.get("model") in (None, "embedded")) else None
    try:
        path = str(resolve_adapter(adapter))
    except UserError:
        return None
    return next((m["label"] for m in options if m.get("adapter") and str(Path(m["adapter"]).resolve()) == path), None)


# -- side by side --------------------------------------------------------------------------------------------------
def slot_header(slot: int, label: str | None) -> str:
    return f"**{SLOT_NAMES[slot]}** · {label}" if label else f"**{SLOT_NAMES[slot]}** · *(no model)*"


def mark_markdown(result: dict | None) -> str:
    if not result:
        return ""
    extracted = result.get("extracted")
    shown = f"`{extracted}`" if extracted else "*no answer found*"
    if result.get("correct") is None:
        return f"Extracted: {shown} · no reference"
    mark = "✓ correct" if result["correct"] else ("✗ timed out" if result.get("timed_out") else "✗ wrong")
    return f"Extracted: {shown} · **{mark}**"


def vote_summary() -> str:
    votes = read_votes()
    if not votes:
        return "No votes yet."
    counts = {v: sum(1 for r in votes if r["vote"] == v) for v in VOTES}
    return f"{len(votes)} votes: " + ", ".join(f"{k} {n}" for k, n in counts.items())


# -- tables --------------------------------------------------------------------------------------------------------
def _bench_name(benchmark: str) -> str:
    """A custom benchmark file shows as its file name, not its whole path."""
    return Path(benchmark).name if benchmark.endswith((".jsonl", ".json")) else benchmark


def _preview(text: str, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def aggregate_table() -> list[list]:
    """One row per eval with a summary: the paper's table, for the user's models."""
    rows = []
    for e in finished_evals():
        s = e["summary"]
        rows.append([s.get("label", ""), _bench_name(s.get("benchmark", "")), format_accuracy(s), s.get("n", 0), e["name"],
                     "yes" if s.get("complete") else f"{s.get('n', 0)}/{s.get('total', '?')}"])
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


def critic_table() -> list[list]:
    rows = []
    for e in finished_evals("critic"):
        s = e["summary"]
        rows.append([s.get("label", ""), s.get("benchmark", ""), format_accuracy(s),
                     f"{s.get('wrong_f1', 0):.3f}", f"{100 * s.get('unknown_rate', 0):.1f}%", s.get("n", 0), e["name"]])
    return rows


def step_table() -> list[list]:
    """Step-level critic evals (ProcessBench's scores), each accuracy with its Wilson interval."""
    def cell(value, ci) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}% [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    rows = []
    for e in finished_evals("steps"):
        s = e["summary"]
        rows.append([s.get("label", ""), s.get("benchmark", ""), cell(s.get("error_accuracy"), s.get("error_ci95")),
                     cell(s.get("correct_accuracy"), s.get("correct_ci95")), cell(s.get("f1"), s.get("f1_ci95")),
                     s.get("n", 0), e["name"]])
    return rows


def diff_tables(baseline: str, candidate: str) -> tuple[list[list], list[list], str]:
    """(fixed rows, broke rows, a one-line summary) for the two lists in the tab."""
    d = diff_evals(baseline, candidate)

    def rows(items):
        return [[r["id"], _preview(r["question"]), r.get("reference", ""), d["baseline"][str(r["id"])].get("extracted") or "",
                 r.get("extracted") or ""] for r in items]

    note = (f"{d['common']} shared problems: CFT fixed {len(d['fixed'])}, broke {len(d['broke'])}; "
            f"both right {d['both_right']}, both wrong {d['both_wrong']}. Click a row to open it side by side.")
    return rows(d["fixed"]), rows(d["broke"]), note + "\n\n" + paired_markdown(baseline, candidate)


def paired_markdown(baseline: str, candidate: str) -> str:
    """The paired statistics of two evals, as ``python -m cft compare`` prints them, with any unfairness named."""
    from cft.evaluate.paired import compare_evals, describe, paired_test_name

    r = compare_evals(baseline, candidate)
    lo, hi = r["diff_ci95"]
    lines = [f"**Paired comparison** (n = {r['n']} shared): baseline {r['baseline_correct']} right, candidate "
             f"{r['candidate_correct']} right; fixed {r['fixed']}, broke {r['broke']}; difference "
             f"{100 * r['diff']:+.1f} points, paired bootstrap 95% CI [{100 * lo:+.1f}, {100 * hi:+.1f}]; "
             f"{paired_test_name(r)} p = {r['mcnemar_p']:.4g}.", f"Verdict: {describe(r)}."]
    lines += [f"⚠️ {w}" for w in r["warnings"]]
    return "\n\n".join(lines)


def regrade_markdown(name: str) -> str:
    """Re-grade an eval's saved outputs with the current grader and say how its accuracy moved."""
    from cft.evaluate.regrade import regrade

    if not name:
        raise UserError("pick an eval to re-grade")
    report = regrade(name)
    b, a = report["before"], report["after"]
    return (f"Re-graded `{name}` with grader {a['grader_version']} (was {a.get('regraded_from')}): "
            f"{format_accuracy(b)} → {format_accuracy(a)}; {len(report['changed'])} problem(s) changed.")


def jobs_table() -> list[list]:
    rows = []
    for e in list_evals(kind=None):
        p, st = e["progress"], e["status"]
        done, total = p.get("done", 0), p.get("total", 0)
        shown = jobs.display_state(jobs.JobDir(eval_dir(e["name"])), st)
        rows.append([e["name"], shown, f"{done}/{total}" if total else "–", p.get("correct", ""),
                     format_eta(p.get("eta"), p.get("eta_rough", False)) if st.get("state") in jobs.ACTIVE else ""])
    return rows


def best_checkpoint_markdown(run: str) -> str:
    if not run:
        return ""
    record = best_checkpoint(run)
    if record is None:
        return f"No checkpoint selected yet for **{run}**."
    lines = [f"Best checkpoint of **{run}** on {_bench_name(record['benchmark'])} ({record['best']['n']} problems): "
             f"**{record['best']['checkpoint']}**", "", "| checkpoint | accuracy | correct |", "|---|---|---|"]
    for c in record["candidates"]:
        star = " ★" if c["checkpoint"] == record["best"]["checkpoint"] else ""
        lines.append(f"| {c['checkpoint']}{star} | {100 * c['accuracy']:.1f}% | {c['correct']}/{c['n']} |")
    return "\n".join(lines)
