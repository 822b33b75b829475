"""Batching: pad each batch to its own longest example."""

from __future__ import annotations

from cft.train.examples import IGNORE


class PadCollator:
    """Pads a batch to its own longest example (to a multiple of 8 on GPU, for tensor cores): labels with -100."""

    def __init__(self, pad_token_id: int, multiple_of: int = 1):
        self.pad = pad_token_id
        self.multiple_of = multiple_of

    def __call__(self, features: list[dict]) -> dict:
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        if self.multiple_of > 1:
            longest = -(-longest // self.multiple_of) * self.multiple_of
        ids = torch.full((len(features), longest), self.pad, dtype=torch.long)
        labels = torch.full((len(features), longest), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(features), longest), dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            ids[row, :n] = torch.tensor(f["input_ids"])
            labels[row, :n] = torch.tensor(f["labels"])
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
