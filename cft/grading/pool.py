"""Worker processes for math-verify that survive hanging sympy.

Some answers make sympy run for minutes (``9^{9^{9}}``) inside C code where no signal reaches it, and
math-verify's own timeout uses ``signal.alarm``, which only works in a main thread. So the pool disables
math-verify's timeouts and enforces its own: a worker that overruns an item's time limit is killed and
replaced, the item is recorded as timed out (and wrong), and the others go on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from multiprocessing.connection import wait as mp_wait

from cft.grading.match import match, warm_up

# A runaway sympy computation can eat all memory (2^{2^{2^{2^{2^2}}}} took 14 GB in seconds). Cap each worker.
WORKER_MEMORY_BYTES = int(os.environ.get("CFT_GRADER_MEMORY_MB", "3072")) << 20


def _worker_main(conn) -> None:
    """Serve (index, gold, pred) requests until told to stop; reply (index, correct)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # "timeout is disabled" warnings: we enforce it
    warm_up()
    conn.send("ready")
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        idx, gold, pred = msg
        try:
            ok = match(gold, pred, timeouts=False)
        except MemoryError:
            ok = False
        conn.send((idx, ok))


def _context():
    # fork would copy a parent's threads' held locks (Gradio, torch); forkserver forks from a clean,
    # preloaded server, so replacing a killed worker costs milliseconds, not a fresh interpreter.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        try:
            ctx.set_forkserver_preload(["cft.grading.match", "math_verify", "sympy"])
        except Exception:
            pass
        return ctx
    return mp.get_context("spawn")


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.item: int | None = None
        self.started = 0.0
        self.ready = False  # set when the worker says it has warmed up; items go only to ready workers

    def send(self, idx: int, gold: str, pred: str) -> None:
        self.item, self.started = idx, time.monotonic()
        self.conn.send((idx, gold, pred))

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        finally:
            self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)
        self.conn.close()


class GradingPool:
    """Worker processes for math-verify, each doing one item at a time so an overrun is attributable."""

    START_TIMEOUT = 120.0

    def __init__(self, workers: int | None = None):
        self.size = max(1, workers or min(4, os.cpu_count() or 1))
        self._ctx = _context()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        self._workers = [w for w in self._workers if w.proc.is_alive()]
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self._ctx))

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
            # Time counts only for items in flight; a warming worker has nothing to time out.
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
        new = _Worker(self._ctx)
        self._workers = [w for w in self._workers if w is not worker] + [new]
        return new

    def close(self) -> None:
        with self._lock:
            for w in self._workers:
                w.stop()
            self._workers = []

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
        if _shared is None or (workers and workers != _shared.size):
            if _shared is not None:
                _shared.close()
            _shared = GradingPool(workers)
            import atexit

            atexit.register(_shared.close)
        return _shared
