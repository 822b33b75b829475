"""One name rule (cft.workspace.check_name) wherever a name enters: runs, evals, jobs, reports, datasets; and a
person's name rule for annotators. A bad name is one clear error, never an OSError or a ValueError."""

from __future__ import annotations

import pytest

from cft import workspace
from cft.__main__ import main
from cft.errors import UserError

BAD = ["a" * 300, "x\ny", "<script>", "a<b", "../x", "a/b", "", ".hidden", "-dash", "a b", "tab\there", "\udc80",
       "nul\x00", "é"]


@pytest.mark.parametrize("name", BAD)
def test_bad_names_are_one_clear_error(name):
    with pytest.raises(UserError, match="run name .*expected 1 to 100 letters"):
        workspace.check_name(name, "run name")


def test_good_names_pass():
    for name in ("run1", "cft-600", "a.b_c-d", "9", "a" * 100):
        assert workspace.check_name(name) == name


@pytest.mark.parametrize("argv", [
    ["eval", "--name", "N", "--benchmark", "gsm8k", "--limit", "1"],
    ["train", "--dataset", "d", "--name", "N", "--detach"],
    ["runs", "--stop", "N"],
    ["runs", "--show", "N"],
    ["generate", "--resume", "N"],
    ["generate", "--dataset", "N", "--n", "1"],
    ["eval", "--select-checkpoint", "N"],
    ["reproduce", "--name", "N"],
])
@pytest.mark.parametrize("name", ["a" * 300, "x\ny", "<b>"])
def test_cli_commands_refuse_bad_names_with_one_line(argv, name, capsys):
    code = main([name if a == "N" else a for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "expected 1 to 100 letters" in err, err
    assert "Traceback" not in err


def test_import_and_dataset_names(tmp_path, capsys):
    src = tmp_path / "x.jsonl"
    src.write_text('{"question": "q"}\n')
    assert main(["import", str(src), "--dataset", "a" * 300]) == 2
    assert "dataset name" in capsys.readouterr().err
    assert main(["import", str(src), "--dataset", "fine-name"]) == 0


def test_get_job_never_raises_a_bare_error():
    from cft.generate.job import get_job

    for job_id in ["\udc80", "a" * 300, "x\ny", None, "generate-missing"]:
        with pytest.raises(UserError):
            get_job(job_id)


def test_annotator_names_are_people_not_markup():
    from cft.data.review import annotator_name

    assert annotator_name(None, "  Zoë O'Brien ") == "Zoë O'Brien"
    assert annotator_name(None, "") == "anonymous" and annotator_name("alice", "<b>") == "alice"
    for bad in ("<b>bob</b>", "a\nb", "x" * 65, "_x"):
        with pytest.raises(UserError, match="annotator name"):
            annotator_name(None, bad)
