"""Model registry: the real embedded model, batched generation, adapters, offline Hub ids, the cache."""

from __future__ import annotations

import json
import threading

import pytest
import torch

from cft import models
from cft.errors import OfflineError, UserError
from cft.prompts import eval_messages, render

QUESTIONS = ["What is 2+3?", "Natalia sold clips to 48 of her friends in April, and then half as many in May. How many?",
             "Hi", "Compute 7*8 and explain your steps briefly, please.", "Is 91 prime?"]


@pytest.fixture
def one_thread():
    # On a busy 2-core machine, OpenMP threads spin against each other: one thread is far faster here.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_embedded_model_loads_from_the_safetensors_cache_and_generates(one_thread):
    model, tok = models.load_model(models.EMBEDDED)
    cache = models.embedded_dir()
    assert (cache / "model.safetensors").exists() and (cache / models._DONE_MARKER).exists()
    assert models.list_models()[0] == {**models.list_models()[0], "label": models.EMBEDDED_LABEL, "cached": True}
    # The chat template and pad token survive the GGUF -> safetensors round trip.
    assert tok.chat_template and tok.pad_token == "<|im_end|>" and tok.padding_side == "left"
    assert model.config.name_or_path == str(cache)
    prompt = render(tok, eval_messages("What is 2+3?"))
    assert prompt.startswith("<|im_start|>system")
    [out] = models.generate(model, tok, [prompt], max_new_tokens=8)
    assert isinstance(out, str) and out.strip() and "<|im_end|>" not in out


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    model, tok = models.load_model(tiny_model_dir, dtype=torch.float32, device="cpu")
    # Freshly initialized weights (std 0.02) make every prompt continue with the same token; larger random
    # weights give prompt-dependent continuations, so a batch whose order was not restored would show.
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3 if "embed" not in name else 1.0)
    # On a busy 2-core machine, OpenMP threads spin against each other: one thread is ~20x faster for a tiny model.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield model, tok
    torch.set_num_threads(threads)


def test_load_tokenizer_sets_padding(tiny_model_dir):
    tok = models.load_tokenizer(tiny_model_dir)
    assert tok.pad_token_id is not None and tok.padding_side == "left"


def test_batched_greedy_equals_one_at_a_time(tiny):
    model, tok = tiny
    prompts = [render(tok, eval_messages(q)) for q in QUESTIONS]
    seen = []
    batched = models.generate(model, tok, prompts, max_new_tokens=12, batch_size=3,
                              progress=lambda done, total: seen.append((done, total)))
    single = [models.generate(model, tok, [p], max_new_tokens=12)[0] for p in prompts]
    assert batched == single
    assert len(set(batched)) > 1  # different prompts, different continuations: order was restored
    assert seen == [(3, 5), (5, 5)]
    assert tok.padding_side == "left"


def test_sampling_is_seeded_and_stream_matches_generate(tiny):
    model, tok = tiny
    prompts = [render(tok, eval_messages(q)) for q in QUESTIONS[:2]]
    a = models.generate(model, tok, prompts, max_new_tokens=10, temperature=1.0, top_p=0.95, seed=7)
    b = models.generate(model, tok, prompts, max_new_tokens=10, temperature=1.0, top_p=0.95, seed=7)
    greedy = models.generate(model, tok, prompts, max_new_tokens=10)
    assert a == b and a != greedy
    # The app streams answers with the arena's greedy token stream: it yields the answer so far, token by token.
    from cft.evaluate.arena import token_stream

    texts = list(token_stream(model, tok, prompts[0], max_new_tokens=10))
    assert len(texts) >= 2 and texts[-1] == greedy[0]


def _make_adapter(base_dir, out_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(1)
    with torch.no_grad():  # LoRA B starts at zero (a no-op adapter); give it weights so it changes the model
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    peft_model.save_pretrained(out_dir)
    return out_dir


def test_adapter_loads_on_its_base_and_changes_outputs(tiny_model_dir, cft_home):
    from peft import PeftModel

    adapter = _make_adapter(tiny_model_dir, cft_home / "runs" / "cft-demo" / "adapter")
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_model_dir)
    base, tok = models.load_model(tiny_model_dir, dtype=torch.float32, device="cpu")
    tuned, _ = models.load_model(None, adapter=adapter, dtype=torch.float32, device="cpu")
    assert isinstance(tuned, PeftModel) and not tuned.training
    enc = tok(["Question: 1+1?"], return_tensors="pt")
    with torch.no_grad():
        diff = (base(**enc).logits - tuned(**enc).logits).abs().max().item()
    assert diff > 1e-3
    # The same adapter given as the model spec loads the same way.
    again, _ = models.load_model(adapter, dtype=torch.float32, device="cpu")
    with torch.no_grad():
        assert torch.allclose(again(**enc).logits, tuned(**enc).logits)
    # list_models finds the run's adapter and its checkpoints.
    _make_adapter(tiny_model_dir, cft_home / "runs" / "cft-demo" / "checkpoints" / "checkpoint-10")
    labels = {m["label"]: m for m in models.list_models()}
    assert labels["run:cft-demo"]["adapter"] == str(adapter)
    assert labels["run:cft-demo"]["spec"] == str(tiny_model_dir)
    assert "run:cft-demo/checkpoint-10" in labels


def test_bad_specs_are_clear_errors(tmp_path):
    with pytest.raises(OfflineError, match="'someone/some-model' is not cached and the Hub is unreachable"):
        models.load_model("someone/some-model")
    with pytest.raises(UserError, match="no config.json"):
        models.load_model(tmp_path)
    with pytest.raises(UserError, match="no adapter_config.json"):
        models.load_model(None, adapter=tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(UserError, match="base_model_name_or_path is missing"):
        models.load_model(None, adapter=tmp_path)


def test_embedded_cache_is_written_once_and_atomically(tmp_path, monkeypatch):
    """Racing processes convert once; a failed conversion leaves no half cache. The slow GGUF step is replaced by a
    fast writer here (the real conversion is exercised by the embedded-model test)."""
    monkeypatch.setenv("CFT_MODEL_CACHE", str(tmp_path))
    calls = []

    def failing(out):
        (out / "model.safetensors").write_text("partial")
        raise RuntimeError("killed mid-conversion")

    monkeypatch.setattr(models, "_convert_gguf", failing)
    with pytest.raises(RuntimeError):
        models.embedded_dir()
    assert list(tmp_path.iterdir()) == [tmp_path / f".{models.EMBEDDED_CACHE_NAME}.lock"]
    assert not models.embedded_cached()

    def slow_ok(out):
        calls.append(out)
        threading.Event().wait(0.3)
        (out / "model.safetensors").write_text("weights")
        return 0.3

    monkeypatch.setattr(models, "_convert_gguf", slow_ok)
    results = []
    threads = [threading.Thread(target=lambda: results.append(models.embedded_dir())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1
    assert (results[0] / "model.safetensors").read_text() == "weights" and models.embedded_cached()


def test_cli_lists_models_and_benchmarks(capsys):
    from cft.__main__ import main

    assert main(["models"]) == 0
    assert models.EMBEDDED_LABEL in capsys.readouterr().out
    assert main(["benchmarks"]) == 0
    out = capsys.readouterr().out
    assert "gsm8k" in out and "1319" in out and "math500" in out
