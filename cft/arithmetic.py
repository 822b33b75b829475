"""Find arithmetic claims in a solution ("12 * 7 = 88") and check them exactly.

Used to flag critiques that call a solution right although it contains a false calculation, and by the
offline verifier critic. The checker must not cry wolf on correct text, so it is conservative:

- a claim is a run of numbers, operators, parentheses, ``\\frac{}{}`` and ``=`` signs; anything else ends it;
- a side whose boundary touches a variable or an operator outside the run ("x + 3 = 5") is incomplete and
  is not checked; pairs where neither side has an operator ("12 = 36") are not claims of a calculation;
- a running computation "5 + 3 = 8 * 2 = 16" (the next side starts from the previous result) is read as
  the writer meant it, not as 8 = 16;
- a claimed decimal is compared at its own precision (10/3 = 3.33 is fine, so is truncation to 3.33).

Each side is read and evaluated exactly by :mod:`cft.expression` (``fractions.Fraction``, a small
recursive-descent parser over our own tokens: no ``eval``; powers are bounded so "2^{2^{100}}" cannot stall it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from cft.expression import Tok, classify_words, evaluate, significant, tokenize

# What, just outside a run, means the run's edge side is part of a bigger expression.
_TAINT_CHARS = set("+-*/^×÷·−–_!")
# Words that, just before a run, are an operator in prose: "60 students x 2/3", "10% of 150", "1 and 1/4".
_TAINT_WORDS = {"x", "X", "of", "times", "by", "plus", "minus", "over", "per", "and", "into"}
# Words right after the claimed number that change its scale: "$1 / 2 = 50 cents", "= 30 percent".
_SCALE_WORDS = {"cents", "cent", "percent", "%"}


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


def _runs(toks: list[Tok]) -> list[tuple[int, int]]:
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


def _split_segments(toks: list[Tok]) -> list[list[Tok]]:
    segs, cur = [], []
    for t in toks:
        if t.kind == "eq":
            segs.append(cur)
            cur = []
        else:
            cur.append(t)
    segs.append(cur)
    return segs


def _decimals(tok: Tok) -> int:
    text = tok.text.replace("{,}", "").replace(",", "")
    return len(text.split(".", 1)[1]) if "." in text else 0


def _close(actuals: list[Fraction], claimed: Fraction, claimed_seg: list[Tok], *, percent: bool,
           divides: bool) -> bool:
    sig = significant(claimed_seg)
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


def _percent_context(text: str, run: list[Tok]) -> bool:
    if any(t.kind == "pct" for t in run):
        return True
    after = text[run[-1].end:run[-1].end + 20]
    m = re.match(r"\s*(?:\.\.\.)?\s*(\\?%|[A-Za-z]+)", after)
    return bool(m and m.group(1).lstrip("\\") in _SCALE_WORDS)


def check_equations(text: str) -> list[EquationCheck]:
    """Every checkable arithmetic claim in ``text`` with whether it holds."""
    if not text:
        return []
    toks = tokenize(text)
    classify_words(toks)
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
            values.append(evaluate(seg) if complete and significant(seg) else None)
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
            divides = any(t.kind == "op" and t.value == "/" or t.kind == "frac" for t in significant(actual_seg))
            ok = _close(actuals, claimed, claimed_seg, percent=percent, divides=divides)
            if not ok and _running(left, right, va):
                continue
            if not ok and k == 0 and na == 0 and nb > 0:
                continue  # "Remaining 10 = 62,300/10": a leading plain number is usually a label
            actual = actuals[0]
            sl, sr = significant(left), significant(right)
            start, end = sl[0].start, sr[-1].end
            checks.append(EquationCheck(text[start:end], start, end, float(claimed), float(actual), ok))
    return checks


def arithmetic_errors(text: str) -> list[EquationCheck]:
    """Only the claims that are false."""
    return [c for c in check_equations(text) if not c.ok]


def _running(left: list[Tok], right: list[Tok], left_value: Fraction) -> bool:
    """"5 + 3 = 8 * 2 = 16": the right side starts from the left side's result and goes on computing."""
    sr = significant(right)
    if len(sr) >= 3 and sr[0].kind == "num" and sr[1].kind == "op" and sr[0].value == left_value:
        return True
    return False


def _left_edge_complete(text: str, toks: list[Tok], i: int, run: list[Tok]) -> bool:
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


def _right_edge_complete(text: str, toks: list[Tok], j: int, run: list[Tok]) -> bool:
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
