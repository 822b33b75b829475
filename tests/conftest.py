"""Shared fixtures (plain helpers are in tests/helpers.py, test servers in tests/servers.py).

- Every test gets its own workspace (CFT_HOME) so nothing leaks between tests.
- The embedded model's safetensors cache (CFT_MODEL_CACHE) is shared across the session and kept between
  runs, so the GGUF is dequantized once per machine, not once per test.
- ``tiny_model_dir`` is a random-weight Llama with the embedded tokenizer: real code paths, millisecond steps.
- ``trained_checkpoints`` and ``toy``: real LoRA checkpoints of the tiny model that answer "7" and "8", and a run
  with an eval of each (the Compare tab's and checkpoint selection's world).
- ``llama_server``: llama.cpp's server with the embedded GGUF, for the teacher and endpoint-inference tests.
- ``browser_page``: a page in headless Debian chromium.
- ``postgres_server``: one throwaway PostgreSQL cluster per session (tests/servers.py). If it cannot start, every
  test that needs it errors: it is skipped only when ``CFT_TEST_POSTGRES=0`` says no server is wanted.
- ``store_url``: a fresh, empty sample store on each backend (SQLite in the test's workspace; a schema of its own
  on the PostgreSQL server), also set as ``CFT_DATABASE_URL`` so ``Store()`` and subprocesses open it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, install_run, sevens_benchmark, train_adapter_checkpoints
from tests.servers import start_postgres

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
ONE_SHOT = SHARED_DATA / "one-shot-cft-dsr-p0.jsonl"

os.environ.setdefault("CFT_MODEL_CACHE", str(Path.home() / ".cache" / "cft-studio" / "models"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def allowed_dirs(tmp_path_factory) -> str:
    """Tests keep models and benchmark files in pytest's temp dirs and ../shared/data: the operator's allow-list
    (cft.paths) names them, from the session's start (module fixtures load models). File-access tests narrow it."""
    value = os.pathsep.join([str(tmp_path_factory.getbasetemp()), str(SHARED_DATA)])
    os.environ["CFT_ALLOWED_DIRS"] = value
    os.environ.pop("CFT_TRUST_ALL_PATHS", None)
    return value


@pytest.fixture(autouse=True)
def cft_home(tmp_path, allowed_dirs, monkeypatch) -> Path:
    home = tmp_path / "workspace"
    monkeypatch.setenv("CFT_HOME", str(home))
    monkeypatch.setenv("CFT_ALLOWED_DIRS", allowed_dirs)
    monkeypatch.delenv("CFT_TRUST_ALL_PATHS", raising=False)
    return home


POSTGRES_WANTED = os.environ.get("CFT_TEST_POSTGRES", "1").strip().lower() not in ("0", "no", "false", "off")
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server():
    if not POSTGRES_WANTED:
        pytest.skip("CFT_TEST_POSTGRES=0: told that no PostgreSQL server is wanted")
    try:
        # A throwaway cluster needs no crash safety: fsync off makes its many small transactions fast.
        server = start_postgres(settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    except RuntimeError as exc:
        pytest.fail(f"the PostgreSQL test server could not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def store_url(request, cft_home, monkeypatch) -> str:
    if request.param == "sqlite":
        url = "sqlite:///" + str(cft_home / "samples.db")
    else:
        server = request.getfixturevalue("postgres_server")
        schema = "t_" + uuid.uuid4().hex[:12]
        server.execute(f"CREATE SCHEMA {schema}")
        request.addfinalizer(lambda: server.execute(f"DROP SCHEMA {schema} CASCADE"))
        url = server.url(schema=schema)
    monkeypatch.setenv("CFT_DATABASE_URL", url)
    return url


@pytest.fixture(scope="session")
def one_shot_path() -> Path:
    assert ONE_SHOT.exists(), f"{ONE_SHOT} is missing: CI clones the project with ../shared beside it"
    return ONE_SHOT


@pytest.fixture(scope="session")
def embedded_tokenizer():
    from cft.models import load_tokenizer

    return load_tokenizer("embedded")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, embedded_tokenizer) -> Path:
    """A 2-layer random Llama saved with the embedded tokenizer, loadable like any local model directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = embedded_tokenizer
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def trained_checkpoints(tiny_model_dir, tmp_path_factory) -> Path:
    """checkpoint-10 answers 7; checkpoint-20 (trained further, towards 8) answers 8; adapter/ = checkpoint-20."""
    # Shared by the test modules that use this fixture: trained once per session (per xdist worker).
    out = tmp_path_factory.getbasetemp() / "toy-checkpoints"
    if not (out / "checkpoint-20" / "adapter_config.json").exists():
        import shutil

        tmp = tmp_path_factory.mktemp("toy-checkpoints-tmp")
        train_adapter_checkpoints(tiny_model_dir, tmp, [("checkpoint-10", "7"), ("checkpoint-20", "8")])
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return out


@pytest.fixture
def toy(trained_checkpoints, cft_home, tmp_path):
    """A run with two checkpoints, and an eval of each on four 'answer is 7' problems (10: all right; 20: all wrong)."""
    from cft.evaluate import EvalConfig
    from cft.evaluate.runner import run_eval

    install_run(trained_checkpoints, cft_home)
    bench = sevens_benchmark(tmp_path / "sevens.jsonl", n=4)
    for ck in ("checkpoint-10", "checkpoint-20"):
        run_eval(EvalConfig(name=f"toy-{ck}", adapter=f"cft-toy/{ck}", benchmark=str(bench), max_new_tokens=1,
                                     batch_size=4))
    return bench


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama.cpp's OpenAI-compatible server hosting the embedded GGUF (model name ``smollm2``), one per session."""
    from tests.servers import start_llama_server

    server = start_llama_server(tmp_path_factory.mktemp("llama"))
    yield server
    server.stop()


@pytest.fixture
def browser_page():
    """A fresh page in headless Debian chromium, 1400x1000, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            browser.close()
