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
