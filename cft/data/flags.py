"""Automatic flags: where a teacher critique is most likely wrong, so annotators review those first.

``compute_flags(sample)`` sets the verdict from the critique and recomputes the four automatic flags below,
each with a one-line reason an annotator can check at a glance. It runs at import (cft.data.formats), after
generation (cft.generate) and on every save (cft.data.review). Flags it does not own (names not in ``AUTO_FLAGS``)
are kept, so another tool may add its own.

- ``verdict_contradicts_reference``: the response's final answer (extracted as in grading) matches the
  reference by math-verify, yet the critique says wrong; or it does not match, yet the critique says right.
- ``no_conclusion``: the critique has no ``Conclusion: right/wrong`` line.
- ``arithmetic_error_missed``: the response states a false equation (``12 * 7 = 88``), yet the critique says right.
- ``empty_or_truncated``: the critique is empty, or was cut off (generation hit its token limit).
"""

from __future__ import annotations

import re
import threading

# The same conclusion pattern parse_verdict uses, so "ends with its conclusion" agrees with the verdict.
from cft.grading import braced
from cft.data.samples import _CONCLUSION, Sample, parse_verdict

AUTO_FLAGS = ("verdict_contradicts_reference", "no_conclusion", "arithmetic_error_missed", "empty_or_truncated")
FLAG_HELP = {
    "verdict_contradicts_reference": "the verdict disagrees with the reference answer",
    "no_conclusion": "no 'Conclusion: right/wrong' line",
    "arithmetic_error_missed": "the response has a false equation but the critique says right",
    "empty_or_truncated": "the critique is empty or cut off",
}

# A sentence, list item or formula normally ends in one of these. Markdown emphasis/code, closing brackets,
# quotes, LaTeX closers and table pipes count too, so "**Conclusion: right**" or "\]" are not "mid-sentence".
_TERMINAL = set(".!?)]}>\"'`*_|$…✓✗✔✘") | {"。", "）"}


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _unclosed_boxed(text: str) -> bool:
    """True if the last ``\\boxed{`` never closes (braces counted, ``\\{`` ignored)."""
    start = text.rfind("\\boxed{")
    return start >= 0 and braced(text, start + len("\\boxed")) is None


def _open_math(text: str) -> str | None:
    """The math delimiter left open at the end of ``text``, if any."""
    if text.count("\\[") > text.count("\\]"):
        return "\\["
    if text.count("\\(") > text.count("\\)"):
        return "\\("
    # "$$" first, then lone "$" not escaped as "\$" (currency written as \$5 is fine).
    no_escaped = text.replace("\\$", "")
    if no_escaped.count("$$") % 2:
        return "$$"
    if no_escaped.replace("$$", "").count("$") % 2:
        return "$"
    return None


def truncation_reason(critique: str | None) -> str | None:
    """Why the critique looks empty or cut off, or None.

    A critique that ends with its conclusion line is complete by construction. Otherwise it is truncated if
    its tail leaves a ``\\boxed{`` or a math delimiter open, or if it has no conclusion at all and its last
    line stops without terminal punctuation (mid-word or mid-sentence).
    """
    text = (critique or "").rstrip()
    if not text:
        return "the critique is empty"
    matches = list(_CONCLUSION.finditer(text))
    if matches and not text[matches[-1].end():].strip():
        return None
    tail = text[matches[-1].end():] if matches else text
    ending = _short(text[-50:], 50)
    if _unclosed_boxed(tail):
        return f"the critique stops inside an unclosed \\boxed{{: “…{ending}”"
    opened = _open_math(tail)
    if opened:
        return f"the critique stops with {opened} math left open: “…{ending}”"
    if not matches and text[-1] not in _TERMINAL:
        return f"the critique has no conclusion and stops mid-sentence: “…{ending}”"
    return None


def _contradiction_reason(sample: Sample) -> str | None:
    reference = (sample.reference_answer or "").strip()
    if not reference or sample.verdict not in ("right", "wrong"):
        return None
    predicted, matches = _grade(reference, sample.response or "")
    if matches is None:
        return None  # math-verify timed out: no judgement rather than a wrong flag
    if matches and sample.verdict == "wrong":
        return f"the response's answer {predicted!r} matches the reference {reference!r}, yet the critique says wrong"
    if not matches and sample.verdict == "right":
        shown = repr(predicted) if predicted else "(none found)"
        return f"the response's answer {shown} does not match the reference {reference!r}, yet the critique says right"
    return None


def _grade(reference: str, response: str) -> tuple[str | None, bool | None]:
    """(extracted answer, matches reference) exactly as grading does; matches is None on a timeout.

    math-verify's own timeout is a signal alarm that only works in the main thread (CLI import). A save from
    the UI runs in a worker thread, where a pathological answer could hang the request, so there the check goes
    through grading's process pool, which enforces the timeout itself.
    """
    from cft import grading

    if threading.current_thread() is threading.main_thread():
        predicted = grading.extract_answer(response, reference)
        return predicted, bool(predicted) and grading.answers_match(reference, predicted)
    grade = grading.grade_one(reference, response)
    return grade.extracted, (None if grade.timed_out else grade.correct)


def _arithmetic_reason(sample: Sample) -> str | None:
    if sample.verdict != "right" or not sample.response:
        return None
    from cft.arithmetic import check_equations

    text = sample.response
    wrong = [c for c in check_equations(text) if not c.ok and not _approximate(text, c)]
    if not wrong:
        return None
    first = wrong[0]
    more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
    return (
        f"the response states “{_short(first.text)}” but the true value is {_fmt(first.actual)}{more}, "
        "yet the critique says right"
    )


# Words that make a following "=" mean "about equal": "12.7^3 ~ 2048", "approximately 12.7 * 12.7 = 161".
_APPROX_MARKERS = ("approx", "≈", "~", "\\sim", "roughly", "nearly", "estimate")
_DECIMAL = re.compile(r"\d\.\d")


def _approximate(text: str, check) -> bool:
    """True when a false-looking equation is a rounded or approximate check, not an arithmetic error.

    Solutions often verify an answer numerically with a rounded value ("161.29 * 12.7 = 2048" for
    12.7 ≈ ∛2048); that is off by 0.02%, not a mistake a critique should have caught. So a claim is excused
    when its own line says it approximates, or when it computes with decimals and is within 1%.
    """
    line_start = text.rfind("\n", 0, check.start) + 1
    before = text[max(line_start, check.start - 160):check.start].lower()
    if any(marker in before for marker in _APPROX_MARKERS):
        return True
    actual, claimed = float(check.actual), float(check.claimed)
    close = abs(actual - claimed) <= 0.01 * max(abs(actual), abs(claimed))
    return close and bool(_DECIMAL.search(check.text))


def _fmt(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


def compute_flags(sample: Sample) -> Sample:
    """Set ``sample.verdict`` from its critique and recompute the automatic flags in place; returns it."""
    sample.verdict = parse_verdict(sample.critique)
    flags = {k: v for k, v in (sample.flags or {}).items() if k not in AUTO_FLAGS}
    reasons = {
        "verdict_contradicts_reference": _contradiction_reason(sample),
        "no_conclusion": (
            "the critique has no 'Conclusion: right/wrong' line" if sample.verdict == "unknown" else None
        ),
        "arithmetic_error_missed": _arithmetic_reason(sample),
        "empty_or_truncated": truncation_reason(sample.critique),
    }
    flags.update({name: reason for name, reason in reasons.items() if reason})
    sample.flags = flags
    return sample
