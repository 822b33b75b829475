"""Splits: training never sees a test item, validation never meets the reported items, by content not by name."""

from __future__ import annotations

import pytest

from cft.data import splits
from cft.data.benchmarks import load_benchmark
from cft.errors import UserError


def test_gsm8k_train_and_val_partition_the_training_file():
    train = load_benchmark("gsm8k_train")
    val = load_benchmark("gsm8k_val")
    assert len(train) + len(val) == 7473
    assert splits.overlap([p.question for p in train], [p.question for p in val]) == 0


@pytest.mark.parametrize("reported", list(splits.VALIDATION))
def test_every_validation_set_is_disjoint_from_its_reported_benchmark(reported):
    counts = splits.check_disjoint(splits.validation_for(reported), [reported])
    assert counts == {reported: 0}


def test_math500_val_comes_from_math_test_outside_math500():
    val = [p.question for p in load_benchmark("math500_val")]
    assert splits.overlap(val, [p.question for p in load_benchmark("math_test")]) == len(val) == 500
    assert splits.overlap(val, [p.question for p in load_benchmark("math500")]) == 0


def test_selecting_on_the_reported_benchmark_is_refused():
    with pytest.raises(UserError, match="validation set"):
        splits.check_disjoint("math500", ["math500"], limit=20)
    # MATH-500 items are MATH test items: picking on the full MATH test while reporting MATH-500 leaks too.
    with pytest.raises(UserError, match="math500"):
        splits.check_disjoint("math_test", ["math500"])


def test_test_items_are_recognised_whatever_the_spacing_or_case():
    q = load_benchmark("gsm8k", limit=1)[0].question
    assert splits.test_item_of(q) == "gsm8k"
    assert splits.test_item_of("  " + q.upper().replace(" ", "\n ") + " ") == "gsm8k"
    assert splits.test_item_of(load_benchmark("math500", limit=1)[0].question) in ("math_test", "math500")
    assert splits.test_item_of(load_benchmark("arith", limit=1)[0].question) == "arith"
    assert splits.test_item_of(load_benchmark("gsm8k_train", limit=1)[0].question) is None
    assert splits.test_item_of(load_benchmark("arith_train", limit=1)[0].question) is None


def test_training_sources_hold_no_test_item_except_upstream_duplicates():
    for source in ("gsm8k_train", "gsm8k_val", "arith_train", "arith_val"):
        assert not [p.id for p in load_benchmark(source) if splits.test_item_of(p.question)], source
    # MATH's own train split repeats one MATH test problem (the equilateral triangle with vertices (0,0), (a,11),
    # (b,37)): found here, so example building drops it instead of training on a test item.
    dupes = [p.id for p in load_benchmark("math_train") if splits.test_item_of(p.question)]
    assert dupes == ["math_train/2948"]


def test_no_validation_for_an_unregistered_benchmark():
    with pytest.raises(UserError, match="no validation set"):
        splits.validation_for("minerva")
