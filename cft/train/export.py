"""Export a finished run: its LoRA adapter merged into the base model, saved as a plain transformers model."""

from __future__ import annotations

from pathlib import Path

from cft.errors import UserError
from cft.train.runs import get


def export_merged(name: str, out_dir: str | Path, *, push_to_hub: str | None = None, token: str | None = None) -> Path:
    """Merge the run's LoRA adapter into its base model and save a plain transformers model (and tokenizer).

    With ``push_to_hub`` (a repo id) and a token, the merged model is uploaded too.
    """
    from cft import models

    info = get(name)
    if not info["adapter_path"]:
        raise UserError(f"run {name!r} has no final adapter yet (status {info['status']})")
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise UserError(f"export directory {out} is not empty")
    import torch

    model, tokenizer = models.load_model(info["base_model"] or None, adapter=info["adapter_path"], dtype=torch.float32, device="cpu")
    merged = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model  # a full fine-tune: as is
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    if push_to_hub:
        if not token:
            raise UserError("push_to_hub needs a Hugging Face token (field token)")
        merged.push_to_hub(push_to_hub, token=token)
        tokenizer.push_to_hub(push_to_hub, token=token)
    return out
