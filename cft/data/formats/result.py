"""What an import returns (:class:`ImportResult`) or raises (:class:`ImportFailed`), and how a bad row is named."""

from __future__ import annotations

from dataclasses import dataclass, field

from cft.data.samples import Sample
from cft.errors import UserError

MAX_LISTED_ERRORS = 20


@dataclass
class RowError:
    line: int  # JSONL/CSV: the file line; JSON/Parquet/HF: the 1-based record number; 0: the whole file
    field: str
    reason: str
    unit: str = "line"  # "line" or "record": what ``line`` counts

    def __str__(self) -> str:
        where = f"{self.unit} {self.line}" if self.line else "file"
        return f"{where}, field {self.field!r}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class ImportResult:
    samples: list[Sample]
    errors: list[RowError] = field(default_factory=list)
    format: str = ""
    ids: list[int] = field(default_factory=list)  # filled by import_file/import_hub: the new store ids


class ImportFailed(UserError):
    def __init__(self, source: str, errors: list[RowError], hint: str = ""):
        self.source = source
        self.errors = errors
        listed = "\n".join(f"  {e}" for e in errors[:MAX_LISTED_ERRORS])
        more = f"\n  … and {len(errors) - MAX_LISTED_ERRORS} more" if len(errors) > MAX_LISTED_ERRORS else ""
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing imported{hint}:\n{listed}{more}")


class BadRow(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason
