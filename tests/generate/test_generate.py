"""Generation jobs: student sampling (tiny and embedded models), resume without duplicates, background jobs,
the CLI, and an API key that never reaches a file."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from cft import jobs
from cft.errors import UserError
from cft.generate import GenerateConfig
from cft.generate.job import get_job, relaunch, run_generation
from cft.generate.questions import load_questions, sample_key
from cft.data.samples import Sample
from cft.data.store import Store
from tests.helpers import ROOT
from tests.servers import FaultServer

SEED_QUESTIONS = [
    ("What is 2 + 3?", "5"),
    ("What is 4 * 5?", "20"),
    ("What is 10 - 7?", "3"),
]


def seed_dataset(store: Store, name: str = "seed") -> None:
    store.add_samples(name, [Sample(question=q, response="", reference_answer=a, dataset=name, key=f"s{i}")
                             for i, (q, a) in enumerate(SEED_QUESTIONS)])


def tiny_config(model_dir, **kw) -> GenerateConfig:
    base = dict(source="dataset:seed", n_questions=3, samples_per_question=2, student_model=str(model_dir),
                max_new_tokens=6, batch_size=4, dataset="gen", teacher="verifier", temperature=0.8)
    base.update(kw)
    return GenerateConfig(**base)


def test_config_round_trip_and_errors_name_the_field():
    config = GenerateConfig(source="math_train", n_questions=5, teacher="openai", base_url="http://x/v1", model="m",
                            prices={"m": {"input": 1, "output": 2}})
    assert GenerateConfig.from_dict(config.to_dict()) == config
    assert "api_key" not in config.to_dict() and not any("key" in k for k in config.to_dict())
    with pytest.raises(UserError, match="'teacher'"):
        GenerateConfig(teacher="gpt").validate()
    with pytest.raises(UserError, match="'base_url'"):
        GenerateConfig(teacher="openai", model="m").validate()
    with pytest.raises(UserError, match="unknown field"):
        GenerateConfig.from_dict({"api_key": "x"})
    with pytest.raises(UserError, match=r"prices\['m'\]"):
        GenerateConfig(prices={"m": {"input": "free"}}).validate()


def test_student_sampling_with_tiny_model_then_verifier(tiny_model_dir):
    store = Store()
    seed_dataset(store)
    counts = run_generation(tiny_config(tiny_model_dir), store=store)
    assert (counts.total, counts.generated, counts.critiqued, counts.failed) == (6, 6, 6, 0)
    samples = list(store.iter_samples("gen"))
    assert len(samples) == 6 and len({s.key for s in samples}) == 6
    questions = load_questions(tiny_config(tiny_model_dir), store)
    assert {s.key for s in samples} == {sample_key(q, k) for q in questions for k in range(2)}
    answers = dict(SEED_QUESTIONS)
    for s in samples:
        assert s.key.startswith("dataset:seed/") and s.source == "dataset:seed"
        assert s.reference_answer == answers[s.question] and s.student_model == str(tiny_model_dir)
        assert s.status == "pending" and s.teacher == "verifier" and s.revision == 2
        assert s.original_critique == s.critique and s.critique.endswith("[END]")
        assert s.verdict in ("right", "wrong") and s.meta["temperature"] == 0.8


def test_interrupted_generation_resumes_without_duplicates(tiny_model_dir):
    store = Store()
    seed_dataset(store)
    config = tiny_config(tiny_model_dir, batch_size=2)
    first = run_generation(config, store=store, max_new_samples=3)  # "interrupted" after 3 of 6
    assert first.generated == 3 and store.counts("gen")["total"] == 3
    before = {s.key: (s.response, s.revision) for s in store.iter_samples("gen")}
    # A stop request between batches is honoured too, and leaves nothing half written.
    calls = {"n": 0}

    def stop_after_one_batch() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    run_generation(config, store=store, stop=stop_after_one_batch)
    assert store.counts("gen")["total"] == 5  # one more batch of 2, then it stopped before the last one
    final = run_generation(config, store=store)
    samples = list(store.iter_samples("gen"))
    assert len(samples) == 6 and len({s.key for s in samples}) == 6
    assert final.generated == 6 and final.critiqued == 6
    for s in samples:  # what was there before the restart is untouched (no regeneration, no second critique)
        if s.key in before:
            assert s.response == before[s.key][0]
        assert s.revision == 2 and s.status == "pending"
    again = run_generation(config, store=store)
    assert again.generated == 6 and store.counts("gen")["total"] == 6


def test_background_job_interrupted_relaunched_and_key_never_stored(tiny_model_dir, cft_home):
    """A background job is interrupted, relaunched, finishes without duplicates; the API key reached the
    teacher but no file of the workspace (config, status, progress, log, the DB and its WAL)."""
    secret = "sk-test-5ecr3t-DO-NOT-STORE-0123456789"
    store = Store()
    seed_dataset(store)
    server = FaultServer(script=["429"])
    try:
        config = tiny_config(tiny_model_dir, teacher="openai", base_url=server.base_url, model="fault",
                             retry_backoff=0.01, timeout=10)
        from cft.generate.job import new_job

        job = new_job(config)
        # The first attempt is interrupted: the job process stops after 3 new samples.
        jobs.spawn(["python", "-m", "cft.generate", "--config", str(job.config_path), "--limit", "3"], job,
                   env={"OPENAI_API_KEY": secret})
        status = jobs.wait(job, timeout=240)
        assert status["state"] == "completed", job.log_tail()
        assert store.counts("gen")["total"] == 3 and store.counts("gen")["pending"] == 3
        # The second attempt is stopped (SIGTERM, as the tab's Stop button does) as soon as it runs.
        relaunch(job.name, api_key=secret)
        deadline = time.time() + 120
        while job.status().get("state") != "running" and time.time() < deadline:
            time.sleep(0.05)
        assert jobs.stop(job)
        status = jobs.wait(job, timeout=240)
        assert status["state"] == "stopped", job.log_tail()
        assert store.counts("gen")["total"] == 3
        relaunch(job.name, api_key=secret)
        status = jobs.wait(job, timeout=240)
        assert status["state"] == "completed", job.log_tail()
        assert {r["authorization"] for r in server.requests} == {f"Bearer {secret}"}
        assert server.actions().count("ok") == 6  # one critique per sample, none asked twice
    finally:
        server.close()
    progress = job.progress()
    assert progress["generated"] == 6 and progress["critiqued"] == 6 and progress["done"] == progress["total"] == 12
    assert progress["tokens_in"] == 11 * 3 and get_job(job.name).path == job.path  # this attempt's 3 requests
    samples = list(store.iter_samples("gen"))
    assert len(samples) == 6 and len({s.key for s in samples}) == 6
    assert all(s.status == "pending" and s.teacher == "fault" and s.revision == 2 for s in samples)
    store.close()
    hits = [p for p in cft_home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert hits == []
    assert (cft_home / "samples.db").exists() and job.log_path.exists() and job.config_path.exists()


def test_cli_generate_foreground(tiny_model_dir, cft_home):
    seed_dataset(Store())
    env = {**os.environ, "CFT_HOME": str(cft_home)}
    proc = subprocess.run(
        [sys.executable, "-m", "cft", "generate", "--source", "dataset:seed", "--n", "2", "--samples", "1",
         "--teacher", "verifier", "--dataset", "cli-gen", "--student", str(tiny_model_dir), "--max-new-tokens", "4"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "completed: 2 generated, 2 critiqued, 0 failed, 0 refused by the teacher in dataset 'cli-gen'" in proc.stdout
    assert "2/4" in proc.stderr or "4/4" in proc.stderr  # the tqdm bar
    assert Store().counts("cli-gen")["pending"] == 2
    bad = subprocess.run([sys.executable, "-m", "cft", "generate", "--teacher", "openai", "--dataset", "x"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "'base_url'" in bad.stderr


def test_gsm8k_train_source_keys_and_references(tiny_model_dir):
    from cft.data.benchmarks import load_benchmark

    config = tiny_config(tiny_model_dir, source="gsm8k_train", n_questions=2, samples_per_question=1)
    store = Store()
    run_generation(config, store=store)
    problems = {f"{p.id}#0": p for p in load_benchmark("gsm8k_train", limit=2, seed=0)}  # ids: gsm8k_train/<n>
    samples = {s.key: s for s in store.iter_samples("gen")}
    assert set(samples) == set(problems) and all(k.startswith("gsm8k_train/") for k in samples)
    for key, s in samples.items():
        assert s.source == "gsm8k_train" and s.question == problems[key].question
        assert s.reference_answer == problems[key].answer and s.reference_solution == problems[key].solution


@pytest.mark.slow
def test_embedded_model_samples_two_questions():
    config = GenerateConfig(source="gsm8k_train", n_questions=2, samples_per_question=2, max_new_tokens=24,
                            batch_size=4, dataset="emb", teacher="verifier", temperature=0.7, seed=3)
    import torch

    threads = torch.get_num_threads()
    # One thread: on the shared 2-core CI box, two spinning OpenMP threads run this ~7x slower when busy.
    torch.set_num_threads(1)
    try:
        counts = run_generation(config)
    finally:
        torch.set_num_threads(threads)
    samples = list(Store().iter_samples("emb"))
    assert counts.generated == 4 and len(samples) == 4
    assert all(s.student_model == "SmolLM2-135M-Instruct (embedded)" for s in samples)
    assert all(len(s.response.split()) >= 3 for s in samples)  # real text, not empty
    # Sampling (temperature 0.7): the two responses to a question differ.
    by_question: dict[str, set[str]] = {}
    for s in samples:
        by_question.setdefault(s.question, set()).add(s.response)
    assert all(len(v) == 2 for v in by_question.values())
    assert all(s.critique.endswith(("Conclusion: right [END]", "Conclusion: wrong [END]")) for s in samples)
