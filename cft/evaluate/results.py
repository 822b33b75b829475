"""Results on disk: ``results.jsonl`` (one line per problem, appended as the eval goes), ``summary.json``, the list
of evals, and per-problem diffs between two evals."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cft import jobs, workspace
from cft.errors import UserError
from cft.evaluate.config import KIND, EvalConfig, config_label, eval_dir
from cft.evaluate.stats import side_effects, wilson_interval
from cft.grading import GRADER_VERSION

def read_results(path_or_name: str | Path) -> list[dict]:
    """Rows of a results.jsonl (eval name or file), first occurrence of each id only; a torn last line is ignored."""
    path = Path(path_or_name)
    if not path.suffix == ".jsonl":
        path = eval_dir(str(path_or_name)) / "results.jsonl"
    rows, seen = [], set()
    # A torn last line is what a killed job was writing; its problem is redone on resume.
    for row in jobs.read_jsonl(path):
        key = str(row.get("id"))
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    return rows


def append_rows(path: Path, rows: list[dict]) -> None:
    # A torn last line (killed mid-write) must not swallow the next row: start on a fresh line.
    needs_newline = False
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            needs_newline = fh.read(1) != b"\n"
    with open(path, "a") as fh:
        if needs_newline:
            fh.write("\n")
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def summarize(rows: list[dict], *, total: int, seconds: float, config: EvalConfig) -> dict:
    n = len(rows)
    correct = sum(1 for r in rows if r.get("correct"))
    lo, hi = wilson_interval(correct, n)
    return {
        "name": config.name,
        "kind": config.kind,
        "model": (config.endpoint_model if config.engine == "endpoint" else config.model) or "embedded",
        "adapter": config.adapter,
        "label": config_label(config),
        "benchmark": config.benchmark,
        "limit": config.limit,
        "seed": config.seed,
        "max_new_tokens": config.max_new_tokens,
        "greedy": config.greedy,
        "n": n,
        "total": total,
        "complete": n >= total,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "ci95": [lo, hi],
        "timed_out": sum(1 for r in rows if r.get("timed_out")),
        "no_answer": sum(1 for r in rows if r.get("extracted") in (None, "")),
        "prompt_policy": config.prompt_policy,
        "grader_version": GRADER_VERSION,
        **side_effects(rows),
        "seconds": round(seconds, 2),
        "finished_at": time.time(),
    }


def read_summary(name: str) -> dict | None:
    return jobs.read_json(eval_dir(name) / "summary.json", None)


def list_evals(kind: str | None = KIND) -> list[dict]:
    """Every eval directory with its config, status and summary (None until the first summary is written)."""
    out = []
    root = workspace.evals_dir()
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        job = jobs.JobDir(d)
        config = job.config()
        if kind is not None and config.get("kind", KIND) != kind:
            continue
        out.append({"name": d.name, "config": config, "status": job.status(), "summary": read_summary(d.name),
                    "progress": job.progress()})
    return out


def finished_evals(kind: str = KIND) -> list[dict]:
    """Evals with a summary (complete or not)."""
    return [e for e in list_evals(kind) if e["summary"]]


def require_eval(name: str) -> Path:
    """The directory of eval ``name``, or an error naming it when there is no such eval (any more)."""
    path = eval_dir(name)  # a path or a bad name is refused by the name rule first
    if not path.is_dir():
        raise UserError(f"eval {name!r} does not exist (it may have been deleted or renamed)")
    return path


def rows_by_id(name: str) -> dict[str, dict]:
    """An eval's result rows by problem id; ``name`` is an eval's name (checked by the name rule), never a path.
    A missing eval is an error naming it, not an empty set of rows."""
    return {str(r["id"]): r for r in read_results(require_eval(name) / "results.jsonl")}


def diff_evals(baseline: str, candidate: str) -> dict:
    """Per-problem diff on the problems both evals answered: what the candidate (CFT) fixed and broke."""
    if not baseline or not candidate:
        raise UserError("pick a baseline eval and a CFT eval to diff")
    a, b = rows_by_id(baseline), rows_by_id(candidate)
    common = [pid for pid in a if pid in b]
    fixed = [b[pid] for pid in common if not a[pid].get("correct") and b[pid].get("correct")]
    broke = [b[pid] for pid in common if a[pid].get("correct") and not b[pid].get("correct")]
    return {"common": len(common), "fixed": fixed, "broke": broke,
            "both_right": sum(1 for pid in common if a[pid].get("correct") and b[pid].get("correct")),
            "both_wrong": sum(1 for pid in common if not a[pid].get("correct") and not b[pid].get("correct")),
            "baseline": {pid: a[pid] for pid in common}}
