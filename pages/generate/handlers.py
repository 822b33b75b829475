"""The Generate tab's callbacks: widget values in, widget values out (a UserError becomes the tab's error toast)."""

from __future__ import annotations

import gradio as gr

from cft import jobs
from cft.errors import UserError
from cft.generate import job as generation
from cft.generate.pricing import prices_path, save_prices
from pages.common import starting_job
from pages import guide
from pages.generate.form import (FORM_FIELDS, config_from_form, form_from_config, parse_prices_text, source_choices,
                                 student_choices)
from pages.generate.view import job_view


def launch_from_form(values: dict, api_key: str | None = None) -> str:
    job = generation.launch(config_from_form(values), api_key or None)
    return f"Launched job `{job.name}`."


def launch(request: gr.Request, api_key: str | None, *values) -> str:
    """The Launch button: the API key, then the form's values in FORM_FIELDS order (Gradio passes the request)."""
    with starting_job(request):
        return launch_from_form(dict(zip(FORM_FIELDS, values)), api_key)


def stop_job(job_id: str | None) -> str:
    if not job_id:
        raise UserError("no job selected")
    return "Stopping…" if jobs.stop(generation.get_job(job_id)) else f"job {job_id} is not running"


def resume_job(job_id: str | None, api_key: str | None = None, retry_failed: bool = False,
               request: gr.Request = None) -> str:
    if not job_id:
        raise UserError("no job selected")
    with starting_job(request):
        generation.relaunch(job_id, api_key or None, retry_failed=bool(retry_failed))
    again = " and tries the refused samples again" if retry_failed else ""
    return f"Resumed job `{job_id}`: it continues where it stopped{again}."


def connection_message(base_url: str, model: str, api_key: str | None, timeout: float = 30.0) -> str:
    from cft.generate.teacher import test_connection

    return test_connection(base_url, model, api_key or None, timeout=float(timeout or 30.0))


def save_prices_text(text: str) -> str:
    """Save a price table typed as JSON (the tab's editor); a message saying where."""
    table = save_prices(parse_prices_text(text) or {})
    return f"Saved {len(table)} price(s) to {prices_path()}."


def teacher_changed(kind: str):
    """The endpoint fields show only for an OpenAI-compatible teacher."""
    return gr.update(visible=kind == "openai")


def refresh(selected: str | None):
    """The timer's tick: the job list, and the chosen (else the current) job re-read from its directory."""
    view = job_view(selected)
    return gr.update(choices=view["ids"], value=view["job_id"]), view["bar"], view["counts"], view["log"]


def load_config(job_id: str | None) -> list:
    """The form filled from generation job ``job_id``'s config, then a message."""
    if not job_id:
        raise UserError("choose a generation job whose config to load")
    from cft.generate.config import GenerateConfig

    config = GenerateConfig.from_dict(generation.get_job(job_id).config(), where=f"job {job_id}")
    return [*form_from_config(config), f"Loaded the config of `{job_id}` into the form (target dataset "
            f"`{config.dataset}`: launched as is, a new job adds only what that dataset still lacks); change what "
            "you like and launch."]


def load_last_config() -> list:
    """Page load: the form filled from the newest generation job's config (nothing changes when there is none)."""
    newest = generation.list_jobs()
    if not newest:
        return [gr.skip()] * (len(FORM_FIELDS) + 1)
    try:
        return [*load_config(newest[0]["id"])[:-1], f"The form holds the config of the last job, `{newest[0]['id']}`."]
    except UserError:  # an unreadable config: the defaults stay
        return [gr.skip()] * (len(FORM_FIELDS) + 1)


def question_preview(source: str, question_id: str) -> str:
    """The question a One-Shot CFT job would use, with its reference answer (or the error naming what is missing)."""
    from cft.generate.oneshot import pick_question
    from pages.render import inert_markdown

    q = pick_question(source, question_id)
    answer = f"**Reference answer:** {inert_markdown(q.answer)}" if q.answer else "*No reference answer.*"
    return f"**{inert_markdown(q.source)}/{inert_markdown(q.id)}**\n\n{inert_markdown(q.question)}\n\n{answer}"


def show_current():
    """After a launch: the job list shows the new job (not the one picked before), so its progress is what moves."""
    view = job_view(None)
    return gr.update(choices=view["ids"], value=view["job_id"])


def on_show():
    """Page load and the tab shown: sources and students re-read (a new dataset, a trained adapter), and the hint."""
    return gr.update(choices=source_choices()), gr.update(choices=student_choices()), \
        guide.hint_update(guide.generate_hint())
