"""Secrets never reach a file, a log or a page: one redaction function, applied where text is written.

An endpoint may echo the API key in an error body, a library may print a header, a traceback may quote a URL with
a token. Rather than trusting every message's author, text is redacted at the boundaries where it leaves the
process: job status, progress and metrics (cft.jobs), the output of job processes, the app and the CLI
(:func:`guard_output`, which also covers the logging handlers that write there), and the error messages the UI
shows (pages.common).

What is redacted:
- the configured secrets themselves: every value :func:`register`-ed (the API key typed in the UI) and the
  environment's ``OPENAI_API_KEY``, ``HF_TOKEN`` and the like;
- ``Authorization``/``api_key``/``token``/``password`` fields and ``Bearer``/``Basic`` credentials;
- anything shaped like a key: ``sk-…``, ``hf_…``, ``ghp_…``, ``AKIA…``, and long high-entropy tokens (32+
  characters of letters, digits, '-' and '_' mixing upper case, lower case and digits, like a random key; hex
  digests, paths and words are left alone).
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import sys
import threading
from collections import Counter
from typing import Any

MASK = "[REDACTED]"
SECRET_ENV = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "ANTHROPIC_API_KEY",
              "CFT_TEACHER_API_KEY")
_MIN_SECRET = 8  # shorter values (a placeholder such as "not-needed" is 10) would mask ordinary words
_registered: set[str] = set()

_FIELD = re.compile(
    r"(?i)((?:authorization|proxy-authorization|x-api-key|api[-_]?key|access[-_]?token|auth[-_]?token|token|password"
    r"|passwd|secret|client[-_]?secret)[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED\])(?:(?:bearer|basic|token)\s+)?"
    r"([^\s\"',;&]{4,})")
_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+(?!\[REDACTED\])([A-Za-z0-9._~+/=-]{8,})")
_SHAPED = re.compile(r"\b(?:sk-|sk_|rk_|hf_|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abposr]-|AKIA|ASIA|AIza)"
                     r"[A-Za-z0-9_\-]{8,}")
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)")
_LONG = re.compile(r"[A-Za-z0-9_\-]{32,}")


def register(secret: str | None) -> None:
    """Remember a secret this process holds (a key typed in the UI) so that it is masked wherever it shows up."""
    if secret and len(secret) >= _MIN_SECRET:
        _registered.add(secret)


def _secrets() -> list[str]:
    values = set(_registered)
    values.update(v for name in SECRET_ENV if len(v := os.environ.get(name, "")) >= _MIN_SECRET)
    return sorted(values, key=len, reverse=True)


def _high_entropy(token: str) -> bool:
    body = token.rstrip("=")
    if not (re.search(r"[A-Z]", body) and re.search(r"[a-z]", body) and re.search(r"[0-9]", body)):
        return False
    counts = Counter(body)
    entropy = -sum(n / len(body) * math.log2(n / len(body)) for n in counts.values())
    return entropy >= 3.5


def redact(text: Any) -> Any:
    """``text`` with every secret and key-shaped token replaced by ``[REDACTED]``; non-strings come back as they are."""
    if not isinstance(text, str) or not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _FIELD.sub(lambda m: m.group(1) + MASK, text)
    text = _SHAPED.sub(MASK, text)
    return _LONG.sub(lambda m: MASK if _high_entropy(m.group(0)) else m.group(0), text)


def redact_obj(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists, tuples) redacted; for JSON state files."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_obj(v) for v in value)
    return value


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before passing them on (a key split over two writes is still one
    line). A carriage return also ends a line, so progress bars keep moving."""

    def __init__(self, inner):
        self.inner = inner
        self._pending = ""
        self._lock = threading.Lock()  # the app's handler threads print at the same time

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
            if cut >= 0:
                done, self._pending = self._pending[:cut + 1], self._pending[cut + 1:]
                self.inner.write(redact(done))
            if len(self._pending) > 65536:  # no line end for a long time: do not hold it forever
                self.inner.write(redact(self._pending))
                self._pending = ""
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.inner.write(redact(self._pending))
                self._pending = ""
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self):  # noqa: D401 - mirrors the wrapped stream
        return getattr(self.inner, "encoding", "utf-8")


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not format is passed on untouched
            return True
        record.msg, record.args = redact(message), None
        return True


def guard_output() -> None:
    """Redact this process's stdout and stderr (and so every logging handler writing there) and every log record.
    Called first thing by the app, the CLI and each background job's entry point. Idempotent."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_cft_redacts", False):
        def make(*args, **kwargs):
            record = factory(*args, **kwargs)
            _RedactingFilter().filter(record)
            return record

        make._cft_redacts = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(make)
