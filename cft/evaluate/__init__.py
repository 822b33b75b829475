"""Evaluation: models (base, or base + a run's adapter) on math benchmarks in the paper's setting (zero-shot, greedy,
its system prompt), as critics, and side by side; with intervals, diffs and the best checkpoint of a run.

An eval directory ``evals/<name>/`` is a job directory (cft.jobs) plus ``results.jsonl`` (one line per problem,
appended as the eval goes, so it resumes) and ``summary.json``.

Modules: ``config`` (EvalConfig, SelectConfig, eval dirs, adapters by run name), ``runner`` (run_eval), ``results``
(results.jsonl, summaries, diffs), ``stats`` (Wilson intervals, critic metrics), ``critic`` (critic mode),
``selection`` (the best checkpoint of a run), ``arena`` (answers streamed side by side), ``problems`` (picking a
problem), ``votes``, and ``job`` + ``__main__`` (``python -m cft.evaluate``, dispatching on the config's kind).

May import: the cft core and cft.data. Imported by: cft.reproduce, the CLI and pages/.
"""

from cft.evaluate.config import EvalConfig

__all__ = ["EvalConfig"]
