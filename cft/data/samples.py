"""The critique sample and its verdict.

A sample is one (question, noisy response, critique) triple. The critique's closing line carries the
verdict: ``Conclusion: right [END]`` or ``Conclusion: wrong [END]`` in the paper's data; we also accept
"correct"/"incorrect", bold markdown and a missing ``[END]``.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

VERDICTS = ("right", "wrong", "unknown")
# uncritiqued: a student response waiting for its teacher critique (Generate tab).
# pending: critiqued, waiting for a human. draft: a human saved work in progress.
STATUSES = ("uncritiqued", "pending", "draft", "reviewed", "discarded")

_CONCLUSION = re.compile(
    r"conclusion\s*[:：]?\s*[*_`\s]*(?P<word>right|wrong|correct|incorrect)\b[*_`.\s]*(?:\[\s*END\s*\])?",
    re.IGNORECASE,
)
_WORD_TO_VERDICT = {"right": "right", "correct": "right", "wrong": "wrong", "incorrect": "wrong"}


def parse_verdict(critique: str | None) -> str:
    """``right`` / ``wrong`` from the last conclusion in ``critique``, else ``unknown``."""
    if not critique:
        return "unknown"
    matches = list(_CONCLUSION.finditer(critique))
    if not matches:
        return "unknown"
    return _WORD_TO_VERDICT[matches[-1].group("word").lower()]


def conclusion_line(verdict: str) -> str:
    if verdict not in ("right", "wrong"):
        raise ValueError(f"verdict must be 'right' or 'wrong', got {verdict!r}")
    return f"Conclusion: {verdict} [END]"


def set_verdict(critique: str, verdict: str) -> str:
    """Rewrite the critique's conclusion line to ``verdict`` (append one if there is none).

    ``unknown`` removes the conclusion line, so that the radio and the text always agree.
    """
    critique = critique or ""
    matches = list(_CONCLUSION.finditer(critique))
    if verdict == "unknown":
        if not matches:
            return critique
        last = matches[-1]
        return (critique[: last.start()] + critique[last.end():]).rstrip()
    line = conclusion_line(verdict)
    if matches:
        last = matches[-1]
        return critique[: last.start()] + line + critique[last.end():]
    sep = "\n\n" if critique.strip() else ""
    return critique.rstrip() + sep + line


def now() -> float:
    return time.time()


@dataclass
class Sample:
    """One critique sample as stored. ``flags`` maps a flag name to the reason it was raised."""

    question: str
    response: str = ""
    critique: str = ""
    dataset: str = "default"
    id: int | None = None
    # A stable external id, unique within a dataset (e.g. "gsm8k_train/12#3"): makes imports idempotent and
    # lets generation resume without duplicates.
    key: str | None = None
    verdict: str = "unknown"
    reference_answer: str | None = None
    reference_solution: str | None = None
    source: str = ""
    student_model: str = ""
    teacher: str = ""
    original_critique: str | None = None  # the teacher's critique, kept as the annotator's suggestion
    status: str = "pending"
    flags: dict[str, str] = field(default_factory=dict)
    revision: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    annotator: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sample":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def with_parsed_verdict(sample: Sample) -> Sample:
    """Set the verdict from the critique and raise/clear the ``no_conclusion`` flag."""
    sample.verdict = parse_verdict(sample.critique)
    if sample.critique and sample.verdict == "unknown":
        sample.flags["no_conclusion"] = "the critique has no 'Conclusion: right/wrong' line"
    else:
        sample.flags.pop("no_conclusion", None)
    return sample
