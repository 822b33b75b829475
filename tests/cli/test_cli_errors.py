"""A bug in a command reaches the user as one line, never a traceback; the traceback goes to the workspace log."""

from __future__ import annotations

import pytest

import cft.commands.compare as compare_command
from cft import workspace
from cft.__main__ import main


def _boom(args):
    raise RuntimeError("unexpected state in the comparison")


def test_an_internal_error_is_one_line_and_logged(monkeypatch, capsys):
    monkeypatch.delenv("CFT_DEBUG", raising=False)
    monkeypatch.setattr(compare_command, "run", _boom)
    assert main(["compare", "a", "b"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("internal error: RuntimeError: unexpected state")
    assert "Traceback" not in err
    log = (workspace.home() / "logs" / "cli-errors.log").read_text()
    assert "Traceback" in log and "python -m cft" in log and "_boom" in log


def test_cft_debug_raises_it(monkeypatch):
    monkeypatch.setenv("CFT_DEBUG", "1")
    monkeypatch.setattr(compare_command, "run", _boom)
    with pytest.raises(RuntimeError):
        main(["compare", "a", "b"])
