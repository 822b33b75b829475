"""Team annotation as the Data tab drives it: who may change settings, step labels, blind review, submit with
K = 1 and K = 2, queues, adjudication by a lead."""

from __future__ import annotations

import pytest

from cft.data import team
from cft.data.samples import Sample
from cft.data.store import ConflictError, Store
from cft.errors import UserError

TEACHER = "Step 2 is fine.\n\nConclusion: right [END]"
WRONG = "Step 2 adds wrongly.\n\nConclusion: wrong [END]"
LOGIN = {"CFT_USERS": "owner:pw,alice:pw,bob:pw,root:pw", "CFT_ADMINS": "root"}


def _store(n=3) -> tuple[Store, list[int]]:
    store = Store()
    ids = store.add_samples("d", [Sample(question=f"q{i}", response="3 + 4 = 7\n\n7 * 2 = 15\n\nSo 15.",
                                         critique=TEACHER, original_critique=TEACHER, verdict="right",
                                         reference_answer="14") for i in range(n)])
    return store, ids


def test_settings_are_changed_by_their_owner_or_an_admin_only(store_url):
    store, _ = _store()
    owner, alice, root = (team.Viewer(n, True) for n in ("owner", "alice", "root"))
    saved = team.save_settings(store, "d", owner, expected_revision=0, reviews_needed=2, guidelines="# Rules",
                               environ=LOGIN)
    assert saved["owner"] == "owner" and saved["reviews_needed"] == 2  # the first to save owns them
    with pytest.raises(UserError, match="only the owner"):
        team.save_settings(store, "d", alice, expected_revision=1, guidelines="mine", environ=LOGIN)
    assert team.save_settings(store, "d", root, expected_revision=1, guidelines="admin's", environ=LOGIN)["owner"] \
        == "owner"
    # A logged-in user sees through blind review only as the owner or an admin, never as a would-be owner.
    assert not team.is_lead({"owner": ""}, alice, LOGIN, claim=False) and team.is_lead({"owner": ""}, alice, LOGIN)
    # Without any login configured, anyone may (nobody is authenticated).
    assert team.is_lead(store.settings("d"), team.Viewer("typed"), environ={})
    assert not team.is_lead(store.settings("d"), team.Viewer("typed"), environ=LOGIN)


def test_step_choices_and_labels():
    assert team.steps("a\n\nb\n\n c ") == ["a", "b", "c"]
    assert team.steps("one\ntwo") == ["one", "two"]
    choices = team.step_choices("3 + 4 = 7\n\n7 * 2 = 15")
    assert [v for _, v in choices] == [team.NOT_LABELLED, "0", "1", "2"] and choices[3][0] == "step 2: 7 * 2 = 15"
    assert team.parse_step("2", "a\n\nb") == 2 and team.parse_step("", "a") is None
    with pytest.raises(UserError, match="not a step"):
        team.parse_step("3", "a\n\nb")
    with pytest.raises(UserError, match="step number"):
        team.parse_step("two", "a")


def test_one_review_per_sample_saves_the_sample_and_the_review(store_url):
    store, ids = _store()
    me = team.Viewer("alice")
    out = team.submit(store, ids[0], WRONG, viewer=me, expected_revision=1, expected_review_revision=0, step="2")
    assert out["sample"].status == "reviewed" and out["sample"].verdict == "wrong"
    assert out["review"]["critique"] == WRONG and out["review"]["first_wrong_step"] == 2
    with pytest.raises(ConflictError):  # a stale editor is refused, as before
        team.submit(store, ids[0], TEACHER, viewer=team.Viewer("bob"), expected_revision=1,
                    expected_review_revision=0)
    assert team.next_in_queue(store, "d", "alice") == ids[1]


def test_two_reviews_per_sample_are_blind_until_submitted(store_url):
    store, ids = _store()
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=2, owner="lead")
    alice, bob, lead = (team.Viewer(n, True) for n in ("alice", "bob", "lead"))
    out = team.submit(store, ids[0], WRONG, viewer=alice, expected_revision=1, expected_review_revision=0,
                      step="2", environ=LOGIN)
    sample = store.get(ids[0])
    assert out["sample"].revision == 1 and sample.critique == TEACHER  # the sample is untouched
    assert team.blind(store, sample, bob, environ=LOGIN) and not team.blind(store, sample, alice, environ=LOGIN)
    assert not team.blind(store, sample, lead, environ=LOGIN)  # leads adjudicate: they see everything
    assert team.shown_critique(sample, True) == TEACHER
    assert team.next_in_queue(store, "d", "bob") == ids[0] and team.next_in_queue(store, "d", "alice") == ids[1]
    with pytest.raises(UserError, match="pick right or wrong"):
        team.submit(store, ids[0], "no verdict", viewer=bob, expected_revision=1, expected_review_revision=0,
                    environ=LOGIN)
    team.submit(store, ids[0], TEACHER, viewer=bob, expected_revision=1, expected_review_revision=0, step="0",
                environ=LOGIN)
    assert store.reviews(ids[0])[1]["critique"] is None  # the teacher's own critique is no correction
    items = team.items(store, "d")
    assert [it.verdicts for it in items] == [{"alice": "wrong", "bob": "right"}]
    with pytest.raises(UserError, match="only the owner"):
        team.adjudicate(store, ids[0], WRONG, viewer=bob, expected_revision=1, environ=LOGIN)
    done = team.adjudicate(store, ids[0], WRONG, viewer=lead, expected_revision=1, step="2", environ=LOGIN)
    assert done["sample"].verdict == "wrong" and done["sample"].status == "reviewed"
    assert team.items(store, "d")[0].label == "wrong"


def test_reviews_are_exported_with_the_dataset(store_url, tmp_path):
    import json

    import pyarrow.parquet as pq

    from cft.data import formats

    store, ids = _store()
    team.submit(store, ids[0], WRONG, viewer=team.Viewer("alice"), expected_revision=1, expected_review_revision=0,
                step="2")
    out = formats.export_samples(store, "d", tmp_path / "d.jsonl", "messages")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("reviews") for r in rows][1:] == [None, None]
    (label,) = rows[0]["reviews"]
    assert (label["annotator"], label["verdict"], label["first_wrong_step"], label["kind"]) == ("alice", "wrong", 2,
                                                                                                 "review")
    table = pq.read_table(formats.export_samples(store, "d", tmp_path / "d.parquet", "parquet")).to_pylist()
    assert json.loads(table[0]["reviews"])[0]["critique"] == WRONG and json.loads(table[1]["reviews"]) == []
