"""Evaluation end to end with a tiny random model: results, summary, interruption and resume, checkpoints.

The checkpoint-selection test builds its situation honestly: two real LoRA checkpoints trained (a few steps,
really) to answer "7" and then "8", evaluated for real on a benchmark whose answers are all 7.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from cft import jobs
from cft.errors import UserError
from cft.evaluate import EvalConfig
from cft.evaluate.config import SelectConfig, model_label, resolve_adapter
from cft.evaluate.job import launch, launch_selection
from cft.evaluate.results import list_evals, read_results
from cft.evaluate.runner import run_eval
from cft.evaluate.selection import runs_with_checkpoints
from cft.evaluate.stats import format_accuracy, wilson_interval
from pages.compare.view import best_checkpoint_markdown
from tests.helpers import install_run, sevens_benchmark


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.237, 0.763)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and round(hi, 3) == 0.278  # stays inside [0, 1] where the normal approximation would not
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_eval_end_to_end_interrupted_and_resumed(tiny_model_dir, cft_home):
    config = EvalConfig(name="tiny-gsm8k", model=str(tiny_model_dir), benchmark="gsm8k", limit=6, max_new_tokens=8,
                        batch_size=2)
    first = run_eval(config, stop_after=3)  # interrupted after 3 problems
    assert first["n"] == 3 and not first["complete"]
    results = cft_home / "evals" / "tiny-gsm8k" / "results.jsonl"
    # A job killed mid-write leaves a torn last line: it must be ignored and its problem redone.
    with open(results, "a") as fh:
        fh.write('{"id": "torn", "question": "half a li')
    seen = []
    summary = run_eval(config, progress=lambda d, t, c: seen.append(d))
    rows = read_results("tiny-gsm8k")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 6
    assert seen[0] == 3 and seen[-1] == 6  # resumed where it stopped, nothing generated twice
    for r in rows:
        assert set(r) >= {"id", "question", "reference", "output", "extracted", "correct", "timed_out"}
        assert isinstance(r["correct"], bool)
    assert summary["n"] == 6 and summary["complete"]
    assert summary["correct"] == sum(r["correct"] for r in rows)
    assert summary["accuracy"] == pytest.approx(summary["correct"] / 6)
    lo, hi = summary["ci95"]
    assert 0.0 <= lo <= summary["accuracy"] <= hi <= 1.0
    on_disk = json.loads((results.parent / "summary.json").read_text())
    assert on_disk["n"] == 6 and on_disk["benchmark"] == "gsm8k" and on_disk["model"] == str(tiny_model_dir)
    # The same name with a different setup is refused rather than mixed into the same results file.
    with pytest.raises(UserError, match="max_new_tokens"):
        run_eval(EvalConfig(name="tiny-gsm8k", model=str(tiny_model_dir), benchmark="gsm8k", limit=6,
                                     max_new_tokens=9, batch_size=2))


def test_background_eval_killed_then_resumed(tiny_model_dir, cft_home):
    config = EvalConfig(name="bg", model=str(tiny_model_dir), benchmark="gsm8k", limit=10, max_new_tokens=16, batch_size=1)
    job = launch(config)
    results = job.path / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and len(read_results(results)) < 2:
        time.sleep(0.05)
    assert jobs.stop(job, signal.SIGKILL), "the job finished before it could be killed"
    status = jobs.wait(job, timeout=30)
    assert status["state"] == "failed"  # killed without a word: the pid check marks it
    partial = len(read_results(results))
    assert 2 <= partial < 10
    launch(config)  # the same config resumes
    status = jobs.wait(job, timeout=180)
    assert status["state"] == "completed", job.log_tail()
    rows = read_results(results)
    raw_ids = [json.loads(line)["id"] for line in results.read_text().splitlines() if line.strip().endswith("}")]
    assert len(raw_ids) == len(set(raw_ids)) == 10  # no problem written twice
    assert status["summary"]["n"] == 10 and len(rows) == 10
    assert job.progress()["done"] == 10


def test_checkpoint_selection_picks_the_most_accurate(trained_checkpoints, tmp_path, cft_home, tiny_model_dir):
    run_dir = install_run(trained_checkpoints, cft_home)
    bench = sevens_benchmark(tmp_path / "sevens.jsonl", n=4)
    # As the Compare tab runs it: a background job (the sweep of select_checkpoint) with progress.
    job = launch_selection(SelectConfig(run="cft-toy", benchmark=str(bench), limit=None,
                                                          max_new_tokens=1, batch_size=4))
    status = jobs.wait(job, timeout=300)
    assert status["state"] == "completed", job.log_tail()
    record = status["summary"]
    assert job.progress()["done"] == job.progress()["total"] == 8  # 2 checkpoints x 4 problems
    by_name = {c["checkpoint"]: c for c in record["candidates"]}
    assert by_name["checkpoint-10"]["accuracy"] == 1.0   # answers 7: right
    assert by_name["checkpoint-20"]["accuracy"] == 0.0   # the later step answers 8: wrong
    assert record["best"]["checkpoint"] == "checkpoint-10"  # the best, not the last
    saved = json.loads((run_dir / "best_checkpoint.json").read_text())
    assert saved["best"]["path"] == str(run_dir / "checkpoints" / "checkpoint-10")
    # Each checkpoint's eval is an ordinary eval, listed for the Compare tab.
    names = {e["name"] for e in list_evals()}
    assert {c["eval"] for c in record["candidates"]} <= names
    assert job.name not in names  # the sweep itself is a job, not an eval in the accuracy table
    assert "**checkpoint-10**" in best_checkpoint_markdown("cft-toy")
    assert runs_with_checkpoints() == ["cft-toy"]
    with pytest.raises(UserError, match="no checkpoints"):
        SelectConfig(run="nothing-here")


def test_adapter_by_run_name_and_errors(trained_checkpoints, cft_home, tmp_path):
    run_dir = install_run(trained_checkpoints, cft_home)
    assert resolve_adapter("cft-toy") == (run_dir / "adapter").resolve()
    assert resolve_adapter("cft-toy/checkpoint-10") == (run_dir / "checkpoints" / "checkpoint-10").resolve()
    with pytest.raises(UserError, match="no-such-run"):
        resolve_adapter("no-such-run")
    with pytest.raises(UserError, match="checkpoint-99"):
        resolve_adapter("cft-toy/checkpoint-99")
    assert model_label(None, str(run_dir / "checkpoints" / "checkpoint-10")) == "cft-toy/checkpoint-10"
    # An eval of a run by name: the adapter's base model is loaded under it.
    bench = sevens_benchmark(tmp_path / "sevens.jsonl", n=2)
    s = run_eval(EvalConfig(adapter="cft-toy", benchmark=str(bench), max_new_tokens=1, batch_size=2))
    assert s["label"] == "cft-toy" and s["n"] == 2 and s["correct"] == 0  # the final adapter answers 8
    with pytest.raises(UserError, match="name"):
        EvalConfig(name="../escape")


def test_cli_eval_prints_summary(tiny_model_dir, cft_home, capsys):
    from cft.__main__ import main

    code = main(["eval", "--model", str(tiny_model_dir), "--benchmark", "gsm8k", "--limit", "2", "--max-new-tokens", "4",
                 "--name", "cli"])
    assert code == 0
    out = capsys.readouterr().out
    assert '"n": 2' in out and "on gsm8k" in out
    assert len(read_results("cli")) == 2
    assert main(["eval", "--adapter", "nope", "--limit", "1"]) == 2  # a UserError, printed as one line


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_embedded_smollm2_on_20_gsm8k_problems(cft_home):
    """The real embedded model, 20 GSM8K problems in one batch of 20, max_new_tokens 192.

    On the 2 shared cores this took about 8 minutes (prefill of 20 prompts, then 192 batched decode steps).
    """
    start = time.time()
    summary = run_eval(EvalConfig(name="smol-gsm8k-20", model="embedded", benchmark="gsm8k", limit=20,
                                           max_new_tokens=192, batch_size=20))
    rows = read_results("smol-gsm8k-20")
    assert summary["n"] == 20 and len(rows) == 20
    # A real model writes real reasoning: most outputs contain an extractable answer.
    assert sum(1 for r in rows if r["extracted"]) >= 15
    assert summary["correct"] == sum(r["correct"] for r in rows)
    print(f"embedded SmolLM2 on 20 GSM8K problems: {format_accuracy(summary)} in {time.time() - start:.0f} s")
