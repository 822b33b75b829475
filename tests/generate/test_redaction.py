"""API keys never reach the disk, the logs or a page (cft.redact), even when the endpoint echoes them.

End to end: the real app in its own process (its stdout and stderr captured), a local endpoint that repeats the
Authorization header in its error bodies (401: the job fails; 400: one sample is refused; 500: retried, then
failed), generation jobs launched through the API and through the CLI, and a connection test. Afterwards every file
under the workspace, the app's output, the CLI's output and every API answer are searched for the keys.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
from gradio_client import Client

from cft.data.samples import Sample
from cft.data.store import Store
from cft.redact import redact, register
from tests.helpers import ROOT, free_port, generate_form, wait_for
from tests.servers import FaultServer


def test_redact_masks_keys_headers_and_key_shaped_tokens(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "configured-key-value-1234")
    register("typed-in-the-ui-0987654321")
    cases = {
        'HTTP 401: {"error": "Incorrect API key provided: sk-proj-AbC123xyz456QWERTYzz"}': "sk-proj-AbC123xyz456",
        "Authorization: Bearer abcdef123456ghijkl": "abcdef123456",
        '{"api_key": "hunter2hunter2"}': "hunter2hunter2",
        "token=hf_abcdefghijKLMNOP1234": "hf_abcdefghij",
        "key qZ8kL2mN9pR4sT7vW1xY3zA5bC6dE0fG in a sentence": "qZ8kL2mN9pR4sT7vW1xY3zA5bC6dE0fG",
        "the configured-key-value-1234 leaked": "configured-key-value-1234",
        "and typed-in-the-ui-0987654321 too": "typed-in-the-ui-0987654321",
        "https://user:pa55word99@host/v1": "pa55word99",
    }
    for text, secret in cases.items():
        out = redact(text)
        assert secret not in out and "[REDACTED]" in out, (text, out)
    for harmless in ("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                     "tokens_in: 11, max_tokens=1024", "SmolLM2-135M-Instruct loaded from /tmp/pytest-of-x/tiny0"):
        assert redact(harmless) == harmless


def start_app(env: dict, out: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(out, "wb")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"the app exited: {out.read_text()[-2000:]}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=180, what="the app to answer")
    return proc, url


def test_keys_echoed_by_the_endpoint_reach_no_file_no_log_and_no_page(tiny_model_dir, cft_home, tmp_path):
    keys = {"plain": "plain" + secrets.token_hex(12),  # not key-shaped: masked because it is the configured key
            "shaped": "sk-proj-" + secrets.token_urlsafe(24), "cli": "cli" + secrets.token_hex(12)}
    Store().add_samples("seed", [Sample(question=f"What is {i} + {i}?", reference_answer=str(2 * i), key=f"q{i}")
                                 for i in range(1, 4)])
    refusing = FaultServer(default="echo_401")
    flaky = FaultServer(script=["echo_400", "echo_500", "echo_500"])
    env = {**os.environ, "CFT_HOME": str(cft_home), "PYTHONUNBUFFERED": "1"}
    env.pop("OPENAI_API_KEY", None)
    app_out = tmp_path / "app-output.txt"
    proc, url = start_app(env, app_out)
    answers = []
    try:
        client = Client(url, verbose=False)
        def form(server: FaultServer, dataset: str) -> list:
            return generate_form(source="dataset:seed", n_questions=3, student=str(tiny_model_dir), max_new_tokens=4,
                                 batch_size=4, dataset=dataset, teacher="openai", base_url=server.base_url,
                                 model="fault", max_retries=1)

        try:
            client.predict(refusing.base_url, "fault", keys["plain"], 10, api_name="/test_connection")
            raise AssertionError("a 401 was reported as a connection")
        except Exception as exc:  # noqa: BLE001 - the server's gr.Error
            answers.append(str(exc))
            assert "HTTP 401" in str(exc) and "[REDACTED]" in str(exc), exc
        jobs_started = []
        for key, server, dataset in ((keys["plain"], refusing, "gen-refused"), (keys["shaped"], flaky, "gen-flaky")):
            message = client.predict(key, *form(server, dataset), api_name="/launch_generation")
            answers.append(message)
            jobs_started.append(message.split("`")[1])
        for job_id in jobs_started:
            def finished(job_id=job_id):
                view = client.predict(job_id, api_name="/generation_view")
                answers.append(json.dumps(view, default=str))
                return view if ("— failed ·" in view[2] or "— completed ·" in view[2]) else None

            view = wait_for(finished, timeout=240, poll=1, what=f"job {job_id} to finish")
            assert "[REDACTED]" in view[2] + view[3], view
        assert "refused by the teacher **1**" in view[2], view[2]  # the 400 sample of the second job
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        flaky.close()
    cli = subprocess.run([sys.executable, "-m", "cft", "generate", "--source", "dataset:seed", "--n", "1",
                          "--samples", "1", "--student", str(tiny_model_dir), "--max-new-tokens", "2", "--teacher",
                          "openai", "--base-url", refusing.base_url, "--model", "fault", "--dataset", "gen-cli",
                          "--max-retries", "0"], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "OPENAI_API_KEY": keys["cli"]}, timeout=300)
    refusing.close()
    # The endpoints did get the keys, and echoed them: the test exercised the leak it guards against.
    sent = {r["authorization"] for s in (refusing, flaky) for r in s.requests}
    assert {f"Bearer {keys['plain']}", f"Bearer {keys['shaped']}", f"Bearer {keys['cli']}"} <= sent
    assert cli.returncode != 0 and "[REDACTED]" in cli.stdout + cli.stderr, cli.stdout + cli.stderr
    texts = {"app output": app_out.read_bytes(), "cli output": (cli.stdout + cli.stderr).encode(),
             "api answers": "\n".join(answers).encode()}
    texts.update({str(p): p.read_bytes() for p in cft_home.rglob("*") if p.is_file()})
    assert len(texts) > 10 and any(p.endswith("status.json") for p in texts)
    for key in keys.values():
        for where, data in texts.items():
            for fragment in (key, key[:16], key[-16:]):
                assert fragment.encode() not in data, f"{fragment!r} found in {where}"
    print(f"\nredaction: {len(texts)} files and outputs searched for {len(keys)} echoed keys: none found")
