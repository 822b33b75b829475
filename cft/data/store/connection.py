"""Connections to the store: one per thread, each wrapped in a :class:`Db` that speaks the dialect.

Gradio runs handlers in worker threads and neither driver's connection may be used by two threads at once, so each
thread gets its own (``threading.local``). :class:`Db` runs ``?``-placeholder SQL in the driver's style, turns
driver errors into store errors (a busy lock is :class:`StoreBusy`, never a raw ``OperationalError``), and gives
the two transactions the store needs: :meth:`Db.write` (takes the write lock first; rolls back on any error) and
:meth:`Db.snapshot` (a consistent read across several statements).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from cft.data.store.dialect import Dialect


class Db:
    """One connection and its dialect. Every store function takes one of these first."""

    def __init__(self, raw, dialect: Dialect):
        self.raw = raw
        self.dialect = dialect
        self.in_transaction = False

    def _fail(self, exc: BaseException):
        store_error = self.dialect.translate(exc)
        if store_error is not None:
            raise store_error from exc
        raise exc

    def execute(self, sql: str, params: Any = None):
        try:
            if params is None:
                return self.raw.execute(sql)
            return self.raw.execute(self.dialect.sql(sql), tuple(params))
        except Exception as exc:  # noqa: BLE001 - translated or re-raised as it was
            self._fail(exc)

    def many(self, sql: str, rows: list) -> None:
        if not rows:
            return
        try:
            cur = self.raw.cursor()
            cur.executemany(self.dialect.sql(sql), rows)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def one(self, sql: str, params: Any = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Any = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = ()):
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        self.dialect.insert_rows(self, table, columns, rows)

    @contextlib.contextmanager
    def write(self) -> Iterator["Db"]:
        """A write transaction: the lock is taken before anything is read; ROLLBACK when the block raises."""
        if self.in_transaction:  # nested: part of the caller's transaction
            yield self
            return
        try:
            self.dialect.begin_write(self.raw)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
        self.in_transaction = True
        try:
            yield self
        except BaseException:
            self.in_transaction = False
            self._rollback()
            raise
        self.in_transaction = False
        try:
            self.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["Db"]:
        """Several reads that see one state of the store (a read transaction)."""
        if self.in_transaction:
            yield self
            return
        self.execute(self.dialect.begin_snapshot)
        self.in_transaction = True
        try:
            yield self
        finally:
            self.in_transaction = False
            self._rollback()

    def _rollback(self) -> None:
        try:
            self.raw.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - nothing to roll back (already ended), or the connection is gone
            pass


class Connections:
    """The per-thread connections to one store."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self._local = threading.local()
        self._all: list[Db] = []
        self._lock = threading.Lock()

    def get(self) -> Db:
        db = getattr(self._local, "db", None)
        if db is None:
            db = Db(self.dialect.connect(), self.dialect)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                try:
                    db.raw.close()
                except Exception:  # noqa: BLE001 - already closed, or its thread is gone
                    pass
            self._all.clear()
        self._local = threading.local()
