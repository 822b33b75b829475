"""scripts/example_report.py: the README's example block names the exact command and quotes the report verbatim."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from cft.reproduce import preset_config

_SPEC = importlib.util.spec_from_file_location("example_report",
                                               Path(__file__).resolve().parent.parent / "scripts" / "example_report.py")
example_report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(example_report)


def test_the_command_is_the_preset_plus_every_changed_field():
    config = preset_config("cpu", n_questions=100, max_steps=30, benchmarks=["arith:200:64"]).to_dict()
    assert example_report.reproduce_command(config) == \
        "python -m cft reproduce --preset cpu --n-questions 100 --max-steps 30 --benchmarks arith:200:64"
    assert example_report.reproduce_command(preset_config("cpu").to_dict()) == "python -m cft reproduce --preset cpu"
    flag = example_report.reproduce_command(preset_config("cpu", select_checkpoint=True).to_dict())
    assert flag.endswith("--select-checkpoint true")


def test_the_block_quotes_the_report_sections(tmp_path):
    (tmp_path / "report.md").write_text("# Title\n\nPreset `cpu` · line\n\n## Result\n\n- CFT vs SFT: no winner.\n\n"
                                        "## Accuracy (greedy)\n\n| a | b |\n\n## Other\n\nx\n")
    (tmp_path / "config.json").write_text(json.dumps(preset_config("cpu", seeds=3).to_dict()))
    text = example_report.block(tmp_path)
    assert "`python -m cft reproduce --preset cpu --seeds 3`" in text
    assert "- CFT vs SFT: no winner." in text and "| a | b |" in text and "## Other" not in text
    with pytest.raises(SystemExit):
        example_report.section("## Result\n", "Missing")
