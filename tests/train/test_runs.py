"""The run registry and the Train tab's logic, read from run directories only; pairs; plots; merged export."""

from __future__ import annotations

import json
import time

import pytest

from cft import jobs
from cft.errors import UserError
from cft.train import TrainConfig, plots, runs
from cft.train.config import PAIR_BUDGET_NOTE
from cft.train.examples import build_examples, load_samples
from cft.train.export import export_merged
from cft.train.job import run
from pages.train.view import dashboard
from tests.helpers import QUESTIONS, put_mini_dataset, tiny_config


def _fake_run(name, mode, state, losses, pair="", started=None):
    """A run directory as a job leaves it (no process): what a refreshed page reads."""
    d = runs.job(name)
    d.write_config(TrainConfig(name=name, dataset="mini", mode=mode, pair=pair).to_dict())
    d.write_status(state, started_at=started or time.time(), pid=None)
    for step, loss in enumerate(losses, 1):
        d.append_metric({"step": step, "loss": loss, "tokens_per_s": 100.0 + step})
    d.append_metric({"step": len(losses), "eval_loss": losses[-1] + 0.1})
    d.write_progress(len(losses), 10)


def test_pair_has_identical_hyperparameters_a_shared_pair_id_and_equal_steps(embedded_tokenizer):
    put_mini_dataset()
    config = TrainConfig(name="exp", dataset="mini", base_model="embedded", num_epochs=2, max_steps=-1,
                         per_device_batch_size=2, eval_fraction=0.2).validate()
    cft_cfg, sft_cfg = runs.pair_configs(config)
    assert (cft_cfg.name, cft_cfg.mode, sft_cfg.name, sft_cfg.mode) == ("exp-cft", "cft", "exp-sft", "sft")
    assert cft_cfg.pair and cft_cfg.pair == sft_cfg.pair and cft_cfg.budget == PAIR_BUDGET_NOTE
    # 11 usable CFT samples, 2 held out for eval, batch 2: 5 steps an epoch, 2 epochs.
    assert cft_cfg.max_steps == sft_cfg.max_steps == 10
    differing = {k for k, v in cft_cfg.to_dict().items() if sft_cfg.to_dict()[k] != v}
    assert differing == {"name", "mode"}


def test_sft_baseline_uses_the_same_questions_as_the_cft_set(embedded_tokenizer):
    put_mini_dataset()
    config = TrainConfig(name="x", dataset="mini", eval_fraction=0).validate()
    samples = load_samples(config)
    assert {s.status for s in samples} == {"pending"} and len(samples) == 11  # discarded / uncritiqued left out
    cft = build_examples(config, embedded_tokenizer, samples)
    sft = build_examples(config.replace(mode="sft"), embedded_tokenizer, samples)
    assert len(cft.train) == 11
    assert sft.stats["questions"] == len({s.question for s in samples}) == len(QUESTIONS)
    assert len(sft.train) == 2 and sft.stats["without_solution"] == 2  # two questions have a reference solution
    reviewed = load_samples(config.replace(sample_filter="reviewed"))
    assert reviewed == []


def test_launch_refuses_existing_names_active_resumes_and_completed_resume(tiny_model_dir):
    put_mini_dataset()
    _fake_run("done", "cft", "completed", [2.0, 1.5])
    with pytest.raises(UserError, match="already exists"):
        runs.launch(tiny_config(tiny_model_dir, name="done"))
    with pytest.raises(UserError, match="already completed"):
        runs.resume("done")
    _fake_run("exp-cft", "cft", "stopped", [2.0])
    with pytest.raises(UserError, match="exp-cft.*already exists"):
        runs.launch_pair(tiny_config(tiny_model_dir, name="exp"))
    assert not runs.job("exp-sft").exists()
    with pytest.raises(UserError, match="not found"):
        runs.get("missing")


def test_list_runs_table_and_dashboard_come_from_run_dirs(tmp_path):
    _fake_run("old", "cft", "completed", [3.0, 2.0, 1.0], started=time.time() - 100)
    _fake_run("p-cft", "cft", "running", [2.5, 2.0], pair="p1")
    _fake_run("p-sft", "sft", "completed", [1.8, 1.2], pair="p1", started=time.time() - 50)
    listed = runs.list_runs()
    assert [r["name"] for r in listed] == ["p-cft", "p-sft", "old"]  # newest first
    # p-cft has no pid in its status, so it is reported as it was written; ETA only for running ones.
    row = dict(zip(runs.SUMMARY_HEADERS, runs.summary_rows(listed)[0]))
    assert row["status"] == "running" and row["progress"] == "2/10" and row["tokens/s"] == 102.0 and row["final loss"] == 2.0
    view = dashboard([], 0.5, True, None)
    assert view["shown"] == ["p-cft", "p-sft"]  # the running run and its pair partner
    assert view["current"] == "p-cft" and "[running] p-cft" in view["log"]
    fig = view["figure"]
    assert fig.layout.yaxis.type == "log"
    styles = {t.name: t.line.dash for t in fig.data if t.name and t.name.endswith("train")}
    assert styles == {"p-cft (cft) train": "solid", "p-sft (sft) train": "dash"}
    assert any(t.name == "p-sft (sft) eval" for t in fig.data)
    assert dashboard(["old"], 0, False, "old")["shown"] == ["old"]
    runs.delete("old")
    assert "old" not in [r["name"] for r in runs.list_runs()]
    with pytest.raises(UserError, match="still running"):
        runs.delete("p-cft")


def test_ema_is_debiased_like_tensorboard():
    assert plots.ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])  # no pull towards 0 at the start
    smoothed = plots.ema([1.0, 0.0, 0.0, 0.0], 0.5)
    assert smoothed[0] == 1.0 and smoothed[1] == pytest.approx(1 / 3) and smoothed[-1] < smoothed[1]
    assert plots.ema([1.0, 3.0], 0.0) == [1.0, 3.0]


def test_multi_gpu_launch_goes_through_accelerate(monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "_gpu_count", lambda: 4)
    argv = runs.train_argv(tmp_path / "config.json")
    assert argv[1:3] == ["-m", "accelerate.commands.launch"] and argv[argv.index("--num_processes") + 1] == "4"
    assert "--multi_gpu" in argv and argv[-4:-2] == ["-m", "cft.train"]
    monkeypatch.setattr(runs, "_gpu_count", lambda: 1)
    assert runs.train_argv(tmp_path / "config.json")[1:3] == ["-m", "cft.train"]


def test_export_merged_matches_the_adapter_model(tiny_model_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from cft.models import load_model

    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="tiny", max_steps=2, eval_fraction=0, save_steps=100, learning_rate=0.05)
    d = runs.run_dir("tiny")
    d.mkdir(parents=True)
    (d / "config.json").write_text(config.to_json())
    assert run(config, d)["state"] == "completed"
    jobs.JobDir(d).write_status("completed")
    out = export_merged("tiny", tmp_path / "merged")
    assert (out / "config.json").exists() and (out / "tokenizer_config.json").exists()
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    peft_model, _ = load_model(str(tiny_model_dir), adapter=d / "adapter", dtype=torch.float32, device="cpu")
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, peft_model(input_ids=ids).logits, atol=1e-4)
        assert not torch.allclose(merged(ids).logits, base(ids).logits, atol=1e-4)  # the adapter did change it
    with pytest.raises(UserError, match="not empty"):
        export_merged("tiny", out)
    assert json.loads((d / "adapter" / "adapter_config.json").read_text())["r"] == 4


def test_cli_trains_follows_lists_and_refuses_bad_names(tiny_model_dir, capsys):
    from cft.__main__ import main

    put_mini_dataset()
    code = main(["train", "--dataset", "mini", "--base-model", str(tiny_model_dir), "--max-steps", "2", "--name", "cli",
                 "--max-length", "160", "--set", "eval_fraction=0", "--set", "torch_threads=1"])
    out = capsys.readouterr().out
    assert code == 0 and "cli: completed, adapter" in out
    assert main(["runs"]) == 0
    listing = capsys.readouterr().out
    assert listing.splitlines()[0].split()[:3] == ["name", "mode", "status"] and "cli " in listing and "2/2" in listing
    assert main(["train", "--dataset", "mini", "--name", "../escape"]) == 2
    assert "expected 1 to 100 letters" in capsys.readouterr().err
    assert main(["runs", "--resume", "cli"]) == 2  # completed runs are not resumed
