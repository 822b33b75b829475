"""Where CFT Studio keeps everything it writes.

The workspace is ``./workspace`` unless ``CFT_HOME`` points elsewhere. Every writer asks this
module for its path so that a test (or a Space with persistent storage) can move everything at once.
"""

from __future__ import annotations

import os
from pathlib import Path


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


def safe_child(parent: Path, name: str) -> Path:
    """``parent / name``, refusing names that would escape ``parent`` (``..``, absolute paths, separators)."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        raise ValueError(f"invalid name {name!r}: use letters, digits, '-', '_' (no path separators, no leading dot)")
    child = (parent / name).resolve()
    if child.parent != parent.resolve():
        raise ValueError(f"invalid name {name!r}: it escapes {parent}")
    return child
