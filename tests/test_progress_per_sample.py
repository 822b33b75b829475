"""Progress moves per sample, not per batch, where the work finishes one sample at a time: an endpoint answers the
requests of a batch one by one (cft.engines.endpoint_generate with concurrency), and both an eval and a generation
job's student sampling report each answer as it arrives. These fail if the bar only moves once per batch."""

from __future__ import annotations

import json

from cft.data.samples import Sample
from cft.data.store import Store
from cft.engines import endpoint_generate
from cft.evaluate.config import EvalConfig, eval_dir
from cft.evaluate.runner import run_eval
from cft.generate.config import GenerateConfig
from cft.generate.job import run_generation
from cft.prompts import eval_messages
from tests.helpers import sevens_benchmark
from tests.servers import FaultServer


def test_endpoint_generate_reports_each_answer_as_it_arrives():
    server = FaultServer(script=["ok", "sleep", "ok"], sleep_s=0.5, reply="\\boxed{7}")
    try:
        seen = []
        texts = endpoint_generate(server.base_url, "m", [eval_messages(f"q{i}") for i in range(3)], max_new_tokens=8,
                                  concurrency=3, on_item=seen.append)
        assert texts == ["\\boxed{7}"] * 3 and sorted(seen) == [0, 1, 2]
    finally:
        server.close()


def test_an_endpoint_eval_moves_its_bar_per_answer_within_a_batch(cft_home, tmp_path):
    server = FaultServer(reply="So the answer is \\boxed{7}.")
    try:
        bench = sevens_benchmark(tmp_path / "sevens.jsonl", n=4)
        calls = []
        config = EvalConfig(name="per-answer", benchmark=str(bench), engine="endpoint", endpoint_url=server.base_url,
                            endpoint_model="fault", batch_size=4, max_new_tokens=16)
        summary = run_eval(config, progress=lambda done, total, correct: calls.append((done, total)))
    finally:
        server.close()
    assert summary["n"] == 4 and summary["correct"] == 4
    # One batch of four: the bar is at 1, 2 and 3 before the batch ends (per batch it would jump from 0 to 4).
    assert [d for d, _ in calls] == [0, 1, 2, 3, 4, 4] and all(t == 4 for _, t in calls)
    progress = json.loads((eval_dir("per-answer") / "progress.json").read_text())
    assert progress["done"] == 4 and progress["total"] == 4


def test_generation_counts_each_student_answer_from_an_endpoint(cft_home):
    Store().add_samples("seed", [Sample(question=f"What is {i} + {i}?", reference_answer=str(2 * i), key=f"q{i}")
                                 for i in range(1, 3)])
    server = FaultServer(reply="The answer is \\boxed{2}.")
    seen = []
    try:
        config = GenerateConfig(source="dataset:seed", n_questions=2, samples_per_question=2, batch_size=4,
                                dataset="per-sample", student_engine="endpoint", student_endpoint_url=server.base_url,
                                student_endpoint_model="fault", max_new_tokens=8)
        counts = run_generation(config.validate(), progress=lambda c: seen.append((c.phase, c.generated)))
    finally:
        server.close()
    assert counts.generated == 4
    sampling = [g for phase, g in seen if phase == "sampling responses"]
    assert {1, 2, 3} <= set(sampling), seen  # per batch it would jump from 0 to 4
    assert sampling == sorted(sampling)  # never backwards


def test_the_pages_mark_an_eta_from_one_unit_as_rough(cft_home):
    import os
    import time

    from cft import jobs
    from cft.generate import job as generation
    from pages.compare import view as compare_view
    from pages.generate.view import job_view

    job = jobs.JobDir(eval_dir("rough"))
    job.write_config({"name": "rough", "kind": "eval"})
    job.write_status("running", pid=os.getpid())
    gen = generation.new_job(GenerateConfig(dataset="estimate-gen"))
    gen.write_status("running", pid=os.getpid())
    for j in (job, gen):
        j.write_progress(0, 10)
        time.sleep(0.05)
        j.write_progress(1, 10)  # the first unit: an ETA at once, marked as rough
    assert compare_view.jobs_table()[0][-1].startswith("~") and "(rough estimate)" in compare_view.jobs_table()[0][-1]
    assert "ETA ~" in job_view(gen.name)["counts"] and "(rough estimate)" in job_view(gen.name)["counts"]
    for j in (job, gen):
        time.sleep(0.05)
        j.write_progress(2, 10)  # a second unit: the observed rate, no mark
    assert "rough" not in compare_view.jobs_table()[0][-1] and compare_view.jobs_table()[0][-1] != "–"
    assert "(rough estimate)" not in job_view(gen.name)["counts"] and "ETA 0:" in job_view(gen.name)["counts"]
