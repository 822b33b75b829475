"""``python -m cft train --preview``: the examples as the model will see them, and the counts, without training."""

from __future__ import annotations

import re

from cft.__main__ import main
from cft.data.benchmarks import load_benchmark
from cft.data.samples import Sample
from cft.data.store import Store
from cft.train.plan import TARGET_MARK


def _gsm8k_dataset(name: str = "g", n: int = 6) -> list:
    """Samples as a generation job from gsm8k_train writes them: the reference split at '####'."""
    problems = load_benchmark("gsm8k_train", limit=n, seed=3)
    # The first response is right (the student got it), the others are wrong.
    samples = [Sample(question=p.question, response=f"So the total is {p.answer}{'' if i == 0 else '1'}.",
                      dataset=name, key=f"k{i}", critique="Checked.\n\nConclusion: right [END]" if i == 0 else
                      "The final number is off.\n\nConclusion: wrong [END]", verdict="right" if i == 0 else "wrong",
                      reference_answer=p.answer, reference_solution=p.solution, status="pending")
               for i, p in enumerate(problems)]
    Store().add_samples(name, samples)
    return problems


def _targets(out: str) -> list[str]:
    blocks = out.split(TARGET_MARK)[1:]
    return [re.split(r"\n===== example|\n\S+: \d+ training examples", b, maxsplit=1)[0].strip() for b in blocks]


def test_sft_preview_on_gsm8k_ends_every_target_with_the_boxed_reference(capsys, embedded_tokenizer):
    problems = _gsm8k_dataset()
    assert main(["train", "--dataset", "g", "--mode", "sft", "--preview", "3", "--max-length", "2048"]) == 0
    out = capsys.readouterr().out
    targets = _targets(out)
    assert len(targets) == 3
    answers = {p.answer for p in problems}
    eos = embedded_tokenizer.eos_token
    for target in targets:
        assert target.endswith(eos)
        found = re.search(r"The answer is \\boxed\{([^}]*)\}\.$", target[: -len(eos)])
        assert found and found.group(1) in answers, target[-80:]
        assert "####" not in target and "<<" not in target
    assert re.search(r"sft: 5 training examples \+ 1 held out \(from 6 samples, 6 questions\); dropped as too long: 0;"
                     r" questions without a usable solution: 0; test-set questions left out: 0; optimizer steps: \d+", out)
    # Six questions make a meaningless baseline, and 60 steps over 5 examples memorise: the preview says both.
    assert "WARNING: only 5 sft training example(s) from 6 question(s)" in out
    assert re.search(r"WARNING: 60 steps over 5 examples is about \d+ epochs", out)


def test_preview_of_all_modes_shows_each_with_the_same_steps(capsys):
    _gsm8k_dataset(n=4)
    assert main(["train", "--dataset", "g", "--mode", "all", "--preview", "1", "--max-steps", "7"]) == 0
    out = capsys.readouterr().out
    for mode in ("cft", "sft", "sft-verified"):
        assert f"########## {mode} (system prompt policy) ##########" in out
    assert out.count("optimizer steps: 7") == 3
    assert "verified responses: 1 by the reference answer, 0 by the critique's verdict" in out
    assert "WARNING: 7 optimizer steps: under 50" in out


def test_preview_writes_nothing(cft_home):
    _gsm8k_dataset(n=3)
    assert main(["train", "--dataset", "g", "--mode", "cft", "--preview", "1", "--name", "p"]) == 0
    assert not (cft_home / "runs" / "p").exists()
