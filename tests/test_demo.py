"""Demo mode (a public Space): the storage banner, the export button, the training cap."""

import zipfile

import gradio_client

from cft import demo
from cft.data.samples import Sample
from cft.data.store import Store
from pages.common import banner_markdown
from tests.helpers import launched_app


def test_banner_says_data_is_lost_without_persistent_storage(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("CFT_DEMO", raising=False)
    assert not demo.is_demo() and banner_markdown() == ""
    monkeypatch.setenv("CFT_DEMO", "1")
    text = banner_markdown()
    assert "loses when it restarts" in text and "capped at 20 steps" in text


def test_space_workspace_stays_local_without_a_writable_data_dir(monkeypatch, tmp_path):
    from cft import workspace

    monkeypatch.delenv("CFT_HOME", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/cft-studio")
    # /data does not exist on this machine: the default stays ./workspace, and the banner says it is not kept.
    assert workspace.default_home().name == "workspace"


def test_demo_app_shows_banner_and_exports_every_annotation(monkeypatch):
    monkeypatch.setenv("CFT_DEMO", "1")
    store = Store()
    ids = store.add_samples("mine", [
        Sample(question="1+1?", response="2", critique="Fine.\nConclusion: right [END]", verdict="right"),
        Sample(question="2+2?", response="5", critique="No.\nConclusion: wrong [END]", verdict="wrong"),
    ])
    store.update(ids[0], {"status": "reviewed"}, expected_revision=1, annotator="alice")
    store.update(ids[1], {"status": "discarded"}, expected_revision=1, annotator="bob")
    with launched_app() as url:
        client = gradio_client.Client(url, verbose=False)
        config = client.config
        texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
        assert "Demo mode" in texts
        path = client.predict(api_name="/export_all")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert names == {"mine.parquet", "mine.jsonl"}
        import io

        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(zf.read("mine.parquet")))
    assert sorted(frame["status"]) == ["discarded", "reviewed"]  # discarded work is exported too: nothing is lost
    assert set(frame["annotator"]) == {"alice", "bob"}


def test_demo_caps_training_to_the_cpu_budget(monkeypatch, tiny_model_dir):
    from cft.train import runs
    from cft.train.presets import preset_config

    store = Store()
    store.add_samples("d", [Sample(question=f"q{i}", response="r", critique="ok\nConclusion: right [END]",
                                   verdict="right", reference_solution="s") for i in range(4)])
    monkeypatch.setenv("CFT_DEMO", "1")
    monkeypatch.setenv("CFT_DEMO_MODELS", str(tiny_model_dir))  # the operator's allow-list of base models
    config = preset_config("gpu", name="big", dataset="d", base_model=str(tiny_model_dir), max_steps=5000,
                           max_length=4096)
    runs.launch(config)
    runs.stop("big")
    saved = runs.config_of("big")
    assert (saved.max_steps, saved.max_length, saved.lora_r) == (20, 512, 8)
    assert saved.preset.startswith("cpu-quick")
    assert demo.allowed_presets(["cpu-quick", "gpu"]) == ["cpu-quick"]
    monkeypatch.delenv("CFT_DEMO")
    assert demo.allowed_presets(["cpu-quick", "gpu"]) == ["cpu-quick", "gpu"]


# -- the public Space is a sandbox ---------------------------------------------------------------------------------
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from cft.errors import UserError  # noqa: E402


def test_demo_loads_only_allow_listed_models(monkeypatch, tiny_model_dir, cft_home):
    from cft import paths
    from cft.generate import GenerateConfig
    from tests.helpers import fake_checkpoint_run

    monkeypatch.setenv("CFT_DEMO", "1")
    for spec in ("someone/big-model", str(tiny_model_dir), "/etc", "../x"):
        with pytest.raises(UserError, match="demo mode: student model .* is not available here"):
            GenerateConfig(student_model=spec).validate()
    monkeypatch.setenv("CFT_DEMO_MODELS", "someone/big-model")
    GenerateConfig(student_model="someone/big-model").validate()  # on the operator's list
    adapter = fake_checkpoint_run(cft_home, "mine") / "checkpoints" / "checkpoint-1"
    assert paths.model_dir(str(adapter), "adapter") == adapter.resolve()  # trained on this Space


def test_demo_bounds_the_size_of_every_request(monkeypatch):
    from cft.evaluate import EvalConfig
    from cft.generate import GenerateConfig
    from pages.compare.handlers import side_by_side_view

    monkeypatch.setenv("CFT_DEMO", "1")
    with pytest.raises(UserError, match="n_questions=1000: at most 50"):
        GenerateConfig(n_questions=1000).validate()
    with pytest.raises(UserError, match="max_new_tokens=4096"):
        GenerateConfig(max_new_tokens=4096).validate()
    with pytest.raises(UserError, match="limit=all: at most 100"):
        EvalConfig(benchmark="gsm8k", limit=None)
    with pytest.raises(UserError, match="max_new_tokens=2048"):
        next(side_by_side_view("embedded", "", "", "", "", "q", "", max_new_tokens=2048))
    EvalConfig(benchmark="gsm8k", limit=10, max_new_tokens=256)
    monkeypatch.delenv("CFT_DEMO")
    EvalConfig(benchmark="gsm8k", limit=None, max_new_tokens=4096)


def test_demo_bounds_active_jobs_per_visitor_and_in_total(monkeypatch, cft_home):
    from gradio_client import Client

    from cft import jobs
    from cft.models import EMBEDDED_LABEL
    from tests.helpers import launched_app, sevens_benchmark

    monkeypatch.setenv("CFT_DEMO", "1")
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
    try:
        mine = jobs.JobDir(cft_home / "runs" / "busy")
        mine.write_status("running", pid=sleepers[0].pid, owner="address:127.0.0.1")
        bench = str(sevens_benchmark(cft_home / "sevens.jsonl"))
        with launched_app() as url:
            client = Client(url, verbose=False)
            with pytest.raises(Exception, match="you already run 1 job"):
                client.predict(EMBEDDED_LABEL, bench, 1, 1, 1, "quota-1", False, api_name="/compare_start_eval")
            jobs.write_json_atomic(mine.status_path, {**mine.status(), "owner": "address:10.0.0.9"})
            other = jobs.JobDir(cft_home / "evals" / "theirs")
            other.write_status("running", pid=sleepers[1].pid, owner="address:10.0.0.8")
            with pytest.raises(Exception, match="already runs 2 job"):
                client.predict(EMBEDDED_LABEL, bench, 1, 1, 1, "quota-2", False, api_name="/compare_start_eval")
        assert not (cft_home / "evals" / "quota-1").exists() and not (cft_home / "evals" / "quota-2").exists()
    finally:
        for p in sleepers:
            p.kill()
            p.wait()


def test_teacher_urls_cannot_reach_internal_addresses_on_a_demo(monkeypatch):
    from cft.urls import check_base_url
    from tests.servers import FaultServer

    assert check_base_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"  # locally: any endpoint
    for bad in ("file:///etc/passwd", "ftp://x/v1", "http://user:pw@host/v1", "not a url"):
        with pytest.raises(UserError):
            check_base_url(bad)
    monkeypatch.setenv("CFT_DEMO", "1")
    with pytest.raises(UserError, match="custom endpoints are off"):
        check_base_url("https://api.openai.com/v1")
    monkeypatch.setenv("CFT_TEACHER_URLS", "http://127.0.0.1:,http://169.254.169.254/,http://[::1]:,http://localhost")
    for internal in ("http://127.0.0.1:8080/v1", "http://169.254.169.254/latest/meta-data", "http://[::1]:80/v1",
                     "http://localhost:9/v1"):
        with pytest.raises(UserError, match="private, loopback or link-local"):
            check_base_url(internal)
    with pytest.raises(UserError, match="not an endpoint this Space may call"):
        check_base_url("http://10.0.0.1/v1")
    monkeypatch.setenv("CFT_ALLOW_PRIVATE_URLS", "1")  # the operator's choice, e.g. a teacher in the same network
    assert check_base_url("http://127.0.0.1:8080/v1")
    monkeypatch.delenv("CFT_ALLOW_PRIVATE_URLS")
    server = FaultServer()
    try:
        from gradio_client import Client

        from tests.helpers import launched_app

        with launched_app() as url:
            with pytest.raises(Exception, match="private, loopback or link-local"):
                Client(url, verbose=False).predict(server.base_url, "fault", "", 5, api_name="/test_connection")
        assert server.requests == []  # the server was never called
    finally:
        server.close()


def test_uploads_and_imports_are_bounded(monkeypatch, tmp_path):
    import app
    from cft.data.formats import ImportFailed, import_file

    monkeypatch.setenv("CFT_DEMO", "1")
    assert app.launch_kwargs()["max_file_size"] == 50 * 2**20
    monkeypatch.setenv("CFT_MAX_IMPORT_MB", "0.001")
    path = tmp_path / "big.jsonl"
    path.write_text('{"question": "q"}\n' * 200)
    with pytest.raises(ImportFailed, match="more than this server imports"):
        import_file(Store(), path, "d")
