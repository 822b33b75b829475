"""Generation figures: batched vs sequential student sampling, teacher throughput, verifier accuracy.

    python benchmarks/generate_bench.py                      # everything
    python benchmarks/generate_bench.py --only student --prompts 32 --max-new-tokens 64
    python benchmarks/generate_bench.py --only teacher --requests 16
    python benchmarks/generate_bench.py --only verifier --n 500

- student: the embedded SmolLM2 on the same GSM8K prompts, greedy, same max_new_tokens, one prompt at a time
  vs ``--batch`` prompts at once through cft.models.generate (left padding, KV cache); tokens/s and the ratio,
  measured in one run (target >= 5x).
- teacher: cft.generate.teacher against a local llama.cpp server hosting the same GGUF, at concurrency 1 and 8:
  requests/s and completion tokens/s.
- verifier: GSM8K train reference solutions (correct) must be judged right, corrupted copies (final answer and
  one step changed) wrong; accuracy on ``--n`` of each, and how often the corrupted step is named.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CFT_MODEL_CACHE", str(Path.home() / ".cache" / "cft-studio" / "models"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def student(args) -> None:
    import torch

    from cft.data.benchmarks import load_benchmark
    from cft.models import generate, load_model
    from cft.prompts import eval_messages, render

    if args.threads:
        torch.set_num_threads(args.threads)  # a busy shared machine: 2 spinning threads can crawl, 1 may not
    model, tok = load_model("embedded", dtype="float32")
    problems = load_benchmark("gsm8k_train", limit=args.prompts, seed=0)
    prompts = [render(tok, eval_messages(p.question)) for p in problems]
    generate(model, tok, prompts[:2], max_new_tokens=4, batch_size=2)  # warm-up: allocator, kernels

    def count(texts):
        return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)

    t0 = time.perf_counter()
    seq = [generate(model, tok, [p], max_new_tokens=args.max_new_tokens, batch_size=1)[0] for p in prompts]
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    bat = generate(model, tok, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch)
    t_bat = time.perf_counter() - t0
    n_seq, n_bat = count(seq), count(bat)
    same = sum(a == b for a, b in zip(seq, bat))
    print(f"student generation, embedded SmolLM2-135M, {len(prompts)} GSM8K prompts, greedy, max_new_tokens="
          f"{args.max_new_tokens}, torch threads {torch.get_num_threads()}, load avg {load_avg()}")
    print(f"  sequential (batch 1):  {n_seq} tokens in {t_seq:.1f} s = {n_seq / t_seq:.1f} tokens/s")
    print(f"  batched (batch {args.batch}):   {n_bat} tokens in {t_bat:.1f} s = {n_bat / t_bat:.1f} tokens/s")
    print(f"  ratio batched/sequential: {(n_bat / t_bat) / (n_seq / t_seq):.2f}x   (identical outputs: {same}/{len(prompts)})")


def teacher(args) -> None:
    from cft.data.benchmarks import load_benchmark
    from cft.generate.teacher import OpenAITeacher, run_sync
    from tests.servers import start_llama_server

    problems = load_benchmark("gsm8k_train", limit=args.requests, seed=0)
    items = [(i, p.question, p.solution) for i, p in enumerate(problems)]
    with tempfile.TemporaryDirectory() as tmp:
        server = start_llama_server(Path(tmp), n_threads=args.llama_threads)
        try:
            print(f"teacher throughput, llama.cpp server ({args.llama_threads} thread(s)) hosting the embedded GGUF, "
                  f"{len(items)} GSM8K critiques, max_tokens={args.teacher_max_tokens}, load avg {load_avg()}")
            for concurrency in (1, 8):
                t = OpenAITeacher(server.base_url, server.model, max_tokens=args.teacher_max_tokens, timeout=600,
                                  concurrency=concurrency)
                async def go():
                    def on_result(key, reply, error):
                        if error:
                            raise error

                    await t.critique_many(items, on_result)
                    await t.aclose()

                t0 = time.perf_counter()
                run_sync(go())
                wall = time.perf_counter() - t0
                u = t.usage
                print(f"  concurrency {concurrency}: {u.requests / wall:.2f} requests/s, {u.tokens_out / wall:.1f} "
                      f"completion tokens/s, {(u.tokens_in + u.tokens_out) / wall:.1f} total tokens/s "
                      f"({u.requests} requests in {wall:.1f} s)")
        finally:
            server.stop()


def verifier(args) -> None:
    from cft.data.benchmarks import load_benchmark
    from cft.generate.verifier import corrupt_gsm8k_solution, critique

    problems = load_benchmark("gsm8k_train", limit=args.n, seed=1)
    rng = random.Random(0)
    t0 = time.perf_counter()
    solutions = [f"{p.solution}\n#### {p.answer}" for p in problems]  # as GSM8K writes it
    right = [critique(p.question, sol, p.answer).verdict == "right" for p, sol in zip(problems, solutions)]
    wrong, named = [], []
    for p, sol in zip(problems, solutions):
        corrupted, _, line = corrupt_gsm8k_solution(sol, rng)
        r = critique(p.question, corrupted, p.answer)
        wrong.append(r.verdict == "wrong")
        # Named: the first false step the critique reports lies on the line that was corrupted.
        first = r.steps[r.first_error_step - 1].text if r.first_error_step else None
        named.append(line is not None and first is not None and first in corrupted.split("\n")[line])
    wall = time.perf_counter() - t0
    n = len(problems)
    print(f"verifier critic on GSM8K train (seed 1), load avg {load_avg()}")
    print(f"  reference solutions judged right: {sum(right)}/{n} = {100 * sum(right) / n:.1f}%")
    print(f"  corrupted copies judged wrong:    {sum(wrong)}/{n} = {100 * sum(wrong) / n:.1f}%")
    print(f"  the corrupted step named as the first false step: {sum(named)}/{n} = {100 * sum(named) / n:.1f}%")
    print(f"  {2 * n} critiques in {wall:.1f} s ({1000 * wall / (2 * n):.1f} ms each on average)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("student", "teacher", "verifier"), default=None)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--teacher-max-tokens", type=int, default=64)
    parser.add_argument("--llama-threads", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="student: torch threads (0 = torch's default)")
    parser.add_argument("--n", type=int, default=500, help="verifier: this many correct and corrupted solutions")
    args = parser.parse_args()
    for name, fn in (("verifier", verifier), ("student", student), ("teacher", teacher)):
        if args.only in (None, name):
            fn(args)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
