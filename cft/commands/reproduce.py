"""``python -m cft reproduce``: the whole CFT-vs-SFT loop and its report."""

from __future__ import annotations


def register(sub) -> None:
    from cft import reproduce

    p = sub.add_parser("reproduce", help="generate data, train CFT and SFT, evaluate, write a report",
                       description=reproduce.__doc__)
    reproduce.add_arguments(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from cft import reproduce

    config = reproduce.config_from_args(args)
    reproduce.reproduce(config)
    return 0
