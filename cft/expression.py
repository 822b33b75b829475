"""Exact arithmetic on text: the tokenizer and a recursive-descent evaluator over ``fractions.Fraction``.

:mod:`cft.arithmetic` finds the claims ("12 * 7 = 88") in a solution and uses this module to read each side:
tokens (numbers, operators, ``\\frac``, parentheses, percent, words in context) and their exact value. No ``eval``;
powers are bounded so "2^{2^{100}}" cannot stall it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_TOKEN_RE = re.compile(
    r"""
    (?P<code>0\d+)
  | (?P<num>\d{1,3}(?:(?:,|\{,\})\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?|\.\d+)
  | (?P<frac>\\[dt]?frac(?![a-zA-Z]))
  | (?P<op>\*\*|\\times(?![a-zA-Z])|\\cdot(?![a-zA-Z])|\\div(?![a-zA-Z])|[-+*/^×÷·−])
  | (?P<lp>\\left\s*[(\[]|[(\[{])
  | (?P<rp>\\right\s*[)\]]|[)\]}])
  | (?P<pct>\\%|%)
  | (?P<eq>=)
  | (?P<skip>[ \t]+|\\\$|\$|\\[,!;: ])
  | (?P<word>[A-Za-z]+)
  """,
    re.VERBOSE,
)

_MAX_DIGITS = 100  # longer digit runs are not read as numbers (Python refuses int() past 4300 digits anyway)
_MAX_NESTING = 64  # parentheses, fractions, signs and powers nested deeper are not arithmetic a solution checks

_OPS = {"**": "^", "\\times": "*", "\\cdot": "*", "\\div": "/", "×": "*", "÷": "/", "·": "*", "−": "-", "x": "*"}


@dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int
    value: object = None


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            out.append(Tok("break", text[pos], pos, pos + 1))
            pos += 1
            continue
        kind = m.lastgroup
        if kind == "code" or (kind == "num" and len(m.group(0)) > _MAX_DIGITS):
            kind = "break"  # "0900", "007": times and codes; a 5,000-digit run is not a quantity either
        tok = Tok(kind, m.group(0), m.start(), m.end())
        if kind == "num":
            tok.value = Fraction(tok.text.replace("{,}", "").replace(",", ""))
        elif kind == "op":
            tok.value = _OPS.get(tok.text, tok.text)
        elif kind == "word":
            tok.value = tok.text
        out.append(tok)
        pos = m.end()
    return out


def _glued(a: int, b: int) -> bool:
    """True when positions a (end of one token) and b (start of the next) touch with no whitespace."""
    return a == b


def classify_words(toks: list[Tok]) -> None:
    """Decide, in context, what each word is: the multiplication sign in "3 x 4", a unit in "3 apples + 2",
    or a break (a variable, prose)."""
    sig = [i for i, t in enumerate(toks) if t.kind != "skip"]
    pos_in_sig = {i: k for k, i in enumerate(sig)}
    for i, t in enumerate(toks):
        if t.kind != "word":
            continue
        k = pos_in_sig[i]
        prev = toks[sig[k - 1]] if k > 0 else None
        nxt = toks[sig[k + 1]] if k + 1 < len(sig) else None
        spaced_before = prev is not None and not _glued(prev.end, t.start)
        spaced_after = nxt is not None and not _glued(t.end, nxt.start)
        if t.text == "x" and prev is not None and nxt is not None and spaced_before and spaced_after \
                and prev.kind in ("num", "rp", "pct") and nxt.kind in ("num", "lp", "frac"):
            t.kind, t.value = "op", "*"
        elif (prev is not None and prev.kind in ("num", "pct") and spaced_before and nxt is not None
              and nxt.kind in ("op", "eq") and 2 <= len(t.text) <= 12 and t.text.islower()
              and not _after_eq_alone(toks, sig, k - 1)):
            t.kind = "unit"
        else:
            t.kind = "break"


def _after_eq_alone(toks, sig, k) -> bool:
    """Is the number at sig[k] the whole right side of an '=' so far ("= 84 cookies / 4")? A unit there
    ends the claim: what follows is a new computation, not the same side."""
    return k > 0 and toks[sig[k - 1]].kind == "eq"


# --------------------------------------------------------------------------------------------- parser


class NotArithmetic(Exception):
    pass


_MAX_ABS = Fraction(10) ** 30


class Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/'|implicit) unary)*; unary := '-' unary | power;
    power := atom ('^' unary)?; atom := num '%'? | '(' expr ')' | frac '{' expr '}' '{' expr '}'."""

    def __init__(self, toks: list[Tok], *, tight: bool = False, rdiv: bool = False):
        self.toks = [t for t in toks if t.kind not in ("skip", "unit")]
        self.i = 0
        self.ops = 0
        self.depth = 0
        self.tight = tight  # "2000 / 2/3": an unspaced a/b is one fraction
        self.rdiv = rdiv    # "14 / 1 / 4": the writer meant 14 / (1/4)

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        t = self.peek()
        if t is None:
            raise NotArithmetic("unexpected end")
        self.i += 1
        return t

    def parse(self) -> Fraction:
        if not self.toks:
            raise NotArithmetic("empty")
        v = self.expr()
        if self.i != len(self.toks):
            raise NotArithmetic("trailing tokens")
        return v

    def expr(self):
        v = self.term()
        while (t := self.peek()) is not None and t.kind == "op" and t.value in "+-":
            self.take()
            self.ops += 1
            r = self.term()
            v = v + r if t.value == "+" else v - r
        return v

    def term(self):
        v = self.unary()
        while (t := self.peek()) is not None:
            if t.kind == "op" and t.value in "*/":
                self.take()
                r = self.term() if (self.rdiv and t.value == "/") else self.unary()
                if t.value == "/" and r == 0:
                    raise NotArithmetic("division by zero")
                v = v * r if t.value == "*" else v / r
            elif t.kind in ("lp", "frac"):  # implicit product 2(3+4); but 3\frac{1}{2} is the mixed number 3.5
                mixed = t.kind == "frac" and self.toks[self.i - 1].kind == "num" and is_int(v) and v >= 0
                r = self.unary()
                v = v + r if mixed and 0 <= r < 1 else v * r
            else:
                break
            self.ops += 1
            if abs(v) > _MAX_ABS:
                raise NotArithmetic("too large")
        return v

    def unary(self):
        # Every nesting (a group, a \frac, a sign, an exponent) passes through here: bound it, so a crafted
        # "((((...1...))))" is not arithmetic rather than a RecursionError.
        self.depth += 1
        try:
            if self.depth > _MAX_NESTING:
                raise NotArithmetic("nested too deeply")
            t = self.peek()
            if t is not None and t.kind == "op" and t.value in "-+":
                self.take()
                v = self.unary()
                return -v if t.value == "-" else v
            return self.power()
        finally:
            self.depth -= 1

    def power(self):
        base = self.atom()
        t = self.peek()
        if t is not None and t.kind == "op" and t.value == "^":
            self.take()
            self.ops += 1
            exp = self.unary()
            if exp.denominator != 1 or abs(exp) > 200 or (base == 0 and exp < 0):
                raise NotArithmetic("unsupported power")
            v = base ** int(exp)
            if abs(v) > _MAX_ABS:
                raise NotArithmetic("too large")
            return v
        return base

    def atom(self):
        t = self.take()
        if t.kind == "num":
            v = t.value
            if self.tight and self.i + 1 < len(self.toks):
                op, den = self.toks[self.i], self.toks[self.i + 1]
                if op.kind == "op" and op.value == "/" and den.kind == "num" and t.end == op.start and op.end == den.start \
                        and den.value != 0:
                    self.i += 2
                    self.ops += 1
                    v = v / den.value
            if (p := self.peek()) is not None and p.kind == "pct":
                self.take()
                self.ops += 1
                v = v / 100
            return v
        if t.kind == "lp":
            v = self.expr()
            if self.take().kind != "rp":
                raise NotArithmetic("unbalanced")
            return v
        if t.kind == "frac":
            self.ops += 1
            num = self._group()
            den = self._group()
            if den == 0:
                raise NotArithmetic("division by zero")
            return num / den
        raise NotArithmetic(f"unexpected {t.text!r}")

    def _group(self):
        if self.take().kind != "lp":
            raise NotArithmetic("\\frac needs braces")
        v = self.expr()
        if self.take().kind != "rp":
            raise NotArithmetic("unbalanced")
        return v


def is_int(v: Fraction) -> bool:
    return v.denominator == 1


def evaluate(toks: list[Tok]) -> tuple[list[Fraction], int] | None:
    """(readings, number of operations) or None when the side is not pure arithmetic.

    readings[0] is the standard one; with two or more divisions, the sloppy-but-common readings
    ("25 / 1/3", "14 / 1 / 4") are added so a writer's intended a / (b / c) is not called an error."""
    sig = significant(toks)
    if any(t.kind == "unit" for t in sig) and not any(t.kind in ("op", "frac", "pct") for t in sig):
        return None  # "1 bedroom = 11 * 11": a label, not the number 1
    readings, ops = [], None
    divisions = sum(1 for t in sig if t.kind == "op" and t.value == "/")
    variants = [{}] + ([{"tight": True}, {"rdiv": True}] if divisions >= 2 else [])
    for kw in variants:
        p = Parser(toks, **kw)
        try:
            v = p.parse()
        except (NotArithmetic, ZeroDivisionError, OverflowError, ValueError):
            if not kw:
                return None
            continue
        if ops is None:
            ops = p.ops
        if v not in readings:
            readings.append(v)
    return readings, ops


def significant(seg: list[Tok]) -> list[Tok]:
    return [t for t in seg if t.kind != "skip"]
