"""Answer extraction and math-verify equivalence, with a process pool that survives hanging sympy.

Extraction order (the usual math-eval convention): the last ``\\boxed{...}`` (or ``\\fbox``), then
"the answer is X", then GSM8K's ``#### X``, then the last number in the text.

Equivalence is math-verify's ``verify(parse(gold), parse(pred))``. Some answers make sympy run for
minutes (``9^{9^{9}}``) inside C code where no signal reaches it, and math-verify's own timeout uses
``signal.alarm``, which only works in a main thread. So :func:`grade_many` disables math-verify's timeouts
and runs the comparisons in worker processes it manages itself: a worker that overruns an item's time
limit is killed and replaced, the item is recorded as timed out (and wrong), and the others go on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import wait as mp_wait

# --------------------------------------------------------------------------------------------- extraction

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_IS_RE = re.compile(r"answer\s+is\s*:?\s*", re.IGNORECASE)
_HASHES_RE = re.compile(r"####\s*")
# A number as people write it: sign, thousands separators, decimals, an optional simple fraction.
_NUMBER_RE = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+")
_THOUSANDS_ONLY_RE = re.compile(r"^\s*-?\$?\s*\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$")


def braced(text: str, open_at: int) -> tuple[str, int] | None:
    """The content of the ``{...}`` group starting at ``open_at`` (nested braces counted), and its end."""
    depth, i = 0, open_at
    while i < len(text):
        c = text[i]
        if c == "\\":  # \{ and \} are literal braces, not grouping: skip the escaped character
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i], i + 1
        i += 1
    return None


def all_boxed(text: str) -> list[str]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` content in order (also the brace-less ``\\boxed 5``)."""
    found = []
    for m in _BOX_RE.finditer(text or ""):
        pos = m.end()
        if pos < len(text) and text[pos] == "{":
            got = braced(text, pos)
            if got is not None:
                found.append(got[0].strip())
        else:
            word = re.match(r"[^\s$]+", text[pos:])
            if word and m.group(0).endswith(" "):
                found.append(word.group(0).rstrip(".,"))
    return found


def last_boxed(text: str | None) -> str | None:
    boxes = all_boxed(text or "")
    return boxes[-1] if boxes else None


def _clean_tail(answer: str) -> str:
    answer = answer.strip()
    answer = re.sub(r"^\*+|\*+$", "", answer).strip()  # markdown bold around the answer
    answer = answer.rstrip(" .;")
    if answer.startswith("$") and answer.endswith("$") and len(answer) > 1:
        inner = answer.strip("$").strip()
        # "$22" keeps its meaning without the dollar sign; "$x+1$" is math mode.
        answer = inner
    elif answer.startswith("\\(") and answer.endswith("\\)"):
        answer = answer[2:-2].strip()
    return answer.strip()


def extract_answer(text: str | None) -> str | None:
    """The model's final answer, or None when nothing answer-like is in ``text``."""
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    matches = list(_ANSWER_IS_RE.finditer(text))
    if matches:
        rest = text[matches[-1].end():].split("\n", 1)[0]
        # Stop at the end of the sentence ("The answer is 12. Next ...") but not inside "3.5".
        rest = re.split(r"\.(?:\s|$)", rest, maxsplit=1)[0]
        answer = _clean_tail(rest)
        if answer:
            return answer
    matches = list(_HASHES_RE.finditer(text))
    if matches:
        answer = _clean_tail(text[matches[-1].end():].split("\n", 1)[0])
        if answer:
            return answer
    numbers = _NUMBER_RE.findall(text)
    if numbers:
        return re.sub(r"\s+", "", numbers[-1]).replace(",", "")
    return None


# --------------------------------------------------------------------------------------------- equivalence


def normalize_answer(answer: str) -> str:
    """Prepare a bare answer for math-verify: thousands separators dropped, wrapped in ``\\boxed{}``."""
    answer = (answer or "").strip()
    if _THOUSANDS_ONLY_RE.match(answer):
        answer = answer.replace(",", "")  # "1,234" is a number here, not the tuple (1, 234)
    answer = answer.strip()
    if answer.startswith("$") and answer.endswith("$") and len(answer) > 1:
        answer = answer.strip("$").strip()
    if "\\boxed" in answer or "\\fbox" in answer:
        return f"${answer}$"
    return f"$\\boxed{{{answer}}}$"


def _plain(answer: str) -> str:
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", answer or "")
    s = re.sub(r"[\s$]|\\[,;!: ]", "", s)
    return s.lower().strip(".")


_PLAIN_NUMBER_RE = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


def _as_number(answer: str):
    """A plain written number ("1,234", "$18", "18.50") as an exact Fraction, else None."""
    from fractions import Fraction

    s = re.sub(r"^\\?\$|\s+", "", answer or "").rstrip(".")
    if not _PLAIN_NUMBER_RE.match(s):
        return None
    return Fraction(s.replace(",", ""))


def _quick_match(gold: str | None, pred: str | None) -> bool | None:
    """The cases decided without sympy (never slow), or None when math-verify must decide."""
    if pred is None or gold is None:
        return False
    if _plain(gold) == _plain(pred) and _plain(gold):
        return True
    # Plain numbers (most GSM8K answers) need no LaTeX parser: equal values are a match, and two different
    # integers are not. Anything subtler (decimals that differ, e.g. at math-verify's rounding) goes on.
    g, p = _as_number(gold), _as_number(pred)
    if g is not None and p is not None:
        if g == p:
            return True
        if g.denominator == 1 and p.denominator == 1:
            return False
    return None


def _match(gold: str, pred: str, timeouts: bool) -> bool:
    """math-verify equivalence. ``timeouts`` keeps its signal.alarm guards (main thread only)."""
    from math_verify import parse, verify

    quick = _quick_match(gold, pred)
    if quick is not None:
        return quick
    kw_parse = {} if timeouts else {"parsing_timeout": None}
    kw_verify = {} if timeouts else {"timeout_seconds": None}
    try:
        g = parse(normalize_answer(gold), **kw_parse)
        p = parse(normalize_answer(pred), **kw_parse)
        if not g or not p:
            return False
        return bool(verify(g, p, **kw_verify))
    except Exception:  # math-verify raises on exotic input; an unparseable answer is simply not a match
        return False


def answers_match(gold: str, pred: str | None, *, timeout: float = 5.0) -> bool:
    """Whether ``pred`` equals ``gold`` per math-verify; safe from any thread.

    Plain cases are decided in-process. Anything that needs sympy goes to the shared worker pool, because
    math-verify's alarm cannot interrupt sympy stuck in C code (or fire at all outside the main thread);
    a comparison that overruns ``timeout`` counts as no match."""
    quick = _quick_match(gold, pred)
    if quick is not None:
        return quick
    return _shared_pool(None).compare([(str(gold), str(pred))], timeout)[0][0]


@dataclass
class Grade:
    extracted: str | None
    correct: bool
    timed_out: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------------------- the pool

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
    _warm_up()
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
            ok = _match(gold, pred, timeouts=False)
        except MemoryError:
            ok = False
        conn.send((idx, ok))


# The LaTeX parser (antlr) builds its prediction caches on first use, which makes a fresh worker's first
# few hundred answers several times slower. Parsing typical answers once at worker start pays that up front.
_WARM_UP = ["\\frac{1}{2}", "0.5", "\\sqrt{18}", "3\\sqrt{2}", "(1,3]", "\\left( 3, \\frac{\\pi}{2} \\right)",
            "\\text{Monday}", "x^2+2x+1", "\\{1,2\\}", "-\\frac{3}{4}", "2\\pi", "10\\%", "\\dfrac{5}{14}",
            "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "a+b", "\\infty", "\\$18.50", "5\\text{ cm}"]


def _warm_up() -> None:
    for i, answer in enumerate(_WARM_UP):
        try:
            _match(answer, _WARM_UP[i - 1], timeouts=False)
        except Exception:
            pass


def _context():
    # fork would copy a parent's threads' held locks (Gradio, torch); forkserver forks from a clean,
    # preloaded server, so replacing a killed worker costs milliseconds, not a fresh interpreter.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        try:
            ctx.set_forkserver_preload(["cft.grading", "math_verify", "sympy"])
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


def _shared_pool(workers: int | None) -> GradingPool:
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


def grade_many(items: list[tuple[str, str]], *, timeout: float = 5.0, workers: int | None = None) -> list[Grade]:
    """Grade (gold answer, model output) pairs: extract each output's answer, compare in the pool."""
    extracted = [extract_answer(out) for _, out in items]
    grades: list[Grade | None] = [None] * len(items)
    pairs, where = [], []
    for i, ((gold, _), pred) in enumerate(zip(items, extracted)):
        if pred is None or gold is None or str(gold).strip() == "":
            grades[i] = Grade(pred, False, False)
        else:
            pairs.append((str(gold), pred))
            where.append(i)
    if pairs:
        for i, (ok, timed_out) in zip(where, _shared_pool(workers).compare(pairs, timeout)):
            grades[i] = Grade(extracted[i], ok, timed_out)
    return grades  # type: ignore[return-value]


def grade_one(gold: str, output_text: str, timeout: float = 5.0) -> Grade:
    return grade_many([(gold, output_text)], timeout=timeout)[0]
