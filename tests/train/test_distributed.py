"""Multi-process training: two CPU processes over gloo (``torch.distributed.run``), the launch command, and
accelerate config files (ours shipped as package data, or the user's)."""

from __future__ import annotations

import os
import re
import signal
import sys

import pytest

from cft.errors import UserError
from cft.train import runs
from cft.train.distributed import SHIPPED, accelerate_config_path, launch_argv, shipped_configs
from tests.helpers import put_mini_dataset, tiny_config, train_steps, wait_for


def _rank_lines(name: str, what: str) -> dict[int, int]:
    """{rank: number} from the log's ``[cft] rank R/2 <what> N`` lines (pid for "pid", the step otherwise)."""
    log = runs.log_tail(name, 2000)
    pattern = rf"\[cft\] rank (\d)/2 pid (\d+)" if what == "pid" else rf"\[cft\] rank (\d)/2 {what} (\d+)"
    return {int(r): int(n) for r, n in re.findall(pattern, log)}


def test_two_cpu_processes_train_the_same_steps_and_stop_together(tiny_model_dir):
    """Two CPU processes (gloo), launched as a user's run is. A SIGTERM to rank 1 alone stops both ranks after the same
    step (the flag is all-reduced); rank 0 alone writes metrics, status, the checkpoint and the adapter."""
    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="ddp", num_processes=2, max_steps=400, save_steps=1000,
                         eval_fraction=0, per_device_batch_size=1)
    started = runs.launch(config)
    wait_for(lambda: len(_rank_lines("ddp", "pid")) == 2 and len(train_steps("ddp")) >= 2, timeout=150,
             what="both ranks started and two logged steps")
    pids = _rank_lines("ddp", "pid")
    assert started["pid"] not in pids.values()  # the launcher, not a rank, is the job's process
    os.kill(pids[1], signal.SIGTERM)  # only rank 1 hears the stop
    status = runs.wait("ddp", timeout=120)
    assert status["state"] == "stopped", runs.log_tail("ddp", 80)
    ends = wait_for(lambda: _rank_lines("ddp", "ends at step") if len(_rank_lines("ddp", "ends at step")) == 2
                    else None, timeout=30, what="both ranks' last lines")
    assert ends[0] == ends[1] == status["global_step"] and 2 <= ends[0] < 400
    steps = train_steps("ddp")
    assert steps == sorted(set(steps)), "every step logged once: rank 1 writes no metrics"
    run_dir = runs.run_dir("ddp")
    assert (run_dir / "checkpoints" / f"checkpoint-{ends[0]}" / "adapter_config.json").exists()
    assert (run_dir / "adapter" / "adapter_config.json").exists()
    assert status["pid"] == started["pid"]  # written by rank 0 alone, kept from the launch


def test_launch_argv_one_process_cpu_processes_gpus_and_a_config_file(tmp_path):
    path = tmp_path / "config.json"
    assert launch_argv(path) == [sys.executable, "-m", "cft.train", "--config", str(path)]
    cpu = launch_argv(path, num_processes=2)
    assert cpu[1:3] == ["-m", "torch.distributed.run"] and cpu[cpu.index("--nproc_per_node") + 1] == "2"
    assert cpu[-4:] == ["-m", "cft.train", "--config", str(path)]
    gpus = launch_argv(path, gpus=4)
    assert "--multi_gpu" in gpus and gpus[gpus.index("--num_processes") + 1] == "4"
    fsdp = launch_argv(path, accelerate_config="fsdp", gpus=2)
    assert fsdp[fsdp.index("--config_file") + 1] == str((SHIPPED / "fsdp.yaml").resolve())
    assert "--multi_gpu" not in fsdp and "--cpu" not in fsdp  # the file says how


def test_shipped_accelerate_configs_and_bad_files_name_the_field(tmp_path, cft_home, monkeypatch):
    monkeypatch.setenv("CFT_ALLOWED_DIRS", "")  # the workspace alone is allowed (the suite allows its temp dirs)
    assert set(shipped_configs()) >= {"ddp", "fsdp", "zero2"}
    for name in shipped_configs():
        assert accelerate_config_path(name).is_file()
    with pytest.raises(UserError, match="accelerate_config.*not found"):
        tiny_config("x", accelerate_config=str(cft_home / "missing.yaml"))
    outside = tmp_path / "outside.yaml"  # a real accelerate config, but outside the allowed roots: the same refusal
    outside.write_text((SHIPPED / "ddp.yaml").read_text())
    with pytest.raises(UserError, match="accelerate_config.*not found"):
        accelerate_config_path(str(outside))
    bad = cft_home / "bad.yaml"
    bad.write_text("distributed_type: [FSDP\n")
    with pytest.raises(UserError, match=r"bad.yaml, line \d"):
        accelerate_config_path(str(bad))
    other = cft_home / "other.yaml"
    other.write_text("a: 1\n")
    with pytest.raises(UserError, match="not an accelerate config"):
        accelerate_config_path(str(other))
    mine = cft_home / "mine.yaml"
    mine.write_text((SHIPPED / "ddp.yaml").read_text())
    config = tiny_config("x", accelerate_config=str(mine), num_processes=2)
    argv = runs.train_argv(tmp_path / "config.json", config)
    assert argv[argv.index("--config_file") + 1] == str(mine.resolve())


def test_cli_flags_reach_the_config(tiny_model_dir):
    import argparse

    from cft.commands.train import build_config, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["train", "--dataset", "mini", "--preset", "qlora-7b", "--accelerate-config", "zero2",
                              "--num-processes", "2", "--report-to", "tensorboard", "--name", "x"])
    config = build_config(args)
    assert (config.accelerate_config, config.num_processes, config.report_to) == ("zero2", 2, "tensorboard")
    assert config.quantization == "4bit" and config.preset == "qlora-7b"
