"""Re-grading a finished eval with the current grader, and evals reused only when their fingerprint matches."""

from __future__ import annotations

import json

import pytest

from cft import jobs
from cft.__main__ import main
from cft.errors import UserError
from cft.evaluate.config import EvalConfig, eval_dir
from cft.evaluate.regrade import regrade
from cft.evaluate.runner import fingerprint, prepare_dir
from cft.grading import GRADER_VERSION
from tests.helpers import fake_checkpoint_run

# Outputs an older grader misread (trailing unit words, several boxes) next to plain ones.
ROWS = [
    {"id": "gsm8k/1", "reference": "126", "output": "So she pays 126 dollars.\nThe answer is 126 dollars.",
     "extracted": "126 dollars", "correct": False},
    {"id": "gsm8k/2", "reference": "18", "output": "The answer is \\boxed{18}.", "extracted": "18", "correct": True},
    {"id": "gsm8k/3", "reference": "7", "output": "#### 8", "extracted": "8", "correct": False},
]


def _old_eval(name: str = "old") -> EvalConfig:
    config = EvalConfig(name=name, benchmark="gsm8k", limit=3)
    d = eval_dir(name)
    d.mkdir(parents=True)
    jobs.JobDir(d).write_config(config.to_dict())
    (d / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    jobs.write_json_atomic(d / "summary.json", {"name": name, "n": 3, "total": 3, "correct": 1, "accuracy": 1 / 3,
                                                "ci95": [0.06, 0.79], "grader_version": "1", "seconds": 12.0})
    return config


def test_regrade_fixes_what_the_old_grader_missed_and_records_the_grader(capsys):
    _old_eval()
    report = regrade("old")
    assert report["changed"] == ["gsm8k/1"]
    assert (report["before"]["correct"], report["after"]["correct"]) == (1, 2)
    after = json.loads((eval_dir("old") / "summary.json").read_text())
    assert after["grader_version"] == GRADER_VERSION and after["regraded_from"] == "1" and after["seconds"] == 12.0
    rows = [json.loads(line) for line in (eval_dir("old") / "results.jsonl").read_text().splitlines()]
    assert [r["output"] for r in rows] == [r["output"] for r in ROWS]  # the raw outputs are kept as they were
    assert rows[0]["correct"] and rows[0]["extracted"] == "126"
    assert main(["eval", "--regrade", "old"]) == 0
    assert "0 problem(s) changed" in capsys.readouterr().out  # idempotent


def test_regrade_refuses_running_missing_and_critic_evals():
    with pytest.raises(UserError, match="not found"):
        regrade("missing")
    _old_eval("busy")
    jobs.JobDir(eval_dir("busy")).write_status("running", pid=1)
    with pytest.raises(UserError, match="still running"):
        regrade("busy")


def test_an_eval_is_resumed_only_when_its_fingerprint_matches():
    config = EvalConfig(name="e", benchmark="gsm8k", limit=3)
    prepare_dir(config)
    prepare_dir(config)  # the same work: resumed
    with pytest.raises(UserError, match=r"measured something else \(config.limit: 3 -> 4"):
        prepare_dir(EvalConfig(name="e", benchmark="gsm8k", limit=4))
    with pytest.raises(UserError, match="prompt_policy: system -> none"):
        prepare_dir(EvalConfig(name="e", benchmark="gsm8k", limit=3, prompt_policy="none"))
    (eval_dir("e") / "results.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    prepare_dir(EvalConfig(name="e", benchmark="gsm8k", limit=4), force=True)
    assert not (eval_dir("e") / "results.jsonl").exists()  # forced: the stale results are gone


def test_fingerprint_follows_the_items_not_the_name():
    a = fingerprint(EvalConfig(name="x", benchmark="gsm8k", limit=5, seed=0))
    b = fingerprint(EvalConfig(name="y", benchmark="gsm8k", limit=5, seed=0))
    c = fingerprint(EvalConfig(name="x", benchmark="gsm8k", limit=5, seed=1))
    assert a.digest == b.digest
    assert any(change.startswith("items:") for change in c.changes(a))


def test_a_run_is_evaluated_under_the_policy_it_trained_with(cft_home):
    run = fake_checkpoint_run(cft_home, "quiet", steps=(3,))
    (run / "adapter").mkdir()
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "embedded"}))
    (run / "config.json").write_text(json.dumps({"name": "quiet", "prompt_policy": "none"}))
    assert EvalConfig(name="a", adapter="quiet/checkpoint-3").prompt_policy == "none"
    assert EvalConfig(name="b", adapter="quiet", prompt_policy="system").prompt_policy == "system"  # explicit wins
    assert EvalConfig(name="c").prompt_policy == "system"
    with pytest.raises(UserError, match="prompt_policy"):
        EvalConfig(name="d", prompt_policy="chatty")
