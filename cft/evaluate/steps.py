"""The step-level critic benchmark: can a critic find the first wrong step of a solution? Scored as ProcessBench is.

Each item is a solution with a human label: the number of its first wrong step, or 0 when it has no mistake.
Steps are numbered from 1 by :func:`cft.data.team.step_spans` (paragraphs; lines when there is one paragraph),
as an annotator numbers them in the editor. Items come from

- ``champ``: CHAMP's 540 model solutions with a human first-wrong-step annotation (cft.data.benchmarks): the
  annotated span's start is mapped to the step that holds it;
- ``dataset:NAME``: a store dataset's samples that annotators labelled with a first wrong step (or "no
  mistake"): a lead's adjudication when it carries a step, else the reviewers' label when they all agree (samples
  whose reviewers disagree are left out and counted).

The critic is a model (the embedded or any local model, a run's adapter, an OpenAI-compatible endpoint: the
ordinary EvalConfig fields), asked with :func:`cft.prompts.step_critic_messages` for the earliest wrong step in
``\\boxed{}``; or ``critic: verifier``, the arithmetic verifier (cft.generate.verifier), whose first false
equation is mapped to the step that holds it. A prediction is the last boxed integer (a negative one, ProcessBench's
"-1", means no mistake); without one, ``Conclusion: right`` means no mistake, and anything else is unknown,
which counts as a miss.

Reported, as ProcessBench does: accuracy on the erroneous solutions (the exact first wrong step), accuracy on the
correct ones (no mistake found), each with its Wilson interval, and F1, their harmonic mean (with a percentile
bootstrap interval over the items). Results and summary live in ``evals/<name>/`` with ``kind: steps``.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cft.errors import UserError
from cft.evaluate.config import EvalConfig
from cft.evaluate.runner import run_items, write_summary
from cft.intervals import wilson_interval

KIND = "steps"
CRITICS = ("model", "verifier")
BOOTSTRAP_RESAMPLES = 2000
FETCH_CHUNK = 500


@dataclass
class StepCriticConfig(EvalConfig):
    """A step-level critic job: ``benchmark`` is ``champ`` or ``dataset:NAME``; ``critic`` is ``model`` (the
    model/adapter/endpoint fields) or ``verifier``."""

    benchmark: str = "champ"
    critic: str = "model"
    kind: str = KIND
    extra_identity = ("critic",)

    def fingerprint_extra(self) -> dict:
        """Besides the critic: the items' content and labels (a relabelled dataset is another experiment)."""
        from cft.fingerprint import digest

        items, _ = self.items()
        return {"items": digest([(i.id, i.label, i.question, i.solution) for i in items])}

    def items(self) -> tuple[list["StepItem"], int]:
        """(items, disputed) of this config, read once per config object (the fingerprint and the run share it)."""
        if getattr(self, "_items", None) is None:
            self._items = load_items(self.benchmark, limit=self.limit, seed=self.seed)
        return self._items

    def __post_init__(self) -> None:
        if not (self.benchmark == "champ" or self.benchmark.startswith("dataset:")):
            raise UserError(f"step-level critic source must be 'champ' or 'dataset:NAME', got {self.benchmark!r}")
        if self.critic not in CRITICS:
            raise UserError(f"critic must be one of {', '.join(CRITICS)}, got {self.critic!r}")
        if self.critic == "verifier":
            if self.adapter or self.engine != "local":
                raise UserError("the verifier is not a model: give no adapter or endpoint with critic 'verifier'")
            if not self.name:
                from cft.evaluate.config import slug

                self.name = slug(f"steps-verifier-{self.benchmark.replace(':', '-')}-{self.limit or 'all'}")
        super().__post_init__()


@dataclass
class StepItem:
    id: str
    question: str
    solution: str
    label: int  # the first wrong step (1-based), 0 when the solution has no mistake
    answer: str | None = None
    source: str = ""


def champ_items() -> list[StepItem]:
    """CHAMP's solutions with a human first-wrong-step annotation, the span mapped to its step."""
    from cft.data.benchmarks import champ_solutions, load_benchmark
    from cft.data.team import step_at

    questions = {p.id: p.question for p in load_benchmark("champ")}
    items = []
    for s in champ_solutions():
        if s.correct is None or not s.text:
            continue
        label = 0 if s.correct else (step_at(s.text, s.first_wrong_at) if s.first_wrong_at is not None else None)
        if label is None:
            continue
        items.append(StepItem(f"{s.problem_id}|{s.model}|{s.setting}", questions[s.problem_id], s.text, label,
                              s.answer, s.model))
    return items


def dataset_items(dataset: str) -> tuple[list[StepItem], int]:
    """(items, samples left out because their labels disagree) of a store dataset's step labels.

    A sample's label is its latest adjudication's step (an adjudication without one leaves the sample out); else
    the reviewers' step when the dataset's K reviews are in, every one carries a step, and they all agree."""
    from cft.data.store import Store

    store = Store()
    if dataset not in {d["name"] for d in store.datasets()}:
        raise UserError(f"step-level critic source dataset:{dataset}: no such dataset in the sample store")
    needed = int(store.settings(dataset).get("reviews_needed") or 1)
    by_sample: dict[int, list[dict]] = {}
    for r in store.dataset_reviews(dataset):
        by_sample.setdefault(int(r["sample_id"]), []).append(r)
    labels, disputed = {}, 0
    for sid, rows in by_sample.items():
        adjudications = [r for r in rows if r["kind"] == "adjudication"]
        if adjudications:
            label = max(adjudications, key=lambda r: r["at"])["first_wrong_step"]
            if label is not None:
                labels[sid] = int(label)
            continue
        steps_given = [r["first_wrong_step"] for r in rows if r["kind"] == "review"]
        if len(steps_given) < needed or any(step is None for step in steps_given):
            continue  # not (yet) labelled by every reviewer it needs
        if len(set(steps_given)) > 1:
            disputed += 1
            continue
        labels[sid] = int(steps_given[0])
    items, ids = [], sorted(labels)
    for start in range(0, len(ids), FETCH_CHUNK):  # bounded IN (...) lists, whatever the dataset's size
        for sample in store.fetch(ids[start:start + FETCH_CHUNK]):
            if (sample.response or "").strip():
                items.append(StepItem(str(sample.id), sample.question, sample.response, labels[int(sample.id)],
                                      sample.reference_answer, f"sample {sample.key or sample.id}"))
    return items, disputed


def load_items(source: str, *, limit: int | None, seed: int) -> tuple[list[StepItem], int]:
    items, disputed = (champ_items(), 0) if source == "champ" else dataset_items(source.split(":", 1)[1])
    if not items:
        raise UserError(f"step-level critic source {source!r}: no solution carries a first-wrong-step label"
                        + (f" ({disputed} whose reviewers disagree: adjudicate them)" if disputed else ""))
    if limit is not None and limit < len(items):
        items = stratified_subset(items, limit, seed)
    return items, disputed


def stratified_subset(items: list[StepItem], limit: int, seed: int) -> list[StepItem]:
    """A seeded subset of ``limit`` items over every problem and solver, erroneous and correct solutions in their
    proportions (each group kept when there is room), so that both accuracies stay measurable."""
    rng = random.Random(seed)
    err = [i for i in items if i.label > 0]
    ok = [i for i in items if i.label == 0]
    n_ok = round(limit * len(ok) / len(items))
    if limit >= 2 and err and ok:
        n_ok = min(max(1, n_ok), limit - 1)
    n_ok = min(n_ok, len(ok))
    picked = rng.sample(err, min(limit - n_ok, len(err))) + rng.sample(ok, n_ok)
    rng.shuffle(picked)
    return picked


# -- predictions ---------------------------------------------------------------------------------------------------
_BOXED_INT = re.compile(r"\\boxed\s*\{\s*(?:step\s*)?(-?\d+)\s*\}", re.IGNORECASE)
_STEP_CONTEXT = re.compile(r"step|error|wrong|mistake", re.IGNORECASE)


def parse_step_answer(text: str, n_steps: int | None = None) -> int | None:
    """The critic's first wrong step: the last boxed integer that follows a mention of a step (or an error) within
    the sentence before it, else the last boxed integer (negative: no mistake, 0); else 0 when it concludes
    ``right``; else None (unknown). A step past ``n_steps`` is no step of the solution (a boxed corrected answer,
    say): None too."""
    from cft.data.samples import parse_verdict

    text = text or ""
    found = list(_BOXED_INT.finditer(text))
    if found:
        def sentence_before(i: int) -> str:  # back to the previous box or sentence end, at most 60 characters
            start = max(found[i - 1].end() if i else 0, found[i].start() - 60)
            return re.split(r"[.!?;\n]\s", text[start:found[i].start()])[-1]

        in_context = [m for i, m in enumerate(found) if _STEP_CONTEXT.search(sentence_before(i))]
        step = max(0, int((in_context or found)[-1].group(1)))
        return None if n_steps is not None and step > n_steps else step
    return 0 if parse_verdict(text) == "right" else None


def verifier_answer(item: StepItem) -> str:
    """The verifier's critique of ``item``, ending with its first wrong step in the benchmark's numbering."""
    from cft.data.team import step_at
    from cft.generate.verifier import clean_response, critique, split_steps

    result = critique(item.question, item.solution, item.answer)
    text = clean_response(item.solution)
    if result.first_error_step is not None:
        start = split_steps(text)[result.first_error_step - 1][0]
        step = step_at(text, start)
        tail = f"First wrong step: \\boxed{{{step}}}"
    elif result.verdict == "right":
        tail = "First wrong step: \\boxed{0}"
    else:  # a wrong final answer with every equation true: wrong, but no step to point at
        tail = "The final answer is wrong, but no step can be pointed at."
    return f"{result.critique}\n\n{tail}"


def verifier_generate(items: list[StepItem], on_item=None) -> tuple[list[str], list[None]]:
    out = []
    for i, item in enumerate(items):
        out.append(verifier_answer(item))
        if on_item is not None:
            on_item(i)
    return out, [None] * len(items)


# -- scoring -------------------------------------------------------------------------------------------------------
def harmonic_mean(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def step_metrics(rows: list[dict], *, seed: int = 0) -> dict:
    """ProcessBench's figures from result rows (``label``, ``predicted``): accuracy on erroneous and on correct
    solutions with Wilson intervals, their harmonic mean F1 with a percentile bootstrap interval (items resampled
    within each group), and how the misses fall."""
    err = [r for r in rows if r["label"] > 0]
    ok = [r for r in rows if r["label"] == 0]
    err_hits = np.array([r["predicted"] == r["label"] for r in err], dtype=float)
    ok_hits = np.array([r["predicted"] == 0 for r in ok], dtype=float)
    acc_err = float(err_hits.mean()) if len(err) else None
    acc_ok = float(ok_hits.mean()) if len(ok) else None
    f1 = harmonic_mean(acc_err, acc_ok) if len(err) and len(ok) else None
    f1_ci = None
    if len(err) and len(ok):
        rng = np.random.default_rng(seed)
        a = err_hits[rng.integers(0, len(err), (BOOTSTRAP_RESAMPLES, len(err)))].mean(axis=1)
        b = ok_hits[rng.integers(0, len(ok), (BOOTSTRAP_RESAMPLES, len(ok)))].mean(axis=1)
        f1s = np.where(a + b > 0, 2 * a * b / np.where(a + b > 0, a + b, 1), 0.0)
        f1_ci = [float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))]
    misses = Counter()
    for r in err:
        p = r["predicted"]
        misses["unknown" if p is None else "no mistake found" if p == 0 else "too early" if p < r["label"]
               else "too late" if p > r["label"] else "exact"] += 1
    return {
        "n": len(rows), "erroneous": len(err), "correct_solutions": len(ok),
        "error_accuracy": acc_err,
        "error_ci95": list(wilson_interval(int(err_hits.sum()), len(err))) if len(err) else None,
        "correct_accuracy": acc_ok,
        "correct_ci95": list(wilson_interval(int(ok_hits.sum()), len(ok))) if len(ok) else None,
        "f1": f1, "f1_ci95": f1_ci,
        "unknown": sum(1 for r in rows if r["predicted"] is None),
        "on_erroneous": dict(misses),
    }


def run_step_critic(config: StepCriticConfig, *, progress: Callable[[int, int, int], None] | None = None,
                    stop_after: int | None = None, model_and_tokenizer=None, force: bool = False) -> dict:
    """Run (or resume) a step-level critic eval; returns the summary, also written to summary.json."""
    from cft.data.team import steps
    from cft.prompts import step_critic_messages

    disputed = 0

    def items() -> list[StepItem]:
        nonlocal disputed
        found, disputed = config.items()
        return found

    def judged(batch, outputs) -> list[dict]:
        rows = []
        for item, out in zip(batch, outputs):
            # the verifier's critique quotes the solution (its boxes too): its answer is its last line alone
            answer = out.rsplit("\n\n", 1)[-1] if config.critic == "verifier" else out
            predicted = parse_step_answer(answer, len(steps(item.solution)))
            hit = predicted == item.label
            rows.append({"id": item.id, "question": item.question, "solution": item.solution, "source": item.source,
                         "steps": len(steps(item.solution)), "label": item.label, "output": out,
                         "predicted": predicted, "correct": hit})
        return rows

    if config.critic == "verifier":
        messages_of, generate = (lambda item: item), verifier_generate
    else:
        messages_of, generate = (lambda item: step_critic_messages(item.question, steps(item.solution))), None
    summary, rows = run_items(config, items, messages_of, judged, progress=progress, stop_after=stop_after,
                              model_and_tokenizer=model_and_tokenizer, force=force, generate=generate)
    summary.update(step_metrics(rows, seed=config.seed))
    summary.update({"critic": config.critic, "disputed_left_out": disputed})
    if config.critic == "verifier":
        summary["label"] = summary["model"] = "verifier"
    for key in ("timed_out", "no_answer"):
        summary.pop(key, None)
    return write_summary(config, summary)


def format_summary(s: dict) -> str:
    def figure(value, ci, what: str) -> str:
        if value is None:
            return f"n/a (no {what} in the items)"
        return f"{100 * value:.1f}% [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    lines = [f"step-level critic {s['label']} on {s['benchmark']} (n={s['n']}: {s['erroneous']} erroneous, "
             f"{s['correct_solutions']} correct){'' if s.get('complete', True) else ' [incomplete]'}",
             f"  erroneous: {figure(s['error_accuracy'], s['error_ci95'], 'erroneous solutions')} found the exact "
             f"first wrong step",
             f"  correct:   {figure(s['correct_accuracy'], s['correct_ci95'], 'correct solutions')} judged without "
             f"a mistake",
             f"  F1:        {figure(s['f1'], s['f1_ci95'], 'solutions of one of the two kinds')} (harmonic mean; "
             f"bootstrap interval)"]
    if s.get("on_erroneous"):
        lines.append("  on erroneous: " + ", ".join(f"{k} {v}" for k, v in sorted(s["on_erroneous"].items())))
    if s.get("unknown"):
        lines.append(f"  {s['unknown']} answer(s) named no step (counted as misses)")
    if s.get("disputed_left_out"):
        lines.append(f"  {s['disputed_left_out']} sample(s) left out: their reviewers disagree (adjudicate them)")
    return "\n".join(lines)
