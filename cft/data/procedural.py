"""Procedural math problems generated offline, with train / validation / test splits that share no problem.

Why: the embedded 135M model scores near 0 on GSM8K, so a CPU-sized CFT-vs-SFT comparison on GSM8K cannot tell
the two apart. These families give it a task where it has signal, and give large presets more questions than
GSM8K's 7,473 training questions, without touching any benchmark's test items.

Families:
- ``arith``: one-step arithmetic on small numbers (sums of numbers up to 25, differences of numbers up to 30,
  products of numbers up to 12) in a few phrasings. The embedded model answers about one in five correctly.
- ``wordprob``: two- and three-step word problems in GSM8K's style, with worked solutions. Their space is
  large (names, objects, numbers), so a preset can draw tens of thousands.

Every problem has a *canonical form* (family, template, operands): the phrasing is not part of it. A problem's
split is decided by a hash of its canonical form, so no arithmetic fact or word problem is in two splits, however
it is phrased, and the split of a problem never depends on how many were drawn. Worked solutions end with
``The answer is \\boxed{N}.``, the form the grader reads.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Callable, Iterator

SPLITS = ("train", "val", "test")
# Share of each family's canonical space per split, in tenths. ``arith`` is small (1,181 problems) and is
# mostly a benchmark, so its test split is large enough for a 95% interval of about +-3.5 points.
_SHARES = {"arith": {"train": 5, "val": 1, "test": 4}, "wordprob": {"train": 8, "val": 1, "test": 1}}


@dataclass(frozen=True)
class Generated:
    canonical: str
    question: str
    solution: str
    answer: str


def split_of(canonical: str) -> str:
    """The split of a problem, from its canonical form ("<family>|...") alone."""
    shares = _SHARES[canonical.split("|", 1)[0]]
    bucket = int(hashlib.sha256(canonical.encode()).hexdigest()[:8], 16) % sum(shares.values())
    for split, share in shares.items():
        if bucket < share:
            return split
        bucket -= share
    raise AssertionError("unreachable: the shares cover every bucket")


def _choice(canonical: str, options: list[str]) -> str:
    """A phrasing picked by the canonical form alone: the same problem always reads the same."""
    return options[int(hashlib.sha256(("phrase:" + canonical).encode()).hexdigest()[:8], 16) % len(options)]


def _boxed(value: int) -> str:
    return f"The answer is \\boxed{{{value}}}."


# --------------------------------------------------------------------------------------------- arith

_ARITH_PHRASES = {
    "+": ["What is {a} + {b}?", "Compute {a} + {b}.", "What is the sum of {a} and {b}?"],
    "-": ["What is {a} - {b}?", "Compute {a} - {b}.", "What is {a} minus {b}?"],
    "*": ["What is {a} times {b}?", "Compute {a} \\times {b}.", "What is the product of {a} and {b}?"],
}


def _arith_space() -> Iterator[tuple[str, int, int]]:
    for a in range(1, 26):
        for b in range(1, 26):
            yield "+", a, b
    for a in range(2, 31):
        for b in range(1, a):
            yield "-", a, b
    for a in range(2, 13):
        for b in range(2, 13):
            yield "*", a, b


def _arith_all() -> list[Generated]:
    out = []
    for op, a, b in _arith_space():
        canonical = f"arith|{op}|{a}|{b}"
        value = {"+": a + b, "-": a - b, "*": a * b}[op]
        shown = "\\times" if op == "*" else op
        question = _choice(canonical, _ARITH_PHRASES[op]).format(a=a, b=b)
        out.append(Generated(canonical, question, f"{a} {shown} {b} = {value}.\n{_boxed(value)}", str(value)))
    return out


# --------------------------------------------------------------------------------------------- word problems

_NAMES = ["Ava", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kemi", "Luca",
          "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Vera", "Wen", "Yusuf"]
_THINGS = ["apples", "pencils", "stickers", "marbles", "cookies", "stamps", "shells", "cards", "beads", "eggs"]
_CONTAINERS = ["boxes", "bags", "jars", "packs", "baskets", "trays"]


# Each template returns (question, the numbers that define the problem, worked steps, answer).
Template = Callable[[random.Random, str, str], tuple[str, tuple, str, int]]


def _wp_buy_give(r: random.Random, name: str, thing: str) -> tuple[str, tuple, str, int]:
    box = r.choice(_CONTAINERS)
    n, k = r.randint(2, 9), r.randint(3, 12)
    total = n * k
    g = r.randint(1, total - 1)
    q = (f"{name} buys {n} {box} of {thing} with {k} {thing} in each. {name} gives {g} {thing} to a friend. "
         f"How many {thing} does {name} have left?")
    steps = f"{name} buys {n} \\times {k} = {total} {thing}.\nAfter giving away {g}, {total} - {g} = {total - g} are left."
    return q, (n, k, g), steps, total - g


def _wp_earn_spend(r: random.Random, name: str, thing: str) -> tuple[str, tuple, str, int]:
    hours, rate = r.randint(2, 12), r.randint(5, 25)
    earned = hours * rate
    spent = r.randint(1, earned - 1)
    q = (f"{name} works {hours} hours and earns ${rate} per hour, then spends ${spent} on {thing}. "
         f"How many dollars does {name} have left?")
    steps = (f"{name} earns {hours} \\times {rate} = {earned} dollars.\nAfter spending {spent}, "
             f"{earned} - {spent} = {earned - spent} dollars are left.")
    return q, (hours, rate, spent), steps, earned - spent


def _wp_share(r: random.Random, name: str, thing: str) -> tuple[str, tuple, str, int]:
    friends, each = r.randint(2, 8), r.randint(2, 12)
    extra = r.randint(1, 30)
    total = friends * each + extra
    q = (f"{name} has {total} {thing}. {name} keeps {extra} and shares the rest equally among {friends} friends. "
         f"How many {thing} does each friend get?")
    steps = f"{name} shares {total} - {extra} = {total - extra} {thing}.\nEach friend gets {total - extra} / {friends} = {each}."
    return q, (total, extra, friends), steps, each


def _wp_three_step(r: random.Random, name: str, thing: str) -> tuple[str, tuple, str, int]:
    start, packs, per = r.randint(5, 40), r.randint(2, 6), r.randint(2, 10)
    gained = packs * per
    lost = r.randint(1, start + gained - 1)
    q = (f"{name} has {start} {thing}. {name} buys {packs} packs with {per} {thing} in each pack, then loses "
         f"{lost} {thing}. How many {thing} does {name} have now?")
    steps = (f"The packs hold {packs} \\times {per} = {gained} {thing}.\n{name} then has {start} + {gained} = "
             f"{start + gained}.\nAfter losing {lost}, {start + gained} - {lost} = {start + gained - lost}.")
    return q, (start, packs, per, lost), steps, start + gained - lost


_WORD_TEMPLATES: dict[str, Template] = {
    "buy_give": _wp_buy_give, "earn_spend": _wp_earn_spend, "share": _wp_share, "three_step": _wp_three_step,
}


def _wordprob_one(r: random.Random) -> Generated:
    template = r.choice(sorted(_WORD_TEMPLATES))
    name, thing = r.choice(_NAMES), r.choice(_THINGS)
    question, numbers, steps, value = _WORD_TEMPLATES[template](r, name, thing)
    # The name is phrasing; the template, the object and the numbers are the problem.
    canonical = f"wordprob|{template}|{thing}|" + "|".join(map(str, numbers))
    return Generated(canonical, question, f"{steps}\n{_boxed(value)}", str(value))


# --------------------------------------------------------------------------------------------- public

FAMILIES = ("arith", "wordprob")


def generate(family: str, split: str, n: int | None = None, seed: int = 0) -> list[Generated]:
    """Problems of ``family`` in ``split``: all of them for ``arith`` (``n`` caps), ``n`` for ``wordprob``.

    Deterministic for a given (family, split, n, seed). ``wordprob`` draws until it has ``n`` distinct problems
    of the split, so two calls with different ``n`` agree on their common prefix.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown procedural family {family!r}: expected one of {', '.join(FAMILIES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if family == "arith":
        items = [g for g in _arith_all() if split_of(g.canonical) == split]
        if n is not None and n < len(items):
            items = [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), n))]
        return items
    if n is None:
        raise ValueError("wordprob is unbounded: pass n, the number of problems")
    r = random.Random(f"wordprob:{seed}")
    seen: set[str] = set()
    out: list[Generated] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise RuntimeError(f"wordprob: could not draw {n} distinct {split} problems")
        g = _wordprob_one(r)
        if g.canonical in seen or split_of(g.canonical) != split:
            continue
        seen.add(g.canonical)
        out.append(g)
    return out
