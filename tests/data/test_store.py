"""The sample store on both backends: datasets, filters, search, compare-and-set saves, history and restore."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from cft.errors import UserError
from cft.data.samples import Sample
from cft.data.store import ConflictError, Store, fts_query
from tests.helpers import ROOT



def _samples(n: int, **over) -> list[Sample]:
    out = []
    for i in range(n):
        kw = dict(
            question=f"question {i} about apples" if i % 2 else f"question {i} about pears",
            response=f"response {i}",
            critique=f"critique {i}. Conclusion: {'right' if i % 3 else 'wrong'} [END]",
            verdict="right" if i % 3 else "wrong",
            key=f"k{i}",
            source="gsm8k" if i < n // 2 else "math",
            status="reviewed" if i % 5 == 0 else "pending",
            flags={"no_conclusion": "none"} if i % 4 == 0 else {},
        )
        kw.update(over)
        out.append(Sample(**kw))
    return out


@pytest.fixture
def store(store_url) -> Store:
    s = Store()
    yield s
    s.close()


def test_default_path_is_in_workspace_and_wal(cft_home):
    store = Store()
    assert store.path == cft_home / "samples.db" and store.backend == "sqlite"
    assert store._db().scalar("PRAGMA journal_mode") == "wal"
    store.close()


def test_datasets_create_count_delete(store):
    store.create_dataset("a", "first")
    store.create_dataset("a")  # idempotent, keeps the description
    store.add_samples("b", _samples(3))
    ds = {d["name"]: d for d in store.datasets()}
    assert ds["a"]["count"] == 0 and ds["a"]["description"] == "first"
    assert ds["b"]["count"] == 3
    with pytest.raises(UserError, match="pass its name again"):
        store.delete_dataset("b", confirm="a")
    assert store.query("b")[1] == 3  # nothing deleted
    with pytest.raises(UserError, match="no dataset named"):
        store.delete_dataset("zzz", confirm="zzz")
    assert store.delete_dataset("b", confirm="b") == 3
    assert [d["name"] for d in store.datasets()] == ["a"]
    assert store.query(search="apples")[1] == 0  # FTS rows removed with the samples


def test_add_get_and_key_conflicts(store):
    ids = store.add_samples("d", _samples(4))
    assert len(ids) == 4
    s = store.get(ids[0])
    assert s.revision == 1 and s.dataset == "d" and s.key == "k0" and s.flags == {"no_conclusion": "none"}
    with pytest.raises(UserError, match="no sample with id 999"):
        store.get(999)
    with pytest.raises(UserError, match="'k1'.*already exists"):
        store.add_samples("d", [Sample(question="new", key="x"), Sample(question="dup", key="k1")])
    assert store.query("d")[1] == 4  # all-or-nothing: "x" was not inserted either
    new = store.add_samples("d", [Sample(question="new", key="x"), Sample(question="dup", key="k1")],
                            on_conflict="ignore")
    assert len(new) == 1 and store.get(new[0]).key == "x"
    assert store.keys("d") == {"k0", "k1", "k2", "k3", "x"}
    # The per-dataset count (kept by triggers) agrees with a real count after skipped and rolled-back inserts.
    assert {d["name"]: d["count"] for d in store.datasets()} == {"d": 5} == {"d": store.query("d", flag="none")[1]
                                                                             + store.query("d", flag="any")[1]}
    # The same key in another dataset, and null keys, never collide.
    store.add_samples("other", [Sample(question="q", key="k1"), Sample(question="q"), Sample(question="q")])
    assert store.query("other")[1] == 3


def test_query_filters_orders_and_counts(store):
    store.add_samples("d", _samples(20))
    store.add_samples("e", _samples(5))
    page, total = store.query("d", limit=5)
    assert total == 20 and [s.key for s in page] == ["k0", "k1", "k2", "k3", "k4"]
    page, _ = store.query("d", offset=18, limit=5)
    assert [s.key for s in page] == ["k18", "k19"]
    assert store.query("d", status="reviewed")[1] == 4
    assert store.query("d", verdict="wrong")[1] == 7
    assert store.query("d", verdict=["wrong", "right"])[1] == 20
    assert store.query("d", source="math")[1] == 10
    assert store.query("d", flag="no_conclusion")[1] == 5
    assert store.query("d", flag="any")[1] == 5
    assert store.query("d", flag="none")[1] == 15
    assert store.query("d", flag="missing_flag")[1] == 0
    assert {s.key for s in store.query("d", status="reviewed", verdict="wrong")[0]} == {"k0", "k15"}
    both, n = store.query("d", status="reviewed", verdict="wrong", flag="any")
    assert n == 1 and [s.key for s in both] == ["k0"]
    assert store.query(None)[1] == 25  # all datasets
    flagged_first = store.ids("d", order="flagged_first")
    assert [store.get(i).key for i in flagged_first[:5]] == ["k0", "k4", "k8", "k12", "k16"]
    assert len(flagged_first) == 20
    counts = store.counts("d")
    assert counts == {"uncritiqued": 0, "pending": 16, "draft": 0, "reviewed": 4, "discarded": 0, "total": 20}
    stats = store.stats("d")
    assert stats["verdict"] == {"right": 13, "wrong": 7, "unknown": 0}
    assert stats["flags"] == {"no_conclusion": 5}
    assert store.stats()["flags"] == {"no_conclusion": 7}
    # Flag filters follow status/verdict edits of flagged samples.
    k4 = store.ids("d", flag="no_conclusion")[1]
    assert store.get(k4).status == "pending"
    store.update(k4, {"status": "discarded", "verdict": "wrong"}, expected_revision=1)
    assert store.ids("d", flag="no_conclusion", status="discarded", verdict="wrong") == [k4]
    assert k4 not in store.ids("d", flag="no_conclusion", status="pending")
    store.update(k4, {"flags": {}}, expected_revision=2)
    assert store.ids("d", flag="no_conclusion", status="discarded") == [] and store.stats("d")["flags"] == {
        "no_conclusion": 4}
    store.update(k4, {"status": "pending", "verdict": "right", "flags": {"no_conclusion": "none"}},
                 expected_revision=3)
    # order="updated": the last saved comes first.
    target = store.ids("d")[7]
    store.update(target, {"status": "draft"}, expected_revision=1)
    assert store.ids("d", order="updated")[1] == k4
    assert store.ids("d", order="updated")[0] == target
    with pytest.raises(UserError, match="order must be one of"):
        store.query("d", order="random")


def test_search_is_fts_and_never_a_syntax_error(store):
    store.add_samples("d", _samples(10))
    store.add_samples("d", [Sample(question='weird "quoted" AND (paren) text* = 42', key="w")])
    assert store.query("d", search="apples")[1] == 5
    assert store.query("d", search="APPLES question")[1] == 5  # tokens ANDed, case-insensitive
    assert store.query("d", search="apples pears")[1] == 0
    assert store.query("d", search="critique 3")[1] == 1
    assert store.query("d", search="")[1] == 11 and store.query("d", search="   ")[1] == 11
    for nasty in ['"', '"quoted', "AND", "(paren", "text*", "NEAR(", "a OR", "*", "^", "-", "col:x", "'"]:
        page, total = store.query("d", search=nasty)
        assert total >= 0  # no exception
    assert store.query("d", search='"quoted')[1] == 1
    assert store.query("d", search="AND (paren")[1] == 1
    assert store.query("d", search="=")[1] == 1  # punctuation only: substring fallback
    assert fts_query('say "hi" AND') == '"say" """hi""" "AND"'
    # FTS stays in sync with edits.
    sid = store.ids("d", search="pears")[0]
    store.update(sid, {"question": "now about bananas"}, expected_revision=1)
    assert store.ids("d", search="bananas") == [sid]
    assert sid not in store.ids("d", search="pears")


def test_update_history_and_restore(store):
    (sid,) = store.add_samples("d", [Sample(question="q", critique="c1. Conclusion: right [END]", verdict="right")])
    s2 = store.update(sid, {"critique": "c2", "verdict": "wrong", "flags": {"x": "y"}}, expected_revision=1,
                      annotator="ann")
    assert s2.revision == 2 and s2.annotator == "ann" and s2.updated_at >= s2.created_at
    assert store.query("d", flag="x")[1] == 1
    s3 = store.update(sid, {"status": "reviewed", "critique": "c2"}, expected_revision=2, annotator="bob")
    assert s3.revision == 3
    same = store.update(sid, {"status": "reviewed"}, expected_revision=3)  # nothing changed: no new revision
    assert same.revision == 3
    hist = store.history(sid)
    assert [(h["revision"], h["field"]) for h in hist] == [
        (1, "created"), (2, "critique"), (2, "verdict"), (2, "flags"), (3, "status")]
    assert hist[3]["old"] == {} and hist[3]["new"] == {"x": "y"} and hist[4]["annotator"] == "bob"
    r1 = store.at_revision(sid, 1)
    assert (r1.critique, r1.verdict, r1.flags, r1.status, r1.revision) == (
        "c1. Conclusion: right [END]", "right", {}, "pending", 1)
    assert store.at_revision(sid, 2).status == "pending" and store.at_revision(sid, 2).critique == "c2"
    with pytest.raises(UserError, match="revisions 1..3"):
        store.at_revision(sid, 4)
    with pytest.raises(ConflictError):
        store.restore(sid, 1, expected_revision=2)
    r4 = store.restore(sid, 1, expected_revision=3, annotator="carol")
    assert r4.revision == 4 and r4.critique == "c1. Conclusion: right [END]" and r4.flags == {} \
        and r4.status == "pending" and r4.annotator == "carol"
    assert store.query("d", flag="x")[1] == 0
    assert len(store.history(sid)) == 5 + 4  # restore appended, nothing rewritten
    assert store.at_revision(sid, 3).critique == "c2"
    with pytest.raises(UserError, match="cannot update"):
        store.update(sid, {"revision": 9}, expected_revision=4)
    with pytest.raises(UserError, match="status must be one of"):
        store.update(sid, {"status": "nope"}, expected_revision=4)


def test_conflict_between_two_store_objects(store_url):
    a, b = Store(), Store()
    (sid,) = a.add_samples("d", [Sample(question="q", critique="orig")])
    loaded_a, loaded_b = a.get(sid), b.get(sid)
    a.update(sid, {"critique": "alice"}, expected_revision=loaded_a.revision, annotator="alice")
    with pytest.raises(ConflictError) as info:
        b.update(sid, {"critique": "bob"}, expected_revision=loaded_b.revision, annotator="bob")
    err = info.value
    assert (err.sample_id, err.expected_revision, err.current_revision) == (sid, 1, 2)
    assert err.current.critique == "alice"
    msg = str(err)
    assert f"sample {sid}" in msg and "revision 1" in msg and "revision 2" in msg and "alice" in msg
    assert b.get(sid).critique == "alice"  # nothing overwritten
    assert [h["field"] for h in b.history(sid)] == ["created", "critique"]
    a.close(), b.close()


def test_concurrent_threads_only_one_wins(store):
    (sid,) = store.add_samples("d", [Sample(question="q")])
    barrier = threading.Barrier(8)
    results: list[str] = []

    def save(i: int) -> None:
        barrier.wait()
        try:
            store.update(sid, {"critique": f"from {i}"}, expected_revision=1, annotator=f"t{i}")
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    final = store.get(sid)
    assert final.revision == 2 and final.critique == f"from {final.annotator[1:]}"


def test_concurrent_processes_only_one_wins(store):
    (sid,) = store.add_samples("d", [Sample(question="q")])
    code = (
        "import sys\nfrom cft.data.store import Store, ConflictError\n"
        "s = Store(sys.argv[1])\n"
        "try:\n    s.update(int(sys.argv[2]), {'critique': sys.argv[3]}, expected_revision=1, annotator=sys.argv[3])\n"
        "    print('ok')\nexcept ConflictError:\n    print('conflict')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, store.url, str(sid), f"p{i}"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT) for i in range(4)]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outs == ["conflict"] * 3 + ["ok"]
    assert store.get(sid).revision == 2


def test_huge_field_round_trips(store):
    big = ("step " * 1_000_000)[:5_000_000] + "Conclusion: wrong [END]"
    (sid,) = store.add_samples("d", [Sample(question="q", critique=big, meta={"blob": "é" * 1000})])
    back = store.get(sid)
    assert back.critique == big and len(back.critique) == 5_000_023 and back.meta == {"blob": "é" * 1000}
    assert store.query("d", search="step")[1] == 1


def test_iter_samples_batches_and_filters(store):
    store.add_samples("d", _samples(23))
    assert [s.key for s in store.iter_samples("d", batch=5)] == [f"k{i}" for i in range(23)]
    assert len(list(store.iter_samples("d", status="reviewed", batch=2))) == 5
    assert all(s.verdict == "wrong" for s in store.iter_samples("d", verdict="wrong"))


def test_bad_inputs_are_user_errors(store):
    with pytest.raises(UserError):
        store.add_samples("", [Sample(question="q")])
    with pytest.raises(UserError, match="on_conflict"):
        store.add_samples("d", [], on_conflict="replace")
    bad = Sample(question="q")
    bad.status = "weird"
    with pytest.raises(UserError, match="status"):
        store.add_samples("d", [bad])
