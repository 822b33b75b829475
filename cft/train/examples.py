"""Training examples: the samples a run uses, turned into token ids with the prompt masked out of the labels.

CFT: one example per critiqued sample, prompt = the CFT question and noisy response, target = the critique.
SFT: one example per question that has a known correct solution, target = that solution.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Iterable

from cft.errors import UserError
from cft.train.config import TrainConfig

IGNORE = -100


@dataclass
class BuiltData:
    train: list[dict]
    eval: list[dict]
    stats: dict[str, int]


def encode(tokenizer, prompt: str, target: str, max_length: int) -> dict | None:
    """Tokenize prompt + target (+ eos). Labels are the target ids; the prompt is masked with -100.

    Truncation keeps the whole prompt and cuts the target from the right: a model must always see the full
    question and solution it critiques. Returns None when not even one target token fits.
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        target_ids = target_ids + [tokenizer.eos_token_id]
    room = max_length - len(prompt_ids)
    if room <= 0 or not target_ids:
        return None
    target_ids = target_ids[:room]
    input_ids = prompt_ids + target_ids
    return {
        "input_ids": input_ids,
        "labels": [IGNORE] * len(prompt_ids) + target_ids,
        "length": len(input_ids),
    }


def cft_pair(tokenizer, sample) -> tuple[str, str]:
    from cft import prompts

    return prompts.render(tokenizer, prompts.cft_messages(sample.question, sample.response), True), sample.critique


def sft_pairs(tokenizer, samples: Iterable) -> tuple[list[tuple[str, str]], int]:
    """One (prompt, target) per unique question that has a known correct solution; also the number without one.

    The solution is the question's reference solution, else a response whose critique's verdict is right.
    """
    from cft import prompts

    order: list[str] = []
    solutions: dict[str, str | None] = {}
    for s in samples:
        q = s.question.strip()
        if q not in solutions:
            order.append(q)
            solutions[q] = None
        if s.reference_solution and s.reference_solution.strip():
            # A reference solution beats a response judged right.
            if solutions[q] is None or not solutions[q].startswith("\0ref"):
                solutions[q] = "\0ref" + s.reference_solution
        elif solutions[q] is None and s.verdict == "right" and s.response.strip():
            solutions[q] = s.response
    pairs, missing = [], 0
    for q in order:
        sol = solutions[q]
        if sol is None:
            missing += 1
            continue
        sol = sol[4:] if sol.startswith("\0ref") else sol
        pairs.append((prompts.render(tokenizer, prompts.sft_messages(q), True), sol))
    return pairs, missing


def build_examples(config: TrainConfig, tokenizer, samples: list) -> BuiltData:
    if config.mode == "cft":
        pairs = [cft_pair(tokenizer, s) for s in samples if s.critique and s.critique.strip()]
        stats = {"samples": len(samples), "without_solution": 0}
    else:
        pairs, missing = sft_pairs(tokenizer, samples)
        stats = {"samples": len(samples), "questions": len(pairs) + missing, "without_solution": missing}
    examples, dropped = [], 0
    for prompt, target in pairs:
        ex = encode(tokenizer, prompt, target, config.max_length)
        if ex is None:
            dropped += 1
        else:
            examples.append(ex)
    stats["dropped_too_long"] = dropped
    if not examples:
        what = "samples with a critique" if config.mode == "cft" else "questions with a reference solution or a response judged right"
        raise UserError(
            f"dataset {config.dataset!r} ({config.sample_filter}): no usable training examples "
            f"({len(pairs)} {what}, {dropped} dropped because the prompt fills max_length={config.max_length})"
        )
    rng = random.Random(config.seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    n_eval = 0
    if config.eval_fraction > 0 and len(examples) >= 4:
        n_eval = min(max(1, round(len(examples) * config.eval_fraction)), config.max_eval_examples, len(examples) - 1)
    eval_set = [examples[i] for i in order[:n_eval]]
    train_set = [examples[i] for i in sorted(order[n_eval:])]
    stats.update(train=len(train_set), eval=len(eval_set), target_tokens=sum(sum(1 for l in e["labels"] if l != IGNORE) for e in train_set),
                 tokens=sum(e["length"] for e in train_set))
    return BuiltData(train_set, eval_set, stats)


def load_samples(config: TrainConfig) -> list:
    """The dataset's samples that pass the config's filter, in id order (the same list for a CFT/SFT pair)."""
    from cft.data.store import Store

    store = Store()
    names = {d["name"] for d in store.datasets()}
    if config.dataset not in names:
        raise UserError(f"dataset {config.dataset!r} is not in the store; existing: {', '.join(sorted(names)) or 'none'}")
    if config.sample_filter == "reviewed":
        samples = list(store.iter_samples(config.dataset, status="reviewed"))
    else:
        usable = ["pending", "draft", "reviewed"]  # not discarded, and critiqued (uncritiqued ones have no critique)
        samples = [s for s in store.iter_samples(config.dataset, status=usable) if (s.critique or "").strip()]
    if config.limit:
        samples = samples[: config.limit]
    return samples


def steps_per_epoch(n_train: int, config: TrainConfig, world_size: int = 1) -> int:
    """Optimizer steps in one epoch of ``n_train`` examples (what Trainer computes for num_train_epochs)."""
    batches = math.ceil(n_train / (config.per_device_batch_size * world_size))
    return max(1, math.ceil(batches / config.grad_accum)) if n_train else 0
