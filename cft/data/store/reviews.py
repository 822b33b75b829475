"""Reviews as records of their own, and each dataset's annotation settings (reviews needed, guidelines).

A review is one annotator's judgment of one sample: a verdict on the response (right/wrong), an optional corrected
critique, an optional first-wrong-step label (``0``: no mistake; ``k``: step k; ``None``: not labelled). It is kept
apart from the sample's own columns so that K annotators can judge the same sample independently (blind), and so
that agreement can be measured between them. Tables (schema v7, both backends):

- ``reviews``: the current review of each (sample, kind, annotator); ``kind`` is ``review`` or ``adjudication`` (a
  lead's final word on a disputed sample). ``revision`` counts that annotator's submissions of it.
- ``review_history``: append-only, one row per submission, so a changed mind is never lost.
- ``dataset_settings``: per dataset, ``reviews_needed`` (K), the ``guidelines`` (Markdown), who owns them and a
  ``revision`` for the compare-and-set save.

Every write is one :meth:`Db.write` transaction. A submission is a compare-and-set on the annotator's own review
revision (two tabs of the same annotator cannot silently overwrite each other), and, when it carries changes to the
sample (K = 1, an adjudication, or the K-th agreeing review), on the sample's revision too, in the same transaction.
"""

from __future__ import annotations

import time

from cft.data.samples import Sample, set_verdict, with_parsed_verdict
from cft.data.store.queries import VISIBLE, counts, get, visible_parts
from cft.data.store.writes import update
from cft.errors import UserError

KINDS = ("review", "adjudication")
REVIEW_VERDICTS = ("right", "wrong")
NO_MISTAKE = 0  # first_wrong_step of a response without a wrong step
MAX_REVIEWS_NEEDED = 20
MAX_GUIDELINES_CHARS = 50_000
REVIEW_COLUMNS = ("sample_id", "annotator", "kind", "dataset", "verdict", "critique", "first_wrong_step",
                  "revision", "at")

DDL = """
CREATE TABLE IF NOT EXISTS dataset_settings (
    dataset        TEXT PRIMARY KEY,
    reviews_needed INTEGER NOT NULL DEFAULT 1,
    guidelines     TEXT NOT NULL DEFAULT '',
    owner          TEXT NOT NULL DEFAULT '',
    revision       INTEGER NOT NULL DEFAULT 0,
    updated_at     {real} NOT NULL,
    updated_by     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS reviews (
    sample_id        {bigint} NOT NULL,
    kind             TEXT NOT NULL,
    annotator        TEXT NOT NULL,
    dataset          TEXT NOT NULL,
    verdict          TEXT NOT NULL,
    critique         TEXT,
    first_wrong_step INTEGER,
    revision         INTEGER NOT NULL,
    at               {real} NOT NULL,
    PRIMARY KEY (sample_id, kind, annotator)
);
CREATE INDEX IF NOT EXISTS reviews_dataset ON reviews(dataset, kind, annotator);
CREATE TABLE IF NOT EXISTS review_history (
    id               {id_pk},
    sample_id        {bigint} NOT NULL,
    kind             TEXT NOT NULL,
    annotator        TEXT NOT NULL,
    revision         INTEGER NOT NULL,
    verdict          TEXT NOT NULL,
    critique         TEXT,
    first_wrong_step INTEGER,
    at               {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS review_history_sample ON review_history(sample_id, id)
"""


def ddl(types: dict[str, str]) -> list[str]:
    return [s.strip() for s in DDL.format(**types).split(";") if s.strip()]


class ReviewConflict(UserError):
    """The annotator's review (or the dataset's settings) changed since it was loaded; nothing was written."""


# -- settings ------------------------------------------------------------------------------------------------------
def _dataset_exists(db, dataset: str) -> None:
    if db.scalar("SELECT state FROM datasets WHERE name = ?", (dataset,)) != "ready":
        raise UserError(f"no dataset named {dataset!r}")


def settings(db, dataset: str) -> dict:
    """The dataset's annotation settings (K = 1, no guidelines, no owner and revision 0 until first saved)."""
    row = db.one("SELECT reviews_needed, guidelines, owner, revision, updated_at, updated_by FROM dataset_settings "
                 "WHERE dataset = ?", (dataset,))
    if row is None:
        return {"dataset": dataset, "reviews_needed": 1, "guidelines": "", "owner": "", "revision": 0,
                "updated_at": None, "updated_by": ""}
    k, text, owner, revision, at, by = row
    return {"dataset": dataset, "reviews_needed": int(k), "guidelines": text, "owner": owner,
            "revision": int(revision), "updated_at": at, "updated_by": by}


def check_reviews_needed(value) -> int:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number.is_integer():
        raise UserError(f"reviews needed per sample must be a whole number, got {value!r}")
    k = int(number)
    if not 1 <= k <= MAX_REVIEWS_NEEDED:
        raise UserError(f"reviews needed per sample must be between 1 and {MAX_REVIEWS_NEEDED}, got {value!r}")
    return k


def save_settings(db, dataset: str, *, expected_revision: int, by: str, reviews_needed=None,
                  guidelines: str | None = None, owner: str | None = None) -> dict:
    """Compare-and-set save of the settings; fields left None keep their value. Returns the settings as saved."""
    with db.write():
        _dataset_exists(db, dataset)
        current = settings(db, dataset)
        if current["revision"] != int(expected_revision):
            raise ReviewConflict(
                f"the settings of dataset {dataset!r} were changed by {current['updated_by'] or 'someone'} "
                f"(revision {current['revision']}, you loaded {int(expected_revision)}). Nothing was saved; reload "
                f"them and apply your change again.")
        k = current["reviews_needed"] if reviews_needed is None else check_reviews_needed(reviews_needed)
        text = current["guidelines"] if guidelines is None else str(guidelines)
        if len(text) > MAX_GUIDELINES_CHARS:
            raise UserError(f"the guidelines are {len(text):,} characters long; keep them under "
                            f"{MAX_GUIDELINES_CHARS:,} (link to a longer document instead)")
        who = current["owner"] if owner is None else owner
        now = time.time()
        db.execute("INSERT INTO dataset_settings(dataset, reviews_needed, guidelines, owner, revision, updated_at, "
                   "updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset) DO UPDATE SET "
                   "reviews_needed = excluded.reviews_needed, guidelines = excluded.guidelines, "
                   "owner = excluded.owner, revision = excluded.revision, updated_at = excluded.updated_at, "
                   "updated_by = excluded.updated_by", (dataset, k, text, who, current["revision"] + 1, now, by))
        return settings(db, dataset)


# -- reviews -------------------------------------------------------------------------------------------------------
def _row(r: tuple) -> dict:
    return dict(zip(REVIEW_COLUMNS, r))


def reviews(db, sample_id: int, kind: str | None = None) -> list[dict]:
    """The current reviews of a sample (oldest submission first)."""
    sql = f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews WHERE sample_id = ?"
    params: list = [int(sample_id)]
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    return [_row(r) for r in db.all(sql + " ORDER BY at, annotator", params)]


def history(db, sample_id: int) -> list[dict]:
    """Every submission of every review of the sample, oldest first."""
    cols = ("sample_id", "kind", "annotator", "revision", "verdict", "critique", "first_wrong_step", "at")
    return [dict(zip(cols, r)) for r in db.all(
        f"SELECT {', '.join(cols)} FROM review_history WHERE sample_id = ? ORDER BY id", (int(sample_id),))]


def check_step(step) -> int | None:
    if step is None or step == "":
        return None
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise UserError(f"first wrong step must be a step number (1, 2, ...), 0 for no mistake, or empty; got {step!r}")
    return step


def submit(db, sample_id: int, *, annotator: str, verdict: str, critique: str | None = None,
           first_wrong_step: int | None = None, expected_revision: int, kind: str = "review",
           sample_changes: dict | None = None, expected_sample_revision: int | None = None) -> dict:
    """Record ``annotator``'s review of a sample (compare-and-set on their own review's revision: 0 for a first one).

    ``sample_changes`` are saved to the sample in the same transaction (compare-and-set on
    ``expected_sample_revision``): the one-review path and an adjudication. A review that completes K agreeing
    reviews writes the consensus into the sample itself. Returns the review as saved, with ``sample`` (the sample
    after the write).
    """
    if kind not in KINDS:
        raise UserError(f"review kind must be one of {KINDS}, got {kind!r}")
    if verdict not in REVIEW_VERDICTS:
        raise UserError(f"a review's verdict must be right or wrong, got {verdict!r}")
    annotator = (annotator or "").strip()
    if not annotator:
        raise UserError("a review needs the annotator's name")
    step = check_step(first_wrong_step)
    if step is not None and step > 0 and verdict == "right":
        raise UserError(f"a response judged right has no wrong step (got step {step}): choose 'no mistake' or "
                        f"judge it wrong")
    critique = critique if critique not in ("",) else None
    with db.write():
        sample = get(db, int(sample_id), lock=True)
        row = db.one("SELECT revision FROM reviews WHERE sample_id = ? AND kind = ? AND annotator = ?",
                     (sample.id, kind, annotator))
        current = int(row[0]) if row else 0
        if current != int(expected_revision):
            raise ReviewConflict(
                f"your {kind} of sample {sample.id} was submitted again elsewhere (it is at revision {current}, this "
                f"page loaded {int(expected_revision)}). Nothing was saved; reload the sample.")
        now = time.time()
        revision = current + 1
        db.execute("INSERT INTO reviews(sample_id, kind, annotator, dataset, verdict, critique, first_wrong_step, "
                   "revision, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sample_id, kind, annotator) DO "
                   "UPDATE SET verdict = excluded.verdict, critique = excluded.critique, "
                   "first_wrong_step = excluded.first_wrong_step, revision = excluded.revision, at = excluded.at",
                   (sample.id, kind, annotator, sample.dataset, verdict, critique, step, revision, now))
        db.execute("INSERT INTO review_history(sample_id, kind, annotator, revision, verdict, critique, "
                   "first_wrong_step, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (sample.id, kind, annotator, revision, verdict, critique, step, now))
        saved = sample
        if sample_changes:
            saved = update(db, sample.id, sample_changes, annotator=annotator,
                           expected_revision=sample.revision if expected_sample_revision is None
                           else int(expected_sample_revision))
        elif kind == "review":
            consensus = _consensus(db, sample)
            if consensus:
                saved = update(db, sample.id, consensus, expected_revision=sample.revision, annotator=annotator)
        out = _row((sample.id, annotator, kind, sample.dataset, verdict, critique, step, revision, now))
        out["sample"] = saved
        return out


def _consensus(db, sample) -> dict | None:
    """The sample's new content when this review makes K reviews that all agree (K >= 2), else None.

    The critique is the latest agreeing corrected one, else the current critique with its conclusion set."""
    k = settings(db, sample.dataset)["reviews_needed"]
    if k < 2:
        return None
    done = [r for r in reviews(db, sample.id, "review")]
    if len(done) < k or len({r["verdict"] for r in done}) != 1:
        return None
    verdict = done[0]["verdict"]
    corrected = [r["critique"] for r in done if r["critique"]]
    draft = Sample(**{**sample.to_dict(), "flags": dict(sample.flags)})
    draft.critique = corrected[-1] if corrected else set_verdict(sample.critique or "", verdict)
    with_parsed_verdict(draft)  # the verdict and the no_conclusion flag follow the critique, as on any save
    return {"critique": draft.critique, "verdict": draft.verdict, "flags": draft.flags, "status": "reviewed"}


# -- queue and progress --------------------------------------------------------------------------------------------
QUEUE_STATUSES = ("pending", "draft", "reviewed")  # not uncritiqued (no critique yet), not discarded


def queue(db, dataset: str, annotator: str, *, limit: int = 50, after: int | None = None) -> list[int]:
    """Ids of the samples ``annotator`` has not reviewed and that still need reviews (fewer than K, not adjudicated),
    flagged first, then by id.
    ``after``: continue after this sample (in the same order).

    Read flagged then unflagged, each by id on the ``(part, flagged, id)`` index, so a click costs a walk to the
    first open sample, not a sort of the dataset."""
    k = settings(db, dataset)["reviews_needed"]
    parts = visible_parts(db, dataset)
    if not parts or limit <= 0:
        return []
    start = None
    if after is not None:
        row = db.one("SELECT flagged, id FROM samples WHERE id = ?", (int(after),))
        start = (int(row[0]), int(row[1])) if row is not None else None
    found: list[int] = []
    for flagged in (1, 0):
        if start is not None and flagged > start[0]:
            continue  # that group comes before the sample we continue from
        where = [f"s.part IN ({','.join('?' * len(parts))})", "s.flagged = ?",
                 f"s.status IN ({','.join('?' * len(QUEUE_STATUSES))})",
                 "(SELECT COUNT(*) FROM reviews r WHERE r.sample_id = s.id AND r.kind = 'review') < ?",
                 "NOT EXISTS (SELECT 1 FROM reviews m WHERE m.sample_id = s.id AND m.kind = 'review' "
                 "AND m.annotator = ?)",
                 "NOT EXISTS (SELECT 1 FROM reviews j WHERE j.sample_id = s.id AND j.kind = 'adjudication')"]
        params: list = [*parts, flagged, *QUEUE_STATUSES, k, annotator]
        if start is not None and flagged == start[0]:
            where.append("s.id > ?")
            params.append(start[1])
        rows = db.all(f"SELECT s.id FROM samples s WHERE {' AND '.join(where)} ORDER BY s.id LIMIT ?",
                      [*params, limit - len(found)])
        found += [int(r[0]) for r in rows]
        if len(found) >= limit:
            break
    return found


def progress(db, dataset: str) -> dict:
    """Reviews done against reviews needed: ``{reviews_needed, samples, needed, done, complete, by_annotator}``.
    ``done`` counts at most K reviews per sample; ``complete`` is how many samples have all K."""
    k = settings(db, dataset)["reviews_needed"]
    by_status = counts(db, dataset)  # from the maintained counts: no scan
    samples = sum(by_status.get(status, 0) for status in QUEUE_STATUSES)
    per_sample = db.all("SELECT sample_id, COUNT(*) FROM reviews WHERE dataset = ? AND kind = 'review' "
                        "GROUP BY sample_id", (dataset,))
    by_annotator = {a: int(n) for a, n in db.all(
        "SELECT annotator, COUNT(*) FROM reviews WHERE dataset = ? AND kind = 'review' GROUP BY annotator "
        "ORDER BY annotator", (dataset,))}
    return {"reviews_needed": k, "samples": samples, "needed": k * samples,
            "done": sum(min(int(n), k) for _, n in per_sample),
            "complete": sum(1 for _, n in per_sample if int(n) >= k), "by_annotator": by_annotator}


def dataset_reviews(db, dataset: str) -> list[dict]:
    """Every current review of the dataset's visible samples (both kinds), by sample then time."""
    return [_row(r) for r in db.all(
        f"SELECT {', '.join('r.' + c for c in REVIEW_COLUMNS)} FROM reviews r JOIN samples s ON s.id = r.sample_id "
        f"WHERE r.dataset = ? AND s.{VISIBLE} ORDER BY r.sample_id, r.at, r.annotator", (dataset,))]


def delete_for(db, sample_ids: list[int]) -> None:
    """Inside the caller's write: remove the reviews of samples being deleted."""
    if not sample_ids:
        return
    marks = ",".join("?" * len(sample_ids))
    db.execute(f"DELETE FROM reviews WHERE sample_id IN ({marks})", sample_ids)
    db.execute(f"DELETE FROM review_history WHERE sample_id IN ({marks})", sample_ids)
