"""The Compare tab in headless Chromium: pick two trained checkpoints, answer side by side, click a fixed problem,
vote; a screenshot goes to the test's tmp dir and to docs/screenshots/compare.png for the README."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers import ROOT, launched_app

A, B = "run:cft-toy/checkpoint-10", "run:cft-toy/checkpoint-20"
SCREENSHOT = ROOT / "docs" / "screenshots" / "compare.png"


def pick(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    # Gradio keeps other dropdowns' option lists in the DOM: take the one that is showing.
    page.get_by_role("option", name=value, exact=True).filter(visible=True).first.click()


@pytest.mark.browser
def test_compare_tab_in_chromium(toy, browser_page, cft_home, tmp_path):
    page = browser_page
    with launched_app() as url:
        page.goto(url)
        page.get_by_role("tab", name="Compare").click()
        pick(page, "cmp-model-a", A)
        pick(page, "cmp-model-b", B)
        page.locator("#cmp-question textarea").fill("What is 3 + 4? (typed in)")
        page.locator("#cmp-reference input, #cmp-reference textarea").first.fill("7")
        # max new tokens: 1 (the toy checkpoints were trained to say one token)
        page.get_by_label("number input for max new tokens").fill("1")
        page.get_by_label("number input for max new tokens").press("Enter")
        page.locator("#cmp-run").click()
        page.wait_for_function("document.querySelector('#cmp-mark-b') && document.querySelector('#cmp-mark-b').innerText.includes('✗')",
                               timeout=60_000)
        assert "✓" in page.locator("#cmp-mark-a").inner_text()
        assert page.locator("#cmp-answer-a").inner_text().strip() == "7"
        assert page.locator("#cmp-answer-b").inner_text().strip() == "8"
        page.locator("#cmp-vote-1").click()  # "B better"
        page.wait_for_function("document.querySelector('#cmp-vote-status').innerText.includes('Recorded')", timeout=20_000)
        vote = json.loads((cft_home / "votes.jsonl").read_text().splitlines()[-1])
        assert vote["vote"] == "B better" and vote["models"]["B"] == B

        # The fixed/broke diff: checkpoint-20 as baseline, checkpoint-10 as "CFT"; click a fixed problem.
        page.get_by_text("What CFT fixed and broke").click()
        page.get_by_role("button", name="↻ Refresh lists").click()
        page.wait_for_timeout(500)
        pick(page, "cmp-base-eval", "toy-checkpoint-20")
        pick(page, "cmp-cft-eval", "toy-checkpoint-10")
        page.locator("#cmp-diff").click()
        page.wait_for_function("document.querySelector('#cmp-diff-note').innerText.includes('fixed 4')", timeout=20_000)
        page.locator("#cmp-fixed [data-testid=cell-0-1]").click()
        page.wait_for_function("document.querySelector('#cmp-question textarea').value.length > 0 && "
                               "!document.querySelector('#cmp-question textarea').value.includes('typed in')", timeout=20_000)
        # The row opens with the baseline in slot A and the CFT model in slot B, and answers again.
        page.wait_for_function("document.querySelector('#cmp-mark-a').innerText.includes('✗') && "
                               "document.querySelector('#cmp-mark-b').innerText.includes('✓')", timeout=60_000)
        assert page.locator("#cmp-answer-a").inner_text().strip() == "8"
        question = page.locator("#cmp-question textarea").input_value()
        assert question in {"What is 3 + 4?", "What is 10 - 3?", "How many days in a week?", "What is 14 / 2?"}
        assert page.locator(".toast-body, .toast-wrap .error").count() == 0  # no error toast on the way

        # Last, for the README: the real embedded SmolLM2 beside a checkpoint on a random GSM8K problem.
        pick(page, "cmp-model-a", "SmolLM2-135M-Instruct (embedded)")
        pick(page, "cmp-bench", "gsm8k")
        page.locator("#cmp-random").click()
        page.wait_for_function("document.querySelector('#cmp-pid textarea, #cmp-pid input').value.startsWith('gsm8k/')", timeout=20_000)
        page.get_by_label("number input for max new tokens").fill("48")
        page.get_by_label("number input for max new tokens").press("Enter")
        page.locator("#cmp-run").click()
        page.wait_for_function("document.querySelector('#cmp-mark-a').innerText.includes('generating')", timeout=60_000)
        page.wait_for_function("document.querySelector('#cmp-mark-a').innerText.includes('Extracted') && "
                               "document.querySelector('#cmp-mark-b').innerText.includes('Extracted')", timeout=180_000)
        assert len(page.locator("#cmp-answer-a").inner_text().split()) > 5  # a real model writes sentences
        page.locator("#cmp-head-a").scroll_into_view_if_needed()
        shot = tmp_path / "compare.png"
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
