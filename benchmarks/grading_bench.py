"""Grading throughput: 1,000 (reference, model-like output) pairs through ``grade_many``. Target >= 300 answers/s.

    python benchmarks/grading_bench.py [--n 1000] [--workers N] [--runs 3]

Half the pairs are GSM8K (outputs ending "The answer is X." or "#### X", some with a thousands separator),
half MATH test (the reference solution, whose last \\boxed{} is the answer: fractions, radicals, intervals,
tuples, text). One in four outputs is made wrong. Each run draws a different sample (math-verify caches
parses, so re-grading the same pairs would flatter it). Prints the pool's cold start, then the median of
the warm runs, in answers per second, and what replacing a worker killed on a timeout costs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cft.data.benchmarks import load_benchmark  # noqa: E402
from cft.grading import grade_many, shared_pool  # noqa: E402


def build_items(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    gsm = load_benchmark("gsm8k", limit=n // 2, seed=seed)
    math = load_benchmark("math_test", limit=n - n // 2, seed=seed)
    items = []
    for i, p in enumerate(gsm):
        answer = p.answer
        if i % 4 == 3:
            answer = str(int(answer.replace(",", "")) + rng.randint(1, 9))
        if i % 3 == 0 and answer.isdigit() and len(answer) > 3:
            answer = f"{int(answer):,}"
        tail = f"The answer is {answer}." if i % 2 else f"#### {answer}"
        items.append((p.answer, f"{p.solution}\n{tail}"))
    for i in range(n - len(items)):
        p = math[i % len(math)]
        output = p.solution or f"\\boxed{{{p.answer}}}"
        if i % 4 == 3:
            output += f"\nSo the final answer is \\boxed{{{rng.randint(2, 99)}}}."
        items.append((p.answer, output))
    rng.shuffle(items)
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--replacements", type=int, default=5, help="timeouts to force, to time a worker's replacement")
    args = ap.parse_args()

    start = time.perf_counter()
    pool = shared_pool(args.workers)
    grades = grade_many(build_items(8, seed=99), workers=args.workers)
    cold = time.perf_counter() - start
    print(f"pool of {pool.size} workers started and graded 8 answers in {cold:.2f}s (cold start, not in the rate)")

    rates = []
    for run in range(args.runs):
        items = build_items(args.n, seed=run)
        start = time.perf_counter()
        grades = grade_many(items, workers=args.workers)
        elapsed = time.perf_counter() - start
        rates.append(len(items) / elapsed)
        print(f"run {run + 1}: {len(items)} answers in {elapsed:.2f}s = {rates[-1]:.0f} answers/s")
    correct = sum(g.correct for g in grades)
    timed_out = sum(g.timed_out for g in grades)
    print(f"correct {correct}/{len(grades)}, timed out {timed_out}, cpu cores {os.cpu_count()}")
    print(f"median: {statistics.median(rates):.0f} answers/s over {args.runs} runs (target >= 300)")

    # What a hanging answer costs the others: the timed-out worker is killed, and the next answer waits for
    # its replacement. Measured as the time past the timeout until the pool has graded one more answer.
    costs = []
    for _ in range(args.replacements):
        start = time.perf_counter()
        pool.compare([("1", "9^{9^{9}}")], timeout=0.2)
        pool.compare([("2", "2.0")] * pool.size, timeout=30)
        costs.append(time.perf_counter() - start - 0.2)
    if costs:
        print(f"worker replacement after a timeout: median {statistics.median(costs) * 1000:.0f} ms "
              f"over {len(costs)} kills; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
