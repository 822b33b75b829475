"""The whole loop at toy scale: every stage runs on the tiny model, the report holds every section, and a changed
config reruns exactly the stages it affects, saying why."""

from __future__ import annotations

import argparse
import json
import time

import pytest

from cft import reproduce
from cft.commands.reproduce import add_arguments, config_from_args
from cft.errors import UserError
from cft.train import runs


def _toy(tiny_model_dir, **changes):
    settings = dict(name="toy", student_model=str(tiny_model_dir), base_model=str(tiny_model_dir), n_questions=3,
                    samples_per_question=2, student_max_new_tokens=24, max_steps=2, max_length=256,
                    per_device_batch_size=2, benchmarks=["gsm8k", "math500:2"], eval_limit=3, eval_max_new_tokens=16,
                    critic_limit=3, critic_max_new_tokens=16, save_steps=1)
    return reproduce.preset_config("cpu-smoke", **{**settings, **changes})


def test_reproduce_end_to_end_then_reruns_only_what_a_change_affects(tiny_model_dir, cft_home):
    cfg = _toy(tiny_model_dir)
    logs: list[str] = []
    path = reproduce.reproduce(cfg, log=logs.append)
    text = path.read_text()
    for section in ("## Result", "## Accuracy", "## Paired comparisons", "## Side effects on the answers",
                    "## Training data and runs", "## Splits", "## Loss curves", "## Critic accuracy",
                    "## Reused and redone", "## Time per stage", "## The paper's figures, for context",
                    "## Exact config and versions"):
        assert section in text, section
    for mode in ("cft", "sft"):
        assert runs.get(f"toy-s0-{mode}")["step"] == 2  # every mode trained the same number of steps
    # A random model never answers right, so the verified baseline has nothing to train on: said, not hidden.
    assert "**sft-verified** could not be trained" in text and "0 responses verified correct" in text
    # The verdict lines come from paired statistics, one per benchmark and baseline.
    assert text.count("(n=3)") == 2 and text.count("(n=2)") == 2
    assert "McNemar" in text and "No checkpoint selection" in text and "hardware:" in text
    assert (path.parent / "loss.png").exists(), text  # Chromium is installed by the test command
    results = json.loads((path.parent / "results.json").read_text())
    assert {(c["baseline_mode"], c["candidate_mode"]) for c in results["comparisons"]} == \
        {("sft", "cft"), ("base", "cft"), ("base", "sft")}

    # Nothing changed: everything is reused, and the log says so.
    logs.clear()
    reproduce.reproduce(cfg, log=logs.append)
    assert any("toy-s0-cft: reused (fingerprint matches, completed)" in line for line in logs)
    assert not any("retrained" in line or "re-evaluated" in line or "regenerated" in line for line in logs)

    # A changed eval field reruns only the evals it touches, naming the field.
    logs.clear()
    reproduce.reproduce(cfg.replace(benchmarks=["gsm8k", "math500:3"]), log=logs.append)
    assert any("toy-base-math500: re-evaluated (config.limit: 2 -> 3; items:" in line for line in logs), logs
    assert any("toy-base-gsm8k: reused" in line for line in logs)
    assert not any("retrained" in line for line in logs)

    # A changed training field retrains the runs, and their evals follow because the weights changed.
    logs.clear()
    path = reproduce.reproduce(cfg.replace(max_steps=3), log=logs.append)
    assert any("toy-s0-sft: retrained (config.config.max_steps: 2 -> 3" in line or
               "toy-s0-sft: retrained (config.max_steps: 2 -> 3" in line for line in logs), logs
    assert any("toy-cft-s0-gsm8k: re-evaluated (adapter:" in line for line in logs), logs
    assert any("toy-base-gsm8k: reused" in line for line in logs)  # the base model did not change
    assert runs.get("toy-s0-cft")["step"] == 3
    assert "retrained" in path.read_text()  # the report's ledger says what was redone and why


def test_selection_never_sees_the_reported_items(tiny_model_dir, cft_home):
    cfg = _toy(tiny_model_dir, modes=["cft", "sft"], select_checkpoint=True, selection_limit=3,
               benchmarks=["gsm8k:3"], eval_limit=3)
    path = reproduce.reproduce(cfg, log=lambda line: None)
    text = path.read_text()
    assert "Checkpoints were picked on `gsm8k_val` (3 items)" in text and "`gsm8k` 0" in text
    with pytest.raises(UserError, match="would see"):
        reproduce.reproduce(cfg.replace(name="leak", selection_benchmark="gsm8k"), log=lambda line: None)


def test_seeds_train_each_mode_per_seed_and_report_mean_and_sd(tiny_model_dir, cft_home):
    cfg = _toy(tiny_model_dir, modes=["cft", "sft"], seeds=2, benchmarks=["gsm8k:2"], critic_limit=2)
    text = reproduce.reproduce(cfg, log=lambda line: None).read_text()
    assert runs.get("toy-s1-cft")["step"] == runs.get("toy-s0-sft")["step"] == 2
    assert "cft (mean ± sd, 2 seeds)" in text and "| cft-s1 |" in text and "2 seeds a side" in text


def test_config_file_flags_and_validation(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg_file = tmp_path / "c.json"
    cfg_file.write_text(json.dumps({"preset": "gpu-small", "n_questions": 7}))
    cfg = config_from_args(parser.parse_args(["--config", str(cfg_file), "--eval-limit", "9", "--seeds", "3",
                                              "--select-checkpoint", "false", "--modes", "cft", "sft"]))
    assert (cfg.preset, cfg.n_questions, cfg.eval_limit, cfg.train_preset, cfg.seeds) == ("gpu-small", 7, 9, "gpu", 3)
    assert cfg.select_checkpoint is False and cfg.modes == ["cft", "sft"]
    cfg_file.write_text(json.dumps({"n_qestions": 7}))
    with pytest.raises(UserError, match="n_qestions"):
        config_from_args(parser.parse_args(["--config", str(cfg_file)]))
    with pytest.raises(UserError, match="modes"):
        reproduce.preset_config("cpu-smoke", modes=["sft"]).validate()
    with pytest.raises(UserError, match="NAME"):
        reproduce.preset_config("cpu-smoke", benchmarks=["gsm8k:many"]).validate()


def test_presets_say_what_they_train():
    from cft.reproduce.presets import PRESETS
    from cft.train.presets import PRESETS as TRAIN

    paper = reproduce.preset_config("paper", teacher_base_url="http://x/v1", teacher_model="m").validate()
    assert paper.finetuning == "full" and paper.learning_rate == 5e-6 and TRAIN["paper-full"]["finetuning"] == "full"
    assert paper.per_device_batch_size * paper.grad_accum == 512 and paper.selection_set() == "math500_val"
    lora = reproduce.preset_config("paper-lora", teacher_base_url="http://x/v1", teacher_model="m").validate()
    assert lora.finetuning == "lora" and lora.learning_rate >= 1e-4  # LoRA at 5e-6 barely trains
    cpu = reproduce.preset_config("cpu").validate()
    assert cpu.eval_plan()[0] == ("arith", None, 64) and cpu.seeds >= 2 and set(cpu.modes) == {"cft", "sft", "sft-verified"}
    assert set(PRESETS) >= {"cpu-smoke", "cpu", "gpu-small", "paper", "paper-lora"}


def test_a_reused_stage_keeps_the_time_its_work_took(tmp_path):
    from cft.reproduce.stages import Ledger, Timer
    from cft.reproduce.tables import time_table

    record = tmp_path / "stage_seconds.json"
    ledger, quiet = Ledger(), (lambda line: None)
    first = Timer(ledger, record)
    first.stage("train", lambda: (time.sleep(0.2), ledger.add("train", "r", "trained", "", quiet)), quiet)
    assert first.work["train"] >= 0.2
    again = Timer(ledger, record)
    again.stage("train", lambda: ledger.add("train", "r", "reused (fingerprint matches)", "", quiet), quiet)
    assert again.seconds["train"] < 0.2 and again.work["train"] == first.work["train"]
    redo = Timer(ledger, record)
    redo.stage("train", lambda: ledger.add("train", "r", "retrained", "max_steps: 1 -> 2", quiet), quiet)
    assert redo.work["train"] == redo.seconds["train"] < 0.2
    assert "when its work was done" in time_table(again.seconds, again.work)
    never = Timer(Ledger(), tmp_path / "none.json")
    never.stage("train", lambda: never.ledger.add("train", "r", "reused (fingerprint matches)", "", quiet), quiet)
    assert "train" not in never.work and "reused, not recorded" in time_table(never.seconds, never.work)
