"""Team annotation and the annotator's flow in real headless Chromium: the read-only table opening a sample in the
editor beside it (in view at 1366x768), the save toast, the remembered name, a dataset switch emptying the editor;
two annotators in two browser contexts on one dataset with K = 2: separate queues, blind review, the agreement
panel's kappa."""

from __future__ import annotations

import functools

from playwright.sync_api import sync_playwright

from cft.data import agreement, team
from cft.data.samples import Sample
from cft.data.store import Store
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, browser_wait, launched_app

TEACHER = "Each step checks out.\n\nConclusion: right [END]"


_wait = functools.partial(browser_wait, timeout=20.0)


def _samples(n: int, tag: str) -> list[Sample]:
    return [Sample(question=f"{tag} question {i}: what is {i} + {i}?", response=f"{i} + {i} = {2 * i}\n\nSo {2 * i}.",
                   critique=TEACHER, original_critique=TEACHER, verdict="right", reference_answer=str(2 * i),
                   source="toy", teacher="gpt-x") for i in range(1, n + 1)]


def _header(page) -> str:
    return page.locator("#data-editor-header").inner_text()


def _name(page, name: str) -> None:
    box = page.locator("#data-annotator textarea, #data-annotator input").first
    box.fill(name)
    box.press("Tab")


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def _in_view(locator) -> bool:
    box = locator.bounding_box()
    return bool(box) and 0 <= box["y"] and box["y"] + box["height"] <= 768


def test_row_opens_the_editor_in_view_save_toast_remembered_name_and_dataset_switch(cft_home):
    store = Store()
    store.add_samples("alpha", _samples(8, "Alpha"))
    store.add_samples("beta", _samples(3, "Beta"))
    with launched_app() as url, sync_playwright() as p:
        browser = _browser(p)
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#data-table [data-testid=cell-0-0]")
        _name(page, "dora")
        # The table is read-only: a double click edits nothing; a click opens the row beside the table, in view.
        cell = page.locator("#data-table [data-testid=cell-2-1]")
        # Click once the page has laid out (a loaded machine can still be filling it in): Playwright scrolls a
        # target below the fold into view, which would mask whether the row and editor fit the screen.
        _wait(lambda: _in_view(cell), what="the table row to be laid out inside the 1366x768 window")
        cell.dblclick()
        sid = int(page.locator("#data-table [data-testid=cell-2-0]").inner_text())
        _wait(lambda: f"Sample #{sid}" in _header(page), what="the editor to open the selected row")
        assert page.locator("#data-table textarea, #data-table input[type=text]").count() == 0
        assert page.evaluate("window.scrollY") == 0
        for sel in ("#data-editor-header", "#data-verdict", "#data-submit"):
            box = page.locator(sel).bounding_box()
            assert box and box["y"] + box["height"] <= 768, (sel, box)
        assert page.locator("#data-critique textarea").bounding_box()["y"] < 768
        # Submit: a toast confirms it, and the review is recorded under the typed name.
        page.locator("#data-verdict label", has_text="wrong").click()
        page.locator("#data-submit").click()
        toast = page.locator("[data-testid=toast-body]", has_text=f"Submitted sample #{sid}")
        _wait(lambda: toast.count() > 0, what="the save toast")
        _wait(lambda: store.get(sid).status == "reviewed", what="the save")
        assert store.get(sid).annotator == "dora" and store.reviews(sid)[0]["annotator"] == "dora"
        # Switching the dataset empties the editor: it never shows a sample of the other dataset.
        page.locator("#data-dataset input").click()
        page.locator('[data-testid=dropdown-option][aria-label="beta"]').first.click()
        _wait(lambda: "Select a row" in _header(page), what="the editor to empty after the switch")
        # A failed import is told in the import's message area, not as an error badge over the Dataset dropdown.
        page.locator("#data-io").click()
        page.locator("#data-import").click()
        _wait(lambda: "choose a file" in page.locator("#data-import-message").inner_text(), what="the import message")
        assert "Not imported" in page.locator("#data-import-message").inner_text()
        assert "Error" not in page.locator("#data-dataset").inner_text()
        page.locator("#data-dataset input").click()  # still usable
        page.locator('[data-testid=dropdown-option][aria-label="alpha"]').first.click()
        _wait(lambda: "Alpha question" in page.locator("#data-table").inner_text(), what="the dropdown to work")
        # The name comes back on the next visit (browser state).
        page2 = context.new_page()
        page2.goto(url)
        page2.wait_for_selector("#data-table [data-testid=cell-0-0]")
        _wait(lambda: page2.locator("#data-annotator textarea, #data-annotator input").first.input_value() == "dora",
              what="the remembered name")
        browser.close()


def _open_queue(page, keyboard: bool = False) -> int:
    before = _header(page)
    if keyboard:
        page.keyboard.press("Alt+KeyQ")  # assets/shortcuts.js
    else:
        page.locator("#data-next-queue").click()
    _wait(lambda: _header(page) != before and "Sample #" in _header(page), what="the next sample of the queue")
    return int(_header(page).split("Sample #")[1].split()[0])


def test_two_annotators_with_k2_get_separate_queues_review_blind_and_see_kappa(cft_home):
    store = Store()
    ids = store.add_samples("team", _samples(8, "Team"))
    with launched_app() as url, sync_playwright() as p:
        browser = _browser(p)
        pages = {}
        for who in ("alice", "bob"):
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("#data-table [data-testid=cell-0-0]")
            _name(page, who)
            pages[who] = page
        a, b = pages["alice"], pages["bob"]
        # Alice (no login: anyone may) sets K = 2 and the guidelines; they show beside the editor.
        a.locator("#data-team").click()
        k_box = a.locator("#data-reviews-needed input")
        k_box.fill("2")
        a.locator("#data-guidelines-edit textarea").fill("**Judge the final answer** against the reference.")
        a.locator("#data-save-settings").click()
        _wait(lambda: store.settings("team")["reviews_needed"] == 2, what="K = 2 saved")
        _wait(lambda: "Judge the final answer" in a.locator("#data-guidelines").inner_text(), what="the guidelines")
        # Alice reviews the first sample of her queue, and is moved on to the next of hers.
        first = _open_queue(a)
        assert first == ids[0]
        a.locator("#data-verdict label", has_text="wrong").click()
        a.locator("#data-step input").click()  # the first wrong step: step 2 of the response
        a.locator("[data-testid=dropdown-option]", has_text="step 2").first.click()
        a.locator("#data-submit").click()
        _wait(lambda: [r["annotator"] for r in store.reviews(first)] == ["alice"], what="alice's review")
        assert store.reviews(first)[0]["first_wrong_step"] == 2
        _wait(lambda: f"Sample #{ids[1]}" in _header(a), what="alice's next queue item")
        assert store.get(first).status == "pending" and store.get(first).critique == TEACHER  # blind: untouched
        # Bob's queue still starts with it; he reviews blind: no verdict of Alice's anywhere on his page.
        b.reload()
        b.wait_for_selector("#data-table [data-testid=cell-0-0]")
        assert _open_queue(b, keyboard=True) == first
        assert "blind review" in _header(b)
        _wait(lambda: "1 other review(s) hidden" in b.locator("#data-reviews").inner_text(), what="the hidden count")
        assert "alice" not in b.locator("#data-reviews").inner_text()
        assert b.locator("#data-critique textarea").input_value() == TEACHER
        assert "alice" not in b.locator("#data-editor-column").inner_text()
        b.locator("#data-verdict label", has_text="right").click()
        b.locator("#data-step input").click()
        b.locator("[data-testid=dropdown-option]", has_text="no mistake").first.click()
        b.locator("#data-submit").click()
        _wait(lambda: len(store.reviews(first)) == 2, what="bob's review")
        # After submitting, Bob sees Alice's verdict.
        b.locator("#data-goto input").fill(str(first))
        b.locator("#data-open").click()
        _wait(lambda: "alice" in b.locator("#data-reviews").inner_text(), what="the others' reviews after submit")
        assert "wrong" in b.locator("#data-reviews").inner_text()
        # More reviews (through the store, as two more tabs would), then the agreement panel shows kappa.
        plan = {ids[1]: ("right", "right"), ids[2]: ("wrong", "wrong"), ids[3]: ("right", "wrong"),
                ids[4]: ("right", "right")}
        for sid, (va, vb) in plan.items():
            for who, verdict in (("alice", va), ("bob", vb)):
                if not team.my_review(store, sid, who):
                    store.submit_review(sid, annotator=who, verdict=verdict, expected_revision=0)
        kappa = agreement.kappa_summary(team.items(store, "team"))
        assert kappa.method == "cohen" and kappa.samples == 5
        a.locator("#data-agreement-refresh").click()
        _wait(lambda: f"Cohen's κ = {kappa.value:.3f}" in a.locator("#data-agreement").inner_text(), what="kappa")
        assert "bootstrap CI" in a.locator("#data-agreement").inner_text()
        # alice put the first wrong step at step 2, bob said no mistake: one pair of labels, not the same.
        assert "First wrong step: the same in 0.0%" in a.locator("#data-agreement").inner_text()
        assert "of 1 pair(s) of labels" in a.locator("#data-agreement").inner_text()
        disputed = a.locator("#data-disagreements").inner_text()
        assert str(first) in disputed and str(ids[3]) in disputed
        assert "10 / 16 reviews" in a.locator("#data-progress").inner_text()
        # A lead (no login: anyone) opens a disagreement from the queue and adjudicates it.
        row = next(i for i in range(5) if a.locator(f"#data-disagreements [data-testid=cell-{i}-0]").count()
                   and a.locator(f"#data-disagreements [data-testid=cell-{i}-0]").inner_text() == str(ids[3]))
        a.locator(f"#data-disagreements [data-testid=cell-{row}-1]").click()
        _wait(lambda: f"Sample #{ids[3]}" in _header(a), what="the disputed sample in the editor")
        a.locator("#data-verdict label", has_text="wrong").click()
        a.locator("#data-adjudicate").click()
        _wait(lambda: store.get(ids[3]).verdict == "wrong", what="the adjudication")
        assert store.reviews(ids[3], "adjudication")[0]["annotator"] == "alice" and store.get(ids[3]).status == \
            "reviewed"
        _wait(lambda: str(ids[3]) not in a.locator("#data-disagreements").inner_text(), what="the queue to shrink")
        # The headline: the teacher's error rate on the reviewed samples, with its interval.
        err = agreement.teacher_error(team.items(store, "team"))["overall"]
        assert err["n"] == 4 and err["errors"] == 2  # one tie has no label yet; the adjudicated one has
        _wait(lambda: "of 4 reviewed" in a.locator("#data-teacher-error").inner_text(), what="the headline")
        headline = a.locator("#data-teacher-error").inner_text()
        assert f"Teacher verdict wrong on {100 * err['rate']:.1f}% [{100 * err['ci'][0]:.1f}, " in headline
        browser.close()
