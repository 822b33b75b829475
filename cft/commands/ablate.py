"""``python -m cft ablate``: an ablation of critique content as a pair of CFT runs, and its paired report.

    python -m cft ablate --dataset D --kind human --name abl1                 # teacher vs human-corrected critiques
    python -m cft ablate --dataset D --kind strip-solution --max-steps 40     # full vs solutions stripped
    python -m cft ablate --dataset D --kind verdict-only --preset gpu --detach
    python -m cft ablate --dataset D --kind ratio --ratio 0.5                 # natural vs 50% wrong verdicts
    python -m cft ablate --dataset D --kind verdict-only --seeds 3            # 3 training seeds a side
    python -m cft ablate --report abl1 --benchmark gsm8k --eval-limit 50      # evaluate both arms, compare them
    python -m cft ablate --list

Both arms are CFT runs (``NAME-<arm>``; ``NAME-<arm>-s<seed>`` with --seeds) with the same samples,
hyperparameters, seed and optimizer steps; only their targets differ (cft.train.ablations). ``--limit`` caps the
training samples; ``--eval-limit`` the benchmark items of the report. ``--report`` evaluates each arm's final adapter on the same benchmark
items, greedy (an eval already done with the same fingerprint is reused), then prints what ``python -m cft compare``
prints for the baseline arm against the candidate and writes ``<workspace>/ablations/NAME.md``.
"""

from __future__ import annotations

import argparse

from cft.errors import UserError


def register(sub) -> None:
    from cft.reproduce.ablation import KINDS

    p = sub.add_parser("ablate", help="an ablation of critique content: two CFT runs, then their paired comparison",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=tuple(KINDS), help="; ".join(f"{k}: {v[0]}" for k, v in KINDS.items()))
    p.add_argument("--ratio", type=float, help="with --kind ratio: the candidate's share of wrong verdicts, in [0, 1]")
    p.add_argument("--dataset", help="store dataset to train on")
    p.add_argument("--name", help="ablation name (its runs: NAME-<arm>); default abl-<kind>-<date>-<time>")
    p.add_argument("--seeds", type=int, default=1,
                   help="training seeds per arm (runs NAME-<arm>-s<seed>); the report compares over all of them")
    p.add_argument("--preset", default="cpu-quick", help="a training preset (cpu-quick, gpu, ...)")
    p.add_argument("--base-model", help="'embedded' (default), a local model dir or a Hub id")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--limit", type=int, help="use at most this many samples")
    p.add_argument("--reviewed-only", action="store_true", help="train only on reviewed samples")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="any TrainConfig field; repeatable")
    p.add_argument("--detach", action="store_true", help="return once launched instead of following progress")
    p.add_argument("--report", metavar="NAME", help="evaluate both arms of ablation NAME and print the paired statistics")
    p.add_argument("--list", action="store_true", help="list the recorded ablations")
    p.add_argument("--benchmark", default="gsm8k", help="with --report: the benchmark both arms answer")
    p.add_argument("--eval-limit", type=int, default=50, help="with --report: that many items of it (0: all)")
    p.add_argument("--max-new-tokens", type=int, default=512, help="with --report: the answer budget")
    p.add_argument("--seed", type=int, default=0, help="with --report: the item sample and the bootstrap seed")
    p.set_defaults(handler=run)


def _base_config(args):
    from cft.commands.train import flag_overrides
    from cft.train.presets import preset_config

    overrides = flag_overrides(args)
    overrides.update(name=args.name or "ablation", mode="cft")
    return preset_config(args.preset, **overrides)


def run(args) -> int:
    from cft.reproduce import ablation

    if args.list:
        for name in ablation.list_names():
            record = ablation.read(name)
            print(f"{name}: {record['kind']}, runs {', '.join(r for a in record['arms'] for r in ablation.arm_runs(a))}")
        return 0
    if args.report:
        record = ablation.read(args.report)
        configs = ablation.eval_configs(record, benchmark=args.benchmark, limit=args.eval_limit or None,
                                        seed=args.seed, max_new_tokens=args.max_new_tokens)
        ablation.evaluate(record, configs)
        _, text, path = ablation.report(record, configs, seed=args.seed)
        print(text)
        print(f"report: {path}")
        return 0
    if not args.kind or not args.dataset:
        raise UserError("ablate: give --kind and --dataset to launch an ablation, or --report NAME, or --list")
    if args.kind != "ratio" and args.ratio is not None:
        raise UserError("--ratio applies only to --kind ratio")
    name = args.name or ablation.fresh_name(args.kind)
    record = ablation.launch(_base_config(args).replace(name=name), args.kind, ratio=args.ratio, name=name,
                             seeds=args.seeds)
    print("launched " + ablation.launch_text(record))
    for arm in record["arms"]:
        for warning in arm["warnings"]:
            print(f"WARNING ({arm['run']}): {warning}")
    print(f"when both have finished: python -m cft ablate --report {name}")
    if args.detach:
        return 0
    from cft.commands.train import follow

    return follow([r for a in record["arms"] for r in ablation.arm_runs(a)])
