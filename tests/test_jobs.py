import signal
import sys
import time

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
