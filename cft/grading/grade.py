"""Grading entry points: extract each output's answer, compare it with the reference in the pool."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cft.grading.extract import extract_answer, reference_answer
from cft.grading.match import quick_match
from cft.grading.pool import shared_pool


@dataclass
class Grade:
    extracted: str | None
    correct: bool
    timed_out: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def answers_match(gold: str, pred: str | None, *, timeout: float = 5.0) -> bool:
    """Whether ``pred`` (an answer already extracted) equals ``gold``; safe from any thread.

    ``gold`` may be a bare reference or a worked solution (its boxed answer is the reference). Plain cases
    are decided in-process. Anything that needs sympy goes to the shared worker pool, because math-verify's
    alarm cannot interrupt sympy stuck in C code (or fire at all outside the main thread); a comparison that
    overruns ``timeout`` counts as no match."""
    if pred is None or gold is None:
        return False
    gold = reference_answer(gold)
    quick = quick_match(gold, pred)
    if quick is not None:
        return quick
    return shared_pool(None).compare([(str(gold), str(pred))], timeout)[0][0]


def grade_many(items: list[tuple[str, str]], *, timeout: float = 5.0, workers: int | None = None) -> list[Grade]:
    """Grade (reference answer, model output) pairs: extract each output's answer, compare in the pool."""
    extracted = [extract_answer(out, gold) for gold, out in items]
    grades: list[Grade | None] = [None] * len(items)
    pairs, where = [], []
    for i, ((gold, _), pred) in enumerate(zip(items, extracted)):
        ref = reference_answer(gold) if gold is not None else None
        if pred is None or not ref:
            grades[i] = Grade(pred, False, False)
        else:
            pairs.append((ref, pred))
            where.append(i)
    if pairs:
        for i, (ok, timed_out) in zip(where, shared_pool(workers).compare(pairs, timeout)):
            grades[i] = Grade(extracted[i], ok, timed_out)
    return grades  # type: ignore[return-value]


def grade_one(gold: str, output_text: str, timeout: float = 5.0) -> Grade:
    return grade_many([(gold, output_text)], timeout=timeout)[0]
