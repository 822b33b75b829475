"""Evaluation: a model (base, or base + a run's adapter) on a benchmark, in the paper's setting.

The paper's setting is zero-shot, greedy, its system prompt ("Please reason step by step, and put your final
answer within \\boxed{}."), max_new_tokens 1024. Generation is batched with left padding (cft.models.generate);
grading is cft.grading (math-verify in a process pool with a per-item timeout).

An eval directory ``evals/<name>/`` is also a job directory (cft.jobs): ``config.json`` (the EvalConfig),
``status.json``, ``progress.json``, ``train.log``, plus

- ``results.jsonl``: one line per problem, appended batch by batch as the eval goes, so a killed eval loses at
  most one batch. Resuming skips every id already in it, so a problem is never generated twice.
- ``summary.json``: accuracy with a 95% Wilson interval, counts, time, model, adapter, benchmark.

Run in the background with :func:`launch` (``python -m cft.evaluate --config evals/<name>/config.json``) or in
the foreground with :func:`run_eval` (the CLI wraps it in a tqdm bar).

Modules: ``config`` (EvalConfig, SelectConfig, eval dirs, adapters by run name), ``runner`` (run_eval), ``results``
(results.jsonl, summaries, diffs), ``stats`` (Wilson intervals, critic metrics), ``critic`` (critic mode),
``selection`` (the best checkpoint of a run), ``arena`` (answers streamed side by side), ``problems`` (picking a
problem), ``votes``, and ``job`` + ``__main__`` (``python -m cft.evaluate``, dispatching on the config's kind).

May import: the cft core and cft.data. Imported by: cft.reproduce, the CLI and pages/.
"""

from cft.evaluate.config import EvalConfig

__all__ = ["EvalConfig"]
