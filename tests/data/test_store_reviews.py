"""Reviews as records, on both backends: K per dataset, per-annotator queues (flagged first), the annotator's own
compare-and-set, consensus written into the sample at K agreeing reviews, adjudication, progress, history, and the
v6 -> v7 migration of a store reviewed before reviews existed."""

from __future__ import annotations

import pytest

from cft.data.samples import Sample
from cft.data.store import SCHEMA_VERSION, ReviewConflict, Store
from cft.errors import UserError


def _samples(n: int = 6) -> list[Sample]:
    return [Sample(question=f"q{i}", response=f"r{i}", critique=f"c{i}\n\nConclusion: right [END]",
                   original_critique=f"c{i}\n\nConclusion: right [END]", verdict="right",
                   flags={"no_conclusion": "x"} if i in (3, 5) else {}) for i in range(n)]


def test_settings_default_then_compare_and_set(store_url):
    store = Store()
    store.add_samples("d", _samples(2))
    assert store.settings("d")["reviews_needed"] == 1 and store.settings("d")["revision"] == 0
    saved = store.save_settings("d", expected_revision=0, by="lead", reviews_needed=2, guidelines="**Be strict.**",
                                owner="lead")
    assert (saved["reviews_needed"], saved["guidelines"], saved["owner"], saved["revision"]) == (2, "**Be strict.**",
                                                                                               "lead", 1)
    with pytest.raises(ReviewConflict, match="changed by lead"):
        store.save_settings("d", expected_revision=0, by="other", guidelines="mine")
    assert store.settings("d")["guidelines"] == "**Be strict.**"
    for bad in (0, 21, "two", 1.5, -1):
        with pytest.raises(UserError, match="reviews needed"):
            store.save_settings("d", expected_revision=1, by="lead", reviews_needed=bad)
    with pytest.raises(UserError, match="no dataset"):
        store.save_settings("nope", expected_revision=0, by="lead", reviews_needed=2)
    with pytest.raises(UserError, match="keep them under"):
        store.save_settings("d", expected_revision=1, by="lead", guidelines="x" * 50_001)
    assert store.settings("d")["revision"] == 1


def test_queues_are_per_annotator_flagged_first_and_close_at_k(store_url):
    store = Store()
    ids = store.add_samples("d", _samples(6))
    store.add_samples("other", _samples(2))
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=2)
    flagged = [ids[3], ids[5]]
    assert store.review_queue("d", "alice") == flagged + [i for i in ids if i not in flagged]
    store.submit_review(ids[3], annotator="alice", verdict="wrong", expected_revision=0)
    assert ids[3] not in store.review_queue("d", "alice")
    assert store.review_queue("d", "bob")[0] == ids[3]  # still needs a second review
    store.submit_review(ids[3], annotator="bob", verdict="right", expected_revision=0)
    assert ids[3] not in store.review_queue("d", "carol")  # K reached: out of everyone's queue
    assert store.review_queue("d", "alice", after=ids[5], limit=2) == ids[:2]
    progress = store.review_progress("d")
    assert progress == {"reviews_needed": 2, "samples": 6, "needed": 12, "done": 2, "complete": 1,
                        "by_annotator": {"alice": 1, "bob": 1}}
    # A disagreement leaves the sample as it was (blind: nothing of either verdict reaches the sample).
    assert store.get(ids[3]).status == "pending" and store.get(ids[3]).revision == 1


def test_agreeing_reviews_write_consensus_and_own_revision_is_checked(store_url):
    store = Store()
    ids = store.add_samples("d", _samples(2))
    store.update(ids[1], {"critique": "no line", "flags": {"no_conclusion": "x"}}, expected_revision=1)
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=2)
    for who in ("alice", "bob"):  # the consensus adds the conclusion line, so the flag goes
        store.submit_review(ids[1], annotator=who, verdict="wrong", expected_revision=0)
    assert store.get(ids[1]).flags == {} and store.get(ids[1]).critique == "no line\n\nConclusion: wrong [END]"
    first = store.submit_review(ids[0], annotator="alice", verdict="wrong", critique="Step 2 is wrong.\n\n"
                                "Conclusion: wrong [END]", first_wrong_step=2, expected_revision=0)
    assert first["revision"] == 1 and store.get(ids[0]).revision == 1
    with pytest.raises(ReviewConflict, match="revision 1"):  # alice's second tab, loaded before her submit
        store.submit_review(ids[0], annotator="alice", verdict="right", expected_revision=0)
    second = store.submit_review(ids[0], annotator="bob", verdict="wrong", first_wrong_step=2, expected_revision=0)
    sample = second["sample"]
    assert (sample.status, sample.verdict, sample.revision) == ("reviewed", "wrong", 2)
    assert sample.critique.startswith("Step 2 is wrong.")
    assert [h["field"] for h in store.history(ids[0])] == ["created", "critique", "verdict", "status"]
    # Alice changes her mind: a new revision of her review; the history keeps both.
    store.submit_review(ids[0], annotator="alice", verdict="wrong", first_wrong_step=1, expected_revision=1)
    assert [(h["annotator"], h["revision"], h["first_wrong_step"]) for h in store.review_history(ids[0])] == [
        ("alice", 1, 2), ("bob", 1, 2), ("alice", 2, 1)]
    assert {r["annotator"]: r["first_wrong_step"] for r in store.reviews(ids[0])} == {"alice": 1, "bob": 2}


def test_bad_reviews_are_refused_with_clear_messages(store_url):
    store = Store()
    (sid,) = store.add_samples("d", _samples(1))
    for kwargs, match in (({"verdict": "maybe"}, "right or wrong"), ({"verdict": "right", "first_wrong_step": 2},
                                                                      "no wrong step"),
                          ({"verdict": "wrong", "first_wrong_step": -1}, "first wrong step"),
                          ({"verdict": "wrong", "annotator": " "}, "annotator's name"),
                          ({"verdict": "wrong", "kind": "vote"}, "kind")):
        with pytest.raises(UserError, match=match):
            store.submit_review(sid, **{"annotator": "a", "expected_revision": 0, **kwargs})
    with pytest.raises(UserError, match="no sample"):
        store.submit_review(999, annotator="a", verdict="wrong", expected_revision=0)
    assert store.reviews(sid) == [] and store.review_history(sid) == []


def test_one_review_path_and_adjudication_save_the_sample_atomically(store_url):
    store = Store()
    ids = store.add_samples("d", _samples(2))
    out = store.submit_review(ids[0], annotator="alice", verdict="wrong", expected_revision=0,
                              sample_changes={"status": "reviewed", "verdict": "wrong"}, expected_sample_revision=1)
    assert out["sample"].revision == 2 and out["sample"].status == "reviewed"
    # A stale sample revision refuses the review too: nothing of it is written.
    with pytest.raises(UserError, match="changed by alice"):
        store.submit_review(ids[0], annotator="bob", verdict="right", expected_revision=0,
                            sample_changes={"status": "reviewed"}, expected_sample_revision=1)
    assert [r["annotator"] for r in store.reviews(ids[0])] == ["alice"]
    adj = store.submit_review(ids[0], annotator="lead", verdict="right", kind="adjudication", expected_revision=0,
                              sample_changes={"verdict": "right"}, expected_sample_revision=2)
    assert adj["sample"].verdict == "right" and store.reviews(ids[0], "adjudication")[0]["annotator"] == "lead"
    assert store.review_progress("d")["by_annotator"] == {"alice": 1}  # an adjudication is not a review
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=2)
    assert ids[0] not in store.review_queue("d", "bob")  # settled by the lead: out of every queue


def test_deleting_a_dataset_deletes_its_reviews_and_settings(store_url):
    store = Store()
    ids = store.add_samples("d", _samples(2))
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=3)
    store.submit_review(ids[0], annotator="a", verdict="wrong", expected_revision=0)
    store.delete_dataset("d", confirm="d")
    db = store._db()
    assert db.scalar("SELECT COUNT(*) FROM reviews") == 0 and db.scalar("SELECT COUNT(*) FROM review_history") == 0
    store.add_samples("d", _samples(1))
    assert store.settings("d")["reviews_needed"] == 1


def test_a_v6_store_is_migrated_and_its_reviewed_samples_become_reviews(store_url):
    store = Store()
    ids = store.add_samples("d", _samples(3))
    store.update(ids[0], {"status": "reviewed", "critique": "fixed\n\nConclusion: wrong [END]", "verdict": "wrong"},
                 expected_revision=1, annotator="ann")
    store.update(ids[1], {"status": "reviewed"}, expected_revision=1)
    db = store._db()
    with db.write():  # back to v6: drop what v7 added
        for table in ("reviews", "review_history", "dataset_settings"):
            db.execute(f"DROP TABLE {table}")
        db.dialect.set_version(db, 6)
    store.close()
    store = Store()
    db = store._db()
    assert db.dialect.version(db) == SCHEMA_VERSION == 7
    assert [(r["annotator"], r["verdict"], r["critique"]) for r in store.reviews(ids[0])] == [
        ("ann", "wrong", "fixed\n\nConclusion: wrong [END]")]
    assert [(r["annotator"], r["verdict"], r["critique"]) for r in store.reviews(ids[1])] == [
        ("anonymous", "right", None)]
    assert store.review_queue("d", "ann") == [ids[2]]  # K = 1: the two reviewed samples are done
    assert len(store.review_history(ids[0])) == 1
    store.submit_review(ids[2], annotator="ann", verdict="right", expected_revision=0)  # ids go on
    assert len(store.review_history(ids[2])) == 1


def test_copy_takes_reviews_settings_and_review_history_across_backends(tmp_path, postgres_server):
    import uuid

    from cft.data.store.copy import copy_store

    src = Store(tmp_path / "src.db")
    ids = src.add_samples("d", _samples(3))
    src.save_settings("d", expected_revision=0, by="lead", reviews_needed=2, guidelines="# G", owner="lead")
    src.submit_review(ids[0], annotator="a", verdict="wrong", first_wrong_step=1, expected_revision=0)
    src.submit_review(ids[0], annotator="a", verdict="wrong", first_wrong_step=2, expected_revision=1)
    src.submit_review(ids[0], annotator="b", verdict="wrong", expected_revision=0)  # consensus: the sample changes
    schema = "rc_" + uuid.uuid4().hex[:8]
    postgres_server.execute(f"CREATE SCHEMA {schema}")
    try:
        dst = Store(postgres_server.url(schema=schema))
        copied = copy_store(src, dst)
        assert copied["reviews"] == 2
        assert dst.settings("d") == src.settings("d")
        assert dst.reviews(ids[0]) == src.reviews(ids[0]) and dst.review_history(ids[0]) == src.review_history(ids[0])
        assert dst.get(ids[0]).status == "reviewed"
        # Ids go on after the copied ones.
        dst.submit_review(ids[1], annotator="c", verdict="right", expected_revision=0)
        assert len(dst.review_history(ids[1])) == 1
        assert dst._db().scalar("SELECT MAX(id) FROM review_history") == 4
        dst.close()
    finally:
        postgres_server.execute(f"DROP SCHEMA {schema} CASCADE")


def test_concurrent_reviewers_lose_nothing_and_write_the_consensus_once(store_url):
    import threading

    store = Store()
    (sid,) = store.add_samples("d", _samples(1))
    k = 6
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=k)
    errors: list[BaseException] = []
    start = threading.Barrier(k)

    def review(who: str) -> None:
        try:
            start.wait()
            for attempt in range(50):  # a busy store is retryable; nothing else may fail
                try:
                    store.submit_review(sid, annotator=who, verdict="wrong", expected_revision=0)
                    return
                except Exception as exc:  # noqa: BLE001
                    if not getattr(exc, "retryable", False):
                        raise
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=review, args=(f"a{i}",)) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r["annotator"] for r in store.reviews(sid)) == [f"a{i}" for i in range(k)]
    sample = store.get(sid)
    assert (sample.status, sample.verdict, sample.revision) == ("reviewed", "wrong", 2)  # written once, by the last
    assert store.review_progress("d")["complete"] == 1
