"""The Compare tab's library side, without a browser: arena streaming, the model cache, eval diffs, problem
picking and votes.

The models are real: LoRA checkpoints of the tiny random model, trained to answer "7" (checkpoint-10) and then
"8" (checkpoint-20), installed as a run so that cft.models.list_models() offers them like any trained run.
"""

from __future__ import annotations

import json

import pytest

from cft.evaluate import arena, problems, votes
from pages.compare import view
from cft.errors import UserError
from tests.helpers import install_run

A, B = "run:cft-toy/checkpoint-10", "run:cft-toy/checkpoint-20"


def test_round_robin_steps_generators_in_turn():
    order = []

    def gen(name, n):
        for i in range(n):
            order.append(name)
            yield f"{name}{i}"

    steps = list(arena.round_robin([gen("a", 3), gen("b", 1), gen("c", 2)]))
    assert order == ["a", "b", "c", "a", "c", "a"]  # one step each per round, finished ones skipped
    assert steps[-1][0] == ["a2", "b0", "c1"] and steps[-1][1] == [True, True, True]


def test_model_cache_is_lru(trained_checkpoints, cft_home):
    install_run(trained_checkpoints, cft_home)
    cache = arena.ModelCache(size=2)
    m1 = cache.get_label(A)
    assert cache.get_label(A) is m1 and cache.loads == 1  # switching problems does not reload
    cache.get_label(B)
    cache.get_label("run:cft-toy")  # a third model evicts the least recently used (A)
    assert cache.loads == 3
    cache.get_label(A)
    assert cache.loads == 4


def test_side_by_side_streams_and_marks(toy):
    steps = list(arena.side_by_side([A, B], "What is 3 + 4?", "7", max_new_tokens=1, cache=arena.ModelCache()))
    last = steps[-1]
    assert last["answers"] == ["7", "8"] and all(last["finished"])
    assert last["results"][0]["correct"] is True and last["results"][1]["correct"] is False
    assert last["results"][0]["extracted"] == "7"
    assert "✓" in view.mark_markdown(last["results"][0]) and "✗" in view.mark_markdown(last["results"][1])
    with pytest.raises(UserError, match="model"):
        list(arena.side_by_side([], "q", "7"))


def test_diff_disagreements_and_table(toy):
    fixed, broke, note = view.diff_tables("toy-checkpoint-20", "toy-checkpoint-10")
    assert len(fixed) == 4 and broke == [] and "fixed 4, broke 0" in note
    assert fixed[0][3] == "8" and fixed[0][4] == "7"  # baseline answer, CFT answer
    fixed, broke, _ = view.diff_tables("toy-checkpoint-10", "toy-checkpoint-20")
    assert fixed == [] and len(broke) == 4
    assert len(problems.disagreements("toy-checkpoint-10", "toy-checkpoint-20")) == 4
    p = problems.disagreement_problem("toy-checkpoint-10", "toy-checkpoint-20", seed=0)
    assert "seven-" in p["id"] and p["reference"] == "7"
    with pytest.raises(UserError, match="agree"):
        problems.disagreement_problem("toy-checkpoint-10", "toy-checkpoint-10")
    rows = {r[4]: r for r in view.aggregate_table()}
    assert rows["toy-checkpoint-10"][0] == "cft-toy/checkpoint-10" and rows["toy-checkpoint-10"][2].startswith("100.0% [")
    assert rows["toy-checkpoint-20"][2].startswith("0.0% [") and rows["toy-checkpoint-20"][3] == 4
    assert view.eval_models("toy-checkpoint-10") == A


def test_problem_picking():
    p = problems.random_problem("gsm8k", seed=3)
    again = problems.problem_by_id("gsm8k", p["id"])
    assert again == p and p["reference"]
    with pytest.raises(UserError, match="no problem with id"):
        problems.problem_by_id("gsm8k", "definitely-not-an-id")
    assert problems.typed_problem("2+2?", "4")["question"] == "2+2?"


def test_votes_are_appended_with_models_and_problem(cft_home):
    problem = {"benchmark": "gsm8k", "id": "3", "question": "q", "reference": "7"}
    votes.record_vote("A better", [A, B, ""], problem, ["7", "8", ""])
    votes.record_vote("tie", [A, B, None], problem)
    lines = (cft_home / "votes.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["vote"] == "A better" and first["models"] == {"A": A, "B": B}
    assert first["problem"]["id"] == "3" and first["answers"] == {"A": "7", "B": "8"}
    with pytest.raises(UserError, match="vote must be"):
        votes.record_vote("A wins", [A, B], problem)
    with pytest.raises(UserError, match="at least two"):
        votes.record_vote("tie", [A], problem)


def test_a_vote_goes_to_any_answer_shown_a_tie_or_all_wrong(cft_home):
    problem = {"benchmark": "", "id": "", "question": "q", "reference": "7"}
    votes.record_vote("C better", [A, B, "run:c"], problem, ["7", "8", "9"])
    votes.record_vote("all wrong", [A, "", "run:c"], problem)
    votes.record_vote("both bad", [A, B], problem)  # how earlier versions named it
    with open(votes.votes_path(), "a") as fh:  # and wrote it
        fh.write(json.dumps({"vote": "both bad", "models": {"A": A, "B": B}}) + "\n")
    assert [v["vote"] for v in votes.read_votes()] == ["C better", "all wrong", "all wrong", "all wrong"]
    assert votes.read_votes()[0]["models"]["C"] == "run:c"
    with pytest.raises(UserError, match="needs a model in slot C"):
        votes.record_vote("C better", [A, B, ""], problem)
    with pytest.raises(UserError, match="needs a model in slot B"):
        votes.record_vote("B better", [A, "", "run:c"], problem)


def test_an_abandoned_answer_stream_leaves_gradients_on(tiny_model_dir):
    """A page that moves on mid-answer must not leave the thread in inference mode (training would then fail)."""
    import torch

    from cft import models

    model, tokenizer = models.load_model(str(tiny_model_dir))
    stream = arena.token_stream(model, tokenizer, "Hello", max_new_tokens=5)
    next(stream)
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    del stream
    assert torch.is_grad_enabled()
