"""Statistics: the Wilson interval of an accuracy, its one-line form, and a critic's verdict metrics."""

from __future__ import annotations

import math

def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: unlike the normal approximation it stays inside [0, 1] at 0% and 100%."""
    if n <= 0:
        return (0.0, 0.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def format_accuracy(summary: dict) -> str:
    """``41.5% ± 4.8`` (half the width of the 95% interval, in points)."""
    lo, hi = summary.get("ci95", (0.0, 0.0))
    return f"{100 * summary.get('accuracy', 0.0):.1f}% ± {100 * (hi - lo) / 2:.1f}"


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
