"""What a job reports while it runs: an ETA from the rate observed in this process, a log tail without progress-bar
noise, and "stopping…" from a stop request until the job has ended."""

from __future__ import annotations

import os

import pytest

from cft import jobs
from tests.helpers import slow_stopping_job, wait_for


def test_eta_comes_from_the_observed_rate_not_the_model_load_nor_a_previous_process(tmp_path, monkeypatch):
    job = jobs.JobDir(tmp_path / "job")
    clock = [1000.0]
    monkeypatch.setattr(jobs.time, "time", lambda: clock[0])
    assert job.write_progress(0, 100)["eta"] is None
    clock[0] += 20  # the model loads: no work done, no estimate
    assert job.write_progress(0, 100)["eta"] is None
    clock[0] += 1
    first = job.write_progress(8, 100)  # one batch: no rate yet, so a rough ETA, model load included, marked so
    assert first["eta"] == pytest.approx((100 - 8) / (8 / 21)) and first["eta_rough"] is True
    assert jobs.format_eta(first["eta"], first["eta_rough"]) == "~4:01 (rough estimate)"
    clock[0] += 2
    second = job.write_progress(16, 100)
    assert second["eta"] == (100 - 16) / 4 and second["eta_rough"] is False  # 8 items in 2 s since the first batch
    clock[0] += 2
    assert job.write_progress(24, 100)["eta"] == (100 - 24) / 4
    assert job.write_progress(100, 100)["eta"] == 0.0 and not job.progress()["eta_rough"]
    # A resumed job (another process) starts its clock again: the 24 done before are not work it did.
    other = os.getpid() + 1
    monkeypatch.setattr(jobs.os, "getpid", lambda: other)
    clock[0] += 60
    assert job.write_progress(24, 100)["eta"] is None
    clock[0] += 30  # its model load
    assert job.write_progress(32, 100)["eta"] == pytest.approx(68 / (8 / 30))  # rough: its own 8 in its own 30 s
    clock[0] += 1
    assert job.write_progress(40, 100)["eta"] == (100 - 40) / 8


def test_the_log_tail_is_the_end_of_the_log_without_progress_bars(tmp_path):
    job = jobs.JobDir(tmp_path / "job")
    job.path.mkdir()
    bars = "".join(f"\rConverting and de-quantizing GGUF tensors...: {i}%|{'#' * (i // 10)}| {i}/100 [00:0{i % 10}<00:10]"
                   for i in range(100))
    tqdm = "".join(f"\r {i}/50 [00:01<00:02, 12.3it/s]" for i in range(50))
    lines = [f"line {i}" for i in range(200)]
    job.log_path.write_text("\n".join(["loading", bars, *lines[:100], tqdm, *lines[100:], "generating 3/7\rdone 7/7"]))
    tail = job.log_tail(5).splitlines()
    assert tail == ["line 196", "line 197", "line 198", "line 199", "done 7/7"]
    assert "GGUF" not in job.log_tail(500) and "it/s" not in job.log_tail(500)
    assert job.log_tail(500).splitlines()[0] == "loading"


def test_a_stopped_job_shows_stopping_until_it_has_ended(tmp_path):
    job = jobs.JobDir(tmp_path / "slow")
    slow_stopping_job(job.path, linger=2.0)
    assert jobs.display_state(job) == "running"
    assert jobs.stop(job)
    assert jobs.display_state(job) == jobs.STOPPING
    wait_for(lambda: job.status().get("state") == "stopped", timeout=30, what="the job to stop")
    assert jobs.display_state(job) == "stopped"
    # A new start is not "stopping" because of the old request.
    slow_stopping_job(job.path, linger=0.1)
    assert jobs.display_state(job) == "running"
    jobs.stop(job)
    wait_for(lambda: job.status().get("state") == "stopped", timeout=30, what="the second stop")
