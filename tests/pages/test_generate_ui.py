"""The Generate tab through the real Gradio server: launch a job, watch it, re-attach after a "refresh"."""

from __future__ import annotations

import json
import time

import gradio as gr
from gradio_client import Client

from cft.data.samples import Sample
from cft.data.store import Store
from tests.helpers import free_port, generate_form
from tests.servers import FaultServer


def launched_generate_tab():
    import pages.generate

    with gr.Blocks() as demo:
        pages.generate.build()
    demo.queue().launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    return demo


def test_launch_watch_and_reattach(tiny_model_dir, cft_home):
    secret = "sk-ui-secret-0000000000000000"
    Store().add_samples("seed", [Sample(question=f"What is {i} + {i}?", reference_answer=str(2 * i), key=f"q{i}")
                                 for i in range(1, 3)])
    server = FaultServer()
    demo = launched_generate_tab()
    try:
        client = Client(demo.local_url, verbose=False)
        message = client.predict(server.base_url, "fault", secret, 10, api_name="/test_connection")
        assert message.startswith(f"Connected to {server.base_url}") and "'fault' answered" in message
        fields = dict(source="dataset:seed", n_questions=2, student=str(tiny_model_dir), samples_per_question=2,
                      max_new_tokens=4, batch_size=4, dataset="ui-gen", teacher="openai", base_url=server.base_url,
                      model="fault", concurrency=2, max_retries=2,
                      prices=json.dumps({"fault": {"input": 1000.0, "output": 1000.0}}))
        form = generate_form(**fields)
        launched = client.predict(secret, *form, api_name="/launch_generation")
        assert launched.startswith("Launched job `generate-")
        job_id = launched.split("`")[1]
        deadline = time.time() + 240
        while time.time() < deadline:
            job, bar, counts, log = client.predict(None, api_name="/generation_view")
            if "completed" in counts:
                break
            time.sleep(1)
        assert job["value"] == job_id and [job_id, job_id] in job["choices"], job  # the dropdown's update
        assert "completed" in counts, counts + log
        assert "generated **4** / 4" in counts and "critiqued **4**" in counts and "failed **0**" in counts
        assert "est. cost $0.0720" in counts  # 4 requests x (11 + 7) tokens x $1000 per 1M
        assert "8 / 8 steps (100%)" in bar
        # A page refresh is a new session with no selection: it re-attaches to the newest job by itself.
        fresh = Client(demo.local_url, verbose=False)
        job2, _, counts2, _ = fresh.predict(None, api_name="/generation_view")
        assert job2["value"] == job_id and "critiqued **4**" in counts2
        try:
            client.predict(secret, *generate_form(**{**fields, "dataset": ""}), api_name="/launch_generation")
            raise AssertionError("an empty dataset name was accepted")
        except Exception as exc:  # noqa: BLE001 - gradio_client re-raises the server's gr.Error
            assert "dataset" in str(exc)
    finally:
        demo.close()
        server.close()
    assert Store().counts("ui-gen")["pending"] == 4
    assert {r["authorization"] for r in server.requests} == {f"Bearer {secret}"}
    assert not [p for p in cft_home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
