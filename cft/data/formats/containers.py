"""Containers: JSONL, JSON (a list of records), CSV, Parquet and a ``datasets`` dataset saved on disk.

Each reader yields ``(line or record number, record)``; a row that cannot be decoded is yielded as a
:class:`~cft.data.formats.result.RowError` in its place, so the import reports every bad row at once. A problem with
the file as a whole (not UTF-8, unparsable JSON, a CSV quote never closed) is an :class:`ImportFailed` naming its
line. What editors produce is read as meant: a UTF-8 byte-order mark, and CR, LF or CRLF line ends.

JSON is read strictly: ``NaN``/``Infinity`` (not JSON), a key twice in one object (which one was meant?), integers
past Python's 4,300-digit limit and nesting deeper than the parser goes are errors naming the line, not tracebacks.
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
_BOM = b"\xef\xbb\xbf"


def detect_container(path: Path, fmt: str, suffix: str | None = None) -> str:
    """The container ``fmt`` names, else the one the file name's ``suffix`` says (JSONL when it says nothing)."""
    if fmt in CONTAINERS:
        return fmt
    if path.is_dir():
        return "hf"
    suffix = (path.suffix if suffix is None else suffix).lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"  # a ".json" holding JSON Lines is recognised while reading (records_json)
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "jsonl"


# -- strict JSON ---------------------------------------------------------------------------------------------------
class _JSONProblem(ValueError):
    """A JSON text that parses but is not acceptable (NaN, a repeated key)."""


def _no_constants(name: str):
    raise _JSONProblem(f"{name} is not a JSON value")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _JSONProblem(f"field {key!r} appears twice in one object")
        out[key] = value
    return out


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses what is not JSON or not one meaning; every failure is a ValueError whose message
    says what (JSONDecodeError keeps its line and column)."""
    try:
        return json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    except ValueError as exc:  # an integer past 4300 digits, or a _JSONProblem
        reason = str(exc)
        if "integer string conversion" in reason:
            reason = "a number with more than 4300 digits"
        raise ValueError(reason) from None


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"bad JSON: {exc.msg} at column {exc.colno}"
    return f"bad JSON: {exc}"


# -- decoding ------------------------------------------------------------------------------------------------------
def _where(raw: bytes, offset: int) -> tuple[int, int]:
    """(line, column) of a byte offset, lines ended by LF, CR or CRLF."""
    lines = raw[:offset].splitlines(keepends=True)
    if not lines or lines[-1].endswith((b"\n", b"\r")):
        return len(lines) + 1, offset - sum(map(len, lines)) + 1
    return len(lines), len(lines[-1]) + 1


def _decode_whole(path: Path, raw: bytes) -> str:
    """Decode a whole-file format (BOM dropped); a bad byte is reported with its line and column."""
    raw = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _where(raw, exc.start)
        raise ImportFailed(str(path), [RowError(line, "", f"not UTF-8: byte 0x{raw[exc.start]:02x} at column "
                                                           f"{column}")]) from exc


def _jsonl_lines(raw: bytes) -> Iterator[tuple[int, Any]]:
    raw = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    for lineno, line in enumerate(raw.splitlines(), 1):  # bytes split only on LF, CR and CRLF
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield lineno, RowError(lineno, "", f"not UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1}")
            continue
        try:
            yield lineno, loads_strict(text)
        except ValueError as exc:
            yield lineno, RowError(lineno, "", _json_error(exc))


def records_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    yield from _jsonl_lines(path.read_bytes())


def records_json(path: Path) -> Iterator[tuple[int, Any]]:
    raw = path.read_bytes()
    text = _decode_whole(path, raw)
    if not text.strip():
        return
    try:
        data = loads_strict(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            yield from _jsonl_lines(raw)  # JSON Lines in a ".json" file: one object per line
            return
        raise ImportFailed(str(path), [RowError(exc.lineno, "", _json_error(exc))]) from None
    except ValueError as exc:
        raise ImportFailed(str(path), [RowError(0, "", _json_error(exc))]) from None
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


# -- CSV -----------------------------------------------------------------------------------------------------------
def records_csv(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a CSV (TSV for .tsv) as records; strict quoting, so a quote never closed or a stray one is an error
    naming its line instead of swallowing the rest of the file into one cell."""
    raw = path.read_bytes()
    text = _decode_whole(path, raw)
    if "\x00" in text:
        line, column = _where(text.encode("utf-8"), text.encode("utf-8").index(b"\x00"))
        raise ImportFailed(str(path), [RowError(line, "", f"a NUL byte at column {column}: not a text file")])
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    # A cell can be as long as the file, not longer: the csv module's own limit (128 KiB) is not the file's.
    csv.field_size_limit(max(len(text) + 1, csv.field_size_limit()))
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if blank or repeated:
            reason = (f"header column {blank[0]} has no name" if blank
                      else f"header names column {repeated[0]!r} twice")
            raise ImportFailed(str(path), [RowError(reader.line_num, "", reason)])
        for cells in reader:
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                more = "more" if len(cells) > len(header) else "fewer"
                yield reader.line_num, RowError(reader.line_num, "", f"{len(cells)} cells, {more} than the "
                                                                     f"{len(header)} of the header")
                continue
            # csv has no nulls: an empty cell is a missing value.
            yield reader.line_num, {k: (v if v != "" else None) for k, v in zip(header, cells)}
    except csv.Error as exc:
        raise ImportFailed(str(path), [RowError(reader.line_num, "", f"bad CSV: {exc}")]) from None


# -- tables --------------------------------------------------------------------------------------------------------
def records_table(rows: Iterator[dict]) -> Iterator[tuple[int, Any]]:
    yield from enumerate(rows, 1)


def records_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        rows = table.to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        raise ImportFailed(str(path), [RowError(0, "", f"not a readable Parquet file: {exc}")]) from exc
    yield from enumerate(rows, 1)


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
