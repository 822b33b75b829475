"""Make critique data: noisy responses from a student model, then a teacher's critique of each one.

The paper built its data in two steps (questions + noisy solutions, then a GPT-4o critique of each) and showed
that responses sampled from the student itself work almost as well. A generation job does both:

1. **Student sampling.** ``samples_per_question`` responses per question, batched through
   :func:`cft.models.generate` (left padding, KV cache). Each becomes a sample keyed
   ``<source>/<question id>#<k>`` with status ``uncritiqued``, written a batch at a time with
   ``on_conflict="ignore"``; keys already in the dataset are skipped, so a job that was interrupted and is
   started again continues where it stopped, without duplicates.
2. **Critique.** Every ``uncritiqued`` sample of the job gets a critique from the offline verifier critic
   (:mod:`cft.verifier`) or an OpenAI-compatible endpoint (:mod:`cft.teacher`), saved with a compare-and-set
   update (so a human's edit made meanwhile is never overwritten) and status ``pending`` for review.

A job runs in the background as ``python -m cft.generate --config jobs/<id>/config.json`` and reports through
its job directory (:mod:`cft.jobs`): status.json, progress.json, train.log. The API key reaches it only through
the environment (``OPENAI_API_KEY``); it is never a config field.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import time
import traceback
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from cft import jobs, workspace
from cft.config import JobConfig
from cft.errors import UserError
from cft.prompts import TEACHER_TEMPERATURE, TEACHER_TOP_P, eval_messages, render
from cft.data.samples import Sample, with_parsed_verdict

TEACHERS = ("verifier", "openai")
JOB_PREFIX = "generate-"
DATASET_SOURCE_PREFIX = "dataset:"


@dataclass
class GenerateConfig(JobConfig):
    """Everything a generation job needs; serialized as the job's config.json (never holds an API key)."""

    what = "generate config"

    # questions
    source: str = "gsm8k_train"  # a benchmark name, "dataset:<name>", or a path to a .jsonl file
    n_questions: int = 20
    seed: int = 0
    # student
    student_model: str = "embedded"  # "embedded" | a local model dir | a Hub id (online only)
    student_adapter: str | None = None  # a PEFT adapter dir trained by this app
    samples_per_question: int = 2
    temperature: float = 0.7  # > 0: the point is varied, often wrong, responses
    top_p: float = 0.95
    max_new_tokens: int = 512
    batch_size: int = 16
    # where the samples go
    dataset: str = "generated"
    # teacher
    teacher: str = "verifier"  # "verifier" | "openai"
    base_url: str = ""
    model: str = ""
    teacher_temperature: float = TEACHER_TEMPERATURE
    teacher_top_p: float = TEACHER_TOP_P
    teacher_max_tokens: int = 1024
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 5
    retry_backoff: float = 1.0  # seconds; doubled on each retry, with jitter
    prices: dict | None = None  # {model: {"input": USD/1M, "output": USD/1M}}; None: the saved table

    def validate(self) -> "GenerateConfig":
        def need(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise UserError(f"generate config field {name!r}: expected {expected}, got {getattr(self, name)!r}")

        need(bool(str(self.source).strip()), "source", "a benchmark name, dataset:<name> or a .jsonl path")
        need(int(self.n_questions) >= 1, "n_questions", "at least 1")
        need(int(self.samples_per_question) >= 1, "samples_per_question", "at least 1")
        need(float(self.temperature) >= 0, "temperature", "a number >= 0")
        need(0 < float(self.top_p) <= 1, "top_p", "a number in (0, 1]")
        need(int(self.max_new_tokens) >= 1, "max_new_tokens", "at least 1")
        need(int(self.batch_size) >= 1, "batch_size", "at least 1")
        need(bool(str(self.dataset).strip()), "dataset", "a dataset name")
        need(self.teacher in TEACHERS, "teacher", f"one of {TEACHERS}")
        if self.teacher == "openai":
            need(bool(self.base_url), "base_url", "an OpenAI-compatible endpoint URL (e.g. http://127.0.0.1:8080/v1)")
            need(bool(self.model), "model", "the teacher model name")
            need(int(self.concurrency) >= 1, "concurrency", "at least 1")
            need(float(self.timeout) > 0, "timeout", "seconds > 0")
            need(int(self.max_retries) >= 0, "max_retries", "0 or more")
        if self.prices is not None:
            from cft.pricing import validate_prices

            self.prices = validate_prices(self.prices)
        return self


@dataclass
class Question:
    id: str
    question: str
    answer: str | None
    solution: str | None
    source: str  # the tag used in sample keys and the sample's ``source`` field


# ------------------------------------------------------------------------------------------------ questions


def load_questions(config: GenerateConfig, store=None) -> list[Question]:
    """The job's questions, the same ones every time for the same config (so a relaunch resumes)."""
    source = str(config.source).strip()
    if source.startswith(DATASET_SOURCE_PREFIX):
        return _dataset_questions(source[len(DATASET_SOURCE_PREFIX):], config, store)
    from cft.data import benchmarks

    problems = benchmarks.load_benchmark(source, limit=int(config.n_questions), seed=int(config.seed))
    tag = Path(source).stem if source.endswith((".jsonl", ".json")) else source
    out = []
    for p in problems:
        qid = str(p.id)
        if qid.startswith(f"{p.benchmark or tag}/"):  # registry ids are "<benchmark>/<n>": the key adds the source
            qid = qid.split("/", 1)[1]
        out.append(Question(qid, p.question, None if p.answer is None else str(p.answer), p.solution, tag))
    return out


def _dataset_questions(name: str, config: GenerateConfig, store) -> list[Question]:
    """Distinct questions of an existing dataset (first occurrence order), with their reference answers."""
    from cft.data.store import Store

    store = store or Store()
    if name not in {d["name"] for d in store.datasets()}:
        raise UserError(f"source {DATASET_SOURCE_PREFIX}{name}: no dataset named {name!r}")
    seen: dict[str, Question] = {}
    for s in store.iter_samples(name):
        if s.question in seen:
            if seen[s.question].answer is None and s.reference_answer:
                seen[s.question].answer = s.reference_answer
            continue
        # A content hash is the question's id: stable across relaunches and independent of row ids.
        qid = hashlib.sha1(s.question.encode()).hexdigest()[:12]
        seen[s.question] = Question(qid, s.question, s.reference_answer, s.reference_solution, f"dataset:{name}")
    questions = list(seen.values())
    if not questions:
        raise UserError(f"source {DATASET_SOURCE_PREFIX}{name}: the dataset has no samples")
    if len(questions) > config.n_questions:
        import random

        questions = random.Random(config.seed).sample(questions, int(config.n_questions))
    return questions


def sample_key(question: Question, k: int) -> str:
    return f"{question.source}/{question.id}#{k}"


def job_keys(questions: list[Question], samples_per_question: int) -> list[str]:
    return [sample_key(q, k) for q in questions for k in range(samples_per_question)]


# ------------------------------------------------------------------------------------------------ progress


@dataclass
class Counts:
    total: int = 0  # samples this job should end with
    generated: int = 0
    critiqued: int = 0
    failed: int = 0
    conflicts: int = 0
    phase: str = "starting"
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """For progress.json/status.json, whose ``total`` is the step count: the sample count is ``samples``."""
        out = asdict(self)
        out["samples"] = out.pop("total")
        out["errors"] = self.errors[-5:]
        return out


ProgressFn = Callable[[Counts], None]


def _student_label(config: GenerateConfig) -> str:
    from cft.models import EMBEDDED, EMBEDDED_LABEL

    label = EMBEDDED_LABEL if config.student_model == EMBEDDED else str(config.student_model)
    return label + (f" + adapter {config.student_adapter}" if config.student_adapter else "")


# ------------------------------------------------------------------------------------------------ student


def sample_responses(config: GenerateConfig, store, questions: list[Question], counts: Counts,
                     progress: ProgressFn | None = None, stop: Callable[[], bool] | None = None,
                     max_new_samples: int | None = None) -> int:
    """Generate the missing responses; returns how many new samples were written."""
    from cft import models

    existing = store.keys(config.dataset)
    todo = [(q, k) for q in questions for k in range(config.samples_per_question)
            if sample_key(q, k) not in existing]
    counts.generated = counts.total - len(todo)
    if max_new_samples is not None:
        todo = todo[: max(0, int(max_new_samples))]
    if not todo:
        return 0
    counts.phase = "loading student model"
    if progress:
        progress(counts)
    model, tokenizer = models.load_model(config.student_model, adapter=config.student_adapter)
    label = _student_label(config)
    # The student is asked exactly as it is at evaluation time (the paper's "reason step by step ... \boxed{}"
    # system prompt): the responses are then the model's real test-time mistakes, and each ends in an
    # extractable \boxed{} answer that the verifier (and a human) can compare with the reference.
    prompts = {q.id: render(tokenizer, eval_messages(q.question)) for q, _ in todo}
    counts.phase = "sampling responses"
    written = 0
    chunk = max(1, int(config.batch_size))
    for start in range(0, len(todo), chunk):
        if stop and stop():
            break
        part = todo[start:start + chunk]
        # A seed per batch derived from its first key: a relaunch that regenerates this batch gets the same text.
        batch_seed = (zlib.crc32(sample_key(*part[0]).encode()) ^ int(config.seed)) & 0x7FFFFFFF
        texts = models.generate(model, tokenizer, [prompts[q.id] for q, _ in part],
                                max_new_tokens=int(config.max_new_tokens), temperature=float(config.temperature),
                                top_p=float(config.top_p), batch_size=chunk, seed=batch_seed)
        samples = [
            Sample(
                question=q.question, response=text, dataset=config.dataset, key=sample_key(q, k),
                reference_answer=q.answer, reference_solution=q.solution, source=q.source, student_model=label,
                status="uncritiqued",
                meta={"question_id": q.id, "sample_index": k, "temperature": config.temperature,
                      "top_p": config.top_p, "max_new_tokens": config.max_new_tokens, "seed": batch_seed},
            )
            for (q, k), text in zip(part, texts)
        ]
        new_ids = store.add_samples(config.dataset, samples, on_conflict="ignore")
        written += len(new_ids)
        counts.generated += len(new_ids)
        if progress:
            progress(counts)
    return written


# ------------------------------------------------------------------------------------------------ critique


def _apply_flags(sample: Sample) -> Sample:
    try:
        from cft.data.flags import compute_flags
    except ImportError:  # the Data tab's flag module is optional: the verdict/no-conclusion flag still holds
        return with_parsed_verdict(sample)
    result = compute_flags(sample)
    return result if isinstance(result, Sample) else sample


def save_critique(store, sample: Sample, text: str, teacher: str, extra_flags: dict | None = None,
                  meta: dict | None = None) -> Sample:
    """Write a teacher critique as the sample's critique and original_critique (compare-and-set)."""
    draft = Sample.from_dict(sample.to_dict())
    draft.critique = text
    draft.flags = dict(draft.flags)
    draft = _apply_flags(draft)
    draft.flags.update(extra_flags or {})
    changes = {"critique": text, "original_critique": text, "teacher": teacher, "status": "pending",
               "verdict": draft.verdict, "flags": draft.flags}
    if meta:
        changes["meta"] = {**sample.meta, **meta}
    return store.update(sample.id, changes, expected_revision=sample.revision, annotator=f"teacher:{teacher}")


def pending_critiques(store, config: GenerateConfig, keys: set[str]) -> list[Sample]:
    """This job's samples still waiting for a critique (resume: the critiqued ones are skipped)."""
    return [s for s in store.iter_samples(config.dataset, status="uncritiqued")
            if s.key in keys and not (s.critique or "").strip()]


def _count_done(store, config: GenerateConfig, keys: set[str], counts: Counts) -> None:
    generated = critiqued = 0
    for s in store.iter_samples(config.dataset):
        if s.key in keys:
            generated += 1
            critiqued += s.status != "uncritiqued"
    counts.generated, counts.critiqued = generated, critiqued


def critique_with_verifier(config: GenerateConfig, store, todo: list[Sample], counts: Counts,
                           progress: ProgressFn | None = None, stop: Callable[[], bool] | None = None) -> None:
    from cft.data.store import ConflictError
    from cft.verifier import TEACHER_NAME, critique

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
    from cft.data.store import ConflictError
    from cft.teacher import OpenAITeacher, run_sync

    teacher = OpenAITeacher(
        config.base_url, config.model, api_key=api_key, temperature=config.teacher_temperature,
        top_p=config.teacher_top_p, max_tokens=config.teacher_max_tokens, timeout=config.timeout,
        max_retries=config.max_retries, backoff=config.retry_backoff, concurrency=config.concurrency,
        prices=config.prices,
    )
    base_in, base_out, base_cost = counts.tokens_in, counts.tokens_out, counts.cost

    def on_result(sample: Sample, reply, error) -> None:
        if error is not None:
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


# ------------------------------------------------------------------------------------------------ the job


def run_generation(config: GenerateConfig, *, api_key: str | None = None, progress: ProgressFn | None = None,
                   stop: Callable[[], bool] | None = None, max_new_samples: int | None = None,
                   store=None, counts: Counts | None = None) -> Counts:
    """Sample what is missing, then critique what is uncritiqued. Safe to call again on the same config."""
    from cft.data.store import Store

    config.validate()
    store = store or Store()
    store.create_dataset(config.dataset)
    counts = counts or Counts()
    counts.phase = "loading questions"
    questions = load_questions(config, store)
    keys = job_keys(questions, int(config.samples_per_question))
    counts.total = len(keys)
    sample_responses(config, store, questions, counts, progress, stop, max_new_samples)
    key_set = set(keys)
    _count_done(store, config, key_set, counts)
    if stop and stop():
        return counts
    todo = pending_critiques(store, config, key_set)
    counts.phase = f"critiquing ({config.teacher})"
    if progress:
        progress(counts)
    if todo:
        if config.teacher == "verifier":
            critique_with_verifier(config, store, todo, counts, progress, stop)
        else:
            critique_with_openai(config, store, todo, counts, api_key=api_key, progress=progress, stop=stop)
    _count_done(store, config, key_set, counts)
    counts.phase = "done"
    if progress:
        progress(counts)
    return counts


def progress_writer(job: jobs.JobDir) -> ProgressFn:
    """Write progress.json: done counts generated + critiqued against twice the samples (both phases)."""

    def write(counts: Counts) -> None:
        job.write_progress(counts.generated + counts.critiqued, 2 * counts.total, **counts.as_dict())

    return write


def run_job(job: jobs.JobDir, *, api_key: str | None = None, progress: ProgressFn | None = None,
            max_new_samples: int | None = None) -> int:
    """Run the job whose config.json is in ``job``; updates status.json; returns an exit code."""
    stopping = {"flag": False}

    def on_term(signum, frame):  # jobs.stop sends SIGTERM: finish the current batch, then stop cleanly
        stopping["flag"] = True

    if threading_is_main():
        signal.signal(signal.SIGTERM, on_term)
    write = progress_writer(job)

    def report(counts: Counts) -> None:
        write(counts)
        if progress:
            progress(counts)

    counts = Counts()
    try:
        config = GenerateConfig.from_dict(job.config())
        job.write_status("running", pid=os.getpid(), dataset=config.dataset)
        print(f"generation job {job.name}: {config.n_questions} questions from {config.source} x "
              f"{config.samples_per_question} samples, teacher {config.teacher}", flush=True)
        counts = run_generation(config, api_key=api_key, progress=report, stop=lambda: stopping["flag"],
                                max_new_samples=max_new_samples, counts=counts)
    except KeyboardInterrupt:  # Ctrl-C in the foreground CLI: record it, so the tab does not show a dead "running"
        job.write_status("stopped", **_summary(counts))
        raise
    except UserError as exc:
        print(f"error: {exc}", flush=True)
        report(counts)
        job.write_status("failed", error=str(exc), **_summary(counts))
        return 2
    except Exception as exc:  # noqa: BLE001 - the job must record why it died, whatever it was
        traceback.print_exc()
        job.write_status("failed", error=f"{type(exc).__name__}: {exc}", **_summary(counts))
        return 1
    if stopping["flag"]:
        job.write_status("stopped", **_summary(counts))
        return 130
    if counts.failed:
        job.write_status("failed", error=f"{counts.failed} critique(s) failed; relaunch to retry them: "
                                         f"{counts.errors[-1] if counts.errors else ''}", **_summary(counts))
        return 1
    job.write_status("completed", **_summary(counts))
    print(f"done: {counts.generated} generated, {counts.critiqued} critiqued", flush=True)
    return 0


def _summary(counts: Counts) -> dict:
    return {k: v for k, v in counts.as_dict().items() if k != "errors"}


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# ------------------------------------------------------------------------------------------------ jobs


def new_job(config: GenerateConfig) -> jobs.JobDir:
    config.validate()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in config.dataset)[:40]
    base = f"{JOB_PREFIX}{stamp}-{safe}"
    name, n = base, 1
    while (workspace.jobs_dir() / name).exists():
        n += 1
        name = f"{base}-{n}"
    job = jobs.JobDir(workspace.safe_child(workspace.jobs_dir(), name, "generation job"))
    job.write_config(config.to_dict())
    return job


def _spawn(job: jobs.JobDir, api_key: str | None) -> None:
    # The key travels in the child's environment only: never in argv (visible in ps, saved in status.json).
    env = {"OPENAI_API_KEY": api_key} if api_key else None
    jobs.spawn(["python", "-m", "cft.generate", "--config", str(job.config_path)], job, env=env)


def launch(config: GenerateConfig, api_key: str | None = None) -> jobs.JobDir:
    """Start a background generation job; returns its directory."""
    job = new_job(config)
    _spawn(job, api_key)
    return job


def get_job(job_id: str) -> jobs.JobDir:
    job = jobs.JobDir(workspace.safe_child(workspace.jobs_dir(), job_id, "generation job"))
    if not job.exists() or not job_id.startswith(JOB_PREFIX):
        raise UserError(f"generation job {job_id!r}: not found under {workspace.jobs_dir()}")
    return job


def relaunch(job_id: str, api_key: str | None = None) -> jobs.JobDir:
    """Start a finished, stopped or failed job again: it resumes where it stopped."""
    job = get_job(job_id)
    if job.status().get("state") in jobs.ACTIVE:
        raise UserError(f"generation job {job_id!r} is still running")
    # A fresh status and progress: the old ended_at/error and the old ETA baseline belong to the last attempt.
    for path in (job.status_path, job.progress_path):
        path.unlink(missing_ok=True)
    _spawn(job, api_key)
    return job


def list_jobs() -> list[dict]:
    """Generation jobs, newest first: [{id, state, dataset, progress, error}]."""
    out = []
    for path in sorted(workspace.jobs_dir().glob(f"{JOB_PREFIX}*"), reverse=True):
        job = jobs.JobDir(path)
        if not job.exists():
            continue
        status = job.status()
        out.append({"id": path.name, "state": status.get("state", "queued"), "dataset": job.config().get("dataset"),
                    "progress": job.progress(), "error": status.get("error"), "status": status})
    return out


def current_job() -> dict | None:
    """The job a page should show: a running one if any, else the newest."""
    all_jobs = list_jobs()
    for info in all_jobs:
        if info["state"] in jobs.ACTIVE:
            return info
    return all_jobs[0] if all_jobs else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one generation job from its config.json (a background job).")
    parser.add_argument("--config", required=True, help="jobs/<id>/config.json")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many new samples (testing)")
    args = parser.parse_args(argv)
    job = jobs.JobDir(Path(args.config).resolve().parent)
    return run_job(job, api_key=os.environ.get("OPENAI_API_KEY"), max_new_samples=args.limit)


if __name__ == "__main__":
    sys.exit(main())


# ------------------------------------------------------------------------------------------------ tab helpers
# Everything the Generate tab shows or does, as plain functions (pages/generate.py only wires widgets to them).

FORM_FIELDS = ("source", "n_questions", "seed", "student", "samples_per_question", "temperature", "top_p",
               "max_new_tokens", "batch_size", "dataset", "teacher", "base_url", "model", "teacher_temperature",
               "teacher_top_p", "concurrency", "timeout", "max_retries", "prices")
DEFAULT_SOURCES = ("gsm8k_train", "math_train")


def source_choices() -> list[str]:
    """Training splits first, then the other benchmarks, then existing datasets as ``dataset:<name>``."""
    names = list(DEFAULT_SOURCES)
    try:
        from cft.data import benchmarks

        names += [b["name"] for b in benchmarks.list_benchmarks() if b["name"] not in names]
    except Exception:  # noqa: BLE001 - the registry is optional for the form; a typed name still works
        pass
    try:
        from cft.data.store import Store

        names += [f"{DATASET_SOURCE_PREFIX}{d['name']}" for d in Store().datasets()]
    except Exception:  # noqa: BLE001 - no store yet: no dataset sources
        pass
    return names


def student_choices() -> list[str]:
    try:
        from cft.models import list_models

        return [m["label"] for m in list_models()]
    except Exception:  # noqa: BLE001 - a broken runs dir must not break the form
        from cft.models import EMBEDDED_LABEL

        return [EMBEDDED_LABEL]


def resolve_student(choice: str) -> tuple[str, str | None]:
    """A student dropdown choice as ``(model spec, adapter dir)``; a typed path or Hub id is taken as is."""
    from cft.models import EMBEDDED, list_models

    choice = (choice or "").strip() or EMBEDDED
    for m in list_models():
        if m["label"] == choice:
            return (m["spec"] or EMBEDDED), m["adapter"]
    return choice, None


def config_from_form(values: dict) -> GenerateConfig:
    values = dict(values)
    spec, adapter = resolve_student(values.pop("student", ""))
    prices = values.pop("prices", None)
    if isinstance(prices, str):
        from cft.pricing import parse_prices_text

        prices = parse_prices_text(prices)
    ints = ("n_questions", "seed", "samples_per_question", "max_new_tokens", "batch_size", "concurrency",
            "max_retries")
    for name in ints:
        if values.get(name) is not None:
            values[name] = int(values[name])
    config = GenerateConfig(**values, student_model=spec, student_adapter=adapter, prices=prices)
    return config.validate()


def launch_from_form(values: dict, api_key: str | None = None) -> str:
    job = launch(config_from_form(values), api_key or None)
    return f"Launched job `{job.name}`."


def stop_job(job_id: str | None) -> str:
    if not job_id:
        raise UserError("no job selected")
    return "Stopping…" if jobs.stop(get_job(job_id)) else f"job {job_id} is not running"


def resume_job(job_id: str | None, api_key: str | None = None) -> str:
    if not job_id:
        raise UserError("no job selected")
    relaunch(job_id, api_key or None)
    return f"Resumed job `{job_id}`: it continues where it stopped."


def connection_message(base_url: str, model: str, api_key: str | None, timeout: float = 30.0) -> str:
    from cft.teacher import test_connection

    return test_connection(base_url, model, api_key or None, timeout=float(timeout or 30.0))


def progress_html(done: int, total: int) -> str:
    pct = 100.0 * done / total if total else 0.0
    return (f'<div class="cft-progress" role="progressbar" aria-valuenow="{pct:.0f}" aria-valuemin="0" '
            f'aria-valuemax="100" style="background:#e5e7eb;border-radius:6px;height:18px;overflow:hidden">'
            f'<div style="width:{pct:.1f}%;background:#6366f1;height:100%"></div></div>'
            f'<div class="cft-progress-label">{done} / {total} steps ({pct:.0f}%)</div>')


def job_view(job_id: str | None = None) -> dict:
    """What the tab shows for a job (the current one when ``job_id`` is empty): re-read from its directory."""
    all_jobs = list_jobs()
    ids = [j["id"] for j in all_jobs]
    info = next((j for j in all_jobs if j["id"] == job_id), None) if job_id else current_job()
    if info is None:
        return {"ids": ids, "job_id": None, "state": None, "bar": progress_html(0, 0), "counts": "No generation job yet.",
                "log": "", "progress": {}}
    p = info["progress"]
    state = info["state"]
    counts = (f"**{info['id']}** — {state} · phase: {p.get('phase', '–')} · dataset `{info['dataset']}`  \n"
              f"generated **{p.get('generated', 0)}** / {p.get('samples', 0)} · critiqued **{p.get('critiqued', 0)}** · "
              f"failed **{p.get('failed', 0)}** · tokens {p.get('tokens_in', 0)} in / {p.get('tokens_out', 0)} out · "
              f"est. cost ${p.get('cost', 0.0):.4f} · ETA {jobs.format_eta(p.get('eta')) if state in jobs.ACTIVE else '–'}")
    if info.get("error"):
        counts += f"  \n**error:** {info['error']}"
    return {"ids": ids, "job_id": info["id"], "state": state, "bar": progress_html(p.get("done", 0), p.get("total", 0)),
            "counts": counts, "log": jobs.JobDir(workspace.jobs_dir() / info["id"]).log_tail(30), "progress": p}
