"""The one confidence interval of a proportion the app reports: Wilson's score interval.

Every accuracy, agreement rate and error rate goes through :func:`wilson_interval`, so a table, the CLI and a
report never disagree. Unlike the normal approximation ("0.0% ± 21.7") it is asymmetric near 0 and 1 and never
leaves [0, 1]; at 0 successes its lower bound is exactly 0 and at n its upper bound exactly 1. It is the closed
form of ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` and is tested against it; it stays closed
form because the agreement statistics call it inside bootstrap loops.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of ``k`` successes in ``n`` trials; ``(0, 0)`` when there is no trial."""
    if n <= 0:
        return (0.0, 0.0)
    if not 0 <= k <= n:
        raise ValueError(f"wilson_interval: {k} successes in {n} trials")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)
