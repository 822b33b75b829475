"""What a record must be before it becomes a sample: checks that turn every malformed input into a bad row naming
its field, and the choice of a file's record shape from all its records.

A fuzz of malformed files found inputs that parsed but crashed later, at the store's insert or its JSON encoder:
strings with lone surrogates (``"\\ud800"`` is valid JSON escape syntax, not valid Unicode), NUL characters, and
nesting deep enough to overflow an encoder. They are caught here, with the line and the field. The shape (alpaca,
messages, flat) used to be guessed from the first record alone, so one odd first record made every other row's
error blame the wrong thing; it is now the shape most records have.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from cft.data.formats.result import BadRow, ImportFailed, RowError

MAX_DEPTH = 64  # real records nest a few levels (messages -> turn -> content); deeper is damage or an attack
MAX_IMPORT_MB_ENV = "CFT_MAX_IMPORT_MB"
DEFAULT_MAX_IMPORT_MB = 1024
DEMO_MAX_IMPORT_MB = 50


def max_import_bytes() -> int:
    """The largest file an import reads: ``CFT_MAX_IMPORT_MB``, else 1 GiB (50 MiB on a public demo)."""
    from cft import demo

    default = DEMO_MAX_IMPORT_MB if demo.is_demo() else DEFAULT_MAX_IMPORT_MB
    try:
        mb = float(os.environ.get(MAX_IMPORT_MB_ENV, default))
    except ValueError:
        mb = default
    return int(mb * 2**20)


def check_size(path: Path, shown: str) -> None:
    """Refuse a file (or a saved dataset directory) larger than :func:`max_import_bytes`, before reading it."""
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    limit = max_import_bytes()
    if size > limit:
        raise ImportFailed(shown, [RowError(0, "", f"{size / 2**20:.1f} MB is more than this server imports "
                                                   f"({limit / 2**20:.0f} MB, {MAX_IMPORT_MB_ENV}); split the file")])


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return f"a NUL character at position {text.index(chr(0)) + 1}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"invalid Unicode: lone surrogate \\u{ord(text[exc.start]):04x} at position {exc.start + 1}"
    return None


def check_record(record: Any) -> None:
    """Every key and string of ``record`` is valid Unicode without NUL, and it nests at most MAX_DEPTH levels;
    else :class:`BadRow` naming the field (``messages[1].content``). Iterative: depth cannot overflow the check."""
    stack: list[tuple[Any, str, int]] = [(record, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRow(where.split(".")[0].split("[")[0] or "", f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                raise BadRow(where, problem)
        elif isinstance(value, dict):
            for key, item in value.items():
                name = str(key)
                problem = _bad_text(name)
                if problem:
                    raise BadRow(where or "(field name)", f"a field name with {problem}")
                stack.append((item, f"{where}.{name}" if where else name, depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))


def shape_of(record: Any) -> str:
    if isinstance(record, dict):
        if "messages" in record:
            return "messages"
        if "output" in record or "instruction" in record:
            return "alpaca"
    return "flat"


def detect_shape(records: list[tuple[int, Any]]) -> str:
    """The record shape most of the file's records have (ties: messages, then alpaca, then flat), so that a record
    missing a field is reported as missing that field, not as a record of another shape."""
    votes = Counter(shape_of(r) for _, r in records if isinstance(r, dict))
    if not votes:
        return "flat"
    order = ("messages", "alpaca", "flat")
    return max(order, key=lambda s: (votes[s], -order.index(s)))
