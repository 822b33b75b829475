import signal
import sys
import time

import pytest

from cft import jobs


def test_spawn_writes_log_and_completes(tmp_path):
    job = jobs.JobDir(tmp_path / "j1")
    code = "from cft.jobs import JobDir; import sys; j=JobDir(sys.argv[1]); j.write_status('running'); print('hello'); j.write_progress(1, 2, generated=1); j.write_status('completed')"
    jobs.spawn([sys.executable, "-c", code, str(job.path)], job)
    status = jobs.wait(job, timeout=60)
    assert status["state"] == "completed"
    assert "hello" in job.log_tail()
    assert job.progress()["done"] == 1 and job.progress()["generated"] == 1


def test_killed_job_is_marked_failed_with_log_tail(tmp_path):
    job = jobs.JobDir(tmp_path / "j2")
    code = "from cft.jobs import JobDir; import sys,time; j=JobDir(sys.argv[1]); j.write_status('running'); print('working', flush=True); time.sleep(60)"
    jobs.spawn([sys.executable, "-c", code, str(job.path)], job)
    deadline = time.time() + 30
    while job.status().get("state") != "running" and time.time() < deadline:
        time.sleep(0.1)
    assert jobs.stop(job, signal.SIGKILL)
    status = jobs.wait(job, timeout=30)
    assert status["state"] == "failed"
    assert "died" in status["error"]
    assert "working" in status["log_tail"]


def test_metrics_skip_partial_lines(tmp_path):
    job = jobs.JobDir(tmp_path / "j3")
    job.append_metric({"step": 1, "loss": 2.0})
    with open(job.metrics_path, "a") as fh:
        fh.write('{"step": 2, "lo')  # a writer mid-line
    assert job.metrics() == [{"step": 1, "loss": 2.0}]


def test_eta_format():
    assert jobs.format_eta(None) == "–"
    assert jobs.format_eta(75) == "1:15"
    assert jobs.format_eta(3725) == "1:02:05"


def test_a_reused_pid_does_not_make_a_dead_job_look_alive(tmp_path):
    """After a restart the recorded pid may belong to another process: its start time (/proc/<pid>/stat field 22)
    and the boot id tell them apart, for every job kind (they all go through JobDir.status)."""
    import os

    job = jobs.JobDir(tmp_path / "j4")
    job.write_status("running", pid=os.getpid())  # this very process: alive, same identity
    status = job.status()
    assert status["state"] == "running" and status["pid_start"] and status["boot_id"]
    stale = {**status, "pid_start": status["pid_start"] - 1}  # the pid now names a process started at another time
    jobs.write_json_atomic(job.status_path, stale)
    status = job.status()
    assert status["state"] == "failed" and "died" in status["error"]
    job.write_status("running", pid=os.getpid())
    jobs.write_json_atomic(job.status_path, {**job.status(), "boot_id": "another-boot"})  # recorded before a reboot
    assert job.status()["state"] == "failed"


def test_stop_never_signals_a_reused_pid(tmp_path):
    import subprocess

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        job = jobs.JobDir(tmp_path / "j5")
        job.write_status("running", pid=other.pid)
        jobs.write_json_atomic(job.status_path, {**job.status(), "pid_start": job.status()["pid_start"] + 7})
        assert not jobs.stop(job, signal.SIGKILL)
        time.sleep(0.2)
        assert other.poll() is None  # the unrelated process that got the pid lives on
    finally:
        other.kill()
        other.wait()


def test_state_writes_are_atomic_under_threads_and_failures(tmp_path, monkeypatch):
    """Readers see the old content or the new, never half: threads of one process writing the same state file
    (the app's handlers do) used to share one temp name; a failed write leaves the old file and no temp file."""
    import json
    import os
    import threading

    path = tmp_path / "summary.json"
    jobs.write_json_atomic(path, {"n": -1})
    bad: list[str] = []

    def writer(i: int) -> None:
        for k in range(100):
            jobs.write_json_atomic(path, {"n": i * 1000 + k, "pad": "x" * 2000})

    def reader() -> None:
        for _ in range(400):
            try:
                json.loads(path.read_text())
            except ValueError as exc:
                bad.append(str(exc))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad and json.loads(path.read_text())["n"] >= 0

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        jobs.write_json_atomic(path, {"n": "new"})
    assert json.loads(path.read_text())["n"] != "new" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_no_state_file_is_written_in_place():
    """Every JSON/JSONL state write goes through jobs.write_text_atomic / write_json_atomic (append-only logs
    excepted): a crash mid-write must not leave a truncated summary.json, status.json or metrics.jsonl."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for path in [*root.glob("cft/**/*.py"), *root.glob("pages/**/*.py"), root / "app.py"]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"write_text\(json\.dumps|json\.dump\(|\.write_text\(.*\.json", line) and "tmp" not in line:
                offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
