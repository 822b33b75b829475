"""Statistics of one eval: the Wilson interval of an accuracy, its one-line form, the side effects of training on
the answers (format, length, drift into critique), and a critic's verdict metrics. Comparing two evals is
:mod:`cft.evaluate.paired`."""

from __future__ import annotations

import re

from cft.intervals import wilson_interval  # noqa: F401  (re-exported: the one interval)


def format_accuracy(summary: dict) -> str:
    """``41.5% [36.7, 46.4]``: the accuracy and its Wilson 95% interval, in points (asymmetric near 0 and 100%)."""
    lo, hi = summary.get("ci95", (0.0, 0.0))
    return f"{100 * summary.get('accuracy', 0.0):.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


# An answer in the form the evaluation prompt asks for: a box, "the answer is", or GSM8K's "####".
_EXPLICIT_ANSWER = re.compile(r"\\(?:boxed|fbox)\s*\{|answer\s+is|####", re.IGNORECASE)


def side_effects(rows: list[dict]) -> dict:
    """What training did to the answers beyond accuracy (CFT is reported to hurt instruction following):

    - ``answer_rate``: the share of answers that state a final answer explicitly (a ``\\boxed{}``, "the answer
      is", ``####``), the form the prompt asks for;
    - ``mean_output_tokens`` (``mean_output_chars`` when token counts are missing): how long the answers are;
    - ``critique_drift``: the share that drift into critique format (a ``Conclusion: right/wrong`` line).
    """
    from cft.data.samples import parse_verdict

    n = len(rows)
    outputs = [str(r.get("output") or "") for r in rows]
    tokens = [r["output_tokens"] for r in rows if isinstance(r.get("output_tokens"), int)]
    return {
        "answer_rate": sum(1 for o in outputs if _EXPLICIT_ANSWER.search(o)) / n if n else 0.0,
        "mean_output_tokens": sum(tokens) / len(tokens) if tokens and len(tokens) == n else None,
        "mean_output_chars": sum(len(o) for o in outputs) / n if n else 0.0,
        "critique_drift": sum(1 for o in outputs if parse_verdict(o) != "unknown") / n if n else 0.0,
    }


def critic_metrics(rows: list[dict]) -> dict:
    """Verdict accuracy (unknown = miss), precision/recall/F1 on ``wrong``, unknown rate, confusion counts."""
    n = len(rows)
    correct = sum(1 for r in rows if r["verdict"] == r["label"])
    tp = sum(1 for r in rows if r["label"] == "wrong" and r["verdict"] == "wrong")
    fp = sum(1 for r in rows if r["label"] == "right" and r["verdict"] == "wrong")
    fn = sum(1 for r in rows if r["label"] == "wrong" and r["verdict"] != "wrong")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    lo, hi = wilson_interval(correct, n)
    confusion = {f"{lab}->{ver}": sum(1 for r in rows if r["label"] == lab and r["verdict"] == ver)
                 for lab in ("right", "wrong") for ver in ("right", "wrong", "unknown")}
    return {
        "n": n, "correct": correct, "accuracy": correct / n if n else 0.0, "ci95": [lo, hi],
        "wrong_precision": precision, "wrong_recall": recall, "wrong_f1": f1,
        "unknown": sum(1 for r in rows if r["verdict"] == "unknown"),
        "unknown_rate": sum(1 for r in rows if r["verdict"] == "unknown") / n if n else 0.0,
        "labels": {lab: sum(1 for r in rows if r["label"] == lab) for lab in ("right", "wrong")},
        "confusion": confusion,
    }
