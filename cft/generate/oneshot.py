"""One-Shot CFT: one question, N diverse student answers, every one critiqued, and CFT trained on the result.

The recipe of "Unleashing the Reasoning Potential of LLMs by Critique Fine-Tuning on One Problem": the generation
job is an ordinary one (cft.generate) whose ``question_id`` picks the one question of its source and whose
``samples_per_question`` is N; the student samples at temperature (local models, adapters or an endpoint), the
teacher (an OpenAI-compatible endpoint or the verifier) critiques each answer. What matters then is how diverse
the answers are (:func:`diversity`) and that only CFT is trained (an SFT baseline would have one example:
:func:`train_config`). The shared ``one-shot-cft-dsr-p0.jsonl`` (600 critiques of answers to one DeepScaleR
problem) is a dataset of this shape.
"""

from __future__ import annotations

from collections import Counter

from cft.errors import UserError


def pick_question(source: str, question_id: str):
    """The question ``question_id`` of ``source`` (cft.generate.questions.Question), or a clear error."""
    from cft.generate.config import GenerateConfig
    from cft.generate.questions import one_question

    if not (question_id or "").strip():
        raise UserError("type a question id to see the question (ids look like math500/17)")
    return one_question(GenerateConfig(source=(source or "").strip(), question_id=question_id.strip()))


def diversity(dataset: str, store=None) -> dict:
    """How varied a One-Shot dataset's answers and critiques are: samples, questions, distinct responses, distinct
    final answers (cft.grading's extraction), and the teacher's verdicts."""
    from cft.data.store import Store
    from cft.grading import extract_answer

    store = store or Store()
    if dataset not in {d["name"] for d in store.datasets()}:
        raise UserError(f"no dataset named {dataset!r} in the sample store")
    samples = list(store.iter_samples(dataset))
    answers = Counter(" ".join(str(extract_answer(s.response or "") or "").split()) for s in samples)
    answers.pop("", None)
    return {"samples": len(samples), "questions": len({s.question.strip() for s in samples}),
            "distinct_responses": len({(s.response or "").strip() for s in samples}),
            "distinct_final_answers": len(answers), "top_answers": answers.most_common(5),
            "verdicts": dict(Counter(s.verdict for s in samples))}


def describe_diversity(d: dict) -> str:
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(d["verdicts"].items()))
    top = ", ".join(f"{a!r} x{n}" for a, n in d["top_answers"])
    lines = [f"{d['samples']} samples of {d['questions']} question(s): {d['distinct_responses']} distinct responses, "
             f"{d['distinct_final_answers']} distinct final answers ({top or 'none extracted'}); verdicts: {verdicts}"]
    if d["samples"] and d["distinct_responses"] < d["samples"] / 2:
        lines.append("warning: fewer than half the responses differ; raise the temperature or use more students")
    if d["verdicts"].get("right", 0) == 0 or d["verdicts"].get("wrong", 0) == 0:
        lines.append("warning: the critiques all reach one verdict; CFT learns more from both right and wrong answers")
    return "\n".join(lines)


def train_config(dataset: str, *, preset: str = "cpu-quick", name: str = "", **overrides):
    """A CFT-only run on a One-Shot dataset (the preset's hyperparameters, ``overrides`` over them)."""
    import time

    from cft.train.presets import preset_config

    return preset_config(preset, dataset=dataset, mode="cft", name=name or time.strftime("oneshot-%m%d-%H%M%S"),
                         **overrides).validate()
