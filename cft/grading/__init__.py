"""Answer extraction and math-verify equivalence, with a process pool that survives hanging sympy.

- :mod:`cft.grading.extract` finds the final answer in a model's output (boxed runs, "final answer is",
  "the answer is", ``####``, a LaTeX-aware last expression);
- :mod:`cft.grading.match` reads answers as people write them (units, decimal commas, thousands, percent)
  and lets math-verify decide equivalence;
- :mod:`cft.grading.pool` runs the comparisons in worker processes that are killed and replaced when
  sympy hangs, and that never re-import the caller's main script;
- :mod:`cft.grading.grade` holds the entry points: :func:`grade_many`, :func:`grade_one`, :func:`answers_match`.

``GRADER_VERSION`` names the grading rules. Record it with every result graded, and bump it whenever a
change can turn a verdict, so results graded by different rules are never compared as if they were alike.
Version 2: box runs as one answer set, "final answer is" after the last box wins, a LaTeX-aware fallback,
unit words and decimal commas, and tests against the field's own labelled cases
(``tests/data/grading_corpus.jsonl``).
"""

from cft.grading.extract import all_boxed, braced, extract_answer, last_boxed, reference_answer
from cft.grading.grade import Grade, answers_match, grade_many, grade_one
from cft.grading.match import normalize_answer
from cft.grading.pool import WORKER_MEMORY_BYTES, GradingPool, shared_pool

GRADER_VERSION = "2"


__all__ = [
    "GRADER_VERSION", "Grade", "GradingPool", "WORKER_MEMORY_BYTES", "all_boxed", "answers_match", "braced",
    "extract_answer", "grade_many", "grade_one", "last_boxed", "normalize_answer", "reference_answer",
    "shared_pool",
]
