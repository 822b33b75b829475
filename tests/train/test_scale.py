"""Scaling a run: QLoRA through bitsandbytes, the 7B presets and their memory estimates, precision by device,
experiment tracking into the run directory."""

from __future__ import annotations

import pytest

from cft.errors import UserError
from cft.train import TrainConfig, runs
from cft.train.memory import QWEN25_7B, estimate
from cft.train.presets import PRESETS, preset_config
from tests.helpers import put_mini_dataset, tiny_config


def _bnb_runs_here() -> str | None:
    """Why bitsandbytes' 4-bit cannot run on this machine, or None when it can (its CPU backend counts)."""
    try:
        import bitsandbytes  # noqa: F401
        import torch
        from bitsandbytes.functional import dequantize_4bit, quantize_4bit

        w = torch.randn(64, 64)
        q, state = quantize_4bit(w, quant_type="nf4")
        dequantize_4bit(q, state)
    except Exception as exc:  # noqa: BLE001 - any failure means: no 4-bit here
        return f"bitsandbytes 4-bit does not run on this machine ({type(exc).__name__}: {exc})"
    return None


def test_qlora_run_trains_a_4bit_base_and_saves_the_adapter(tiny_model_dir):
    """The qlora path end to end through the job: NF4 + double quantization weights, paged AdamW 8-bit, an adapter.
    Runs on a GPU, and on a CPU where bitsandbytes' CPU backend does 4-bit (it does on this project's machine)."""
    import torch

    reason = _bnb_runs_here()
    if reason and not torch.cuda.is_available():
        pytest.skip(reason)
    from bitsandbytes.nn import Linear4bit

    from cft.train.job import build_trainer, run

    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="q4", quantization="4bit", eval_fraction=0, max_steps=3,
                         gradient_checkpointing=True)
    trainer, _, _ = build_trainer(config, runs.run_dir("q4"))
    quantized = [m for m in trainer.model.modules() if isinstance(m, Linear4bit)]
    assert quantized and quantized[0].weight.quant_type == "nf4" and quantized[0].weight.quant_state.nested
    assert trainer.args.optim.value == "paged_adamw_8bit"
    result = run(config, runs.run_dir("q4"))
    assert result["state"] == "completed" and result["global_step"] == 3
    losses = [m["loss"] for m in runs.metrics("q4") if m.get("loss") is not None]
    assert losses and all(0 < loss < 20 for loss in losses)
    assert (runs.run_dir("q4") / "adapter" / "adapter_config.json").exists()


def test_7b_presets_fit_their_cards_by_the_estimate():
    lora = estimate(QWEN25_7B, preset_config("lora-7b", name="a", dataset="d"))
    qlora = estimate(QWEN25_7B, preset_config("qlora-7b", name="a", dataset="d"))
    assert lora["total"] < 80 and qlora["total"] < 24 and qlora["weights"] < lora["weights"] / 2.5
    assert PRESETS["qlora-7b"]["quantization"] == "4bit"
    for name in ("gpu", "lora-7b", "qlora-7b"):  # GPU presets keep checkpointing on and never ask for fp32
        assert PRESETS[name]["gradient_checkpointing"] and PRESETS[name]["precision"] == "auto"
    unchunked = estimate(QWEN25_7B, preset_config("lora-7b", name="a", dataset="d", loss_chunk_size=0))
    assert unchunked["loss"] > 4 * lora["loss"]  # 8 x 1024 target logits at once vs one chunk of 1024


@pytest.mark.parametrize("changes, field", [
    ({"quantization": "2bit"}, "quantization"), ({"report_to": "tensorboard, comet"}, "report_to"),
    ({"report_to": "none,wandb"}, "report_to"), ({"loss_chunk_size": -1}, "loss_chunk_size"),
    ({"num_processes": -2}, "num_processes"),
])
def test_new_fields_are_validated_by_name(changes, field):
    with pytest.raises(UserError, match=field):
        TrainConfig(**{"name": "a", "dataset": "d", **changes}).validate()


def test_tensorboard_writes_event_files_into_the_run_dir(tiny_model_dir):
    from cft.train.job import run

    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="tb", report_to="tensorboard", eval_fraction=0)
    assert run(config, runs.run_dir("tb"))["state"] == "completed"
    events = list((runs.run_dir("tb") / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and sum(e.stat().st_size for e in events) > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert any("loss" in tag for tag in acc.Tags()["scalars"])
    assert [m["step"] for m in runs.metrics("tb") if m.get("loss") is not None] == [1, 2]  # ours still written


def test_gpu_dtype_is_never_fp32(monkeypatch):
    import torch

    from cft import models

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert models.default_dtype("cuda") == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert models.default_dtype("cuda:0") == torch.bfloat16
    assert models.default_dtype("cpu") == torch.float32


def test_native_cpu_bf16_is_read_from_the_cpu_flags(monkeypatch):
    from pathlib import Path

    import torch

    from cft.train import hardware

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    for flags, native in (("fpu avx512f avx512_bf16", True), ("fpu amx_tile amx_bf16", True), ("fpu avx2", False)):
        monkeypatch.setattr(Path, "read_text", lambda self, *a, _f=flags, **k: f"flags\t: {_f}\n")
        assert hardware.cpu_native_bf16() is native, flags
    config = TrainConfig(name="a", dataset="d")
    assert hardware.resolve_precision(config) == ("bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported()
                                                  else "fp16" if torch.cuda.is_available() else "fp32")
