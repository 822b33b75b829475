"""The Data tab's logic (cft.data.review, pages/data, cft.auth) on a real SQLite store, without a browser."""

from __future__ import annotations

import json

import pytest

from cft.data import review
from cft.auth import gradio_auth, load_users
from cft.errors import UserError
from cft.data.samples import Sample
from cft.data.store import Store
from pages.data import handlers
from pages.data import view as data_view
from pages.render import safe_markdown

RIGHT = "The steps are fine.\n\nConclusion: right [END]"
WRONG = "Step 2 is wrong: 12 * 7 is 84.\n\nConclusion: wrong [END]"


def _sample(i: int, **kw) -> Sample:
    base = dict(question=f"Question {i}: what is {i} + {i}?", response=f"{i} + {i} = {2 * i}. The answer is {2 * i}.",
                critique=RIGHT, original_critique=RIGHT, source="gsm8k" if i % 2 else "math", key=f"k{i}")
    base.update(kw)
    s = Sample(**base)
    s.verdict = "right" if "right" in s.critique else ("wrong" if "wrong" in s.critique else "unknown")
    return s


def browse(store, filters, page):
    """A page of the table as the tab shows it: rows, total, page, pages and label."""
    shown = review.browse(store, filters, page)
    return type("Shown", (), {"rows": data_view.table_rows(shown.samples), "total": shown.total, "page": shown.page,
                              "pages": shown.pages, "label": data_view.page_label(shown)})


@pytest.fixture
def store(cft_home) -> Store:
    st = Store()
    samples = [_sample(i) for i in range(1, 121)]
    samples[4] = _sample(5, critique="Looks odd", original_critique="Looks odd", flags={"no_conclusion": "no line"})
    samples[5] = _sample(6, critique=WRONG, original_critique=WRONG, question="A pelican counts sardines: 6 + 6?")
    st.add_samples("d", samples)
    return st


def test_word_diff_marks_words_and_escapes_html():
    out = data_view.word_diff_html("the answer is <b>12</b>\nok", "the answer is <b>13</b>\nok")
    assert "<del>&lt;b&gt;12&lt;/b&gt;</del>" in out and "<ins>&lt;b&gt;13&lt;/b&gt;</ins>" in out
    assert "\n" in out and "<b>" not in out
    assert review.diff_counts("a b c", "a x c d") == (2, 1)
    assert "Unchanged" in data_view.suggestion_diff_html("same", "same")


def test_verdict_radio_and_conclusion_line_follow_each_other():
    text = "Fine.\n\nConclusion: right [END]"
    flipped = review.with_verdict(text, "wrong")
    assert flipped.endswith("Conclusion: wrong [END]") and flipped.count("Conclusion") == 1
    assert review.verdict_of(flipped) == "wrong"
    assert review.verdict_of("Fine.\n\n**Conclusion: incorrect**") == "wrong"
    assert review.with_verdict("No line yet.", "right") == "No line yet.\n\nConclusion: right [END]"
    assert review.verdict_of(review.with_verdict(text, "unknown")) == "unknown"


def test_safe_markdown_makes_html_inert_and_keeps_math():
    out = safe_markdown('<script>alert(1)</script> <img src=x onerror="alert(2)"> and \\( x^2 \\) & $y$')
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=\"alert(2)\"&gt;" in out
    assert "\\( x^2 \\)" in out and "$y$" in out
    assert safe_markdown("The \\\\( P \\\\) sail") == "The \\( P \\) sail"


def test_browse_pages_filters_search_and_flagged_first(store):
    page = browse(store, review.Filters("d", order="id"), 1)
    assert page.total == 120 and page.pages == 3 and len(page.rows) == 50 and page.rows[0][0] == 1
    last = browse(store, review.Filters("d", order="id"), 99)
    assert last.page == 3 and len(last.rows) == 20 and "101–120 of 120" in last.label
    flagged = browse(store, review.Filters("d", order="flagged_first"), 1)
    assert flagged.rows[0][0] == 5 and flagged.rows[0][4] == "no_conclusion"
    assert browse(store, review.Filters("d", verdict="wrong"), 1).rows[0][0] == 6
    assert browse(store, review.Filters("d", verdict="all", flag="any"), 1).total == 1
    assert browse(store, review.Filters("d", source="math", status=["pending"]), 1).total == 60
    found = browse(store, review.Filters("d", search="pelican sardines"), 1)
    assert [r[0] for r in found.rows] == [6] and found.rows[0][1].startswith("A pelican")
    assert browse(store, review.Filters("d", search='"AND (*'), 1).total == 0  # no FTS syntax error


def test_open_save_submit_records_annotator_and_recomputes_flags(store):
    view = data_view.open_sample(store, 3)
    assert view.revision == 1 and view.verdict == "right" and "Question 3" in view.question
    edited = review.with_verdict(view.critique, "wrong")
    out = handlers.save(store, 3, edited, status="reviewed", expected_revision=view.revision, annotator="alice")
    assert out.ok and "Submitted" in out.message
    s = store.get(3)
    assert (s.status, s.verdict, s.annotator, s.revision) == ("reviewed", "wrong", "alice", 2)
    # Removing the conclusion line raises no_conclusion on save.
    out = handlers.save(store, 3, "Hmm, not sure.", status="draft", expected_revision=2, annotator="alice")
    s = store.get(3)
    assert out.ok and s.status == "draft" and s.verdict == "unknown" and "no_conclusion" in s.flags
    assert data_view.counts_html(store, "d").count("cft-chip") == 5 and "0 / 120 reviewed" in data_view.counts_html(store, "d")


def test_stale_save_is_refused_and_shows_the_other_version(store):
    mine = data_view.open_sample(store, 7)
    theirs = data_view.open_sample(store, 7)
    ok = handlers.save(store, 7, "Bob's <i>fix</i>.\n\nConclusion: wrong [END]", status="reviewed",
                 expected_revision=theirs.revision, annotator="bob")
    assert ok.ok
    refused = handlers.save(store, 7, "Alice's text.\n\nConclusion: right [END]", status="reviewed",
                      expected_revision=mine.revision, annotator="alice")
    assert not refused.ok and "Not saved" in refused.message
    assert "bob" in refused.conflict and "Bob&#x27;s &lt;i&gt;fix&lt;/i&gt;" in refused.conflict
    assert "Alice" in refused.conflict and "<i>" not in refused.conflict
    s = store.get(7)
    assert s.annotator == "bob" and s.critique.startswith("Bob's") and s.revision == 2


def test_neighbor_walks_the_filter_even_after_the_current_sample_leaves_it(store):
    f = review.Filters("d", status=["pending"], order="id")
    assert review.neighbor(store, f, 10, +1) == 11 and review.neighbor(store, f, 10, -1) == 9
    assert review.neighbor(store, f, 1, -1) is None and review.neighbor(store, f, None, +1) == 1
    handlers.save(store, 10, RIGHT, status="reviewed", expected_revision=1, annotator="a")
    assert review.neighbor(store, f, 10, +1) == 11 and review.neighbor(store, f, 10, -1) == 9
    assert review.neighbor(store, review.Filters("d", verdict="wrong"), 6, +1) is None


def test_history_lists_every_revision_and_restore_writes_an_old_one_back(store):
    handlers.save(store, 2, "First edit.\n\nConclusion: wrong [END]", status="draft", expected_revision=1, annotator="ann")
    handlers.save(store, 2, "Second edit.\n\nConclusion: wrong [END]", status="reviewed", expected_revision=2,
            annotator="ben")
    entries = data_view.history_entries(store, 2)
    assert [e["revision"] for e in entries] == [3, 2, 1]
    assert entries[0]["annotator"] == "ben" and any("status draft → reviewed" in c for c in entries[0]["changes"])
    assert "<del>" in entries[1]["critique_diff"] and entries[2]["changes"] == ["created"]
    assert "ben" in data_view.history_html(store, 2) and data_view.revision_choices(store, 2) == ["3", "2", "1"]
    stale = handlers.restore(store, 2, 1, expected_revision=2, annotator="cy")
    assert not stale.ok and store.get(2).revision == 3
    out = handlers.restore(store, 2, 1, expected_revision=3, annotator="cy")
    s = store.get(2)
    assert out.ok and s.revision == 4 and s.critique == RIGHT and s.status == "pending" and s.annotator == "cy"


def test_import_upload_reports_line_numbers_and_export_round_trips(store, tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"messages": [{"role": "user", "content": "Please critique whether the following solution to the "
                          "question is correct.\n\nQuestion:\nQ?\n\nSolution:\nA."},
                         {"role": "assistant", "content": RIGHT}]}
    bad.write_text(json.dumps(good) + "\n{not json\n" + json.dumps({"messages": "nope"}) + "\n")
    msg = handlers.import_upload(store, bad, "new")
    assert "nothing imported" in msg and "line 2" in msg and "line 3" in msg
    assert "new" not in review.dataset_names(store)
    msg = handlers.import_upload(store, bad, "new", skip_bad=True)
    assert "Imported **1**" in msg and "line 2" in msg
    handlers.save(store, 1, WRONG, status="reviewed", expected_revision=1, annotator="a")
    path = review.export(store, review.Filters("d"), "messages", reviewed_only=True)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["messages"][-1]["content"] == WRONG
    path = review.export(store, review.Filters("d", verdict="wrong"), "alpaca", reviewed_only=False)
    assert len(path.read_text().splitlines()) == 2  # sample 6 and the one just reviewed
    with pytest.raises(UserError):
        handlers.save(store, None, "x", status="reviewed", expected_revision=1, annotator="a")


def test_users_from_file_and_env(tmp_path):
    f = tmp_path / "users.txt"
    f.write_text("# annotators\nalice:pw1\n\nbob:pw:with:colons\n")
    users = load_users({"CFT_USERS_FILE": str(f), "CFT_USERS": "carol:pw3, alice:new"})
    assert users == {"alice": "new", "bob": "pw:with:colons", "carol": "pw3"}
    check = gradio_auth({"CFT_USERS": "alice:pw1"})
    assert check("alice", "pw1") and not check("alice", "pw2") and not check("eve", "pw1")
    assert gradio_auth({}) is None
    f.write_text("alice:pw1\nbroken-line\n")
    with pytest.raises(UserError, match="line 2"):
        load_users({"CFT_USERS_FILE": str(f)})
    assert review.annotator_name(None, "  ") == "anonymous" and review.annotator_name("alice", "bob") == "alice"


def test_the_table_pages_by_key_next_previous_first_last_and_refresh(store):
    f = review.Filters("d", order="id")
    p1 = review.browse(store, f, 1)
    p2 = review.browse(store, f, move="next", position=p1.position())
    assert p2.page == 2 and [s.id for s in p2.samples] == list(range(51, 101))
    p3 = review.browse(store, f, move="next", position=p2.position())
    assert (p3.page, [s.id for s in p3.samples]) == (3, list(range(101, 121)))
    assert "Rows 101–120 of 120 · page 3 of 3" in data_view.page_label(p3)
    assert [s.id for s in review.browse(store, f, move="next", position=p3.position()).samples] == list(range(101, 121))
    back = review.browse(store, f, move="prev", position=p3.position())
    assert (back.page, [s.id for s in back.samples]) == (2, list(range(51, 101)))
    assert [s.id for s in review.browse(store, f, move="prev", position=back.position()).samples] == list(range(1, 51))
    assert [s.id for s in review.browse(store, f, move="last").samples] == list(range(101, 121))
    assert review.browse(store, f, move="first").page == 1
    # After a save on page 2 the table re-reads page 2 from its first row's key (the save moved nothing).
    handlers.save(store, 60, RIGHT, status="reviewed", expected_revision=1, annotator="a")
    assert [s.id for s in review.browse(store, f, move="here", position=p2.position()).samples] == list(range(51, 101))
    # A position read under another order says nothing about this one: the page number decides.
    other = review.browse(store, review.Filters("d", order="updated"), 1, move="next", position=p2.position())
    assert other.page == 1 and other.samples[0].id == 60  # just saved: first in "recently updated"
    frame, label, page, _, position = handlers.step_page(store, "next", "d", [], "all", "all", "all", "", "Id", 1,
                                                         p1.position())
    assert page == 2 and list(frame["id"])[:2] == [51, 52] and position["first"][2] == 51 and "51–100" in label


def test_a_busy_store_keeps_the_editor_and_asks_to_try_again(store, monkeypatch):
    import sqlite3

    monkeypatch.setattr("cft.data.store.sqlite.BUSY_TIMEOUT_S", 0.2)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock past the timeout
    out = handlers.save(store, 3, "Mine.\n\nConclusion: wrong [END]", status="reviewed", expected_revision=1,
                        annotator="a")
    assert not out.ok and "store is busy" in out.message and "press the button again" in out.message
    values = handlers.save_as(store, "reviewed", 3, 1, "Mine.", "a", False, "d", [], "all", "all", "all", "", "Id",
                              1, None)
    message = values[handlers.EDITOR_OUTPUTS - 2]
    assert "store is busy" in message and store.get(3).revision == 1
    assert values[:3] == handlers._keep_editor("")[:3]  # the editor (id, revision, text) is left as it is
    blocker.execute("ROLLBACK")
    blocker.close()
    assert handlers.save(store, 3, "Mine.", status="reviewed", expected_revision=1, annotator="a").ok


def test_a_typed_page_number_jumps_there_from_either_end(store):
    f = review.Filters("d", order="flagged_first")
    first = review.browse(store, f, 1)
    second = review.browse(store, f, move="next", position=first.position())
    third = review.browse(store, f, move="next", position=second.position())
    everything = [s.id for page in (first, second, third) for s in page.samples]
    assert sorted(everything) == list(range(1, 121)) and everything[0] == 5  # flagged first, every row once
    for number in (1, 2, 3):  # page 2 of 3 is read from the end (20 rows after it), page 3 is the last page
        shown = review.browse(store, f, number)
        assert shown.page == number and [s.id for s in shown.samples] == everything[(number - 1) * 50:number * 50]
