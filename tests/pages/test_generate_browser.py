"""The first hour's hand-offs in headless Chromium, with real jobs: the Generate form comes back from the last
generation job on page load and from any job with "Load config"; a generation that finished puts its dataset in the
Train tab's list, and an eval that finished joins the Compare tab's eval lists, without a reload."""

from __future__ import annotations

import functools

from playwright.sync_api import sync_playwright

from cft.data.samples import Sample
from cft.data.store import Store
from cft.generate import job as generation
from cft.generate.config import GenerateConfig
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, browser_wait, launched_app
from tests.pages.test_first_hour_browser import _options, _tab, _text
from tests.servers import FaultServer

_wait = functools.partial(browser_wait, timeout=30.0)


def _value(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first.input_value()


def _fill(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} textarea, #{elem_id} input").first
    box.fill(value)
    box.press("Tab")  # a Number commits its value on blur


def test_generate_form_comes_back_and_the_generated_dataset_reaches_train(cft_home, tiny_model_dir):
    Store().add_samples("seed", [Sample(question=f"What is {i} + {i}?", reference_answer=str(2 * i), key=f"q{i}")
                                 for i in range(1, 3)])
    earlier = generation.new_job(GenerateConfig(
        source="dataset:seed", n_questions=2, student_model=str(tiny_model_dir), samples_per_question=1,
        max_new_tokens=3, batch_size=2, dataset="gen-browser", teacher="verifier")).name
    with launched_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        _tab(page, "Generate")
        # The page load filled the form from the last job's config.
        _wait(lambda: f"config of the last job, {earlier}" in _text(page, "#generate-message"),
              what="the form restored on page load")
        assert _value(page, "generate-source") == "dataset:seed"
        assert _value(page, "generate-n-questions") == "2" and _value(page, "generate-max-new-tokens") == "3"
        assert _value(page, "generate-student") == str(tiny_model_dir)
        assert _value(page, "generate-dataset") == "gen-browser"
        # Edits, then "Load config" with the job picked: the job's values again.
        _fill(page, "generate-dataset", "something-else")
        _fill(page, "generate-n-questions", "9")
        _wait(lambda: _value(page, "generate-job") == earlier, what="the job list")
        page.locator("#generate-load-config").click()
        _wait(lambda: f"Loaded the config of {earlier}" in _text(page, "#generate-message"), what="the loaded config")
        assert _value(page, "generate-dataset") == "gen-browser" and _value(page, "generate-n-questions") == "2"
        # Launch it; once it has finished, the Train tab offers the new dataset without a reload.
        _tab(page, "Train")
        assert "gen-browser" not in _options(page, "#train-dataset")
        _tab(page, "Generate")
        page.locator("#generate-launch").click()
        _wait(lambda: "Launched job" in _text(page, "#generate-message"), what="the launch")
        _wait(lambda: "completed" in _text(page, "#generate-counts"), timeout=240, what="the job to finish")
        assert "generated **2**" not in _text(page, "#generate-counts")  # markdown rendered, not raw
        _tab(page, "Train")
        _wait(lambda: "gen-browser" in _options(page, "#train-dataset"), what="the generated dataset in Train")
        assert page.locator(".toast-body").count() == 0  # no error on the way
        browser.close()


def test_a_finished_eval_joins_the_compare_lists_without_a_reload(cft_home):
    server = FaultServer(reply="3 + 4 = 7, so the answer is \\boxed{7}.")
    try:
        with launched_app() as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(url)
            _tab(page, "Compare")
            page.get_by_text("What CFT fixed and broke").click()  # its two eval lists, shown
            page.get_by_text("Run an evaluation (background job)").click()
            page.locator("#cmp-ev-endpoint textarea, #cmp-ev-endpoint input").first.fill(server.base_url)
            page.locator("#cmp-ev-endpoint-model textarea, #cmp-ev-endpoint-model input").first.fill("fault")
            for label, value in (("Problems (empty: all)", "2"), ("max new tokens", "16"), ("batch size", "2")):
                box = page.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Tab")
            page.get_by_label("Name (same name resumes)").fill("live-eval")
            page.get_by_role("button", name="Start eval").click()
            _wait(lambda: _text(page, "#cmp-ev-status") or page.locator(".toast-body").count(), what="the start")
            assert "Started eval live-eval" in _text(page, "#cmp-ev-status"), page.locator(".toast-body").all_inner_texts()
            _wait(lambda: "live-eval" in _options(page, "#cmp-base-eval"), timeout=120,
                  what="the finished eval in the Compare lists")
            assert "live-eval" in _options(page, "#cmp-cft-eval")
            assert page.locator(".toast-body").count() == 0
            browser.close()
    finally:
        server.close()
