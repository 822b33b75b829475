"""``python -m cft generate``: sample noisy responses from a student model and have a teacher critique them.

    python -m cft generate --source gsm8k_train --n 20 --samples 2 --teacher verifier --dataset gsm8k-noisy
    OPENAI_API_KEY=... python -m cft generate --source math_train --n 100 --teacher openai \\
        --base-url https://api.openai.com/v1 --model gpt-4o-mini --dataset math-gpt4o
    python -m cft generate ... --background          # a job the Generate tab shows; prints its id
    python -m cft generate --resume generate-20260101-120000-gsm8k-noisy
    python -m cft generate --endpoint http://127.0.0.1:8000/v1 --endpoint-model Qwen/Qwen2.5-Math-7B ...
        # the student on an OpenAI-compatible server (vLLM, llama.cpp, ...) instead of in-process
    python -m cft generate --source math500 --question math500/17 --samples 64 --dataset oneshot-17 --train-cft
        # One-Shot CFT: one question, 64 diverse answers, all critiqued; then a CFT-only run on them

The same options as the Generate tab; the job is resumable: run the same command (or --resume) again and it
continues where it stopped, without duplicates. The API key is read from $OPENAI_API_KEY only (never a flag:
a flag would show in the process list and the job's status file).
"""

from __future__ import annotations

import argparse
import os
import sys

from cft.errors import UserError


def register(sub) -> None:
    from cft.generate import GenerateConfig

    d = GenerateConfig()
    p = sub.add_parser("generate", help="sample student responses and critique them with a teacher",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default=d.source,
                   help="gsm8k_train | math_train | any benchmark name | dataset:<name> | a .jsonl file")
    p.add_argument("--n", type=int, default=d.n_questions, dest="n_questions", help="number of questions")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--student", default=d.student_model, dest="student_model",
                   help="'embedded' (SmolLM2-135M), a local model dir or a Hub id")
    p.add_argument("--adapter", default=None, dest="student_adapter", help="a PEFT adapter dir on top of --student")
    p.add_argument("--samples", type=int, default=d.samples_per_question, dest="samples_per_question",
                   help="responses per question")
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--dataset", default=d.dataset, help="target dataset (created if new)")
    p.add_argument("--teacher", choices=("verifier", "openai"), default=d.teacher)
    p.add_argument("--base-url", default=d.base_url, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--model", default=d.model, help="teacher model name")
    p.add_argument("--teacher-temperature", type=float, default=d.teacher_temperature)
    p.add_argument("--teacher-top-p", type=float, default=d.teacher_top_p)
    p.add_argument("--teacher-max-tokens", type=int, default=d.teacher_max_tokens)
    p.add_argument("--concurrency", type=int, default=d.concurrency)
    p.add_argument("--timeout", type=float, default=d.timeout, help="seconds per teacher request")
    p.add_argument("--max-retries", type=int, default=d.max_retries)
    p.add_argument("--question", default=d.question_id, dest="question_id", metavar="ID",
                   help="One-Shot CFT: only this question of --source (e.g. math500/17); --samples answers to it")
    p.add_argument("--train-cft", action="store_true",
                   help="once generation completes, launch a CFT-only run on the dataset (One-Shot CFT's recipe)")
    p.add_argument("--preset", default="cpu-quick", help="with --train-cft: the run's preset")
    p.add_argument("--max-steps", type=int, default=None, help="with --train-cft: the run's optimizer steps")
    p.add_argument("--run-name", default="", help="with --train-cft: the run's name")
    p.add_argument("--limit", type=int, default=None, help="write at most this many new samples, then stop")
    p.add_argument("--background", action="store_true", help="run as a background job and print its id")
    p.add_argument("--resume", default=None, metavar="JOB_ID", help="relaunch an earlier job with its config")
    p.add_argument("--retry-failed", action="store_true",
                   help="also critique again the samples the teacher refused before (they are skipped otherwise)")
    from cft.commands.eval import add_endpoint_flags

    add_endpoint_flags(p, "the student")
    p.set_defaults(handler=run)


def _config(args):
    from cft.generate import GenerateConfig

    from cft.commands.eval import endpoint_fields

    names = set(GenerateConfig.__dataclass_fields__)
    fields_ = {k: v for k, v in vars(args).items() if k in names}
    return GenerateConfig(**fields_, **endpoint_fields(args, prefix="student_")).validate()


def run(args) -> int:
    from tqdm import tqdm

    from cft import jobs
    from cft.generate import job as generate

    api_key = os.environ.get("OPENAI_API_KEY")
    run_config = None
    if args.train_cft:
        if args.background or args.limit is not None or args.resume:
            raise UserError("--train-cft follows one new generation to its end: run it without --background, "
                            "--limit or --resume")
        if not args.question_id:
            raise UserError("--train-cft builds One-Shot CFT: give --question ID (one question of --source)")
        from cft.data.store import Store
        from cft.generate.oneshot import train_config

        if args.dataset in {d["name"] for d in Store().datasets()}:
            raise UserError(f"--train-cft trains on the whole target dataset: {args.dataset!r} exists already, so "
                            f"choose a new --dataset for this question")
        extra = {"max_steps": args.max_steps} if args.max_steps is not None else {}
        run_config = train_config(args.dataset, preset=args.preset, name=args.run_name, **extra)  # checked up front
        from cft.train import runs

        if runs.name_taken(run_config.name):
            raise UserError(f"--run-name {run_config.name!r}: a run of that name exists; choose another")
    if args.resume:
        job = generate.get_job(args.resume)
        if args.background:
            generate.relaunch(args.resume, api_key, retry_failed=args.retry_failed)
            print(job.name)
            return 0
        for path in (job.status_path, job.progress_path):
            path.unlink(missing_ok=True)
    else:
        config = _config(args)
        if args.background:
            print(generate.launch(config, api_key, retry_failed=args.retry_failed).name)
            return 0
        job = generate.new_job(config)
    # Foreground: the same job directory a background job has, so the Generate tab shows this run too.
    job.write_status("running", pid=os.getpid())
    print(f"job {job.name}", file=sys.stderr)
    bar = tqdm(total=0, unit="step", dynamic_ncols=True)

    def progress(counts) -> None:
        total = 2 * counts.total
        if bar.total != total:
            bar.total = total
        bar.n = counts.generated + counts.critiqued
        bar.set_description(counts.phase)
        bar.set_postfix(generated=counts.generated, critiqued=counts.critiqued, failed=counts.failed,
                        cost=f"${counts.cost:.4f}", refresh=False)
        bar.refresh()

    code = generate.run_job(job, api_key=api_key, progress=progress, max_new_samples=args.limit,
                            retry_failed=args.retry_failed)
    bar.close()
    status = job.status()
    if code != 0 and status.get("state") == "failed":
        raise UserError(f"generation job {job.name} failed: {status.get('error')}")
    print(f"{status.get('state')}: {status.get('generated', 0)} generated, {status.get('critiqued', 0)} critiqued, "
          f"{status.get('failed', 0)} failed, {status.get('failed_samples', 0)} refused by the teacher in dataset "
          f"{jobs.JobDir(job.path).config().get('dataset')!r}")
    dataset = jobs.JobDir(job.path).config().get("dataset")
    if code == 0 and (getattr(args, "question_id", "") or getattr(args, "train_cft", False)):
        from cft.generate.oneshot import describe_diversity, diversity

        print(describe_diversity(diversity(dataset)))
    if code == 0 and run_config is not None and status.get("state") == "completed":
        from cft.train import runs

        started = runs.launch(run_config)
        print(f"launched CFT run {started['name']} on {dataset!r} (pid {started['pid']}); follow it with "
              f"`python -m cft runs` or in the Train tab")
    return code
