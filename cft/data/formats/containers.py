"""Containers: JSONL, JSON (a list of records), CSV, Parquet and a ``datasets`` dataset saved on disk.

Each reader yields ``(line or record number, record)``; a row that cannot be decoded is yielded as a
:class:`~cft.data.formats.result.RowError` in its place, so the import reports every bad row at once.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterator

from cft.data.formats.result import ImportFailed, RowError
from cft.errors import UserError

CONTAINERS = ("jsonl", "json", "csv", "parquet", "hf")


def detect_container(path: Path, fmt: str) -> str:
    if fmt in CONTAINERS:
        return fmt
    if path.is_dir():
        return "hf"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        # Some ".json" files are really JSON Lines; the first non-blank character tells.
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip()
        if head.startswith(b"{"):
            return "jsonl"
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "jsonl"


def _decode_error(raw: bytes, exc: UnicodeDecodeError) -> str:
    return f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"


def _decode_whole(path: Path, raw: bytes, encoding: str = "utf-8") -> str:
    """Decode a whole-file format; a bad byte is reported with its line and column."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportFailed(str(path), [RowError(line, "", f"not UTF-8: byte 0x{raw[exc.start]:02x} at column "
                                                           f"{column}")]) from exc


def records_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, RowError(lineno, "", _decode_error(raw, exc))
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as exc:
                yield lineno, RowError(lineno, "", f"bad JSON: {exc.msg} at column {exc.colno}")


def records_json(path: Path) -> Iterator[tuple[int, Any]]:
    text = _decode_whole(path, path.read_bytes())
    if not text.strip():
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(str(path), [RowError(exc.lineno, "", f"bad JSON: {exc.msg} at column {exc.colno}")]) from exc
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise ImportFailed(str(path), [RowError(0, "", "wrong type: expected a JSON list of records "
                                                            "(or an object holding exactly one list)")])
        data = lists[0]
    if not isinstance(data, list):
        raise ImportFailed(str(path), [RowError(0, "", f"wrong type: expected a JSON list of records, "
                                                        f"got {type(data).__name__}")])
    yield from enumerate(data, 1)


def records_csv(path: Path) -> Iterator[tuple[int, Any]]:
    text = _decode_whole(path, path.read_bytes(), "utf-8-sig")
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    for row in reader:
        if None in row:  # more cells than header columns
            yield reader.line_num, RowError(reader.line_num, "", f"{len(row[None])} more cell(s) than the header has")
            continue
        # csv has no nulls: an empty cell is a missing value.
        yield reader.line_num, {k: (v if v != "" else None) for k, v in row.items()}


def records_table(rows: Iterator[dict]) -> Iterator[tuple[int, Any]]:
    yield from enumerate(rows, 1)


def records_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        raise ImportFailed(str(path), [RowError(0, "", f"not a readable Parquet file: {exc}")]) from exc
    yield from enumerate(table.to_pylist(), 1)


def load_hf_dir(path: Path):
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001
        raise ImportFailed(str(path), [RowError(0, "", f"not a dataset saved with save_to_disk: {exc}")]) from exc
    return pick_split(ds, "train", str(path))


def pick_split(ds, split: str, source: str):
    import datasets

    if isinstance(ds, datasets.DatasetDict):
        if split in ds:
            return ds[split]
        if len(ds) == 1:
            return next(iter(ds.values()))
        raise UserError(f"{source}: no split {split!r}; it has {sorted(ds)}")
    return ds


READERS = {"jsonl": records_jsonl, "json": records_json, "csv": records_csv, "parquet": records_parquet}
