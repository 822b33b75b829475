"""A new user's first hour in real headless Chromium: the first-run path on an empty workspace (a hint on every
empty tab, "Load the sample data", the lists of the other tabs following without a reload) and the Compare tab's
model list picking up a run that saved a checkpoint while the page was open."""

from __future__ import annotations

import functools
import time

from playwright.sync_api import sync_playwright

from cft.data import sample_data
from cft.data.store import Store
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, browser_wait, fake_checkpoint_run, launched_app


_wait = functools.partial(browser_wait, timeout=30.0)


def _text(page, selector: str) -> str:
    loc = page.locator(selector)
    return loc.inner_text() if loc.count() and loc.is_visible() else ""


def _tab(page, label: str) -> None:
    page.get_by_role("tab", name=label).click()


def _options(page, selector: str) -> list[str]:
    """The choices a dropdown offers now (opened, read, closed)."""
    page.locator(f"{selector} input").click()
    options = page.locator("[data-testid=dropdown-option]")
    _wait(lambda: options.count() > 0, what=f"the options of {selector}")
    labels = [options.nth(i).get_attribute("aria-label") for i in range(options.count())]
    page.mouse.click(5, 5)  # close it (and blur it, so the next click opens it again)
    _wait(lambda: options.count() == 0, what=f"{selector} to close")
    return labels


def test_first_run_hints_load_the_sample_data_and_every_list_follows(cft_home):
    assert sample_data.sample_file() is not None  # conftest allows ../shared/data: the One-Shot CFT file
    with launched_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        # Every empty tab says what to do next.
        _wait(lambda: "Load the sample data" in _text(page, "#data-hint"), what="the Data tab's welcome")
        _tab(page, "Generate")
        _wait(lambda: "No generation job yet" in _text(page, "#generate-hint"), what="the Generate hint")
        _tab(page, "Train")
        _wait(lambda: "No dataset to train on yet" in _text(page, "#train-hint"), what="the Train hint")
        assert page.locator("#train-dataset input").input_value() == ""
        _tab(page, "Compare")
        _wait(lambda: "Nothing trained to compare yet" in _text(page, "#cmp-hint"), what="the Compare hint")
        # One click fills the workspace; the table, then the Train tab, follow without a reload.
        _tab(page, "Data")
        page.locator("#data-load-sample").click()
        _wait(lambda: "Loaded 600 samples" in _text(page, "#data-start-message"), what="the load message")
        assert "Next:" in _text(page, "#data-start-message")
        _wait(lambda: page.locator("#data-table [data-testid=cell-0-0]").count() > 0, what="the table to fill")
        assert page.locator("#data-dataset input").input_value() == sample_data.ONE_SHOT_DATASET
        assert not page.locator("#data-first-run").is_visible()
        _tab(page, "Train")
        _wait(lambda: page.locator("#train-dataset input").input_value() == sample_data.ONE_SHOT_DATASET,
              what="the Train tab's dataset to follow the import")
        _wait(lambda: "No run yet" in _text(page, "#train-hint"), what="the Train hint's next step")
        # A dataset created elsewhere (an import from the CLI, a generation) joins the list when the tab is shown.
        Store().create_dataset("made-elsewhere")
        _tab(page, "Data")
        _tab(page, "Train")
        _wait(lambda: "made-elsewhere" in _options(page, "#train-dataset"), what="the new dataset in Train")
        assert page.locator("#train-dataset input").input_value() == sample_data.ONE_SHOT_DATASET  # kept
        # A run saving its first checkpoint while the Compare tab is open joins its model list (its timer).
        _tab(page, "Compare")
        assert "run:live/checkpoint-1" not in _options(page, "#cmp-model-a")
        fake_checkpoint_run(cft_home, "live", steps=(1,))
        _wait(lambda: "run:live/checkpoint-1" in _options(page, "#cmp-model-b"), timeout=20,
              what="the new checkpoint in the Compare lists")
        browser.close()


def test_stop_shows_stopping_until_the_run_has_ended_and_load_config_refills_the_form(cft_home, tiny_model_dir):
    from tests.helpers import slow_stopping_job, tiny_config

    run = cft_home / "runs" / "slow"
    slow_stopping_job(run, linger=4.0, config=tiny_config(tiny_model_dir, name="slow", max_steps=7).to_dict())
    with launched_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        _tab(page, "Train")
        _wait(lambda: _text(page, "#train-log textarea") or page.locator("#train-log textarea").input_value(),
              what="the run's log")
        log = page.locator("#train-log textarea")
        _wait(lambda: log.input_value().startswith("[running] slow"), what="the running run")
        assert "step 1" in log.input_value()
        page.locator("#train-stop").click()
        _wait(lambda: "Stopping slow" in _text(page, "#train-message"), what="the stop message")
        _wait(lambda: log.input_value().startswith("[stopping…] slow"), what="the stopping state")
        assert "stopping…" in _text(page, "#train-runs")
        _wait(lambda: log.input_value().startswith("[stopped] slow"), timeout=30, what="the run to end")
        # The form comes back from the run's config, under a name no run uses.
        page.locator("#train-load-config").click()
        _wait(lambda: "Loaded the config of slow" in _text(page, "#train-message"), what="the loaded config")
        page.get_by_text("Hyperparameters").click()
        assert page.locator("#train-max-steps input").input_value() == "7"
        assert page.locator("#train-base-model textarea, #train-base-model input").first.input_value() == \
            str(tiny_model_dir)
        name = page.locator("#train-name textarea, #train-name input").first.input_value()
        assert name.startswith("run-") and name != "slow"
        browser.close()


def test_preview_warns_before_launch_when_the_comparison_would_be_meaningless(cft_home, tiny_model_dir):
    from tests.helpers import put_mini_dataset

    put_mini_dataset()
    with launched_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        _tab(page, "Train")
        _wait(lambda: page.locator("#train-dataset input").input_value() == "mini", what="the dataset")
        base = page.locator("#train-base-model textarea, #train-base-model input").first
        base.fill(str(tiny_model_dir))
        page.get_by_text("Hyperparameters").click()
        steps = page.locator("#train-max-steps input")

        def typed_and_held() -> bool:
            # After a long suite a late page-load update can still reset the field to the preset's value once;
            # type again until 12 holds (committed by a blur, as a user's typing is) for a second.
            if steps.input_value() != "12":
                steps.fill("12")
                steps.press("Tab")
            time.sleep(1.0)
            return steps.input_value() == "12"

        _wait(typed_and_held, what=lambda: f"max steps to hold 12 (it holds {steps.input_value()!r})")
        page.locator("#train-preview").click()
        message = "#train-message"
        _wait(lambda: "optimizer steps" in _text(page, message), timeout=120, what="the preview")
        text = _text(page, message)
        for mode in ("cft", "sft"):
            assert f"{mode} (" in text
        assert "training examples" in text and "dropped as too long" in text
        assert "12 optimizer steps" in text and "under 50" in text and "only 2 sft training example(s)" in text and "⚠️" in text
        assert not (cft_home / "runs").exists() or not any((cft_home / "runs").iterdir())  # nothing launched
        browser.close()
