"""Shared fixtures.

- Every test gets its own workspace (CFT_HOME) so nothing leaks between tests.
- The embedded model's safetensors cache (CFT_MODEL_CACHE) is shared across the session and kept between
  runs, so the GGUF is dequantized once per machine, not once per test.
- ``tiny_model_dir`` is a random-weight Llama with the embedded tokenizer: real code paths, millisecond steps.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
ONE_SHOT = SHARED_DATA / "one-shot-cft-dsr-p0.jsonl"

os.environ.setdefault("CFT_MODEL_CACHE", str(Path.home() / ".cache" / "cft-studio" / "models"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def cft_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "workspace"
    monkeypatch.setenv("CFT_HOME", str(home))
    return home


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
