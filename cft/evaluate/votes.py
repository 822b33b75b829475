"""Votes on side-by-side answers, appended to ``workspace/votes.jsonl`` with the models, the problem and the answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cft import jobs, workspace
from cft.errors import UserError

SLOT_NAMES = ("A", "B", "C")
# A vote for the best of the answers shown (any slot), a tie, or none right. "both bad" is how earlier versions
# wrote "all wrong"; it is read as that.
VOTES = ("A better", "B better", "C better", "tie", "all wrong")
LEGACY = {"both bad": "all wrong"}


def votes_path() -> Path:
    return workspace.home() / "votes.jsonl"


def record_vote(vote: str, labels: list[str], problem: dict, answers: list[str] | None = None, voter: str = "") -> dict:
    """Append one vote with the models and the problem (and the answers judged) to workspace/votes.jsonl."""
    vote = LEGACY.get(vote, vote)
    if vote not in VOTES:
        raise UserError(f"vote must be one of {VOTES}, got {vote!r}")
    # Positional: slot A is the first dropdown whatever the others hold, so "A better" always means that model.
    models = {slot: lab for slot, lab in zip(SLOT_NAMES, labels or []) if lab}
    if len(models) < 2:
        raise UserError("vote: compare at least two models first")
    voted = vote.split()[0] if vote.endswith(" better") else None
    if voted and voted not in models:
        raise UserError(f"vote: {vote!r} needs a model in slot {voted}; vote for one of the answers shown "
                        f"({', '.join(models)}), a tie, or all wrong")
    if not problem or not problem.get("question"):
        raise UserError("vote: no problem has been answered yet")
    record = {"at": time.time(), "vote": vote, "models": models,
              "problem": {k: problem.get(k, "") for k in ("benchmark", "id", "question", "reference")},
              "answers": {slot: a for slot, a in zip(SLOT_NAMES, answers or []) if slot in models}, "voter": voter}
    with open(votes_path(), "a") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record


def read_votes() -> list[dict]:
    return [{**r, "vote": LEGACY.get(r.get("vote"), r.get("vote"))} for r in jobs.read_jsonl(votes_path())]
