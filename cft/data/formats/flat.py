"""The flat shape: one column per sample field, renamed through a mapping (``{"question": "problem", ...}``).

On export every sample field is a column; flags and meta are JSON text, so a column keeps one type across rows.
"""

from __future__ import annotations

import json
from typing import Any

from cft.data.formats.result import BadRow
from cft.data.samples import STATUSES, Sample


# Sample fields an import may fill from a record, and the column names tried when no mapping names them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "question": ("question", "problem", "query"),
    "response": ("response", "candidate", "student_response"),
    "critique": ("critique",),
    "reference_answer": ("reference_answer", "gold_answer"),
    "reference_solution": ("reference_solution", "gold_solution"),
    "source": ("source",),
    "student_model": ("student_model",),
    "teacher": ("teacher",),
    "original_critique": ("original_critique",),
    "status": ("status",),
    "key": ("key",),
}


def read(record: dict, mapping: dict[str, str]) -> tuple[Sample, bool]:
    """A sample from one record, and whether the record set its status."""
    values: dict[str, Any] = {}
    used: set[str] = set()
    for name, candidates in COLUMNS.items():
        columns = (mapping[name],) if name in mapping else candidates
        for column in columns:
            if column in record:
                used.add(column)
                value = record[column]
                if value is None:
                    break
                if not isinstance(value, str):
                    if name != "question" and isinstance(value, (int, float)) and not isinstance(value, bool):
                        value = str(value)  # e.g. a numeric reference answer in a CSV-like table
                    else:
                        raise BadRow(column, f"wrong type: expected a string, got {type(value).__name__}")
                values[name] = value
                break
    if "question" in mapping and mapping["question"] not in record:
        raise BadRow(mapping["question"], "missing question (the column named by the mapping is absent)")
    if not (values.get("question") or "").strip():
        column = mapping.get("question", "question")
        raise BadRow(column, "missing question")
    status = values.pop("status", None)
    sample = Sample(**{k: v for k, v in values.items() if v is not None})
    if status is not None:
        if status not in STATUSES:
            raise BadRow(mapping.get("status", "status"), f"status must be one of {STATUSES}, got {status!r}")
        sample.status = status
    extra = {k: v for k, v in record.items() if k not in used}
    sample.meta["import"] = {"format": "flat", "extra": extra}
    return sample, status is not None


_FLAT_COLUMNS = (
    "id", "key", "dataset", "question", "response", "critique", "verdict", "reference_answer", "reference_solution",
    "source", "student_model", "teacher", "original_critique", "status", "revision", "created_at", "updated_at",
    "annotator",
)


def write(sample: Sample) -> dict:
    row = {name: getattr(sample, name) for name in _FLAT_COLUMNS}
    # JSON text keeps one column type across rows (Arrow needs that; flag names differ between samples).
    row["flags"] = json.dumps(sample.flags, ensure_ascii=False, sort_keys=True)
    row["meta"] = json.dumps(sample.meta, ensure_ascii=False, sort_keys=True)
    return row
