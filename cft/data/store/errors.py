"""What the store raises at its callers: all are :class:`~cft.errors.UserError`, so the CLI prints one line and the
UI shows a message, never a traceback or a driver's ``OperationalError``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cft.errors import UserError


class ConflictError(UserError):
    """Someone saved the sample after the caller loaded it; nothing was written."""

    def __init__(self, sample_id: int, expected_revision: int, current_revision: int, current):
        self.sample_id = sample_id
        self.expected_revision = expected_revision
        self.current_revision = current_revision
        self.current = current
        who = current.annotator or "someone"
        when = datetime.fromtimestamp(current.updated_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(
            f"sample {sample_id} was changed by {who} at {when}: you edited revision "
            f"{expected_revision}, the store now has revision {current_revision}. Nothing was saved; reload the "
            f"sample to see their version, then apply your change again."
        )


class StoreBusy(UserError):
    """The store could not take the write (another writer held it past the timeout). Nothing was written; the same
    call can simply be made again."""

    retryable = True

    def __init__(self, where: str, detail: str = ""):
        self.where = where
        super().__init__(
            f"the sample store at {where} is busy (another process is writing to it, e.g. an import or a "
            f"migration){': ' + detail if detail else ''}. Nothing was saved; try again in a moment."
        )


class StoreUnavailable(UserError):
    """The database server cannot be reached, or refused the connection."""


class DuplicateKey(Exception):
    """A unique key (dataset, key) already exists: raised by the dialect layer, turned into a UserError by the
    write that knows which sample it was."""
