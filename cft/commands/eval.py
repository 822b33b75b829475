"""``python -m cft eval``: evaluate a model (or run it as a critic, or pick a run's best checkpoint).

    python -m cft eval --model embedded --benchmark gsm8k --limit 200
    python -m cft eval --adapter cft-1 --benchmark math500 --limit 100 --name cft1-math
    python -m cft eval --adapter cft-1 --critic champ --limit 100
    python -m cft eval --critic champ --step-level --model verifier     # ProcessBench-style: find the first wrong step
    python -m cft eval --critic champ --step-level --adapter cft-1 --limit 100
    python -m cft eval --critic dataset:gen --step-level --model verifier   # on your annotators' step labels
    python -m cft eval --best-of-n 4 --benchmark gsm8k --limit 50 --critic-adapter cft-1
        # the CFT model as a verifier: N sampled answers, keep one it judges right; vs majority vote and random
    python -m cft eval --select-checkpoint cft-1 --benchmark math500 --limit 50
    python -m cft eval --model embedded --benchmark gsm8k --background   # a job; watch it in the Compare tab
    python -m cft eval --regrade embedded-gsm8k-200     # grade the saved outputs again with the current grader
    python -m cft eval --endpoint http://127.0.0.1:8000/v1 --endpoint-model cft-1 --benchmark math500
        # any OpenAI-compatible server (vLLM, llama.cpp, ...); an adapter is served as its LoRA module
"""

from __future__ import annotations

import json

from cft.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a math benchmark (or as a critic)", description=__doc__,
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="embedded (default), a local model dir or a Hub id")
    p.add_argument("--adapter", default=None, help="a run name, RUN/checkpoint-N, or a PEFT adapter dir")
    p.add_argument("--benchmark", default=None, help="gsm8k, math500, minerva, champ, ... or a .jsonl (default gsm8k)")
    p.add_argument("--limit", type=int, default=None, help="evaluate a seeded subset of this many problems")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="", help="eval name under workspace/evals (default from model/benchmark/limit); "
                                              "the same name resumes")
    p.add_argument("--max-new-tokens", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--sample", action="store_true", help="sample (temperature 0.7) instead of the paper's greedy decoding")
    p.add_argument("--critic", default=None, metavar="SOURCE",
                   help="critic mode: 'champ' (CHAMP's GPT/PaLM solutions) or 'dataset:NAME' (store samples)")
    p.add_argument("--step-level", action="store_true",
                   help="with --critic: predict the first wrong step (ProcessBench's scores: accuracy on erroneous and "
                        "on correct solutions, F1); --model verifier scores the arithmetic verifier")
    p.add_argument("--best-of-n", type=int, default=None, metavar="N",
                   help="sample N answers per problem (--model/--adapter/--endpoint; temperature 0.7), let the critic "
                        "(--critic-adapter/--critic-model) pick one it judges right; vs majority vote and a random pick")
    p.add_argument("--critic-adapter", default=None, metavar="RUN", help="with --best-of-n: the critic, a CFT run")
    p.add_argument("--critic-model", default=None, help="with --best-of-n: the critic's base model (default: embedded)")
    p.add_argument("--critic-max-new-tokens", type=int, default=512, help="with --best-of-n: a critique's length cap")
    p.add_argument("--select-checkpoint", default=None, metavar="RUN",
                   help="evaluate every checkpoint of RUN on --benchmark (default math500) and mark the best")
    p.add_argument("--background", action="store_true", help="start a background job and return")
    add_endpoint_flags(p, "the model")
    p.add_argument("--regrade", default=None, metavar="EVAL",
                   help="re-grade a finished eval's saved outputs with the current grader (no generation)")
    p.add_argument("--prompt-policy", default="", choices=("", "system", "paper", "none"),
                   help="how the question is asked (default: the policy the adapter's run trained under, else system)")
    p.add_argument("--force", action="store_true",
                   help="redo an eval whose name exists but measured something else (other settings or weights)")
    p.set_defaults(handler=run)


def add_endpoint_flags(p, what: str) -> None:
    """--endpoint URL --endpoint-model NAME [--endpoint-extra JSON]: the same flags on eval and generate."""
    p.add_argument("--endpoint", default="", metavar="URL",
                   help=f"run {what} on an OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1) instead of in-process")
    p.add_argument("--endpoint-model", default="", metavar="NAME",
                   help="the model name the server serves (for an adapter: its LoRA module's name)")
    p.add_argument("--endpoint-extra", default="", metavar="JSON",
                   help='request-body extras, e.g. \'{"repeat_penalty": 1.0, "top_k": 0, "min_p": 0}\' for llama.cpp')


def endpoint_fields(args, prefix: str = "") -> dict:
    """The config fields the endpoint flags set (none without --endpoint)."""
    if not args.endpoint:
        return {}
    from cft.config import parse_json_object

    extra = parse_json_object(args.endpoint_extra, "--endpoint-extra", "request") if args.endpoint_extra else None
    return {f"{prefix}engine": "endpoint", f"{prefix}endpoint_url": args.endpoint,
            f"{prefix}endpoint_model": args.endpoint_model, f"{prefix}endpoint_extra": extra}


def run(args) -> int:
    from tqdm import tqdm

    from cft.evaluate import EvalConfig
    from cft.evaluate.config import eval_dir
    from cft.evaluate.job import launch
    from cft.evaluate.runner import run_eval
    from cft.evaluate.selection import select_checkpoint
    from cft.evaluate.stats import format_accuracy

    if args.regrade:
        from cft.evaluate.regrade import regrade

        report = regrade(args.regrade)
        b, a = report["before"], report["after"]
        print(f"{args.regrade}: grader {a.get('regraded_from')} -> {a['grader_version']}: "
              f"{format_accuracy(b)} -> {format_accuracy(a)} ({b['correct']} -> {a['correct']} of {a['n']}); "
              f"{len(report['changed'])} problem(s) changed: {', '.join(report['changed'][:20])}")
        return 0

    if args.select_checkpoint:
        bars: dict = {}

        def progress(ckpt, done, total, correct):
            bar = bars.get(ckpt) or bars.setdefault(ckpt, tqdm(total=total, desc=ckpt, unit="problem"))
            bar.n = done
            bar.set_postfix(correct=correct)
            bar.refresh()

        record = select_checkpoint(args.select_checkpoint, model=args.model, benchmark=args.benchmark or "math500",
                                   limit=args.limit or 100, seed=args.seed, max_new_tokens=args.max_new_tokens,
                                   batch_size=args.batch_size, progress=progress)
        for bar in bars.values():
            bar.close()
        for c in record["candidates"]:
            print(f"{c['checkpoint']:>20}: {100 * c['accuracy']:.1f}% ({c['correct']}/{c['n']})")
        print(f"best: {record['best']['checkpoint']} -> {record['best']['path']}")
        return 0

    if args.best_of_n is not None:
        from cft.evaluate.best_of_n import BestOfNConfig, format_summary, run_best_of_n

        config = BestOfNConfig(name=args.name, model=args.model, adapter=args.adapter,
                               benchmark=args.benchmark or "gsm8k", limit=args.limit, seed=args.seed,
                               max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, n=args.best_of_n,
                               critic_model=args.critic_model, critic_adapter=args.critic_adapter,
                               critic_max_new_tokens=args.critic_max_new_tokens, prompt_policy=args.prompt_policy,
                               **endpoint_fields(args))

        def runner(config, progress):
            return run_best_of_n(config, progress=progress, force=args.force)

        describe = format_summary
    elif args.step_level and not args.critic:
        raise UserError("--step-level needs --critic SOURCE (champ or dataset:NAME)")
    elif args.critic and args.step_level:
        from cft.evaluate.steps import StepCriticConfig, format_summary, run_step_critic

        verifier = args.model == "verifier"
        config = StepCriticConfig(name=args.name, model=None if verifier else args.model, adapter=args.adapter,
                                  benchmark=args.critic, critic="verifier" if verifier else "model", limit=args.limit,
                                  seed=args.seed, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                  greedy=not args.sample, **endpoint_fields(args))

        def runner(config, progress):
            return run_step_critic(config, progress=progress, force=args.force)

        describe = format_summary
    elif args.critic:
        from cft.evaluate.critic import CriticConfig, format_summary, run_critic

        config = CriticConfig(name=args.name, model=args.model, adapter=args.adapter, benchmark=args.critic,
                              limit=args.limit, seed=args.seed, max_new_tokens=args.max_new_tokens,
                              batch_size=args.batch_size, greedy=not args.sample, **endpoint_fields(args))
        runner, describe = run_critic, format_summary
    else:
        config = EvalConfig(name=args.name, model=args.model, adapter=args.adapter,
                                     benchmark=args.benchmark or "gsm8k", limit=args.limit, seed=args.seed,
                                     max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                     greedy=not args.sample, prompt_policy=args.prompt_policy,
                                     **endpoint_fields(args))

        def runner(config, progress):
            return run_eval(config, progress=progress, force=args.force)

        def describe(s):
            return (f"{s['label']} on {s['benchmark']}: {format_accuracy(s)} ({s['correct']}/{s['n']}; "
                    f"{s['timed_out']} grading timeouts, {s['no_answer']} without an answer) in {s['seconds']:.0f} s")

    if args.background:
        job = launch(config, force=args.force)
        print(f"started {config.name} (pid {job.status().get('pid')}); progress in {job.progress_path}")
        return 0

    bar = tqdm(desc=config.name, unit="problem")

    def progress(done, total, correct):
        bar.total = total
        bar.n = done
        bar.set_postfix(correct=correct)
        bar.refresh()

    try:
        summary = runner(config, progress=progress)
    finally:
        bar.close()
    print(json.dumps(summary, indent=2))
    print(describe(summary))
    print(f"results: {eval_dir(config.name) / 'results.jsonl'}")
    return 0
