"""Critic mode: metrics on hand-made verdicts, and real critic evals with the tiny model on CHAMP and a dataset."""

from __future__ import annotations

import json

import pytest

from cft.evaluate import critic
from cft.evaluate.critic import CriticConfig
from cft.evaluate.results import list_evals, read_results
from cft.evaluate.stats import critic_metrics
from cft.errors import UserError
from cft.data.samples import Sample


def row(label, verdict):
    return {"label": label, "verdict": verdict}


def test_metrics_on_hand_made_verdicts():
    rows = [row("wrong", "wrong")] * 3 + [row("wrong", "right")] + [row("wrong", "unknown")] \
        + [row("right", "right")] * 4 + [row("right", "wrong")]
    m = critic_metrics(rows)
    assert m["n"] == 10 and m["correct"] == 7 and m["accuracy"] == pytest.approx(0.7)
    # wrong class: tp 3, fp 1, fn 2 (one missed as right, one unknown)
    assert m["wrong_precision"] == pytest.approx(3 / 4)
    assert m["wrong_recall"] == pytest.approx(3 / 5)
    assert m["wrong_f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert m["unknown_rate"] == pytest.approx(0.1)
    assert m["labels"] == {"right": 5, "wrong": 5}
    assert m["confusion"]["wrong->unknown"] == 1 and m["confusion"]["right->wrong"] == 1
    assert critic_metrics([row("right", "right")])["wrong_f1"] == 0.0  # no wrong class: 0, not a crash


def test_champ_pairs_are_real_labelled_solutions():
    pairs = critic.load_pairs("champ", limit=40, seed=1)
    assert len(pairs) == 40
    assert all(p.label in ("right", "wrong") for p in pairs)
    assert all(p.question and p.solution for p in pairs)
    # Real GPT-3.5/GPT-4/PaLM-2 solutions to competition problems: both kinds occur in a 40-item sample.
    assert {p.label for p in pairs} == {"right", "wrong"}
    assert len({p.id for p in pairs}) == 40
    assert [p.id for p in critic.load_pairs("champ", limit=40, seed=1)] == [p.id for p in pairs]  # seeded


def test_critic_eval_on_champ_with_tiny_model(tiny_model_dir, cft_home):
    config = CriticConfig(model=str(tiny_model_dir), limit=6, max_new_tokens=12, batch_size=3)
    assert config.name.startswith("critic-")
    first = critic.run_critic(config, stop_after=3)
    assert first["n"] == 3
    summary = critic.run_critic(config)  # resumes
    rows = read_results(config.name)
    assert len(rows) == len({r["id"] for r in rows}) == 6
    for r in rows:
        assert r["verdict"] in ("right", "wrong", "unknown") and r["label"] in ("right", "wrong")
        assert r["correct"] == (r["verdict"] == r["label"])
    expected = critic_metrics(rows)
    for key in ("accuracy", "wrong_f1", "unknown_rate", "correct"):
        assert summary[key] == pytest.approx(expected[key])
    on_disk = json.loads((cft_home / "evals" / config.name / "summary.json").read_text())
    assert on_disk["kind"] == "critic" and on_disk["n"] == 6
    assert "F1 on wrong" in critic.format_summary(summary)
    # Critic evals are listed apart from accuracy evals.
    assert config.name in {e["name"] for e in list_evals("critic")}
    assert config.name not in {e["name"] for e in list_evals()}


def test_critic_on_dataset_uses_verdicts_as_labels(tiny_model_dir, cft_home):
    from cft.data.store import Store

    store = Store()
    samples = [
        Sample(question="What is 2+2?", response="2+2=4. The answer is 4.", critique="Correct. Conclusion: right [END]",
               verdict="right", status="reviewed", dataset="crit", key="a"),
        Sample(question="What is 3*3?", response="3*3=6. The answer is 6.", critique="3*3=9. Conclusion: wrong [END]",
               verdict="wrong", status="reviewed", dataset="crit", key="b"),
        Sample(question="What is 5-1?", response="5-1=4.", critique="Fine. Conclusion: right [END]",
               verdict="right", status="pending", dataset="crit", key="c"),
        Sample(question="No verdict", response="?", critique="hmm", verdict="unknown", dataset="crit", key="d"),
    ]
    store.add_samples("crit", samples)
    pairs = critic.load_pairs("dataset:crit", limit=None, seed=0)
    assert [p.label for p in pairs] == ["right", "wrong", "right"]  # reviewed first; unknown verdicts left out
    config = CriticConfig(model=str(tiny_model_dir), benchmark="dataset:crit", max_new_tokens=8, batch_size=4)
    summary = critic.run_critic(config)
    assert summary["n"] == 3 and summary["labels"] == {"right": 2, "wrong": 1}
    with pytest.raises(UserError, match="dataset:nope"):
        critic.load_pairs("dataset:nope", limit=None, seed=0)
    with pytest.raises(UserError, match="critic source"):
        CriticConfig(benchmark="gsm8k")


def test_cli_critic(tiny_model_dir, cft_home, capsys):
    from cft.__main__ import main

    assert main(["eval", "--model", str(tiny_model_dir), "--critic", "champ", "--limit", "2", "--max-new-tokens", "4",
                 "--name", "cli-critic"]) == 0
    out = capsys.readouterr().out
    assert "verdict accuracy" in out and "F1 on wrong" in out
