"""Paired statistics: exact McNemar, the paired bootstrap interval, and ``python -m cft compare``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cft import jobs
from cft.__main__ import main
from cft.evaluate.config import eval_dir
from cft.evaluate.paired import compare_correct, compare_evals, mcnemar_exact, paired_bootstrap_ci, sign_flip_p


def _eval(name: str, correct: dict[str, bool], **summary) -> None:
    d = eval_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    (d / "results.jsonl").write_text("".join(json.dumps({"id": k, "correct": v, "output": "x"}) + "\n"
                                             for k, v in correct.items()))
    jobs.write_json_atomic(d / "summary.json", {"benchmark": "gsm8k", "prompt_policy": "system",
                                                "max_new_tokens": 256, "greedy": True, **summary})


def _pair(n=100, base_right=40, fixed=15, broke=5):
    """Baseline right on the first ``base_right`` items; the candidate breaks ``broke`` of them and fixes ``fixed``."""
    base = {f"p{i}": i < base_right for i in range(n)}
    cand = {f"p{i}": (i >= broke) if i < base_right else (i < base_right + fixed) for i in range(n)}
    return base, cand


def test_mcnemar_matches_the_binomial_and_known_values():
    from scipy.stats import binom

    assert mcnemar_exact(15, 5) == pytest.approx(0.0414, abs=0.001)
    assert mcnemar_exact(15, 5) == pytest.approx(2 * binom.cdf(5, 20, 0.5))
    assert mcnemar_exact(5, 15) == mcnemar_exact(15, 5)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5 ** 10)


def test_bootstrap_interval_covers_the_mean_and_matches_a_hand_bootstrap():
    rng = np.random.default_rng(1)
    d = rng.choice([-1.0, 0.0, 0.0, 1.0, 1.0], size=300)
    lo, hi = paired_bootstrap_ci(d, resamples=4000, seed=3)
    means = d[np.random.default_rng(7).integers(0, d.size, (4000, d.size))].mean(axis=1)
    assert lo < d.mean() < hi
    assert lo == pytest.approx(np.percentile(means, 2.5), abs=0.02)
    assert hi == pytest.approx(np.percentile(means, 97.5), abs=0.02)
    assert paired_bootstrap_ci(np.zeros(10)) == (0.0, 0.0)


def test_verdict_follows_the_interval_not_the_point_estimate():
    base, cand = _pair(fixed=15, broke=5)
    strong = compare_correct({k: [v] for k, v in base.items()}, {k: [v] for k, v in cand.items()})
    assert strong.diff == pytest.approx(0.10) and strong.verdict == "better" and strong.diff_ci95[0] > 0
    base, cand = _pair(fixed=4, broke=2)
    weak = compare_correct({k: [v] for k, v in base.items()}, {k: [v] for k, v in cand.items()})
    assert weak.diff > 0 and weak.verdict == "no difference" and weak.diff_ci95[0] < 0 < weak.diff_ci95[1]


def test_compare_cli_json_for_100_shared_15_fixed_5_broke(capsys):
    base, cand = _pair()
    base["only-in-baseline"] = True  # not shared: ignored
    _eval("sft", base)
    _eval("cft", cand)
    assert main(["compare", "sft", "cft", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("n", "baseline_correct", "candidate_correct", "fixed", "broke")} == \
        {"n": 100, "baseline_correct": 40, "candidate_correct": 50, "fixed": 15, "broke": 5}
    assert out["diff"] == pytest.approx(0.10)
    assert out["mcnemar_p"] == pytest.approx(0.0414, abs=0.001)
    assert out["diff_ci95"][0] > 0 and out["diff_ci95"][1] > out["diff"]
    assert out["warnings"] == []
    assert main(["compare", "sft", "cft"]) == 0
    text = capsys.readouterr().out
    assert "shared problems: 100" in text and "fixed 15, broke 5" in text and "McNemar p = 0.04139" in text


def test_compare_warns_when_the_work_differs(capsys):
    base, cand = _pair()
    _eval("a", base, prompt_policy="none")
    _eval("b", cand, max_new_tokens=1024, grader_version="2")
    result = compare_evals("a", "b")
    joined = " ".join(result["warnings"])
    assert "prompt_policy" in joined and "max_new_tokens" in joined and "grader_version" in joined


def test_several_seeds_a_side_average_per_item():
    base, cand = _pair()
    _eval("s0", base)
    _eval("s1", base)
    _eval("c0", cand)
    _eval("c1", {k: True for k in cand})
    result = compare_evals(["s0", "s1"], ["c0", "c1"])
    assert result["n"] == 100
    # Each item scores its mean over the seeds; the counts are the mean number right per seed.
    assert result["candidate_correct"] == 75 and result["baseline_correct"] == 40
    assert result["diff"] == pytest.approx(((50 + 100) / 2 - 40) / 100)
    assert (result["fixed"], result["broke"]) == (60, 5)  # items whose mean rose / fell
    assert result["test"] == "paired permutation" and result["mcnemar_p"] < 1e-4


def test_sign_flip_test_is_exact_mcnemar_on_one_seed_differences():
    for fixed, broke, zeros in [(15, 5, 80), (3, 0, 10), (7, 6, 0), (0, 0, 5)]:
        diffs = [1.0] * fixed + [-1.0] * broke + [0.0] * zeros
        assert sign_flip_p(diffs) == pytest.approx(mcnemar_exact(fixed, broke), rel=1e-9 if fixed + broke <= 16
                                                   else 0.05)


def test_two_seeds_are_not_penalised_for_disagreeing():
    # Baseline one seed right on 50 of 100; candidate seeds right on 60 each, agreeing on only 20. A majority
    # rule would score the candidate 20 right and call it worse; its real mean accuracy is 60%.
    base = {f"p{i}": [i < 50] for i in range(100)}
    cand = {f"p{i}": [i < 60, i >= 40] for i in range(100)}
    result = compare_correct(base, cand)
    assert result.candidate_correct == 60 and result.baseline_correct == 50
    assert result.diff == pytest.approx(0.10)
    assert result.verdict != "worse"
    same = compare_correct(base, {k: [v[0], v[0]] for k, v in base.items()})
    assert same.diff == 0 and same.mcnemar_p == 1.0 and (same.fixed, same.broke) == (0, 0)


def test_compare_errors_are_clear(capsys):
    assert main(["compare", "nope", "other"]) == 2
    assert "eval 'nope' does not exist" in capsys.readouterr().err  # not "no results": there is no such eval
    assert main(["compare", "a"]) == 2
    capsys.readouterr()


def test_compare_reads_evals_by_name_never_a_path(tmp_path, capsys):
    outside = tmp_path / "secret.jsonl"
    outside.write_text(json.dumps({"id": "p0", "correct": True}) + "\n")
    _eval("inside", {"p0": False})
    assert main(["compare", str(outside), "inside"]) == 2
    err = capsys.readouterr().err
    assert "eval name" in err and "p0" not in err
    from cft.errors import UserError
    from cft.evaluate.results import rows_by_id

    with pytest.raises(UserError, match="eval name"):
        rows_by_id(str(outside))


def test_a_degenerate_interval_needs_the_exact_test_to_agree():
    # Four items, all fixed: every bootstrap resample is +100 points, but four discordant pairs prove little.
    few = compare_correct({str(i): [False] for i in range(4)}, {str(i): [True] for i in range(4)})
    assert few.diff_ci95 == (1.0, 1.0) and few.mcnemar_p == pytest.approx(0.125)
    assert few.verdict == "no difference"
    many = compare_correct({str(i): [False] for i in range(12)}, {str(i): [True] for i in range(12)})
    assert many.mcnemar_p < 0.05 and many.verdict == "better"
