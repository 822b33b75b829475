"""Paired comparison of two models on the same problems: what a reviewer asks of a "CFT beats SFT" claim.

Two evals of the same benchmark items are compared item by item, never as two independent proportions:
- with one seed a side, the exact McNemar test on the discordant pairs (``fixed``: baseline wrong, candidate right; ``broke``: the
  reverse): under the null the discordant pairs split 50/50, so the two-sided p-value is a binomial test;
- a paired bootstrap 95% interval of the difference in accuracy, resampling items (percentile method);
- the verdict follows the interval: a winner only when it excludes zero. The percentile bootstrap cannot see
  uncertainty it has no sample of (4 items all fixed resample to exactly +100 points), so a winner also needs the
  paired test to agree (p < 0.05); when the two disagree, there is no verdict.

Several seeds (one eval per seed on a side): each item's score is its mean correctness over that side's seeds.
``fixed``/``broke`` count the items whose mean rose or fell, the interval resamples items from the per-item
differences (so seed noise and item noise both widen it), and the p-value comes from a paired sign-flip
permutation test of those differences, which reduces to the exact McNemar test when each side has one seed.
Thresholding each side's items at a majority of seeds first, as a shortcut, is biased: with two seeds a tie
(1 of 2) reads as wrong, so the side with more (or an even number of) seeds loses items it half got right.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
PERMUTATION_RESAMPLES = 20_000
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
    test: str = "exact McNemar"

    @property
    def verdict(self) -> str:
        """"better", "worse" or "no difference": by the interval (and the paired test), never the point estimate."""
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


def sign_flip_p(diffs, *, resamples: int = PERMUTATION_RESAMPLES, seed: int = 0) -> float:
    """Two-sided p-value of a paired sign-flip permutation test that the mean per-item difference is 0.

    Items with no difference cannot change the statistic under a flip and are left out; the test is exact
    (every sign pattern) up to 16 items that differ, and a seeded Monte Carlo of ``resamples`` patterns beyond.
    On differences in {-1, 0, 1} (one seed a side) it is the exact two-sided McNemar / sign test.
    """
    d = np.asarray(diffs, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    from scipy.stats import permutation_test

    result = permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided",
                              n_resamples=(2 ** d.size) if d.size <= 16 else resamples, vectorized=True,
                              random_state=np.random.default_rng(seed))
    return float(min(1.0, result.pvalue))


def compare_correct(baseline: dict[str, list[bool]], candidate: dict[str, list[bool]], *, seed: int = 0,
                    baseline_name: str = "", candidate_name: str = "") -> PairedComparison:
    """Compare on the items both sides have; each value is that item's correctness under one or more seeds.

    With one seed per side this is the classic paired comparison: correct counts, fixed/broke discordant pairs
    and the exact McNemar test. With several, an item's score is its mean over seeds; the correct counts are the
    mean number right per seed, ``fixed``/``broke`` the items whose mean rose/fell, and the p-value the paired
    sign-flip permutation test of the per-item differences (``test`` says which test gave ``mcnemar_p``).
    """
    shared = sorted(set(baseline) & set(candidate))
    if not shared:
        return PairedComparison(0, 0, 0, 0, 0, 0.0, (0.0, 0.0), 1.0, baseline_name, candidate_name)
    b = np.array([np.mean(baseline[k]) for k in shared])
    c = np.array([np.mean(candidate[k]) for k in shared])
    d = c - b
    fixed, broke = int(np.sum(d > 0)), int(np.sum(d < 0))
    one_seed = all(len(baseline[k]) == 1 and len(candidate[k]) == 1 for k in shared)
    if one_seed:
        counts, p, test = (int(b.sum()), int(c.sum())), mcnemar_exact(fixed, broke), "exact McNemar"
    else:
        counts = (round(float(b.sum()), 2), round(float(c.sum()), 2))
        p, test = sign_flip_p(d, seed=seed), "paired permutation"
    return PairedComparison(
        n=len(shared), baseline_correct=counts[0], candidate_correct=counts[1], fixed=fixed, broke=broke,
        diff=float(np.mean(d)), diff_ci95=paired_bootstrap_ci(d, seed=seed), mcnemar_p=p,
        baseline=baseline_name, candidate=candidate_name, test=test,
    )


def paired_test_name(result: dict) -> str:
    """The paired test that gave a comparison's p-value, for a label: "exact McNemar" or "paired permutation"."""
    return result.get("test") or "exact McNemar"


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
        what = f"no significant difference: {change}; the interval includes 0 or the paired test does not reject"
    return (f"{what}; {paired_test_name(result)} p = {result['mcnemar_p']:.4g} "
            f"({result['fixed']} fixed, {result['broke']} broke)")


def comparison_lines(result: dict) -> list[str]:
    """The comparison as ``python -m cft compare`` prints it: sides, shared problems, counts, fixed/broke, the
    difference with its paired bootstrap interval, the paired test's p-value, the verdict, then any warning."""
    lo, hi = result["diff_ci95"]
    return [f"baseline:  {result['baseline']}", f"candidate: {result['candidate']}",
            f"shared problems: {result['n']}",
            f"correct: baseline {result['baseline_correct']}, candidate {result['candidate_correct']}",
            f"fixed {result['fixed']}, broke {result['broke']}",
            f"difference: {100 * result['diff']:+.1f} points, paired bootstrap 95% CI [{100 * lo:+.1f}, {100 * hi:+.1f}]",
            f"{paired_test_name(result)} p = {result['mcnemar_p']:.4g}", describe(result),
            *(f"WARNING: {w}" for w in result["warnings"])]
