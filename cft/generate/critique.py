"""Critiques: each ``uncritiqued`` sample of a job gets one from the verifier or an OpenAI-compatible teacher, saved
with a compare-and-set update (a human's edit made meanwhile is never overwritten) and status ``pending``.

A sample whose request the teacher refuses (a 400 for an over-long prompt) is recorded as failed in its
``meta["teacher_error"]`` (the reason, redacted, and when), skipped by later runs of the job, and retried only when
asked (``retry_failed``); a later critique clears the record."""

from __future__ import annotations

import time
from typing import Callable

from cft.data.flags import compute_flags
from cft.redact import redact
from cft.data.samples import Sample
from cft.data.store import ConflictError
from cft.generate.config import GenerateConfig
from cft.generate.counts import Counts, ProgressFn

TEACHER_ERROR = "teacher_error"  # the sample's meta key for a refusal: {reason, at, teacher}


def save_critique(store, sample: Sample, text: str, teacher: str, extra_flags: dict | None = None,
                  meta: dict | None = None) -> Sample:
    """Write a teacher critique as the sample's critique and original_critique (compare-and-set)."""
    draft = Sample.from_dict(sample.to_dict())
    draft.critique = text
    draft.flags = dict(draft.flags)
    draft = compute_flags(draft)
    draft.flags.update(extra_flags or {})
    changes = {"critique": text, "original_critique": text, "teacher": teacher, "status": "pending",
               "verdict": draft.verdict, "flags": draft.flags}
    if meta or TEACHER_ERROR in sample.meta:
        changes["meta"] = {k: v for k, v in {**sample.meta, **(meta or {})}.items() if k != TEACHER_ERROR}
    return store.update(sample.id, changes, expected_revision=sample.revision, annotator=f"teacher:{teacher}")


def pending_critiques(store, config: GenerateConfig, keys: set[str], *, retry_failed: bool = False) -> list[Sample]:
    """This job's samples still waiting for a critique (resume: the critiqued ones are skipped, and so are the ones
    the teacher refused unless ``retry_failed``)."""
    return [s for s in store.iter_samples(config.dataset, status="uncritiqued")
            if s.key in keys and not (s.critique or "").strip() and (retry_failed or TEACHER_ERROR not in s.meta)]


def count_done(store, config: GenerateConfig, keys: set[str], counts: Counts) -> None:
    generated = critiqued = refused = 0
    for s in store.iter_samples(config.dataset):
        if s.key in keys:
            generated += 1
            critiqued += s.status != "uncritiqued"
            refused += s.status == "uncritiqued" and TEACHER_ERROR in s.meta
    counts.generated, counts.critiqued, counts.failed_samples = generated, critiqued, refused


def record_refusal(store, sample: Sample, error, teacher: str) -> None:
    """Keep why the teacher refused ``sample`` in its meta (compare-and-set: a human's edit meanwhile wins)."""
    reason = {"reason": redact(str(error))[:500], "at": time.time(), "teacher": teacher}
    try:
        store.update(sample.id, {"meta": {**sample.meta, TEACHER_ERROR: reason}}, expected_revision=sample.revision,
                     annotator=f"teacher:{teacher}")
    except ConflictError:
        pass


def critique_with_verifier(config: GenerateConfig, store, todo: list[Sample], counts: Counts,
                           progress: ProgressFn | None = None, stop: Callable[[], bool] | None = None) -> None:
    from cft.generate.verifier import TEACHER_NAME, critique

    last_report = 0.0
    for sample in todo:
        if stop and stop():
            break
        result = critique(sample.question, sample.response, sample.reference_answer)
        extra = {} if result.reference_known else {
            "no_reference": "no reference answer: the verifier judged the calculations only"}
        try:
            save_critique(store, sample, result.critique, TEACHER_NAME, extra)
            counts.critiqued += 1
        except ConflictError as exc:  # a human edited it meanwhile: their edit wins
            counts.conflicts += 1
            counts.errors.append(str(exc))
        if progress and time.time() - last_report > 0.5:
            last_report = time.time()
            progress(counts)


def critique_with_openai(config: GenerateConfig, store, todo: list[Sample], counts: Counts, *,
                         api_key: str | None = None, progress: ProgressFn | None = None,
                         stop: Callable[[], bool] | None = None) -> None:
    from cft.generate.teacher import OpenAITeacher, run_sync

    teacher = OpenAITeacher(
        config.base_url, config.model, api_key=api_key, temperature=config.teacher_temperature,
        top_p=config.teacher_top_p, max_tokens=config.teacher_max_tokens, timeout=config.timeout,
        max_retries=config.max_retries, backoff=config.retry_backoff, concurrency=config.concurrency,
        prices=config.prices,
    )
    base_in, base_out, base_cost = counts.tokens_in, counts.tokens_out, counts.cost

    def on_result(sample: Sample, reply, error) -> None:
        if error is not None and error.per_sample:
            record_refusal(store, sample, error, config.model)
            counts.failed_samples += 1
            counts.errors.append(f"{sample.key}: {error}")
            print(f"critique refused for {sample.key}, recorded and skipped: {error}", flush=True)
        elif error is not None:
            counts.failed += 1
            counts.errors.append(f"{sample.key}: {error}")
            print(f"critique failed for {sample.key}: {error}", flush=True)
        else:
            extra = {"teacher_truncated": "the teacher hit its max_tokens limit"} if reply.finish_reason == "length" else {}
            try:
                save_critique(store, sample, reply.text, config.model, extra,
                              meta={"teacher_tokens_in": reply.tokens_in, "teacher_tokens_out": reply.tokens_out})
                counts.critiqued += 1
            except ConflictError as exc:
                counts.conflicts += 1
                counts.errors.append(str(exc))
        usage = teacher.usage
        counts.tokens_in, counts.tokens_out = base_in + usage.tokens_in, base_out + usage.tokens_out
        counts.cost = base_cost + usage.cost
        if progress:
            progress(counts)

    async def go():
        try:
            await teacher.critique_many([(s, s.question, s.response) for s in todo], on_result, stop=stop)
        finally:
            await teacher.aclose()

    run_sync(go())
