"""The one place where a string from a user becomes a path on the server.

A public Space or a shared team server must not let a form field, an API argument or a config read files outside
what the operator meant to share. A path is accepted only when, with ``~``, ``..`` and every symlink resolved, it
lies under an allowed root:

- the workspace (``CFT_HOME``) and the model cache (``CFT_MODEL_CACHE``);
- the directories the operator lists in ``CFT_ALLOWED_DIRS`` (separated by ``os.pathsep``, i.e. ``:``);
- roots a caller adds for one call (the UI adds Gradio's upload folder for an uploaded file).

Registered benchmarks and Hub ids are names, not paths; their registries resolve them. Which of the two a string
is depends on the string alone (:func:`is_path_like`), never on what exists on disk, so the answer to a probe
cannot depend on the disk either.

Every refusal (outside the roots, a symlink leading out, missing, a file where a directory was expected, a name
the filesystem rejects) raises one message built from the user's string alone: an error tells nothing about what
exists on the server.

The command line is the operator at their own machine: ``python -m cft`` runs inside :func:`trusted`, which allows
any path, and the background jobs it starts inherit that (``CFT_TRUST_ALL_PATHS``). Never set that variable for a
server. A job the UI starts never has it, so it checks every path again.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from cft import workspace
from cft.errors import UserError

ALLOWED_DIRS_ENV = "CFT_ALLOWED_DIRS"
TRUST_ENV = "CFT_TRUST_ALL_PATHS"
# What a refused path was expected to be, unless the caller says better.
DEFAULT_EXPECTED = f"a path inside the workspace or a directory listed in {ALLOWED_DIRS_ENV}"
_MAX_LEN = 4096
_KINDS = ("file", "dir", "any")


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Allow any path in this process and the jobs it spawns meanwhile (the CLI: the operator's own shell)."""
    before = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TRUST_ENV, None)
        else:
            os.environ[TRUST_ENV] = before


def is_trusted() -> bool:
    return os.environ.get(TRUST_ENV, "") == "1"


def real_path(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def allowed_roots(extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The directories a user's path may point into, symlinks resolved."""
    roots: list[str | os.PathLike] = [workspace.home()]
    if os.environ.get("CFT_MODEL_CACHE"):
        roots.append(os.environ["CFT_MODEL_CACHE"])
    roots += [part for part in os.environ.get(ALLOWED_DIRS_ENV, "").split(os.pathsep) if part.strip()]
    roots += list(extra)
    out = []
    for root in roots:
        try:
            out.append(real_path(root))
        except (OSError, ValueError, RuntimeError):
            continue  # a root the filesystem cannot name allows nothing
    return out


def is_allowed(path: str | os.PathLike, extra_roots: Iterable[str | os.PathLike] = ()) -> bool:
    """True when ``path`` (symlinks resolved) lies under an allowed root, or paths are trusted."""
    if is_trusted():
        return True
    try:
        real = real_path(path)
    except (OSError, ValueError, RuntimeError):
        return False
    return any(real == root or root in real.parents for root in allowed_roots(extra_roots))


def is_path_like(text: str, suffixes: tuple[str, ...] = ()) -> bool:
    """Whether ``text`` names a path rather than a registry name or a Hub id (``owner/name``), judged from the
    string alone: absolute, ``~``, ``./``, a ``..`` part, a backslash, more than one ``/``, or one of ``suffixes``."""
    text = str(text)
    parts = text.replace("\\", "/").split("/")
    return (text.startswith(("/", "~", ".")) or "\\" in text or len(parts) > 2 or ".." in parts
            or (bool(suffixes) and text.lower().endswith(suffixes)))


def refusal(text, what: str, expected: str = DEFAULT_EXPECTED) -> UserError:
    """The one error for a path that cannot be used, whatever the reason: it depends on the user's string only."""
    shown = str(text)
    shown = shown if len(shown) <= 200 else shown[:200] + "…"
    return UserError(f"{what} {shown!r}: not found; expected {expected}")


def resolve(text, what: str, *, kind: str = "any", expected: str = DEFAULT_EXPECTED,
            extra_roots: Iterable[str | os.PathLike] = ()) -> Path:
    """The real path ``text`` names, when it lies under an allowed root and is a ``kind`` (file, dir or any);
    else :func:`refusal`. Relative paths are relative to the working directory."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}")
    raw = "" if text is None else str(text)
    if not raw.strip() or len(raw) > _MAX_LEN or "\x00" in raw:
        raise refusal(raw, what, expected)
    try:
        real = real_path(raw)
        if not is_allowed(real, extra_roots):
            raise refusal(raw, what, expected)
        found = real.is_file() if kind == "file" else real.is_dir() if kind == "dir" else real.exists()
    except (OSError, ValueError, RuntimeError):  # a name too long, a lone surrogate, no home for "~"
        raise refusal(raw, what, expected) from None
    if not found:
        raise refusal(raw, what, expected)
    return real


MODEL_EXPECTED = (f"'embedded', a Hub id (owner/name), or a model directory inside the workspace or a directory "
                  f"listed in {ALLOWED_DIRS_ENV}")


def model_dir(spec, what: str = "model") -> Path | None:
    """The local directory a model or adapter ``spec`` names (resolved and allowed), or None when ``spec`` is a
    Hub id; a path that cannot be used is :func:`refusal`. Demo mode's model allow-list applies first."""
    from cft import demo

    text = str(spec)
    demo.check_model(text, what)
    if not is_path_like(text):
        if not is_hub_id(text):
            raise refusal(text, what, MODEL_EXPECTED)
        return None
    return resolve(text, what, kind="dir", expected=MODEL_EXPECTED)


_HUB_ID = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def is_hub_id(text: str) -> bool:
    """Whether ``text`` is shaped like a Hugging Face repo id (``name`` or ``owner/name``)."""
    return bool(_HUB_ID.fullmatch(str(text))) and ".." not in str(text) and "--" not in str(text)
