"""The Data tab through gradio_client against the real launched app (real SQLite store, real HTTP)."""

from __future__ import annotations

import json

import pytest
from gradio_client import Client, handle_file

from cft.data.samples import Sample, parse_verdict
from cft.data.store import Store
from tests.helpers import launched_app

RIGHT = "All steps check out.\n\nConclusion: right [END]"
# Positional order of the tab's filter inputs: dataset, status, verdict, flag, source, search, order.
ALL_FILTERS = ("d", [], "all", "all", "all", "", "Id")
# /data_open returns these 15 values first (then the step choices, the reviews panel and my review revision).
OPEN = ("sample_id", "revision", "header", "question", "response", "reference", "flags", "critique", "verdict",
        "original", "diff", "history", "restore_revision", "message", "conflict")


def _rows(table) -> list[list]:
    return table["data"] if isinstance(table, dict) else table


def _opened(values) -> dict:
    return dict(zip(OPEN, values))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One launched app for this module, with its own workspace and 60 samples in dataset "d"."""
    home = tmp_path_factory.mktemp("data-ui")
    mp = pytest.MonkeyPatch()
    mp.setenv("CFT_HOME", str(home))
    store = Store(home / "samples.db")
    samples = []
    for i in range(1, 61):
        s = Sample(question=f"Question {i}: add {i} and {i}.", response=f"{i} + {i} = {2 * i}.", critique=RIGHT,
                   original_critique=RIGHT, verdict="right", source="gsm8k" if i % 2 else "math", key=f"k{i}")
        samples.append(s)
    samples[9].question = "A walrus buys 3 kites; how many?"
    samples[19].critique = samples[19].original_critique = "I think it is fine"
    samples[19].verdict, samples[19].flags = "unknown", {"no_conclusion": "no line"}
    store.add_samples("d", samples)
    with launched_app() as url:
        yield url, store
    mp.undo()


def _submit(client, sid, rev, critique, name, api="/data_submit", advance=False):
    return client.predict(sid, rev, critique, name, advance, *ALL_FILTERS, 1, api_name=api)


def test_filter_and_search(app):
    url, _ = app
    client = Client(url, verbose=False)
    _, table, label, page, counts = client.predict(*ALL_FILTERS, 1, api_name="/data_browse")
    rows = _rows(table)
    assert len(rows) == 50 and rows[0][0] == 1 and "of 60" in label and "pending <b>60</b>" in counts
    _, table, label, page, _ = client.predict(*ALL_FILTERS, 2, api_name="/data_browse")
    assert [r[0] for r in _rows(table)] == list(range(51, 61)) and page == 2
    table, label, _, _ = client.predict("d", [], "all", "all", "math", "", "Id", api_name="/data_search")
    assert {int(r[0]) % 2 for r in _rows(table)} == {0} and "of 30" in label
    table, label, _, _ = client.predict("d", [], "unknown", "all", "all", "", "Flagged first", api_name="/data_search")
    assert [r[0] for r in _rows(table)] == [20] and _rows(table)[0][4] == "no_conclusion"
    table, _, _, _ = client.predict("d", [], "all", "all", "all", "walrus kites", "Id", api_name="/data_search")
    assert [r[0] for r in _rows(table)] == [10]


def test_edit_and_submit(app):
    url, store = app
    client = Client(url, verbose=False)
    view = _opened(client.predict(3, api_name="/data_open"))
    assert view["sample_id"] == 3 and view["verdict"] == "right" and "Question 3" in view["question"]
    verdict_radio, diff = client.predict(view["critique"].replace("right", "wrong"), view["original"],
                                         api_name="/data_edit")
    assert verdict_radio == "wrong" and "<ins>" in diff
    critique, _ = client.predict("right", "Step 2 is off by one.", view["original"], api_name="/data_set_verdict")
    assert critique == "Step 2 is off by one.\n\nConclusion: right [END]"
    critique, verdict_radio, diff, msg = client.predict(view["original"], "scratch", api_name="/data_reset")
    assert critique == view["original"] and verdict_radio == "right" and "Unchanged" in diff and "not saved" in msg
    edited = "Step 2 is wrong: 3 + 3 is 6, fine, but the sum is misread.\n\nConclusion: wrong [END]"
    out = _opened(_submit(client, 3, view["revision"], edited, "dora"))
    s = store.get(3)
    assert (s.status, s.verdict, s.critique, s.annotator, s.revision) == ("reviewed", "wrong", edited, "dora", 2)
    assert "Submitted sample #3" in out["message"]
    # Next after submit: the editor moves on within the filter.
    out = _opened(_submit(client, 4, 1, RIGHT, "dora", advance=True))
    assert out["sample_id"] == 5 and store.get(4).status == "reviewed"
    out = _opened(client.predict(4, *ALL_FILTERS, api_name="/data_next"))
    assert out["sample_id"] == 5
    out = _opened(client.predict(4, *ALL_FILTERS, api_name="/data_prev"))
    assert out["sample_id"] == 3


def test_conflicting_save_from_a_second_client_is_refused(app):
    url, store = app
    alice, bob = Client(url, verbose=False), Client(url, verbose=False)
    a_view = _opened(alice.predict(7, api_name="/data_open"))
    b_view = _opened(bob.predict(7, api_name="/data_open"))
    bobs = "Bob: the sum is right.\n\nConclusion: right [END]"
    _submit(bob, 7, b_view["revision"], bobs, "bob")
    out = _opened(_submit(alice, 7, a_view["revision"], "Alice: wrong.\n\nConclusion: wrong [END]", "alice"))
    assert "Not saved" in out["message"] and "bob" in out["conflict"] and "Bob: the sum is right." in out["conflict"]
    s = store.get(7)
    assert s.critique == bobs and s.annotator == "bob" and s.revision == 2
    reloaded = _opened(alice.predict(7, api_name="/data_reload"))
    assert reloaded["revision"] == 2 and reloaded["critique"] == bobs and reloaded["conflict"] == ""


def test_history_then_restore(app):
    url, store = app
    client = Client(url, verbose=False)
    _submit(client, 12, 1, "Draft one.\n\nConclusion: wrong [END]", "eve", api="/data_save_draft")
    _submit(client, 12, 2, "Final.\n\nConclusion: wrong [END]", "eve")
    view = _opened(client.predict(12, api_name="/data_open"))
    assert view["revision"] == 3 and "r3" in view["history"] and "eve" in view["history"] and "r1" in view["history"]
    out = client.predict(12, "1", 3, "eve", *ALL_FILTERS, 1, api_name="/data_restore")
    assert "Restored revision 1" in _opened(out)["message"]
    s = store.get(12)
    assert s.revision == 4 and s.critique == RIGHT and s.status == "pending"
    _submit(client, 13, 1, RIGHT, "eve", api="/data_discard")
    assert store.get(13).status == "discarded"


def test_upload_a_bad_file_lists_line_numbers(app, tmp_path):
    url, store = app
    client = Client(url, verbose=False)
    bad = tmp_path / "bad.jsonl"
    ok = {"instruction": "Please critique.", "input": "Question:\nQ?\n\nSolution:\nA.", "output": RIGHT}
    bad.write_text(json.dumps(ok) + "\n{oops\n" + json.dumps({"instruction": 3}) + "\n")
    msg, _ = client.predict(handle_file(str(bad)), "bad", "auto", False, api_name="/data_import")
    assert "nothing imported" in msg and "line 2" in msg and "line 3" in msg
    assert "bad" not in [d["name"] for d in store.datasets()]


def test_real_samples_imported_and_browsed(app, one_shot_path):
    url, store = app
    client = Client(url, verbose=False)
    msg, _ = client.predict(handle_file(str(one_shot_path)), "one-shot", "auto", False, api_name="/data_import")
    assert "Imported **600**" in msg
    _, table, label, _, counts = client.predict("one-shot", [], "all", "all", "all", "", "Flagged first", 1,
                                                api_name="/data_browse")
    rows = _rows(table)
    assert "of 600" in label and "pending <b>600</b>" in counts and len(rows) == 50
    assert rows[0][4]  # flagged first: the first row carries a flag
    view = _opened(client.predict(rows[0][0], "", "one-shot", api_name="/data_open"))  # id, name, dataset
    assert "sail" in view["question"] and view["critique"] and "cft-flag" in view["flags"]
    table, label, _, _ = client.predict("one-shot", [], "wrong", "all", "all", "", "Id", api_name="/data_search")
    n_wrong = int(label.split(" of ")[1].split()[0])
    assert n_wrong == store.stats("one-shot")["verdict"]["wrong"] > 0
    path = client.predict("messages", False, "one-shot", [], "wrong", "all", "all", "", "Id", api_name="/data_export")
    lines = open(path).read().splitlines()
    assert len(lines) == n_wrong and all(parse_verdict(json.loads(x)["messages"][-1]["content"]) == "wrong" for x in lines)


def test_login_records_the_logged_in_annotator(cft_home, monkeypatch):
    monkeypatch.setenv("CFT_USERS", "alice:pw1,bob:pw2")
    store = Store()
    store.add_samples("d", [Sample(question="Q?", response="A.", critique=RIGHT, original_critique=RIGHT)])
    with launched_app() as url:
        with pytest.raises(Exception):
            Client(url, auth=("alice", "wrong"), verbose=False)
        client = Client(url, auth=("alice", "pw1"), verbose=False)
        _submit(client, 1, 1, RIGHT.replace("All", "Every"), "typed-name-ignored")
    assert store.get(1).annotator == "alice"


def test_with_logins_only_the_owner_or_an_admin_changes_the_settings(cft_home, monkeypatch):
    monkeypatch.setenv("CFT_USERS", "alice:pw1,bob:pw2,root:pw3")
    monkeypatch.setenv("CFT_ADMINS", "root")
    store = Store()
    store.add_samples("d", [Sample(question="Q?", response="A.", critique=RIGHT, original_critique=RIGHT)])
    with launched_app() as url:
        alice = Client(url, auth=("alice", "pw1"), verbose=False)
        out = alice.predict("d", 2, "**Judge the answer.**", 0, "", api_name="/data_save_settings")
        assert out[0] == 2 and "Judge the answer" in out[3]
        assert store.settings("d")["owner"] == "alice"
        bob = Client(url, auth=("bob", "pw2"), verbose=False)
        with pytest.raises(Exception, match="only the owner"):
            bob.predict("d", 3, "mine", 1, "alice", api_name="/data_save_settings")  # a typed name changes nothing
        root = Client(url, auth=("root", "pw3"), verbose=False)
        root.predict("d", 3, "admin's", 1, "", api_name="/data_save_settings")
    assert store.settings("d")["reviews_needed"] == 3 and store.settings("d")["owner"] == "alice"
