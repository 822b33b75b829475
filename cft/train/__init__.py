"""LoRA training for CFT runs and their paired SFT baselines: config, examples, metrics, the subprocess entry point.

``python -m cft.train --config runs/<name>/config.json`` runs one job. Everything the UI needs is written into
the run directory (see :mod:`cft.jobs`): ``status.json`` (running → completed / failed / stopped), one line of
``metrics.jsonl`` per log step, ``progress.json``, ``checkpoints/checkpoint-N`` and the final ``adapter/``.

The engine is transformers' ``Trainer`` with a peft LoRA model, so accelerate / DeepSpeed / FSDP work unchanged.
Two things make it faster than a stock completion-only setup (``benchmarks/train_bench.py`` measures it):
- batches are grouped by length and padded to the batch maximum, so little compute goes to padding;
- the vocabulary projection and the loss run only on target positions (``logits_to_keep`` with a boolean mask):
  the prompt (question + noisy response) is most of a CFT example, and its 49k-wide fp32 logits were most of
  the memory traffic of a CPU step.

Modules: ``config`` (TrainConfig), ``presets`` (cpu-quick, gpu; the demo cap), ``examples`` (samples -> tokenized
examples), ``ablations`` (what a CFT target is made of: teacher or corrected critique, stripped, verdict-only, a
wrong share), ``collator``, ``trainer`` (TargetOnlyTrainer and its loss; imports torch), ``callbacks`` (metrics,
progress, a clean stop), ``hardware`` (threads, precision, ranks), ``job`` + ``__main__`` (one run in its
directory), ``runs`` (launch, list, stop, resume, delete runs and pairs), ``export`` (merge an adapter into its
base) and ``plots``.

This package's import loads only the config (no torch): the UI imports it. May import: the cft core and cft.data.
Imported by: cft.evaluate (checkpoints by run name only, through the workspace), cft.reproduce, the CLI, pages/.
"""

from cft.train.config import TrainConfig

__all__ = ["TrainConfig"]
