"""How far annotators agree, and how often the teacher is wrong: pure functions over reviews.

- :func:`cohen_kappa` (two raters) and :func:`fleiss_kappa` (any number, per-subject counts; subjects may have
  different numbers of ratings, with P_i averaged as in Fleiss 1971), checked against published worked examples;
- :func:`kappa_summary`: the verdict agreement of a dataset's multiply-reviewed samples (Cohen's kappa when exactly
  two annotators share them, else Fleiss'), with a percentile bootstrap CI over samples (numpy; resamples where
  kappa is undefined are left out, which ``scipy.stats.bootstrap`` cannot do);
- :func:`reference_agreement`: each annotator against the teacher's verdict and against the verifier (does the
  response's final answer match the reference, ``cft.grading``), with Wilson intervals and kappa;
- :func:`step_agreement`: how often two annotators put the first wrong step at the same place;
- :func:`disagreements`: samples whose reviews differ and that no lead has adjudicated yet;
- :func:`teacher_error`: the teacher's verdict error rate on reviewed samples, overall, per teacher and per source,
  with Wilson intervals (the paper's "at least 20% of critiques are wrong", measured on your own data).

Inputs are plain: ``(Sample, reviews)`` pairs as the store returns them (:func:`collect`).
May import: the cft core (grading) and cft.data.samples (cft.data may not import cft.evaluate, so the Wilson
interval is computed here too; both are tested against scipy's ``binomtest(...).proportion_ci("wilson")``).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from cft.data.samples import Sample, parse_verdict
from cft.intervals import wilson_interval  # noqa: F401  (re-exported: the one interval)

CATEGORIES = ("right", "wrong")
CONFIDENCE = 0.95


# -- kappa ---------------------------------------------------------------------------------------------------------
def cohen_kappa(a: Iterable, b: Iterable, categories: Iterable | None = None) -> float:
    """Cohen's kappa of two raters' labels of the same items; NaN when chance agreement is 1 (one label only)."""
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa: {len(a)} labels against {len(b)}")
    if not a:
        return float("nan")
    cats = list(categories) if categories is not None else sorted(set(a) | set(b))
    index = {c: i for i, c in enumerate(cats)}
    return _kappa_codes(np.array([index[x] for x in a]), np.array([index[y] for y in b]), len(cats))


def _kappa_codes(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Cohen's kappa of two integer-coded label arrays (0..k-1): the confusion table by bincount (fast enough to
    bootstrap thousands of samples a thousand times)."""
    table = np.bincount(a * k + b, minlength=k * k).reshape(k, k).astype(float)
    n = table.sum()
    po = np.trace(table) / n
    pe = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    return float("nan") if pe >= 1 else float((po - pe) / (1 - pe))


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa from an (subjects x categories) matrix of how many raters put each subject in each category.

    Subjects with fewer than two ratings are ignored; rows may have different totals (P_i is each subject's own
    agreement, p_j the share of all ratings in category j). NaN when chance agreement is 1."""
    m = np.asarray(counts, dtype=float)
    if m.ndim != 2:
        raise ValueError("fleiss_kappa: expected a (subjects x categories) matrix")
    n_i = m.sum(axis=1)
    m, n_i = m[n_i >= 2], n_i[n_i >= 2]
    if not len(m):
        return float("nan")
    p_i = ((m * m).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_bar = p_i.mean()
    p_j = m.sum(axis=0) / n_i.sum()
    pe = float((p_j * p_j).sum())
    return float("nan") if pe >= 1 else float((p_bar - pe) / (1 - pe))


def _bootstrap(statistic: Callable, data: tuple, *, n_resamples: int, seed: int) -> tuple[float, float] | None:
    """A percentile bootstrap CI, resampling subjects (numpy). Resamples where the statistic is undefined (every
    rating in one category: kappa is 0/0) are left out; None when most are, or with fewer than two subjects."""
    n = len(data[0])
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    values = np.array([statistic(*(d[idx] for d in data)) for idx in rng.integers(0, n, size=(n_resamples, n))])
    values = values[~np.isnan(values)]
    if len(values) < n_resamples / 2:
        return None
    alpha = (1 - CONFIDENCE) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


# -- what the functions read ---------------------------------------------------------------------------------------
@dataclass
class Item:
    """One sample with its current reviews (``{annotator: verdict}``) and adjudication (None if none)."""

    sample: Sample
    verdicts: dict[str, str]
    steps: dict[str, int | None] = field(default_factory=dict)
    adjudication: str | None = None
    adjudicator: str = ""

    @property
    def label(self) -> str | None:
        """The human label: the adjudication, else a strict majority of the reviews (None on a tie)."""
        if self.adjudication:
            return self.adjudication
        tally = Counter(self.verdicts.values()).most_common()
        if not tally or len(tally) > 1 and tally[0][1] == tally[1][1]:
            return None
        return tally[0][0]


def collect(samples: Iterable[Sample], reviews: Iterable[dict]) -> list[Item]:
    """``Item`` per sample that has at least one review or adjudication (reviews as the store returns them)."""
    by_sample: dict[int, list[dict]] = defaultdict(list)
    for r in reviews:
        by_sample[int(r["sample_id"])].append(r)
    items = []
    for s in samples:
        rows = by_sample.get(int(s.id), [])
        if not rows:
            continue
        item = Item(s, {r["annotator"]: r["verdict"] for r in rows if r["kind"] == "review"},
                    {r["annotator"]: r["first_wrong_step"] for r in rows if r["kind"] == "review"})
        adj = [r for r in rows if r["kind"] == "adjudication"]
        if adj:
            last = max(adj, key=lambda r: r["at"])
            item.adjudication, item.adjudicator = last["verdict"], last["annotator"]
        items.append(item)
    return items


def teacher_verdict(sample: Sample) -> str | None:
    """The teacher's verdict (its critique's conclusion, from the teacher's original critique); None if unknown."""
    text = sample.original_critique if sample.original_critique is not None else None
    verdict = parse_verdict(text) if text is not None else "unknown"
    return verdict if verdict in CATEGORIES else None


def verifier_verdict(sample: Sample) -> str | None:
    """``right`` when the response's final answer matches the reference answer (cft.grading), ``wrong`` when it
    does not, None without a reference answer."""
    gold = sample.reference_answer or sample.reference_solution
    if not gold or not str(gold).strip():
        return None
    return _verify(str(gold), sample.response or "")


@functools.lru_cache(maxsize=65536)
def _verify(gold: str, response: str) -> str:
    # Cached: the agreement panel is drawn again after reviews, and grading may need sympy (the worker pool).
    from cft.grading import answers_match, extract_answer

    pred = extract_answer(response, gold)
    return "right" if pred is not None and answers_match(gold, pred) else "wrong"


# -- agreement between annotators ----------------------------------------------------------------------------------
@dataclass
class Kappa:
    method: str  # "cohen" | "fleiss" | "none"
    value: float
    ci: tuple[float, float] | None
    samples: int  # samples with two or more reviews
    annotators: list[str]
    observed: float  # raw share of agreeing pairs

    def to_dict(self) -> dict:
        return {"method": self.method, "value": self.value, "ci": list(self.ci) if self.ci else None,
                "samples": self.samples, "annotators": self.annotators, "observed": self.observed}


def kappa_summary(items: list[Item], *, n_resamples: int = 999, seed: int = 0) -> Kappa:
    """Verdict agreement over samples with >= 2 reviews: Cohen's kappa when exactly two annotators reviewed them
    all, Fleiss' kappa otherwise; a bootstrap CI over samples."""
    multi = [it for it in items if len(it.verdicts) >= 2]
    names = sorted({a for it in multi for a in it.verdicts})
    if not multi:
        return Kappa("none", float("nan"), None, 0, names, float("nan"))
    counts = np.array([[sum(1 for v in it.verdicts.values() if v == c) for c in CATEGORIES] for it in multi])
    n_i = counts.sum(axis=1)
    observed = float((((counts * counts).sum(axis=1) - n_i) / (n_i * (n_i - 1))).mean())
    if len(names) == 2:
        a = np.array([CATEGORIES.index(it.verdicts[names[0]]) for it in multi])
        b = np.array([CATEGORIES.index(it.verdicts[names[1]]) for it in multi])
        value = _kappa_codes(a, b, len(CATEGORIES))
        ci = _bootstrap(lambda x, y: _kappa_codes(x, y, len(CATEGORIES)), (a, b), n_resamples=n_resamples,
                        seed=seed)
        return Kappa("cohen", value, ci, len(multi), names, observed)
    value = fleiss_kappa(counts)
    rows = np.arange(len(multi))
    ci = _bootstrap(lambda idx: fleiss_kappa(counts[idx.astype(int)]), (rows,), n_resamples=n_resamples, seed=seed)
    return Kappa("fleiss", value, ci, len(multi), names, observed)


def reference_agreement(items: list[Item], verifier: Callable[[Sample], str | None] = verifier_verdict) -> dict:
    """Per annotator: ``{"teacher": {...}, "verifier": {...}}`` with n, agree, rate, ci (Wilson) and kappa, over
    the samples they reviewed where that reference has a verdict."""
    ref_cache: dict[int, dict[str, str | None]] = {}
    pairs: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: {"teacher": [], "verifier": []})
    for it in items:
        refs = ref_cache.setdefault(int(it.sample.id), {"teacher": teacher_verdict(it.sample),
                                                        "verifier": verifier(it.sample) if it.verdicts else None})
        for who, verdict in it.verdicts.items():
            for name, ref in refs.items():
                if ref is not None:
                    pairs[who][name].append((verdict, ref))
    out: dict[str, dict] = {}
    for who in sorted(pairs):
        out[who] = {}
        for name, got in pairs[who].items():
            n = len(got)
            agree = sum(1 for v, r in got if v == r)
            out[who][name] = {"n": n, "agree": agree, "rate": agree / n if n else float("nan"),
                              "ci": wilson_interval(agree, n) if n else None,
                              "kappa": cohen_kappa([v for v, _ in got], [r for _, r in got], CATEGORIES) if n else
                              float("nan")}
    return out


def step_agreement(items: list[Item]) -> dict:
    """How often two annotators who both labelled a sample's first wrong step chose the same one (``0``: no
    mistake), over every such pair: ``{pairs, agree, rate, ci}`` (Wilson)."""
    pairs = agree = 0
    for it in items:
        labels = [step for step in it.steps.values() if step is not None]
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                pairs += 1
                agree += int(labels[i] == labels[j])
    return {"pairs": pairs, "agree": agree, "rate": agree / pairs if pairs else float("nan"),
            "ci": wilson_interval(agree, pairs) if pairs else None}


def disagreements(items: list[Item], reviews_needed: int = 2) -> list[Item]:
    """Samples whose reviews differ, that have all ``reviews_needed`` of them (so they are out of every queue, and
    listing them breaks nobody's blind review) and no adjudication yet: what a lead has to settle."""
    return [it for it in items if len(set(it.verdicts.values())) > 1 and not it.adjudication
            and len(it.verdicts) >= reviews_needed]


# -- the teacher's error rate --------------------------------------------------------------------------------------
def _rate(errors: int, n: int) -> dict:
    return {"n": n, "errors": errors, "rate": errors / n if n else float("nan"),
            "ci": wilson_interval(errors, n) if n else None}


def teacher_error(items: list[Item]) -> dict:
    """How often the teacher's verdict differs from the human label, over reviewed samples with both:
    ``{"overall": {n, errors, rate, ci}, "by_teacher": {...}, "by_source": {...}, "no_teacher_verdict": k,
    "no_label": k}``."""
    overall = [0, 0]
    by: dict[str, dict[str, list[int]]] = {"by_teacher": defaultdict(lambda: [0, 0]),
                                           "by_source": defaultdict(lambda: [0, 0])}
    missing_teacher = missing_label = 0
    for it in items:
        label, teacher = it.label, teacher_verdict(it.sample)
        if label is None:
            missing_label += 1
            continue
        if teacher is None:
            missing_teacher += 1
            continue
        wrong = int(teacher != label)
        for cell in (overall, by["by_teacher"][it.sample.teacher or "(unknown teacher)"],
                     by["by_source"][it.sample.source or "(no source)"]):
            cell[0] += wrong
            cell[1] += 1
    return {"overall": _rate(*overall),
            **{key: {name: _rate(*cell) for name, cell in sorted(cells.items())} for key, cells in by.items()},
            "no_teacher_verdict": missing_teacher, "no_label": missing_label}
