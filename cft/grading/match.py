"""Whether an extracted answer equals the reference: our normalisation, then math-verify.

math-verify (``verify(parse(gold), parse(pred))``) decides every comparison that is not plainly equal or
plainly different, with its default settings (6-digit float rounding, strict variables, no set/relation
mixing). What this layer adds is the reading of the answer as people write it, before math-verify sees it:
money and percent signs, thousands separators ("1,234", "1 000", "14{,}916"), scientific notation, doubly
escaped LaTeX, mixed numbers ("1 1/2"), and readings that depend on the other side:

- unit words: "126 dollars", "10 weeks", "10 square units" equal a bare-number reference (and the other way
  round). A word of one or two letters glued to the number ("10cm", "5x") is not stripped here: it may be a
  product of variables, and math-verify decides (it drops the units it knows, such as cm).
- decimal commas: "1000,99" and "0,111" are decimals when the other side is a single number; a comma before
  exactly three digits ("1,234") stays a thousands separator, and a list stays a list.
- one object written two ways: ``f(x) = 2x + 3`` and ``y = 2x + 3``; ``20:34:00`` and ``20:34``; a one-column
  matrix and the bracketed list of its entries.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from cft.grading.extract import top_level_items, undouble_backslashes

# A leading group never starts with 0: "0,111" is a decimal comma, not 111.
_THOUSANDS_ONLY_RE = re.compile(r"^\s*-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?\s*$")
_SPACE_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:\.\d+)?$")
_MIXED_NUMBER_RE = re.compile(r"^(-?\d+)\s+(\d+)\s*/\s*(\d+)$")
_SCIENTIFIC_RE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×|\*)\s*10\s*\^\s*\{?\s*(-?\d+)\s*\}?$")
_PLAIN_NUMBER_RE = re.compile(r"^-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_BARE_NUMBER_RE = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_DECIMAL_COMMA_RE = re.compile(r"^(-?\d+),(\d+)$")
_NUMBER_HEAD = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:[.,]\d+)?"
# A number then unit words: "126 dollars", "20 miles per hour", "10 cm^2", "10\text{ units}", "10weeks".
_UNIT_TAIL_RE = re.compile(
    rf"^(?P<num>{_NUMBER_HEAD})(?P<tail>"
    r"(?:\s*\\(?:text|mbox|mathrm)\s*\{[^{}\d]*\}|\s+[A-Za-z]{2,}\.?|[A-Za-z]{3,}\.?)"
    r"(?:\s*\\(?:text|mbox|mathrm)\s*\{[^{}\d]*\}|\s+[A-Za-z]{2,}\.?|\s*/\s*[A-Za-z]{1,}|\^\{?[23]\}?|[²³])*)$"
)


def prepare(answer: str) -> str:
    """An answer as math-verify should read it: no wrappers, currency or stray ``$``; percent as ``\\%``."""
    s = undouble_backslashes(str(answer or "")).strip()
    for left, right in (("$$", "$$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left):len(s) - len(right)].strip()
    s = re.sub(r"(?<!\\)\$", "", s)  # math delimiters and money signs alike
    s = re.sub(r"^\\\$\s*|\s*\\\$$", "", s)
    s = re.sub(r"^[€£¥]\s*|\s*[€£¥]$", "", s).strip()
    s = s.rstrip(" .;")
    s = re.sub(r"(?<=[\d}])\s*(?:percent(?:age)?|pct)\b", r"\\%", s, flags=re.IGNORECASE)
    s = re.sub(r"(?<!\\)%", r"\\%", s)
    s = s.replace("{,}", ",")
    s = re.sub(r"(?<=\d),\\!\s*(?=\d{3})", ",", s)  # "11,\! 111" is one number
    if _SPACE_THOUSANDS_RE.match(s):
        s = re.sub(r"[ \u00a0\u202f]", "", s)
    if _THOUSANDS_ONLY_RE.match(s):
        s = s.replace(",", "")  # "1,234" is a number here, not the tuple (1, 234)
    sci = _SCIENTIFIC_RE.match(s)
    if sci:  # 2.3148 \times 10^{-3} is one decimal; as a product it is rounded before it is scaled
        s = format(Decimal(sci.group(1)).scaleb(int(sci.group(2))), "f")
    mixed = _MIXED_NUMBER_RE.match(s)
    if mixed:
        s = f"{mixed.group(1)}\\frac{{{mixed.group(2)}}}{{{mixed.group(3)}}}"
    return s.strip()


def _is_single_number(s: str) -> bool:
    return bool(_BARE_NUMBER_RE.match(s.replace(",", "")) and s.count(",") <= 1) or _as_number(s) is not None


def _decimal_comma(s: str, other: str) -> str:
    """``1000,99`` -> ``1000.99`` when ``other`` is a single number; a 3-digit group stays thousands."""
    m = _DECIMAL_COMMA_RE.match(s)
    if not m or "," in other or not _is_single_number(other):
        return s
    head, tail = m.groups()
    if len(tail) in (1, 2) or head.lstrip("-") == "0":
        return f"{head}.{tail}"
    return s


def _strip_units(s: str, other: str) -> str:
    """``126 dollars`` -> ``126`` when ``other`` is a bare number."""
    if not _is_single_number(other):
        return s
    m = _UNIT_TAIL_RE.match(s)
    return m.group("num") if m else s


# "f(x) = 2x + 3", "y = 2x + 3", "y_1 = 5": an equation that names its right side.
_NAMING_EQ_RE = re.compile(r"^\s*(?P<name>[A-Za-z])(?:_\{?\w+\}?)?(?:\s*\(\s*[A-Za-z]\s*\))?\s*=\s*(?P<rhs>[^=,;]+)$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
_MATRIX_RE = re.compile(r"^\\begin\{([pbvBV]?matrix)\}(.*)\\end\{\1\}$", re.DOTALL)
_BRACKETED_RE = re.compile(r"^[\[(](.*)[\])]$", re.DOTALL)


def _named_value(s: str) -> str | None:
    m = _NAMING_EQ_RE.match(s)
    if not m or re.search(rf"(?<![A-Za-z\\]){m.group('name')}(?![A-Za-z])", m.group("rhs")):
        return None  # "x = 2x + 3" is an equation to solve, not a name for 2x + 3
    return m.group("rhs").strip()


def _vector_entries(s: str) -> list[str] | None:
    """The entries of a one-row or one-column matrix."""
    m = _MATRIX_RE.match(s.strip())
    if not m:
        return None
    rows = [r.strip() for r in re.split(r"\\\\", m.group(2)) if r.strip()]
    cells = [[c.strip() for c in r.split("&")] for r in rows]
    if len(cells) == 1:
        return cells[0]
    return [r[0] for r in cells] if all(len(r) == 1 for r in cells) else None


def _same_shape(gold: str, pred: str) -> tuple[str, str]:
    """Pairs of forms that mean the same thing written two ways, rewritten alike."""
    g_name, p_name = _named_value(gold), _named_value(pred)
    if g_name is not None and p_name is not None:
        return g_name, p_name  # f(x) = 2x + 3 and y = 2x + 3 name the same function
    g_clock, p_clock = _CLOCK_RE.match(gold), _CLOCK_RE.match(pred)
    if g_clock and p_clock:
        return ":".join(g_clock.groups()), ":".join(p_clock.groups())  # 20:34:00 is 20:34
    for a, b, flip in ((gold, pred, False), (pred, gold, True)):
        entries, listed = _vector_entries(a), _BRACKETED_RE.match(b.strip())
        if entries and listed and len(top_level_items(listed.group(1))) == len(entries):
            # A one-column matrix and a bracketed list of its entries are the same vector.
            a, b = f"({', '.join(entries)})", f"({listed.group(1)})"
            return (b, a) if flip else (a, b)
    return gold, pred


def reconcile(gold: str, pred: str) -> tuple[str, str]:
    """Readings of one side that depend on the other: unit words, decimal commas, and one object written
    two ways (a named function, a clock time, a vector)."""
    gold, pred = _same_shape(gold, pred)
    gold, pred = _strip_units(gold, pred), _strip_units(pred, gold)
    gold, pred = _decimal_comma(gold, pred), _decimal_comma(pred, gold)
    gold, pred = (s.replace(",", "") if _THOUSANDS_ONLY_RE.match(s) else s for s in (gold, pred))
    return gold, pred


def normalize_answer(answer: str) -> str:
    """Prepare a bare answer for math-verify: read as people write it (:func:`prepare`), wrapped in ``\\boxed{}``."""
    answer = prepare(answer)
    if "\\boxed" in answer or "\\fbox" in answer:
        return f"${answer}$"
    return f"$\\boxed{{{answer}}}$"


def _plain(answer: str) -> str:
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", answer or "")
    s = re.sub(r"[\s$]|\\[,;!: ]", "", s)
    return s.lower().strip(".")


def _as_number(answer: str):
    """A plain written number ("1,234", "$18", "18.50") as an exact Fraction, else None."""
    s = re.sub(r"^\\?\$\s*", "", (answer or "").strip()).rstrip(".")
    if not _PLAIN_NUMBER_RE.match(s):
        return None
    return Fraction(s.replace(",", ""))


def quick_match(gold: str | None, pred: str | None) -> bool | None:
    """The cases decided without sympy (never slow), or None when math-verify must decide."""
    if pred is None or gold is None:
        return False
    gold, pred = reconcile(prepare(gold), prepare(pred))
    if _plain(gold) == _plain(pred) and _plain(gold):
        return True
    # Plain numbers (most GSM8K answers) need no LaTeX parser: equal values are a match, and two different
    # integers are not. Anything subtler (decimals that differ, e.g. at math-verify's rounding) goes on.
    g, p = _as_number(gold), _as_number(pred)
    if g is not None and p is not None:
        if g == p:
            return True
        if g.denominator == 1 and p.denominator == 1:
            return False
    return None


def match(gold: str, pred: str, timeouts: bool) -> bool:
    """Equivalence per math-verify. ``timeouts`` keeps its signal.alarm guards (main thread only)."""
    from math_verify import parse, verify

    quick = quick_match(gold, pred)
    if quick is not None:
        return quick
    gold, pred = reconcile(prepare(gold), prepare(pred))
    kw_parse = {} if timeouts else {"parsing_timeout": None}
    kw_verify = {} if timeouts else {"timeout_seconds": None}
    try:
        g = parse(normalize_answer(gold), **kw_parse)
        p = parse(normalize_answer(pred), **kw_parse)
        if not g or not p:
            return False
        return bool(verify(g, p, **kw_verify))
    except Exception:  # math-verify raises on exotic input; an unparseable answer is simply not a match
        return False


# The LaTeX parser (antlr) builds its prediction caches on first use, which makes a fresh worker's first
# few hundred answers several times slower. Parsing typical answers once at worker start pays that up front.
_WARM_UP = ["\\frac{1}{2}", "0.5", "\\sqrt{18}", "3\\sqrt{2}", "(1,3]", "\\left( 3, \\frac{\\pi}{2} \\right)",
            "\\text{Monday}", "x^2+2x+1", "\\{1,2\\}", "-\\frac{3}{4}", "2\\pi", "10\\%", "\\dfrac{5}{14}",
            "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "a+b", "\\infty", "\\$18.50", "5\\text{ cm}"]


def warm_up() -> None:
    for i, answer in enumerate(_WARM_UP):
        try:
            match(answer, _WARM_UP[i - 1], timeouts=False)
        except Exception:
            pass
