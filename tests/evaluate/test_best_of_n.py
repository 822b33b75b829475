"""Best-of-N with a CFT model as the critic: the selection rules on hand-made answers, the paired statistics, and a
real run (a tiny model sampling and critiquing) that resumes, through the API and the CLI."""

from __future__ import annotations

import json

import pytest

from cft.errors import UserError
from cft.evaluate import best_of_n
from cft.evaluate.best_of_n import BestOfNConfig, best_of_n_metrics, select, vote
from cft.evaluate.results import list_evals, read_results


def _row(pid, k, extracted, correct, verdict):
    return {"problem_id": pid, "k": k, "extracted": extracted, "correct": correct, "verdict": verdict}


def test_vote_takes_the_most_frequent_answer_and_breaks_ties_by_sampling_order():
    rows = [_row("p", 0, "3", False, "wrong"), _row("p", 1, "4", True, "right"), _row("p", 2, " 4", True, "wrong"),
            _row("p", 3, "", False, "right")]
    assert vote(rows)["k"] == 1  # "4" twice (whitespace-normalised); an empty answer never wins
    assert vote([_row("p", 1, "5", False, "x"), _row("p", 0, "6", True, "x")])["k"] == 0  # a tie: sampled first
    assert vote([_row("p", 0, None, False, "x")]) is None


def test_selection_strategies_on_one_problem():
    rows = [_row("p", 0, "3", False, "wrong"), _row("p", 1, "3", False, "wrong"), _row("p", 2, "3", False, "unknown"),
            _row("p", 3, "4", True, "right")]
    picks = select(rows, seed=0)
    # The majority (3, wrong) loses to the one answer the critic judged right.
    assert picks["critic"] and not picks["majority"] and not picks["first"] and picks["oracle"]
    assert not picks["fallback"]
    none_right = [dict(r, verdict="wrong") for r in rows]
    picks = select(none_right, seed=0)
    assert picks["fallback"] and picks["critic"] == picks["majority"] is False  # falls back to the vote
    randoms = {select(rows, seed=s)["random"] for s in range(40)}
    assert randoms == {True, False}  # a pick among the four, not a fixed one
    assert select(rows, seed=7)["random"] == select(list(reversed(rows)), seed=7)["random"]  # seeded, order-free


def test_metrics_report_each_strategy_with_wilson_and_paired_statistics():
    rows = []
    for i in range(12):  # the critic rescues 6 problems where the majority is wrong; breaks none
        good = i < 6
        rows += [_row(f"p{i}", 0, "1", False, "wrong"), _row(f"p{i}", 1, "1", False, "wrong"),
                 _row(f"p{i}", 2, "2", True, "right" if good else "wrong")]
    rows += [_row("partial", 0, "2", True, "right")]  # fewer than N answers: not scored
    m = best_of_n_metrics(rows, n=3, seed=0)
    assert m["problems"] == 12
    assert m["strategies"]["critic"]["correct"] == 6 and m["strategies"]["majority"]["correct"] == 0
    assert m["strategies"]["oracle"]["correct"] == 12
    lo, hi = m["strategies"]["critic"]["ci95"]
    assert lo < 0.5 < hi
    vs_majority = m["paired"]["majority"]
    assert (vs_majority["fixed"], vs_majority["broke"]) == (6, 0)
    assert vs_majority["mcnemar_p"] == pytest.approx(2 * 0.5 ** 6)
    assert m["fallbacks"] == 6
    assert m["critic_verdicts"]["judged"] == 37 and m["critic_verdicts"]["agree_with_grader"] == 37 - 6


def test_config_refuses_what_cannot_be_best_of_n(cft_home):
    with pytest.raises(UserError, match="at least 2"):
        BestOfNConfig(n=1, critic_adapter="cft-1")
    with pytest.raises(UserError, match="needs a critic"):
        BestOfNConfig(n=4)
    with pytest.raises(UserError, match="greedy"):
        BestOfNConfig(n=4, critic_model="embedded", greedy=True)


def test_best_of_n_with_a_tiny_sampler_and_critic_resumes(tiny_model_dir, cft_home):
    config = BestOfNConfig(model=str(tiny_model_dir), critic_model=str(tiny_model_dir), benchmark="gsm8k", limit=2,
                           n=3, max_new_tokens=6, critic_max_new_tokens=5, batch_size=4)
    first = best_of_n.run_best_of_n(config, stop_after=4)
    assert first["n"] == 4 and not first["complete"] and first["problems"] == 1
    summary = best_of_n.run_best_of_n(config)
    rows = read_results(config.name)
    assert len(rows) == len({r["id"] for r in rows}) == 6
    assert {r["k"] for r in rows} == {0, 1, 2}
    for r in rows:
        assert r["verdict"] in ("right", "wrong", "unknown") and isinstance(r["critique"], str)
    assert summary["complete"] and summary["problems"] == 2
    assert set(summary["strategies"]) == {"critic", "majority", "random", "first", "oracle"}
    assert summary["strategies"]["oracle"]["correct"] >= summary["strategies"]["critic"]["correct"]
    on_disk = json.loads((cft_home / "evals" / config.name / "summary.json").read_text())
    assert on_disk["kind"] == "best-of-n" and on_disk["paired"]["random"]["n"] == 2
    text = best_of_n.format_summary(summary)
    assert "critic's pick" in text and "majority vote" in text and "critic vs random pick" in text
    assert config.name in {e["name"] for e in list_evals("best-of-n")}
    assert config.name not in {e["name"] for e in list_evals()}


def test_cli_best_of_n_with_the_embedded_model(cft_home, capsys):
    from cft.__main__ import main

    assert main(["eval", "--best-of-n", "2", "--benchmark", "gsm8k", "--limit", "1", "--max-new-tokens", "24",
                 "--critic-model", "embedded", "--critic-max-new-tokens", "16", "--name", "bon-cli"]) == 0
    out = capsys.readouterr().out
    assert "best-of-2 on gsm8k" in out and "oracle (pass@N)" in out
    assert len(read_results("bon-cli")) == 2
    assert main(["eval", "--best-of-n", "3", "--benchmark", "gsm8k", "--limit", "1"]) == 2
    assert "needs a critic" in capsys.readouterr().err


def test_draws_of_one_problem_differ_even_one_per_batch(tiny_model_dir, cft_home):
    # A batch seeded alike would give batch after batch the same answer: N copies of one sample.
    config = BestOfNConfig(model=str(tiny_model_dir), critic_model=str(tiny_model_dir), benchmark="gsm8k", limit=1,
                           n=3, max_new_tokens=8, critic_max_new_tokens=2, batch_size=1, name="bon-seeds")
    summary = best_of_n.run_best_of_n(config)
    outputs = [r["output"] for r in read_results("bon-seeds")]
    assert len(outputs) == 3 and len(set(outputs)) > 1
    assert summary["distinct_outputs_mean"] == len(set(outputs))
    with pytest.raises(UserError, match="no run named .no-such-run."):  # refused before anything is sampled
        BestOfNConfig(model=str(tiny_model_dir), critic_adapter="no-such-run", n=2)
