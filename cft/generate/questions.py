"""The questions of a generation job: a benchmark split, a .jsonl file or an existing dataset, and the key of each
sample (``<source>/<question id>#<k>``) that makes a relaunch resume without duplicates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cft.errors import UserError
from cft.generate.config import DATASET_SOURCE_PREFIX, GenerateConfig


@dataclass
class Question:
    id: str
    question: str
    answer: str | None
    solution: str | None
    source: str  # the tag used in sample keys and the sample's ``source`` field


def load_questions(config: GenerateConfig, store=None, log=print) -> list[Question]:
    """The job's questions, the same ones every time for the same config (so a relaunch resumes).

    ``source`` may name several sources separated by commas (``gsm8k_train,wordprob_train``): each gives what it
    has, in order, until ``n_questions`` are reached. Nothing is capped silently: when the sources hold fewer
    questions than asked, ``log`` says how many exist and all of them are used.
    """
    if config.question_id:
        return [one_question(config, store)]
    sources = [part.strip() for part in str(config.source).split(",") if part.strip()]
    wanted, out = int(config.n_questions), []
    for source in sources:
        if len(out) >= wanted:
            break
        got = _source_questions(source, config.replace(n_questions=wanted - len(out)), store)
        if len(out) or len(got) < wanted - len(out):
            log(f"questions: {len(got)} from {source}" + (" (all it has)" if len(got) < wanted - len(out) else ""))
        out += got
    if len(out) < wanted:
        log(f"questions: asked for {wanted}, the source(s) {', '.join(sources)} hold {len(out)}: using {len(out)}")
    return out


def one_question(config: GenerateConfig, store=None) -> Question:
    """The one question ``config.question_id`` names in ``config.source`` (One-Shot CFT); a clear error when the
    source has no such question, naming a few ids it has."""
    source = str(config.source).strip()
    if source.startswith(DATASET_SOURCE_PREFIX):
        from cft.data.store import Store

        store = store or Store()
        name = source[len(DATASET_SOURCE_PREFIX):]
        n = sum(d.get("count", 0) or 0 for d in store.datasets() if d["name"] == name) or 10**9
        pool = _dataset_questions(name, config.replace(n_questions=n, question_id=""), store)
    else:
        from cft.data import benchmarks

        pool = _from_problems(benchmarks.load_benchmark(source), source)
    wanted = config.question_id.split("/", 1)[1] if config.question_id.startswith(f"{source}/") else config.question_id
    found = next((q for q in pool if q.id in (wanted, config.question_id)), None)
    if found is None:
        some = ", ".join(q.id for q in pool[:5])
        raise UserError(f"question {config.question_id!r} is not in {source} ({len(pool)} questions; ids look like: "
                        f"{some})")
    return found


def _from_problems(problems, source: str) -> list[Question]:
    tag = Path(source).stem if source.endswith((".jsonl", ".json")) else source
    out = []
    for p in problems:
        qid = str(p.id)
        if qid.startswith(f"{p.benchmark or tag}/"):  # registry ids are "<benchmark>/<n>": the key adds the source
            qid = qid.split("/", 1)[1]
        out.append(Question(qid, p.question, None if p.answer is None else str(p.answer), p.solution, tag))
    return out


def _source_questions(source: str, config: GenerateConfig, store) -> list[Question]:
    if source.startswith(DATASET_SOURCE_PREFIX):
        return _dataset_questions(source[len(DATASET_SOURCE_PREFIX):], config, store)
    from cft.data import benchmarks

    return _from_problems(benchmarks.load_benchmark(source, limit=int(config.n_questions), seed=int(config.seed)), source)


def _dataset_questions(name: str, config: GenerateConfig, store) -> list[Question]:
    """Distinct questions of an existing dataset (first occurrence order), with their reference answers."""
    from cft.data.store import Store

    store = store or Store()
    if name not in {d["name"] for d in store.datasets()}:
        raise UserError(f"source {DATASET_SOURCE_PREFIX}{name}: no dataset named {name!r}")
    seen: dict[str, Question] = {}
    for s in store.iter_samples(name):
        if s.question in seen:
            if seen[s.question].answer is None and s.reference_answer:
                seen[s.question].answer = s.reference_answer
            continue
        # A content hash is the question's id: stable across relaunches and independent of row ids.
        qid = hashlib.sha1(s.question.encode()).hexdigest()[:12]
        seen[s.question] = Question(qid, s.question, s.reference_answer, s.reference_solution, f"dataset:{name}")
    questions = list(seen.values())
    if not questions:
        raise UserError(f"source {DATASET_SOURCE_PREFIX}{name}: the dataset has no samples")
    if len(questions) > config.n_questions:
        import random

        questions = random.Random(config.seed).sample(questions, int(config.n_questions))
    return questions


def sample_key(question: Question, k: int) -> str:
    return f"{question.source}/{question.id}#{k}"


def job_keys(questions: list[Question], samples_per_question: int) -> list[str]:
    return [sample_key(q, k) for q in questions for k in range(samples_per_question)]
