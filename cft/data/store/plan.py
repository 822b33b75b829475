"""How a filtered, ordered page is found by key (keyset/seek paging), never by OFFSET.

A page request is a filter, an order and a position: the first page, the page after a row's key, the page before
it, or the last page. The filter's equality columns (part, status, verdict, flagged, and source when it is
filtered) are small enums, so the request is split into *cells*, one per combination of their values: in a cell
every equality is fixed and the index ``(part, [source,] status, verdict, flagged, <order key>)`` holds its rows
already in page order, so ``WHERE <cell> AND (key) > (cursor) ORDER BY key LIMIT 50`` reads 50 index entries,
whatever the page number. All cells go to the database as one ``UNION ALL`` statement, and their (at most 50 each)
keys are merged here. A flag name pages over ``sample_flags`` the same way. ``flagged_first`` sorts flagged
before unflagged, so flagged is always a cell column there and the cursor's flagged value says which cells lie
before or after it. A search first reads up to SEARCH_ALL matches in one pass of its index; past that (common words)
its cells are split on part and flagged only, with the other filters as conditions, and on SQLite each cell reads
FTS5's matches in id order, so it stops after a page of them. A jump to a page number, and a request with too many
cells, use one plain statement that the database plans.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

from cft.data.samples import STATUSES, VERDICTS
from cft.errors import UserError

MAX_CELLS = 120  # past this many cells (many parts or sources at once), one plain statement is cheaper
SEARCH_COUNT_CAP = 1000  # a search counts its matches up to here, then says "more than"
# A search is first read whole, up to this many matches, in one pass of the index: with fewer, it is paged in memory
# and counted exactly (words that are rare together cost a full walk of their doclists: walk them once, not once per
# cell and once more to count); with this many, its total is "more than SEARCH_COUNT_CAP" and its pages come from
# the cells, which stop after a page of such common matches.
SEARCH_ALL = SEARCH_COUNT_CAP + 1


class Key(NamedTuple):
    """Where a row sits in every order: enough to page after or before it in any of them."""

    flagged: int
    updated_at: float
    id: int


@dataclass(frozen=True)
class Order:
    name: str
    keys: tuple[str, ...]  # after the cell's equalities, in index order
    descending: bool
    flagged_first: bool = False

    def sort_key(self, key: Key) -> tuple:
        """An ascending Python sort key for merging the cells' rows."""
        values = tuple(-getattr(key, k) if self.descending else getattr(key, k) for k in self.keys)
        return ((-key.flagged,) if self.flagged_first else ()) + values

    def by(self, reverse: bool = False, flagged: str = "flagged") -> str:
        desc = self.descending != reverse
        parts = [f"{flagged} {'ASC' if reverse else 'DESC'}"] if self.flagged_first else []
        return ", ".join(parts + [f"{k} {'DESC' if desc else 'ASC'}" for k in self.keys])


ORDERS = {
    "id": Order("id", ("id",), False),
    "flagged_first": Order("flagged_first", ("id",), False, flagged_first=True),
    "updated": Order("updated", ("updated_at", "id"), True),
}


def order_named(name: str) -> Order:
    if name not in ORDERS:
        raise UserError(f"order must be one of {list(ORDERS)}, got {name!r}")
    return ORDERS[name]


@dataclass
class Filters:
    """A normalised filter: ``parts`` are the visible parts of the dataset(s); None means "not filtered"."""

    parts: list[int]
    status: list[str] | None = None
    verdict: list[str] | None = None
    flag: str | None = None  # "any", "none" or a flag name
    source: list[str] | None = None
    search: str | None = None

    @property
    def flag_name(self) -> str | None:
        return self.flag if self.flag not in (None, "any", "none") else None

    def flagged_values(self) -> list[int] | None:
        return {"any": [1], "none": [0]}.get(self.flag) if self.flag_name is None else [1]


@dataclass
class Request:
    order: Order
    limit: int
    after: Key | None = None
    before: Key | None = None
    last: bool = False  # the last page (the first, read backwards)
    inclusive: bool = False  # start at ``after`` itself (re-reading a page from its first row)

    @property
    def backwards(self) -> bool:
        return self.before is not None or self.last

    @property
    def cursor(self) -> Key | None:
        return self.before if self.before is not None else self.after


def _in(column: str, values: list) -> tuple[str, list]:
    if len(values) == 1:
        return f"{column} = ?", list(values)
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def _compare(columns: list[str], op: str, values: list) -> tuple[str, list]:
    if len(columns) == 1:
        return f"{columns[0]} {op} ?", values
    return f"({', '.join(columns)}) {op} ({', '.join('?' * len(values))})", values


def _cell_dims(f: Filters, order: Order) -> list[tuple[str, list]]:
    """The equality columns this request is split on, with the values each takes."""
    dims: list[tuple[str, list]] = [("part", f.parts)]
    flagged = f.flagged_values()
    narrow = f.status is None and f.verdict is None and f.source is None and f.flag_name is None
    if f.search or (narrow and order.name != "updated"):  # (part, id), or (part, flagged, id)
        if (flagged is not None and not f.flag_name) or order.flagged_first:
            dims.append(("flagged", flagged or [1, 0]))
        return dims
    if narrow and flagged is None:  # (part, updated_at, id)
        return dims
    if f.source is not None:
        dims.append(("source", f.source))
    dims += [("status", f.status or list(STATUSES)), ("verdict", f.verdict or list(VERDICTS))]
    if f.flag_name is None:
        dims.append(("flagged", flagged or [1, 0]))
    return dims


@dataclass
class Source:
    """Where a cell's keys come from: the FROM clause, its id and flagged expressions, and fixed conditions."""

    table: str = "samples"
    id: str = "id"
    flagged: str = "flagged"
    where: tuple[str, ...] = ()
    params: tuple = ()


def _source(f: Filters, order: Order, dialect, tokens: list[str]) -> Source:
    if not f.search:
        if f.flag_name:  # its own table, with the sample's filter columns copied in
            return Source("sample_flags", "sample_id", "1", ("flag = ?",), (f.flag_name,))
        return Source()
    # A search: cells split on part (and flagged) only; the other filters are plain conditions in each cell.
    where, params = conditions(f, dialect, [] if not tokens else tokens, skip=("part", "flagged", "search"))
    fts = dialect.fts_join(tokens) if tokens and order.keys == ("id",) else None
    if fts is not None:  # driven by the full-text index in id order: stops after a page of matches
        table, match, match_params, id_expr = fts
        return Source(table, id_expr, "flagged", (match, *where), (*match_params, *params))
    search, search_params = conditions(Filters([], search=f.search), dialect, tokens, skip=("part",))
    return Source("samples", "id", "flagged", (*search, *where), (*search_params, *params))


def cells_statement(f: Filters, req: Request, dialect=None, tokens: list[str] | None = None) -> tuple[str, list] | None:
    """One UNION ALL of per-cell keyset queries returning (id, flagged, updated_at), or None when the request
    has too many cells for it (then the plain statement)."""
    dims = _cell_dims(f, req.order)
    if not f.parts:
        return "SELECT 0, 0, 0.0 WHERE 1 = 0", []
    n_cells = 1
    for _, values in dims:
        n_cells *= len(values)
    if n_cells > MAX_CELLS:
        return None
    src = _source(f, req.order, dialect, tokens or [])
    keys = [src.id if k == "id" else k for k in req.order.keys]
    cursor = req.cursor
    parts_sql, params = [], []
    for combo in itertools.product(*(values for _, values in dims)):
        cell = dict(zip((name for name, _ in dims), combo))
        where, cell_params = list(src.where), list(src.params)
        for name, value in cell.items():
            where.append(f"{name} = ?")
            cell_params.append(value)
        if cursor is not None:
            compare = True
            if req.order.flagged_first and "flagged" in cell:
                ahead = cell["flagged"] > cursor.flagged  # this cell's rows all sort before the cursor's
                behind = cell["flagged"] < cursor.flagged
                if (ahead and not req.backwards) or (behind and req.backwards):
                    continue
                compare = not (ahead or behind)
            if compare:
                op = (">" if req.order.descending == req.backwards else "<") + ("=" if req.inclusive else "")
                sql, values = _compare(keys, op, [getattr(cursor, k) for k in req.order.keys])
                where.append(sql)
                cell_params += values
        by = ", ".join(f"{k} {'DESC' if req.order.descending != req.backwards else 'ASC'}" for k in keys)
        parts_sql.append(f"SELECT * FROM (SELECT {src.id} AS id, {src.flagged} AS flagged, updated_at FROM "
                         f"{src.table} WHERE {' AND '.join(where)} ORDER BY {by} LIMIT ?) AS c{len(parts_sql)}")
        params += [*cell_params, req.limit]
    if not parts_sql:
        return "SELECT 0, 0, 0.0 WHERE 1 = 0", []
    return " UNION ALL ".join(parts_sql), params


def conditions(f: Filters, dialect, search_tokens: list[str], skip: tuple[str, ...] = ()) -> tuple[list[str], list]:
    """The filter as plain WHERE conditions on ``samples`` (for the plain statement and for counting a search),
    without the ``skip`` ones (a cell already fixes part and flagged)."""
    where, params = [], []
    for column, values in (("part", f.parts), ("status", f.status), ("verdict", f.verdict),
                           ("flagged", f.flagged_values()), ("source", f.source)):
        if values is not None and column not in skip:
            if not values:
                return ["1 = 0"], []
            sql, vals = _in(column, values)
            where.append(sql)
            params += vals
    if f.flag_name:
        where.append("id IN (SELECT sample_id FROM sample_flags WHERE flag = ?)")
        params.append(f.flag_name)
    if f.search and "search" not in skip:
        if search_tokens:
            sql, vals = dialect.search(search_tokens)
        else:
            # Only punctuation (e.g. "=" or "\\"): nothing a tokenizer indexes, so match the raw substring.
            needle = "%" + f.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            sql = " OR ".join(f"{c} {dialect.like} ? ESCAPE '\\'" for c in ("question", "response", "critique"))
            sql, vals = f"({sql})", [needle] * 3
        where.append(sql)
        params += vals
    return where, params


def matches_statement(f: Filters, dialect, tokens: list[str], limit: int) -> tuple[str, list]:
    """Up to ``limit`` matches of a search as (id, flagged, updated_at), in no particular order (driven by the
    full-text index where the backend can: it stops there, however common the words)."""
    src = _source(f, ORDERS["id"], dialect, tokens)
    fixed, values = conditions(Filters(f.parts, flag=f.flag if f.flag in ("any", "none") else None), dialect, [])
    where = [*src.where, *fixed]
    return (f"SELECT {src.id} AS id, {src.flagged} AS flagged, updated_at FROM {src.table} "
            f"WHERE {' AND '.join(where)} LIMIT ?", [*src.params, *values, limit])


def count_statement(f: Filters, dialect, tokens: list[str], cap: int) -> tuple[str, list]:
    sql, params = matches_statement(f, dialect, tokens, cap)
    return f"SELECT COUNT(*) FROM ({sql}) AS t", params


def window(keys: list[Key], req: Request) -> list[Key]:
    """The requested page of ``keys`` (all the matches), by the same keyset rules as the SQL."""
    ordered = sorted(keys, key=req.order.sort_key)
    if req.cursor is not None:
        at = req.order.sort_key(req.cursor)
        if req.backwards:
            ordered = [k for k in ordered if req.order.sort_key(k) < at or (req.inclusive and k == req.cursor)]
        else:
            ordered = [k for k in ordered if req.order.sort_key(k) > at or (req.inclusive and k == req.cursor)]
    if not req.limit:
        return []
    return ordered[-req.limit:] if req.backwards else ordered[:req.limit]


def plain_statement(f: Filters, req: Request, dialect, tokens: list[str], offset: int = 0) -> tuple[str, list]:
    """The same request as one statement over ``samples`` (the database picks the plan)."""
    where, params = conditions(f, dialect, tokens)
    cursor, order = req.cursor, req.order
    if cursor is not None:
        back = req.backwards
        op = (">" if order.descending == back else "<") + ("=" if req.inclusive else "")
        sql, vals = _compare(list(order.keys), op, [getattr(cursor, k) for k in order.keys])
        if order.flagged_first:
            ahead = "<" if not back else ">"
            sql = f"(flagged {ahead} ? OR (flagged = ? AND {sql}))"
            vals = [cursor.flagged, cursor.flagged, *vals]
        where.append(sql)
        params += vals
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    sql = f"SELECT id, flagged, updated_at FROM samples{clause} ORDER BY {order.by(reverse=req.backwards)} LIMIT ?"
    params.append(req.limit)
    if offset:
        sql += " OFFSET ?"
        params.append(offset)
    return sql, params
