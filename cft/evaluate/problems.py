"""Which problem to show side by side: one of a benchmark by id or at random, a typed one, or one where two evals
disagree (a problem as the eval saw it: question and reference from its results file)."""

from __future__ import annotations

import random
from functools import lru_cache

from cft import jobs
from cft.errors import UserError
from cft.evaluate.config import eval_dir
from cft.evaluate.results import rows_by_id


@lru_cache(maxsize=8)
def _benchmark(name: str) -> tuple:
    from cft.data.benchmarks import load_benchmark

    return tuple(load_benchmark(name))


def problem_dict(problem, benchmark: str = "") -> dict:
    return {"benchmark": benchmark or getattr(problem, "benchmark", ""), "id": str(problem.id),
            "question": problem.question, "reference": str(problem.answer) if problem.answer is not None else ""}


def problem_by_id(benchmark: str, pid: str) -> dict:
    pid = str(pid).strip()
    problems = _benchmark(benchmark)
    for p in problems:
        if str(p.id) == pid:
            return problem_dict(p, benchmark)
    examples = ", ".join(str(p.id) for p in problems[:3])
    raise UserError(f"benchmark {benchmark!r} has no problem with id {pid!r} (ids look like: {examples})")


def random_problem(benchmark: str, seed: int | None = None) -> dict:
    problems = _benchmark(benchmark)
    if not problems:
        raise UserError(f"benchmark {benchmark!r} is empty")
    return problem_dict(random.Random(seed).choice(problems), benchmark)


def typed_problem(question: str, reference: str = "") -> dict:
    if not (question or "").strip():
        raise UserError("question: type a problem first")
    return {"benchmark": "", "id": "", "question": question, "reference": reference or ""}


def problem_from_eval(name: str, pid: str) -> dict:
    """A problem as an eval saw it (question and reference from its results file)."""
    row = rows_by_id(name).get(str(pid))
    if row is None:
        raise UserError(f"eval {name!r} has no result for problem {pid!r}")
    bench = jobs.JobDir(eval_dir(name)).config().get("benchmark", "")
    return {"benchmark": bench, "id": str(row["id"]), "question": row["question"], "reference": str(row.get("reference", ""))}


def disagreements(eval_a: str, eval_b: str) -> list[str]:
    """Problems both evals answered where one was right and the other wrong, or their answers differ."""
    a, b = rows_by_id(eval_a), rows_by_id(eval_b)
    return [pid for pid in a if pid in b and (bool(a[pid].get("correct")) != bool(b[pid].get("correct"))
                                              or (a[pid].get("extracted") or "") != (b[pid].get("extracted") or ""))]


def disagreement_problem(eval_a: str, eval_b: str, seed: int | None = None) -> dict:
    if not eval_a or not eval_b:
        raise UserError("pick two finished evals to find problems where the models disagree")
    ids = disagreements(eval_a, eval_b)
    if not ids:
        raise UserError(f"evals {eval_a!r} and {eval_b!r} agree on every problem they share")
    return problem_from_eval(eval_a, random.Random(seed).choice(ids))
