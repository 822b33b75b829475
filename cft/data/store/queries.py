"""Reads: one sample, a filtered page, ids, counts, statistics, every match in batches, the datasets.

Every function takes the connection first. The filters (dataset, status, verdict, flag, source, search) are
built into one WHERE clause by :func:`where`; each value may be one value or a list (an empty list: no filter).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from cft.data.samples import STATUSES, VERDICTS, Sample
from cft.data.store.schema import ORDERS, SELECT, row_to_sample
from cft.errors import UserError

_WORD = re.compile(r"\w", re.UNICODE)


def fts_query(text: str) -> str | None:
    """User text -> a safe FTS5 query: every whitespace-separated token becomes a quoted phrase (implicit AND).

    Quoting turns ``"``, ``*``, ``AND``, ``(`` into plain text, so no input is an FTS syntax error. Tokens
    without a letter or digit would be dropped by the tokenizer anyway; ``None`` means nothing searchable is
    left (the caller falls back to a substring match).
    """
    tokens = [t for t in (text or "").split() if _WORD.search(t)]
    if not tokens:
        return None
    return " ".join('"' + t.replace('"', '""') + '"' for t in tokens)


def _as_list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        return values or None  # an empty multi-select means "no filter"
    return [value]


def get(conn: sqlite3.Connection, sample_id: int) -> Sample:
    row = conn.execute(SELECT + " WHERE id = ?", (sample_id,)).fetchone()
    if row is None:
        raise UserError(f"no sample with id {sample_id}")
    return row_to_sample(row)


def where(dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None) -> tuple[str, list]:
    """`` WHERE ...`` (or "") and its parameters for the filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("dataset", dataset), ("status", status), ("verdict", verdict), ("source", source)):
        values = _as_list(value)
        if values is None:
            continue
        if len(values) == 1:
            clauses.append(f"{column} = ?")
        else:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
        params.extend(values)
    if flag:
        if flag == "any":
            clauses.append("flagged = 1")
        elif flag == "none":
            clauses.append("flagged = 0")
        else:
            # The same dataset/status/verdict conditions inside, so the subquery returns only real matches.
            inner, inner_params = ["flag = ?"], [flag]
            for column, value in (("dataset", dataset), ("status", status), ("verdict", verdict)):
                values = _as_list(value)
                if values is not None:
                    inner.append(f"{column} IN ({','.join('?' * len(values))})")
                    inner_params.extend(values)
            clauses.append(f"id IN (SELECT sample_id FROM sample_flags WHERE {' AND '.join(inner)})")
            params.extend(inner_params)
    if search and search.strip():
        match = fts_query(search)
        if match is not None:
            clauses.append("id IN (SELECT rowid FROM samples_fts WHERE samples_fts MATCH ?)")
            params.append(match)
        else:
            # Only punctuation (e.g. "=" or "\\"): nothing the tokenizer indexes, so match the raw substring.
            needle = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(question LIKE ? ESCAPE '\\' OR response LIKE ? ESCAPE '\\' OR critique LIKE ? ESCAPE '\\')"
            )
            params.extend([needle] * 3)
    sql = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return sql, params


def order_by(order: str) -> str:
    if order not in ORDERS:
        raise UserError(f"order must be one of {list(ORDERS)}, got {order!r}")
    return ORDERS[order]


def query(conn: sqlite3.Connection, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None,
          order: str = "id", offset: int = 0, limit: int | None = 50) -> tuple[list[Sample], int]:
    """One page of matching samples and the total number that match."""
    clause, params = where(dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
    order_sql = order_by(order)
    offset = max(0, int(offset or 0))
    if dataset is not None and not isinstance(dataset, (list, tuple, set)) and clause == " WHERE dataset = ?":
        row = conn.execute("SELECT sample_count FROM datasets WHERE name = ?", (dataset,)).fetchone()
        total = row[0] if row else 0
    else:
        total = conn.execute("SELECT COUNT(*) FROM samples" + clause, params).fetchone()[0]
    if limit is None:
        sql = SELECT + clause + f" ORDER BY {order_sql} LIMIT -1 OFFSET ?"
        params = [*params, offset]
    else:
        # Two steps: pick the page's ids from the indexes (no row is read for skipped or sorted-away
        # matches), then read just those rows.
        sql = (SELECT + f" WHERE id IN (SELECT id FROM samples{clause} ORDER BY {order_sql} LIMIT ? OFFSET ?)"
               f" ORDER BY {order_sql}")
        params = [*params, max(0, int(limit)), offset]
    rows = conn.execute(sql, params).fetchall()
    return [row_to_sample(r) for r in rows], total


def ids(conn: sqlite3.Connection, dataset=None, *, status=None, verdict=None, flag=None, source=None, search=None,
        order: str = "id") -> list[int]:
    clause, params = where(dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
    sql = "SELECT id FROM samples" + clause + f" ORDER BY {order_by(order)}"
    return [r[0] for r in conn.execute(sql, params)]


def counts(conn: sqlite3.Connection, dataset=None) -> dict[str, int]:
    clause, params = where(dataset)
    out = {s: 0 for s in STATUSES}
    for status, n in conn.execute(f"SELECT status, COUNT(*) FROM samples{clause} GROUP BY status", params):
        out[status] = n
    out["total"] = sum(out[s] for s in STATUSES)
    return out


def stats(conn: sqlite3.Connection, dataset=None) -> dict:
    clause, params = where(dataset)
    verdicts = {v: 0 for v in VERDICTS}
    for verdict, n in conn.execute(f"SELECT verdict, COUNT(*) FROM samples{clause} GROUP BY verdict", params):
        verdicts[verdict] = n
    datasets_ = _as_list(dataset)
    flag_where = f" WHERE dataset IN ({','.join('?' * len(datasets_))})" if datasets_ else ""
    flags = dict(conn.execute(f"SELECT flag, COUNT(*) FROM sample_flags{flag_where} GROUP BY flag "
                              "ORDER BY COUNT(*) DESC, flag", datasets_ or []).fetchall())
    status = counts(conn, dataset)
    return {"status": status, "verdict": verdicts, "flags": flags, "total": status["total"]}


def iter_samples(conn: sqlite3.Connection, dataset, *, status=None, verdict=None, flag=None, source=None,
                 search=None, batch: int = 1000) -> Iterator[Sample]:
    """Every matching sample in id order, fetched in batches (keyset pagination: constant memory)."""
    clause, params = where(dataset, status=status, verdict=verdict, flag=flag, source=source, search=search)
    joiner = " AND " if clause else " WHERE "
    last = 0
    while True:
        rows = conn.execute(SELECT + clause + joiner + "id > ? ORDER BY id LIMIT ?", [*params, last, batch]).fetchall()
        if not rows:
            return
        for row in rows:
            yield row_to_sample(row)
        last = rows[-1][0]


def keys(conn: sqlite3.Connection, dataset: str) -> set[str]:
    rows = conn.execute("SELECT key FROM samples WHERE dataset = ? AND key IS NOT NULL", (dataset,))
    return {r[0] for r in rows}


def datasets(conn: sqlite3.Connection) -> list[dict]:
    rows = conn.execute("SELECT name, description, created_at, sample_count FROM datasets ORDER BY name").fetchall()
    return [{"name": n, "description": desc, "count": c, "created_at": t} for n, desc, t, c in rows]
