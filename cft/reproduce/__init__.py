"""``python -m cft reproduce``: the paper's comparison, CFT against SFT on the same questions, end to end.

Stages (each timed, each resumable because every stage writes through the store, run dirs and eval dirs):
1. questions from a training split; 2. noisy student responses; 3. teacher critiques; 4. a LoRA CFT run and its
paired LoRA SFT run (same questions, same steps); 5. base/SFT/CFT evaluated on GSM8K and MATH-500 subsets;
6. each model as a critic on held-out solutions; then ``reports/<name>/report.md`` with plots.

The report states what happened, including when CFT does not beat SFT at this scale.

Modules: ``config`` (ReproduceConfig), ``presets`` (cpu-smoke, gpu-small, paper), ``stages`` (each stage, timed, and
:func:`reproduce`, the whole loop) and ``report`` (report.md, its tables, plots and honest verdict). The command
line (``python -m cft reproduce``) is ``cft/commands/reproduce.py``.

May import: the cft core, cft.data, cft.generate, cft.train and cft.evaluate. Imported by: the CLI.
"""

from cft.reproduce.config import ReproduceConfig
from cft.reproduce.presets import PRESETS, preset_config
from cft.reproduce.report import verdict_sentence
from cft.reproduce.stages import reproduce

__all__ = ["PRESETS", "ReproduceConfig", "preset_config", "reproduce", "verdict_sentence"]
