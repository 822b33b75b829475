"""The Data tab in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from cft.data import formats
from cft.data.samples import Sample, set_verdict
from cft.data.store import Store
from tests.helpers import ROOT, launched_app

SCREENSHOT = ROOT / "docs" / "screenshots" / "data.png"


def _wait(predicate, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _critique_value(page) -> str:
    return page.locator("#data-critique textarea").input_value()


def _pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.locator(f'[data-testid=dropdown-option][aria-label="{option}"]').first.click()


def test_filter_open_edit_and_submit_with_ctrl_enter(browser_page, cft_home, one_shot_path, tmp_path):
    page = browser_page
    store = Store()
    formats.import_file(store, one_shot_path, "one-shot")
    with launched_app() as url:
        page.goto(url)
        page.wait_for_selector("#data-table [data-testid=cell-0-0]")
        # Filter: verdict "wrong" (the store serves it), then open the first row.
        _pick(page, "data-filter-verdict", "wrong")
        n_wrong = store.stats("one-shot")["verdict"]["wrong"]
        _wait(lambda: f"of {n_wrong}" in page.locator("#data-page-label").inner_text(), what="the filtered table")
        first_id = int(page.locator("#data-table [data-testid=cell-0-0]").inner_text())
        assert store.get(first_id).verdict == "wrong"
        page.locator("#data-table [data-testid=cell-0-1]").click()
        _wait(lambda: f"Sample #{first_id}" in page.locator("#data-editor-header").inner_text(), what="the editor")
        original = store.get(first_id).critique
        assert _critique_value(page) == original
        # LaTeX in the response is typeset by KaTeX.
        _wait(lambda: page.locator("#data-response .katex").count() > 0, what="KaTeX")
        # The verdict radio rewrites the conclusion line.
        page.locator("#data-verdict label", has_text="right").click()
        _wait(lambda: "Conclusion: right [END]" in _critique_value(page), what="the rewritten conclusion")
        assert "Conclusion: wrong" not in _critique_value(page)
        # Edit the critique: the verdict radio follows the conclusion line, the diff shows the change.
        note = ("Correction: ∛2048 = 8∛4 ≈ 12.70, so the student's exact answer is right; "
                "the decimal above was miscalculated.")
        edited = set_verdict(original, "right").replace("Conclusion: right [END]",
                                                        note + "\n\nConclusion: right [END]")
        box = page.locator("#data-critique textarea")
        box.fill(edited[:-1])
        box.type(edited[-1])  # a real keystroke: Gradio's .input event follows typing
        _wait(lambda: "miscalculated" in " ".join(page.locator("#data-diff ins").all_inner_texts()), what="the diff")
        page.evaluate("document.querySelector('#data-diff ins').scrollIntoView({block: 'center'})")
        assert page.locator("#data-verdict input[value=right]").is_checked()
        page.screenshot(path=str(tmp_path / "data.png"), full_page=True)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "data.png", SCREENSHOT)
        # Ctrl+Enter in the textarea submits (assets/shortcuts.js clicks #data-submit).
        box.press("Control+Enter")
        _wait(lambda: store.get(first_id).status == "reviewed", what="the submit to reach the store")
        saved = store.get(first_id)
        assert saved.critique == edited and saved.verdict == "right" and saved.annotator == "anonymous"
        assert saved.revision == 2
        _wait(lambda: "1 / 600 reviewed" in page.locator("#data-counts").inner_text(), what="the progress bar")


def test_sample_content_is_inert_and_keyboard_shortcuts_work(browser_page, cft_home, tmp_path):
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    evil = ('<script>alert("xss-script")</script> <img src=x onerror="alert(\'xss-img\')"> **bold** \\( x^2 \\) '
            "[a link](javascript:alert('xss-link'))")
    store = Store()
    store.add_samples("d", [
        Sample(question=f"Plain question {i}", response=f"{i} + {i} = {2 * i}", critique="Fine.\n\nConclusion: right [END]",
               original_critique="Fine.\n\nConclusion: right [END]", verdict="right")
        for i in range(1, 4)
    ] + [Sample(question="Q " + evil, response="R " + evil, critique="C " + evil + "\n\nConclusion: wrong [END]",
                original_critique="Teacher " + evil, verdict="wrong", reference_answer="<img src=x onerror=alert(3)>")])
    with launched_app() as url:
        page.goto(url)
        page.wait_for_selector("#data-table [data-testid=cell-0-0]")
        _pick(page, "data-order", "Id")
        page.locator("#data-goto input").fill("4")
        page.locator("#data-open").click()
        _wait(lambda: "Sample #4" in page.locator("#data-editor-header").inner_text(), what="sample 4")
        _wait(lambda: "script" in page.locator("#data-diff").inner_text(), what="the diff panel")
        time.sleep(1.0)  # give any injected handler (there must be none) time to fire
        for where in ("#data-question", "#data-response", "#data-reference"):
            text = page.locator(where).inner_text()
            assert "<img src=x onerror=" in text, (where, text)
        assert '<script>alert("xss-script")</script>' in page.locator("#data-response").inner_text()
        assert "<script>" in page.locator("#data-diff").inner_text()
        assert page.locator("#data-response strong").count() >= 1  # Markdown still renders
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert page.evaluate("document.querySelectorAll('#data-editor script').length") == 0
        links = page.locator("#data-response a", has_text="a link")
        if links.count():  # kept as a link, but its javascript: URL must be stripped
            links.first.click()
            time.sleep(0.5)
        assert dialogs == []
        # Ctrl+S saves a draft; Alt+Left / Alt+Right move within the filter.
        page.locator("#data-critique textarea").press("Control+s")
        _wait(lambda: store.get(4).status == "draft", what="the draft save")
        page.keyboard.press("Alt+ArrowLeft")
        _wait(lambda: "Sample #3" in page.locator("#data-editor-header").inner_text(), what="previous sample")
        page.keyboard.press("Alt+ArrowRight")
        _wait(lambda: "Sample #4" in page.locator("#data-editor-header").inner_text(), what="next sample")
        assert dialogs == []
        page.screenshot(path=str(tmp_path / "inert.png"), full_page=True)
    assert Path(tmp_path / "inert.png").stat().st_size > 10_000
