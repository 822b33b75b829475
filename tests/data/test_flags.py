"""Automatic flags on hand-made samples: raised where they should be, and not where they should not."""

from __future__ import annotations

import threading

import pytest

from cft.data.flags import compute_flags, truncation_reason
from cft.data.samples import Sample

RIGHT = "Every step checks out.\n\nConclusion: right [END]"
WRONG = "Step 3 is wrong.\n\nConclusion: wrong [END]"


def flags(**kw) -> dict[str, str]:
    return compute_flags(Sample(question="What is 6 * 7?", **kw)).flags


# -- verdict_contradicts_reference ------------------------------------------------------------------------------
def test_contradiction_when_answer_matches_but_critique_says_wrong():
    f = flags(response="6 * 7 = 42, so the answer is \\boxed{42}.", critique=WRONG, reference_answer="42")
    reason = f["verdict_contradicts_reference"]
    assert "'42'" in reason and "matches the reference" in reason and "says wrong" in reason


def test_contradiction_when_answer_differs_but_critique_says_right():
    f = flags(response="The answer is 48.", critique=RIGHT, reference_answer="42")
    reason = f["verdict_contradicts_reference"]
    assert "'48'" in reason and "'42'" in reason and "says right" in reason


def test_contradiction_uses_math_equivalence_and_extraction_order():
    # 0.5 == \frac{1}{2} by math-verify; the boxed answer wins over the last number.
    assert "verdict_contradicts_reference" not in flags(
        response="We get \\boxed{\\frac{1}{2}} after 3 steps.", critique=RIGHT, reference_answer="0.5")
    assert "verdict_contradicts_reference" not in flags(
        response="#### 18", critique=RIGHT, reference_answer="18")
    assert "verdict_contradicts_reference" not in flags(response="So 40.", critique=WRONG, reference_answer="42")
    no_answer = flags(response="I am not sure.", critique=RIGHT, reference_answer="42")
    assert "(none found)" in no_answer["verdict_contradicts_reference"]


def test_no_contradiction_without_reference_or_verdict():
    assert "verdict_contradicts_reference" not in flags(response="The answer is 48.", critique=RIGHT)
    assert "verdict_contradicts_reference" not in flags(
        response="The answer is 48.", critique="Hmm.", reference_answer="42")


def test_contradiction_is_judged_the_same_from_a_worker_thread():
    """UI saves run in Gradio worker threads: the check then goes through grading's pool with its timeout."""
    out = {}

    def run():
        out["bad"] = flags(response="The answer is 48.", critique=RIGHT, reference_answer="42")
        out["ok"] = flags(response="\\boxed{\\frac{84}{2}}", critique=RIGHT, reference_answer="42")

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    assert "verdict_contradicts_reference" in out["bad"] and "verdict_contradicts_reference" not in out["ok"]


# -- no_conclusion ----------------------------------------------------------------------------------------------
def test_no_conclusion():
    s = compute_flags(Sample(question="q", response="r", critique="The solution looks fine to me."))
    assert s.verdict == "unknown" and "no_conclusion" in s.flags
    for critique in (RIGHT, WRONG, "Fine.\n\n**Conclusion: correct**", "ok\nConclusion: incorrect"):
        s = compute_flags(Sample(question="q", response="r", critique=critique))
        assert "no_conclusion" not in s.flags and s.verdict in ("right", "wrong")


# -- arithmetic_error_missed ------------------------------------------------------------------------------------
def test_arithmetic_error_missed_quotes_the_equation_and_true_value():
    f = flags(response="First 12 * 7 = 88, then 88 + 2 = 90.", critique=RIGHT)
    reason = f["arithmetic_error_missed"]
    assert "12 * 7 = 88" in reason and "84" in reason


def test_arithmetic_error_not_raised_when_caught_or_correct():
    assert "arithmetic_error_missed" not in flags(response="First 12 * 7 = 88.", critique=WRONG)
    assert "arithmetic_error_missed" not in flags(response="First 12 * 7 = 84, and 84 / 4 = 21.", critique=RIGHT)
    assert "arithmetic_error_missed" not in flags(response="So x + 3 = 5 gives x = 2.", critique=RIGHT)


# -- empty_or_truncated -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("critique", [
    "",
    "   \n ",
    "Let me check the steps.\n\n1. The setup is correct\n2. The calculation of 8",
    "The student's answer is wrong because the cube ro",
    "Step 2 is fine. The final answer should be \\boxed{8\\sqrt[3]{4",
    "Everything holds. We then verify \\[ V^3 = 2048",
    "Conclusion: right [END]\n\nAlso, the value $x = 3",
    "Let me verify:",
])
def test_truncated_or_empty(critique):
    assert "empty_or_truncated" in flags(response="r", critique=critique)


@pytest.mark.parametrize("critique", [
    RIGHT,
    "Fine.\n\n**Conclusion: right [END]**",
    "All good, the answer \\( 12 \\) is right.\n\nConclusion: right [END]\n\n",
    "The student's solution is right. [END]",  # no conclusion line, but it ends a sentence
    "Costs are \\$5 and \\$7, total \\$12. Conclusion: wrong",
    "Check: \\[ 2 + 2 = 4 \\]",
    "- setup ✓\n- algebra ✓",
    "Conclusion: wrong [END]\n\nThe decimal form is more practical here.",
])
def test_not_truncated(critique):
    assert truncation_reason(critique) is None
    assert "empty_or_truncated" not in flags(response="r", critique=critique)


def test_truncation_reason_quotes_the_ending():
    reason = truncation_reason("The steps are fine until the final cube ro")
    assert "mid-sentence" in reason and "cube ro" in reason


# -- the whole function -----------------------------------------------------------------------------------------
def test_compute_flags_sets_verdict_recomputes_and_keeps_foreign_flags():
    s = Sample(question="q", response="12 * 7 = 88", critique="Cut off mid", flags={"manual": "looked odd",
                                                                                   "arithmetic_error_missed": "old"})
    compute_flags(s)
    assert s.verdict == "unknown" and set(s.flags) == {"manual", "no_conclusion", "empty_or_truncated"}
    s.critique = "12 * 7 is 84, not 88.\n\nConclusion: wrong [END]"
    compute_flags(s)
    assert s.verdict == "wrong" and s.flags == {"manual": "looked odd"}
    clean = compute_flags(Sample(question="q", response="6 * 7 = 42. The answer is 42.", critique=RIGHT,
                                 reference_answer="42"))
    assert clean.flags == {} and clean.verdict == "right"


def test_rounded_numeric_checks_are_not_arithmetic_errors():
    """Real case (one-shot data): verifying 12.7 ≈ ∛2048 with rounded numbers is not a missed error."""
    approx = "V is about 12.7. Check: 12.7^2 = 161.29, multiplied by 12.7 gives 2048? Actually, 161.29*12.7 = 2048."
    assert "arithmetic_error_missed" not in flags(response=approx, critique=RIGHT)
    assert "arithmetic_error_missed" not in flags(response="then V^3=12.7^3 ~ 2048, so 12.7^3 = 2048", critique=RIGHT)
    # Decimals far off, or integers off by a little, are still errors.
    assert "arithmetic_error_missed" in flags(response="So 12.5 * 4 = 51.", critique=RIGHT)
    assert "arithmetic_error_missed" in flags(response="So 1000 * 7 = 7001.", critique=RIGHT)
