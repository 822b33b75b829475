"""Re-grading: a finished eval's saved outputs graded again with the current grader, no generation.

Results files keep each raw output, so when the grader improves (its version is :data:`cft.grading.GRADER_VERSION`,
recorded in every summary) an eval is brought up to date in seconds. The results file is rewritten atomically, the
summary and the fingerprint record the new grader, and the returned report says how the accuracy moved and which
problems changed, so a reader sees what the grader change alone did.
"""

from __future__ import annotations

import json

from cft import jobs
from cft.errors import UserError
from cft.evaluate.config import KIND, EvalConfig, eval_dir
from cft.evaluate.results import read_results, read_summary, summarize
from cft.fingerprint import Fingerprint


def regrade(name: str) -> dict:
    """Grade ``name``'s outputs again; returns ``{"before", "after", "changed"}`` (summaries and the changed ids)."""
    from cft.grading import GRADER_VERSION, grade_many

    job = jobs.JobDir(eval_dir(name))
    if not job.config():
        raise UserError(f"eval {name!r} not found")
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"eval {name!r} is still running; re-grade it once it has stopped")
    config = EvalConfig.from_dict(job.config(), where=str(job.config_path))
    if config.kind != KIND:
        raise UserError(f"eval {name!r} is a {config.kind} eval: its verdicts are parsed, not graded")
    rows = read_results(name)
    if not rows:
        raise UserError(f"eval {name!r} has no results to re-grade")
    before = read_summary(name) or summarize(rows, total=len(rows), seconds=0.0, config=config)
    grades = grade_many([(str(r.get("reference", "")), str(r.get("output") or "")) for r in rows],
                        timeout=config.grading_timeout)
    new_rows, changed = [], []
    for row, g in zip(rows, grades):
        if bool(row.get("correct")) != bool(g.correct):
            changed.append(str(row["id"]))
        new_rows.append({**row, "extracted": g.extracted, "correct": bool(g.correct), "timed_out": bool(g.timed_out)})
    jobs.write_text_atomic(job.path / "results.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in new_rows))
    after = summarize(new_rows, total=int(before.get("total") or len(rows)), seconds=float(before.get("seconds", 0.0)),
                      config=config)
    after["regraded_from"] = before.get("grader_version", "1")
    jobs.write_json_atomic(job.path / "summary.json", after)
    recorded = Fingerprint.read(job.path)
    if recorded is not None:
        Fingerprint({**recorded.parts, "grader": GRADER_VERSION}).write(job.path)
    return {"before": before, "after": after, "changed": changed}
