"""Critique-content ablations: the target transforms on real teacher critiques, the wrong-ratio resampling, and two
arms that train on the same questions and responses and differ only in their targets."""

from __future__ import annotations

import json
import re

import pytest

from cft.data.samples import Sample, parse_verdict
from cft.errors import UserError
from cft.train import TrainConfig
from cft.train.ablations import apply, resample_ratio, strip_solution, target_of, verdict_only
from tests.helpers import mini_samples, put_mini_dataset


def _real_critiques(path) -> list[str]:
    return [json.loads(line)["messages"][1]["content"] for line in open(path, encoding="utf-8")]


def test_strip_solution_cuts_every_boxed_answer_and_correction_section_of_real_critiques(one_shot_path):
    critiques = _real_critiques(one_shot_path)
    assert sum("\\boxed" in c for c in critiques) > 500  # the teacher restates an answer in most of them
    stripped = [strip_solution(c) for c in critiques]
    assert not any("\\boxed" in s for s in stripped)
    assert not any(re.search(r"^\W*(step\s*)?\d*\W*correct solution", s, re.I | re.M) for s in stripped)
    # The verdict survives, as the final line, and so does the check of the student's steps.
    assert all(parse_verdict(s) == parse_verdict(c) for s, c in zip(stripped, critiques))
    assert all(s.rstrip().endswith("[END]") or "[END]" in s for s in stripped)
    assert sum(len(s) for s in stripped) > 0.5 * sum(len(c) for c in critiques)


def test_strip_solution_on_a_correction_section_keeps_the_step_check():
    critique = ("Critique:\n1. Key Concepts:\n- cube roots\n\n2. Step-by-Step Check:\n"
                "✓ k = 1/256 is correct\n✗ The cube root of 2048 is not 12\n\n3. Correct Solution:\n"
                "V^3 = 2048, so V = 8 * 4^(1/3) ≈ 12.7\n\nThe correct answer should be:\n\n\\boxed{8\\sqrt[3]{4}}\n\n"
                "Conclusion: wrong [END]")
    out = strip_solution(critique)
    assert "✗ The cube root of 2048 is not 12" in out and "k = 1/256" in out
    assert "12.7" not in out and "boxed" not in out and "Correct Solution" not in out and "should be" not in out
    assert out.endswith("Conclusion: wrong [END]")
    # A critique with nothing to strip is unchanged.
    plain = "The student adds 2 and 3 correctly.\n\nConclusion: right [END]"
    assert strip_solution(plain) == plain


def test_verdict_only_and_teacher_source():
    assert verdict_only("long text\n\nConclusion: wrong [END]") == "Conclusion: wrong [END]"
    assert verdict_only("**Conclusion: Correct**") == "Conclusion: right [END]"
    assert verdict_only("no verdict here") == ""
    s = Sample(question="q", response="r", critique="Fixed by a human.\n\nConclusion: wrong [END]",
               original_critique="Teacher said fine.\n\nConclusion: right [END]")
    assert target_of(s, "teacher") == s.original_critique and target_of(s, "current") == s.critique
    assert target_of(s, "teacher", "verdict-only") == "Conclusion: right [END]"
    unedited = Sample(question="q", response="r", critique="As the teacher wrote.\n\nConclusion: right [END]")
    assert target_of(unedited, "teacher") == unedited.critique


def test_resample_ratio_keeps_the_count_and_sets_the_wrong_share():
    samples = [s for s in mini_samples() if s.status == "pending"]  # 8 wrong, 3 right
    assert len(samples) == 11
    for ratio, n_wrong in ((0.5, 6), (0.0, 0), (1.0, 11), (3 / 11, 3)):
        chosen, stats = resample_ratio(samples, ratio, seed=1)
        assert len(chosen) == 11
        assert sum(s.verdict == "wrong" for s in chosen) == n_wrong
        assert stats["wrong_share"] == round(n_wrong / 11, 4)
    chosen, stats = resample_ratio(samples, 0.0, seed=1)
    assert stats["duplicated"] == 8  # 11 right ones wanted from 3: drawn with replacement
    assert [s.key for s in resample_ratio(samples, 0.5, seed=7)[0]] == [s.key for s in resample_ratio(samples, 0.5, seed=7)[0]]
    with pytest.raises(UserError, match="no wrong-verdict critique"):
        resample_ratio([s for s in samples if s.verdict == "right"], 0.5, seed=0)


def test_apply_requirements_and_counts():
    samples = [s for s in mini_samples() if s.status == "pending"]
    samples[0].original_critique = "Teacher: fine.\n\nConclusion: right [END]"
    samples[1].original_critique = samples[1].critique  # kept but unchanged: not a correction
    pairs, stats = apply(samples, source="teacher", require="corrected")
    assert [(s.key, t) for s, t in pairs] == [(samples[0].key, samples[0].original_critique)]
    assert stats["ablation_excluded"] == 10 and stats["critiques_changed"] == 0
    pairs, stats = apply(samples, transform="verdict-only", require="verdict")
    assert stats["critiques_changed"] == 11 and all(t.startswith("Conclusion: ") for _, t in pairs)


def test_config_refuses_bad_ablation_fields():
    base = dict(name="x", dataset="d")
    with pytest.raises(UserError, match="critique_transform"):
        TrainConfig(**base, critique_transform="half").validate()
    with pytest.raises(UserError, match="wrong_ratio"):
        TrainConfig(**base, wrong_ratio=1.5).validate()
    with pytest.raises(UserError, match="CFT targets only"):
        TrainConfig(**base, mode="sft", critique_source="teacher").validate()
    TrainConfig(**base, wrong_ratio=0.25, critique_source="teacher").validate()


@pytest.mark.parametrize("kind,ratio", [("strip-solution", None), ("verdict-only", None), ("ratio", 0.5), ("human", None)])
def test_ablation_arms_share_questions_and_hyperparameters_and_differ_only_in_targets(kind, ratio, embedded_tokenizer):
    from cft.reproduce import ablation
    from cft.train.examples import make_pairs

    samples = mini_samples()
    samples[0].original_critique = "Teacher: looks fine.\n\nConclusion: right [END]"
    samples[0].critique = "The student is off by one; the result is 5. The correct answer should be:\n\\boxed{5}\n\n" \
                          "Conclusion: wrong [END]"
    from cft.data.store import Store

    Store().add_samples("mini", samples)
    base = TrainConfig(name="abl", dataset="mini", base_model="embedded", max_steps=-1, num_epochs=1,
                       per_device_batch_size=2, eval_fraction=0).validate()
    a, b = ablation.plans(base, kind, ratio)
    assert (a.config.name, b.config.name) == tuple(f"abl-{s}" for s, _ in ablation.arms(kind, ratio))
    assert a.steps == b.steps == a.config.max_steps == b.config.max_steps
    ignore = {"name", "critique_source", "critique_transform", "wrong_ratio"}
    assert {k: v for k, v in a.config.to_dict().items() if k not in ignore} == \
        {k: v for k, v in b.config.to_dict().items() if k not in ignore}
    pa, _ = make_pairs(a.config, embedded_tokenizer, [s for s in samples if s.status != "discarded"])
    pb, _ = make_pairs(b.config, embedded_tokenizer, [s for s in samples if s.status != "discarded"])
    if kind == "ratio":  # resampled to half wrong at the same count, from the same questions
        assert len(pa) == len(pb) and {p.question for p in pb} <= {p.question for p in pa}
        assert sum(p.target.endswith("wrong [END]") for p in pb) == round(len(pb) / 2)
        assert sum(p.target.endswith("wrong [END]") for p in pa) != sum(p.target.endswith("wrong [END]") for p in pb)
        return
    assert [(p.question, p.prompt) for p in pa] == [(p.question, p.prompt) for p in pb]
    assert any(x.target != y.target for x, y in zip(pa, pb))
    if kind == "human":
        assert [p.target for p in pa] == ["Teacher: looks fine.\n\nConclusion: right [END]"]
        assert pb[0].target == samples[0].critique
    if kind == "verdict-only":
        assert {p.target for p in pb} == {"Conclusion: right [END]", "Conclusion: wrong [END]"}
    if kind == "strip-solution":
        assert "boxed" in pa[0].target and "boxed" not in pb[0].target and "should be" not in pb[0].target


def test_human_ablation_refuses_a_dataset_nobody_corrected():
    from cft.reproduce import ablation

    put_mini_dataset()
    with pytest.raises(UserError, match="no critique an annotator corrected"):
        ablation.plans(TrainConfig(name="abl", dataset="mini").validate(), "human")
    with pytest.raises(UserError, match="ablation kind 'nope'"):
        ablation.arms("nope")
    with pytest.raises(UserError, match="--ratio"):
        ablation.arms("ratio", None)


def test_report_compares_the_arms_item_by_item_with_the_paired_statistics(cft_home):
    """The report from prepared evals: the candidate fixes 7 of 10 items and breaks 1 (exact McNemar p = 0.0703)."""
    from types import SimpleNamespace

    from cft import jobs
    from cft.evaluate.config import eval_dir
    from cft.reproduce import ablation

    record = {"name": "ab", "kind": "verdict-only", "ratio": None, "what": ablation.KINDS["verdict-only"][0],
              "dataset": "mini", "steps": 30,
              "arms": [{"role": "baseline", "arm": "full", "run": "ab-full", "overrides": {}, "warnings": [],
                        "stats": {"train": 9, "wrong_share": 0.7}},
                       {"role": "candidate", "arm": "verdict", "run": "ab-verdict", "overrides": {}, "warnings": [],
                        "stats": {"train": 9, "critiques_changed": 9, "wrong_share": 0.7}}]}
    baseline = [i in (0, 1) for i in range(10)]  # right on items 0, 1
    candidate = [i != 0 and i != 9 for i in range(10)]  # broke item 0, fixed items 2-8
    configs = []
    for name, correct in (("ab-full-g", baseline), ("ab-verdict-g", candidate)):
        rows = [{"id": f"q{i}", "correct": c, "output": "", "extracted": "1"} for i, c in enumerate(correct)]
        eval_dir(name).mkdir(parents=True)
        (eval_dir(name) / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        jobs.write_json_atomic(eval_dir(name) / "summary.json", {"name": name, "complete": True, "benchmark": "g",
                                                                 "max_new_tokens": 64, "greedy": True})
        configs.append([SimpleNamespace(name=name, benchmark="g", limit=10, seed=0, max_new_tokens=64)])
    result, text, path = ablation.report(record, configs)
    assert (result["n"], result["fixed"], result["broke"]) == (10, 7, 1)
    assert (result["baseline_correct"], result["candidate_correct"]) == (2, 8)
    assert abs(result["mcnemar_p"] - 0.0703125) < 1e-9 and result["verdict"] == "no difference"
    assert "difference: +60.0 points, paired bootstrap 95% CI [" in text
    assert "exact McNemar p = 0.07031" in text and "(7 fixed, 1 broke)" in text
    assert "| candidate | `ab-verdict` | verdict | 9 | 9 | 0.7 | `ab-verdict-g` |" in text
    assert path == cft_home / "ablations" / "ab.md" and path.read_text() == text
    (eval_dir("ab-verdict-g") / "summary.json").write_text('{"complete": false}')
    with pytest.raises(UserError, match="have not finished"):
        ablation.report(record, configs)


def test_preview_of_an_ablated_run_shows_the_changed_targets_and_counts(capsys):
    from cft.__main__ import main

    put_mini_dataset()
    assert main(["train", "--dataset", "mini", "--preview", "1", "--set", "critique_transform=verdict-only",
                 "--set", "wrong_ratio=0.5", "--set", "eval_fraction=0"]) == 0
    out = capsys.readouterr().out
    assert "critique ablation (source current, transform verdict-only): 11 targets changed, 0 samples left out, " \
           "wrong share 0.5455, 2 resampled repeats" in out  # round(5.5) wrong of 11; 5 right from 3
    target = out.split(">>> TARGET >>>", 1)[1].split("=====", 1)[0].strip()
    assert re.match(r"Conclusion: (right|wrong) \[END\]<\|im_end\|>\n\ncft: 11 training examples", target)


def test_human_ablation_finds_what_an_annotator_corrected_in_imported_real_critiques(one_shot_path, embedded_tokenizer):
    """Imported critiques keep the teacher's text as original_critique; a correction saved through the review path
    is the one sample where the two arms differ, and the only one both arms train on."""
    from cft.data import review
    from cft.data.formats.importer import import_file
    from cft.data.store import Store
    from cft.reproduce import ablation
    from cft.train.examples import load_samples, make_pairs

    store = Store()
    import_file(store, one_shot_path, "os")
    samples = list(store.iter_samples("os"))
    assert len(samples) == 600 and all(s.original_critique == s.critique for s in samples)
    target = samples[5]
    fixed = target.critique.replace("Conclusion: right [END]", "Actually the cube root is 12.7.\n\nConclusion: wrong [END]")
    assert fixed != target.critique
    review.save(store, target.id, fixed, status="reviewed", expected_revision=target.revision, annotator="ann")
    base = TrainConfig(name="hu", dataset="os", base_model="embedded", max_steps=3, eval_fraction=0,
                       max_length=2048).validate()
    teacher, human = ablation.plans(base, "human")
    assert teacher.data.stats["pairs"] == human.data.stats["pairs"] == 1
    assert teacher.data.stats["ablation_excluded"] == 599
    kept = load_samples(base)
    (pt,), _ = make_pairs(teacher.config, embedded_tokenizer, kept)
    (ph,), _ = make_pairs(human.config, embedded_tokenizer, kept)
    assert pt.prompt == ph.prompt and pt.target == target.critique and ph.target == fixed


def test_several_seeds_launch_a_pair_per_seed_and_the_report_compares_over_them(cft_home, monkeypatch):
    """Three seeds a side: six runs NAME-<arm>-s<seed> with equal steps, and the report's test is the paired
    permutation test over per-item means (launches stubbed: this checks the plan and the record, not training)."""
    from types import SimpleNamespace

    from cft import jobs
    from cft.evaluate.config import eval_dir
    from cft.reproduce import ablation
    from cft.train import runs

    put_mini_dataset()
    launched = []
    monkeypatch.setattr(runs, "launch", lambda config, plan=None: launched.append(config) or {"name": config.name})
    base = TrainConfig(name="ms", dataset="mini", base_model="embedded", max_steps=4, seed=7).validate()
    record = ablation.launch(base, "verdict-only", name="ms", seeds=3)
    assert [c.name for c in launched] == ["ms-full-s7", "ms-verdict-s7", "ms-full-s8", "ms-verdict-s8",
                                          "ms-full-s9", "ms-verdict-s9"]
    assert [c.seed for c in launched] == [7, 7, 8, 8, 9, 9] and {c.max_steps for c in launched} == {4}
    assert record["seeds"] == [7, 8, 9] and ablation.arm_runs(record["arms"][1]) == ["ms-verdict-s7", "ms-verdict-s8",
                                                                                     "ms-verdict-s9"]
    assert "3 seeds a side" in ablation.launch_text(record)
    with pytest.raises(UserError, match="already exists"):
        ablation.launch(base, "verdict-only", name="ms", seeds=3)
    from cft import demo

    with monkeypatch.context() as m:
        m.setattr(demo, "is_demo", lambda: True)
        with pytest.raises(UserError, match="demo mode: one training seed per arm"):
            ablation.launch(base, "verdict-only", name="ms2", seeds=2)
    with pytest.raises(UserError, match="1 to 10 training seeds"):
        ablation.launch(base, "verdict-only", name="ms3", seeds=0)
    configs = [[], []]
    for side, runs_ in enumerate(ablation.arm_runs(a) for a in record["arms"]):
        for k, run in enumerate(runs_):
            name = f"{run}-g"
            rows = [{"id": f"q{i}", "correct": (i < 2 + 5 * side) and not (side and k == 0 and i == 6)}
                    for i in range(10)]
            eval_dir(name).mkdir(parents=True)
            (eval_dir(name) / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            jobs.write_json_atomic(eval_dir(name) / "summary.json", {"name": name, "complete": True})
            configs[side].append(SimpleNamespace(name=name, benchmark="g", limit=10, seed=0, max_new_tokens=64))
    result, text, _ = ablation.report(record, configs)
    assert result["test"] == "paired permutation" and (result["fixed"], result["broke"]) == (5, 0)
    assert result["baseline_correct"] == 2 and abs(result["candidate_correct"] - (7 - 1 / 3)) < 0.01
    assert "paired permutation p = " in text and "3 training seeds a side ([7, 8, 9])" in text
    assert text.count("| candidate |") == 3
