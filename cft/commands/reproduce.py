"""``python -m cft reproduce``: the paper's comparison, CFT against SFT on the same questions, end to end.

Stages (each timed, each resumable): 1. questions from a training split; 2. noisy student responses; 3. teacher
critiques; 4. a LoRA CFT run and its paired LoRA SFT run (same questions, same steps); 5. base/SFT/CFT evaluated on
GSM8K and MATH-500 subsets; 6. each model as a critic on held-out solutions; then reports/<name>/report.md.

    python -m cft reproduce --preset cpu-smoke
    python -m cft reproduce --preset gpu-small --eval-limit 200
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
            parser.add_argument(flag, nargs="+", default=None, help="benchmarks to evaluate on")
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
