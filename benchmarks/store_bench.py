"""Sample store latency at scale, on SQLite or PostgreSQL: import a synthetic store while an annotator saves, then
time every call the Data tab makes.

    python benchmarks/store_bench.py                          # 100,000 samples, SQLite in a temporary directory
    python benchmarks/store_bench.py --n 1000000 --calls 100  # the paper's scale (~5 GB: --db on a roomy disk)
    python benchmarks/store_bench.py --n 1000000 --url postgresql://user@host/db   # an empty PostgreSQL store
    python benchmarks/store_bench.py --n 1000000 --postgres   # a throwaway local cluster (Debian's postgresql)

The throwaway cluster (tests/servers.py) keeps fsync on and sets synchronous_commit=off, the counterpart of the
SQLite store's synchronous=NORMAL in WAL mode (a crash may lose the last moments of commits, never corrupts), with
shared_buffers=1GB and max_wal_size=4GB.

While the import runs, a second process saves a sample of another dataset every 20 ms and records how long each
save took: "save wait during import" is the longest (target < 1 s). Then, per call (p50/p95, target p95 < 50 ms):
- page / page_flagged / page_updated: the page after a random sample's key, in each order the tab offers
- page_prev, page_last: the page before a random key; the last page
- filter: a status + verdict + flag filter, first page, with its total; filter_next: the page after a random key
- search: one or two random words, first page (flagged first), with its (capped) total
- save: get(id) then a revision-checked update(id, {critique, status})
- walk: the next or previous sample from a random one within a status filter (the editor's prev/next)
- counts: the status chips and statistics (from the maintained counts)
- jump (shown, not a target): a typed page number (review.browse), read with OFFSET from the nearer end
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cft.data import review  # noqa: E402
from cft.data.samples import STATUSES, Sample  # noqa: E402
from cft.data.store import Store, StoreBusy  # noqa: E402
from cft.data.store.queries import key_of  # noqa: E402

FLAGS = ("no_conclusion", "verdict_contradicts_reference", "arithmetic_error_missed", "empty_or_truncated")
TARGETS = ("page", "page_flagged", "page_updated", "page_prev", "page_last", "filter", "filter_next", "search",
           "save", "walk", "counts")


def _vocab(rng: random.Random, n: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(n)}
    return sorted(words) + ["=", "+", "\\frac{1}{2}", "x^2", "\\boxed{42}", "12", "7", "step", "therefore"]


def _text(rng: random.Random, vocab: list[str], words: int) -> str:
    # Zipf-like word frequencies, so searches hit both common and rare words.
    return " ".join(vocab[min(int(rng.paretovariate(1.1)) - 1, len(vocab) - 1) if rng.random() < 0.5
                          else rng.randrange(len(vocab))] for _ in range(words))


def synthetic(n: int, seed: int = 0, prefix: str = "bench"):
    """``n`` samples, made one at a time (a million do not fit in memory at once)."""
    rng = random.Random(seed)
    vocab = _vocab(rng)
    status_weights = {"uncritiqued": 5, "pending": 60, "draft": 10, "reviewed": 20, "discarded": 5}
    for i in range(n):
        verdict = rng.choices(("right", "wrong", "unknown"), (70, 25, 5))[0]
        critique = _text(rng, vocab, 70)
        if verdict != "unknown":
            critique += f"\n\nConclusion: {verdict} [END]"
        flags = {rng.choice(FLAGS): "synthetic"} if rng.random() < 0.15 else {}
        yield Sample(
            question=_text(rng, vocab, 30), response=_text(rng, vocab, 110), critique=critique, verdict=verdict,
            key=f"{prefix}:{i}", source=rng.choice(("gsm8k", "math", "champ")), status=rng.choices(
                list(status_weights), list(status_weights.values()))[0], flags=flags,
            reference_answer=str(rng.randint(0, 999)), original_critique=critique,
        )


def _annotator(url: str, ids: list[int], stop, out) -> None:
    """Another process saving samples of the "live" dataset while the import runs; sends back each save's time."""
    store = Store(url)
    rng = random.Random(7)
    times, busy = [], 0
    while not stop.is_set():
        sid = rng.choice(ids)
        start = time.perf_counter()
        try:
            current = store.get(sid)
            store.update(sid, {"critique": current.critique + " +"}, expected_revision=current.revision,
                         annotator="live")
            times.append(time.perf_counter() - start)
        except StoreBusy:
            busy += 1
        time.sleep(0.02)
    out.send((times, busy))
    store.close()


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _import(store: Store, args) -> tuple[float, dict]:
    live = store.add_samples("live", list(synthetic(100, seed=99, prefix="live")))
    ctx = mp.get_context("spawn")
    stop, (recv, send) = ctx.Event(), ctx.Pipe(duplex=False)
    saver = ctx.Process(target=_annotator, args=(store.url, live, stop, send))
    saver.start()
    time.sleep(2.0)  # the saver's interpreter is up and saving before the import starts
    start = time.perf_counter()
    store.add_samples("bench", synthetic(args.n, args.seed))
    import_s = time.perf_counter() - start
    stop.set()
    times, busy = recv.recv()
    saver.join()
    return import_s, {"saves": len(times), "busy": busy, "max": max(times, default=0) * 1000,
                      "p50": _percentiles(times)[0] if times else 0, "p99": sorted(times)[int(0.99 * (len(times) - 1))]
                      * 1000 if times else 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--db", type=Path, default=None, help="SQLite file to build (default: a temporary one)")
    ap.add_argument("--url", default=None, help="an empty store to build instead (e.g. postgresql://...)")
    ap.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL cluster and use it")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    tmp = server = None
    if args.postgres:
        from tests.servers import start_postgres

        server = start_postgres(settings={"synchronous_commit": "off", "shared_buffers": "1GB",
                                          "max_wal_size": "4GB"})
        args.url = server.url()
    if args.url is None:
        if args.db is None:
            tmp = tempfile.TemporaryDirectory(prefix="cft-store-bench-")
            args.db = Path(tmp.name) / "bench.db"
        if args.db.exists():
            sys.exit(f"{args.db} exists; pass a new path (the benchmark builds its own store)")
    store = Store(args.url or args.db)
    if store.datasets():
        sys.exit(f"{store.where()} is not empty; the benchmark builds its own store")
    import_s, wait = _import(store, args)
    load_after_import = os.getloadavg()[0]

    rng = random.Random(args.seed + 1)
    vocab = _vocab(random.Random(args.seed))
    ids = store.ids("bench")
    results: dict[str, list[float]] = {}
    matches: dict[str, list[int]] = {}

    def timed(name: str, fn) -> None:
        start = time.perf_counter()
        n = fn()
        results.setdefault(name, []).append(time.perf_counter() - start)
        matches.setdefault(name, []).append(n)

    for _ in range(args.calls):
        key = key_of(store.get(rng.choice(ids)))
        for name, order in (("page", "id"), ("page_flagged", "flagged_first"), ("page_updated", "updated")):
            timed(name, lambda: store.page("bench", order=order, after=key).total)
        timed("page_prev", lambda: store.page("bench", order="flagged_first", before=key).total)
        timed("page_last", lambda: store.page("bench", order="flagged_first", last=True).total)
        status = rng.choice([s for s in STATUSES if s != "discarded"])
        verdict = rng.choice(("right", "wrong"))
        flag = rng.choice(("any", "none", *FLAGS))
        timed("filter", lambda: store.page("bench", status=status, verdict=verdict, flag=flag,
                                           order="flagged_first").total)
        timed("filter_next", lambda: store.page("bench", status=status, verdict=verdict, flag=flag,
                                                order=rng.choice(("id", "flagged_first", "updated")),
                                                after=key).total)
        words = " ".join(rng.choice(vocab) for _ in range(rng.choice((1, 1, 2))))
        timed("search", lambda: store.page("bench", search=words, order="flagged_first").total)
        sid = rng.choice(ids)

        def save():
            current = store.get(sid)
            store.update(sid, {"critique": current.critique + " (edited)", "status": "reviewed"},
                         expected_revision=current.revision, annotator="bench")
            return 1

        timed("save", save)
        walk_status = [rng.choice(("pending", "draft", "reviewed"))]
        timed("walk", lambda: int(store.neighbor("bench", rng.choice(ids), rng.choice((1, -1)), status=walk_status,
                                                 order="flagged_first") is not None))
        timed("counts", lambda: store.counts("bench")["total"] + len(store.stats("bench")["flags"]))
        number = rng.randrange(1, max(2, len(ids) // review.PAGE_SIZE))
        timed("jump", lambda: review.browse(store, review.Filters("bench", order="id"), number).total)

    size = store.dialect.size_bytes(store._db()) or 0
    print(f"store benchmark: {args.n:,} synthetic samples, {args.calls} calls per operation, {store.backend} "
          f"({store.where()}), {size / 1e9:.2f} GB")
    print(f"import (batched, hidden until shown): {import_s:.1f} s ({args.n / import_s:,.0f} samples/s); "
          f"load average after it {load_after_import:.2f}")
    print(f"save wait during the import: max {wait['max']:.0f} ms, p99 {wait['p99']:.0f} ms, p50 {wait['p50']:.1f} ms "
          f"over {wait['saves']} saves, {wait['busy']} refused busy (target: max < 1000 ms)")
    print(f"load average (1 min) now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'operation':<13} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'result':>9}")
    for name, times in results.items():
        p50, p95 = _percentiles(times)
        print(f"{name:<13} {p50:>8.2f} {p95:>8.2f} {max(times) * 1000:>8.2f} {statistics.median(matches[name]):>9,.0f}")
    worst = max(TARGETS, key=lambda k: _percentiles(results[k])[1])
    worst_p95 = _percentiles(results[worst])[1]
    ok = worst_p95 < 50 and wait["max"] < 1000 and not wait["busy"]
    print(f"targets (p95 < 50 ms for {', '.join(TARGETS)}; save wait during import < 1 s): "
          f"{'met' if ok else 'NOT met'} (worst p95 {worst_p95:.2f} ms: {worst})")
    store.close()
    if tmp is not None:
        tmp.cleanup()
    if server is not None:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
