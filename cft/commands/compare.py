"""``python -m cft compare``: two evals compared item by item on their shared problems.

    python -m cft compare demo-sft-gsm8k demo-cft-gsm8k
    python -m cft compare demo-sft-gsm8k demo-cft-gsm8k --json
    python -m cft compare sft-s0 sft-s1 --vs cft-s0 cft-s1        # several seeds a side

It prints the number of shared problems, each side's correct count, fixed (baseline wrong, candidate right) and
broke, the difference in accuracy with a paired bootstrap 95% interval, and the exact two-sided McNemar p-value.
The verdict follows the interval: a winner only when it excludes zero.
"""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare two evals on their shared problems (paired statistics)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("evals", nargs="+", metavar="EVAL",
                   help="BASELINE CANDIDATE; or the baseline's evals (one per seed) followed by --vs and the candidate's")
    p.add_argument("--vs", nargs="+", default=None, metavar="EVAL", help="the candidate's evals (several seeds)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    p.set_defaults(handler=run)


def run(args) -> int:
    from cft.errors import UserError
    from cft.evaluate.paired import compare_evals, comparison_lines

    if args.vs is None:
        if len(args.evals) != 2:
            raise UserError("compare: give BASELINE CANDIDATE, or several baseline evals then --vs and candidate evals")
        baseline, candidate = [args.evals[0]], [args.evals[1]]
    else:
        baseline, candidate = args.evals, args.vs
    result = compare_evals(baseline, candidate, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("\n".join(comparison_lines(result)))
    return 0
