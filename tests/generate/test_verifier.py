"""The verifier critic: paper-style critiques whose verdict is exact when the reference answer is known."""

from __future__ import annotations

import random

from cft.data.samples import parse_verdict
from cft.generate.verifier import corrupt_gsm8k_solution, critique, format_number, split_steps

QUESTION = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. " \
           "How many clips did Natalia sell altogether in April and May?"


def test_correct_solution_is_right_and_every_step_checked():
    response = ("In May she sold 48 / 2 = 24 clips.\n"
                "Altogether she sold 48 + 24 = 72 clips.\n"
                "The answer is \\boxed{72}.")
    r = critique(QUESTION, response, "72")
    assert r.verdict == "right" and parse_verdict(r.critique) == "right"
    assert r.critique.endswith("Conclusion: right [END]")
    assert r.first_error_step is None and r.answer_matches is True
    assert "Step 1:" in r.critique and "Step 2:" in r.critique and "Step 3:" in r.critique
    assert "48 / 2 = 24 is correct" in r.critique and "48 + 24 = 72 is correct" in r.critique
    assert "All 2 calculations in the solution are correct." in r.critique


def test_wrong_arithmetic_step_is_named_with_its_correct_value():
    response = ("In May she sold 48 / 2 = 24 clips.\n"
                "Altogether she sold 48 + 24 = 82 clips.\n"
                "The answer is \\boxed{82}.")
    r = critique(QUESTION, response, "72")
    assert r.verdict == "wrong" and r.critique.endswith("Conclusion: wrong [END]")
    assert r.first_error_step == 2
    assert "48 + 24 = 82 is wrong: 48 + 24 = 72, not 82" in r.critique
    assert "The first false step is step 2: 48 + 24 equals 72, not 82." in r.critique
    assert "The final answer 82 is incorrect; the correct answer is 72." in r.critique


def test_right_method_wrong_final_answer_is_wrong():
    response = ("In May she sold 48 / 2 = 24 clips.\n"
                "Altogether she sold 48 + 24 = 72 clips.\n"
                "So the answer is \\boxed{24}.")
    r = critique(QUESTION, response, "72")
    assert r.verdict == "wrong" and r.first_error_step is None
    assert "All 2 calculations in the solution are correct." in r.critique
    assert "The final answer 24 is incorrect; the correct answer is 72." in r.critique


def test_boxed_fraction_matches_decimal_reference():
    r = critique("What is 1 divided by 2?", "Dividing, 1 / 2 = 0.5, so the answer is \\boxed{\\frac{1}{2}}.", "0.5")
    assert r.verdict == "right" and r.final_answer is not None and "frac" in r.final_answer
    assert r.critique.endswith("Conclusion: right [END]")


def test_arithmetic_slip_with_right_final_answer_is_reported_but_right():
    response = "First 3 * 4 = 13.\nThen 12 + 8 = 20.\nThe answer is \\boxed{20}."
    r = critique("What is 3*4+8?", response, "20")
    assert r.verdict == "right" and r.first_error_step == 1
    assert "3 * 4 = 13 is wrong: 3 * 4 = 12, not 13" in r.critique and "Despite the slip in step 1" in r.critique


def test_no_final_answer_and_no_reference():
    assert critique("Q?", "I am not sure.", "5").verdict == "wrong"
    r = critique("What is 2+2?", "2 + 2 = 4. The answer is \\boxed{4}.", None)
    assert r.verdict == "right" and not r.reference_known and "No reference answer" in r.critique
    assert critique("What is 2+2?", "2 + 2 = 5. The answer is \\boxed{5}.", None).verdict == "wrong"


def test_deterministic_and_handles_sentences_and_calculator_traces():
    response = "She earns 12 * 5 = <<12*5=60>>60 dollars. Then 60 - 10 = <<60-10=50>>50 are left.\n#### 50"
    a, b = critique("Q", response, "50"), critique("Q", response, "50")
    assert a.critique == b.critique and a.verdict == "right"
    assert len(a.steps) == 3 and "<<" not in a.critique  # two sentences on the first line, then the #### line
    assert sum(len(s.equations) for s in a.steps) == 2


def test_split_steps_and_number_format():
    text = "First line. Second sentence with 3.5 in it.\n\nThird."
    assert [text[a:b] for a, b in split_steps(text)] == ["First line.", "Second sentence with 3.5 in it.", "Third."]
    from fractions import Fraction

    assert [format_number(v) for v in (Fraction(24), Fraction(1, 2), Fraction(2, 3), 7.0)] == ["24", "0.5", "2/3", "7"]


def test_gsm8k_reference_solutions_right_and_corrupted_copies_wrong():
    """100 real GSM8K train solutions must be judged right, and 100 corrupted copies wrong (the script does 500)."""
    from cft.data.benchmarks import load_benchmark

    problems = load_benchmark("gsm8k_train", limit=100, seed=1)
    rng = random.Random(0)
    # The reference solution as GSM8K writes it: the steps, then "#### <answer>".
    solutions = [f"{p.solution}\n#### {p.answer}" for p in problems]
    right = sum(critique(p.question, sol, p.answer).verdict == "right" for p, sol in zip(problems, solutions))
    wrong = 0
    named = 0
    for p, sol in zip(problems, solutions):
        corrupted, _, line = corrupt_gsm8k_solution(sol, rng)
        r = critique(p.question, corrupted, p.answer)
        wrong += r.verdict == "wrong"
        first = r.steps[r.first_error_step - 1].text if r.first_error_step else None
        named += line is not None and first is not None and first in corrupted.split("\n")[line]
    assert right == 100, f"reference solutions judged right: {right}/100"
    assert wrong == 100, f"corrupted solutions judged wrong: {wrong}/100"
    assert named >= 70, f"corrupted step found in {named}/100"  # steps with units between numbers are not parsed
