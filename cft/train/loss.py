"""The training loss over the vocabulary, without ever holding the logits of every target token at once.

A 7B model's vocabulary (152K for Qwen2.5) times 2048 target tokens times a batch of 8 is 10 GB of fp32 logits,
more than the rest of a QLoRA step together; and the softmax gradient is another tensor of that size. Here the
lm_head is applied to ``chunk`` target positions at a time, each chunk's loss and gradients (with respect to the
hidden states, and to the head's weight and bias when they train) are computed at once in the forward pass, and
the chunk's logits are freed before the next one: peak memory is O(chunk x vocab) instead of O(tokens x vocab).
Computing the gradients in the forward costs nothing extra (the softmax is already there) and saves recomputing
the chunk's logits in the backward, which ``torch.utils.checkpoint`` would do. This is the approach of Liger's
fused linear cross-entropy, in plain torch so it runs on a CPU too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100
DEFAULT_CHUNK = 1024


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, chunk):
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        grad_h = torch.empty_like(hidden) if need_h else None
        # fp32 accumulators: a bf16 sum over thousands of chunks would lose the small contributions.
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        grad_b = torch.zeros(bias.shape, dtype=torch.float32, device=bias.device) if need_b else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk):
            h = hidden[start:start + chunk]
            t = targets[start:start + chunk]
            valid = t.ne(IGNORE)
            safe = torch.where(valid, t, torch.zeros_like(t))
            logits = F.linear(h, weight, bias).float()  # (chunk, vocab): the only large tensor alive
            lse = torch.logsumexp(logits, dim=-1)
            picked = logits.gather(1, safe[:, None]).squeeze(1)
            total += ((lse - picked) * valid).sum()
            if not (need_h or need_w or need_b):
                continue
            # d(loss)/d(logits) = softmax - onehot(target), zero on ignored rows; built in place over the logits.
            d = logits.sub_(lse[:, None]).exp_()
            d[torch.arange(d.shape[0], device=d.device), safe] -= 1.0
            d.mul_(valid[:, None])
            if need_h:
                grad_h[start:start + chunk] = (d.to(weight.dtype) @ weight).to(hidden.dtype)
            if need_w:
                grad_w += d.T @ h.float()
            if need_b:
                grad_b += d.sum(0)
            del logits, d
        ctx.save_for_backward(*(g for g in (grad_h, grad_w, grad_b) if g is not None))
        ctx.have = (need_h, need_w, need_b)
        ctx.dtypes = (weight.dtype, bias.dtype if bias is not None else None)
        return total

    @staticmethod
    def backward(ctx, grad_out):
        # The loss is a scalar, so the chain rule is a scale of what the forward already computed. A 0-dim fp32
        # factor keeps each gradient in its tensor's own dtype (type promotion ignores 0-dim operands).
        saved = iter(ctx.saved_tensors)
        need_h, need_w, need_b = ctx.have
        grad_h = next(saved) * grad_out if need_h else None
        grad_w = (next(saved) * grad_out).to(ctx.dtypes[0]) if need_w else None
        grad_b = (next(saved) * grad_out).to(ctx.dtypes[1]) if need_b else None
        return grad_h, grad_w, grad_b, None, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor,
                         chunk: int = DEFAULT_CHUNK) -> torch.Tensor:
    """``sum`` of the cross-entropy of ``hidden @ weight.T + bias`` against ``targets`` (IGNORE rows count 0).

    ``hidden`` is (tokens, hidden size), ``targets`` (tokens,). ``chunk`` <= 0 computes it in one piece the
    ordinary way (autograd through the full logits): the reference the chunked path is tested against.
    """
    if chunk <= 0:
        logits = F.linear(hidden, weight, bias).float()
        return F.cross_entropy(logits, targets, ignore_index=IGNORE, reduction="sum")
    return _ChunkedLinearCrossEntropy.apply(hidden, weight, bias, targets.to(hidden.device), int(chunk))
