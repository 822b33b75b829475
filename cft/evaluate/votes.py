"""Votes on side-by-side answers, appended to ``workspace/votes.jsonl`` with the models, the problem and the answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cft import jobs, workspace
from cft.errors import UserError

SLOT_NAMES = ("A", "B", "C")
VOTES = ("A better", "B better", "tie", "both bad")


def votes_path() -> Path:
    return workspace.home() / "votes.jsonl"


def record_vote(vote: str, labels: list[str], problem: dict, answers: list[str] | None = None, voter: str = "") -> dict:
    """Append one vote with the models and the problem (and the answers judged) to workspace/votes.jsonl."""
    if vote not in VOTES:
        raise UserError(f"vote must be one of {VOTES}, got {vote!r}")
    # Positional: slot A is the first dropdown whatever the others hold, so "A better" always means that model.
    models = {slot: lab for slot, lab in zip(SLOT_NAMES, labels or []) if lab}
    if len(models) < 2:
        raise UserError("vote: compare at least two models first")
    if "A" not in models or "B" not in models:
        raise UserError("vote: A-versus-B votes need models in slots A and B")
    if not problem or not problem.get("question"):
        raise UserError("vote: no problem has been answered yet")
    record = {"at": time.time(), "vote": vote, "models": models,
              "problem": {k: problem.get(k, "") for k in ("benchmark", "id", "question", "reference")},
              "answers": {slot: a for slot, a in zip(SLOT_NAMES, answers or []) if slot in models}, "voter": voter}
    with open(votes_path(), "a") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record


def read_votes() -> list[dict]:
    return jobs.read_jsonl(votes_path())
