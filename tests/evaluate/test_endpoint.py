"""Inference through an OpenAI-compatible server: evals, critic mode, student sampling and the arena against a real
llama.cpp server hosting the embedded GGUF, and the request itself (messages, decoding, retries) against a local
fault server."""

from __future__ import annotations

import json

import pytest

from cft.engines import NEUTRAL_EXTRA, endpoint_generate
from cft.errors import UserError
from cft.evaluate import EvalConfig
from cft.evaluate.config import eval_dir
from cft.grading import grade_one
from cft.prompts import eval_messages
from tests.servers import FaultServer

LLAMA = NEUTRAL_EXTRA["llama.cpp"]


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (eval_dir(name) / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_cli_eval_on_an_endpoint_writes_what_a_local_eval_writes(llama_server, capsys):
    """``python -m cft eval --endpoint ... --endpoint-model ...`` against llama.cpp, beside a local eval of the same
    model (dequantized in transformers): the same result fields and summary fields, every row graded by the one
    grader. The texts may differ (Q4_1 kernels in llama.cpp vs dequantized fp32 weights); the agreement is printed."""
    from cft.__main__ import main

    common = ["eval", "--benchmark", "gsm8k", "--limit", "4", "--max-new-tokens", "48", "--batch-size", "4"]
    assert main([*common, "--name", "remote", "--endpoint", llama_server.base_url, "--endpoint-model",
                 llama_server.model, "--endpoint-extra", json.dumps(LLAMA)]) == 0
    assert main([*common, "--name", "local", "--model", "embedded"]) == 0
    remote, local = _rows("remote"), _rows("local")
    assert [r["id"] for r in remote] == [r["id"] for r in local] and len(remote) == 4
    assert [set(r) for r in remote] == [set(r) for r in local]
    for row in remote + local:  # one grader for both: each verdict is what grade_one says of its own output
        assert row["correct"] == grade_one(str(row["reference"]), row["output"]).correct
    assert all(r["output"].strip() for r in remote)
    summaries = [json.loads((eval_dir(n) / "summary.json").read_text()) for n in ("remote", "local")]
    assert set(summaries[0]) == set(summaries[1])
    assert summaries[0]["model"] == summaries[0]["label"] == llama_server.model
    config = json.loads((eval_dir("remote") / "config.json").read_text())
    assert config["engine"] == "endpoint" and config["endpoint_url"] == llama_server.base_url
    same = sum(a["output"] == b["output"] for a, b in zip(remote, local))
    agree = sum(a["correct"] == b["correct"] for a, b in zip(remote, local))
    print(f"endpoint vs local: {same}/4 identical texts, {agree}/4 same grade")


@pytest.mark.slow
def test_critic_student_and_arena_through_the_endpoint(llama_server):
    from cft.data.store import Store
    from cft.evaluate.arena import side_by_side
    from cft.evaluate.critic import CriticConfig, run_critic
    from cft.generate import GenerateConfig
    from cft.generate.job import run_generation
    from tests.helpers import put_mini_dataset

    url, model = llama_server.base_url, llama_server.model
    put_mini_dataset()
    summary = run_critic(CriticConfig(benchmark="dataset:mini", limit=2, max_new_tokens=16, batch_size=2,
                                      engine="endpoint", endpoint_url=url, endpoint_model=model, endpoint_extra=LLAMA))
    assert summary["n"] == 2 and "wrong_f1" in summary and summary["label"] == model

    Store().add_samples("seeds", [__import__("cft.data.samples", fromlist=["Sample"]).Sample(
        question="What is 2 + 3?", reference_answer="5", key="q1")])
    config = GenerateConfig(source="dataset:seeds", n_questions=1, samples_per_question=2, max_new_tokens=12,
                            temperature=0.9, dataset="from-endpoint", student_engine="endpoint",
                            student_endpoint_url=url, student_endpoint_model=model, student_endpoint_extra=LLAMA)
    counts = run_generation(config.validate())
    samples = list(Store().iter_samples("from-endpoint"))
    assert counts.generated == 2 and len(samples) == 2 and all(s.response for s in samples)
    assert len({s.meta["seed"] for s in samples}) == 2  # one seed per sample, so k samples of a question differ
    assert all(s.student_model.startswith(model) for s in samples) and counts.critiqued == 2

    frames = list(side_by_side([f"endpoint:{model}@{url}"], "What is 2 + 3?", "5", max_new_tokens=8, min_interval=0))
    assert len(frames) >= 2 and frames[-1]["finished"] == [True] and frames[-1]["answers"][0]
    assert frames[-1]["results"][0]["correct"] in (True, False)


def test_requests_carry_the_messages_and_decoding_and_survive_a_500():
    server = FaultServer(script=["500"], reply="The answer is \\boxed{5}.")
    try:
        conversations = [eval_messages("What is 2 + 3?"), eval_messages("What is 1 + 1?")]
        texts = endpoint_generate(server.base_url, "m", conversations, max_new_tokens=32, seeds=[7, 8],
                                  concurrency=1, extra={"repeat_penalty": 1.0}, max_retries=2)
        assert texts == ["The answer is \\boxed{5}."] * 2
        sent = [r["payload"] for r in server.requests if r["action"] == "ok"]
        assert sorted(p["messages"][1]["content"] for p in sent) == ["What is 1 + 1?", "What is 2 + 3?"]
        assert all(p["temperature"] == 0.0 and p["top_p"] == 1.0 and p["max_tokens"] == 32 for p in sent)
        assert sorted(p["seed"] for p in sent) == [7, 8] and all(p["repeat_penalty"] == 1.0 for p in sent)
        assert server.actions().count("500") == 1  # retried once, then answered
    finally:
        server.close()


def test_an_endpoint_that_fails_for_good_writes_nothing_and_says_where():
    from cft.evaluate.runner import run_eval

    server = FaultServer(default="401")
    try:
        config = EvalConfig(name="down", benchmark="gsm8k", limit=2, max_new_tokens=8, engine="endpoint",
                            endpoint_url=server.base_url, endpoint_model="m")
        with pytest.raises(UserError, match=r"HTTP 401") as info:
            run_eval(config)
        assert server.base_url in str(info.value)
        assert not (eval_dir("down") / "results.jsonl").exists() or not _rows("down")
    finally:
        server.close()


@pytest.mark.parametrize("changes, match", [
    ({"engine": "remote"}, "engine"), ({"engine": "endpoint"}, "endpoint_url"),
    ({"engine": "endpoint", "endpoint_url": "http://x/v1"}, "endpoint_model"),
    ({"engine": "endpoint", "endpoint_url": "http://x/v1", "endpoint_model": "m", "adapter": "cft-1"}, "LoRA module"),
])
def test_endpoint_settings_are_checked_by_field(changes, match):
    with pytest.raises(UserError, match=match):
        EvalConfig(benchmark="gsm8k", **changes)


def test_the_tabs_turn_an_endpoint_field_into_an_endpoint_config(monkeypatch):
    from pages.compare import handlers
    from pages.generate.form import config_from_form

    started = []
    monkeypatch.setattr(handlers, "launch", started.append)
    message = handlers.start_eval("", "gsm8k", 5, 64, 4, "", False, "http://127.0.0.1:9/v1", "cft-1")
    config = started[0]
    assert (config.engine, config.endpoint_url, config.endpoint_model) == ("endpoint", "http://127.0.0.1:9/v1", "cft-1")
    assert config.adapter is None and "cft-1" in message and config.name.startswith("cft-1-gsm8k")
    generate = config_from_form({"source": "gsm8k_train", "dataset": "d", "student": "embedded",
                                 "student_endpoint_url": " http://127.0.0.1:9/v1 ", "student_endpoint_model": "m"})
    assert (generate.student_engine, generate.student_endpoint_url) == ("endpoint", "http://127.0.0.1:9/v1")
    assert config_from_form({"source": "gsm8k_train", "dataset": "d", "student": "embedded"}).student_engine == "local"
