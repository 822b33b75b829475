"""Rendering shared by the tabs: the one HTML sanitiser and its Markdown presets, times, progress bars, math.

Everything a sample or a model wrote goes through :func:`esc` before it reaches the page: as an HTML fragment
(``esc``), as Markdown whose raw HTML shows as text (:func:`safe_markdown`), or as model output whose tags are made
literal while ``a < b`` and LaTeX stay readable (:func:`inert_markdown`). The Markdown components sanitize their
output too (defense in depth).
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from cft.jobs import format_eta  # the CLI prints it too, so it lives in the library

__all__ = ["LATEX_DELIMITERS", "esc", "fmt_time", "format_eta", "inert_markdown", "progress_html", "safe_markdown",
           "undouble_math"]

# Both notations the paper's data uses, plus $...$; rendered client-side by KaTeX.
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_DOUBLED_PAREN = re.compile(r"\\\\([()])")


def esc(text, *, quote: bool = True, tags_only: bool = False) -> str:
    """The one sanitiser. HTML-escape ``text`` (``&``, ``<``, ``>``, and quotes unless ``quote=False``) so it can go
    into an HTML fragment or attribute. ``tags_only`` escapes ``&`` and only the ``<`` that would open a tag."""
    text = "" if text is None else str(text)
    if tags_only:
        return _TAG_START.sub("&lt;", text.replace("&", "&amp;"))
    return html.escape(text, quote=quote)


def undouble_math(text: str) -> str:
    """Some datasets store inline math doubly escaped ("\\\\( x \\\\)"); this is the math it means ("\\( x \\)")."""
    return _DOUBLED_PAREN.sub(r"\\\1", text)


def safe_markdown(text: str | None) -> str:
    """Markdown source whose raw HTML is inert: ``<script>`` and ``<img onerror>`` become visible text.

    Only ``&``, ``<`` and ``>`` are escaped, so Markdown and LaTeX (``\\(x\\)``, ``$x$``) still render.
    """
    if not text:
        return "*(empty)*"
    return esc(undouble_math(text), quote=False)


def inert_markdown(text: str | None) -> str:
    """Model output as Markdown + LaTeX with every HTML tag made literal text, so nothing a model writes can run.

    Only ``<`` that would open a tag is escaped, so ``a < b`` and LaTeX stay readable; ``&`` is escaped so an
    entity cannot smuggle a tag back in.
    """
    return esc(text, tags_only=True)


def fmt_time(ts: float | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def progress_html(done: int, total: int) -> str:
    pct = 100.0 * done / total if total else 0.0
    return (f'<div class="cft-progress" role="progressbar" aria-valuenow="{pct:.0f}" aria-valuemin="0" '
            f'aria-valuemax="100" style="background:#e5e7eb;border-radius:6px;height:18px;overflow:hidden">'
            f'<div style="width:{pct:.1f}%;background:#6366f1;height:100%"></div></div>'
            f'<div class="cft-progress-label">{done} / {total} steps ({pct:.0f}%)</div>')
