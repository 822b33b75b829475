"""The training loss: equal to the model's own, blind to padding, the same under gradient accumulation, and the
chunked vocabulary projection equal to the one-piece one (values and gradients)."""

from __future__ import annotations

import pytest
import torch

from cft.train.examples import IGNORE
from cft.train.loss import linear_cross_entropy


def _examples(n: int = 4, seed: int = 0) -> list[dict]:
    """Token examples of different lengths, each with a masked prompt and a target (tokens id > 10)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        prompt, target = 5 + 3 * i, 4 + 2 * ((i + 1) % 3)
        ids = torch.randint(10, 2000, (prompt + target,), generator=g).tolist()
        out.append({"input_ids": ids, "labels": [IGNORE] * prompt + ids[prompt:]})
    return out


def _trainer(model_dir, tmp_path, chunk: int, **args):
    from transformers import AutoModelForCausalLM, TrainingArguments

    from cft.train.trainer import TargetOnlyTrainer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    defaults = dict(output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none", per_device_train_batch_size=4,
                    learning_rate=1e-3, max_steps=1, max_grad_norm=0.0, save_strategy="no", disable_tqdm=True,
                    remove_unused_columns=False, dataloader_num_workers=0)
    return TargetOnlyTrainer(model=model, args=TrainingArguments(**{**defaults, **args}), loss_chunk_size=chunk)


def _batch(examples: list[dict], extra_pad: int = 0) -> dict:
    from cft.train.collator import PadCollator

    batch = PadCollator(pad_token_id=0)(examples)
    if extra_pad:
        n = batch["input_ids"].shape[0]
        batch = {"input_ids": torch.cat([batch["input_ids"], torch.zeros(n, extra_pad, dtype=torch.long)], 1),
                 "attention_mask": torch.cat([batch["attention_mask"], torch.zeros(n, extra_pad, dtype=torch.long)], 1),
                 "labels": torch.cat([batch["labels"], torch.full((n, extra_pad), IGNORE)], 1)}
    return batch


@pytest.mark.parametrize("chunk", [0, 3, 1024])
def test_compute_loss_equals_the_models_own_loss(tiny_model_dir, tmp_path, chunk):
    trainer = _trainer(tiny_model_dir, tmp_path, chunk)
    batch = _batch(_examples())
    ours = trainer.compute_loss(trainer.model, batch)
    reference = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              labels=batch["labels"]).loss
    assert ours.item() == pytest.approx(reference.item(), abs=1e-5)
    assert (trainer._chunkable_head() is not None) == (chunk > 0)  # the path under test is the one taken


@pytest.mark.parametrize("chunk", [0, 5])
def test_extra_padding_does_not_change_the_loss(tiny_model_dir, tmp_path, chunk):
    trainer = _trainer(tiny_model_dir, tmp_path, chunk)
    examples = _examples()
    tight = trainer.compute_loss(trainer.model, _batch(examples)).item()
    padded = trainer.compute_loss(trainer.model, _batch(examples, extra_pad=7)).item()
    assert padded == pytest.approx(tight, abs=1e-5)


@pytest.mark.parametrize("chunk", [0, 7])
def test_grad_accumulation_2x2_gives_the_gradient_of_batch_4(tiny_model_dir, tmp_path, chunk):
    """Through the real Trainer path (num_items_in_batch counted over the accumulated batch): the examples have
    different target counts, so a per-micro-batch mean would give a different gradient."""
    from transformers import TrainerCallback

    from cft.train.collator import PadCollator

    class Grab(TrainerCallback):
        grads: dict = {}

        def on_pre_optimizer_step(self, args, state, control, model=None, **kw):
            Grab.grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

    examples = _examples()
    seen = {}
    for label, batch, accum in (("b4", 4, 1), ("b2x2", 2, 2)):
        trainer = _trainer(tiny_model_dir, tmp_path / label, chunk, per_device_train_batch_size=batch,
                           gradient_accumulation_steps=accum)
        trainer.train_dataset = examples
        trainer.data_collator = PadCollator(0)
        trainer.add_callback(Grab)
        trainer.train()
        seen[label] = Grab.grads
    assert seen["b4"].keys() == seen["b2x2"].keys() and seen["b4"]
    for name, grad in seen["b4"].items():
        torch.testing.assert_close(seen["b2x2"][name], grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 40, 1000])
@pytest.mark.parametrize("with_bias", [False, True])
def test_chunked_loss_equals_unchunked_in_value_and_gradients(chunk, with_bias):
    g = torch.Generator().manual_seed(1)
    n, hidden, vocab = 37, 12, 50
    h = torch.randn(n, hidden, generator=g, dtype=torch.float64)
    w = torch.randn(vocab, hidden, generator=g, dtype=torch.float64)
    b = torch.randn(vocab, generator=g, dtype=torch.float64) if with_bias else None
    targets = torch.randint(0, vocab, (n,), generator=g)
    targets[[2, 11, 30]] = IGNORE  # ignored rows contribute nothing, to the value or to any gradient
    results = []
    for c in (0, chunk):
        leaves = [t.clone().requires_grad_() for t in (h, w) + ((b,) if with_bias else ())]
        loss = linear_cross_entropy(leaves[0], leaves[1], leaves[2] if with_bias else None, targets, c) / 34
        loss.backward()
        results.append((loss.detach(), [t.grad for t in leaves]))
    (ref, ref_grads), (got, got_grads) = results
    torch.testing.assert_close(got, ref)
    for a, e in zip(got_grads, ref_grads):
        torch.testing.assert_close(a, e)


def test_chunked_loss_leaves_frozen_weights_without_gradient():
    h = torch.randn(9, 4, requires_grad=True)
    w = torch.randn(11, 4)  # a frozen head (LoRA): no gradient is computed or stored for it
    loss = linear_cross_entropy(h, w, None, torch.randint(0, 11, (9,)), 4)
    loss.backward()
    assert h.grad is not None and h.grad.abs().sum() > 0 and w.grad is None
