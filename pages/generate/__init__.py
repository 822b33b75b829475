"""Generate tab: sample noisy responses from a student model, critique them with a teacher, in the background.

``build()`` lays out the widgets and wires them; ``form`` turns the form into a GenerateConfig, ``handlers`` holds
the callbacks, ``view`` renders a job. The job writes its progress to its directory and a gr.Timer re-reads it, so
a refreshed page or a second browser re-attaches to a running job by itself.
"""

from __future__ import annotations

import gradio as gr

from cft.prompts import PROMPT_POLICIES
from cft.generate.config import TEACHERS, GenerateConfig
from pages.common import user_errors
from pages.generate import handlers
from pages.generate.form import FORM_FIELDS, prices_text, source_choices, student_choices
from pages.render import progress_html


def build() -> dict:
    d = GenerateConfig()
    w: dict = {}
    with gr.Row():
        with gr.Column(scale=2):
            hint = gr.Markdown(visible=False, elem_id="generate-hint")
            gr.Markdown("### Questions and student")
            with gr.Row():
                w["source"] = gr.Dropdown(source_choices(), value=d.source, allow_custom_value=True,
                                          elem_id="generate-source",
                                          label="Question source (benchmark, dataset:<name> or a .jsonl path)")
                w["n_questions"] = gr.Number(d.n_questions, precision=0, label="Questions",
                                             elem_id="generate-n-questions")
                w["seed"] = gr.Number(d.seed, precision=0, label="Seed")
            with gr.Accordion("One-Shot CFT: one question, many critiqued answers", open=False):
                gr.Markdown("Pick one question of the source; *Samples per question* is then the number of diverse "
                            "student answers, all critiqued. Train **CFT only** on the result (an SFT baseline would "
                            "have one example). The shared DSR-p0 file is such a dataset.")
                with gr.Row():
                    w["question_id"] = gr.Textbox(d.question_id, label="Question id (empty: sample questions as usual)",
                                                  placeholder="e.g. math500/17", elem_id="generate-question-id")
                    show_question = gr.Button("Show question", size="sm", elem_id="generate-show-question")
                question_view = gr.Markdown(elem_id="generate-question-view")
            with gr.Row():
                students = student_choices()
                w["student"] = gr.Dropdown(students, value=students[0], allow_custom_value=True,
                                           elem_id="generate-student",
                                           label="Student model (or a local model dir)")
                w["samples_per_question"] = gr.Number(d.samples_per_question, precision=0, label="Samples per question")
            with gr.Row():
                w["temperature"] = gr.Number(d.temperature, label="Temperature")
                w["top_p"] = gr.Number(d.top_p, label="Top-p")
                w["max_new_tokens"] = gr.Number(d.max_new_tokens, precision=0, label="Max new tokens",
                                                   elem_id="generate-max-new-tokens")
                w["batch_size"] = gr.Number(d.batch_size, precision=0, label="Batch size")
                w["prompt_policy"] = gr.Dropdown(list(PROMPT_POLICIES), value=d.prompt_policy,
                                                 label="Prompt policy (ask as at evaluation)",
                                                 info=PROMPT_POLICIES.get(d.prompt_policy))
            with gr.Row():
                w["student_endpoint_url"] = gr.Textbox(
                    "", label="Student endpoint (optional: an OpenAI-compatible server instead of the model above)",
                    placeholder="http://127.0.0.1:8000/v1", elem_id="generate-student-endpoint")
                w["student_endpoint_model"] = gr.Textbox("", label="Endpoint model (an adapter: its LoRA module name)")
            gr.Markdown("### Teacher")
            w["teacher"] = gr.Radio(list(TEACHERS), value=d.teacher,
                                    label="verifier: offline, exact answer check | openai: any OpenAI-compatible API")
            with gr.Group(visible=d.teacher == "openai") as endpoint:
                with gr.Row():
                    w["base_url"] = gr.Textbox(d.base_url, label="Base URL", placeholder="http://127.0.0.1:8080/v1")
                    w["model"] = gr.Textbox(d.model, label="Model", placeholder="gpt-4o")
                    api_key = gr.Textbox("", type="password", label="API key (default $OPENAI_API_KEY; never saved)",
                                         elem_id="generate-api-key")
                with gr.Row():
                    w["teacher_temperature"] = gr.Number(d.teacher_temperature, label="Teacher temperature")
                    w["teacher_top_p"] = gr.Number(d.teacher_top_p, label="Teacher top-p")
                    w["concurrency"] = gr.Number(d.concurrency, precision=0, label="Concurrency")
                    w["timeout"] = gr.Number(d.timeout, label="Timeout (s)")
                    w["max_retries"] = gr.Number(d.max_retries, precision=0, label="Max retries")
                with gr.Row():
                    test = gr.Button("Test connection", size="sm")
                    save_prices = gr.Button("Save prices", size="sm")
                with gr.Accordion("Prices, USD per 1M tokens (edit for your provider)", open=False):
                    w["prices"] = gr.Code(prices_text(), language="json", lines=8, label="Prices")
            w["dataset"] = gr.Textbox(d.dataset, label="Target dataset (appears in the Data tab)",
                                  elem_id="generate-dataset")
            launch = gr.Button("Launch", variant="primary", elem_id="generate-launch")
            message = gr.Markdown(elem_id="generate-message")
        with gr.Column(scale=3):
            # Custom values: jobs appear after the page was built, and an API client names any job by its id.
            job = gr.Dropdown([], label="Job", elem_id="generate-job", allow_custom_value=True)
            bar = gr.HTML(progress_html(0, 0), elem_id="generate-progress")
            counts = gr.Markdown(elem_id="generate-counts")
            with gr.Row():
                stop = gr.Button("Stop", variant="stop")
                resume = gr.Button("Resume")
                retry_failed = gr.Checkbox(False, label="Retry failed samples", elem_id="generate-retry-failed")
                load = gr.Button("Load config", elem_id="generate-load-config")
            log = gr.Textbox(label="Log tail", lines=12, max_lines=12, autoscroll=True, elem_id="generate-log")

    form = [w[name] for name in FORM_FIELDS]
    launch.click(user_errors(handlers.launch), inputs=[api_key, *form], outputs=message, api_name="launch_generation"
                 ).success(handlers.show_current, None, job, api_visibility="private")
    test.click(user_errors(handlers.connection_message), inputs=[w["base_url"], w["model"], api_key, w["timeout"]],
               outputs=message, api_name="test_connection")
    save_prices.click(user_errors(handlers.save_prices_text), inputs=w["prices"], outputs=message,
                      api_name="save_prices")
    stop.click(user_errors(handlers.stop_job), inputs=job, outputs=message, api_name="stop_generation")
    resume.click(user_errors(handlers.resume_job), inputs=[job, api_key, retry_failed], outputs=message,
                 api_name="resume_generation")
    load.click(user_errors(handlers.load_config), inputs=job, outputs=[*form, message],
               api_name="load_generation_config")
    show_question.click(user_errors(handlers.question_preview), inputs=[w["source"], w["question_id"]],
                        outputs=question_view, api_name="generate_question_preview")
    w["teacher"].change(handlers.teacher_changed, inputs=w["teacher"], outputs=endpoint, api_visibility="private")

    outputs = [job, bar, counts, log]
    timer = gr.Timer(1.5)
    timer.tick(handlers.refresh, inputs=job, outputs=outputs, show_progress="hidden", api_name="generation_view")
    job.input(handlers.refresh, inputs=job, outputs=outputs, show_progress="hidden", api_visibility="private")
    on_show = [(handlers.on_show, None, [w["source"], w["student"], hint])]
    on_load = [(handlers.load_last_config, None, [*form, message])]  # page load only: a shown tab keeps edits
    return {"on_show": on_show, "on_load": on_load, "form": w, "api_key": api_key, "job": job, "bar": bar,
            "counts": counts, "timer": timer}
