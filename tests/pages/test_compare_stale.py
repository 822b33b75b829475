"""A Compare entry that no longer exists (an eval dir removed, a run deleted or renamed while the page was open):
every handler that takes an eval, a model or a run from a dropdown names it and says it is gone, before anything
downstream fails with a confusing message (an empty diff, "no results yet", a missing file)."""

from __future__ import annotations

import json
import shutil

import pytest

from cft import jobs
from cft.errors import UserError
from cft.evaluate.config import eval_dir
from pages.compare import handlers
from tests.helpers import fake_checkpoint_run


def _eval(name: str, correct: dict[str, bool]) -> None:
    d = eval_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    jobs.write_json_atomic(d / "config.json", {"name": name, "benchmark": "gsm8k", "kind": "eval"})
    (d / "results.jsonl").write_text("".join(json.dumps({"id": k, "correct": v, "question": f"q{k}", "reference": "1",
                                                         "output": "x", "extracted": "1" if v else "2"}) + "\n"
                                             for k, v in correct.items()))
    jobs.write_json_atomic(d / "summary.json", {"benchmark": "gsm8k", "prompt_policy": "system", "n": len(correct),
                                                "max_new_tokens": 256, "greedy": True})


class _Row:
    row_value = ["p0"]


def _gone(call, name: str) -> str:
    with pytest.raises(UserError) as info:
        out = call()
        if hasattr(out, "__next__"):  # a streaming handler fails on its first step
            next(out)
    text = str(info.value)
    assert repr(name) in text and "does not exist" in text and "Refresh lists" in text, text
    return text


def test_every_compare_handler_names_an_eval_that_is_gone(cft_home):
    _eval("base", {"p0": False, "p1": True})
    _eval("cft", {"p0": True, "p1": True})
    assert handlers.diff("base", "cft")[2].startswith("2 shared problems")  # both there: it works
    shutil.rmtree(eval_dir("cft"))  # deleted while the page still lists it
    _gone(lambda: handlers.diff("base", "cft"), "cft")
    _gone(lambda: handlers.diff("cft", "base"), "cft")
    _gone(lambda: handlers.disagreement("base", "cft"), "cft")
    _gone(lambda: handlers.open_row("cft", "base", _Row()), "cft")
    _gone(lambda: handlers.regrade("cft"), "cft")
    eval_dir("base").rename(eval_dir("base-renamed"))
    _gone(lambda: handlers.diff("base", "base-renamed"), "base")


def test_the_library_names_a_missing_eval_instead_of_reading_no_rows(cft_home):
    from cft.evaluate.paired import compare_evals
    from cft.evaluate.results import diff_evals

    _eval("base", {"p0": False})
    with pytest.raises(UserError, match="eval 'gone' does not exist"):
        diff_evals("base", "gone")  # it used to be "0 shared problems"
    with pytest.raises(UserError, match="eval 'gone' does not exist"):
        compare_evals("base", "gone")


def test_a_model_or_run_deleted_while_the_page_was_open_is_named(cft_home):
    run_dir = fake_checkpoint_run(cft_home, "live", steps=(1,))
    label = "run:live/checkpoint-1"
    handlers.require_existing(model_labels=(label, "", "endpoint:m@http://127.0.0.1:1/v1"), runs=("live",))
    shutil.rmtree(run_dir)
    _gone(lambda: handlers.side_by_side_view(label, "", "", "", "", "What is 1 + 1?", "2", 1), label)
    _gone(lambda: handlers.start_eval(label, "gsm8k", 1, 1, 1, "e1"), label)
    _gone(lambda: handlers.start_selection("live", "gsm8k", 1, 1, 1), "live")
    assert "does not exist" in handlers.best_checkpoint("live")  # it follows the list: a line, not a toast
    assert not (cft_home / "evals" / "e1").exists()  # nothing was launched
    with pytest.raises(UserError, match="not among the available models"):
        handlers.require_existing(model_labels=("some-typo",))


def test_a_stale_diff_through_the_app(cft_home):
    from gradio_client import Client

    from tests.helpers import launched_app

    _eval("base", {"p0": False})
    with launched_app() as url:
        client = Client(url, verbose=False)
        with pytest.raises(Exception) as info:  # gradio_client re-raises the server's gr.Error
            client.predict("base", "removed-eval", api_name="/compare_diff")
        assert "'removed-eval' does not exist" in str(info.value)


def test_a_stale_eval_in_chromium_names_it_after_the_lists_moved_on(cft_home):
    """The eval is deleted while the page is open; the timer re-reads the lists (the picked value stays shown) and
    Diff says which eval is gone, in a toast, instead of an empty diff or Gradio's "not in the list of choices"."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import CHROMIUM, CHROMIUM_ARGS, browser_wait, launched_app

    _eval("base", {"p0": False, "p1": True})
    _eval("cft", {"p0": True, "p1": True})
    with launched_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        page.get_by_role("tab", name="Compare").click()
        page.get_by_text("What CFT fixed and broke").click()
        browser_wait(lambda: page.locator("#cmp-cft-eval input").input_value() == "cft", what="the CFT eval")
        shutil.rmtree(eval_dir("cft"))
        page.wait_for_timeout(4000)  # a timer tick (3 s): the lists no longer offer it
        page.locator("#cmp-diff").click()
        toast = page.locator(".toast-body")
        browser_wait(lambda: toast.count() > 0, what="the error toast")
        text = " ".join(toast.all_inner_texts())
        assert "'cft' does not exist" in text and "Refresh lists" in text, text
        assert "not in the list of choices" not in text
        browser.close()
