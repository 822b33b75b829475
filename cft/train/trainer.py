"""The Trainer subclass and its loss, and the pieces it is built from: training arguments, the LoRA model, the base.

Only the spawned training job imports this module, so torch is imported at the top.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer, TrainingArguments

from cft.errors import UserError
from cft.train.config import TrainConfig
from cft.train.examples import IGNORE
from cft.train.hardware import resolve_precision
from cft.train.loss import DEFAULT_CHUNK, linear_cross_entropy
from cft.train.quantization import OPTIMIZER


class TargetOnlyTrainer(Trainer):
    """Trainer whose loss projects only target positions onto the vocabulary, a chunk of them at a time.

    Same loss as the model's own (token-mean over the whole accumulated batch, ``num_items_in_batch``), but the
    lm_head and the fp32 softmax skip the prompt (``logits_to_keep`` with a boolean mask), and with
    ``loss_chunk_size`` > 0 the logits of the kept positions are never all alive at once (:mod:`cft.train.loss`).
    Models whose forward lacks ``logits_to_keep`` use the stock path.
    """

    loss_is_scaled_for_ga = True

    def __init__(self, *args, loss_chunk_size: int = DEFAULT_CHUNK, **kwargs):
        super().__init__(*args, **kwargs)
        from transformers.trainer_utils import unwrap_peft_model

        self._inner = unwrap_peft_model(self.accelerator.unwrap_model(self.model))
        self._keep_supported = "logits_to_keep" in inspect.signature(self._inner.forward).parameters
        self.loss_chunk_size = int(loss_chunk_size)
        # Always count target tokens across the accumulated batch so the loss is normalised the same way
        # whichever path computes it.
        self.model_accepts_loss_kwargs = True

    def _chunkable_head(self):
        """(attribute name, head) when the chunked loss applies, else None.

        It needs the head's weight outside the model's forward: a plain Linear (not a LoRA- or bnb-wrapped one), no
        post-processing of the logits (Gemma's soft-capping, Cohere's scale), and weights that are not sharded
        (FSDP, ZeRO-3 gather them only inside the forward).
        """
        from accelerate.utils import DistributedType

        if self.loss_chunk_size <= 0 or not self._keep_supported:
            return None
        if self.accelerator.distributed_type == DistributedType.FSDP:
            return None
        if self.accelerator.distributed_type == DistributedType.DEEPSPEED and self.accelerator.state.deepspeed_plugin \
                and self.accelerator.state.deepspeed_plugin.zero_stage == 3:
            return None
        config = getattr(self._inner, "config", None)
        for attr in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale"):
            if getattr(config, attr, None) not in (None, 1, 1.0):
                return None
        head = self._inner.get_output_embeddings() if hasattr(self._inner, "get_output_embeddings") else None
        if type(head) is not torch.nn.Linear:
            return None
        for name, child in self._inner.named_children():
            if child is head:
                return name, head
        return None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        shifted = labels[:, 1:]
        keep = torch.zeros_like(labels, dtype=torch.bool)
        keep[:, :-1] = shifted.ne(IGNORE)
        if num_items_in_batch is None:
            num_items_in_batch = keep.sum()
        chunkable = self._chunkable_head()
        if chunkable is not None:
            name, head = chunkable
            # The head is bypassed for the forward, so the "logits" that come back are the hidden states of the
            # target positions; the loss applies the head to them a chunk at a time.
            setattr(self._inner, name, torch.nn.Identity())
            try:
                hidden = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                               logits_to_keep=keep, use_cache=False).logits
            finally:
                setattr(self._inner, name, head)
            targets = shifted[shifted.ne(IGNORE)].to(hidden.device)
            loss = linear_cross_entropy(hidden, head.weight, head.bias, targets, self.loss_chunk_size)
            outputs = {}  # no logits to return: evaluation runs with prediction_loss_only
        elif self._keep_supported:
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                            logits_to_keep=keep, use_cache=False)
            logits = outputs.logits  # (number of target tokens, vocab)
            targets = shifted[shifted.ne(IGNORE)]
            loss = F.cross_entropy(logits.float(), targets.to(logits.device), ignore_index=IGNORE, reduction="sum")
        else:
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
            logits = outputs.logits[:, :-1].reshape(-1, outputs.logits.shape[-1])
            targets = shifted.reshape(-1)
            loss = F.cross_entropy(logits.float(), targets.to(logits.device), ignore_index=IGNORE, reduction="sum")
        loss = loss / num_items_in_batch
        if self.args.average_tokens_across_devices and self.accelerator.num_processes > 1:
            # num_items_in_batch was summed over processes and DDP averages gradients: undo the average.
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss


def training_arguments(config: TrainConfig, output_dir: Path, has_eval: bool, **extra: Any):
    precision = resolve_precision(config)
    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.keep_checkpoints or None,  # None keeps every checkpoint a selection may pick
        seed=config.seed,
        data_seed=config.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        train_sampling_strategy="group_by_length",
        report_to=config.reporters(),
        run_name=config.name,
        optim=OPTIMIZER if config.quantization != "none" else "adamw_torch",
        disable_tqdm=True,  # the log is a file: progress bars would fill it with carriage returns
        remove_unused_columns=False,
        dataloader_num_workers=0,  # collation is cheap; worker processes only add start-up time and memory
        dataloader_pin_memory=cuda,
        include_num_input_tokens_seen="non_padding",
        prediction_loss_only=True,
        use_cpu=not cuda,
        ddp_find_unused_parameters=False,
        **extra,
    )


def lora_model(model, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    targets: Any = config.target_modules
    if targets == ["all-linear"]:
        targets = "all-linear"
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise UserError(f"training config field target_modules={config.target_modules!r}: {exc}") from exc


def load_base(config: TrainConfig):
    """(model, tokenizer) for training.

    On a GPU the weights are bf16, or fp16 where bf16 is missing, never fp32; quantized (QLoRA) when the config says
    so, loaded straight onto this rank's device. On a CPU they stay fp32 and bf16 precision means autocast.
    """
    from cft import models
    from cft.train import quantization

    precision = resolve_precision(config)
    cuda = torch.cuda.is_available()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32) if cuda else torch.float32
    quant = quantization.bnb_config(config)
    if quant is not None:
        dtype = quantization.compute_dtype()  # the unquantized parts (norms, embeddings, head) in the compute dtype
    model, tokenizer = models.load_model(config.base_model, dtype=dtype, device="cpu", quantization_config=quant,
                                         device_map=quantization.device_map() if quant is not None else None)
    if quant is not None:
        model = quantization.prepare(model, config)
    tokenizer.padding_side = "right"
    model.config.use_cache = False
    return model, tokenizer
