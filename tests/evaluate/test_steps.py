"""The step-level critic benchmark (ProcessBench's scores) on CHAMP's human first-wrong-step annotations and on a
team's own step labels: items, answer parsing, metrics, the verifier and a model as critics, and the CLI."""

from __future__ import annotations

import json

import pytest
from scipy.stats import binomtest

from cft.data.samples import Sample
from cft.data.team import step_at, step_spans, steps
from cft.errors import UserError
from cft.evaluate import steps as step_critic
from cft.evaluate.results import list_evals, read_results
from cft.evaluate.steps import StepCriticConfig, parse_step_answer, step_metrics


def test_step_spans_number_paragraphs_and_lines_as_the_editor_does():
    text = "  First step.\n\nSecond, with\na line break.\n\n\n Third. "
    assert steps(text) == ["First step.", "Second, with\na line break.", "Third."]
    assert [text[a:b] for a, b in step_spans(text)] == steps(text)
    one_paragraph = "a = 1\nb = 2\n\n"
    assert steps(one_paragraph) == ["a = 1", "b = 2"]  # one paragraph: its lines are the steps
    assert step_at(text, text.index("Second")) == 2
    assert step_at(text, text.index("line break")) == 2
    assert step_at(text, text.index("\n\n\n")) == 3  # between two steps: the next one
    assert step_at(text, len(text)) is None
    assert steps("") == [] and steps(None) == []


def test_champ_items_are_the_540_human_annotations_mapped_to_steps():
    items = step_critic.champ_items()
    assert len(items) == 540
    correct = [i for i in items if i.label == 0]
    assert len(correct) == 96  # CHAMP's annotators found no wrong step in 96 solutions
    from cft.data.benchmarks import champ_solutions

    spans = {f"{s.problem_id}|{s.model}|{s.setting}": s.first_wrong_step for s in champ_solutions() if s.correct is False}
    for item in items:
        n = len(steps(item.solution))
        assert 0 <= item.label <= n
        if item.label:  # the annotated span starts inside the step the label names
            assert spans[item.id].strip().split("\n")[0][:20] in steps(item.solution)[item.label - 1]
    subset, _ = step_critic.load_items("champ", limit=50, seed=3)
    assert len(subset) == 50 and len({i.id for i in subset}) == 50
    # Both kinds stay in a small subset, in their proportions (96 of 540 correct: 9 of 50).
    assert sum(1 for i in subset if i.label == 0) == round(50 * 96 / 540)
    assert [i.id for i in step_critic.load_items("champ", limit=50, seed=3)[0]] == [i.id for i in subset]
    tiny, _ = step_critic.load_items("champ", limit=2, seed=0)
    assert sorted(i.label == 0 for i in tiny) == [False, True]


@pytest.mark.parametrize("text,expected", [
    ("Step 2 adds wrongly. \\boxed{2}", 2),
    ("I first thought \\boxed{1}, but the error is in step 3: \\boxed{3}", 3),
    ("Every step holds. \\boxed{0}", 0),
    ("No error found: \\boxed{-1}", 0),  # ProcessBench's "not found"
    ("\\boxed{ step 4 }", 4),
    ("The solution is fine.\nConclusion: right [END]", 0),
    ("Conclusion: wrong [END]", None),  # wrong, but no step named: a miss
    ("no idea", None),
    ("\\boxed{x}", None),
    # a boxed corrected answer after the step: the step, not the answer
    ("The first wrong step is \\boxed{3}. The correct answer is \\boxed{12}", 3),
])
def test_parse_step_answer(text, expected):
    assert parse_step_answer(text) == expected


def test_a_step_past_the_solution_is_no_prediction():
    assert parse_step_answer("The answer should be \\boxed{12}", n_steps=5) is None
    assert parse_step_answer("Step \\boxed{5}", n_steps=5) == 5


def test_metrics_are_processbench_s_with_wilson_intervals():
    rows = ([{"label": 3, "predicted": 3}] * 3 + [{"label": 2, "predicted": 1}, {"label": 2, "predicted": 5},
            {"label": 4, "predicted": 0}, {"label": 1, "predicted": None}]
            + [{"label": 0, "predicted": 0}] * 2 + [{"label": 0, "predicted": 2}])
    m = step_metrics(rows)
    assert (m["n"], m["erroneous"], m["correct_solutions"]) == (10, 7, 3)
    assert m["error_accuracy"] == pytest.approx(3 / 7)
    assert m["correct_accuracy"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * (3 / 7) * (2 / 3) / (3 / 7 + 2 / 3))
    ci = binomtest(3, 7).proportion_ci(method="wilson")
    assert m["error_ci95"] == pytest.approx([ci.low, ci.high])
    assert m["f1_ci95"][0] < m["f1"] < m["f1_ci95"][1]
    assert m["on_erroneous"] == {"exact": 3, "too early": 1, "too late": 1, "no mistake found": 1, "unknown": 1}
    assert m["unknown"] == 1
    only_errors = step_metrics([{"label": 2, "predicted": 2}])
    assert only_errors["correct_accuracy"] is None and only_errors["f1"] is None
    assert "n/a" in step_critic.format_summary({**only_errors, "label": "x", "benchmark": "champ"})


def test_verifier_as_step_critic_on_champ_resumes_and_is_listed_apart(cft_home):
    config = StepCriticConfig(critic="verifier", limit=30, seed=1)
    assert config.name == "steps-verifier-champ-30"
    first = step_critic.run_step_critic(config, stop_after=10)
    assert first["n"] == 10 and not first["complete"]
    summary = step_critic.run_step_critic(config)  # resumes: the 10 done are not redone
    rows = read_results(config.name)
    assert len(rows) == len({r["id"] for r in rows}) == 30
    for r in rows:
        assert r["correct"] == (r["predicted"] == r["label"])
        assert "\\boxed" in r["output"] or "no step can be pointed at" in r["output"]
    assert summary["label"] == "verifier" and summary["complete"] and summary["kind"] == "steps"
    assert summary["error_accuracy"] == pytest.approx(
        sum(r["correct"] for r in rows if r["label"]) / sum(1 for r in rows if r["label"]))
    on_disk = json.loads((cft_home / "evals" / config.name / "summary.json").read_text())
    assert on_disk["f1"] == summary["f1"]
    assert config.name in {e["name"] for e in list_evals("steps")}
    assert config.name not in {e["name"] for e in list_evals()} | {e["name"] for e in list_evals("critic")}
    with pytest.raises(UserError, match="not a model"):
        StepCriticConfig(critic="verifier", adapter="cft-1")
    with pytest.raises(UserError, match="champ"):
        StepCriticConfig(benchmark="gsm8k")


def test_verifier_points_at_the_step_with_the_false_equation(cft_home):
    item = step_critic.StepItem("x", "What is 2*3+1?", "We multiply first.\n\n2*3 = 6.\n\n6 + 1 = 8.\n\nSo 8.", 3, "7")
    out = step_critic.verifier_answer(item)
    assert parse_step_answer(out) == 3
    fine = step_critic.StepItem("y", "What is 2*3+1?", "2*3 = 6.\n\n6 + 1 = 7.\n\nThe answer is 7.", 0, "7")
    assert parse_step_answer(step_critic.verifier_answer(fine)) == 0


def _labelled_dataset():
    from cft.data.store import Store

    store = Store()
    response = "3 * 3 = 6.\n\nSo the answer is 6."
    ids = store.add_samples("steps", [
        Sample(question=f"Q{i}: what is 3*3?", response=response, critique="Conclusion: wrong [END]", verdict="wrong",
               dataset="steps", key=f"k{i}") for i in range(4)])
    store.submit_review(ids[0], annotator="ann", verdict="wrong", first_wrong_step=1, expected_revision=0)
    store.submit_review(ids[0], annotator="bob", verdict="wrong", first_wrong_step=1, expected_revision=0)
    store.submit_review(ids[1], annotator="ann", verdict="right", first_wrong_step=0, expected_revision=0)
    store.submit_review(ids[2], annotator="ann", verdict="wrong", first_wrong_step=1, expected_revision=0)
    store.submit_review(ids[2], annotator="bob", verdict="wrong", first_wrong_step=2, expected_revision=0)
    store.submit_review(ids[3], annotator="ann", verdict="wrong", first_wrong_step=1, expected_revision=0)
    store.submit_review(ids[3], annotator="bob", verdict="wrong", first_wrong_step=2, expected_revision=0)
    store.submit_review(ids[3], annotator="lead", verdict="wrong", first_wrong_step=2, expected_revision=0,
                        kind="adjudication")
    return ids


def _labels(items) -> dict:
    return {i.source.split()[-1]: i.label for i in items}


def test_dataset_items_use_agreed_or_adjudicated_step_labels(cft_home):
    from cft.data.store import Store

    ids = _labelled_dataset()
    items, disputed = step_critic.dataset_items("steps")
    assert _labels(items) == {"k0": 1, "k1": 0, "k3": 2}  # k2: the reviewers disagree
    assert disputed == 1
    assert {i.id for i in items} == {str(ids[0]), str(ids[1]), str(ids[3])}  # the sample id: never ambiguous
    summary = step_critic.run_step_critic(StepCriticConfig(critic="verifier", benchmark="dataset:steps"))
    assert summary["n"] == 3 and summary["disputed_left_out"] == 1
    assert "1 sample(s) left out" in step_critic.format_summary(summary)
    store = Store()
    # A reviewer who gave no step: the sample is not labelled by every reviewer, so it is left out (not "agreed").
    store.submit_review(ids[0], annotator="cy", verdict="wrong", expected_revision=0)
    # A later adjudication without a step overrides the older one that had a step: left out too.
    store.submit_review(ids[3], annotator="lead", verdict="wrong", expected_revision=1, kind="adjudication")
    items, disputed = step_critic.dataset_items("steps")
    assert _labels(items) == {"k1": 0} and disputed == 1
    # The labels changed: resuming the same eval would score stale rows, so it is refused.
    with pytest.raises(UserError, match="measured something else"):
        step_critic.run_step_critic(StepCriticConfig(critic="verifier", benchmark="dataset:steps"))
    # K=2: a sample with one review is not labelled yet.
    store.save_settings("steps", expected_revision=0, by="lead", reviews_needed=2)
    with pytest.raises(UserError, match="no solution carries a first-wrong-step label"):
        step_critic.dataset_items("steps") and step_critic.load_items("dataset:steps", limit=None, seed=0)
    with pytest.raises(UserError, match="dataset:nope"):
        step_critic.dataset_items("nope")


def test_cli_step_level_with_the_verifier_and_a_model(tiny_model_dir, cft_home, capsys):
    from cft.__main__ import main

    assert main(["eval", "--critic", "champ", "--step-level", "--model", "verifier", "--limit", "20"]) == 0
    out = capsys.readouterr().out
    assert "step-level critic verifier on champ (n=20" in out
    assert "erroneous:" in out and "correct:" in out and "F1:" in out
    assert main(["eval", "--critic", "champ", "--step-level", "--model", str(tiny_model_dir), "--limit", "3",
                 "--max-new-tokens", "4", "--name", "steps-tiny"]) == 0
    out = capsys.readouterr().out
    assert "step-level critic" in out and "F1:" in out
    rows = read_results("steps-tiny")
    assert len(rows) == 3 and all(r["label"] >= 0 for r in rows)
    assert main(["eval", "--step-level", "--model", "verifier"]) == 2
    assert "--step-level needs --critic" in capsys.readouterr().err


def test_compare_tab_lists_step_level_evals_and_launches_them(cft_home):
    from pages.compare import handlers, view

    step_critic.run_step_critic(StepCriticConfig(critic="verifier", limit=12))
    rows = view.step_table()
    assert len(rows) == 1 and rows[0][0] == "verifier" and rows[0][-1] == "steps-verifier-champ-12"
    assert rows[0][2].endswith("]") and "[" in rows[0][2]  # an accuracy with its Wilson interval
    assert handlers.tables()[2] == rows
    with pytest.raises(UserError, match="tick critic mode"):
        handlers.start_eval("embedded", "gsm8k", 5, 16, 2, "", False, step_level=True)
    message = handlers.start_eval("", "champ", 2, 8, 2, "ui-steps", True, "http://127.0.0.1:9/v1", "cft-1",
                                  step_level=True)
    assert "ui-steps" in message
    from cft.evaluate.job import load_config

    config = load_config(str(cft_home / "evals" / "ui-steps" / "config.json"))
    assert isinstance(config, StepCriticConfig) and config.benchmark == "champ" and config.engine == "endpoint"


def test_the_verifier_s_answer_is_its_last_line_not_a_box_it_quotes(cft_home):
    # A solution whose boxed answer the verifier quotes while finding no false step: no step is predicted.
    item = step_critic.StepItem("z", "What is 2+2?", "We add.\n\nSo the answer is \\boxed{2}.", 2, "4")
    out = step_critic.verifier_answer(item)
    assert "\\boxed{2}" in out.rsplit("\n\n", 1)[0]  # quoted in the critique
    assert parse_step_answer(out.rsplit("\n\n", 1)[-1]) is None
