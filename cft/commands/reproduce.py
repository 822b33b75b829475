"""``python -m cft reproduce``: the paper's comparison, CFT against SFT on the same questions, end to end.

Stages (each timed, each reused only when its fingerprint matches, else redone with the reason said): 1-3.
questions, noisy student responses, teacher critiques; 4. CFT, SFT and SFT-verified runs for each seed, with
equal steps; 5. optionally each run's checkpoint picked on a validation set disjoint from what is reported; 6. the
base model and every run evaluated; 7. each as a critic; then reports/<name>/report.md with paired statistics.

    python -m cft reproduce --preset cpu                # the CPU comparison (arith task), two seeds, ~1 hour
    python -m cft reproduce --preset cpu-smoke          # the pipeline end to end in minutes, no claims
    python -m cft reproduce --preset gpu-small --seeds 3
    python -m cft reproduce --config my-repro.json --max-steps 40

Every ReproduceConfig field is a flag; a JSON ``--config`` sets any of them; flags override both it and the preset.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cft.reproduce import PRESETS, ReproduceConfig

    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu-smoke")
    parser.add_argument("--config", help="a JSON file of ReproduceConfig fields (flags override it)")
    for f in fields(ReproduceConfig):
        if f.name == "preset":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.name == "benchmarks":
            parser.add_argument(flag, nargs="+", default=None, help="benchmarks to evaluate on: NAME[:SIZE[:TOKENS]]")
        elif f.name == "modes":
            parser.add_argument(flag, nargs="+", default=None, help="the objectives to train: cft and sft and/or "
                                                                     "sft-verified")
        elif str(f.type) == "bool":
            parser.add_argument(flag, type=lambda v: v.lower() in ("1", "true", "yes", "on"), default=None,
                                metavar="true|false", help=f"(default: the preset's {f.name})")
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=None, help=f"(default: the preset's {f.name})")


def config_from_args(args: argparse.Namespace):
    """The preset, overlaid with the ``--config`` file, overlaid with the flags given."""
    from cft.config import read_json_object
    from cft.reproduce import ReproduceConfig, preset_config

    values: dict[str, Any] = read_json_object(args.config, "reproduce config") if args.config else {}
    preset = values.pop("preset", None) or args.preset
    overrides = {f.name: getattr(args, f.name) for f in fields(ReproduceConfig)
                 if f.name != "preset" and getattr(args, f.name, None) is not None}
    return preset_config(preset, **{**values, **overrides})


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="generate data, train CFT and SFT, evaluate, write a report",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from cft.reproduce import reproduce

    reproduce(config_from_args(args))
    return 0
