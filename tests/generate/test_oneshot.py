"""One-Shot CFT: one question of a source, N critiqued answers to it, the diversity report and a CFT-only run,
through the library, the CLI and the Generate tab."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cft.data.store import Store
from cft.errors import UserError
from cft.generate import GenerateConfig
from cft.generate.job import run_generation
from cft.generate.oneshot import describe_diversity, diversity, pick_question, train_config
from cft.generate.questions import load_questions, one_question
from tests.generate.test_generate import seed_dataset, tiny_config
from tests.helpers import ROOT


def test_one_question_by_its_id_in_a_benchmark_or_a_dataset(cft_home):
    by_full = load_questions(GenerateConfig(source="math500", question_id="math500/17"))
    by_short = load_questions(GenerateConfig(source="math500", question_id="17"))
    assert len(by_full) == 1 and by_full[0].id == by_short[0].id == "17" and by_full[0].answer == "\\pi"
    with pytest.raises(UserError, match=r"'nope' is not in math500 \(500 questions; ids look like: 0, 1"):
        one_question(GenerateConfig(source="math500", question_id="nope"))
    seed_dataset(Store())
    pool = load_questions(GenerateConfig(source="dataset:seed", n_questions=3))
    picked = load_questions(GenerateConfig(source="dataset:seed", question_id=pool[1].id))
    assert [q.question for q in picked] == [pool[1].question]
    with pytest.raises(UserError, match="one source"):
        GenerateConfig(source="math500,gsm8k", question_id="3").validate()
    config = GenerateConfig(source="math500", question_id=" 17 ", n_questions=20).validate()
    assert (config.question_id, config.n_questions) == ("17", 1)
    assert pick_question("math500", "math500/17").answer == "\\pi"
    with pytest.raises(UserError, match="type a question id"):
        pick_question("math500", " ")


def test_one_shot_generation_diversity_and_cft_only_training(tiny_model_dir, cft_home):
    store = Store()
    seed_dataset(store)
    qid = load_questions(GenerateConfig(source="dataset:seed", n_questions=3))[0].id
    config = tiny_config(tiny_model_dir, question_id=qid, samples_per_question=5, dataset="oneshot").validate()
    counts = run_generation(config, store=store)
    assert counts.generated == 5 and counts.critiqued == 5
    samples = list(store.iter_samples("oneshot"))
    assert len(samples) == 5 and len({s.question for s in samples}) == 1
    d = diversity("oneshot", store)
    assert d["samples"] == 5 and d["questions"] == 1 and sum(d["verdicts"].values()) == 5
    assert 1 <= d["distinct_responses"] <= 5
    assert "5 samples of 1 question(s)" in describe_diversity(d)
    assert "all reach one verdict" in describe_diversity({**d, "verdicts": {"wrong": 5}})
    run = train_config("oneshot", max_steps=3, name="os-run")
    assert (run.mode, run.dataset, run.max_steps, run.name) == ("cft", "oneshot", 3, "os-run")
    with pytest.raises(UserError, match="no dataset named"):
        diversity("nope", store)


def test_cli_one_shot_then_a_cft_run(tiny_model_dir, cft_home):
    seed_dataset(Store())
    qid = load_questions(GenerateConfig(source="dataset:seed", n_questions=3))[2].id
    env = {**os.environ, "CFT_HOME": str(cft_home)}
    cmd = [sys.executable, "-m", "cft", "generate", "--source", "dataset:seed", "--question", qid, "--samples", "3",
           "--dataset", "os-cli", "--student", str(tiny_model_dir), "--max-new-tokens", "4"]
    proc = subprocess.run([*cmd, "--train-cft", "--max-steps", "1", "--run-name", "os-cli-run",
                           "--set-nothing"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2 and "--set-nothing" in proc.stderr  # an unknown flag: argparse names it
    for bad, says in ((["--background"], "without --background"), (["--limit", "2"], "--limit"),
                      (["--dataset", "seed"], "'seed' exists already"), (["--preset", "nope"], "nope")):
        proc = subprocess.run([*cmd, "--train-cft", *bad], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=240)
        assert proc.returncode == 2 and says in proc.stderr, (bad, proc.stderr)
    assert "os-cli" not in {d["name"] for d in Store().datasets()}  # refused before anything was generated
    proc = subprocess.run([*cmd, "--train-cft", "--max-steps", "1", "--run-name", "os-cli-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "3 samples of 1 question(s)" in proc.stdout
    assert "launched CFT run os-cli-run on 'os-cli'" in proc.stdout
    from cft.train import runs

    config = runs.config_of("os-cli-run")
    assert (config.mode, config.dataset, config.max_steps) == ("cft", "os-cli", 1)
    from cft import jobs

    jobs.stop(cft_home / "runs" / "os-cli-run")


def test_generate_tab_shows_the_one_question_and_launches_one_shot(tiny_model_dir, cft_home):
    from pages.generate import handlers
    from tests.helpers import GENERATE_FORM_DEFAULTS

    shown = handlers.question_preview("math500", "17")
    assert "math500/17" in shown and "Reference answer:** \\pi" in shown
    from cft.data.samples import Sample

    Store().add_samples("html", [Sample(question="<img src=x onerror=alert(1)> What is 1+1?", response="",
                                        reference_answer="2", dataset="html", key="h")])
    qid = load_questions(GenerateConfig(source="dataset:html", n_questions=1))[0].id
    assert "<img" not in handlers.question_preview("dataset:html", qid)  # a question is text, never markup
    with pytest.raises(UserError, match="is not in gsm8k_train"):
        handlers.question_preview("gsm8k_train", "no-such-id")
    seed_dataset(Store())
    qid = load_questions(GenerateConfig(source="dataset:seed", n_questions=3))[0].id
    from pages.generate.form import config_from_form, form_from_config

    values = {**GENERATE_FORM_DEFAULTS, "source": "dataset:seed", "question_id": qid, "samples_per_question": 4,
              "student": str(tiny_model_dir)}
    config = config_from_form(values)
    assert config.question_id == qid and config.n_questions == 1
    from pages.generate.form import FORM_FIELDS

    assert dict(zip(FORM_FIELDS, form_from_config(config)))["question_id"] == qid  # Load config restores it
