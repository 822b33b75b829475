"""What differs between the store's backends, and nothing else.

The store's logic (queries, writes, imports, history, migrations) is written once, in SQL that both SQLite and
PostgreSQL accept: ``?`` placeholders, row-value comparisons, ``INSERT ... ON CONFLICT ... DO UPDATE``, plain
``TEXT``/``INTEGER`` columns. A :class:`Dialect` supplies the rest: how to connect, the placeholder style, the
column types in the DDL, full-text search (FTS5 against a ``tsvector``), how a write transaction takes its lock,
how ids are reserved and rows bulk-inserted, the schema-version record, and which driver errors mean "busy" or
"duplicate key". :func:`dialect_for` picks one from a URL or a path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from cft import workspace
from cft.errors import UserError

ENV = "CFT_DATABASE_URL"
# How long a write waits for a lock held by another writer before it gives up with StoreBusy (retryable). Imports
# commit in batches of well under a second, so a save that waits this long means something is wrong elsewhere.
BUSY_TIMEOUT_S = 10.0

_WORD = re.compile(r"\w", re.UNICODE)


def search_tokens(text: str) -> list[str]:
    """The search box's syntax, shared by both backends: whitespace-separated tokens, all required (AND); a token
    is matched as a phrase of the words in it, so quotes, ``*``, ``AND`` and ``(`` are plain text. Tokens without a
    letter or digit are dropped (no tokenizer indexes them)."""
    return [t for t in (text or "").split() if _WORD.search(t)]


class Dialect:
    """The SQL and driver differences of one backend. Subclasses: ``sqlite.SQLite``, ``postgres.Postgres``."""

    name = ""
    like = "LIKE"  # case-insensitive substring match
    # DDL spellings substituted into schema.BASELINE
    types: dict[str, str] = {}

    def __init__(self, url: str):
        self.url = url

    # -- connection ----------------------------------------------------------------------------------------------
    def connect(self):
        raise NotImplementedError

    def where(self) -> str:
        """The store's location, for messages (never a password)."""
        raise NotImplementedError

    def sql(self, text: str) -> str:
        """A statement written with ``?`` placeholders in this driver's style."""
        return text

    def translate(self, exc: BaseException) -> BaseException | None:
        """A store error (StoreBusy, StoreUnavailable, DuplicateKey) for a driver exception, or None."""
        return None

    # -- transactions --------------------------------------------------------------------------------------------
    def begin_write(self, raw) -> None:
        raise NotImplementedError

    def yield_to_waiters(self) -> None:
        """Before a bulk writer's next batch: let writes that are waiting for the lock go first."""

    begin_snapshot = "BEGIN"
    for_update = ""  # appended to the SELECT that reads a row before a compare-and-set

    # -- schema --------------------------------------------------------------------------------------------------
    def extra_ddl(self) -> list[str]:
        """Statements of the baseline schema only this backend has (full-text search)."""
        return []

    def version(self, db) -> int:
        raise NotImplementedError

    def set_version(self, db, version: int) -> None:
        raise NotImplementedError

    def lock_schema(self, db) -> None:
        """Inside the write transaction that creates or migrates the schema: keep other processes out of it."""

    # -- search --------------------------------------------------------------------------------------------------
    def search(self, tokens: list[str]) -> tuple[str, list[Any]]:
        """A condition on ``samples`` (alias-free) that is true when every token matches."""
        raise NotImplementedError

    def read_matches(self, db, sql: str, params: list) -> list[tuple]:
        """Run the statement that collects a search's first matches (plan.matches_statement)."""
        return db.all(sql, params)

    def fts_join(self, tokens: list[str]) -> tuple[str, str, list, str] | None:
        """A FROM clause that reads the matches from the full-text index in id order, its match condition and
        parameters, and its id expression; None where the search is a plain condition on ``samples``."""
        return None

    # -- bulk writes ---------------------------------------------------------------------------------------------
    def reserve_ids(self, db, table: str, n: int) -> list[int]:
        """``n`` new ids for ``table``, inside the caller's write transaction."""
        raise NotImplementedError

    def insert_rows(self, db, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        placeholders = ",".join("?" * len(columns))
        db.many(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({placeholders})", rows)

    def sequence(self, db, table: str) -> int:
        raise NotImplementedError

    def set_sequence(self, db, table: str, value: int) -> None:
        raise NotImplementedError

    def after_bulk(self, db) -> None:
        """After a large import: refresh the planner's statistics."""

    # -- maintenance ---------------------------------------------------------------------------------------------
    def integrity(self, db) -> list[str]:
        """Problems the backend's own checker finds (empty: none)."""
        return []

    def size_bytes(self, db) -> int | None:
        return None


def resolve_url(target: str | Path | None = None) -> str:
    """``target`` (a URL or a path), else ``$CFT_DATABASE_URL``, else SQLite at ``workspace/samples.db``."""
    if target is None:
        target = os.environ.get(ENV, "").strip() or None
    if target is None:
        return "sqlite:///" + str(workspace.db_path())
    text = str(target)
    if "://" not in text:
        return "sqlite:///" + str(Path(text).expanduser().resolve())
    return text


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (SQLAlchemy's spelling) -> a path."""
    rest = url[len("sqlite://"):]
    if not rest.startswith("/") or rest == "/":
        raise UserError(f"database URL {url!r}: expected sqlite:///PATH (e.g. sqlite:////data/samples.db)")
    rest = rest[1:]
    return Path(rest).expanduser()


def dialect_for(target: str | Path | None = None) -> Dialect:
    url = resolve_url(target)
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        from cft.data.store.sqlite import SQLite

        return SQLite(url)
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        from cft.data.store.postgres import Postgres

        return Postgres(url)
    raise UserError(f"database URL {url.split('@')[-1]!r}: the scheme must be sqlite:/// or postgresql:// "
                    f"(set {ENV}, or leave it unset for SQLite in the workspace)")
