"""Worker processes for math-verify that survive hanging sympy, usable from any script.

Some answers make sympy run for minutes (``9^{9^{9}}``) inside C code where no signal reaches it, and
math-verify's own timeout uses ``signal.alarm``, which only works in a main thread. So the pool disables
math-verify's timeouts and enforces its own: a worker that overruns an item's time limit is killed and
replaced, the item is recorded as timed out (and wrong), and the others go on. Each worker's address space
is capped (``CFT_GRADER_MEMORY_MB``, default 3072), so a runaway expression fails alone.

Workers are forked by a warmed-up server started as a fresh interpreter (see :mod:`cft.grading.worker`).
Unlike multiprocessing's forkserver and spawn, nothing re-imports the caller's ``__main__``: a script with no
``if __name__ == "__main__":`` guard can call :func:`cft.grading.grade_many`. A killed worker's replacement
is a fork of the warm server: milliseconds, where a forkserver child had to warm up again (about 1 s).
Unix only (fork, and ``socket.send_fds`` to hand each worker its socket), like the memory cap.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait

WORKER_MEMORY_BYTES = int(os.environ.get("CFT_GRADER_MEMORY_MB", "3072")) << 20

# The folder that holds the cft package: the server imports this copy, whatever the caller's cwd holds.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); from cft.grading.worker import zygote_main; "
         "zygote_main(int(sys.argv[2]), int(sys.argv[3]))")


class _Server:
    """The fork server process and our end of its control socket."""

    def __init__(self, start_timeout: float):
        self.sock, child = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, _ROOT, str(child.fileno()), str(WORKER_MEMORY_BYTES)],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            child.close()
        self.start_timeout = start_timeout
        self.ready = False

    def _recv(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def fork(self) -> tuple[int, Connection]:
        """A new worker's pid and our end of its socket. Waits for the server's warm-up the first time."""
        self.sock.settimeout(self.start_timeout)
        ours, theirs = socket.socketpair()
        try:
            if not self.ready:
                self._recv(1)
                self.ready = True
            socket.send_fds(self.sock, [b"F"], [theirs.fileno()])
            pid = struct.unpack("!i", self._recv(4))[0]
        except (OSError, EOFError) as e:  # socket.timeout is an OSError
            ours.close()
            code = self.proc.poll()
            state = f"exited with code {code}" if code is not None else f"gave no worker within {self.start_timeout:.0f}s"
            raise RuntimeError(
                f"the grading worker server {state} (its error, if any, is on stderr above); it runs "
                f"{sys.executable} -c '<boot>' with the cft package from {_ROOT}") from e
        finally:
            theirs.close()
        return pid, Connection(ours.detach())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.sock.close()  # end of file: the server exits
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class _Process:
    """A worker forked by the server: not our child, so we signal it by pid (the server reaps it)."""

    def __init__(self, pid: int):
        self.pid = pid

    def is_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _Worker:
    def __init__(self, server: _Server):
        pid, self.conn = server.fork()
        self.proc = _Process(pid)
        self.item: int | None = None
        self.started = 0.0
        self.ready = False  # set when the worker says so; items go only to ready workers

    def send(self, idx: int, gold: str, pred: str) -> None:
        self.item, self.started = idx, time.monotonic()
        self.conn.send((idx, gold, pred))

    def kill(self) -> None:
        self.proc.kill()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.conn.close()  # the worker exits on None or end of file


class GradingPool:
    """Worker processes for math-verify, each doing one item at a time so an overrun is attributable."""

    START_TIMEOUT = 120.0

    def __init__(self, workers: int | None = None):
        self.size = max(1, workers or min(4, os.cpu_count() or 1))
        self._server: _Server | None = None
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        # A forked child inherits this object: its sockets lead to our workers, which it must not use or stop.
        self._owner = os.getpid()

    def _fork(self) -> _Worker:
        if self._server is None or not self._server.alive():
            if self._server is not None:
                self._server.close()
            self._server = _Server(self.START_TIMEOUT)
        return _Worker(self._server)

    def _ensure(self) -> None:
        self._workers = [w for w in self._workers if w.proc.is_alive()]
        while len(self._workers) < self.size:
            self._workers.append(self._fork())

    def compare(self, pairs: list[tuple[str, str]], timeout: float = 5.0) -> list[tuple[bool, bool]]:
        """(correct, timed_out) for each (gold, pred) pair, in order."""
        with self._lock:
            return self._compare(pairs, timeout)

    def _compare(self, pairs, timeout):
        results: list[tuple[bool, bool] | None] = [None] * len(pairs)
        if not pairs:
            return []
        self._ensure()
        todo = list(range(len(pairs)))[::-1]
        idle = [w for w in self._workers if w.ready]
        warming = {w.conn: w for w in self._workers if not w.ready}
        busy: dict = {}  # conn -> worker with one item in flight
        remaining, failed_starts = len(pairs), 0
        while remaining:
            while idle and todo:
                w, i = idle.pop(), todo.pop()
                try:
                    w.send(i, *pairs[i])
                    busy[w.conn] = w
                except (OSError, BrokenPipeError):  # the worker died between items: replace it, retry the item
                    todo.append(i)
                    new = self._replace(w)
                    warming[new.conn] = new
            now = time.monotonic()
            # Time counts only for items in flight; a starting worker has nothing to time out.
            wait_for = min(w.started + timeout for w in busy.values()) - now if busy else self.START_TIMEOUT
            ready = mp_wait(list(busy) + list(warming), timeout=max(0.0, wait_for))
            if not ready and not busy:
                raise RuntimeError(f"grading workers did not start within {self.START_TIMEOUT:.0f}s")
            for conn in ready:
                if conn in warming:
                    w = warming.pop(conn)
                    try:
                        conn.recv()
                        w.ready = True
                        idle.append(w)
                    except (EOFError, OSError):
                        failed_starts += 1
                        if failed_starts > 3 * self.size:
                            raise RuntimeError("grading workers keep dying at start (see stderr)")
                        new = self._replace(w)
                        warming[new.conn] = new
                    continue
                w = busy.pop(conn)
                try:
                    idx, ok = conn.recv()
                    results[idx] = (bool(ok), False)
                    idle.append(w)
                except (EOFError, OSError):  # crashed (e.g. out of memory): wrong, not timed out
                    results[w.item] = (False, False)
                    new = self._replace(w)
                    warming[new.conn] = new
                w.item = None
                remaining -= 1
            now = time.monotonic()
            for conn, w in list(busy.items()):
                if now - w.started >= timeout:
                    del busy[conn]
                    results[w.item] = (False, True)
                    remaining -= 1
                    new = self._replace(w)  # the only way to stop sympy stuck in C code
                    warming[new.conn] = new
        return results  # type: ignore[return-value]

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        new = self._fork()
        self._workers = [w for w in self._workers if w is not worker] + [new]
        return new

    def close(self) -> None:
        if os.getpid() != self._owner:
            return
        with self._lock:
            for w in self._workers:
                w.stop()
            self._workers = []
            if self._server is not None:
                self._server.close()
                self._server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_shared: GradingPool | None = None
_shared_lock = threading.Lock()


def shared_pool(workers: int | None = None) -> GradingPool:
    """One long-lived pool per process (workers start once), re-made if a different size is asked."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._owner != os.getpid() or (workers and workers != _shared.size):
            if _shared is not None:
                _shared.close()  # a no-op in a forked child: the pool is its parent's
            _shared = GradingPool(workers)
            import atexit

            atexit.register(_shared.close)
        return _shared
