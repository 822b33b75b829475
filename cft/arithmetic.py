"""Find arithmetic claims in a solution ("12 * 7 = 88") and check them exactly.

Used to flag critiques that call a solution right although it contains a false calculation, and by the
offline verifier critic. The checker must not cry wolf on correct text, so it is conservative:

- a claim is a run of numbers, operators, parentheses, ``\\frac{}{}`` and ``=`` signs; anything else ends it;
- a side whose boundary touches a variable or an operator outside the run ("x + 3 = 5") is incomplete and
  is not checked; pairs where neither side has an operator ("12 = 36") are not claims of a calculation;
- a running computation "5 + 3 = 8 * 2 = 16" (the next side starts from the previous result) is read as
  the writer meant it, not as 8 = 16;
- a claimed decimal is compared at its own precision (10/3 = 3.33 is fine, so is truncation to 3.33).

Evaluation is exact (``fractions.Fraction``) by a small recursive-descent parser over our own tokens:
no ``eval``; powers are bounded so "2^{2^{100}}" cannot stall it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

# --------------------------------------------------------------------------------------------- tokens

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

_OPS = {"**": "^", "\\times": "*", "\\cdot": "*", "\\div": "/", "×": "*", "÷": "/", "·": "*", "−": "-", "x": "*"}
# What, just outside a run, means the run's edge side is part of a bigger expression.
_TAINT_CHARS = set("+-*/^×÷·−–_!")
# Words that, just before a run, are an operator in prose: "60 students x 2/3", "10% of 150", "1 and 1/4".
_TAINT_WORDS = {"x", "X", "of", "times", "by", "plus", "minus", "over", "per", "and", "into"}
# Words right after the claimed number that change its scale: "$1 / 2 = 50 cents", "= 30 percent".
_SCALE_WORDS = {"cents", "cent", "percent", "%"}


@dataclass
class _Tok:
    kind: str
    text: str
    start: int
    end: int
    value: object = None


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            out.append(_Tok("break", text[pos], pos, pos + 1))
            pos += 1
            continue
        kind = m.lastgroup
        if kind == "code":  # "0900", "007": times and codes, not quantities
            kind = "break"
        tok = _Tok(kind, m.group(0), m.start(), m.end())
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


def _classify_words(toks: list[_Tok]) -> None:
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


class _NotArithmetic(Exception):
    pass


_MAX_ABS = Fraction(10) ** 30


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/'|implicit) unary)*; unary := '-' unary | power;
    power := atom ('^' unary)?; atom := num '%'? | '(' expr ')' | frac '{' expr '}' '{' expr '}'."""

    def __init__(self, toks: list[_Tok], *, tight: bool = False, rdiv: bool = False):
        self.toks = [t for t in toks if t.kind not in ("skip", "unit")]
        self.i = 0
        self.ops = 0
        self.tight = tight  # "2000 / 2/3": an unspaced a/b is one fraction
        self.rdiv = rdiv    # "14 / 1 / 4": the writer meant 14 / (1/4)

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        t = self.peek()
        if t is None:
            raise _NotArithmetic("unexpected end")
        self.i += 1
        return t

    def parse(self) -> Fraction:
        if not self.toks:
            raise _NotArithmetic("empty")
        v = self.expr()
        if self.i != len(self.toks):
            raise _NotArithmetic("trailing tokens")
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
                    raise _NotArithmetic("division by zero")
                v = v * r if t.value == "*" else v / r
            elif t.kind in ("lp", "frac"):  # implicit product 2(3+4); but 3\frac{1}{2} is the mixed number 3.5
                mixed = t.kind == "frac" and self.toks[self.i - 1].kind == "num" and _is_int(v) and v >= 0
                r = self.unary()
                v = v + r if mixed and 0 <= r < 1 else v * r
            else:
                break
            self.ops += 1
            if abs(v) > _MAX_ABS:
                raise _NotArithmetic("too large")
        return v

    def unary(self):
        t = self.peek()
        if t is not None and t.kind == "op" and t.value in "-+":
            self.take()
            v = self.unary()
            return -v if t.value == "-" else v
        return self.power()

    def power(self):
        base = self.atom()
        t = self.peek()
        if t is not None and t.kind == "op" and t.value == "^":
            self.take()
            self.ops += 1
            exp = self.unary()
            if exp.denominator != 1 or abs(exp) > 200 or (base == 0 and exp < 0):
                raise _NotArithmetic("unsupported power")
            v = base ** int(exp)
            if abs(v) > _MAX_ABS:
                raise _NotArithmetic("too large")
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
                raise _NotArithmetic("unbalanced")
            return v
        if t.kind == "frac":
            self.ops += 1
            num = self._group()
            den = self._group()
            if den == 0:
                raise _NotArithmetic("division by zero")
            return num / den
        raise _NotArithmetic(f"unexpected {t.text!r}")

    def _group(self):
        if self.take().kind != "lp":
            raise _NotArithmetic("\\frac needs braces")
        v = self.expr()
        if self.take().kind != "rp":
            raise _NotArithmetic("unbalanced")
        return v


def _is_int(v: Fraction) -> bool:
    return v.denominator == 1


def _evaluate(toks: list[_Tok]) -> tuple[list[Fraction], int] | None:
    """(readings, number of operations) or None when the side is not pure arithmetic.

    readings[0] is the standard one; with two or more divisions, the sloppy-but-common readings
    ("25 / 1/3", "14 / 1 / 4") are added so a writer's intended a / (b / c) is not called an error."""
    sig = _sig(toks)
    if any(t.kind == "unit" for t in sig) and not any(t.kind in ("op", "frac", "pct") for t in sig):
        return None  # "1 bedroom = 11 * 11": a label, not the number 1
    readings, ops = [], None
    divisions = sum(1 for t in sig if t.kind == "op" and t.value == "/")
    variants = [{}] + ([{"tight": True}, {"rdiv": True}] if divisions >= 2 else [])
    for kw in variants:
        p = _Parser(toks, **kw)
        try:
            v = p.parse()
        except (_NotArithmetic, ZeroDivisionError, OverflowError, ValueError):
            if not kw:
                return None
            continue
        if ops is None:
            ops = p.ops
        if v not in readings:
            readings.append(v)
    return readings, ops


# --------------------------------------------------------------------------------------------- claims


@dataclass
class EquationCheck:
    text: str          # the claim as written, "12 * 7 = 88"
    start: int         # its span in the checked text
    end: int
    claimed: float     # the value the writer states (the plain-number side, else the right side)
    actual: float      # what the other side really evaluates to
    ok: bool


_RUN_KINDS = {"num", "op", "lp", "rp", "frac", "pct", "eq", "skip", "unit"}


def _runs(toks: list[_Tok]) -> list[tuple[int, int]]:
    """Maximal [i, j) index ranges of arithmetic tokens."""
    runs, i = [], 0
    while i < len(toks):
        if toks[i].kind in _RUN_KINDS and toks[i].kind != "skip":
            j = i
            while j < len(toks) and toks[j].kind in _RUN_KINDS:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _split_segments(toks: list[_Tok]) -> list[list[_Tok]]:
    segs, cur = [], []
    for t in toks:
        if t.kind == "eq":
            segs.append(cur)
            cur = []
        else:
            cur.append(t)
    segs.append(cur)
    return segs


def _sig(seg: list[_Tok]) -> list[_Tok]:
    return [t for t in seg if t.kind != "skip"]


def _decimals(tok: _Tok) -> int:
    text = tok.text.replace("{,}", "").replace(",", "")
    return len(text.split(".", 1)[1]) if "." in text else 0


def _close(actuals: list[Fraction], claimed: Fraction, claimed_seg: list[_Tok], *, percent: bool,
           divides: bool) -> bool:
    sig = _sig(claimed_seg)
    plain = len(sig) == 1 and sig[0].kind == "num" or (len(sig) == 2 and sig[0].kind == "num" and sig[1].kind == "pct")
    d = _decimals(sig[0]) if plain else None
    number = sig[0].value if plain else claimed
    for actual in actuals:
        candidates = [(actual, claimed)]
        if percent and plain:
            # "(75/100)*100 = 75%", "15/90 * 100% = 16.66...%", "$1 / 2 = 50 cents": the number, read as a percentage
            candidates += [(actual * 100, number), (actual, number), (actual / 100, number)]
        for a, c in candidates:
            if a == c:
                return True
            if d:
                # A decimal states its precision: 3.33 for 10/3 is rounding, 0.66 for 2/3 truncation; 3.4 is wrong.
                scaled = a * 10 ** d
                rounded = Fraction(int(abs(scaled) + Fraction(1, 2)) * (1 if scaled >= 0 else -1), 10 ** d)
                if c in (rounded, Fraction(int(scaled), 10 ** d)):
                    return True
            elif d == 0 and divides and c == (a.numerator // a.denominator) and a >= 0:
                return True  # "17/3 = 5 and 2/3", "13 / 6 = 2 full cycles": the whole part of a division
            elif not plain and abs(a - c) <= abs(c) * Fraction(1, 10 ** 9):
                return True
    return False


def _percent_context(text: str, run: list[_Tok]) -> bool:
    if any(t.kind == "pct" for t in run):
        return True
    after = text[run[-1].end:run[-1].end + 20]
    m = re.match(r"\s*(?:\.\.\.)?\s*(\\?%|[A-Za-z]+)", after)
    return bool(m and m.group(1).lstrip("\\") in _SCALE_WORDS)


def check_equations(text: str) -> list[EquationCheck]:
    """Every checkable arithmetic claim in ``text`` with whether it holds."""
    if not text:
        return []
    toks = _tokens(text)
    _classify_words(toks)
    checks: list[EquationCheck] = []
    for i, j in _runs(toks):
        run = toks[i:j]
        # Trim edge whitespace so the span and the boundary checks see the real first/last tokens.
        while run and run[-1].kind == "skip":
            run = run[:-1]
        if not any(t.kind == "eq" for t in run):
            continue
        segs = _split_segments(run)
        if len(segs) < 2:
            continue
        first_ok = _left_edge_complete(text, toks, i, run)
        last_ok = _right_edge_complete(text, toks, i + len(run), run)
        values = []
        for k, seg in enumerate(segs):
            complete = (k > 0 or first_ok) and (k < len(segs) - 1 or last_ok)
            values.append(_evaluate(seg) if complete and _sig(seg) else None)
        # In a chain with a calculation, "a = 3 + 4 = 7 = 8", plain sides are claims too (7 = 8).
        computed = any(v is not None and v[1] > 0 for v in values)
        percent = _percent_context(text, run)
        for k in range(len(segs) - 1):
            a, b = values[k], values[k + 1]
            if a is None or b is None:
                continue
            (ra, na), (rb, nb) = a, b
            va, vb = ra[0], rb[0]
            if na == 0 and nb == 0 and not computed:
                continue  # "12 = 36" alone: a restatement or a label, not a calculation
            left, right = segs[k], segs[k + 1]
            if nb == 0 or na > 0:
                claimed_seg, claimed, actuals, actual_seg = right, vb, ra, left
            else:
                claimed_seg, claimed, actuals, actual_seg = left, va, rb, right
            divides = any(t.kind == "op" and t.value == "/" or t.kind == "frac" for t in _sig(actual_seg))
            ok = _close(actuals, claimed, claimed_seg, percent=percent, divides=divides)
            if not ok and _running(left, right, va):
                continue
            if not ok and k == 0 and na == 0 and nb > 0:
                continue  # "Remaining 10 = 62,300/10": a leading plain number is usually a label
            actual = actuals[0]
            sl, sr = _sig(left), _sig(right)
            start, end = sl[0].start, sr[-1].end
            checks.append(EquationCheck(text[start:end], start, end, float(claimed), float(actual), ok))
    return checks


def arithmetic_errors(text: str) -> list[EquationCheck]:
    """Only the claims that are false."""
    return [c for c in check_equations(text) if not c.ok]


def _running(left: list[_Tok], right: list[_Tok], left_value: Fraction) -> bool:
    """"5 + 3 = 8 * 2 = 16": the right side starts from the left side's result and goes on computing."""
    sr = _sig(right)
    if len(sr) >= 3 and sr[0].kind == "num" and sr[1].kind == "op" and sr[0].value == left_value:
        return True
    return False


def _left_edge_complete(text: str, toks: list[_Tok], i: int, run: list[_Tok]) -> bool:
    first = run[0]
    if first.kind == "op" and first.value not in "-":
        return False  # "x + 3 = 5": the run starts mid-expression
    if first.kind in ("rp", "eq", "pct", "unit"):
        return False
    # What is just before the run, in the raw text?
    k = first.start
    before = text[:k].rstrip()
    if not before:
        return True
    c = before[-1]
    glued = len(before) == k
    if re.search(r"\d,?$", before) and first.kind == "num" and re.fullmatch(r"\d{3}", first.text):
        return False  # "18 000", "14, 400": a thousands group split by a space, not a new number
    if c in _TAINT_CHARS or c == "\\":
        return False
    if first.kind == "op" and first.value == "-" and (c.isalnum() or c in ")}]"):
        return False  # binary minus after a variable: "y - 3 = 2"
    if glued and c not in "($=:[{<\"'":
        return False  # "3x+2", "a2", "16,0000": the first token is glued to something we do not understand
    word = re.search(r"([A-Za-z]+)$", before)
    if word and word.group(1) in _TAINT_WORDS:
        return False  # "60 students x 2/3 = 40": the left side started before the run
    return True


def _right_edge_complete(text: str, toks: list[_Tok], j: int, run: list[_Tok]) -> bool:
    last = run[-1]
    if last.kind in ("op", "lp", "frac", "eq"):
        return False  # "= 5 + x": ends on an operator, the side goes on outside the run
    after = text[last.end:]
    if not after:
        return True
    c = after[0]
    if last.kind == "num" and re.match(r"[ ,]\s?\d{3}(?!\d)", after):
        return False  # "= 18 000 watts": the number goes on after a space used as a thousands separator
    if c in ".,;:":
        return not after[1:2].isdigit()  # "= 8." ends a sentence; "= 1,2" is a tuple or list
    if c.isalpha() or c in "_^!\\{([":
        return False  # glued letters ("3x"), a LaTeX command, a factorial, a subscript: the side goes on
    stripped = after.lstrip()
    return not (stripped and stripped[0] in _TAINT_CHARS)
