"""The text a user reads has no slips like "at at" or a doubled arrow ("Alt+→ →"): every string literal of the app
(pages/, app.py, the library's messages in cft/), the browser scripts and the README, checked at once."""

from __future__ import annotations

import ast
import re

from tests.helpers import ROOT

DOUBLED_WORD = re.compile(r"\b([A-Za-z]{2,})\s+\1\b", re.IGNORECASE)
DOUBLED_ARROW = re.compile(r"([→←↑↓›‹»«])\s*\1")
# Doubled on purpose (SQL keywords).
ALLOWED = {"READ READ"}


def _strings(path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):  # an f-string: its text with each placeholder as "{}"
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            out.append((node.lineno, text))
    return out


def slips(text: str) -> list[str]:
    found = [m.group(0) for m in DOUBLED_WORD.finditer(text) if m.group(0).upper() not in ALLOWED]
    return found + [m.group(0) for m in DOUBLED_ARROW.finditer(text)]


def test_the_checker_catches_the_slips_it_is_for():
    assert slips("ran at at 3 pm") == ["at at"] and slips("Next · Alt+→ →") == ["→ →"]
    assert slips("Next · Alt+→") == [] and slips("at a time") == []


def test_no_doubled_words_or_arrows_in_what_users_read():
    found = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py")), *sorted((ROOT / "cft").rglob("*.py"))]:
        found += [f"{path.relative_to(ROOT)}:{line}: {s!r}" for line, text in _strings(path) for s in slips(text)]
    for path in [*sorted((ROOT / "assets").glob("*.js")), ROOT / "README.md"]:
        for line, text in enumerate(path.read_text().splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{line}: {s!r}" for s in slips(text)]
    assert not found, "\n".join(found)
