"""Make critique data: noisy responses from a student model, then a teacher's critique of each one.

The paper built its data in two steps (questions + noisy solutions, then a GPT-4o critique of each) and showed
that responses sampled from the student itself work almost as well. A generation job does both:

1. **Student sampling.** ``samples_per_question`` responses per question, batched through
   :func:`cft.models.generate` (left padding, KV cache). Each becomes a sample keyed
   ``<source>/<question id>#<k>`` with status ``uncritiqued``, written a batch at a time with
   ``on_conflict="ignore"``; keys already in the dataset are skipped, so a job that was interrupted and is
   started again continues where it stopped, without duplicates.
2. **Critique.** Every ``uncritiqued`` sample of the job gets a critique from the offline verifier critic
   (:mod:`cft.generate.verifier`) or an OpenAI-compatible endpoint (:mod:`cft.generate.teacher`), saved with a compare-and-set
   update (so a human's edit made meanwhile is never overwritten) and status ``pending`` for review.

A job runs in the background as ``python -m cft.generate --config jobs/<id>/config.json`` and reports through
its job directory (:mod:`cft.jobs`): status.json, progress.json, train.log. The API key reaches it only through
the environment (``OPENAI_API_KEY``); it is never a config field.

Modules: ``config`` (GenerateConfig), ``questions`` (where the questions come from, sample keys), ``student``
(sampling), ``critique`` (saving a teacher's critique, the verifier and OpenAI-compatible paths), ``teacher`` (the
OpenAI-compatible client with retries), ``verifier`` (the offline critic), ``pricing`` (price tables, token cost),
``counts`` (a job's progress counters), ``job`` (run, launch, stop, resume, list jobs) and ``__main__``.

May import: the cft core and cft.data. Imported by: cft.reproduce, the CLI and pages/.
"""

from cft.generate.config import GenerateConfig

__all__ = ["GenerateConfig"]
