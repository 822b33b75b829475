"""Keyset paging, the prev/next walk and the maintained counts, checked against the raw rows, on both backends.

The expected order and totals are computed here in Python from the table's rows (read with one plain SELECT), so
every page the planner assembles from its index cells is compared with an independent answer.
"""

from __future__ import annotations

import json
import random

import pytest

from cft.data.samples import Sample
from cft.data.store import Store, counts as store_counts, plan
from cft.data.store.queries import key_of

FLAGS = ("no_conclusion", "empty_or_truncated", "arithmetic_error_missed")
STATUSES = ("uncritiqued", "pending", "draft", "reviewed", "discarded")


@pytest.fixture
def store(store_url):
    """300 samples in "d" (and 40 in "e") with random statuses, verdicts, flags and sources; then 60 edits, so
    updated_at and the flags move after the import."""
    rng = random.Random(3)
    st = Store()
    assert st.backend == store_url.split(":")[0]

    def sample(i: int) -> Sample:
        flags = {f: "x" for f in FLAGS if rng.random() < 0.2}
        return Sample(question=f"q{i} " + rng.choice(("apples", "pears", "plums")), key=f"k{i}",
                      status=rng.choice(STATUSES), verdict=rng.choice(("right", "wrong", "unknown")), flags=flags,
                      source=rng.choice(("gsm8k", "math", "champ")), created_at=1000.0 + i, updated_at=1000.0 + i)

    st.add_samples("d", [sample(i) for i in range(300)], batch_rows=64)  # a batched, hidden-then-shown import
    st.add_samples("e", [sample(i) for i in range(40)])
    for sid in rng.sample(st.ids("d"), 60):
        s = st.get(sid)
        flags = {f: "y" for f in FLAGS if rng.random() < 0.3}
        st.update(sid, {"status": rng.choice(STATUSES), "flags": flags}, expected_revision=s.revision)
    yield st
    st.close()


def _rows(store, dataset="d") -> list[dict]:
    cols = ("id", "flagged", "updated_at", "status", "verdict", "source", "question", "flags")
    rows = store._db().all(f"SELECT {', '.join(cols)} FROM samples WHERE dataset = ?", (dataset,))
    return [dict(zip(cols, r), flags=json.loads(r[-1])) for r in rows]


def _expected(rows, order, status=None, verdict=None, flag=None, source=None, search=None) -> list[int]:
    def keep(r):
        words = r["question"].lower().split()
        return ((status is None or r["status"] in status) and (verdict is None or r["verdict"] == verdict)
                and (search is None or all(w.lower() in words for w in search.split()))
                and (source is None or r["source"] == source)
                and (flag is None or (flag == "any" and r["flags"]) or (flag == "none" and not r["flags"])
                     or flag in r["flags"]))

    sort = {"id": lambda r: r["id"], "flagged_first": lambda r: (-r["flagged"], r["id"]),
            "updated": lambda r: (-r["updated_at"], -r["id"])}[order]
    return [r["id"] for r in sorted(filter(keep, rows), key=sort)]


CASES = [
    {}, {"status": ["pending"]}, {"status": ["pending", "draft"], "verdict": "wrong"}, {"flag": "any"},
    {"flag": "none"}, {"flag": "no_conclusion"}, {"flag": "no_conclusion", "status": ["reviewed", "pending"]},
    {"source": "math"}, {"source": "math", "flag": "empty_or_truncated"}, {"verdict": "unknown", "flag": "any"},
    {"status": ["draft"], "source": "champ", "verdict": "right"}, {"flag": "never_raised"},
    {"search": "apples"}, {"search": "Apples", "status": ["pending", "reviewed"], "flag": "any"},
    {"search": "pears", "flag": "no_conclusion", "source": "gsm8k"}, {"search": "q17 plums"}, {"search": "kiwis"},
]


@pytest.mark.parametrize("order", ["id", "flagged_first", "updated"])
@pytest.mark.parametrize("read_whole", [True, False], ids=["searches-read-whole", "searches-by-cells"])
def test_pages_by_key_match_the_rows_in_every_order_and_filter(store, order, read_whole, monkeypatch):
    if not read_whole:  # searches with this many matches page through the cells, as common words do
        monkeypatch.setattr(plan, "SEARCH_ALL", 1)
    rows = _rows(store)
    for case in CASES if read_whole else [c for c in CASES if "search" in c]:
        want = _expected(rows, order, **case)
        first = store.page("d", order=order, limit=7, **case)
        counted = (len(want), True) if read_whole or not want else (plan.SEARCH_COUNT_CAP, False)
        assert (first.total, first.exact) == counted, case
        got, page = [], first
        while page.samples:  # forward, by the last row's key
            got += [s.id for s in page.samples]
            page = store.page("d", order=order, limit=7, after=page.last, **case)
        assert got == want, (order, case)
        back, page = [], store.page("d", order=order, limit=7, last=True, **case)
        while page.samples:  # backward from the last page, by the first row's key
            back = [s.id for s in page.samples] + back
            page = store.page("d", order=order, limit=7, before=page.first, **case)
        assert back == want, (order, case)
        if len(want) > 10:  # re-reading a page from its first row's key, and a jump by offset
            again = store.page("d", order=order, limit=7, at=key_of(first.samples[3]), **case)
            assert [s.id for s in again.samples] == want[3:10]
            assert [s.id for s in store.page("d", order=order, limit=4, offset=5, **case).samples] == want[5:9]


@pytest.mark.parametrize("order", ["id", "flagged_first", "updated"])
def test_the_walk_visits_every_match_in_order_both_ways(store, order):
    rows = _rows(store)
    for case in ({}, {"status": ["pending"]}, {"flag": "any"}, {"flag": "arithmetic_error_missed"},
                 {"search": "plums", "flag": "none"}):
        want = _expected(rows, order, **case)
        walk, sid = [], store.neighbor("d", None, +1, order=order, **case)
        while sid is not None:
            walk.append(sid)
            sid = store.neighbor("d", sid, +1, order=order, **case)
        assert walk == want
        back, sid = [], store.neighbor("d", None, -1, order=order, **case)
        while sid is not None:
            back.append(sid)
            sid = store.neighbor("d", sid, -1, order=order, **case)
        assert back == want[::-1]
        if len(want) > 3:
            assert store.neighbor("d", want[0], +3, order=order, **case) == want[3]
    # From a sample outside the filter: the next match after where it sits in the order.
    outside = next(r["id"] for r in rows if r["status"] != "pending")
    ordered = _expected(rows, order)
    later = ordered[ordered.index(outside) + 1:]
    pending = set(_expected(rows, order, status=["pending"]))
    assert store.neighbor("d", outside, +1, order=order, status="pending") == next(
        (i for i in later if i in pending), None)


def test_counts_are_kept_by_every_write_and_match_the_rows(store):
    rows = _rows(store)
    assert store_counts.mismatches(store._db()) == []
    assert store.counts("d") == {**{s: sum(r["status"] == s for r in rows) for s in STATUSES}, "total": 300}
    stats = store.stats("d")
    assert stats["verdict"] == {v: sum(r["verdict"] == v for r in rows) for v in ("right", "wrong", "unknown")}
    assert stats["flags"] == {f: n for f in FLAGS if (n := sum(f in r["flags"] for r in rows))}
    assert store.sources("d") == ["champ", "gsm8k", "math"]
    assert {d["name"]: d["count"] for d in store.datasets()} == {"d": 300, "e": 40}
    assert store.counts()["total"] == 340
    store.delete_dataset("e", confirm="e")
    assert store.counts()["total"] == 300 and store_counts.mismatches(store._db()) == []
