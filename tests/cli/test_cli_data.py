"""``python -m cft import | export | datasets | stats``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cft.__main__ import main
from cft.prompts import cft_input, CFT_INSTRUCTION
from cft.data.store import Store
from tests.helpers import ROOT



def _alpaca(path: Path, n: int = 3) -> Path:
    rows = [{"instruction": CFT_INSTRUCTION, "input": cft_input(f"q{i}", f"r{i}"),
             "output": f"ok.\n\nConclusion: {'right' if i % 2 else 'wrong'} [END]"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_import_export_stats_datasets(tmp_path, capsys):
    src = _alpaca(tmp_path / "a.jsonl")
    assert main(["import", str(src), "--dataset", "d"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 sample(s) into 'd' (alpaca format)" in out and "right 1, wrong 2" in out
    assert main(["import", str(src), "--dataset", "d", "--ignore-existing"]) == 0
    assert "imported 0 sample(s)" in capsys.readouterr().out
    assert main(["import", str(src), "--dataset", "d"]) == 2
    assert "already exists" in capsys.readouterr().err

    store = Store()
    store.update(store.ids("d")[0], {"status": "reviewed"}, expected_revision=1)
    out_file = tmp_path / "out.jsonl"
    assert main(["export", "--dataset", "d", "--format", "alpaca", "--out", str(out_file), "--reviewed-only"]) == 0
    assert "wrote 1 sample(s)" in capsys.readouterr().out
    assert [json.loads(x)["input"] for x in out_file.read_text().splitlines()] == [cft_input("q0", "r0")]
    assert main(["export", "--dataset", "d", "--format", "messages", "--out", str(tmp_path / "m.jsonl")]) == 0
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 3
    assert main(["export", "--dataset", "d", "--format", "parquet", "--out", str(tmp_path / "d.parquet"),
                 "--verdict", "wrong"]) == 0
    assert "wrote 2 sample(s)" in capsys.readouterr().out

    assert main(["stats", "--dataset", "d", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["status"]["reviewed"] == 1 and stats["verdict"] == {"right": 1, "wrong": 2, "unknown": 0}
    assert main(["stats"]) == 0
    assert "all datasets: 3 samples" in capsys.readouterr().out

    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "d" in listing.split() and "3" in listing.split()
    assert main(["datasets", "--delete", "d"]) == 2
    assert "--confirm d" in capsys.readouterr().err
    assert main(["datasets", "--delete", "d", "--confirm", "x"]) == 2
    assert Store().counts("d")["total"] == 3
    assert main(["datasets", "--delete", "d", "--confirm", "d"]) == 0
    assert "deleted dataset 'd' (3 samples)" in capsys.readouterr().out
    assert Store().datasets() == []


def test_bad_input_exits_nonzero_with_clear_messages(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "", "input": "Question:\\nq", "output": "x"}\n{oops\n', encoding="utf-8")
    assert main(["import", str(bad), "--dataset", "d"]) == 2
    err = capsys.readouterr().err
    assert "2 bad row(s), nothing imported" in err and "line 1, field 'input': no 'Solution:' section" in err
    assert "line 2" in err and "bad JSON" in err
    assert Store().datasets() == []
    good_and_bad = _alpaca(tmp_path / "mix.jsonl", 2)
    with good_and_bad.open("a") as fh:
        fh.write("{oops\n")
    assert main(["import", str(good_and_bad), "--dataset", "d", "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert "imported 2 sample(s)" in captured.out and "1 bad row(s) skipped" in captured.out
    assert "line 3" in captured.err
    assert main(["import", str(tmp_path / "nope.jsonl"), "--dataset", "d"]) == 2
    assert "nope.jsonl': not found" in capsys.readouterr().err
    assert main(["import", str(good_and_bad), "--dataset", "d", "--map", "question"]) == 2
    assert "--map expects FIELD=COLUMN" in capsys.readouterr().err
    assert main(["import", "TIGER-Lab/WebInstruct-CFT", "--dataset", "hub"]) == 2
    assert "offline" in capsys.readouterr().err.lower()
    assert main(["export", "--dataset", "missing", "--format", "alpaca", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "no dataset named 'missing'" in capsys.readouterr().err
    assert main(["stats", "--dataset", "missing"]) == 2


def test_csv_with_column_mapping(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("problem,cand,crit\nWhat is 1+1?,2,Fine. Conclusion: right [END]\n", encoding="utf-8")
    assert main(["import", str(src), "--dataset", "c", "--map", "question=problem", "--map", "response=cand",
                 "--map", "critique=crit"]) == 0
    (s,) = Store().query("c")[0]
    assert (s.question, s.response, s.verdict) == ("What is 1+1?", "2", "right")


def test_help_and_usage_errors_through_the_real_entry_point(tmp_path):
    env_cmd = [sys.executable, "-m", "cft"]
    run = subprocess.run([*env_cmd, "import", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "--skip-bad" in run.stdout and "--map" in run.stdout
    run = subprocess.run([*env_cmd, "export", "--dataset", "d", "--format", "csv", "--out", "x"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "invalid choice: 'csv'" in run.stderr
