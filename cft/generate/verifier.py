"""The verifier critic: an offline, deterministic teacher.

It writes a critique in the paper's style without any model: it walks through the response step by step,
checks every arithmetic equation it finds (:func:`cft.arithmetic.check_equations`), names the first false
step with the correct value, compares the final answer with the reference (:func:`cft.grading.answers_match`,
math-verify) and ends with ``Conclusion: right [END]`` or ``Conclusion: wrong [END]``.

The verdict is the answer comparison alone: a response whose final answer matches the reference is right even
when a step has an arithmetic slip (the slip is still reported in the text), because the paper's verdict
judges the solution's result, and that is the part we can decide exactly. With no reference answer the verdict
falls back to the arithmetic check and the caller is told (``VerifierResult.reference_known``).

It is the default teacher offline and the baseline an LLM teacher is compared with.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cft.data.samples import conclusion_line

TEACHER_NAME = "verifier"

# GSM8K writes calculator traces inline ("48/2 = <<48/2=24>>24"): they repeat the equation next to it and
# would be checked twice (and confuse the equation finder), so they are removed before reading the response.
_CALC_TRACE = re.compile(r"<<[^<>\n]*>>")
# Sentence ends: a period/!/? followed by whitespace and a capital, a digit or a dollar sign. "3.5" has no
# whitespace after its period, so decimals never split a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$\\(\d])")
_QUOTE_CHARS = 90


@dataclass
class StepCheck:
    number: int
    text: str
    equations: list[Any] = field(default_factory=list)  # cft.arithmetic.EquationCheck

    @property
    def wrong(self) -> list[Any]:
        return [e for e in self.equations if not e.ok]


@dataclass
class VerifierResult:
    critique: str
    verdict: str  # "right" | "wrong"
    final_answer: str | None
    reference_known: bool
    answer_matches: bool | None
    first_error_step: int | None  # 1-based, or None when every equation holds
    steps: list[StepCheck]


def clean_response(response: str) -> str:
    return _CALC_TRACE.sub("", response or "")


def split_steps(text: str) -> list[tuple[int, int]]:
    """Character spans of the response's steps: its non-empty lines, long lines split into sentences."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        if not text[start:end].strip():
            continue
        cut = start
        for m in _SENTENCE_END.finditer(text, start, end):
            if text[cut:m.start()].strip():
                spans.append((cut, m.start()))
            cut = m.end()
        if text[cut:end].strip():
            spans.append((cut, end))
    return spans


def format_number(value: Any) -> str:
    """A value as a person writes it: 24, 0.5, 2/3 (a repeating decimal stays a fraction, floats round)."""
    if value is None:
        return "?"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.8g}"  # 0.1 + 0.2 reads 0.3, and 5/6 reads 0.83333333
    try:
        frac = value if isinstance(value, Fraction) else Fraction(value)
    except (TypeError, ValueError):
        return str(value)
    if frac.denominator == 1:
        return str(frac.numerator)
    den = frac.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den == 1:  # a terminating decimal: write it out exactly
        return f"{float(frac):.10f}".rstrip("0").rstrip(".")
    return f"{frac.numerator}/{frac.denominator}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…"


def _describe(eq) -> str:
    return " ".join(str(eq.text).split())


def _lhs(eq) -> str:
    return _describe(eq).rsplit("=", 1)[0].strip()


def critique(question: str, response: str, reference_answer: str | None) -> VerifierResult:
    """Critique ``response`` to ``question`` against ``reference_answer`` (``None`` when unknown)."""
    from cft.arithmetic import check_equations
    from cft.grading import answers_match, extract_answer

    text = clean_response(response)
    equations = sorted(check_equations(text), key=lambda e: e.start)
    steps: list[StepCheck] = []
    for number, (start, end) in enumerate(split_steps(text), 1):
        steps.append(StepCheck(number, text[start:end], [e for e in equations if start <= e.start < end]))

    first_error: StepCheck | None = next((s for s in steps if s.wrong), None)
    lines = ["Let's check the solution step by step.", ""]
    for step in steps:
        line = f'Step {step.number}: "{_quote(step.text)}"'
        if not step.equations:
            line += " There is no calculation to check here."
        for eq in step.equations:
            if eq.ok:
                line += f" The calculation {_describe(eq)} is correct."
            else:
                line += (f" The calculation {_describe(eq)} is wrong: {_lhs(eq)} = {format_number(eq.actual)},"
                         f" not {format_number(eq.claimed)}.")
        if step is first_error:
            line += " This is the first error in the solution."
        lines.append(line)
    if not steps:
        lines.append("The solution is empty: there are no steps to check.")
    lines.append("")

    n_checked = len(equations)
    if first_error is not None:
        eq = first_error.wrong[0]
        lines.append(f"The first false step is step {first_error.number}: {_lhs(eq)} equals "
                     f"{format_number(eq.actual)}, not {format_number(eq.claimed)}.")
    elif n_checked:
        lines.append(f"All {n_checked} calculation{'s' if n_checked != 1 else ''} in the solution are correct.")

    reference_known = reference_answer is not None and str(reference_answer).strip() != ""
    final = extract_answer(response or "", str(reference_answer) if reference_known else None)
    matches: bool | None = None
    if reference_known:
        ref = str(reference_answer).strip()
        if final is None:
            matches = False
            lines.append(f"The solution never states a final answer; the correct answer is {ref}.")
        else:
            matches = bool(answers_match(ref, final))
            if matches and first_error is not None:
                lines.append(f"Despite the slip in step {first_error.number}, the final answer {final} matches "
                             f"the correct answer {ref}.")
            elif matches:
                lines.append(f"The final answer {final} matches the correct answer {ref}.")
            else:
                lines.append(f"The final answer {final} is incorrect; the correct answer is {ref}.")
        verdict = "right" if matches else "wrong"
    else:
        # No reference: the arithmetic is all we can judge, and the caller flags the sample for a human.
        lines.append("No reference answer is available, so only the calculations were checked"
                     + (f"; the final answer given is {final}." if final else "."))
        verdict = "wrong" if first_error is not None or final is None else "right"
    lines.append("")
    lines.append(conclusion_line(verdict))
    return VerifierResult(
        critique="\n".join(lines),
        verdict=verdict,
        final_answer=final,
        reference_known=reference_known,
        answer_matches=matches,
        first_error_step=first_error.number if first_error else None,
        steps=steps,
    )


# ------------------------------------------------------------------------------------- negative examples

_LAST_EQ_RESULT = re.compile(r"=\s*\$?(-?\d[\d,]*(?:\.\d+)?)")
_GSM8K_FINAL = re.compile(r"####\s*(-?[\d,]+(?:\.\d+)?)\s*$")


def corrupt_gsm8k_solution(solution: str, rng: random.Random) -> tuple[str, str, int | None]:
    """A wrong copy of a GSM8K reference solution: the final answer and one step's result are changed.

    Returns ``(corrupted_solution, wrong_answer, corrupted_line_index)``. Used to measure the verifier and to
    make negative examples. Calculator traces are dropped so the corrupted step is not contradicted by them.
    """
    text = clean_response(solution)
    match = _GSM8K_FINAL.search(text)
    if not match:
        raise ValueError("not a GSM8K solution: no '#### N' final line")
    answer = Fraction(match.group(1).replace(",", ""))
    delta = rng.choice([d for d in range(-9, 10) if d]) if answer.denominator == 1 else Fraction(1, 2)
    wrong = answer + delta
    wrong_text = format_number(wrong)
    text = text[: match.start(1)] + wrong_text + text[match.end(1):]
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if _LAST_EQ_RESULT.search(line) and not line.startswith("####")]
    corrupted_line = None
    if candidates:
        corrupted_line = rng.choice(candidates)
        line = lines[corrupted_line]
        eq = list(_LAST_EQ_RESULT.finditer(line))[-1]
        value = Fraction(eq.group(1).replace(",", ""))
        new_value = value + rng.choice([1, 2, 3, 5, 10])
        lines[corrupted_line] = line[: eq.start(1)] + format_number(new_value) + line[eq.end(1):]
    return "\n".join(lines), wrong_text, corrupted_line
