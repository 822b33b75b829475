"""The first-run sample data: something real to browse, fix and train on before a user has data of their own.

The natural demo is the One-Shot CFT file (600 real teacher critiques, ``one-shot-cft-dsr-p0.jsonl``). It is not
shipped with the project, so it is used only where the operator put it *inside an allowed root* (cft.paths: the
workspace or a directory in ``CFT_ALLOWED_DIRS``): its place is looked for by the code, never typed by a user, and a
file outside the roots is never read. Without it, a small procedural set is built offline: word problems
(cft.data.procedural) with a right and a wrong solution each, critiqued by the verifier (cft.generate.verifier).

Loading twice adds nothing: every sample has a stable key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cft import paths

SAMPLE_FILE_NAME = "one-shot-cft-dsr-p0.jsonl"
SAMPLE_FILE_ENV = "CFT_SAMPLE_DATA"  # the operator's path to the file (it must still lie inside an allowed root)
ONE_SHOT_DATASET = "one-shot-cft"
PROCEDURAL_DATASET = "sample-wordprob"
PROCEDURAL_QUESTIONS = 30
_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Loaded:
    dataset: str
    added: int  # new samples (0 when it was loaded before)
    total: int  # samples in the dataset now
    source: str  # a sentence: where they came from


def candidates() -> list[Path]:
    """Where the One-Shot CFT file may be: the operator's ``CFT_SAMPLE_DATA``, then ``shared/data/`` beside or in
    the project (the layout of a development checkout)."""
    out = [Path(os.environ[SAMPLE_FILE_ENV])] if os.environ.get(SAMPLE_FILE_ENV) else []
    out += [_ROOT.parent / "shared" / "data" / SAMPLE_FILE_NAME, _ROOT / "shared" / "data" / SAMPLE_FILE_NAME]
    return out


def sample_file() -> Path | None:
    """The One-Shot CFT file, when one of :func:`candidates` is a file inside an allowed root; else None."""
    for path in candidates():
        try:
            if paths.is_allowed(path) and path.is_file():
                return paths.real_path(path)
        except OSError:
            continue
    return None


def procedural_samples(n: int = PROCEDURAL_QUESTIONS) -> list:
    """``n`` offline word problems, each with its right solution and a copy whose last step is off, both critiqued
    by the verifier: a small dataset with real right/wrong verdicts and no model or network."""
    from cft.data import procedural
    from cft.data.samples import Sample
    from cft.generate import verifier

    out = []
    for i, g in enumerate(procedural.generate("wordprob", "train", n=n)):
        wrong = str(int(g.answer) + 1 + i % 3)
        slipped = g.solution.replace(f"\\boxed{{{g.answer}}}", f"\\boxed{{{wrong}}}")
        head, sep, tail = slipped.rpartition(f"= {g.answer}")
        slipped = head + f"= {wrong}" + tail if sep else slipped
        for k, response in enumerate((g.solution, slipped)):
            result = verifier.critique(g.question, response, g.answer)
            out.append(Sample(question=g.question, response=response, critique=result.critique,
                              original_critique=result.critique, verdict=result.verdict, dataset=PROCEDURAL_DATASET,
                              key=f"{g.canonical}#{k}", reference_answer=g.answer, reference_solution=g.solution,
                              source="procedural", teacher=verifier.TEACHER_NAME))
    return out


def load(store) -> Loaded:
    """Import the One-Shot CFT file if it is found (:func:`sample_file`), else the procedural set."""
    from cft.data.formats import import_file

    found = sample_file()
    if found is not None:
        result = import_file(store, found, ONE_SHOT_DATASET, on_conflict="ignore")
        dataset, source = ONE_SHOT_DATASET, f"the One-Shot CFT file ({SAMPLE_FILE_NAME})"
        added = len(result.ids)
    else:
        store.create_dataset(PROCEDURAL_DATASET, "offline word problems critiqued by the verifier")
        added = len(store.add_samples(PROCEDURAL_DATASET, procedural_samples(), on_conflict="ignore"))
        dataset = PROCEDURAL_DATASET
        source = (f"{PROCEDURAL_QUESTIONS} offline word problems, each with a right and a wrong solution, critiqued by "
                  f"the verifier (the One-Shot CFT file was not found inside an allowed directory)")
    total = next((int(d["count"]) for d in store.datasets() if d["name"] == dataset), 0)
    return Loaded(dataset, added, total, source)
