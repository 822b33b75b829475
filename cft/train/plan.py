"""A run's plan, before any training: its examples built once, what they cost, what is wrong with them.

``python -m cft train --preview N``, the Train tab's preview and every launch call :func:`make_plan`: the examples
are built, the optimizer steps the config implies are counted, and warnings say when the numbers make a comparison
meaningless (a handful of SFT examples, most samples dropped as too long, under 50 optimizer steps). A launch then
writes the examples into the run directory (:func:`save_examples`), so the training job reads exactly what the
user previewed, and a paired launch never tokenizes the data twice. The cache records a fingerprint of the examples
(their token ids), which becomes part of the run's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from cft.train.ablations import changes_targets
from cft.train.config import TrainConfig
from cft.train.examples import IGNORE, BuiltData, build_examples, load_samples, total_steps

MIN_STEPS = 50
EXAMPLES_DIR = "examples"
TARGET_MARK = ">>> TARGET >>>"


@dataclass
class Plan:
    config: TrainConfig
    data: BuiltData
    steps: int
    warnings: list[str] = field(default_factory=list)

    @property
    def stats(self) -> dict:
        return {**self.data.stats, "optimizer_steps": self.steps}


def warnings_for(config: TrainConfig, data: BuiltData, steps: int) -> list[str]:
    s, out = data.stats, []
    if steps < MIN_STEPS:
        out.append(f"{steps} optimizer steps: under {MIN_STEPS}, a run barely moves from its base model and a "
                   "comparison of modes mostly measures noise")
    considered = s.get("pairs", 0)
    if considered and s["dropped_too_long"] / considered > 0.1:
        out.append(f"{s['dropped_too_long']} of {considered} {config.mode} examples "
                   f"({100 * s['dropped_too_long'] / considered:.0f}%) dropped as longer than max_length="
                   f"{config.max_length}: raise max_length or expect a biased subset")
    if config.mode != "cft" and s["train"] < 20:
        out.append(f"only {s['train']} {config.mode} training example(s) from {s['questions']} question(s): the "
                   "dataset has too few distinct questions with a usable solution for a meaningful baseline")
    if s.get("test_items_dropped"):
        out.append(f"{s['test_items_dropped']} question(s) are items of a test benchmark and were left out")
    if s.get("without_solution") and config.mode != "cft":
        out.append(f"{s['without_solution']} question(s) have no usable {config.mode} target")
    if config.max_steps > 0 and s["train"]:
        epochs = steps * config.per_device_batch_size * config.grad_accum / s["train"]
        if epochs > 20:
            out.append(f"{steps} steps over {s['train']} examples is about {epochs:.0f} epochs: expect memorisation")
    return out


def make_plan(config: TrainConfig, *, samples: list | None = None, tokenizer=None, world_size: int = 1) -> Plan:
    """Build the examples (tokenizer loaded when not given), count the steps, collect the warnings."""
    if tokenizer is None:
        from cft import models

        tokenizer = models.load_tokenizer(config.base_model)
    data = build_examples(config, tokenizer, load_samples(config) if samples is None else samples)
    steps = total_steps(len(data.train), config, world_size)
    data.warnings = warnings_for(config, data, steps)
    return Plan(config, data, steps, list(data.warnings))


# ------------------------------------------------------------------------------------------------ preview


def preview_text(plan: Plan, tokenizer, n: int) -> str:
    """The first ``n`` training examples as the model sees them, then the counts and the warnings (plain text)."""
    lines = []
    for i, ex in enumerate(plan.data.train[: max(0, n)], 1):
        start = next(j for j, t in enumerate(ex["labels"]) if t != IGNORE)
        lines += [f"===== example {i} of {len(plan.data.train)} ({ex['length']} tokens) =====",
                  tokenizer.decode(ex["input_ids"][:start]), TARGET_MARK,
                  tokenizer.decode([t for t in ex["labels"] if t != IGNORE]), ""]
    s = plan.stats
    lines.append(f"{plan.config.mode}: {s['train']} training examples + {s['eval']} held out "
                 f"(from {s['samples']} samples, {s['questions']} questions); dropped as too long: "
                 f"{s['dropped_too_long']}; questions without a usable solution: {s.get('without_solution', 0)}; "
                 f"test-set questions left out: {s.get('test_items_dropped', 0)}; optimizer steps: {plan.steps}")
    if "verified_by_reference" in s:
        lines.append(f"verified responses: {s['verified_by_reference']} by the reference answer, "
                     f"{s['verified_by_critique']} by the critique's verdict")
    if "critiques_changed" in s and changes_targets(plan.config):
        c = plan.config
        lines.append(f"critique ablation (source {c.critique_source}, transform {c.critique_transform}"
                     f"{', require ' + c.sample_require if c.sample_require else ''}): {s['critiques_changed']} "
                     f"targets changed, {s['ablation_excluded']} samples left out, wrong share {s['wrong_share']}"
                     + (f", {s['duplicated']} resampled repeats" if s.get("duplicated") else ""))
    lines += [f"WARNING: {w}" for w in plan.warnings]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ the cache


def _arrays(plan: Plan) -> dict:
    """The examples as flat arrays: token ids, lengths, prompt lengths, and the held-out flag."""
    import numpy as np

    rows = [(ex, 0) for ex in plan.data.train] + [(ex, 1) for ex in plan.data.eval]
    return {"ids": np.array([t for ex, _ in rows for t in ex["input_ids"]], dtype=np.int32),
            "lengths": np.array([ex["length"] for ex, _ in rows], dtype=np.int32),
            "prompt": np.array([next(j for j, t in enumerate(ex["labels"]) if t != IGNORE) for ex, _ in rows],
                               dtype=np.int32),
            "split": np.array([s for _, s in rows], dtype=np.int8)}


def examples_digest(plan: Plan, arrays: dict | None = None) -> str:
    """The fingerprint of a plan's examples: a hash of exactly the token ids and masks the run trains on."""
    arrays = arrays or _arrays(plan)
    h = hashlib.sha256()
    for key in ("ids", "lengths", "prompt", "split"):
        h.update(arrays[key].tobytes())
    return h.hexdigest()[:16]


def save_examples(run_dir: Path, plan: Plan) -> str:
    """Write the plan's examples into ``run_dir/examples/``; returns their fingerprint."""
    import numpy as np

    from cft.fingerprint import digest
    from cft.jobs import write_json_atomic

    out = Path(run_dir) / EXAMPLES_DIR
    out.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(plan)
    fingerprint = examples_digest(plan, arrays)
    tmp = out / "examples.tmp.npz"
    np.savez(tmp, **arrays)
    tmp.replace(out / "examples.npz")
    write_json_atomic(out / "meta.json", {"fingerprint": fingerprint, "stats": plan.stats, "warnings": plan.warnings,
                                          "steps": plan.steps, "config": digest(plan.config.to_dict())})
    return fingerprint


def read_meta(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / EXAMPLES_DIR / "meta.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def load_examples(run_dir: Path) -> BuiltData | None:
    """The examples a launch wrote into ``run_dir`` (None when there are none)."""
    import numpy as np

    meta = read_meta(run_dir)
    path = Path(run_dir) / EXAMPLES_DIR / "examples.npz"
    if meta is None or not path.exists():
        return None
    data = np.load(path)
    ids, lengths, prompt, split = (data[k] for k in ("ids", "lengths", "prompt", "split"))
    train, held = [], []
    offset = 0
    for length, p, s in zip(lengths.tolist(), prompt.tolist(), split.tolist()):
        row = ids[offset:offset + length].tolist()
        offset += length
        (held if s else train).append({"input_ids": row, "labels": [IGNORE] * p + row[p:], "length": length})
    return BuiltData(train, held, dict(meta["stats"]), list(meta.get("warnings", [])))
