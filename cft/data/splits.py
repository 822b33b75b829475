"""Which items are reported, which may pick a checkpoint, and proof that the two never meet.

A comparison is only as honest as its splits. Three rules, each checked by content (a hash of the normalised
question text), never by name:
- **training never sees a test item**: :func:`test_item_of` says whether a question is an item of any registered
  test set (GSM8K test, the whole MATH test set, which holds MATH-500, Minerva, CHAMP, the ``arith`` test split);
  example building drops such questions and counts them;
- **validation is not test**: each reported benchmark has a validation set (:data:`VALIDATION`) drawn from
  elsewhere (GSM8K train held out, MATH test outside MATH-500, the procedural validation split), and
  :func:`check_disjoint` refuses a selection whose items meet the reported ones;
- the report names both and quotes the overlap it measured (0).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import Iterable

from cft.errors import UserError

# The registered sets whose items may be reported. math_test holds all of MATH-500.
TEST_SETS = ("gsm8k", "math_test", "math500", "minerva", "champ", "arith")
# Reported benchmark -> the set that may pick its checkpoints (a held-out part of a training split, or of the test
# split outside the reported items).
VALIDATION = {"gsm8k": "gsm8k_val", "math500": "math500_val", "arith": "arith_val"}


def normalize(question: str) -> str:
    """Case, Unicode form, whitespace and trailing punctuation do not make a different question."""
    text = unicodedata.normalize("NFKC", question or "").lower()
    return re.sub(r"\s+", " ", text).strip().rstrip(".?!").strip()


def question_key(question: str) -> str:
    return hashlib.sha256(normalize(question).encode("utf-8")).hexdigest()[:20]


@lru_cache(maxsize=1)
def _test_index() -> dict[str, str]:
    from cft.data.benchmarks import load_benchmark

    index: dict[str, str] = {}
    for name in TEST_SETS:
        for p in load_benchmark(name):
            index.setdefault(question_key(p.question), name)
    return index


def test_item_of(question: str) -> str | None:
    """The test set ``question`` belongs to, or None when it is in none of them."""
    return _test_index().get(question_key(question))


def validation_for(benchmark: str) -> str:
    """The validation set that picks checkpoints when ``benchmark`` is reported."""
    if benchmark not in VALIDATION:
        raise UserError(f"no validation set is registered for benchmark {benchmark!r}: checkpoint selection needs "
                        f"one of {', '.join(VALIDATION)}, or name a validation benchmark explicitly")
    return VALIDATION[benchmark]


def overlap(a: Iterable[str], b: Iterable[str]) -> int:
    """How many questions of ``a`` are also in ``b`` (by normalised text)."""
    keys = {question_key(q) for q in b}
    return sum(1 for q in {question_key(q) for q in a} if q in keys)


def check_disjoint(selection: str, reported: Iterable[str], *, limit: int | None = None, seed: int = 0) -> dict:
    """Refuse a checkpoint-selection set that shares any item with a reported benchmark; the overlaps measured."""
    from cft.data.benchmarks import load_benchmark

    chosen = [p.question for p in load_benchmark(selection, limit=limit, seed=seed)]
    counts = {}
    for bench in reported:
        counts[bench] = overlap(chosen, (p.question for p in load_benchmark(bench)))
        if counts[bench]:
            raise UserError(f"checkpoint selection on {selection!r} would see {counts[bench]} item(s) of the reported "
                            f"benchmark {bench!r}: pick checkpoints on a validation set (for {bench}: "
                            f"{VALIDATION.get(bench, 'none registered')})")
    return counts
