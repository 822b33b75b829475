"""Team annotation as the Data tab does it: who may change a dataset's settings, the first-wrong-step choices of a
response, blind review (what a reviewer may see before submitting), submitting a review from the editor, the
annotator's queue, and adjudication by a lead.

Rules:
- A dataset's settings (K, guidelines) are changed by its owner or an admin (``CFT_ADMINS``, cft.auth). With no
  login configured nobody is authenticated, so anyone may (one machine, one team that trusts itself). The first
  logged-in user to save settings that have no owner becomes their owner.
- Blind review: with K >= 2, a reviewer who has not submitted their own review of a sample sees the teacher's
  critique, not the sample's current one, and neither the other reviews nor the sample's status and verdict. After
  submitting, they see everything. Logged-in leads (owner, admins) always see everything: they adjudicate. Without
  a login nobody is known to be a lead, so everyone reviews blind.
- Submitting with K = 1 saves the sample as before (critique, verdict, flags, status ``reviewed``) and records the
  review, in one transaction. With K >= 2 it records the review only; the sample takes the consensus when K
  reviews agree (store), or the lead's adjudication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cft import auth
from cft.data.flags import compute_flags
from cft.data.samples import Sample, parse_verdict
from cft.errors import UserError

NOT_LABELLED = "unlabelled"
NO_MISTAKE = "0"
_PARAGRAPHS = re.compile(r"\n\s*\n")


# -- who may do what -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Viewer:
    """Who is looking: ``name`` (the login, else the typed name), ``logged_in`` (authenticated by gr auth)."""

    name: str
    logged_in: bool = False


def is_lead(settings: dict, viewer: Viewer, environ=None, *, claim: bool = True) -> bool:
    """The dataset's owner or an admin; anyone when nobody logs in (no login configured). ``claim``: a logged-in
    user counts as the owner of settings that have none yet (they become it by saving them)."""
    if not viewer.logged_in:
        return not auth.load_users(environ)
    owner = settings.get("owner") or ""
    return viewer.name in auth.admins(environ) or owner == viewer.name or (claim and not owner)


def save_settings(store, dataset: str, viewer: Viewer, *, expected_revision, reviews_needed=None,
                  guidelines: str | None = None, environ=None) -> dict:
    if not dataset:
        raise UserError("pick a dataset first")
    current = store.settings(dataset)
    if not is_lead(current, viewer, environ):
        raise UserError(f"only the owner of dataset {dataset!r} ({current['owner']}) or an admin may change its "
                        f"annotation settings")
    owner = viewer.name if viewer.logged_in and not current["owner"] else None
    return store.save_settings(dataset, expected_revision=int(expected_revision or 0), by=viewer.name,
                               reviews_needed=reviews_needed, guidelines=guidelines, owner=owner)


# -- first-wrong-step labels ---------------------------------------------------------------------------------------
def step_spans(response: str | None) -> list[tuple[int, int]]:
    """Character spans of the response's steps in ``response``: its paragraphs, or its lines when it is one
    paragraph. The one definition of a step: the editor's labels, the step-level critic benchmark
    (cft.evaluate.steps) and CHAMP's annotations are all numbered by it, from 1."""
    text = response or ""

    def spans(pattern: str) -> list[tuple[int, int]]:
        out, pos = [], 0
        for sep in [*re.finditer(pattern, text), None]:
            end = sep.start() if sep else len(text)
            chunk = text[pos:end]
            if chunk.strip():
                lead = len(chunk) - len(chunk.lstrip())
                out.append((pos + lead, pos + len(chunk.rstrip())))
            pos = sep.end() if sep else len(text)
        return out

    found = spans(_PARAGRAPHS.pattern)
    return spans(r"\n") if len(found) == 1 else found


def steps(response: str | None) -> list[str]:
    """The response's steps (see :func:`step_spans`), stripped."""
    return [(response or "")[a:b] for a, b in step_spans(response)]


def step_at(response: str | None, offset: int) -> int | None:
    """The 1-based number of the step holding character ``offset`` (the next step when it falls between two)."""
    for number, (_, end) in enumerate(step_spans(response), start=1):
        if offset < end:
            return number
    return None


def step_choices(response: str | None) -> list[tuple[str, str]]:
    """(label, value) pairs for the first-wrong-step dropdown: not labelled, no mistake, then each step."""
    out = [("not labelled", NOT_LABELLED), ("no mistake", NO_MISTAKE)]
    for i, step in enumerate(steps(response), start=1):
        short = " ".join(step.split())
        out.append((f"step {i}: {short[:50]}{'…' if len(short) > 50 else ''}", str(i)))
    return out


def parse_step(value, response: str | None = None) -> int | None:
    if value in (None, "", NOT_LABELLED):
        return None
    try:
        step = int(str(value).strip())
    except ValueError:
        raise UserError(f"first wrong step must be a step number, 'no mistake' or empty, got {value!r}") from None
    n = len(steps(response)) if response is not None else None
    if step < 0 or (n is not None and step > n):
        raise UserError(f"first wrong step {step} is not a step of this response (it has {n})")
    return step


# -- blind review --------------------------------------------------------------------------------------------------
def blind(store, sample: Sample, viewer: Viewer, settings: dict | None = None, environ=None) -> bool:
    """Whether ``viewer`` must not yet see the others' verdicts or the sample's consensus."""
    settings = settings or store.settings(sample.dataset)
    if settings["reviews_needed"] < 2 or (viewer.logged_in and is_lead(settings, viewer, environ, claim=False)):
        return False
    return not any(r["annotator"] == viewer.name for r in store.reviews(sample.id, "review"))


def shown_critique(sample: Sample, is_blind: bool) -> str:
    """What the editor starts from: the teacher's critique while blind, else the sample's."""
    if is_blind and sample.original_critique is not None:
        return sample.original_critique
    return sample.critique or ""


def my_review(store, sample_id: int, name: str, kind: str = "review") -> dict | None:
    return next((r for r in store.reviews(sample_id, kind) if r["annotator"] == name), None)


# -- submitting ----------------------------------------------------------------------------------------------------
def submit(store, sample_id, critique: str, *, viewer: Viewer, expected_revision, expected_review_revision,
           step=None, environ=None) -> dict:
    """Submit from the editor (see the module's rules). Returns the store's review dict with ``sample``; with K = 1
    and no verdict in the critique, the sample is saved without a review (``review`` None)."""
    if sample_id in (None, ""):
        raise UserError("no sample is open: select a row in the table first")
    sample = store.get(int(sample_id))
    settings = store.settings(sample.dataset)
    verdict = parse_verdict(critique)
    label = parse_step(step, sample.response)
    draft = store.get(sample.id)
    draft.critique = critique or ""
    compute_flags(draft)
    changes = {"critique": draft.critique, "verdict": draft.verdict, "flags": draft.flags, "status": "reviewed"}
    if settings["reviews_needed"] < 2:
        if verdict not in ("right", "wrong"):
            saved = store.update(sample.id, changes, expected_revision=int(expected_revision), annotator=viewer.name)
            return {"review": None, "sample": saved}
        out = store.submit_review(sample.id, annotator=viewer.name, verdict=verdict, first_wrong_step=label,
                                  critique=_corrected(sample, critique), sample_changes=changes,
                                  expected_revision=int(expected_review_revision or 0),
                                  expected_sample_revision=int(expected_revision))
        return {"review": out, "sample": out["sample"]}
    if verdict not in ("right", "wrong"):
        raise UserError("judge the response first: pick right or wrong (the critique's conclusion line)")
    out = store.submit_review(sample.id, annotator=viewer.name, verdict=verdict, first_wrong_step=label,
                              critique=_corrected(sample, critique),
                              expected_revision=int(expected_review_revision or 0))
    return {"review": out, "sample": out["sample"]}


def _corrected(sample: Sample, critique: str) -> str | None:
    """The critique as a correction: None when it is the teacher's own."""
    teacher = sample.original_critique if sample.original_critique is not None else sample.critique
    return None if (critique or "").strip() == (teacher or "").strip() else critique


def adjudicate(store, sample_id, critique: str, *, viewer: Viewer, expected_revision, step=None,
               environ=None) -> dict:
    """A lead settles a sample: the adjudication is recorded and the sample saved with its verdict, as reviewed."""
    if sample_id in (None, ""):
        raise UserError("no sample is open: open one from the disagreement queue first")
    sample = store.get(int(sample_id))
    if not is_lead(store.settings(sample.dataset), viewer, environ):
        raise UserError(f"only the owner of dataset {sample.dataset!r} or an admin may adjudicate")
    verdict = parse_verdict(critique)
    if verdict not in ("right", "wrong"):
        raise UserError("an adjudication needs a verdict: pick right or wrong")
    mine = my_review(store, sample.id, viewer.name, "adjudication")
    draft = store.get(sample.id)
    draft.critique = critique or ""
    compute_flags(draft)
    out = store.submit_review(sample.id, annotator=viewer.name, verdict=verdict, kind="adjudication",
                              critique=_corrected(sample, critique), first_wrong_step=parse_step(step, sample.response),
                              expected_revision=mine["revision"] if mine else 0,
                              sample_changes={"critique": draft.critique, "verdict": draft.verdict,
                                              "flags": draft.flags, "status": "reviewed"},
                              expected_sample_revision=int(expected_revision))
    return {"review": out, "sample": out["sample"]}


def next_in_queue(store, dataset: str, name: str, after=None) -> int | None:
    """The next sample ``name`` should review (flagged first), after ``after`` when it is still in the queue."""
    if not dataset:
        raise UserError("pick a dataset first")
    ids = store.review_queue(dataset, name, limit=1, after=int(after) if after not in (None, "") else None)
    if not ids and after not in (None, ""):
        ids = store.review_queue(dataset, name, limit=1)  # wrap around to the first
    return ids[0] if ids else None


def items(store, dataset: str):
    """Agreement items (cft.data.agreement.Item) of every reviewed sample of the dataset."""
    from cft.data import agreement

    rows = store.dataset_reviews(dataset)
    ids = list(dict.fromkeys(int(r["sample_id"]) for r in rows))
    samples = []
    for i in range(0, len(ids), 500):
        samples += store.fetch(ids[i:i + 500])
    return agreement.collect(samples, rows)
