"""Training: config, examples and label masking, and real training subprocesses on a tiny random model."""

from __future__ import annotations

import json
import signal

import pytest

from cft import jobs
from cft.errors import UserError
from cft.train import TrainConfig, runs
from cft.train.collator import PadCollator
from cft.train.examples import IGNORE, build_examples, encode, make_pairs, sft_target
from cft.train.presets import PRESETS, preset_config
from pages.train.form import config_from_form
from tests.helpers import QUESTIONS, mini_samples, put_mini_dataset, tiny_config, train_steps, wait_for

# ----------------------------------------------------------------------------------------------- config


def test_config_json_round_trip_and_presets(tmp_path):
    config = TrainConfig(name="a", dataset="d", target_modules=["q_proj", "v_proj"], max_steps=7).validate()
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert TrainConfig.from_json(path) == config
    for preset in PRESETS:
        assert preset_config(preset, name="p", dataset="d").validate().preset == preset
    assert PRESETS["cpu-quick"]["precision"] == "fp32" and PRESETS["gpu"]["precision"] == "auto"


@pytest.mark.parametrize("changes, field", [
    ({"mode": "dpo"}, "mode"), ({"learning_rate": 0}, "learning_rate"), ({"warmup_ratio": 1.5}, "warmup_ratio"),
    ({"name": ""}, "name"), ({"sample_filter": "all"}, "sample_filter"), ({"per_device_batch_size": 0}, "per_device_batch_size"),
])
def test_config_validation_names_the_field(changes, field):
    with pytest.raises(UserError, match=field):
        TrainConfig(**{"name": "a", "dataset": "d", **changes}).validate()


def test_config_errors_for_bad_json_and_unknown_fields(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"name": "a", "dataset": "d", "lr": 1}')
    with pytest.raises(UserError, match="unknown field.*lr"):
        TrainConfig.from_json(path)
    path.write_text('{"name": "a",')
    with pytest.raises(UserError, match="not valid JSON"):
        TrainConfig.from_json(path)
    with pytest.raises(UserError, match="max_steps"):
        config_from_form({"name": "a", "dataset": "d", "max_steps": "lots"})


def test_form_values_become_typed_config():
    config = config_from_form({"name": "a", "dataset": "d", "lora_r": 8.0, "target_modules": "q_proj, v_proj",
                               "gradient_checkpointing": "true"}, mode="sft")
    assert config.lora_r == 8 and isinstance(config.lora_r, int)
    assert config.target_modules == ["q_proj", "v_proj"] and config.gradient_checkpointing and config.mode == "sft"


@pytest.mark.parametrize("name", ["../evil", "a/b", "/etc", "..", ".hidden", ""])
def test_path_traversal_run_names_are_refused(name, cft_home):
    with pytest.raises(UserError):
        TrainConfig(name=name, dataset="d").validate()
    with pytest.raises(UserError):
        runs.run_dir(name)
    if name:
        with pytest.raises(UserError):
            runs.get(name)
    assert not (cft_home.parent / "evil").exists()


# ----------------------------------------------------------------------------------------------- examples


def test_cft_labels_mask_the_prompt_and_keep_critique_plus_eos(embedded_tokenizer):
    from cft import prompts

    tok = embedded_tokenizer
    sample = mini_samples()[0]
    pair = make_pairs(TrainConfig(name="a", dataset="mini"), tok, [sample])[0][0]
    prompt, target = pair.prompt, pair.target
    assert prompt == prompts.render(tok, prompts.cft_messages(sample.question, sample.response), True)
    assert target == sample.critique
    ex = encode(tok, prompt, target, 4096)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert ex["labels"][:n_prompt] == [IGNORE] * n_prompt
    unmasked = [label for label in ex["labels"] if label != IGNORE]
    assert ex["input_ids"][n_prompt:] == unmasked
    assert tok.decode(unmasked) == sample.critique + tok.eos_token
    assert tok.decode(ex["input_ids"][:n_prompt]) == prompt


def test_truncation_keeps_prompt_and_cuts_target_from_the_right(embedded_tokenizer):
    tok = embedded_tokenizer
    prompt, target = "A prompt that is kept whole.", "one two three four five six seven eight nine ten"
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    ex = encode(tok, prompt, target, n_prompt + 3)
    assert len(ex["input_ids"]) == n_prompt + 3
    assert tok.decode(ex["input_ids"][:n_prompt]) == prompt
    kept = [label for label in ex["labels"] if label != IGNORE]
    assert len(kept) == 3 and target.startswith(tok.decode(kept).strip())
    assert encode(tok, prompt, target, n_prompt) is None  # no room for any target token: dropped


def test_build_examples_counts_dropped_and_splits_eval(embedded_tokenizer):
    samples = [s for s in mini_samples() if s.critique and s.status != "discarded"]
    data = build_examples(TrainConfig(name="a", dataset="mini", eval_fraction=0.2), embedded_tokenizer, samples)
    assert len(data.train) + len(data.eval) == len(samples) == 11 and len(data.eval) == 2
    assert data.stats["dropped_too_long"] == 0
    pairs = make_pairs(TrainConfig(name="a", dataset="mini"), embedded_tokenizer, samples)[0]
    lengths = [len(embedded_tokenizer(p.prompt, add_special_tokens=False)["input_ids"]) for p in pairs]
    short = build_examples(TrainConfig(name="a", dataset="mini", max_length=sorted(lengths)[5] + 1, eval_fraction=0),
                           embedded_tokenizer, samples)
    assert short.stats["dropped_too_long"] > 0 and len(short.train) == 11 - short.stats["dropped_too_long"]
    with pytest.raises(UserError, match="no usable training examples"):
        build_examples(TrainConfig(name="a", dataset="mini", max_length=16), embedded_tokenizer, samples)


@pytest.mark.parametrize("policy", ["system", "paper", "none"])
def test_sft_examples_are_reference_solutions_ending_with_the_graded_answer(embedded_tokenizer, policy):
    from cft import prompts

    tok = embedded_tokenizer
    samples = [s for s in mini_samples() if s.critique and s.status != "discarded"]
    pairs, stats = make_pairs(TrainConfig(name="a", dataset="mini", mode="sft", prompt_policy=policy), tok, samples)
    assert stats["without_solution"] == 2  # "10 minus 7" and "half of 18" have no reference solution
    targets = {p.question: p.target for p in pairs}
    qs = list(QUESTIONS)
    # A solution whose last box is not the answer gets the answer stated as the grader reads it ...
    assert targets[qs[0]] == QUESTIONS[qs[0]][0] + "\n\nThe answer is \\boxed{5}."
    # ... and one that already ends in a box holding the reference answer is kept as it is.
    assert targets[qs[1]] == QUESTIONS[qs[1]][0]
    assert all(p.prompt == prompts.render(tok, prompts.sft_messages(p.question, policy=policy), True) for p in pairs)
    has_system = prompts.EVAL_SYSTEM_PROMPT in pairs[0].prompt
    assert has_system == (policy == "system")
    ex = encode(tok, pairs[0].prompt, pairs[0].target, 512)
    assert tok.decode([label for label in ex["labels"] if label != IGNORE]) == pairs[0].target + tok.eos_token


def test_sft_target_always_ends_with_an_answer_the_grader_reads():
    from cft.data.benchmarks import load_benchmark
    from cft.grading import answers_match, extract_answer

    for p in load_benchmark("gsm8k_train", limit=40) + load_benchmark("math_train", limit=40):
        target = sft_target(p.solution, p.answer)
        assert answers_match(p.answer, extract_answer(target)), (p.id, target[-120:])
        if p.benchmark == "gsm8k_train":
            assert target.endswith(f"The answer is \\boxed{{{p.answer}}}.")
    assert sft_target("", "3") is None
    assert sft_target("No answer stated anywhere.", None) is None


def test_sft_verified_takes_responses_graded_right_or_judged_right_without_a_reference(embedded_tokenizer):
    samples = [s for s in mini_samples() if s.critique and s.status != "discarded"]
    samples[-1].reference_answer = None  # a question without a reference: its critique's verdict decides
    pairs, stats = make_pairs(TrainConfig(name="a", dataset="mini", mode="sft-verified"), embedded_tokenizer, samples)
    assert {p.target for p in pairs} == {"Carefully: the answer is 5.", "Carefully: the answer is 24.",
                                        "Carefully: the answer is 3."}
    assert stats["verified_by_reference"] == 3 and stats["verified_by_critique"] == 0
    assert stats["without_solution"] == 1  # half of 18: no response reaches 9


def test_test_set_questions_never_become_training_examples(embedded_tokenizer):
    from cft.data.benchmarks import load_benchmark
    from cft.data.samples import Sample

    leak = [Sample(question=p.question, response="42", critique="Wrong.\n\nConclusion: wrong [END]",
                   reference_answer=p.answer, reference_solution=p.solution, dataset="mini")
            for p in load_benchmark("gsm8k", limit=2) + load_benchmark("arith", limit=2)]
    samples = [s for s in mini_samples() if s.critique and s.status != "discarded"] + leak
    for mode in ("cft", "sft", "sft-verified"):
        pairs, stats = make_pairs(TrainConfig(name="a", dataset="mini", mode=mode), embedded_tokenizer, samples)
        assert stats["test_items_dropped"] == 4
        assert not {p.question for p in pairs} & {s.question for s in leak}


def test_collator_pads_to_batch_max_with_masked_labels():
    batch = PadCollator(pad_token_id=0)([
        {"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}, {"input_ids": [8], "labels": [8]}])
    assert batch["input_ids"].shape == (2, 3)
    assert batch["labels"][1].tolist() == [8, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert PadCollator(0, multiple_of=8)([{"input_ids": [1] * 9, "labels": [1] * 9}])["input_ids"].shape == (1, 16)


# ----------------------------------------------------------------------------------------------- real runs


def test_two_step_run_writes_metrics_status_and_a_reloadable_adapter(tiny_model_dir):
    from cft.models import load_model

    put_mini_dataset()
    started = runs.launch(tiny_config(tiny_model_dir))
    status = runs.wait("run1", timeout=240)
    assert status["state"] == "completed", runs.log_tail("run1")
    assert status["global_step"] == 2
    records = runs.metrics("run1")
    train = [m for m in records if m.get("loss") is not None]
    assert [m["step"] for m in train] == [1, 2]
    for key in ("epoch", "lr", "grad_norm", "tokens_per_s", "elapsed", "eta", "memory_mb"):
        assert key in train[0], key
    assert train[0]["tokens_per_s"] > 0 and train[0]["memory_mb"] > 0
    assert any(m.get("eval_loss") is not None for m in records)
    info = runs.get("run1")
    assert info["adapter_path"] and info["status"] == "completed" and info["pid"] == started["pid"]
    assert "[cft] step 2/2" in runs.log_tail("run1")
    model, _ = load_model(str(tiny_model_dir), adapter=info["adapter_path"])
    assert type(model).__name__.startswith("Peft")
    with pytest.raises(UserError, match="already exists"):
        runs.launch(tiny_config(tiny_model_dir))


def test_stop_saves_checkpoint_then_resume_continues_the_global_step(tiny_model_dir):
    put_mini_dataset()
    runs.launch(tiny_config(tiny_model_dir, name="long", max_steps=400, save_steps=1000, eval_fraction=0))
    wait_for(lambda: len(train_steps("long")) >= 2, timeout=180, what="two logged steps")
    assert runs.stop("long")
    status = runs.wait("long", timeout=120)
    assert status["state"] == "stopped", runs.log_tail("long")
    stopped_at = status["global_step"]
    assert 2 <= stopped_at < 400
    assert (runs.run_dir("long") / "checkpoints" / f"checkpoint-{stopped_at}" / "adapter_config.json").exists()
    assert (runs.run_dir("long") / "adapter" / "adapter_config.json").exists()

    runs.resume("long")
    wait_for(lambda: max(train_steps("long")) >= stopped_at + 1, timeout=180, what="steps after resume")
    assert runs.stop("long")
    status = runs.wait("long", timeout=120)
    assert status["state"] == "stopped" and status["global_step"] > stopped_at
    steps = train_steps("long")
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # no restart from step 1, no duplicates
    assert "resuming from" in runs.log_tail("long", 400) and f"checkpoint-{stopped_at}" in runs.log_tail("long", 400)


def test_kill_9_marks_the_run_failed_with_its_log_tail(tiny_model_dir):
    put_mini_dataset()
    runs.launch(tiny_config(tiny_model_dir, name="doomed", max_steps=400, save_steps=1000, eval_fraction=0))
    wait_for(lambda: train_steps("doomed"), timeout=180, what="a logged step")
    assert jobs.stop(runs.job("doomed"), signal.SIGKILL)
    status = runs.wait("doomed", timeout=60)
    assert status["state"] == "failed" and "died" in status["error"]
    assert "[cft] step" in status["log_tail"]
    assert runs.get("doomed")["status"] == "failed"


def test_an_exception_in_the_job_is_recorded_as_failed_with_its_message(tiny_model_dir):
    import signal as _signal

    from cft.train.__main__ import main

    put_mini_dataset()
    d = runs.run_dir("broken")
    d.mkdir(parents=True)
    (d / "config.json").write_text(tiny_config(tiny_model_dir, name="broken", dataset="nope").to_json())
    handlers = _signal.getsignal(_signal.SIGTERM), _signal.getsignal(_signal.SIGINT)
    try:
        assert main(["--config", str(d / "config.json")]) == 1  # the entry point the subprocess runs
    finally:
        _signal.signal(_signal.SIGTERM, handlers[0])
        _signal.signal(_signal.SIGINT, handlers[1])
    status = runs.job("broken").status()
    assert status["state"] == "failed" and "nope" in status["error"] and "not in the store" in status["error"]
    with pytest.raises(UserError, match="nope"):
        runs.launch(tiny_config(tiny_model_dir, name="broken2", dataset="nope"))


@pytest.mark.slow
def test_embedded_smollm2_trains_two_steps_on_cpu(tmp_path):
    from cft.train.job import run

    put_mini_dataset()
    config = TrainConfig(name="smol", dataset="mini", max_steps=2, per_device_batch_size=2, max_length=128,
                         logging_steps=1, save_steps=100, eval_fraction=0, lora_r=4, lora_alpha=8).validate()
    result = run(config, runs.run_dir("smol"))
    assert result["state"] == "completed" and result["global_step"] == 2
    losses = [m["loss"] for m in runs.metrics("smol") if m.get("loss") is not None]
    assert len(losses) == 2 and all(0 < loss < 20 for loss in losses)
    cfg = json.loads((runs.run_dir("smol") / "adapter" / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and cfg["base_model_name_or_path"]
