"""QLoRA: the base model's weights in 4-bit NF4 (or 8-bit) through bitsandbytes, LoRA adapters trained on top.

The QLoRA recipe (Dettmers et al. 2023): NF4 weights with double quantization (the quantization constants are
quantized too: ~0.37 bits per parameter saved), matmuls computed in bf16 (fp16 on a GPU without bf16), and paged
AdamW 8-bit (optimizer states that page to CPU memory instead of failing on a memory spike). A 7B model's weights
then take ~4 GB instead of 15 GB in bf16 (``cft.train.memory`` estimates a whole step). bitsandbytes also runs
4-bit and its 8-bit optimizers on a CPU (slowly): the tests use that where no GPU is present.
"""

from __future__ import annotations

import os

import torch

from cft.train.config import TrainConfig

OPTIMIZER = "paged_adamw_8bit"


def compute_dtype() -> torch.dtype:
    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def bnb_config(config: TrainConfig):
    """transformers' BitsAndBytesConfig for the run, or None when it trains unquantized weights."""
    if config.quantization == "none":
        return None
    from transformers import BitsAndBytesConfig

    if config.quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype(), bnb_4bit_quant_storage=compute_dtype())


def device_map() -> dict:
    """Every module on this process's device: quantized weights are placed at load time, never moved after."""
    if torch.cuda.is_available():
        return {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return {"": "cpu"}


def prepare(model, config: TrainConfig):
    """peft's preparation of a k-bit model: norms and the head in fp32 for stable training, input gradients on
    (so checkpointed layers get a gradient through frozen embeddings), checkpointing as the config says."""
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None)
