"""Answer extraction and math-verify grading, including answers that make sympy hang."""

from __future__ import annotations

import time

import pytest

from cft.grading import Grade, GradingPool, answers_match, extract_answer, grade_many, grade_one, last_boxed

# 9^(9^9) stays symbolic in the parser, then verify() tries to evaluate it: minutes of bigint work in C,
# where no signal can interrupt it. Only killing the process stops it.
HANG = "So the result is \\boxed{9^{9^{9}}}."


def test_last_boxed_handles_nested_braces_and_fbox():
    assert last_boxed("first \\boxed{1} then \\boxed{\\frac{a}{b}}") == "\\frac{a}{b}"
    assert last_boxed("\\boxed{\\frac{\\sqrt{3}}{2}} done") == "\\frac{\\sqrt{3}}{2}"
    assert last_boxed("\\fbox{42}") == "42"
    assert last_boxed("\\boxed{\\{1, 2\\}}") == "\\{1, 2\\}"
    assert last_boxed("\\boxed{unclosed") is None
    assert last_boxed("no box") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so \\boxed{\\frac{1}{2}} and the answer is 3", "\\frac{1}{2}"),  # boxed wins over everything
        ("Thus the answer is $\\frac{3}{4}$. Next we", "\\frac{3}{4}"),
        ("The answer is: 3.5", "3.5"),
        ("The final answer is **12**.", "12"),
        ("Natalia sold 48/2 = 24 clips.\n#### 1,234", "1,234"),
        ("First 12 apples, then 1,500 pears", "1500"),
        ("it is -3.25 degrees", "-3.25"),
        ("nothing numeric here", None),
        ("", None),
    ],
)
def test_extract_answer_order(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "gold, pred",
    [
        ("\\frac{1}{2}", "0.5"),           # \boxed{0.5} vs \frac12
        ("\\frac12", "\\frac{1}{2}"),
        ("1234", "1,234"),                 # GSM8K thousands separator
        ("1,234", "1234"),
        ("(1,3]", "(1, 3]"),               # interval
        ("(2, 5)", "(2,5)"),               # tuple / open interval
        ("\\text{Monday}", "\\text{Monday}"),  # text answer
        ("3\\sqrt{2}", "\\sqrt{18}"),
        ("18", "\\$18"),
    ],
)
def test_answers_match_equivalent(gold, pred):
    assert answers_match(gold, pred)


@pytest.mark.parametrize(
    "gold, pred",
    [("\\frac{1}{2}", "0.51"), ("(1,3]", "(1,3)"), ("\\text{Monday}", "\\text{Tuesday}"), ("1234", "1,235"), ("5", None)],
)
def test_answers_match_different(gold, pred):
    assert not answers_match(gold, pred)


def test_grade_one_extracts_and_grades():
    g = grade_one("\\frac{a}{b}", "We simplify to get \\boxed{\\frac{a}{b}}.")
    assert g == Grade("\\frac{a}{b}", True, False)
    g = grade_one("1234", "Step 1 ...\n#### 1,234")
    assert g.correct and g.extracted == "1,234"
    g = grade_one("72", "no answer at all")
    assert g == Grade(None, False, False)


def test_hanging_expression_times_out_cleanly():
    start = time.monotonic()
    g = grade_one("1", HANG, timeout=1.0)
    elapsed = time.monotonic() - start
    assert g.timed_out and not g.correct and g.extracted == "9^{9^{9}}"
    assert elapsed < 15, f"the timeout did not stop the worker ({elapsed:.1f}s)"


def test_batch_with_one_hanging_item_grades_the_others():
    items = [("1", "\\boxed{1}"), ("2", HANG), ("\\frac12", "\\boxed{0.5}"), ("7", "the answer is 8"), ("1234", "#### 1,234")]
    with GradingPool(workers=2) as pool:
        pairs = [(gold, extract_answer(out)) for gold, out in items]
        results = pool.compare(pairs, timeout=1.0)
        assert results == [(True, False), (False, True), (True, False), (False, False), (True, False)]
        # The killed worker was replaced: the pool still has its full size and keeps grading.
        assert sum(w.proc.is_alive() for w in pool._workers) == 2
        assert pool.compare([("3", "3")], timeout=5.0) == [(True, False)]


def test_grade_many_keeps_order_and_counts():
    items = [(str(i), f"... so \\boxed{{{i if i % 3 else i + 1}}}") for i in range(60)]
    grades = grade_many(items, timeout=5.0)
    assert [g.extracted for g in grades] == [str(i if i % 3 else i + 1) for i in range(60)]
    assert [g.correct for g in grades] == [bool(i % 3) for i in range(60)]
    assert not any(g.timed_out for g in grades)
    assert grade_many([]) == []


def test_answers_match_is_safe_off_the_main_thread_and_on_hanging_input():
    import threading

    out = {}
    t = threading.Thread(target=lambda: out.update(ok=answers_match("\\frac12", "0.5"), hang=answers_match("1", "9^{9^{9}}", timeout=1.0)))
    t.start()
    t.join(60)
    assert not t.is_alive() and out == {"ok": True, "hang": False}
