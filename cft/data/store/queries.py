"""Reads: one sample, a page by key, a neighbour, totals and statistics from the counts, every match in batches.

Every function takes the :class:`~cft.data.store.connection.Db` first. A filter value may be one value or a list
(an empty list: no filter). Readers only ever see rows of ``ready`` parts (an import in progress is invisible).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cft.data.samples import STATUSES, VERDICTS, Sample
from cft.data.store import plan
from cft.data.store.counts import ALL
from cft.data.store.dialect import search_tokens
from cft.data.store.plan import Filters, Key, Request
from cft.data.store.schema import SELECT, row_to_sample
from cft.errors import UserError

VISIBLE = "part IN (SELECT id FROM parts WHERE state = 'ready')"


@dataclass
class Page:
    samples: list[Sample]
    total: int
    exact: bool  # False: ``total`` is a lower bound (a search counts up to plan.SEARCH_COUNT_CAP matches)
    first: Key | None  # where the page starts and ends: page before ``first``, after ``last``
    last: Key | None


def _as_list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value) or None  # an empty multi-select means "no filter"
    return [value]


def visible_parts(db, dataset=None) -> list[int]:
    names = _as_list(dataset)
    if names is None:
        return [r[0] for r in db.all("SELECT id FROM parts WHERE state = 'ready' ORDER BY id")]
    sql, values = plan._in("dataset", names)
    return [r[0] for r in db.all(f"SELECT id FROM parts WHERE state = 'ready' AND {sql} ORDER BY id", values)]


def filters(db, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None) -> Filters:
    return Filters(visible_parts(db, dataset), _as_list(status), _as_list(verdict), flag or None,
                   _as_list(source), (search or "").strip() or None)


def key_of(sample: Sample) -> Key:
    return Key(int(bool(sample.flags)), float(sample.updated_at), int(sample.id))


def get(db, sample_id: int, *, lock: bool = False) -> Sample:
    """A visible sample; ``lock``: inside a write, hold its row until the transaction ends (PostgreSQL)."""
    row = db.one(SELECT + f" WHERE id = ? AND {VISIBLE}" + (db.dialect.for_update if lock else ""), (sample_id,))
    if row is None:
        raise UserError(f"no sample with id {sample_id}")
    return row_to_sample(row)


def fetch(db, ids: list[int]) -> list[Sample]:
    """The samples with these ids, in this order."""
    if not ids:
        return []
    sql, values = plan._in("id", ids)
    by_id = {row[0]: row for row in db.all(SELECT + f" WHERE {sql}", values)}
    return [row_to_sample(by_id[i]) for i in ids if i in by_id]


def all_matches(db, f: Filters) -> list[Key] | None:
    """Every match of a search, when it has fewer than plan.SEARCH_ALL (one pass); None when it has more."""
    if not f.search:
        return None
    if not f.parts:
        return []
    rows = db.dialect.read_matches(db, *plan.matches_statement(f, db.dialect, search_tokens(f.search), plan.SEARCH_ALL))
    return [Key(int(fl), float(up), int(i)) for i, fl, up in rows] if len(rows) < plan.SEARCH_ALL else None


def keys_page(db, f: Filters, req: Request, offset: int = 0, matches: list[Key] | None = None) -> list[Key]:
    """The keys of the requested page, in page order."""
    if f.search and not offset:
        matches = matches if matches is not None else all_matches(db, f)
        if matches is not None:
            return plan.window(matches, req)
    tokens = search_tokens(f.search or "")
    stmt = None if offset else plan.cells_statement(f, req, db.dialect, tokens)
    if stmt is None:
        stmt = plan.plain_statement(f, req, db.dialect, tokens, offset)
    keys = [Key(int(fl), float(up), int(i)) for i, fl, up in db.all(*stmt)]
    keys.sort(key=req.order.sort_key, reverse=req.backwards)
    keys = keys[:req.limit]
    if req.backwards:
        keys.reverse()
    return keys


def total(db, f: Filters) -> tuple[int, bool]:
    """How many samples match, and whether that is exact (a search stops counting at SEARCH_COUNT_CAP)."""
    if not f.parts:
        return 0, True
    if f.search:
        n = int(db.scalar(*plan.count_statement(f, db.dialect, search_tokens(f.search), plan.SEARCH_COUNT_CAP + 1)))
        return min(n, plan.SEARCH_COUNT_CAP), n <= plan.SEARCH_COUNT_CAP
    where, params = ["flag = ?"], [f.flag_name or ALL]
    flagged = None if f.flag_name else f.flagged_values()
    for column, values in (("part", f.parts), ("status", f.status), ("verdict", f.verdict),
                           ("source", f.source), ("flagged", flagged)):
        if values is not None:
            sql, vals = plan._in(column, values)
            where.append(sql)
            params += vals
    n = db.scalar(f"SELECT COALESCE(SUM(n), 0) FROM sample_counts WHERE {' AND '.join(where)}", params)
    return int(n), True


def page(db, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None,
         order: str = "id", after: Key | None = None, before: Key | None = None, at: Key | None = None,
         last: bool = False, offset: int = 0, limit: int = 50) -> Page:
    """One page by key: the first (default), the one ``after`` or ``before`` a key, the one starting ``at`` a key
    (re-reading a page), the ``last``, or (for a jump to a page number) the one at ``offset``."""
    f = filters(db, dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
    req = Request(plan.order_named(order), max(0, int(limit)), after=_key(at if at is not None else after),
                  before=_key(before), last=last, inclusive=at is not None)
    offset = max(0, int(offset or 0))
    matches = all_matches(db, f) if f.search and not offset else None
    keys = keys_page(db, f, req, offset, matches) if req.limit else []
    if f.search and not offset:
        n, exact = (len(matches), True) if matches is not None else (plan.SEARCH_COUNT_CAP, False)
    else:
        n, exact = total(db, f)
    return Page(fetch(db, [k.id for k in keys]), n, exact, keys[0] if keys else None, keys[-1] if keys else None)


def _key(value) -> Key | None:
    if value is None:
        return None
    return value if isinstance(value, Key) else Key(int(value[0]), float(value[1]), int(value[2]))


def query(db, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None,
          order: str = "id", offset: int = 0, limit: int | None = 50) -> tuple[list[Sample], int]:
    """One page of matching samples and the total that match (``limit=None``: every match from ``offset``)."""
    kwargs = dict(status=status, verdict=verdict, flag=flag, source=source, search=search)
    if limit is None:
        samples = [s for i, s in enumerate(iter_samples(db, dataset, order=order, **kwargs)) if i >= (offset or 0)]
        return samples, total(db, filters(db, dataset, **kwargs))[0]
    result = page(db, dataset, **kwargs, order=order, offset=offset, limit=limit)
    return result.samples, result.total


def neighbor(db, dataset, current_id, step: int, *, order: str = "id", **kwargs) -> int | None:
    """The id ``step`` places from ``current_id`` within the filter and order, or None past either end.

    The current sample need not match the filter (after a submit it may have left "pending only"): the walk
    continues from where it sits in the order now. From no sample (or one deleted meanwhile) it starts at the first
    match going forward, at the last going back.
    """
    if not step:
        return current_id
    f = filters(db, dataset, **kwargs)
    req = Request(plan.order_named(order), abs(int(step)))
    row = None if current_id in (None, "") else db.one("SELECT flagged, updated_at, id FROM samples WHERE id = ?",
                                                       (int(current_id),))
    if row is None:
        req.last = step < 0
        req.limit = 1
    else:
        key = Key(int(row[0]), float(row[1]), int(row[2]))
        req.after, req.before = (key, None) if step > 0 else (None, key)
    keys = keys_page(db, f, req)
    if len(keys) < req.limit:
        return None
    return (keys[-1] if step > 0 else keys[0]).id


def iter_keys(db, f: Filters, order: str = "id", batch: int = 1000) -> Iterator[list[Key]]:
    req = Request(plan.order_named(order), batch)
    while True:
        keys = keys_page(db, f, req)
        if not keys:
            return
        yield keys
        req.after = keys[-1]


def iter_samples(db, dataset, *, order: str = "id", batch: int = 1000, **kwargs) -> Iterator[Sample]:
    """Every matching sample in ``order``, fetched by key in batches (constant memory)."""
    for keys in iter_keys(db, filters(db, dataset, **kwargs), order, batch):
        yield from fetch(db, [k.id for k in keys])


def ids(db, dataset=None, *, order: str = "id", **kwargs) -> list[int]:
    return [k.id for keys in iter_keys(db, filters(db, dataset, **kwargs), order, 5000) for k in keys]


def _counted(db, dataset, column: str, named: bool = False) -> dict:
    parts = visible_parts(db, dataset)
    if not parts:
        return {}
    sql, values = plan._in("part", parts)
    flag = "flag <> ?" if named else "flag = ?"
    rows = db.all(f"SELECT {column}, SUM(n) FROM sample_counts WHERE {sql} AND {flag} GROUP BY {column} "
                  f"HAVING SUM(n) > 0", [*values, ALL])
    return {name: int(n) for name, n in rows}


def counts(db, dataset=None) -> dict[str, int]:
    found = _counted(db, dataset, "status")
    out = {s: found.get(s, 0) for s in STATUSES}
    out["total"] = sum(out.values())
    return out


def stats(db, dataset=None) -> dict:
    found = _counted(db, dataset, "verdict")
    flags = _counted(db, dataset, "flag", named=True)
    status = counts(db, dataset)
    return {"status": status, "verdict": {v: found.get(v, 0) for v in VERDICTS},
            "flags": dict(sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))), "total": status["total"]}


def sources(db, dataset=None) -> list[str]:
    """Every source the dataset's samples name (from the counts: no scan)."""
    return sorted(s for s in _counted(db, dataset, "source") if s)


def keys(db, dataset: str) -> set[str]:
    parts = visible_parts(db, dataset)
    if not parts:
        return set()
    sql, values = plan._in("part", parts)
    return {r[0] for r in db.all(f"SELECT key FROM samples WHERE {sql} AND key IS NOT NULL", values)}


def datasets(db) -> list[dict]:
    sizes = {name: int(n) for name, n in db.all(
        "SELECT p.dataset, SUM(c.n) FROM sample_counts c JOIN parts p ON p.id = c.part "
        "WHERE p.state = 'ready' AND c.flag = ? GROUP BY p.dataset", (ALL,))}
    rows = db.all("SELECT name, description, created_at FROM datasets WHERE state = 'ready' ORDER BY name")
    return [{"name": n, "description": desc, "count": sizes.get(n, 0), "created_at": t} for n, desc, t in rows]
