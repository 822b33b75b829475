"""Paired comparison of two models on the same problems: what a reviewer asks of a "CFT beats SFT" claim.

Two evals of the same benchmark items are compared item by item, never as two independent proportions:
- the exact McNemar test on the discordant pairs (``fixed``: baseline wrong, candidate right; ``broke``: the
  reverse): under the null the discordant pairs split 50/50, so the two-sided p-value is a binomial test;
- a paired bootstrap 95% interval of the difference in accuracy, resampling items (percentile method);
- the verdict follows the interval: a winner only when it excludes zero. The percentile bootstrap cannot see
  uncertainty it has no sample of (4 items all fixed resample to exactly +100 points), so a winner also needs the
  exact test to agree (p < 0.05); when the two disagree, there is no verdict.

Several seeds (``compare_seeds``): each item's correctness is averaged over the seeds of a side, and the
bootstrap resamples items, so seed noise and item noise both widen the interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
ALPHA = 0.05


@dataclass
class PairedComparison:
    n: int
    baseline_correct: int
    candidate_correct: int
    fixed: int
    broke: int
    diff: float
    diff_ci95: tuple[float, float]
    mcnemar_p: float
    baseline: str = ""
    candidate: str = ""

    @property
    def verdict(self) -> str:
        """"better", "worse" or "no difference": by the interval (and the exact test), never the point estimate."""
        lo, hi = self.diff_ci95
        if self.mcnemar_p >= ALPHA:
            return "no difference"
        if lo > 0:
            return "better"
        if hi < 0:
            return "worse"
        return "no difference"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["diff_ci95"] = list(self.diff_ci95)
        out["verdict"] = self.verdict
        return out


def mcnemar_exact(fixed: int, broke: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of ``broke`` among the discordant pairs at 1/2."""
    from scipy.stats import binomtest

    n = fixed + broke
    if n == 0:
        return 1.0
    return float(binomtest(min(fixed, broke), n, 0.5, alternative="two-sided").pvalue)


def paired_bootstrap_ci(diffs, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-item differences (items resampled with replacement)."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return (0.0, 0.0)
    if np.all(d == d[0]):
        return (float(d[0]), float(d[0]))  # no variation to resample: the interval is the point
    from scipy.stats import bootstrap

    result = bootstrap((d,), np.mean, n_resamples=resamples, confidence_level=level, method="percentile",
                       random_state=np.random.default_rng(seed), vectorized=True)
    ci = result.confidence_interval
    return (float(ci.low), float(ci.high))


def compare_correct(baseline: dict[str, list[bool]], candidate: dict[str, list[bool]], *, seed: int = 0,
                    baseline_name: str = "", candidate_name: str = "") -> PairedComparison:
    """Compare on the items both sides have; each value is that item's correctness under one or more seeds.

    With one seed per side this is the classic paired comparison. With several, an item's score is the mean
    over seeds; ``fixed``/``broke`` and McNemar use the majority (an item counts as correct for a side when more
    than half its seeds got it right), and the interval comes from the mean scores.
    """
    shared = sorted(set(baseline) & set(candidate))
    if not shared:
        return PairedComparison(0, 0, 0, 0, 0, 0.0, (0.0, 0.0), 1.0, baseline_name, candidate_name)
    b = np.array([np.mean(baseline[k]) for k in shared])
    c = np.array([np.mean(candidate[k]) for k in shared])
    b_ok, c_ok = b > 0.5, c > 0.5
    fixed = int(np.sum(~b_ok & c_ok))
    broke = int(np.sum(b_ok & ~c_ok))
    return PairedComparison(
        n=len(shared), baseline_correct=int(b_ok.sum()), candidate_correct=int(c_ok.sum()), fixed=fixed,
        broke=broke, diff=float(np.mean(c - b)), diff_ci95=paired_bootstrap_ci(c - b, seed=seed),
        mcnemar_p=mcnemar_exact(fixed, broke), baseline=baseline_name, candidate=candidate_name,
    )


# Settings that must be equal on both sides for a comparison to be "the same work".
_SAME_WORK = ("benchmark", "prompt_policy", "max_new_tokens", "greedy", "grader_version")


def compare_evals(baselines: str | list[str], candidates: str | list[str], *, seed: int = 0) -> dict:
    """Compare finished evals on their shared problems: one eval a side, or one per seed.

    Returns the comparison's dict (n, baseline_correct, candidate_correct, fixed, broke, diff, diff_ci95,
    mcnemar_p, verdict) plus ``warnings`` naming every setting that differs between the sides (a different
    benchmark, prompt policy, token budget, decoding or grader version makes the comparison unfair).
    """
    from cft.errors import UserError
    from cft.evaluate.results import read_summary, rows_by_id

    names = {"baseline": [baselines] if isinstance(baselines, str) else list(baselines),
             "candidate": [candidates] if isinstance(candidates, str) else list(candidates)}
    scores: dict[str, dict[str, list[bool]]] = {"baseline": {}, "candidate": {}}
    settings: dict[str, list[dict]] = {"baseline": [], "candidate": []}
    for side, evals in names.items():
        if not evals:
            raise UserError(f"compare: name at least one {side} eval")
        for name in evals:
            rows = rows_by_id(name)
            if not rows:
                raise UserError(f"eval {name!r} has no results yet")
            per_seed = scores[side]
            for pid, row in rows.items():
                per_seed.setdefault(pid, []).append(bool(row.get("correct")))
            settings[side].append(read_summary(name) or {})
    # Only items every eval of a side answered, so each item's mean is over the same seeds.
    for side in scores:
        scores[side] = {k: v for k, v in scores[side].items() if len(v) == len(names[side])}
    result = compare_correct(scores["baseline"], scores["candidate"], seed=seed,
                             baseline_name=", ".join(names["baseline"]), candidate_name=", ".join(names["candidate"]))
    warnings = []
    for key in _SAME_WORK:
        values = {str(s.get(key, "grader 1" if key == "grader_version" else None))
                  for side in settings.values() for s in side}
        if len(values) > 1:
            warnings.append(f"the evals differ in {key} ({', '.join(sorted(values))}): not the same work on both sides")
    if result.n == 0:
        warnings.append("the evals share no problem")
    return {**result.to_dict(), "warnings": warnings}


def describe(result: dict) -> str:
    """The comparison in words; the verdict follows the interval, never the point estimate."""
    lo, hi = result["diff_ci95"]
    change = f"{100 * result['diff']:+.1f} points [95% CI {100 * lo:+.1f}, {100 * hi:+.1f}]"
    if result["verdict"] == "better":
        what = f"the candidate is better: {change}"
    elif result["verdict"] == "worse":
        what = f"the candidate is worse: {change}"
    else:
        what = f"no significant difference: {change}; the interval includes 0 or the exact test does not reject"
    return f"{what}; exact McNemar p = {result['mcnemar_p']:.4g} ({result['fixed']} fixed, {result['broke']} broke)"
