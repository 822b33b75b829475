"""The processes behind :class:`cft.grading.GradingPool`: a warmed-up server that forks grading workers.

The pool starts this module in a fresh interpreter (``python -c``, never through :mod:`multiprocessing`), so
the caller's main script is never imported again: a script without an ``if __name__ == "__main__":`` guard
can grade. The server imports math-verify and sympy and warms up the LaTeX parser once; each worker is a
``fork`` of it, so a replacement for a killed worker is ready in milliseconds with warm caches.

Protocol. The parent holds one end of a Unix socket pair. To get a worker it sends one byte and the worker's
end of a fresh socket pair (``socket.send_fds``); the server forks, the child serves that socket, and the
server answers the child's pid (4 bytes). The worker speaks :class:`multiprocessing.connection.Connection`
messages: "ready", then ``(index, gold, pred) -> (index, correct)`` until ``None`` or end of file. End of file
on the control socket (the parent exited or closed the pool) stops the server; workers stop on theirs.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys


def _serve(fd: int, memory_bytes: int) -> None:
    """One worker: compare items one at a time until told to stop."""
    from multiprocessing.connection import Connection

    from cft.grading.match import match

    try:
        import resource

        # A runaway sympy computation can eat all memory (2^{2^{2^{2^{2^2}}}} took 14 GB in seconds).
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    conn = Connection(fd)
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


def zygote_main(control_fd: int, memory_bytes: int) -> None:
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # "timeout is disabled" warnings: the pool enforces it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop (Ctrl-C reaches it too)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel; the parent only kills them
    control = socket.socket(fileno=control_fd)
    from cft.grading.match import warm_up

    warm_up()
    control.sendall(b"R")
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not msg or not fds:
            return
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _serve(fds[0], memory_bytes)
            except BaseException:
                code = 1
            finally:
                os._exit(code)  # never run the server's cleanup or atexit handlers in a worker
        os.close(fds[0])
        control.sendall(struct.pack("!i", pid))


if __name__ == "__main__":
    zygote_main(int(sys.argv[1]), int(sys.argv[2]))
