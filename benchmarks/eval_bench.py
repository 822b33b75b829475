"""Evaluation figures on this machine: batched vs sequential generation, and the embedded model's accuracy.

    python benchmarks/eval_bench.py speed                      # 32 GSM8K problems, 128 new tokens, batch 32 vs 1
    python benchmarks/eval_bench.py accuracy --benchmark gsm8k --limit 200 --max-new-tokens 512
    python benchmarks/eval_bench.py accuracy --benchmark math500 --limit 100 --max-new-tokens 512

``speed`` generates the same prompts both ways in one process and prints problems per minute and the ratio.
``accuracy`` is an ordinary resumable eval (workspace/evals/<name>, so it also shows in the Compare tab); it
prints the summary line. Set CFT_MODEL_CACHE to reuse the dequantized embedded model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def speed(args) -> None:
    import torch

    from cft.data.benchmarks import load_benchmark
    from cft.models import generate, load_model
    from cft.prompts import eval_messages, render

    model, tok = load_model(args.model)
    problems = load_benchmark("gsm8k", limit=args.n, seed=0)
    prompts = [render(tok, eval_messages(p.question)) for p in problems]
    print(f"model {args.model}, {len(prompts)} GSM8K problems, max_new_tokens {args.max_new_tokens}, "
          f"torch threads {torch.get_num_threads()}", flush=True)
    generate(model, tok, prompts[:2], max_new_tokens=8, batch_size=2)  # warm-up (allocator, kernels)
    t = time.perf_counter()
    batched = generate(model, tok, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    t_batched = time.perf_counter() - t
    print(f"batched (batch {args.batch_size}): {t_batched:.1f} s, {60 * len(prompts) / t_batched:.1f} problems/min", flush=True)
    t = time.perf_counter()
    sequential = generate(model, tok, prompts, max_new_tokens=args.max_new_tokens, batch_size=1)
    t_seq = time.perf_counter() - t
    print(f"sequential (batch 1): {t_seq:.1f} s, {60 * len(prompts) / t_seq:.1f} problems/min", flush=True)
    same = sum(a == b for a, b in zip(batched, sequential))
    tokens = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in batched)
    print(json.dumps({"problems": len(prompts), "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
                      "batched_s": round(t_batched, 1), "sequential_s": round(t_seq, 1),
                      "batched_problems_per_min": round(60 * len(prompts) / t_batched, 1),
                      "sequential_problems_per_min": round(60 * len(prompts) / t_seq, 1),
                      "ratio": round(t_seq / t_batched, 2), "generated_tokens": tokens,
                      "identical_outputs": f"{same}/{len(prompts)}"}))
    print(f"RATIO batched/sequential: {t_seq / t_batched:.2f}x (target >= 5x)")


def accuracy(args) -> None:
    from cft.evaluate import EvalConfig
    from cft.evaluate.runner import run_eval
    from cft.evaluate.stats import format_accuracy

    config = EvalConfig(name=args.name or f"bench-{args.model}-{args.benchmark}-{args.limit or 'all'}-{args.max_new_tokens}",
                                 model=args.model, benchmark=args.benchmark, limit=args.limit,
                                 max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    start = time.time()

    def progress(done, total, correct):
        print(f"{done}/{total} done, {correct} correct, {time.time() - start:.0f} s", flush=True)

    s = run_eval(config, progress=progress)
    print(json.dumps(s, indent=2))
    print(f"ACCURACY {s['label']} on {s['benchmark']} ({s['n']} problems, seed {s['seed']}, max_new_tokens "
          f"{s['max_new_tokens']}, greedy): {format_accuracy(s)} ({s['correct']}/{s['n']}, "
          f"{s['timed_out']} grading timeouts, {s['no_answer']} without an answer); eval time {s['seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--model", default="embedded")
    sp.add_argument("--n", type=int, default=32)
    sp.add_argument("--max-new-tokens", type=int, default=128)
    sp.add_argument("--batch-size", type=int, default=32)
    ac = sub.add_parser("accuracy")
    ac.add_argument("--model", default="embedded")
    ac.add_argument("--benchmark", default="gsm8k")
    ac.add_argument("--limit", type=int, default=200)
    ac.add_argument("--max-new-tokens", type=int, default=512)
    ac.add_argument("--batch-size", type=int, default=16)
    ac.add_argument("--name", default="")
    args = parser.parse_args()
    speed(args) if args.what == "speed" else accuracy(args)


if __name__ == "__main__":
    main()
