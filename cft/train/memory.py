"""An estimate of a LoRA / QLoRA step's GPU memory, from the model's shape and the run's config: what the 7B presets
promise, computed rather than guessed. It is an estimate (allocator fragmentation, CUDA context and kernels'
workspaces add 1-3 GB), not a measurement: `benchmarks/train_bench.py --device cuda` measures the peak.

Counted: the weights (bf16: 2 bytes a parameter; NF4 with double quantization: 4.127 bits for the quantized linear
layers, embeddings and head stay bf16); LoRA's own parameters in fp32 with their gradients and AdamW states (two
fp32, or two 8-bit with paged AdamW 8-bit); activations: with gradient checkpointing, each layer's input (bf16) plus
one layer's working set recomputed in the backward, without it every layer's working set; the loss: one chunk of
fp32 logits plus the target positions' hidden-state gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

from cft.train.config import TrainConfig

GB = 1e9
NF4_BITS = 4.127  # 4 bits + an 8-bit constant per 64 weights, quantized again per 256 (QLoRA's double quantization)
# One decoder layer's activations kept for the backward, in units of (tokens x hidden) and (tokens x intermediate),
# bf16: attention in, q/k/v/o, two norms and residuals ~10; the MLP's gate, up, act and product ~4 (x intermediate).
LAYER_HIDDEN_UNITS, LAYER_MLP_UNITS = 10, 4


@dataclass(frozen=True)
class ModelShape:
    name: str
    params: float
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    kv_dim: int  # key/value width (grouped-query attention)
    tied: bool = False


QWEN25_7B = ModelShape("Qwen2.5-7B", 7.62e9, 28, 3584, 18944, 152064, 512)
# The embedded model, to compare an estimate with something measurable on a CPU.
SMOLLM2_135M = ModelShape("SmolLM2-135M", 1.35e8, 30, 576, 1536, 49152, 192, tied=True)


def lora_params(shape: ModelShape, r: int) -> float:
    """Trainable LoRA parameters with all seven projections targeted: r x (in + out) each."""
    h, i, kv = shape.hidden, shape.intermediate, shape.kv_dim
    per_layer = (h + h) + (h + kv) * 2 + (h + h) + 3 * (h + i)
    return shape.layers * r * per_layer


def estimate(shape: ModelShape, config: TrainConfig, target_fraction: float = 0.5) -> dict[str, float]:
    """GB per part and the total for one training step of ``config`` on ``shape`` (bf16 compute).

    ``target_fraction``: the share of tokens that are targets (critique or solution) and go through the head.
    """
    embed = shape.vocab * shape.hidden * (1 if shape.tied else 2)
    linear = shape.params - embed
    if config.quantization == "4bit":
        weights = linear * NF4_BITS / 8 + embed * 2
    elif config.quantization == "8bit":
        weights = linear * 1 + embed * 2
    else:
        weights = shape.params * 2
    lora = lora_params(shape, config.lora_r)
    optimizer_bytes = 2 if config.quantization != "none" else 8  # paged AdamW 8-bit: two 1-byte states
    adapters = lora * (4 + 4 + optimizer_bytes)
    tokens = config.per_device_batch_size * config.max_length
    layer = tokens * (LAYER_HIDDEN_UNITS * shape.hidden + LAYER_MLP_UNITS * shape.intermediate) * 2
    if config.gradient_checkpointing:
        activations = shape.layers * tokens * shape.hidden * 2 + layer
    else:
        activations = shape.layers * layer
    targets = tokens * target_fraction
    chunk = min(config.loss_chunk_size, targets) if config.loss_chunk_size > 0 else targets
    loss = chunk * shape.vocab * 4 + targets * shape.hidden * 2 * 2
    parts = {"weights": weights, "lora_and_optimizer": adapters, "activations": activations, "loss": loss}
    out = {k: round(v / GB, 2) for k, v in parts.items()}
    out["total"] = round(sum(parts.values()) / GB, 1)
    return out
