"""Sample store latency at scale: build a synthetic store, then time the calls the Data tab makes.

    python benchmarks/store_bench.py                 # 100,000 samples, 200 calls per operation
    python benchmarks/store_bench.py --n 20000 --calls 100 --db /tmp/bench.db

Prints the import time and, for page / filter / search / save, the p50 and p95 latency (target p95 < 50 ms).
- page:   query(dataset, offset=<random page>, limit=50) with the total count
- filter: query(dataset, status=..., verdict=..., flag=...) at one of the first 20 pages, with the count
- search: query(dataset, search=<one or two random words>) first page, with the count
- save:   get(id) then update(id, {critique, status}, expected_revision=...) (one BEGIN IMMEDIATE transaction)
Also shown (not part of the target): flagged_page (order="flagged_first" at a random offset) and ids (every id
matching a status filter, flagged first: what prev/next walks).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cft.data.samples import STATUSES, Sample  # noqa: E402
from cft.data.store import Store  # noqa: E402

FLAGS = ("no_conclusion", "verdict_contradicts_reference", "arithmetic_error_missed", "empty_or_truncated")


def _vocab(rng: random.Random, n: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(n)}
    return sorted(words) + ["=", "+", "\\frac{1}{2}", "x^2", "\\boxed{42}", "12", "7", "step", "therefore"]


def _text(rng: random.Random, vocab: list[str], words: int) -> str:
    # Zipf-like word frequencies, so searches hit both common and rare words.
    return " ".join(vocab[min(int(rng.paretovariate(1.1)) - 1, len(vocab) - 1) if rng.random() < 0.5
                          else rng.randrange(len(vocab))] for _ in range(words))


def synthetic(n: int, seed: int = 0) -> list[Sample]:
    rng = random.Random(seed)
    vocab = _vocab(rng)
    out = []
    status_weights = {"uncritiqued": 5, "pending": 60, "draft": 10, "reviewed": 20, "discarded": 5}
    for i in range(n):
        verdict = rng.choices(("right", "wrong", "unknown"), (70, 25, 5))[0]
        critique = _text(rng, vocab, 70)
        if verdict != "unknown":
            critique += f"\n\nConclusion: {verdict} [END]"
        flags = {rng.choice(FLAGS): "synthetic"} if rng.random() < 0.15 else {}
        out.append(Sample(
            question=_text(rng, vocab, 30), response=_text(rng, vocab, 110), critique=critique, verdict=verdict,
            key=f"bench:{i}", source=rng.choice(("gsm8k", "math", "champ")), status=rng.choices(
                list(status_weights), list(status_weights.values()))[0], flags=flags,
            reference_answer=str(rng.randint(0, 999)), original_critique=critique,
        ))
    return out


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--db", type=Path, default=None, help="database file (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="cft-store-bench-")
        args.db = Path(tmp.name) / "bench.db"
    if args.db.exists():
        sys.exit(f"{args.db} exists; pass a new path (the benchmark builds its own store)")

    t0 = time.perf_counter()
    samples = synthetic(args.n, args.seed)
    gen_s = time.perf_counter() - t0
    store = Store(args.db)
    t0 = time.perf_counter()
    store.add_samples("bench", samples)
    import_s = time.perf_counter() - t0
    del samples
    size_mb = sum(p.stat().st_size for p in args.db.parent.glob(args.db.name + "*")) / 1e6

    rng = random.Random(args.seed + 1)
    vocab = _vocab(random.Random(args.seed))
    total = store.counts("bench")["total"]
    ids = store.ids("bench")
    results: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    matches: dict[str, list[int]] = {}

    def timed(name: str, fn) -> None:
        # Wall time is what a user waits; this thread's CPU time shows the store's own cost when the machine is
        # shared (a loaded 2-core box stretches wall time several-fold).
        start, start_cpu = time.perf_counter(), time.thread_time()
        n = fn()
        results.setdefault(name, []).append(time.perf_counter() - start)
        cpu.setdefault(name, []).append(time.thread_time() - start_cpu)
        matches.setdefault(name, []).append(n)

    for _ in range(args.calls):
        offset = rng.randrange(0, max(1, total - 50))
        timed("page", lambda: store.query("bench", offset=offset, limit=50)[1])

        status = rng.choice([s for s in STATUSES if s != "discarded"])
        verdict = rng.choice(("right", "wrong"))
        flag = rng.choice(("any", "none", *FLAGS))

        # one of the first 20 pages of the matches, as when working through a review queue
        page_offset = rng.randrange(0, 1000, 50)
        timed("filter", lambda: store.query("bench", status=status, verdict=verdict, flag=flag, offset=page_offset,
                                            limit=50)[1])

        words = " ".join(rng.choice(vocab) for _ in range(rng.choice((1, 1, 2))))
        timed("search", lambda: store.query("bench", search=words, limit=50)[1])

        sid = rng.choice(ids)

        def save():
            current = store.get(sid)
            store.update(sid, {"critique": current.critique + " (edited)", "status": "reviewed"},
                         expected_revision=current.revision, annotator="bench")
            return 1

        timed("save", save)

        # Not in the target list, but the Data tab makes these calls too: a flagged-first queue page and the
        # id list it walks for prev/next.
        offset2 = rng.randrange(0, max(1, total - 50))
        timed("flagged_page", lambda: store.query("bench", order="flagged_first", offset=offset2, limit=50)[1])
        timed("ids", lambda: len(store.ids("bench", status=status, order="flagged_first")))

    print(f"store benchmark: {args.n:,} synthetic samples, {args.calls} calls per operation, SQLite "
          f"{__import__('sqlite3').sqlite_version}, db {size_mb:.0f} MB")
    print(f"generate samples: {gen_s:.1f} s; import (add_samples, one transaction): {import_s:.1f} s "
          f"({args.n / import_s:,.0f} samples/s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'operation':<13} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8} {'cpu p95':>8} {'matches':>9}")
    for name, times in results.items():
        p50, p95 = _percentiles(times)
        c50, c95 = _percentiles(cpu[name])
        print(f"{name:<13} {p50:>8.2f} {p95:>8.2f} {max(times) * 1000:>8.2f} {c50:>8.2f} {c95:>8.2f} "
              f"{statistics.median(matches[name]):>9,.0f}")
    worst = max(_percentiles(results[k])[1] for k in ("page", "filter", "search", "save"))
    print(f"target p95 < 50 ms (page, filter, search, save; wall): {'met' if worst < 50 else 'NOT met'} "
          f"(worst p95 {worst:.2f} ms)")
    store.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
