"""Agreement statistics, against published worked examples and scipy: Cohen's kappa (Wikipedia's 2x2 examples),
Fleiss' kappa (Fleiss 1971 as worked on Wikipedia: 10 subjects, 14 raters, kappa 0.210), Wilson intervals (scipy's
binomtest), the bootstrap CI, the annotator/teacher/verifier agreement, the disagreement queue and the teacher's
error rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cft.data import agreement as ag
from cft.data.samples import Sample
from cft.evaluate.stats import wilson_interval as eval_wilson


def _labels(table):
    """Two raters' labels from a 2x2 table [[yes/yes, yes/no], [no/yes, no/no]] (rows: rater A)."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            a += [i] * n
            b += [j] * n
    return a, b


@pytest.mark.parametrize("table, kappa", [([[20, 5], [10, 15]], 0.4), ([[45, 15], [25, 15]], 0.1304),
                                          ([[25, 35], [5, 35]], 0.2593)])
def test_cohen_kappa_matches_the_published_examples(table, kappa):
    a, b = _labels(table)
    assert ag.cohen_kappa(a, b) == pytest.approx(kappa, abs=5e-5)
    assert ag.cohen_kappa(b, a) == pytest.approx(kappa, abs=5e-5)  # symmetric
    assert ag.cohen_kappa(a, a) == 1.0
    assert math.isnan(ag.cohen_kappa([1, 1, 1], [1, 1, 1]))  # one label only: undefined, not 1 or 0


FLEISS_1971 = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
               [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_fleiss_kappa_matches_the_worked_example_and_ignores_single_ratings():
    assert ag.fleiss_kappa(FLEISS_1971) == pytest.approx(0.20993, abs=5e-5)
    assert ag.fleiss_kappa(FLEISS_1971 + [[0, 0, 1, 0, 0]]) == pytest.approx(0.20993, abs=5e-5)
    # With two raters per subject Fleiss' kappa is Scott's pi: (po - pe) / (1 - pe) with pooled marginals.
    a, b = _labels([[20, 5], [10, 15]])
    counts = [[int(x == 0) + int(y == 0), int(x == 1) + int(y == 1)] for x, y in zip(a, b)]
    pooled = (np.array([sum(r[0] for r in counts), sum(r[1] for r in counts)]) / 100)
    po, pe = 35 / 50, float((pooled ** 2).sum())
    assert ag.fleiss_kappa(counts) == pytest.approx((po - pe) / (1 - pe))


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (21, 120), (1, 1)])
def test_wilson_interval_matches_scipy(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert ag.wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert eval_wilson(k, n) == ag.wilson_interval(k, n)  # one interval everywhere
    low, high = ag.wilson_interval(k, n)
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)  # exact at the ends, inside (0, 1) elsewhere


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError):
        ag.wilson_interval(11, 10)


def _sample(i, teacher="right", source="s1", teacher_model="gpt", ref="12", answer="12"):
    critique = f"Checked.\n\nConclusion: {teacher} [END]"
    return Sample(id=i, question=f"q{i}", response=f"so the answer is {answer}", critique=critique,
                  original_critique=critique, reference_answer=ref, source=source, teacher=teacher_model)


def _items(rows):
    """rows: (sample, {annotator: verdict}, adjudication or None)."""
    reviews = []
    for s, verdicts, adj in rows:
        for t, (who, v) in enumerate(verdicts.items()):
            reviews.append({"sample_id": s.id, "annotator": who, "kind": "review", "verdict": v,
                            "first_wrong_step": None, "at": float(t)})
        if adj:
            reviews.append({"sample_id": s.id, "annotator": "lead", "kind": "adjudication", "verdict": adj,
                            "first_wrong_step": None, "at": 9.0})
    return ag.collect([r[0] for r in rows], reviews)


def test_kappa_summary_uses_cohen_for_two_annotators_with_a_bootstrap_ci():
    a, b = _labels([[20, 5], [10, 15]])
    names = ("right", "wrong")
    items = _items([(_sample(i), {"ann": names[x], "bob": names[y]}, None) for i, (x, y) in enumerate(zip(a, b))]
                   + [(_sample(99), {"ann": "right"}, None)])  # one review only: not counted
    got = ag.kappa_summary(items, n_resamples=500)
    assert (got.method, got.samples, got.annotators) == ("cohen", 50, ["ann", "bob"])
    assert got.value == pytest.approx(0.4) and got.observed == pytest.approx(0.7)
    lo, hi = got.ci
    assert lo < 0.4 < hi and 0.1 < lo and hi < 0.7
    # The same resampling done by hand with numpy gives about the same interval.
    rng = np.random.default_rng(1)
    a, b = np.array(a), np.array(b)
    boot = [ag.cohen_kappa(a[idx], b[idx], (0, 1)) for idx in (rng.integers(0, 50, 50) for _ in range(2000))]
    assert (lo, hi) == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), abs=0.06)
    assert ag.kappa_summary(items, n_resamples=500).ci == got.ci  # seeded: the page does not flicker


def test_kappa_summary_uses_fleiss_for_more_annotators():
    rows = []
    for i, row in enumerate(FLEISS_1971):  # reuse the worked example's first two categories as right/wrong
        votes = ["right"] * row[0] + ["wrong"] * (row[1] + row[2])
        if len(votes) >= 2:
            rows.append((_sample(i), {f"a{j}": v for j, v in enumerate(votes)}, None))
    items = _items(rows)
    got = ag.kappa_summary(items, n_resamples=200)
    counts = [[sum(v == "right" for v in it.verdicts.values()), sum(v == "wrong" for v in it.verdicts.values())]
              for it in items]
    assert got.method == "fleiss" and got.value == pytest.approx(ag.fleiss_kappa(counts))
    assert got.ci is None or got.ci[0] <= got.value <= got.ci[1]
    assert ag.kappa_summary([]).method == "none"


def test_reference_agreement_teacher_and_verifier():
    items = _items([
        (_sample(1, teacher="right", answer="12"), {"ann": "right", "bob": "right"}, None),
        (_sample(2, teacher="right", answer="13"), {"ann": "wrong", "bob": "right"}, None),
        (_sample(3, teacher="wrong", answer="13"), {"ann": "wrong"}, None),
        (_sample(4, teacher="wrong", ref=None), {"ann": "right"}, None),
    ])
    got = ag.reference_agreement(items)  # the real verifier: 12 == 12, 13 != 12, no reference -> not counted
    assert got["ann"]["teacher"]["n"] == 4 and got["ann"]["teacher"]["agree"] == 2
    assert got["ann"]["verifier"]["n"] == 3 and got["ann"]["verifier"]["agree"] == 3
    assert got["bob"]["verifier"] == {**got["bob"]["verifier"], "n": 2, "agree": 1}
    assert got["ann"]["teacher"]["ci"] == ag.wilson_interval(2, 4)
    fake = ag.reference_agreement(items, verifier=lambda s: "wrong")
    assert fake["ann"]["verifier"]["agree"] == 2
    assert ag.verifier_verdict(_sample(5, ref="\\frac{1}{2}", answer="0.5")) == "right"


def test_disagreements_and_labels():
    items = _items([
        (_sample(1), {"ann": "right", "bob": "wrong"}, None),
        (_sample(2), {"ann": "right", "bob": "wrong"}, "wrong"),
        (_sample(3), {"ann": "wrong", "bob": "wrong", "cy": "right"}, None),
        (_sample(4), {"ann": "wrong"}, None),
    ])
    assert [it.sample.id for it in ag.disagreements(items)] == [1, 3]
    assert [it.label for it in items] == [None, "wrong", "wrong", "wrong"]


def test_teacher_error_rate_overall_per_teacher_and_per_source():
    rows = []
    for i in range(20):  # teacher says right on all; humans say wrong on 5 (3 from gpt/s1, 2 from llama/s2)
        model, source = ("gpt", "s1") if i < 12 else ("llama", "s2")
        wrong = i in (0, 1, 2, 12, 13)
        rows.append((_sample(i, teacher_model=model, source=source), {"ann": "wrong" if wrong else "right"}, None))
    rows.append((_sample(50), {"ann": "right", "bob": "wrong"}, None))  # a tie: no label yet
    no_teacher = _sample(51)
    no_teacher.original_critique = "no conclusion here"
    rows.append((no_teacher, {"ann": "wrong"}, None))
    got = ag.teacher_error(_items(rows))
    assert got["overall"] == {"n": 20, "errors": 5, "rate": 0.25, "ci": ag.wilson_interval(5, 20)}
    assert got["by_teacher"]["gpt"]["errors"] == 3 and got["by_teacher"]["llama"]["n"] == 8
    assert got["by_source"]["s2"]["rate"] == pytest.approx(2 / 8)
    assert (got["no_label"], got["no_teacher_verdict"]) == (1, 1)
    ci = stats.binomtest(5, 20).proportion_ci(method="wilson")
    assert got["overall"]["ci"] == pytest.approx((ci.low, ci.high))


def test_bootstrap_leaves_out_undefined_resamples_of_a_small_set():
    pairs = [("wrong", "right"), ("right", "right"), ("wrong", "wrong"), ("right", "wrong"), ("right", "right")]
    items = _items([(_sample(i), {"ann": x, "bob": y}, None) for i, (x, y) in enumerate(pairs)])
    got = ag.kappa_summary(items, n_resamples=400)
    assert got.value == pytest.approx(ag.cohen_kappa([x for x, _ in pairs], [y for _, y in pairs]))
    assert got.ci is not None and -1 <= got.ci[0] <= got.value <= got.ci[1] <= 1
    same = _items([(_sample(i), {"ann": "right", "bob": "right"}, None) for i in range(4)])
    assert ag.kappa_summary(same).ci is None and math.isnan(ag.kappa_summary(same).value)


def test_disagreements_wait_for_all_k_reviews():
    items = _items([(_sample(1), {"ann": "right", "bob": "wrong"}, None),
                    (_sample(2), {"ann": "right", "bob": "wrong", "cy": "wrong"}, None)])
    assert [it.sample.id for it in ag.disagreements(items, 3)] == [2]
    assert [it.sample.id for it in ag.disagreements(items, 2)] == [1, 2]


def test_kappa_of_thousands_of_samples_bootstraps_quickly():
    import time

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 5000)
    a = np.where(rng.random(5000) < 0.9, truth, 1 - truth)
    b = np.where(rng.random(5000) < 0.9, truth, 1 - truth)
    names = ("right", "wrong")
    items = _items([(_sample(i), {"ann": names[x], "bob": names[y]}, None) for i, (x, y) in enumerate(zip(a, b))])
    start = time.perf_counter()
    got = ag.kappa_summary(items)
    assert time.perf_counter() - start < 10
    assert got.value == pytest.approx(ag.cohen_kappa(list(a), list(b)))
    assert got.ci[1] - got.ci[0] < 0.06  # n = 5000: a narrow interval


def test_step_agreement_counts_pairs_of_labels():
    items = _items([(_sample(1), {"a": "wrong", "b": "wrong", "c": "wrong"}, None),
                    (_sample(2), {"a": "right", "b": "wrong"}, None)])
    items[0].steps = {"a": 2, "b": 2, "c": 3}  # pairs: a-b same, a-c and b-c differ
    items[1].steps = {"a": 0, "b": None}  # one label: no pair
    got = ag.step_agreement(items)
    assert (got["pairs"], got["agree"]) == (3, 1) and got["ci"] == ag.wilson_interval(1, 3)
    assert ag.step_agreement([])["pairs"] == 0
