"""Background jobs that outlive the page that started them.

A job directory is the whole contract between a job and the UI: ``config.json`` (what to do), ``status.json``
(state, pid, times), ``metrics.jsonl`` (one line per logged step), ``progress.json`` (done/total/eta and
counts) and ``train.log`` (everything the process printed). Nothing about a job lives only in memory, so a
refreshed page or a second browser re-attaches by reading the directory.

The process writes its output straight into the log file, never into a pipe that the UI must drain: a pipe
nobody reads fills up and freezes the job (LlamaBoard's issues #8817 and #8485).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cft.redact import redact, redact_obj

STATES = ("queued", "running", "completed", "failed", "stopped")
ACTIVE = ("queued", "running")
# Who is starting jobs in this context (the UI sets it per request, pages.common.starting_job): spawn records it in
# status.json, so a public demo can bound the jobs each visitor runs (cft.demo.check_job_quota).
_OWNER: contextvars.ContextVar[str | None] = contextvars.ContextVar("cft_job_owner", default=None)


@contextlib.contextmanager
def launched_by(owner: str | None):
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace a file's content atomically: written to a unique temp file beside it, flushed to disk, renamed over
    it. A reader, or the file after a crash or a kill, has the old content or the new, never a truncated mix.
    Every state file that is not an append-only log (JSON state, a rewritten metrics.jsonl, a report) uses it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; state files are read by the user's other processes
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write a JSON state file atomically (:func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str))


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        # A reader can race a writer on some filesystems; an unreadable file reads as "not yet".
        return default


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 on), or None without /proc or the process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process_identity(pid: int) -> dict:
    """What tells this process apart from a later one given the same pid: its start time (field 22 of
    /proc/<pid>/stat, clock ticks since boot) and the boot it started in. Empty where /proc is not there."""
    fields = _proc_stat(pid)
    if not fields or len(fields) < 20:
        return {}
    return {"pid_start": int(fields[19]), "boot_id": boot_id()}


def pid_alive(pid: int | None, identity: dict | None = None) -> bool:
    """Whether ``pid`` runs, and (with the ``identity`` recorded when the job started: pid_start, boot_id) whether it
    is still that process. After a restart or a reboot a reused pid would otherwise make a dead job look alive."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _proc_stat(pid)
    if fields is None:
        return True  # no /proc (not Linux): the signal test is all there is
    if fields[0] == "Z":  # a zombie (exited, not yet reaped by its parent) is dead for our purposes
        return False
    identity = identity or {}
    if identity.get("boot_id") and identity["boot_id"] != boot_id():
        return False
    if identity.get("pid_start") is not None and len(fields) > 19 and int(fields[19]) != int(identity["pid_start"]):
        return False
    return True


def read_jsonl(path: Path) -> list[dict]:
    """Every complete JSON line of ``path`` ([] when missing); a line still being written is skipped, and the
    next poll gets it."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


class JobDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    progress_path = property(lambda self: self.path / "progress.json")
    log_path = property(lambda self: self.path / "train.log")
    stop_request_path = property(lambda self: self.path / "stop_requested")

    def exists(self) -> bool:
        return self.config_path.exists() or self.status_path.exists()

    # config -------------------------------------------------------------------------------------------
    def write_config(self, config: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.config_path, config)

    def config(self) -> dict:
        return read_json(self.config_path, {})

    # status -------------------------------------------------------------------------------------------
    def write_status(self, state: str, **extra: Any) -> dict:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        self.path.mkdir(parents=True, exist_ok=True)
        current = read_json(self.status_path, {})
        if extra.get("pid"):
            # Who the pid is, not only its number: liveness checks compare it (pid_alive).
            extra = {**extra, **process_identity(int(extra["pid"]))}
        current.update(redact_obj(extra))  # errors and log tails may quote a key an endpoint echoed
        current["state"] = state
        current["updated_at"] = time.time()
        if state == "running":
            current.setdefault("started_at", time.time())
        if state not in ACTIVE:
            current.setdefault("ended_at", time.time())
        write_json_atomic(self.status_path, current)
        return current

    def status(self) -> dict:
        """The job's status; a job recorded as active whose process is gone is marked failed, with its log tail."""
        status = read_json(self.status_path, {})
        if status.get("state") in ACTIVE and status.get("pid") and not pid_alive(status["pid"], status):
            # Re-read: the job may have written its final state between our read and the pid check.
            status = read_json(self.status_path, {})
            if status.get("state") in ACTIVE:
                tail = self.log_tail(30)
                status = self.write_status(
                    "failed", error=f"process {status['pid']} died without finishing (killed or out of memory)", log_tail=tail
                )
        return status

    # metrics and progress -----------------------------------------------------------------------------
    def append_metric(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as fh:
            fh.write(json.dumps(redact_obj(record), default=float) + "\n")
            fh.flush()

    def metrics(self) -> list[dict]:
        return read_jsonl(self.metrics_path)

    def write_progress(self, done: int, total: int, **counts: Any) -> dict:
        """Write progress.json. The ETA comes from the rate observed in this process since its first unit of work
        finished: loading a model, and the items a resumed job had done before, count in neither the time nor
        the work, so the estimate is neither stuck at 0 nor wildly off at the start. Until a second unit is done
        that rate is unknown, and the ETA is a rough one (``eta_rough``): the time since this process started,
        model load included, per unit done; it overestimates, and the pages mark it as rough. None before any
        unit is done."""
        now = time.time()
        previous = read_json(self.progress_path, {})
        started = previous.get("started_at", now)
        anchor = previous.get("rate_anchor") or {}
        if anchor.get("pid") != os.getpid() or done < anchor.get("done", 0):
            anchor = {"pid": os.getpid(), "done": done, "at": now}  # a new process: the clock starts now
        elif anchor.get("first") is None and done > anchor["done"]:
            # The first unit done: the rate counts from here; the process's start is kept for the rough estimate.
            anchor = {**anchor, "first": True, "done": done, "at": now, "start_done": anchor["done"],
                      "start_at": anchor["at"]}
        rate = (done - anchor["done"]) / (now - anchor["at"]) if anchor.get("first") and now > anchor["at"] else 0.0
        rough = False
        if not rate > 0 and anchor.get("first") and now > anchor.get("start_at", now):
            rate = (done - anchor["start_done"]) / (now - anchor["start_at"])
            rough = rate > 0
        eta = (total - done) / rate if rate > 0 and total else (0.0 if total and done >= total else None)
        rough = rough and "eta" not in counts  # a caller's own ETA (training's, from step times) is not this one
        data = {"done": done, "total": total, "started_at": started, "elapsed": now - started, "eta": eta,
                "eta_rough": rough and bool(total) and done < total, "rate": rate or None, "rate_anchor": anchor,
                **redact_obj(counts)}
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.progress_path, data)
        return data

    def progress(self) -> dict:
        return read_json(self.progress_path, {})

    def log_tail(self, n: int = 50) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 256 * 1024))  # bars can fill a lot of it
                data = fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        # Redacted again on the way out: a log written before a key was known to be one.
        return redact("\n".join(clean_log_lines(data)[-n:]))


# A progress bar's line (tqdm, transformers' GGUF dequantization, datasets' map): "42%|████▏ | 114/272 [...]" or
# "Converting and de-quantizing GGUF tensors...:  42%". Each redraw ends in a carriage return, not a newline.
_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\d+/\d+\s*\[\d+:\d+|de-quantizing GGUF tensors|it/s\]|s/it\]")


def clean_log_lines(text: str) -> list[str]:
    """The lines of a log as a reader wants its tail: each line's last redraw only (a carriage return starts a
    redraw), and no progress-bar lines, which otherwise fill the whole tail with hundreds of bar states."""
    out = []
    for line in text.split("\n"):
        shown = line.rstrip("\r").rsplit("\r", 1)[-1]
        if shown.strip() and not _BAR.search(shown):
            out.append(shown)
    return out


def spawn(argv: list[str], job_dir: JobDir | str | Path, env: dict | None = None) -> int:
    """Start ``argv`` in its own process session, output appended to the job's log; returns the pid.

    A ``python`` first element is replaced by this interpreter so the job runs in the same environment.
    """
    job = job_dir if isinstance(job_dir, JobDir) else JobDir(job_dir)
    job.path.mkdir(parents=True, exist_ok=True)
    if argv and argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    job.stop_request_path.unlink(missing_ok=True)  # a new start: no stop asked of it yet
    with open(job.log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=full_env,
            cwd=str(Path(__file__).resolve().parent.parent),
        )
    owner = {"owner": _OWNER.get()} if _OWNER.get() else {}
    job.write_status("queued", pid=proc.pid, argv=argv, **owner)
    # Reap the child in the background so it never lingers as a zombie of the UI process.
    import threading

    threading.Thread(target=proc.wait, daemon=True).start()
    return proc.pid


def stop(job_dir: JobDir | str | Path, sig: int = signal.SIGTERM) -> bool:
    """Signal the job's whole process group. Returns False when there was nothing running to stop."""
    job = job_dir if isinstance(job_dir, JobDir) else JobDir(job_dir)
    status = job.status()
    pid = status.get("pid")
    if status.get("state") not in ACTIVE or not pid_alive(pid, status):  # never signal a pid reused since
        return False
    try:
        os.killpg(os.getpgid(pid), sig)
    except ProcessLookupError:
        return False
    # Recorded for every reader (the tabs, the CLI, a second browser): the job is stopping until it ends, which
    # can take a while (a long batch finishes, a checkpoint is saved). A file of its own, so that it never races
    # the job's own writes of status.json.
    write_text_atomic(job.stop_request_path, str(time.time()))
    return True


STOPPING = "stopping…"


def display_state(job: JobDir, status: dict | None = None) -> str:
    """The state to show: ``stopping…`` from a stop request until the job has ended, else the recorded state."""
    state = (job.status() if status is None else status).get("state", "unknown")
    return STOPPING if state in ACTIVE and job.stop_request_path.exists() else state


def wait(job_dir: JobDir | str | Path, timeout: float = 600, poll: float = 0.5) -> dict:
    """Block until the job leaves the active states (for the CLI and tests)."""
    job = job_dir if isinstance(job_dir, JobDir) else JobDir(job_dir)
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = job.status()
        if status.get("state") not in ACTIVE and status:
            return status
        time.sleep(poll)
    raise TimeoutError(f"job {job.path} still {job.status().get('state')} after {timeout} s")


def format_eta(seconds: float | None, rough: bool = False) -> str:
    """``m:ss`` or ``h:mm:ss``; a rough estimate (from one unit of work, start-up included) is marked as such."""
    if seconds is None:
        return "–"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    text = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return f"~{text} (rough estimate)" if rough else text
