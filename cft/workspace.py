"""Where CFT Studio keeps everything it writes.

The workspace is ``./workspace`` unless ``CFT_HOME`` points elsewhere. Every writer asks this
module for its path so that a test (or a Space with persistent storage) can move everything at once.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from cft.errors import UserError


def default_home() -> Path:
    """``./workspace``; on a Hugging Face Space with persistent storage, ``/data/cft-studio`` so it survives restarts."""
    if os.environ.get("SPACE_ID") and os.path.isdir("/data") and os.access("/data", os.W_OK):
        return Path("/data/cft-studio")
    return Path("workspace")


def home() -> Path:
    """The workspace root, created on first use."""
    root = Path(os.environ.get("CFT_HOME") or default_home()).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def subdir(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    return home() / "samples.db"


def runs_dir() -> Path:
    return subdir("runs")


def evals_dir() -> Path:
    return subdir("evals")


def models_cache_dir() -> Path:
    return subdir("models")


def jobs_dir() -> Path:
    return subdir("jobs")


def reports_dir() -> Path:
    return subdir("reports")


NAME_MAX = 100
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NAME_RULE = f"1 to {NAME_MAX} letters, digits, '.', '-' or '_', starting with a letter or a digit"
LABEL_MAX = 64
_LABEL = re.compile(r"[^\W_][\w .@'-]*")  # a person's name: any script's letters, spaces, . @ ' - _


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def check_name(name: str, what: str = "name") -> str:
    """The one rule for a name that becomes a directory or a key (a run, an eval, a job, a report, a dataset):
    ASCII letters, digits, '.', '-', '_', starting with a letter or digit, at most NAME_MAX characters. So it can
    never escape its parent directory, never exceeds a filesystem's limit, and shows the same in a page, a log and
    a shell. Returns the name."""
    if not isinstance(name, str) or len(name) > NAME_MAX or not _NAME.fullmatch(name):
        raise UserError(f"{what} {_shown(name)}: expected {NAME_RULE}")
    return name


def check_label(text: str, what: str = "name") -> str:
    """The rule for a person's name (an annotator): letters of any script, digits, spaces and . @ ' - _, at most
    LABEL_MAX characters; no markup, no control characters. Returns it without surrounding spaces."""
    text = text.strip() if isinstance(text, str) else text
    if not isinstance(text, str) or len(text) > LABEL_MAX or not _LABEL.fullmatch(text):
        raise UserError(f"{what} {_shown(text)}: expected 1 to {LABEL_MAX} letters, digits, spaces or . @ ' - _")
    return text


def safe_child(parent: Path, name: str, what: str = "name") -> Path:
    """``parent / name``, refusing names that would escape ``parent`` (``..``, absolute paths, separators)."""
    child = (parent / check_name(name, what)).resolve()
    if child.parent != parent.resolve():
        raise UserError(f"{what}: invalid name {name!r}: it escapes {parent}")
    return child


def checkpoint_step(path: Path) -> int:
    """N of a ``checkpoint-N`` directory; -1 when its name carries no step."""
    try:
        return int(Path(path).name.rsplit("-", 1)[-1])
    except ValueError:
        return -1


def holds_weights(path: Path) -> bool:
    """A trained directory: a PEFT adapter, or a fully fine-tuned model (its config beside its weights)."""
    path = Path(path)
    return (path / "adapter_config.json").exists() or (
        (path / "config.json").exists() and any(path.glob("*.safetensors")))


def final_weights(run_dir: Path) -> Path:
    """Where a finished run keeps its weights: ``adapter/`` for LoRA, ``model/`` for a full fine-tune."""
    return Path(run_dir) / "model" if (Path(run_dir) / "model" / "config.json").exists() else Path(run_dir) / "adapter"


# Written by the training job once a checkpoint is fully on disk (cft.train.callbacks): the files and their sizes.
CHECKPOINT_MARKER = "cft-checkpoint.json"
# What transformers' Trainer writes into a checkpoint besides the adapter; trainer_state.json comes last.
_TRAINER_FILES = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json")


def _json_file(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _safetensors_whole(path: Path) -> bool:
    """A safetensors file whose header parses and whose size is exactly what the header says (not truncated)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            length = int.from_bytes(fh.read(8), "little")
            if length <= 0 or 8 + length > size:
                return False
            header = json.loads(fh.read(length))
    except (OSError, ValueError, RecursionError):
        return False
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    return size == 8 + length + max(ends, default=0)


def checkpoint_complete(path: Path, *, resumable: bool = False) -> bool:
    """Whether a ``checkpoint-N`` directory was written completely (a kill mid-save leaves an empty or partial one).

    With the job's marker: every file it lists is there with its size. Without one (older runs, adapters saved by
    hand): the adapter config (or a full model's config) parses and its weights are whole, and when the Trainer's own files are present, its
    last one (trainer_state.json) parses. ``resumable``: also holds the Trainer state a resume needs."""
    path = Path(path)
    marker = _json_file(path / CHECKPOINT_MARKER)
    if isinstance(marker, dict) and isinstance(marker.get("files"), dict):
        try:
            whole = all((path / name).stat().st_size == size for name, size in marker["files"].items())
        except (OSError, TypeError):
            return False
        return whole and (not resumable or "trainer_state.json" in marker["files"])
    if isinstance(_json_file(path / "adapter_config.json"), dict):
        weights = path / "adapter_model.safetensors"
        if weights.exists() and not _safetensors_whole(weights):
            return False
        if not weights.exists() and not (path / "adapter_model.bin").is_file():
            return False
    elif isinstance(_json_file(path / "config.json"), dict):  # a full fine-tune's checkpoint: a whole model
        shards = sorted(path.glob("*.safetensors"))
        if not shards or not all(_safetensors_whole(p) for p in shards):
            return False
    else:
        return False
    if resumable or any((path / name).exists() for name in _TRAINER_FILES):
        return isinstance(_json_file(path / "trainer_state.json"), dict)
    return True


def mark_checkpoint_complete(path: Path) -> None:
    """Record that ``path`` is fully written: every file under it with its size, in one atomic write."""
    from cft.jobs import write_json_atomic

    path = Path(path)
    files = {str(p.relative_to(path)): p.stat().st_size for p in sorted(path.rglob("*"))
             if p.is_file() and p.name != CHECKPOINT_MARKER}
    write_json_atomic(path / CHECKPOINT_MARKER, {"files": files})


def _checkpoint_dirs(run_dir: Path) -> list[Path]:
    found = (p for p in (Path(run_dir) / "checkpoints").glob("checkpoint-*") if p.is_dir() and checkpoint_step(p) >= 0)
    return sorted(found, key=checkpoint_step)


def checkpoints(run_dir: Path, *, resumable: bool = False) -> list[Path]:
    """A run's complete ``checkpoints/checkpoint-N`` directories, by step: what resume, checkpoint selection and the
    Compare tab may use. An empty or half-written one (a kill during the save) is never among them."""
    return [p for p in _checkpoint_dirs(run_dir) if checkpoint_complete(p, resumable=resumable)]


def incomplete_checkpoints(run_dir: Path) -> list[Path]:
    """The checkpoint directories a kill left half-written (to remove before a resume writes them again)."""
    return [p for p in _checkpoint_dirs(run_dir) if not checkpoint_complete(p)]
