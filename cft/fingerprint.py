"""Fingerprints: finished work is reused only when what produced it is provably the same.

A fingerprint is a dict of named parts (a config's fields, a content hash of the data, a model's id and
revision) and a digest over all of them. Every stage that writes something reusable (a generated dataset, a
training run, an eval) records its fingerprint beside the result (``fingerprint.json``). Before reusing a
result, the caller builds the fingerprint the work would have now and compares: equal digests mean reuse, and
otherwise :meth:`Fingerprint.changes` names each part that differs, so the user is told *why* work is redone.
Names never decide reuse: a run called ``demo-cft`` trained on yesterday's data is not today's run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

FILE = "fingerprint.json"
_file_cache: dict[tuple[str, int, int], str] = {}


def digest(obj: Any) -> str:
    """A short, stable hash of any JSON-able value (key order does not matter)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def file_digest(path: str | os.PathLike) -> str:
    """Content hash of a file; cached per (path, size, mtime) so a 1 GB file is read once per process."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _file_cache:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _file_cache[key] = h.hexdigest()[:16]
    return _file_cache[key]


def dir_digest(path: str | os.PathLike, names: Iterable[str] | None = None) -> str:
    """Content hash of the files of a directory (all regular files, or only ``names``), by relative path."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if names is None else \
        [root / n for n in sorted(names) if (root / n).is_file()]
    return digest({str(p.relative_to(root)): file_digest(p) for p in files})


def model_identity(model: str | None, adapter: str | os.PathLike | None = None) -> dict[str, str]:
    """What a model is, as parts of a fingerprint: its id and revision, and its adapter's content hash.

    - the embedded model: the asset package's name and version;
    - a local directory: a hash of its config and weight files;
    - a Hub id: the commit of the locally cached snapshot (``unknown`` when it is not cached);
    - an adapter directory: a hash of its config and weights.
    """
    from cft import models

    name = model or models.EMBEDDED
    if name == models.EMBEDDED:
        from cft.system import version

        revision = f"{models.EMBEDDED_DIST}=={version(models.EMBEDDED_DIST)}"
    elif Path(str(name)).expanduser().is_dir():
        d = Path(str(name)).expanduser()
        weights = [p.name for p in d.iterdir() if p.suffix in (".safetensors", ".bin", ".json", ".gguf")]
        revision = dir_digest(d, weights)
    else:
        revision = _hub_revision(str(name))
    parts = {"model": str(name), "model_revision": revision}
    if adapter:
        parts["adapter"] = dir_digest(Path(adapter), ["adapter_config.json", "adapter_model.safetensors",
                                                      "adapter_model.bin", "model.safetensors", "config.json"])
    return parts


def _hub_revision(repo_id: str) -> str:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True)).name
    except Exception:  # not cached, or not a Hub id: the id alone identifies it
        return "unknown"


def config_defaults(config: Any) -> dict[str, Any]:
    """The default of every field of a config dataclass (an instance or the class), by name.

    A fingerprint recorded before a field existed lacks it; when the field is still at its default, nothing
    that produced the result has changed, so the missing field must not force a redo (see ``defaults``)."""
    import dataclasses

    out = {}
    for f in dataclasses.fields(config):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
    return json.loads(json.dumps(out, default=str))  # as a recorded fingerprint would hold them


_ABSENT = "<absent>"


@dataclass
class Fingerprint:
    """``parts`` are recorded and hashed. ``defaults`` (never recorded) give, per dict part, the value a field
    had before it existed: a field absent on one side and at that default on the other is no change."""

    parts: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    @property
    def digest(self) -> str:
        return digest(self.parts)

    def changes(self, old: "Fingerprint | None") -> list[str]:
        """Human-readable differences from ``old`` (empty when equal): ``max_steps: 12 -> 20``."""
        if old is None:
            return ["no fingerprint was recorded for the existing result"]
        out = []
        for key in sorted(set(self.parts) | set(old.parts)):
            a, b = old.parts.get(key, _ABSENT), self.parts.get(key, _ABSENT)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                defaults = self.defaults.get(key, {})
                for k in sorted(set(a) | set(b)):
                    va, vb = a.get(k, _ABSENT), b.get(k, _ABSENT)
                    if va != vb and not _absent_at_default(va, vb, defaults, k):
                        out.append(f"{key}.{k}: {_short(va)} -> {_short(vb)}")
            else:
                out.append(f"{key}: {_short(a)} -> {_short(b)}")
        return out

    def to_dict(self) -> dict:
        return {"digest": self.digest, "parts": self.parts}

    def write(self, directory: str | os.PathLike) -> None:
        from cft.jobs import write_json_atomic

        Path(directory).mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(directory) / FILE, self.to_dict())

    @classmethod
    def read(cls, directory: str | os.PathLike) -> "Fingerprint | None":
        try:
            data = json.loads((Path(directory) / FILE).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return cls(dict(data.get("parts") or {}))


def _absent_at_default(a: Any, b: Any, defaults: dict[str, Any], key: str) -> bool:
    """One side lacks the field and the other holds its default: a field added since, not a change."""
    if key not in defaults:
        return False
    present = b if a == _ABSENT else a if b == _ABSENT else _ABSENT
    return present != _ABSENT and present == defaults[key]


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
