"""Running an eval: a model (base, or base + a run's adapter) on a benchmark, in the paper's setting.

The paper's setting is zero-shot, greedy, its system prompt ("Please reason step by step, and put your final
answer within \\boxed{}."), max_new_tokens 1024. Generation is batched with left padding (cft.models.generate);
grading is cft.grading (math-verify in a process pool with a per-item timeout). With ``engine: endpoint`` the same
messages go to an OpenAI-compatible server instead (cft.engines), and the rows and summary are the same.

An eval directory ``evals/<name>/`` is also a job directory (cft.jobs): ``config.json`` (the EvalConfig),
``status.json``, ``progress.json``, ``train.log``, plus

- ``results.jsonl``: one line per problem, appended batch by batch as the eval goes, so a killed eval loses at
  most one batch. Resuming skips every id already in it, so a problem is never generated twice.
- ``summary.json``: accuracy with a 95% Wilson interval, counts, time, model, adapter, benchmark.

Run in the background with :func:`cft.evaluate.job.launch` (``python -m cft.evaluate --config evals/<name>/config.json``) or in
the foreground with :func:`run_eval` (the CLI wraps it in a tqdm bar).
"""

from __future__ import annotations

import time
import zlib
from typing import Callable

from cft import jobs
from cft.errors import UserError
from cft.evaluate.config import KIND, EvalConfig, eval_dir, identity_fields, resolve_adapter
from cft.fingerprint import Fingerprint, config_defaults, digest, model_identity
from cft.evaluate.results import append_rows, read_results, read_summary, summarize


def fingerprint(config: EvalConfig) -> Fingerprint:
    """What an eval measures: its identity fields, the content of its items, the model's weights and revision.

    The grader is recorded too, but apart (``grader``): results graded by an older grader are re-graded
    (:mod:`cft.evaluate.regrade`), not generated again."""
    from cft.grading import GRADER_VERSION

    fields = identity_fields(config)
    parts: dict = {"config": {k: getattr(config, k) for k in fields}, "grader": GRADER_VERSION,
                   **model_identity(config.model, resolve_adapter(config.adapter))}
    if config.kind == KIND:
        from cft.data.benchmarks import load_benchmark

        parts["items"] = digest([(p.id, p.question, p.answer) for p in
                                 load_benchmark(config.benchmark, limit=config.limit, seed=config.seed)])
    extra = getattr(config, "fingerprint_extra", None)  # what another kind of eval measures besides (its items...)
    if extra is not None:
        parts.update(extra())
    return Fingerprint(parts, defaults={"config": config_defaults(type(config))})


def prepare_dir(config: EvalConfig, *, force: bool = False) -> jobs.JobDir:
    """Create or re-open the eval dir. Results are resumed only when they measured the same thing: an eval whose
    fingerprint differs (other settings, other items, retrained weights) is refused, naming what changed, unless
    ``force``, which starts it afresh. A different grader alone is no reason to regenerate: regrade instead."""
    job = jobs.JobDir(eval_dir(config.name))
    now = fingerprint(config)
    if job.config() or (job.path / "results.jsonl").exists():
        old = Fingerprint.read(job.path)
        if old is None:  # an eval from before fingerprints: its identity fields are all there is to compare
            existing = job.config()
            old = Fingerprint({**now.parts, "config": {k: existing.get(k, getattr(type(config), k, None))
                                                       for k in identity_fields(config)}})
        changes = [c for c in now.changes(old) if not c.startswith("grader:")]
        if changes and not force:
            raise UserError(f"eval {config.name!r} already exists and measured something else ("
                            f"{'; '.join(changes)}); choose another --name, or --force to redo it")
        if changes:
            for stale in ("results.jsonl", "summary.json", "progress.json"):
                (job.path / stale).unlink(missing_ok=True)
    job.write_config(config.to_dict())
    now.write(job.path)
    return job


def load(config: EvalConfig):
    """(model, tokenizer) of the config: the model, with the adapter on its base when there is one."""
    from cft.models import load_model

    adapter = resolve_adapter(config.adapter)
    return load_model(config.model, adapter=adapter) if adapter else load_model(config.model or "embedded")


def batch_generator(config: EvalConfig, model_and_tokenizer=None):
    """``generate(conversations, on_item=None) -> (texts, output token counts)`` for the config's engine:
    in-process (the model loaded once, here; its tokenizer counts the answers' tokens) or an OpenAI-compatible
    endpoint sent the same messages with the same decoding (cft.engines; the server's own count of the tokens it
    generated). An endpoint calls ``on_item(i)`` as each answer arrives; in-process answers come as one batch.
    ``seeds`` (one per conversation) replace the config's seed: sampled draws of one prompt must not share one."""
    from cft import engines

    temperature = 0.0 if config.greedy else config.temperature
    if config.engine == "endpoint":
        def remote(conversations, on_item=None, seeds=None):
            counts: list = []
            texts = engines.endpoint_generate(
                config.endpoint_url, config.endpoint_model, conversations, max_new_tokens=config.max_new_tokens,
                temperature=temperature, top_p=config.top_p, seeds=seeds or [config.seed] * len(conversations),
                concurrency=config.batch_size, extra=config.endpoint_extra, token_counts=counts, on_item=on_item)
            return texts, counts

        return remote
    model, tokenizer = model_and_tokenizer or load(config)

    def local(conversations, on_item=None, seeds=None):  # one seeded stream per batch: the batch's from its seeds
        seed = config.seed if not seeds else zlib.crc32(",".join(map(str, seeds)).encode()) % 2**31
        texts = engines.local_generate(model, tokenizer, conversations, max_new_tokens=config.max_new_tokens,
                                       temperature=temperature, top_p=config.top_p, batch_size=config.batch_size,
                                       seed=seed)
        return texts, [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]

    return local


def run_items(config: EvalConfig, items_of: Callable[[], list], messages_of: Callable, rows_of: Callable, *,
              progress: Callable[[int, int, int], None] | None = None, stop_after: int | None = None,
              model_and_tokenizer=None, force: bool = False,
              generate: Callable | None = None) -> tuple[dict, list[dict]]:
    """The resumable loop every kind of eval shares; returns the summary (not yet written) and every result row.

    ``items_of()`` lists the items (each with an ``id``), ``messages_of(item)`` is its chat messages, and
    ``rows_of(batch, outputs)`` grades a batch into result rows (each with ``correct``). Items already in
    results.jsonl are skipped; each batch is appended before the next starts (resume granularity).
    ``progress(done, total, correct)`` is called after each batch, and with an endpoint also as each answer arrives
    (``done`` then counts the answers of the batch in flight, ``correct`` only graded ones); ``stop_after`` stops
    after that many new items.
    ``generate(conversations) -> (texts, token counts)`` replaces the config's model (a critic that is not a
    language model, such as the verifier, answers the same items through it).
    """
    job = prepare_dir(config, force=force)
    results_path = job.path / "results.jsonl"
    started = time.time()
    items = items_of()
    wanted = {str(item.id) for item in items}
    done_rows = [r for r in read_results(results_path) if str(r.get("id")) in wanted]
    done_ids = {str(r["id"]) for r in done_rows}
    todo = [item for item in items if str(item.id) not in done_ids]
    if stop_after is not None:
        todo = todo[: max(0, stop_after)]
    total, done = len(items), len(done_rows)
    correct = sum(1 for r in done_rows if r.get("correct"))
    previous_seconds = float((read_summary(config.name) or {}).get("seconds", 0.0))

    def report(answered: int = 0) -> None:
        job.write_progress(done + answered, total, correct=correct)
        if progress is not None:
            progress(done + answered, total, correct)

    report()
    if todo:
        generate = generate or batch_generator(config, model_and_tokenizer)
        chunk = max(1, config.batch_size)
        for start in range(0, len(todo), chunk):
            batch = todo[start:start + chunk]
            arrived = []

            def answered(_i: int) -> None:  # an endpoint's answers arrive one by one: the bar moves with each
                arrived.append(_i)
                report(len(arrived))

            outputs, token_counts = generate([messages_of(item) for item in batch], on_item=answered)
            rows = rows_of(batch, outputs)
            for row, count in zip(rows, token_counts):  # the answer's length, a side effect every summary reports
                if isinstance(count, int):
                    row["output_tokens"] = count
            append_rows(results_path, rows)
            done += len(rows)
            correct += sum(r["correct"] for r in rows)
            report()
    rows = [r for r in read_results(results_path) if str(r.get("id")) in wanted]
    seconds = previous_seconds + (time.time() - started)
    return summarize(rows, total=total, seconds=seconds, config=config), rows


def write_summary(config: EvalConfig, summary: dict) -> dict:
    jobs.write_json_atomic(eval_dir(config.name) / "summary.json", summary)
    return summary


def run_eval(config: EvalConfig, *, progress: Callable[[int, int, int], None] | None = None,
             stop_after: int | None = None, model_and_tokenizer=None, force: bool = False) -> dict:
    """Evaluate (or resume) ``config``; returns the summary, also written to summary.json.

    ``progress(done, total, correct)`` is called after each batch. ``stop_after`` stops after that many new
    problems (an interruption on purpose: the tests and the checkpoint sweep use it). ``model_and_tokenizer``
    lets a caller that already holds the model skip loading it again.
    """
    from cft.data.benchmarks import load_benchmark
    from cft.grading import grade_many
    from cft.prompts import eval_messages

    def problems() -> list:
        found = load_benchmark(config.benchmark, limit=config.limit, seed=config.seed)
        if not found:
            raise UserError(f"benchmark {config.benchmark!r} has no problems")
        return found

    def graded(batch, outputs) -> list[dict]:
        grades = grade_many([(str(p.answer), out) for p, out in zip(batch, outputs)], timeout=config.grading_timeout)
        return [{"id": p.id, "question": p.question, "reference": p.answer, "output": out, "extracted": g.extracted,
                 "correct": bool(g.correct), "timed_out": bool(g.timed_out)} for p, out, g in zip(batch, outputs, grades)]

    summary, _ = run_items(config, problems, lambda p: eval_messages(p.question, config.prompt_policy), graded,
                           progress=progress, stop_after=stop_after, model_and_tokenizer=model_and_tokenizer,
                           force=force)
    return write_summary(config, summary)
