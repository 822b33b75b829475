"""``python -m cft reproduce``: the paper's comparison, CFT against SFT on the same questions, end to end.

Stages (each timed, each reused only when its fingerprint matches): 1-3. questions, noisy student responses,
teacher critiques; 4. every mode (CFT, SFT, SFT-verified) trained on them for every seed, with equal steps;
5. optionally each run's checkpoint picked on a validation set disjoint from what is reported; 6. the base model and
every run evaluated; 7. each model as a critic; then ``reports/<name>/report.md``.

The report's verdicts follow paired statistics (exact McNemar, or a sign-flip permutation test over seeds, and a
paired bootstrap interval): no winner unless the interval excludes zero.

Modules: ``config`` (ReproduceConfig), ``presets`` (cpu-smoke, cpu, gpu-small, paper, paper-lora), ``stages`` (each
stage, the fingerprint decisions, and :func:`reproduce`, the whole loop), ``tables`` (the report's tables and
verdicts) and ``report`` (report.md and its plot), and ``ablation`` (critique-content
ablations: two CFT runs differing only in their targets, then their paired report). The command line is ``cft/commands/reproduce.py``.

May import: the cft core, cft.data, cft.generate, cft.train and cft.evaluate. Imported by: the CLI, and the Train tab (ablation only).
"""

from cft.reproduce.config import ReproduceConfig
from cft.reproduce.presets import PRESETS, preset_config
from cft.reproduce.stages import reproduce

__all__ = ["PRESETS", "ReproduceConfig", "preset_config", "reproduce"]
