"""Optional login for several annotators (Gradio ``auth``), so every save records who made it.

Users come from a file named by ``CFT_USERS_FILE`` (one ``user:password`` per line, ``#`` comments allowed) and/or
the ``CFT_USERS`` environment variable (``"alice:pw1,bob:pw2"``). No users configured means no login, and
annotators type their name in the Data tab instead.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from cft.errors import UserError


def _parse_pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    user = user.strip()
    if not sep or not user or not password:
        raise UserError(f"{where}: expected 'user:password', got {text.strip()!r}")
    return user, password


def parse_users_file(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"CFT_USERS_FILE {str(path)!r} does not exist")
    users: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, password = _parse_pair(line, f"{path}, line {n}")
        users[user] = password
    return users


def parse_users_env(value: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for n, item in enumerate(value.split(","), start=1):
        if item.strip():
            user, password = _parse_pair(item, f"CFT_USERS entry {n}")
            users[user] = password
    return users


def load_users(environ=None) -> dict[str, str]:
    """All configured users (the file first, then CFT_USERS, which wins on a repeated name)."""
    env = os.environ if environ is None else environ
    users: dict[str, str] = {}
    if env.get("CFT_USERS_FILE"):
        users.update(parse_users_file(env["CFT_USERS_FILE"]))
    if env.get("CFT_USERS"):
        users.update(parse_users_env(env["CFT_USERS"]))
    return users


def gradio_auth(environ=None):
    """A ``launch(auth=...)`` callable, or None when no users are configured (no login page)."""
    users = load_users(environ)
    if not users:
        return None

    def check(username: str, password: str) -> bool:
        expected = users.get(username)
        # Constant-time comparison: the login form must not leak how much of a password was right.
        return expected is not None and hmac.compare_digest(expected.encode(), (password or "").encode())

    return check
