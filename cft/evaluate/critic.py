"""Critic mode: can the model judge a solution? What CFT teaches, measured directly.

The model is asked exactly as CFT trained it (cft.prompts.critic_messages) to critique a (question, solution)
pair whose correctness is known, and its verdict is parsed from the ``Conclusion: right/wrong`` line
(cft.data.samples.parse_verdict). Pairs come from

- ``champ``: CHAMP's real GPT-3.5 / GPT-4 / PaLM-2 solutions (cft.data.benchmarks.champ_solutions). Where an item
  carries no correctness label, its final answer is graded against CHAMP's answer with cft.grading;
- ``dataset:NAME``: samples of a store dataset whose verdict is right or wrong (reviewed ones first), the
  verdicts serving as labels.

Reported: accuracy of the verdicts (an unparseable verdict counts as a miss), precision/recall/F1 on the
``wrong`` class (catching wrong solutions is the point), and the unknown rate. The results file and summary
live in ``evals/<name>/`` like an ordinary eval, with ``kind: critic``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from cft.errors import UserError
from cft.evaluate.config import EvalConfig
from cft.evaluate.runner import run_items, write_summary
from cft.evaluate.stats import critic_metrics, format_accuracy

KIND = "critic"


@dataclass
class CriticConfig(EvalConfig):
    """A critic job: ``benchmark`` names the pair source, ``champ`` or ``dataset:NAME``."""

    benchmark: str = "champ"
    kind: str = KIND

    def __post_init__(self) -> None:
        if not (self.benchmark == "champ" or self.benchmark.startswith("dataset:")):
            raise UserError(f"critic source must be 'champ' or 'dataset:NAME', got {self.benchmark!r}")
        super().__post_init__()


@dataclass
class Pair:
    id: str
    question: str
    solution: str
    label: str | None  # "right" / "wrong"; None: grade `solution` against `answer`
    answer: str | None = None
    source: str = ""
    graded_text: str | None = None  # what is graded against ``answer`` when there is no label (default: solution)


def champ_pairs() -> list[Pair]:
    """CHAMP's model solutions as pairs (solutions CHAMP recorded as API errors, e.g. truncated, are left out).

    The 540 solutions with a human first-wrong-step annotation carry their label; the others are labelled later,
    after subsetting, by grading the model's one-sentence final answer (CHAMP's follow-up turn) against CHAMP's.
    """
    from cft.data.benchmarks import champ_solutions, load_benchmark

    questions = {p.id: p.question for p in load_benchmark("champ")}
    pairs = []
    for s in champ_solutions():
        if s.error or not s.text:
            continue
        label = None if s.correct is None else ("right" if s.correct else "wrong")
        pairs.append(Pair(id=f"{s.problem_id}|{s.model}|{s.setting}", question=questions[s.problem_id],
                          solution=s.text, label=label, answer=s.answer, graded_text=s.summary or s.text,
                          source=f"{s.model} ({'human label' if label else 'graded'})"))
    return pairs


def dataset_pairs(dataset: str) -> list[Pair]:
    """Store samples with a right/wrong verdict; reviewed ones first (a human checked their label)."""
    from cft.data.store import Store

    store = Store()
    if dataset not in {d["name"] for d in store.datasets()}:
        raise UserError(f"critic source dataset:{dataset}: no such dataset in the sample store")
    reviewed, other = [], []
    for s in store.iter_samples(dataset, verdict=["right", "wrong"]):
        if s.status == "discarded" or not s.response:
            continue
        pair = Pair(id=str(s.key or s.id), question=s.question, solution=s.response, label=s.verdict,
                    answer=s.reference_answer, source=s.status)
        (reviewed if s.status == "reviewed" else other).append(pair)
    return reviewed + other


def load_pairs(source: str, *, limit: int | None, seed: int, grading_timeout: float = 5.0) -> list[Pair]:
    pairs = champ_pairs() if source == "champ" else dataset_pairs(source.split(":", 1)[1])
    if limit is not None and limit < len(pairs):
        if source == "champ":  # a seeded subset across all problems and solver models, not the first problems only
            pairs = random.Random(seed).sample(pairs, limit)
        else:
            pairs = pairs[:limit]  # reviewed first
    unlabeled = [p for p in pairs if p.label is None]
    if unlabeled:
        from cft.grading import grade_many

        missing = [p for p in unlabeled if not p.answer]
        if missing:
            raise UserError(f"critic pair {missing[0].id}: no correctness label and no reference answer to grade against")
        grades = grade_many([(str(p.answer), p.graded_text or p.solution) for p in unlabeled], timeout=grading_timeout)
        for p, g in zip(unlabeled, grades):
            p.label = "right" if g.correct else "wrong"
    if not pairs:
        raise UserError(f"critic source {source!r}: no (question, solution) pairs with a known right/wrong label")
    return pairs


def run_critic(config: CriticConfig, *, progress: Callable[[int, int, int], None] | None = None,
               stop_after: int | None = None, model_and_tokenizer=None, force: bool = False) -> dict:
    """Run (or resume) a critic eval; returns the summary, also written to summary.json."""
    from cft.data.samples import parse_verdict
    from cft.prompts import critic_messages

    def pairs() -> list[Pair]:
        return load_pairs(config.benchmark, limit=config.limit, seed=config.seed, grading_timeout=config.grading_timeout)

    def judged(batch, outputs) -> list[dict]:
        rows = []
        for p, out in zip(batch, outputs):
            verdict = parse_verdict(out)
            rows.append({"id": p.id, "question": p.question, "solution": p.solution, "source": p.source,
                         "label": p.label, "output": out, "verdict": verdict, "correct": verdict == p.label})
        return rows

    summary, rows = run_items(config, pairs, lambda p: critic_messages(p.question, p.solution),
                              judged, progress=progress, stop_after=stop_after, model_and_tokenizer=model_and_tokenizer,
                              force=force)
    summary.update(critic_metrics(rows))
    summary.pop("timed_out", None)
    summary.pop("no_answer", None)
    return write_summary(config, summary)


def format_summary(summary: dict) -> str:
    return (f"critic {summary['label']} on {summary['benchmark']}: verdict accuracy "
            f"{format_accuracy(summary)} (n={summary['n']}), F1 on wrong {summary['wrong_f1']:.3f} "
            f"(P {summary['wrong_precision']:.3f} / R {summary['wrong_recall']:.3f}), unknown {100 * summary['unknown_rate']:.1f}%")
