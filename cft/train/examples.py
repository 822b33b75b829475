"""Training examples: the samples a run uses, turned into token ids with the prompt masked out of the labels.

The three modes, as the paper defines them (same questions, same prompt policy, so they compare fairly):
- ``cft``: one example per critiqued sample; prompt = the paper's critique prompt (question + noisy response),
  target = the critique.
- ``sft``: one example per question with a reference solution; prompt = the question as the prompt policy asks it,
  target = the reference solution *ending with its final answer in the form the grader reads*: when the solution
  does not already end in a ``\\boxed{}`` holding the reference answer, ``The answer is \\boxed{A}.`` is appended
  (GSM8K's ``#### A`` line is split off at load time, so without this an SFT model would learn to stop without
  stating an answer and then be graded on one).
- ``sft-verified``: one example per distinct student response whose extracted final answer matches the reference
  answer, graded exactly as evaluation grades; for a question without a reference answer, a response whose
  critique concludes "right" (the paper's teacher-verified responses). Counted separately in the stats.

Every mode drops questions that are items of a registered test set (cft.data.splits.test_item_of) and counts them,
so neither the training loss nor the held-out loss split ever contains a test item.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from cft.errors import UserError
from cft.train.config import TrainConfig

IGNORE = -100


@dataclass
class Pair:
    prompt: str
    target: str
    question: str


@dataclass
class BuiltData:
    train: list[dict]
    eval: list[dict]
    stats: dict[str, int]
    warnings: list[str] = field(default_factory=list)


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
    return {"input_ids": input_ids, "labels": [IGNORE] * len(prompt_ids) + target_ids, "length": len(input_ids)}


def sft_target(solution: str, answer: str | None) -> str | None:
    """The reference solution ending with a final answer the grader reads; None when no answer can be stated."""
    from cft.grading import answers_match, last_boxed
    from cft.prompts import final_answer_line

    text = (solution or "").rstrip()
    if not text:
        return None
    boxed = last_boxed(text)
    if answer is None or not str(answer).strip():
        return text if boxed is not None else None
    if boxed is not None and answers_match(str(answer), boxed):
        return text
    return f"{text}\n\n{final_answer_line(str(answer).strip())}"


def _cft_pairs(tokenizer, samples, config: TrainConfig | None = None) -> tuple[list[Pair], dict]:
    """One pair per critiqued sample; the target is the critique as the config's ablation fields make it
    (cft.train.ablations: the teacher's or the corrected critique, stripped or verdict-only, a chosen wrong share)."""
    from cft import prompts
    from cft.train import ablations

    config = config or TrainConfig()
    chosen, stats = ablations.apply(samples, source=config.critique_source, transform=config.critique_transform,
                                    require=config.sample_require, wrong_ratio=config.wrong_ratio, seed=config.seed)
    pairs = [Pair(prompts.render(tokenizer, prompts.cft_messages(s.question, s.response), True), target, s.question)
             for s, target in chosen]
    return pairs, {"without_solution": 0, **stats}


def _sft_pairs(tokenizer, samples, policy: str) -> tuple[list[Pair], dict]:
    from cft import prompts

    best: dict[str, tuple[str, str | None, str]] = {}  # normalised question -> (solution, answer, question)
    for s in samples:
        key = s.question.strip()
        if key not in best or (not best[key][0] and (s.reference_solution or "").strip()):
            best[key] = ((s.reference_solution or "").strip(), s.reference_answer, s.question)
    pairs, missing = [], 0
    for solution, answer, question in best.values():
        target = sft_target(solution, answer) if solution else None
        if target is None:
            missing += 1
            continue
        pairs.append(Pair(prompts.render(tokenizer, prompts.sft_messages(question, policy=policy), True), target, question))
    return pairs, {"without_solution": missing}


def _verified_pairs(tokenizer, samples, policy: str) -> tuple[list[Pair], dict]:
    from cft import prompts
    from cft.grading import grade_many

    seen, candidates = set(), []
    for s in samples:
        if (s.response or "").strip() and (s.question, s.response) not in seen:
            seen.add((s.question, s.response))
            candidates.append(s)
    with_ref = [s for s in candidates if (s.reference_answer or "").strip()]
    grades = grade_many([(str(s.reference_answer), s.response) for s in with_ref]) if with_ref else []
    by_reference = [s for s, g in zip(with_ref, grades) if g.correct]
    by_critique = [s for s in candidates if not (s.reference_answer or "").strip() and s.verdict == "right"]
    verified = by_reference + by_critique
    questions = {s.question.strip() for s in candidates}
    pairs = [Pair(prompts.render(tokenizer, prompts.sft_messages(s.question, policy=policy), True), s.response, s.question)
             for s in verified]
    return pairs, {"verified_by_reference": len(by_reference), "verified_by_critique": len(by_critique),
                   "without_solution": len(questions - {s.question.strip() for s in verified})}


def make_pairs(config: TrainConfig, tokenizer, samples: list) -> tuple[list[Pair], dict]:
    """(prompt, target) pairs of the config's mode, test items dropped; and the counts."""
    from cft.data.splits import test_item_of

    kept, test_items = [], set()
    for s in samples:
        if test_item_of(s.question):
            test_items.add(s.question.strip())
        else:
            kept.append(s)
    if config.mode == "cft":
        pairs, stats = _cft_pairs(tokenizer, kept, config)
    elif config.mode == "sft":
        pairs, stats = _sft_pairs(tokenizer, kept, config.prompt_policy)
    else:
        pairs, stats = _verified_pairs(tokenizer, kept, config.prompt_policy)
    return pairs, {"samples": len(samples), "questions": len({s.question.strip() for s in kept}),
                   "test_items_dropped": len(test_items), **stats, "pairs": len(pairs)}


def build_examples(config: TrainConfig, tokenizer, samples: list) -> BuiltData:
    """Tokenized train and held-out examples of the config's mode, with the counts a user must see before training."""
    pairs, stats = make_pairs(config, tokenizer, samples)
    examples, dropped = [], 0
    for pair in pairs:
        ex = encode(tokenizer, pair.prompt, pair.target, config.max_length)
        if ex is None:
            dropped += 1
        else:
            examples.append(ex)
    stats["dropped_too_long"] = dropped
    if not examples:
        what = {"cft": "samples with a critique", "sft": "questions with a reference solution",
                "sft-verified": "responses verified correct"}[config.mode]
        raise UserError(
            f"dataset {config.dataset!r} ({config.sample_filter}, mode {config.mode}): no usable training examples "
            f"({len(pairs)} {what}, {dropped} dropped because the prompt fills max_length={config.max_length}, "
            f"{stats['test_items_dropped']} test-set questions dropped)"
        )
    rng = random.Random(config.seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    n_eval = 0
    if config.eval_fraction > 0 and len(examples) >= 4:
        n_eval = min(max(1, round(len(examples) * config.eval_fraction)), config.max_eval_examples, len(examples) - 1)
    eval_set = [examples[i] for i in order[:n_eval]]
    train_set = [examples[i] for i in sorted(order[n_eval:])]
    stats.update(examples=len(examples), train=len(train_set), eval=len(eval_set),
                 target_tokens=sum(sum(1 for t in e["labels"] if t != IGNORE) for e in train_set),
                 tokens=sum(e["length"] for e in train_set))
    return BuiltData(train_set, eval_set, stats)


def load_samples(config: TrainConfig) -> list:
    """The dataset's samples that pass the config's filter, in id order (the same list for every mode of a pair)."""
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


def total_steps(n_train: int, config: TrainConfig, world_size: int = 1) -> int:
    """The optimizer steps the config implies: max_steps when set, else epochs over the training examples."""
    if config.max_steps > 0:
        return config.max_steps
    return max(1, math.ceil(steps_per_epoch(n_train, config, world_size) * config.num_epochs)) if n_train else 0
