"""The whole loop at toy scale: every stage runs on the tiny model and the report holds every section."""

from cft import reproduce
from cft.commands.reproduce import add_arguments, config_from_args


def test_reproduce_end_to_end_with_tiny_model(tiny_model_dir, cft_home):
    cfg = reproduce.preset_config(
        "cpu-smoke", name="toy", student_model=str(tiny_model_dir), base_model=str(tiny_model_dir),
        n_questions=3, samples_per_question=2, student_max_new_tokens=24, max_steps=2, max_length=256,
        per_device_batch_size=2, benchmarks=["gsm8k", "math500"], eval_limit=3, eval_max_new_tokens=16,
        critic_limit=3, critic_max_new_tokens=16,
    )
    logs: list[str] = []
    path = reproduce.reproduce(cfg, log=logs.append)
    text = path.read_text()
    for section in ("## Result", "## Accuracy", "## Loss curves", "## Problems fixed and broken", "## Critic accuracy",
                    "## Time per stage", "## The paper's figures, for context", "## Exact config and versions"):
        assert section in text, section
    for label in ("| base |", "| sft |", "| cft |"):
        assert text.count(label) == 2, label  # once in the accuracy table, once in the critic table
    assert "79.4% on MATH" in text  # the paper's figures are quoted beside ours
    assert (path.parent / "loss.html").stat().st_size > 1000
    assert (path.parent / "loss.png").exists(), text  # Chromium is installed by the test command
    # Every stage was timed, and both runs trained the same number of steps.
    for stage in ("| 1-3 questions", "| 4 train", "| 5 evaluate", "| 6 critic"):
        assert stage in text, stage
    from cft.train import runs

    assert runs.get("toy-cft")["step"] == runs.get("toy-sft")["step"] == 2
    # Re-running reuses completed work instead of redoing it.
    logs.clear()
    reproduce.reproduce(cfg, log=logs.append)
    assert any("already completed, reused" in line for line in logs)


def test_verdict_sentence_is_honest_when_cft_loses():
    evals = {
        "cft": {"gsm8k": {"accuracy": 0.10, "ci95": [0.03, 0.3], "n": 20}},
        "sft": {"gsm8k": {"accuracy": 0.20, "ci95": [0.08, 0.42], "n": 20}},
    }
    text = reproduce.verdict_sentence(evals, ["gsm8k"])
    assert "did **not** beat SFT" in text and "10.0 points" in text and "not significant" in text
    evals["cft"]["gsm8k"] = {"accuracy": 0.9, "ci95": [0.7, 0.97], "n": 20}
    assert "CFT beat SFT by 70.0 points" in reproduce.verdict_sentence(evals, ["gsm8k"])
    assert "do not overlap" in reproduce.verdict_sentence(evals, ["gsm8k"])


def test_config_file_and_flags(tmp_path):
    import argparse
    import json

    import pytest

    from cft.errors import UserError

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg_file = tmp_path / "c.json"
    cfg_file.write_text(json.dumps({"preset": "gpu-small", "n_questions": 7}))
    cfg = config_from_args(parser.parse_args(["--config", str(cfg_file), "--eval-limit", "9"]))
    assert (cfg.preset, cfg.n_questions, cfg.eval_limit, cfg.train_preset) == ("gpu-small", 7, 9, "gpu")
    cfg_file.write_text(json.dumps({"n_qestions": 7}))
    with pytest.raises(UserError, match="n_qestions"):
        config_from_args(parser.parse_args(["--config", str(cfg_file)]))
    with pytest.raises(UserError, match="teacher_base_url"):
        reproduce.preset_config("paper").validate()
