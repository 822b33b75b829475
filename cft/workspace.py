"""Where CFT Studio keeps everything it writes.

The workspace is ``./workspace`` unless ``CFT_HOME`` points elsewhere. Every writer asks this
module for its path so that a test (or a Space with persistent storage) can move everything at once.
"""

from __future__ import annotations

import os
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


def check_name(name: str, what: str = "name") -> str:
    """The one rule for a name that becomes a directory (a run, an eval, a job, a report): not empty, no path
    separator or NUL, no leading dot, so it can never escape its parent directory. Returns the name."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        raise UserError(f"{what}: invalid name {name!r}: use letters, digits, '-', '_' (no path separators, "
                        "no leading dot)")
    return name


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


def checkpoints(run_dir: Path) -> list[Path]:
    """A run's ``checkpoints/checkpoint-N`` directories that hold trained weights (an adapter or a model), by step."""
    found = (p for p in (Path(run_dir) / "checkpoints").glob("checkpoint-*") if holds_weights(p))
    return sorted(found, key=checkpoint_step)
