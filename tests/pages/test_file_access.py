"""No endpoint reads, or tells anything about, a file outside the allowed roots (cft.paths).

A secret is planted outside the workspace (a benchmark-shaped JSONL, a model-shaped directory) and reached through
every trick: an absolute path, ``..`` from the working directory and from the workspace, a symlink inside the
workspace (to a file and to a directory), ``~``, URL-encoded and ``file://`` spellings. Every endpoint that takes a
path, a benchmark or a name is called twice per spelling, with the secret there and with it gone (moved away):
neither answer may contain the secret, and the two answers must be identical. Gradio's own file route is probed the
same way, and so is an upload that names a server path.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse

import httpx
import pytest
from gradio_client import Client

from cft.models import EMBEDDED_LABEL
from tests.helpers import ROOT, fake_checkpoint_run, generate_form, launched_app

MARK = "PLANTED-SECRET-7f3a9c"


@pytest.fixture
def planted(tmp_path, cft_home, monkeypatch):
    """The secret outside the workspace, symlinks to it inside, a ~ that holds it; only the workspace allowed."""
    outside = tmp_path / "outside"
    home = tmp_path / "home"
    for d in (outside, home, outside / "secret-model"):
        d.mkdir(parents=True)
    row = json.dumps({"id": "0", "question": f"{MARK} question", "answer": MARK})
    for d in (outside, home):
        (d / "secret.jsonl").write_text(row + "\n")
        (d / "secret.json").write_text("[" + row + "]")
    (outside / "secret-model" / "config.json").write_text(json.dumps({"model_type": "llama", "note": MARK}))
    (outside / "secret-model" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": MARK}))
    cft_home.mkdir(parents=True, exist_ok=True)
    (cft_home / "link-secret.jsonl").symlink_to(outside / "secret.jsonl")
    (cft_home / "link-secret-model").symlink_to(outside / "secret-model")
    (cft_home / "linkdir").symlink_to(outside)
    monkeypatch.setenv("CFT_ALLOWED_DIRS", "")
    monkeypatch.setenv("HOME", str(home))
    fake_checkpoint_run(cft_home, "fa-run")  # a run with a checkpoint, so selection reaches its benchmark
    return {"outside": outside, "home": cft_home, "user_home": home}


@contextlib.contextmanager
def secrets_gone(planted):
    """The planted files moved away (the symlinks to them now dangle), put back after."""
    moves = [(planted["outside"], planted["outside"].with_name("moved-away"))]
    moves += [(planted["user_home"] / n, planted["user_home"] / f"moved-{n}") for n in ("secret.jsonl", "secret.json")]
    for a, b in moves:
        a.rename(b)
    try:
        yield
    finally:
        for a, b in moves:
            b.rename(a)


def variants(outside, home, suffix: str, name: str = "secret") -> list[str]:
    """Every spelling of ``outside/<name><suffix>`` an attacker might try."""
    target = outside / f"{name}{suffix}"
    rel = os.path.relpath(target, ROOT)
    return [
        str(target),
        rel,
        "./" + rel,
        str(home / ".." / "outside" / f"{name}{suffix}"),
        str(home / f"link-{name}{'.jsonl' if suffix == '.jsonl' else suffix}"),
        str(home / "linkdir" / f"{name}{suffix}"),
        f"~/{name}{suffix}",
        urllib.parse.quote(str(target), safe=""),
        urllib.parse.quote(rel, safe=""),
        "file://" + str(target),
        str(target).replace("/", "//"),
    ]


def outcome(client: Client, api: str, args: list) -> str:
    try:
        return "ok: " + repr(client.predict(*args, api_name=api))
    except Exception as exc:  # noqa: BLE001 - gradio_client re-raises the server's error; its text is the answer
        return f"error: {exc}"


def raw_call(url: str, api: str, data: list) -> str:
    """One call through Gradio's HTTP API as any script would make it; the event stream's text."""
    start = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=30)
    if start.status_code != 200:
        return f"http {start.status_code}: {start.text}"
    event = start.json()["event_id"]
    return httpx.get(f"{url}gradio_api/call/{api}/{event}", timeout=60).text


def train_args(name: str, base_model: str, dataset: str = "d") -> list:
    from pages.train.form import FORM_FIELDS, default_form

    values = default_form("cpu-quick")
    values.update(name=name, dataset=dataset, base_model=base_model, max_steps=1)
    return ["cpu-quick", *[values[f] for f in FORM_FIELDS]]


def generate_args(source: str, student: str, dataset: str = "fa-gen") -> list:
    return ["", *generate_form(source=source, student=student, dataset=dataset)]


# (endpoint, how to build its arguments from one path spelling, what the path stands for)
BENCHMARK_CALLS = [
    ("/compare_random", lambda p: [p]),
    ("/compare_open_id", lambda p: [p, "0"]),
    ("/open_problem", lambda p: [p, "0"]),
    ("/compare_run", lambda p: ["", "", "", p, "0", "q", "", 1]),
    ("/side_by_side_view", lambda p: ["", "", "", p, "0", "q", "", 1]),
    ("/compare_start_eval", lambda p: [EMBEDDED_LABEL, p, 1, 1, 1, "fa-eval", False]),
    ("/compare_select_checkpoint", lambda p: ["fa-run", p, 1, 1, 1]),
    ("/launch_generation", lambda p: generate_args(p, EMBEDDED_LABEL)),
]
MODEL_CALLS = [
    ("/launch_generation", lambda p: generate_args("gsm8k", p)),
    ("/launch_cft", lambda p: train_args("fa-train", p)),
    ("/launch_sft", lambda p: train_args("fa-train", p)),
    ("/launch_both", lambda p: train_args("fa-train", p)),
]
NAME_CALLS = [  # names that become directories: a path in their place must read like any unknown name
    ("/best_checkpoint_markdown", lambda p: [p]),
    ("/compare_select_checkpoint", lambda p: [p, "gsm8k", 1, 1, 1]),
    ("/compare_disagree", lambda p: [p, p]),
    ("/compare_diff", lambda p: [p, p]),
    ("/stop_eval", lambda p: [p]),
    ("/compare_start_eval", lambda p: [EMBEDDED_LABEL, "gsm8k", 1, 1, 1, p, False]),
    ("/stop_generation", lambda p: [p]),
    ("/resume_generation", lambda p: [p, ""]),
    ("/generation_view", lambda p: [p]),
    ("/load_generation_config", lambda p: [p]),
    ("/stop_run", lambda p: [p]),
    ("/resume_run", lambda p: [p]),
    ("/refresh_runs", lambda p: [[p], 0.6, False, p]),
    ("/launch_cft", lambda p: train_args(p, "embedded")),
    ("/launch_generation", lambda p: generate_args("gsm8k", EMBEDDED_LABEL, dataset=p)),
    ("/data_browse", lambda p: [p, [], "all", "all", "all", "", "Id", 1]),
    ("/data_export", lambda p: ["messages", False, p, [], "all", "all", "all", "", "Id"]),
]


def test_no_endpoint_reads_or_reveals_files_outside_the_allowed_roots(planted):
    outside, home = planted["outside"], planted["home"]
    checked = 0
    with launched_app() as url:
        client = Client(url, verbose=False)
        named = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
        for calls, suffixes in ((BENCHMARK_CALLS, (".jsonl", ".json")), (MODEL_CALLS, ("-model",)),
                                (NAME_CALLS, (".jsonl",))):  # a name is a name: one suffix is enough
            for api, build in calls:
                assert api in named, f"{api} is no longer an endpoint: update this test's list"
                for suffix in suffixes:
                    for spelling in variants(outside, home, suffix):
                        got = outcome(client, api, build(spelling))
                        with secrets_gone(planted):
                            missing = outcome(client, api, build(spelling))
                        assert MARK not in got and MARK not in missing, (api, spelling, got)
                        assert got == missing, (api, spelling, got, missing)
                        checked += 1
        # An upload that names a server path instead of uploading it (raw HTTP: gradio_client would upload the
        # file from this machine) is refused, the same either way.
        for spelling in variants(outside, home, ".jsonl"):
            upload = [{"path": spelling, "meta": {"_type": "gradio.FileData"}}, "fa", "auto", False]
            got = raw_call(url, "data_import", upload)
            with secrets_gone(planted):
                missing = raw_call(url, "data_import", upload)
            assert MARK not in got and got == missing and "Imported" not in got, (spelling, got, missing)
            checked += 1
        # Gradio's own file route.
        for spelling in variants(outside, home, ".jsonl")[:1] + [str(home / "link-secret.jsonl")]:
            for path in (spelling, urllib.parse.quote(spelling, safe="")):
                resp = httpx.get(f"{url}gradio_api/file={path}", timeout=30)
                assert resp.status_code in (403, 404) and MARK not in resp.text, (path, resp.status_code)
    print(f"\nfile access: {checked} endpoint x spelling pairs over "
          f"{len({a for c in (BENCHMARK_CALLS, MODEL_CALLS, NAME_CALLS) for a, _ in c})} endpoints")
    # Nothing was launched and the secret reached no file of the workspace.
    assert not any(MARK.encode() in p.read_bytes() for p in home.rglob("*") if p.is_file() and not p.is_symlink())
    assert not list((home / "evals").glob("fa-eval-*")) if (home / "evals").exists() else True
    assert not (home / "runs" / "fa-train").exists() and not (home / "runs" / "fa-train-cft").exists()
