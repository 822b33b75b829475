"""Student sampling: the missing responses of a job, batched through :func:`cft.models.generate` or sent to an
OpenAI-compatible endpoint (cft.engines), written a batch at a time as ``uncritiqued`` samples (keys already in the
dataset are skipped, so a relaunch resumes)."""

from __future__ import annotations

import zlib
from typing import Callable

from cft.data.samples import Sample
from cft.generate.config import GenerateConfig
from cft.generate.counts import Counts, ProgressFn
from cft.generate.questions import Question, sample_key
from cft.prompts import eval_messages, render


def student_label(config: GenerateConfig) -> str:
    from cft.models import EMBEDDED, EMBEDDED_LABEL

    if config.student_engine == "endpoint":
        return f"{config.student_endpoint_model} (endpoint {config.student_endpoint_url})"
    label = EMBEDDED_LABEL if config.student_model == EMBEDDED else str(config.student_model)
    return label + (f" + adapter {config.student_adapter}" if config.student_adapter else "")


def sample_responses(config: GenerateConfig, store, questions: list[Question], counts: Counts,
                     progress: ProgressFn | None = None, stop: Callable[[], bool] | None = None,
                     max_new_samples: int | None = None) -> int:
    """Generate the missing responses; returns how many new samples were written."""
    from cft import engines, models

    existing = store.keys(config.dataset)
    todo = [(q, k) for q in questions for k in range(config.samples_per_question)
            if sample_key(q, k) not in existing]
    counts.generated = counts.total - len(todo)
    if max_new_samples is not None:
        todo = todo[: max(0, int(max_new_samples))]
    if not todo:
        return 0
    endpoint = config.student_engine == "endpoint"
    counts.phase = "connecting to the student endpoint" if endpoint else "loading student model"
    if progress:
        progress(counts)
    if not endpoint:
        model, tokenizer = models.load_model(config.student_model, adapter=config.student_adapter)
    label = student_label(config)
    counts.phase = "sampling responses"
    written = 0
    chunk = max(1, int(config.batch_size))
    for start in range(0, len(todo), chunk):
        if stop and stop():
            break
        part = todo[start:start + chunk]
        # A seed per batch derived from its first key: a relaunch that regenerates this batch gets the same text.
        batch_seed = (zlib.crc32(sample_key(*part[0]).encode()) ^ int(config.seed)) & 0x7FFFFFFF
        # The student is asked exactly as it is at evaluation time (by default the paper's "reason step by step ...
        # \boxed{}" system prompt; config.prompt_policy): the responses are then the model's real test-time
        # mistakes, with a final answer that the verifier (and a human) can compare with the reference.
        conversations = [eval_messages(q.question, config.prompt_policy) for q, _ in part]
        if endpoint:
            # One seed per sample: a server seeds each request alone, and k samples of one question must differ.
            seeds = [(zlib.crc32(sample_key(q, k).encode()) ^ int(config.seed)) & 0x7FFFFFFF for q, k in part]
            before = counts.generated

            def answered(_i: int) -> None:  # the answers arrive one by one: the bar moves with each
                counts.generated += 1
                if progress:
                    progress(counts)

            try:
                texts = engines.endpoint_generate(
                    config.student_endpoint_url, config.student_endpoint_model, conversations,
                    max_new_tokens=int(config.max_new_tokens), temperature=float(config.temperature),
                    top_p=float(config.top_p), seeds=seeds, concurrency=chunk, extra=config.student_endpoint_extra,
                    on_item=answered)
            finally:
                counts.generated = before  # what counts is what the store holds: set below, once written
        else:
            seeds = [batch_seed] * len(part)
            texts = models.generate(model, tokenizer, [render(tokenizer, m) for m in conversations],
                                    max_new_tokens=int(config.max_new_tokens), temperature=float(config.temperature),
                                    top_p=float(config.top_p), batch_size=chunk, seed=batch_seed)
        samples = [
            Sample(
                question=q.question, response=text, dataset=config.dataset, key=sample_key(q, k),
                reference_answer=q.answer, reference_solution=q.solution, source=q.source, student_model=label,
                status="uncritiqued",
                meta={"question_id": q.id, "sample_index": k, "temperature": config.temperature,
                      "top_p": config.top_p, "max_new_tokens": config.max_new_tokens, "seed": seed},
            )
            for (q, k), text, seed in zip(part, texts, seeds)
        ]
        new_ids = store.add_samples(config.dataset, samples, on_conflict="ignore")
        written += len(new_ids)
        counts.generated += len(new_ids)
        if progress:
            progress(counts)
    return written
