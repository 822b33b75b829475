"""The grading pool from any script: no ``__main__`` guard needed, fast replacement, memory cap kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from cft.grading import WORKER_MEMORY_BYTES, GradingPool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_script_without_main_guard_grades(tmp_path):
    # multiprocessing's forkserver and spawn children re-import such a script as __mp_main__, which then calls
    # grade_many again while the pool bootstraps: "grading workers keep dying at start".
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from cft.grading import grade_many

        grades = grade_many([("\\\\frac12", "so \\\\boxed{{0.5}}"), ("7", "The answer is 8."), ("3", "x = \\\\boxed{{3}}")])
        print("RESULT", [g.correct for g in grades])
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("RESULT") == 1 and "RESULT [True, False, True]" in out.stdout, out.stdout + out.stderr[-2000:]


def test_killed_worker_is_replaced_fast_and_capped():
    with GradingPool(workers=1) as pool:
        assert pool.compare([("1", "1.0")], timeout=30) == [(True, False)]
        old = pool._workers[0].proc.pid
        start = time.monotonic()
        assert pool.compare([("1", "9^{9^{9}}")], timeout=0.5) == [(False, True)]
        assert pool.compare([("2", "\\frac{4}{2}")], timeout=30) == [(True, False)]
        elapsed = time.monotonic() - start
        new = pool._workers[0].proc.pid
        assert new != old and pool._workers[0].proc.is_alive()
        # A fork of the warm server: the whole kill, replace and grade takes well under the old ~1 s warm-up.
        assert elapsed < 0.5 + 2.0, f"replacement too slow: {elapsed:.2f}s"
        with open(f"/proc/{new}/limits") as f:
            limits = next(line for line in f if line.startswith("Max address space")).split()
        assert int(limits[3]) == WORKER_MEMORY_BYTES
        server, worker = pool._server.proc, pool._workers[0].proc
    # Closing leaves no process behind: the server exits on end of file, the worker on None.
    deadline = time.monotonic() + 10
    while (server.poll() is None or worker.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.poll() is not None and not worker.is_alive()
