"""``python -m cft models | benchmarks``: what can be loaded and evaluated.

    python -m cft models              # the embedded model (cached or not) and every trained adapter
    python -m cft models --prepare    # dequantize the embedded GGUF into the safetensors cache now, timed
    python -m cft benchmarks          # the benchmark registry with sizes
"""

from __future__ import annotations

import time


def register(sub) -> None:
    p = sub.add_parser("models", help="list models: the embedded SmolLM2 and trained adapters",
                       description="List loadable models: the embedded SmolLM2-135M-Instruct and every run's adapter "
                                   "and checkpoints under the workspace.")
    p.add_argument("--prepare", action="store_true",
                   help="dequantize the embedded GGUF into the safetensors cache now (once per machine) and time a load")
    p.set_defaults(handler=run_models)

    p = sub.add_parser("benchmarks", help="list the benchmarks with their sizes",
                       description="List packaged benchmarks. Any .jsonl file (with a field mapping) or Hub id "
                                   "(online) can be evaluated too.")
    p.set_defaults(handler=run_benchmarks)


def run_models(args) -> int:
    from cft import models

    if args.prepare:
        was_cached = models.embedded_cached()
        start = time.perf_counter()
        path = models.embedded_dir()
        prepared = time.perf_counter() - start
        print(f"embedded model {'was already cached' if was_cached else f'dequantized in {prepared:.1f}s'}: {path}")
        start = time.perf_counter()
        models.load_model(models.EMBEDDED)
        print(f"load_model('embedded') from the cache: {time.perf_counter() - start:.2f}s")
    rows = models.list_models()
    width = max(len(m["label"]) for m in rows)
    for m in rows:
        if m["kind"] == "embedded":
            state = "cached" if m["cached"] else "not cached yet (python -m cft models --prepare)"
            print(f"{m['label']:<{width}}  {state}  {m['path']}")
        else:
            print(f"{m['label']:<{width}}  adapter on {m['spec']}  {m['adapter']}")
    return 0


def run_benchmarks(args) -> int:
    from cft.data.benchmarks import list_benchmarks

    rows = list_benchmarks()
    width = max(len(b["name"]) for b in rows)
    for b in rows:
        print(f"{b['name']:<{width}}  {b['size']:>5}  {b['description']}")
    return 0
