"""``python -m cft agreement``: a dataset's team review in numbers, as the Data tab's Team review panel shows them.

    python -m cft agreement --dataset cft-600
    python -m cft agreement --dataset cft-600 --json

Progress (reviews done / needed, per annotator), verdict agreement (Cohen's kappa for two annotators, Fleiss' for
more, with a 95% bootstrap CI over samples), first-wrong-step agreement, each annotator against the teacher and the
verifier, the disagreements left to adjudicate, and the teacher's error rate with its Wilson interval.
"""

from __future__ import annotations

import argparse
import json

from cft.errors import UserError


def register(sub) -> None:
    text = "a dataset's team review: progress, kappa with its CI, agreement with teacher and verifier, teacher errors"
    p = sub.add_parser("agreement", help=text, description=text, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True)
    p.add_argument("--resamples", type=int, default=999, help="bootstrap resamples for the kappa CI (default 999)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_agreement)


def report(store, dataset: str, resamples: int = 999) -> dict:
    from cft.data import agreement, team

    if dataset not in {d["name"] for d in store.datasets()}:
        raise UserError(f"no dataset named {dataset!r}; see: python -m cft datasets")
    if resamples < 100:
        raise UserError(f"--resamples must be at least 100 for a 95% interval, got {resamples}")
    items = team.items(store, dataset)
    return {
        "dataset": dataset,
        "progress": store.review_progress(dataset),
        "kappa": agreement.kappa_summary(items, n_resamples=resamples).to_dict(),
        "first_wrong_step": agreement.step_agreement(items),
        "reference": agreement.reference_agreement(items),
        "disagreements": [it.sample.id for it in agreement.disagreements(
            items, store.settings(dataset)["reviews_needed"])],
        "teacher_error": agreement.teacher_error(items),
    }


def _finite(value):
    """NaN (an undefined kappa or rate) as null, so the output is valid JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _pct(rate: float, ci) -> str:
    return "–" if rate != rate else f"{100 * rate:.1f}%" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def run_agreement(args) -> int:
    from cft.data.store import Store

    out = report(Store(), args.dataset, args.resamples)
    if args.json:
        print(json.dumps(_finite(out), indent=2, allow_nan=False))
        return 0
    p, k = out["progress"], out["kappa"]
    print(f"{args.dataset}: K = {p['reviews_needed']} · {p['done']} / {p['needed']} reviews · {p['complete']} of "
          f"{p['samples']} samples complete")
    for name, n in p["by_annotator"].items():
        print(f"  {name}: {n} reviewed")
    if k["method"] == "none":
        print("kappa: no sample has two reviews yet")
    else:
        ci = f" [{k['ci'][0]:.3f}, {k['ci'][1]:.3f}]" if k["ci"] else " (no CI)"
        print(f"{'Cohen' if k['method'] == 'cohen' else 'Fleiss'} kappa {k['value']:.3f}{ci} over {k['samples']} "
              f"samples; raw agreement {100 * k['observed']:.1f}%")
    s = out["first_wrong_step"]
    if s["pairs"]:
        print(f"first wrong step: the same in {_pct(s['rate'], s['ci'])} of {s['pairs']} pairs")
    for name, refs in out["reference"].items():
        cells = [f"{ref} {_pct(r['rate'], r['ci'])} (n={r['n']})" for ref, r in refs.items() if r["n"]]
        print(f"  {name} agrees with: " + ("; ".join(cells) or "–"))
    print(f"disagreements to adjudicate: {len(out['disagreements'])}")
    t = out["teacher_error"]
    o = t["overall"]
    print(f"teacher verdict wrong on {_pct(o['rate'], o['ci'])} of {o['n']} reviewed")
    for key in ("by_teacher", "by_source"):
        for name, cell in t[key].items():
            print(f"  {key[3:]} {name}: {_pct(cell['rate'], cell['ci'])} of {cell['n']}")
    return 0
