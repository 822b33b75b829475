"""The Generate tab's "Load config": the form restored from any earlier generation job's config, and on page load
from the last job's, through the tab's handlers (the browser test is in test_generate_browser.py)."""

from __future__ import annotations

import gradio as gr
import pytest

from cft import models
from cft.errors import UserError
from cft.generate import job as generation
from cft.generate.config import GenerateConfig
from pages.generate import handlers
from pages.generate.form import FORM_FIELDS, config_from_form


def _job(**fields) -> str:
    return generation.new_job(GenerateConfig(**fields)).name


def test_load_config_restores_every_field_of_a_job(cft_home):
    first = _job(source="math_train", n_questions=7, seed=3, samples_per_question=4, temperature=0.9, top_p=0.8,
                 max_new_tokens=99, batch_size=5, dataset="mine", teacher="openai", base_url="http://127.0.0.1:9/v1",
                 model="judge", teacher_temperature=0.1, concurrency=3, timeout=12.5, max_retries=1,
                 prices={"judge": {"input": 1.0, "output": 2.0}}, prompt_policy="paper")
    second = _job(dataset="other")
    *values, message = handlers.load_config(first)
    form = dict(zip(FORM_FIELDS, values))
    assert f"`{first}`" in message and "`mine`" in message
    assert form["source"] == "math_train" and form["n_questions"] == 7 and form["seed"] == 3
    assert form["samples_per_question"] == 4 and form["max_new_tokens"] == 99 and form["batch_size"] == 5
    assert form["teacher"] == "openai" and form["model"] == "judge" and form["timeout"] == 12.5
    assert form["prompt_policy"] == "paper" and '"judge"' in form["prices"]
    assert form["student"] == models.EMBEDDED_LABEL
    # The restored form launches the same job again.
    again = config_from_form(form)
    original = generation.get_job(first).config()
    assert again.to_dict() == original
    # Page load: the newest job's config.
    *latest, note = handlers.load_last_config()
    assert dict(zip(FORM_FIELDS, latest))["dataset"] == "other" and f"`{second}`" in note
    with pytest.raises(UserError, match="choose a generation job"):
        handlers.load_config(None)
    with pytest.raises(UserError, match="not found"):
        handlers.load_config("generate-gone")


def test_page_load_leaves_the_defaults_when_there_is_no_job(cft_home):
    out = handlers.load_last_config()
    assert len(out) == len(FORM_FIELDS) + 1 and all(isinstance(v, type(gr.skip())) for v in out)


def test_an_endpoint_student_comes_back_as_its_endpoint(cft_home):
    job = _job(student_engine="endpoint", student_endpoint_url="http://127.0.0.1:8000/v1", student_endpoint_model="m")
    form = dict(zip(FORM_FIELDS, handlers.load_config(job)[:-1]))
    assert form["student_endpoint_url"] == "http://127.0.0.1:8000/v1" and form["student_endpoint_model"] == "m"
    assert config_from_form(form).student_engine == "endpoint"
