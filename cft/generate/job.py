"""The generation job: sample what is missing, then critique what is uncritiqued; launched in the background as
``python -m cft.generate --config jobs/<id>/config.json`` and reported through its job directory (cft.jobs)."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from typing import Callable

from cft import jobs, redact, workspace
from cft.errors import UserError
from cft.generate.config import JOB_PREFIX, GenerateConfig
from cft.generate.counts import Counts, ProgressFn
from cft.generate.critique import count_done, critique_with_openai, critique_with_verifier, pending_critiques
from cft.generate.questions import job_keys, load_questions
from cft.generate.student import sample_responses


def run_generation(config: GenerateConfig, *, api_key: str | None = None, progress: ProgressFn | None = None,
                   stop: Callable[[], bool] | None = None, max_new_samples: int | None = None,
                   store=None, counts: Counts | None = None, retry_failed: bool = False) -> Counts:
    """Sample what is missing, then critique what is uncritiqued. Safe to call again on the same config: samples the
    teacher refused before are skipped unless ``retry_failed``."""
    from cft.data.store import Store

    config.validate()
    store = store or Store()
    store.create_dataset(config.dataset)
    counts = counts or Counts()
    counts.phase = "loading questions"
    questions = load_questions(config, store)
    keys = job_keys(questions, int(config.samples_per_question))
    counts.total = len(keys)
    sample_responses(config, store, questions, counts, progress, stop, max_new_samples)
    key_set = set(keys)
    count_done(store, config, key_set, counts)
    if stop and stop():
        return counts
    todo = pending_critiques(store, config, key_set, retry_failed=retry_failed)
    counts.phase = f"critiquing ({config.teacher})"
    if progress:
        progress(counts)
    if todo:
        if config.teacher == "verifier":
            critique_with_verifier(config, store, todo, counts, progress, stop)
        else:
            critique_with_openai(config, store, todo, counts, api_key=api_key, progress=progress, stop=stop)
    count_done(store, config, key_set, counts)
    counts.phase = "done"
    if progress:
        progress(counts)
    return counts


def progress_writer(job: jobs.JobDir) -> ProgressFn:
    """Write progress.json: done counts generated + critiqued against twice the samples (both phases)."""

    def write(counts: Counts) -> None:
        job.write_progress(counts.generated + counts.critiqued, 2 * counts.total, **counts.as_dict())

    return write


def run_job(job: jobs.JobDir, *, api_key: str | None = None, progress: ProgressFn | None = None,
            max_new_samples: int | None = None, retry_failed: bool = False) -> int:
    """Run the job whose config.json is in ``job``; updates status.json; returns an exit code."""
    stopping = {"flag": False}

    def on_term(signum, frame):  # jobs.stop sends SIGTERM: finish the current batch, then stop cleanly
        stopping["flag"] = True

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    write = progress_writer(job)

    def report(counts: Counts) -> None:
        write(counts)
        if progress:
            progress(counts)

    counts = Counts()
    try:
        config = GenerateConfig.from_dict(job.config())
        job.write_status("running", pid=os.getpid(), dataset=config.dataset)
        print(f"generation job {job.name}: {config.n_questions} questions from {config.source} x "
              f"{config.samples_per_question} samples, teacher {config.teacher}", flush=True)
        counts = run_generation(config, api_key=api_key, progress=report, stop=lambda: stopping["flag"],
                                max_new_samples=max_new_samples, counts=counts, retry_failed=retry_failed)
    except KeyboardInterrupt:  # Ctrl-C in the foreground CLI: record it, so the tab does not show a dead "running"
        job.write_status("stopped", **_summary(counts))
        raise
    except UserError as exc:
        print(f"error: {exc}", flush=True)
        report(counts)
        job.write_status("failed", error=str(exc), **_summary(counts))
        return 2
    except Exception as exc:  # noqa: BLE001 - the job must record why it died, whatever it was
        traceback.print_exc()
        job.write_status("failed", error=f"{type(exc).__name__}: {exc}", **_summary(counts))
        return 1
    if stopping["flag"]:
        job.write_status("stopped", **_summary(counts))
        return 130
    if counts.failed:
        job.write_status("failed", error=f"{counts.failed} critique(s) failed; relaunch to retry them: "
                                         f"{counts.errors[-1] if counts.errors else ''}", **_summary(counts))
        return 1
    job.write_status("completed", **_summary(counts))
    print(f"done: {counts.generated} generated, {counts.critiqued} critiqued", flush=True)
    if counts.failed_samples:
        print(f"{counts.failed_samples} sample(s) refused by the teacher, kept with their reason; resume with "
              "retry_failed (--retry-failed) to try them again", flush=True)
    return 0


def _summary(counts: Counts) -> dict:
    return {k: v for k, v in counts.as_dict().items() if k != "errors"}


# ------------------------------------------------------------------------------------------------ jobs


def new_job(config: GenerateConfig) -> jobs.JobDir:
    config.validate()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in config.dataset)[:40]
    base = f"{JOB_PREFIX}{stamp}-{safe}"
    name, n = base, 1
    while (workspace.jobs_dir() / name).exists():
        n += 1
        name = f"{base}-{n}"
    job = jobs.JobDir(workspace.safe_child(workspace.jobs_dir(), name, "generation job"))
    job.write_config(config.to_dict())
    return job


def _spawn(job: jobs.JobDir, api_key: str | None, retry_failed: bool = False) -> None:
    # The key travels in the child's environment only: never in argv (visible in ps, saved in status.json).
    redact.register(api_key)
    env = {"OPENAI_API_KEY": api_key} if api_key else None
    argv = ["python", "-m", "cft.generate", "--config", str(job.config_path)]
    jobs.spawn(argv + (["--retry-failed"] if retry_failed else []), job, env=env)


def launch(config: GenerateConfig, api_key: str | None = None, *, retry_failed: bool = False) -> jobs.JobDir:
    """Start a background generation job; returns its directory."""
    job = new_job(config)
    _spawn(job, api_key, retry_failed)
    return job


def get_job(job_id: str) -> jobs.JobDir:
    job = jobs.JobDir(workspace.safe_child(workspace.jobs_dir(), job_id, "generation job"))
    if not job.exists() or not job_id.startswith(JOB_PREFIX):
        raise UserError(f"generation job {job_id!r}: not found under {workspace.jobs_dir()}")
    return job


def relaunch(job_id: str, api_key: str | None = None, *, retry_failed: bool = False) -> jobs.JobDir:
    """Start a finished, stopped or failed job again: it resumes where it stopped; the samples the teacher refused
    are tried again only with ``retry_failed``."""
    job = get_job(job_id)
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"generation job {job_id!r} is still running")
    # A fresh status and progress: the old ended_at/error and the old ETA baseline belong to the last attempt.
    for path in (job.status_path, job.progress_path):
        path.unlink(missing_ok=True)
    _spawn(job, api_key, retry_failed)
    return job


def list_jobs() -> list[dict]:
    """Generation jobs, newest first: [{id, state, dataset, progress, error}]."""
    out = []
    for path in sorted(workspace.jobs_dir().glob(f"{JOB_PREFIX}*"), reverse=True):
        job = jobs.JobDir(path)
        if not job.exists():
            continue
        status = job.status()
        out.append({"id": path.name, "state": status.get("state", "queued"), "dataset": job.config().get("dataset"),
                    "progress": job.progress(), "error": status.get("error"), "status": status,
                    "shown": jobs.display_state(job, status)})
    return out


def current_job() -> dict | None:
    """The job a page should show: a running one if any, else the newest."""
    all_jobs = list_jobs()
    for info in all_jobs:
        if info["state"] in jobs.ACTIVE:
            return info
    return all_jobs[0] if all_jobs else None
