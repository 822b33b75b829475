"""``python -m cft ablate``: an ablation pair launched from the command line, trained, evaluated and compared."""

from __future__ import annotations

import json

from cft.__main__ import main
from cft.data.store import Store
from cft.train import runs
from tests.helpers import mini_samples, sevens_benchmark


def test_cli_launches_a_strip_solution_pair_and_reports_its_paired_statistics(tiny_model_dir, cft_home, tmp_path,
                                                                             capsys):
    samples = mini_samples()
    samples[0].critique = "Off by one.\n\nThe correct answer should be:\n\\boxed{5}\n\nConclusion: wrong [END]"
    Store().add_samples("mini", samples)
    code = main(["ablate", "--dataset", "mini", "--kind", "strip-solution", "--name", "abl", "--base-model",
                 str(tiny_model_dir), "--max-steps", "2", "--set", "max_length=160", "--set", "eval_fraction=0",
                 "--set", "torch_threads=1", "--set", "per_device_batch_size=2", "--set", "save_steps=100"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "launched ablation abl (strip-solution" in out and "both for 2 steps" in out
    assert "abl-full: completed" in out and "abl-stripped: completed" in out
    record = json.loads((cft_home / "ablations" / "abl.json").read_text())
    assert [a["run"] for a in record["arms"]] == ["abl-full", "abl-stripped"]
    assert record["arms"][1]["stats"]["critiques_changed"] == 1
    assert record["arms"][0]["stats"]["wrong_share"] == record["arms"][1]["stats"]["wrong_share"] == round(8 / 11, 4)
    full, stripped = runs.config_of("abl-full"), runs.config_of("abl-stripped")
    assert (full.critique_transform, stripped.critique_transform) == ("full", "strip-solution")
    assert full.max_steps == stripped.max_steps == 2 and full.learning_rate == stripped.learning_rate

    bench = sevens_benchmark(tmp_path / "sevens.jsonl", n=4)
    code = main(["ablate", "--report", "abl", "--benchmark", str(bench), "--eval-limit", "4", "--max-new-tokens", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "baseline:  abl-full-sevens-4\ncandidate: abl-stripped-sevens-4\nshared problems: 4" in out
    assert "paired bootstrap 95% CI" in out and "exact McNemar p = " in out
    report = (cft_home / "ablations" / "abl.md").read_text()
    assert "## Paired statistics" in report and "shared problems: 4" in report and "`abl-stripped`" in report
    # A second report reuses both evals (same fingerprint) instead of generating again.
    mtime = (cft_home / "evals" / "abl-full-sevens-4" / "results.jsonl").stat().st_mtime
    assert main(["ablate", "--report", "abl", "--benchmark", str(bench), "--eval-limit", "4",
                 "--max-new-tokens", "2"]) == 0
    assert (cft_home / "evals" / "abl-full-sevens-4" / "results.jsonl").stat().st_mtime == mtime
    assert "abl: strip-solution, runs abl-full, abl-stripped" in (main(["ablate", "--list"]), capsys.readouterr().out)[1]


def test_cli_ablate_refuses_bad_input_in_one_line(capsys):
    Store().add_samples("mini", mini_samples())
    assert main(["ablate", "--dataset", "mini", "--kind", "human", "--name", "h"]) == 2
    assert "no critique an annotator corrected" in capsys.readouterr().err
    assert main(["ablate", "--dataset", "mini", "--kind", "ratio", "--name", "r"]) == 2
    assert "--ratio must be the share of wrong verdicts" in capsys.readouterr().err
    assert main(["ablate", "--report", "nothing"]) == 2
    assert "ablation 'nothing' not found" in capsys.readouterr().err
    assert main(["ablate"]) == 2
