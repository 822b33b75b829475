"""Agreement of our grader with externally labelled answer pairs, next to plain math-verify on the same pairs.

    python benchmarks/grading_agreement.py [--corpus tests/data/grading_corpus.jsonl] [--show-misses]

Reads the corpus that ``scripts/build_grading_corpus.py`` builds from the graders' own test suites
(Math-Verify, lighteval, MARIO_EVAL, hendrycks/math, open-r1, a GSM8K list). For each case, "ours" is
``cft.grading.grade_many([(gold, pred)])``; "plain" is ``math_verify.verify(parse(gold), parse(pred))`` with
default settings. Agreement is the share of cases graded as labelled, overall and per suite. Cases whose
label is disputed are left out of the agreement and listed apart, with the reason and both verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from cft.grading import GRADER_VERSION, grade_many  # noqa: E402

CORPUS = os.path.join(ROOT, "tests", "data", "grading_corpus.jsonl")


def load_corpus(path: str = CORPUS) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plain_verdicts(cases: list[dict]) -> list[bool]:
    """math-verify as documented, in the main thread so its own signal timeouts work."""
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    out = []
    for c in cases:
        try:
            out.append(bool(verify(parse(c["gold"]), parse(c["pred"]))))
        except Exception:
            out.append(False)
    return out


def our_verdicts(cases: list[dict]) -> list[bool]:
    return [g.correct for g in grade_many([(c["gold"], c["pred"]) for c in cases])]


def table(cases: list[dict], ours: list[bool], plain: list[bool]) -> list[tuple[str, int, float, float]]:
    """(suite, n, ours %, plain %) for each suite and overall, disputed cases left out."""
    rows, suites = [], sorted({c["suite"] for c in cases})
    for suite in suites + ["overall"]:
        idx = [i for i, c in enumerate(cases) if "disputed" not in c and suite in ("overall", c["suite"])]
        n = len(idx)
        agree = lambda v: 100.0 * sum(v[i] == cases[i]["label"] for i in idx) / max(n, 1)  # noqa: E731
        rows.append((suite, n, agree(ours), agree(plain)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--show-misses", action="store_true", help="list the cases we grade against the label")
    args = ap.parse_args()

    cases = load_corpus(args.corpus)
    ours, plain = our_verdicts(cases), plain_verdicts(cases)
    print(f"grader version {GRADER_VERSION}; {len(cases)} cases from {args.corpus}")
    print(f"{'suite':<14}{'cases':>6}{'ours':>9}{'plain math-verify':>20}")
    for suite, n, o, p in table(cases, ours, plain):
        if suite == "overall":
            print("-" * 49)
        print(f"{suite:<14}{n:>6}{o:>8.1f}%{p:>19.1f}%")

    disputed = [(i, c) for i, c in enumerate(cases) if "disputed" in c]
    if disputed:
        print(f"\ndisputed labels ({len(disputed)}), not counted above:")
        for i, c in disputed:
            print(f"  {c['source']}\n    label {c['label']}, ours {ours[i]}, plain {plain[i]}: {c['disputed']}")
    if args.show_misses:
        print("\ncases we grade against the label (plain math-verify's verdict in brackets):")
        for i, c in enumerate(cases):
            if "disputed" not in c and ours[i] != c["label"]:
                print(f"  [{'ok' if plain[i] == c['label'] else 'also wrong'}] {c['source']}\n"
                      f"    gold {c['gold'][:120]!r}\n    pred {c['pred'][-160:]!r}  label {c['label']}")


if __name__ == "__main__":
    main()
