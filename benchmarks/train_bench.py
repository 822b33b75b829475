"""Training throughput, measured fairly: our LoRA Trainer against TRL's SFTTrainer, and against the CPU's ceilings.

    python benchmarks/train_bench.py                      # ratio to TRL, shares of the fp32 and bf16 ceilings
    python benchmarks/train_bench.py --precision fp32     # both sides in fp32 instead of bf16 autocast
    python benchmarks/train_bench.py --curves 30          # ours in fp32 vs bf16: speed and the loss curves
    python benchmarks/train_bench.py --device cuda --model Qwen/Qwen2.5-7B --batch 8 --max-length 2048 \\
        --samples 400 --precision bf16 --checkpointing    # on a GPU: tokens/s, MFU against the bf16 peak, peak memory

On a GPU (not run in this project so far: no GPU was lent to it), the "bf16 ceiling" is the card's measured bf16
matmul rate, so its share is the MFU. A QLoRA step of a 7B model is measured by the app itself: ``python -m cft train
--dataset NAME --preset qlora-7b --base-model Qwen/Qwen2.5-Math-7B --max-steps 20 --name qlora-probe`` logs
``tokens_per_s`` and ``memory_mb`` (the peak allocated GPU memory) per step in ``runs/qlora-probe/metrics.jsonl``.

Same work on both sides. The examples are tokenized once, by our builder (the chat template, the critique and an
eos; prompts that fill ``--max-length`` dropped), and ordered once by transformers' length-grouped sampler; both
trainers then read that one list sequentially, so every step sees the same examples in the same batches padded to
the same length. TRL gets them pre-tokenized with a ``completion_mask`` (completion-only loss); it runs the variant
chosen with ``--trl-variant`` (``auto`` times its padded and padding-free collators in short trials, not counted,
and keeps the faster one whose first-step loss equals ours: both sides start from the same base with LoRA's B = 0, so step 1's loss is the base
model's loss on the same tokens and must agree). Packing is left out: it changes which examples share a step.
Same model, LoRA (r 16, alpha 32, all seven projections), learning rate, precision, thread count; no eval, no
checkpoints. Each run times ``--steps`` optimizer steps after one warm-up step; the sides alternate, ``--runs``
times, and the median run counts. Tokens/s counts non-padding tokens, from the end of the warm-up step to the end
of the last, so collation, padding and per-step bookkeeping are included.

Ceilings: a 3072^3 matmul in fp32 and in bf16, timed in this process with the same threads, best of 5, before and
after. The share of a ceiling is tokens/s x 4 x parameters (forward 2, input-gradient backward 2; LoRA's FLOPs
ignored) / ceiling; our trainer skips the vocabulary projection on prompt tokens, so it does less arithmetic than
that count says: the figure is useful work per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("CFT_MODEL_CACHE", str(Path.home() / ".cache" / "cft-studio" / "models"))
DATA = ROOT.parent / "shared" / "data" / "one-shot-cft-dsr-p0.jsonl"
LORA = dict(r=16, alpha=32, dropout=0.0, targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
LR = 1e-4


def load_samples(n: int):
    from cft.data.samples import Sample, parse_verdict
    from cft.prompts import split_cft_input

    out = []
    with open(DATA) as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            question, response = split_cft_input(row["messages"][0]["content"])
            critique = row["messages"][1]["content"]
            out.append(Sample(question=question, response=response, critique=critique, verdict=parse_verdict(critique),
                              dataset="bench", id=i))
    return out[:n]


def bench_config(args, precision: str, name: str = "bench"):
    from cft.train import TrainConfig

    return TrainConfig(
        name=name, dataset="bench", base_model=args.model, mode="cft", lora_r=LORA["r"], lora_alpha=LORA["alpha"],
        lora_dropout=LORA["dropout"], target_modules=LORA["targets"], learning_rate=LR, max_steps=args.steps + 1,
        per_device_batch_size=args.batch, grad_accum=1, max_length=args.max_length, eval_fraction=0, logging_steps=1,
        save_steps=10_000, torch_threads=args.threads, precision=precision, seed=42,
        gradient_checkpointing=args.checkpointing,
    ).validate()


def fixed_order(examples: list[dict], batch: int, seed: int = 42) -> list[dict]:
    """The examples in the order our trainer's length-grouped sampler would draw them; both sides read this list."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    sampler = LengthGroupedSampler(batch, lengths=[e["length"] for e in examples],
                                   generator=torch.Generator().manual_seed(seed))
    return [examples[i] for i in sampler]


def timing_callback():
    from transformers import TrainerCallback

    class Timing(TrainerCallback):
        """Wall clock, non-padding tokens and the loss at each optimizer step's end (identical for both trainers)."""

        def __init__(self):
            self.marks: list[tuple[float, int]] = []
            self.losses: list[float] = []

        def on_step_end(self, args, state, control, **kw):
            self.marks.append((time.perf_counter(), state.num_input_tokens_seen))

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

        def result(self) -> dict:
            (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
            return {"tokens_per_s": (n1 - n0) / (t1 - t0), "tokens": n1 - n0, "losses": self.losses,
                    "step_s": [b[0] - a[0] for a, b in zip(self.marks, self.marks[1:])]}

    return Timing()


def run_ours(ordered, args, precision: str, seed: int = 42) -> dict:
    from cft.train.job import build_trainer

    reset_peak(args)
    config = bench_config(args, precision).replace(seed=seed)
    timing = timing_callback()
    with tempfile.TemporaryDirectory() as tmp:
        trainer, _, _ = build_trainer(config, Path(tmp), samples=SAMPLES, extra_callbacks=[timing])
        trainer.train_dataset = ordered  # the one fixed order, read front to back
        trainer.args.train_sampling_strategy = "sequential"
        trainer.train()
    return {**timing.result(), **peak(args)}


def run_trl(ordered, args, precision: str, padding_free: bool) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from cft import models

    torch.set_num_threads(args.threads)
    reset_peak(args)
    model, tokenizer = models.load_model(args.model, dtype=torch.float32 if args.device == "cpu" else None,
                                         device=args.device)
    tokenizer.padding_side = "right"
    rows = [{"input_ids": e["input_ids"], "completion_mask": [int(label != -100) for label in e["labels"]]}
            for e in ordered]
    timing = timing_callback()
    with tempfile.TemporaryDirectory() as tmp:
        config = SFTConfig(
            # Padding-free refuses a max_length it would not enforce; the examples are already within it.
            output_dir=tmp, max_length=None if padding_free else args.max_length, completion_only_loss=True, packing=False,
            padding_free=padding_free, per_device_train_batch_size=args.batch, gradient_accumulation_steps=1,
            learning_rate=LR, max_steps=args.steps + 1, logging_steps=1, save_strategy="no", eval_strategy="no",
            report_to="none", include_num_input_tokens_seen="non_padding", use_cpu=args.device == "cpu", seed=42,
            disable_tqdm=True, dataloader_num_workers=0, train_sampling_strategy="sequential",
            bf16=precision == "bf16", fp16=False, gradient_checkpointing=args.checkpointing, lr_scheduler_type="cosine",
            warmup_steps=0.1,
        )
        lora = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                          target_modules=LORA["targets"], task_type="CAUSAL_LM")
        trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, peft_config=lora, callbacks=[timing])
        trainer.remove_callback(PrinterCallback)  # a dict per step on stdout; ours prints nothing either
        trainer.train()
    return {**timing.result(), **peak(args)}


def reset_peak(args) -> None:
    if args.device != "cpu":
        import torch

        torch.cuda.reset_peak_memory_stats()


def peak(args) -> dict:
    if args.device == "cpu":
        return {}
    import torch

    return {"peak_gib": torch.cuda.max_memory_allocated() / 2**30}


def matmul_ceiling(threads: int, dtype: str, device: str = "cpu", n: int = 3072, reps: int = 5) -> float:
    import torch

    torch.set_num_threads(threads)
    kind = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a, b = torch.randn(n, n, dtype=kind, device=device), torch.randn(n, n, dtype=kind, device=device)
    rates = []
    for i in range(reps + 2):
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        if i >= 2:
            rates.append(2 * n**3 / (time.perf_counter() - start))
    return max(rates)


def count_params(spec: str) -> int:
    """The model's parameter count without loading its weights (a 7B in fp32 would take 30 GB of RAM)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from cft import models

    where, kwargs = models._resolve(spec)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(where, **kwargs))
    return sum(p.numel() for p in model.parameters())


def median_run(results: list[dict]) -> dict:
    ordered = sorted(results, key=lambda r: r["tokens_per_s"])
    return ordered[len(ordered) // 2]


def curves(ordered, args) -> None:
    """Ours in fp32 and in bf16 autocast on the same batches; a second fp32 run with another LoRA seed is the noise."""
    fp32 = run_ours(ordered, args, "fp32")
    bf16 = run_ours(ordered, args, "bf16")
    noise = run_ours(ordered, args, "fp32", seed=7)
    diff = [abs(a - b) for a, b in zip(fp32["losses"], bf16["losses"])]
    floor = [abs(a - b) for a, b in zip(fp32["losses"], noise["losses"])]
    print("step  fp32     bf16     fp32(seed 7)")
    for i, (a, b, c) in enumerate(zip(fp32["losses"], bf16["losses"], noise["losses"]), 1):
        print(f"{i:>4}  {a:.4f}  {b:.4f}  {c:.4f}")
    print(f"tokens/s: fp32 {fp32['tokens_per_s']:.1f}, bf16 {bf16['tokens_per_s']:.1f} "
          f"({bf16['tokens_per_s'] / fp32['tokens_per_s']:.2f}x)")
    print(f"|bf16 - fp32| per step: mean {statistics.mean(diff):.4f}, max {max(diff):.4f}; "
          f"noise |fp32 - fp32 other LoRA seed|: mean {statistics.mean(floor):.4f}, max {max(floor):.4f}")


def main() -> None:
    global SAMPLES
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps per run, after one warm-up step")
    parser.add_argument("--runs", type=int, default=3, help="runs per side, alternating; the median counts")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=1024, help="both sides drop the examples whose prompt fills it")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="bf16")
    parser.add_argument("--trl-variant", choices=("auto", "padded", "padding_free"), default="auto")
    parser.add_argument("--trial-steps", type=int, default=4, help="steps of each TRL variant's trial (auto)")
    parser.add_argument("--curves", type=int, default=0, metavar="N", help="fp32 vs bf16 loss curves over N steps")
    parser.add_argument("--model", default="embedded", help="base model (a tiny local dir checks the script quickly)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--checkpointing", action="store_true", help="gradient checkpointing on both sides (7B on a GPU)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: free physical cores)")
    args = parser.parse_args()

    import torch

    from cft import models
    from cft.train.examples import build_examples
    from cft.train.hardware import auto_threads

    args.threads = args.threads or auto_threads()
    torch.set_num_threads(args.threads)
    SAMPLES = load_samples(args.samples)
    tokenizer = models.load_tokenizer(args.model)
    data = build_examples(bench_config(args, args.precision), tokenizer, SAMPLES)
    ordered = fixed_order(data.train, args.batch)
    n_params = count_params(args.model)
    if args.curves:
        args.steps = args.curves
    print(f"{len(ordered)} CFT examples ({data.stats['dropped_too_long']} of {len(SAMPLES)} dropped: prompt fills "
          f"max_length {args.max_length}), {args.model} ({n_params / 1e6:.1f}M params), LoRA r{LORA['r']}, batch "
          f"{args.batch}, {args.steps} timed steps + 1 warm-up, {args.precision}, {args.device}, torch threads "
          f"{args.threads}, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    if args.curves:
        return curves(ordered, args)

    ceilings = {d: matmul_ceiling(args.threads, d, args.device) for d in ("fp32", "bf16")}
    variants = {"padded": False, "padding_free": True}
    chosen = args.trl_variant
    ours_runs, trl_runs = [], []
    if chosen == "auto":  # short trials, not counted: the faster TRL collator whose first loss agrees with ours
        trial = argparse.Namespace(**{**vars(args), "steps": args.trial_steps})
        reference = run_ours(ordered, trial, args.precision)["losses"][0]
        tried = {v: run_trl(ordered, trial, args.precision, pf) for v, pf in variants.items()}
        correct = {v: r for v, r in tried.items() if abs(r["losses"][0] - reference) <= 1e-2 * abs(reference)}
        for v, r in tried.items():
            print(f"  TRL {v} trial ({args.trial_steps} steps): {r['tokens_per_s']:.1f} tokens/s, first loss "
                  f"{r['losses'][0]:.4f} (ours {reference:.4f}){'' if v in correct else ' -- disagrees: excluded'}")
        chosen = max(correct or tried, key=lambda v: (correct or tried)[v]["tokens_per_s"])
    while len(ours_runs) < args.runs or len(trl_runs) < args.runs:
        if len(ours_runs) < args.runs:
            ours_runs.append(run_ours(ordered, args, args.precision))
        if len(trl_runs) < args.runs:
            trl_runs.append(run_trl(ordered, args, args.precision, variants[chosen]))
        print(f"  run {len(ours_runs)}: ours {ours_runs[-1]['tokens_per_s']:.1f}, TRL {trl_runs[-1]['tokens_per_s']:.1f} "
              f"tokens/s (load {os.getloadavg()[0]:.2f})", flush=True)
    for d in ceilings:
        ceilings[d] = max(ceilings[d], matmul_ceiling(args.threads, d, args.device))
    ours, trl = median_run(ours_runs), median_run(trl_runs)
    assert ours["tokens"] == trl["tokens"], f"not the same work: {ours['tokens']} vs {trl['tokens']} tokens"
    flop = 4 * n_params
    print(f"same work: {ours['tokens']} non-padding tokens per timed run on both sides; first-step loss ours "
          f"{ours['losses'][0]:.4f}, TRL {trl['losses'][0]:.4f}")
    print(f"matmul ceilings: fp32 {ceilings['fp32'] / 1e9:.1f}, bf16 {ceilings['bf16'] / 1e9:.1f} GFLOP/s "
          f"(3072^3, {args.threads} threads, best of 5, before and after)")
    for side, r in (("ours", ours), (f"TRL ({chosen})", trl)):
        shares = ", ".join(f"{r['tokens_per_s'] * flop / c * 100:.1f}% of the {d} ceiling" for d, c in ceilings.items())
        print(f"{side:>20}: median {r['tokens_per_s']:8.1f} tokens/s of {[round(x['tokens_per_s'], 1) for x in (ours_runs if r is ours else trl_runs)]}"
              f"; {shares}")
    print(f"ratio ours / TRL SFTTrainer: {ours['tokens_per_s'] / trl['tokens_per_s']:.2f}x ({args.precision})")
    if args.device != "cpu":
        print(f"peak GPU memory of the median run: ours {ours['peak_gib']:.1f} GiB, TRL {trl['peak_gib']:.1f} GiB")
    print(f"load average now {os.getloadavg()[0]:.2f} (other work on this machine lowers every figure)")


SAMPLES: list = []

if __name__ == "__main__":
    main()
