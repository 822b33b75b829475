"""Import and export of critique samples.

Record shapes:
- **alpaca** ``{instruction, input, output}`` (WebInstruct-CFT): ``input`` is ``Question:\\n…\\n\\nSolution:\\n…``; the
  CFT instruction is either ``instruction`` or the start of ``input``; ``output`` is the critique.
- **messages** ``{messages: [user, assistant]}`` (One-Shot-CFT): the user turn is the CFT instruction + question +
  solution, the assistant turn the critique. A system turn is kept.
- **flat**: one column per field, renamed through a mapping (``{"question": "problem", ...}``).

Containers: JSONL, JSON (a list of records), CSV, Parquet, a ``datasets`` dataset saved on disk, a Hub id.

Import is all-or-nothing: every bad row is collected as a :class:`RowError` (line or row number, field, reason) and
:class:`ImportFailed` lists them; ``skip_bad=True`` keeps the good rows and returns the errors.

Round trips are lossless: what the store's columns do not hold (the exact instruction, how the user turn was framed
around the question and solution, a system turn, extra top-level fields and their order) goes into
``sample.meta["import"]``, and export rebuilds the record from it plus the sample's *current* fields, so edits show
up and untouched samples come back identical.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cft.errors import OfflineError, UserError
from cft.prompts import CFT_INSTRUCTION, cft_input, cft_user_message, split_cft_input
from cft.samples import STATUSES, Sample

SHAPES = ("alpaca", "messages", "flat")
CONTAINERS = ("jsonl", "json", "csv", "parquet", "hf")
EXPORT_FORMATS = ("alpaca", "messages", "parquet", "hf")
MAX_LISTED_ERRORS = 20

# Sample fields an import may fill from a record, and the column names tried when no mapping names them.
_DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
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
# Extra top-level fields of an alpaca/messages record that are also sample fields: imported into the sample and
# exported from it (so an edit to e.g. the reference answer shows up), when they are strings.
_PASSTHROUGH_FIELDS = ("reference_answer", "reference_solution", "source", "student_model", "teacher")
_ID_FIELDS = ("id", "key", "uid", "sample_id")


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


class _BadRow(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


# -- reading containers --------------------------------------------------------------------------------------------
def _detect_container(path: Path, fmt: str) -> str:
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


def _records_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
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


def _records_json(path: Path) -> Iterator[tuple[int, Any]]:
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


def _records_csv(path: Path) -> Iterator[tuple[int, Any]]:
    text = _decode_whole(path, path.read_bytes(), "utf-8-sig")
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    for row in reader:
        if None in row:  # more cells than header columns
            yield reader.line_num, RowError(reader.line_num, "", f"{len(row[None])} more cell(s) than the header has")
            continue
        # csv has no nulls: an empty cell is a missing value.
        yield reader.line_num, {k: (v if v != "" else None) for k, v in row.items()}


def _records_table(rows: Iterator[dict]) -> Iterator[tuple[int, Any]]:
    yield from enumerate(rows, 1)


def _records_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        raise ImportFailed(str(path), [RowError(0, "", f"not a readable Parquet file: {exc}")]) from exc
    yield from enumerate(table.to_pylist(), 1)


def _load_hf_dir(path: Path):
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001
        raise ImportFailed(str(path), [RowError(0, "", f"not a dataset saved with save_to_disk: {exc}")]) from exc
    return _pick_split(ds, "train", str(path))


def _pick_split(ds, split: str, source: str):
    import datasets

    if isinstance(ds, datasets.DatasetDict):
        if split in ds:
            return ds[split]
        if len(ds) == 1:
            return next(iter(ds.values()))
        raise UserError(f"{source}: no split {split!r}; it has {sorted(ds)}")
    return ds


# -- records -> samples --------------------------------------------------------------------------------------------
def _detect_shape(record: Any) -> str:
    if isinstance(record, dict):
        if "messages" in record:
            return "messages"
        if "instruction" in record and "output" in record:
            return "alpaca"
    return "flat"


def _frame(raw: str, question: str, response: str) -> dict:
    """How ``raw`` wraps question and response, so export rebuilds it exactly: a named template or the text
    around them (``prefix + question + sep + response``), or, if neither reproduces it, the raw text itself."""
    if raw == cft_user_message(question, response):
        return {"template": "cft"}
    if raw == cft_input(question, response):
        return {"template": "input"}
    end = len(raw) - len(response)
    label = raw.find("Question:")
    if raw.endswith(response) and label >= 0:
        # The question starts right after the label and its whitespace (split_cft_input's rule); searching for
        # the question text instead could match inside the label ("Q") and break later edits.
        start = label + len("Question:")
        while start < end and raw[start].isspace() and not raw.startswith(question, start):
            start += 1
        prefix, sep = raw[:start], raw[start + len(question):end]
        if raw.startswith(question, start) and prefix + question + sep + response == raw:
            return {"template": "frame", "prefix": prefix, "sep": sep}
    return {"template": "raw", "raw": raw, "question": question, "response": response}


def _unframe(frame: dict | None, question: str, response: str, default: str) -> str:
    template = (frame or {}).get("template", default)
    if template == "cft":
        return cft_user_message(question, response)
    if template == "input":
        return cft_input(question, response)
    if template == "frame":
        return frame["prefix"] + question + frame["sep"] + response
    if template == "raw" and frame["question"] == question and frame["response"] == response:
        return frame["raw"]
    # Edited since import (or a new sample): the canonical form.
    return cft_user_message(question, response) if default == "cft" else cft_input(question, response)


def _split(text: str, field_name: str) -> tuple[str, str]:
    try:
        question, response = split_cft_input(text)
    except ValueError as exc:
        raise _BadRow(field_name, f"{exc} (expected 'Question:\\n…\\n\\nSolution:\\n…')") from exc
    # Hand-made frames leave blank lines around the question; the frame kept in meta restores them on export.
    return question.strip(), response


def _want_str(record: dict, name: str, *, required: bool = True) -> str | None:
    if name not in record or record[name] is None:
        if required:
            raise _BadRow(name, "missing")
        return None
    value = record[name]
    if not isinstance(value, str):
        raise _BadRow(name, f"wrong type: expected a string, got {type(value).__name__}")
    return value


def _extras(record: dict, used: set[str], sample: Sample) -> dict:
    """Top-level fields the shape does not use: sample fields when they are strings, the rest kept verbatim."""
    extra = {}
    for name, value in record.items():
        if name in used:
            continue
        if name in _PASSTHROUGH_FIELDS and isinstance(value, str):
            setattr(sample, name, value)
        else:
            extra[name] = value
    return extra


def _from_alpaca(record: dict) -> Sample:
    instruction = _want_str(record, "instruction", required=False)
    text = _want_str(record, "input", required=False) or ""
    output = _want_str(record, "output")
    if not text.strip() and instruction:
        # Everything in the instruction (some exports put the whole prompt there).
        q, r = _split(instruction, "instruction")
        frame, where = _frame(instruction, q, r), "instruction"
    else:
        q, r = _split(text, "input")
        frame, where = _frame(text, q, r), "input"
    sample = Sample(question=q, response=r, critique=output)
    info = {"format": "alpaca", "fields": list(record), "frame": frame, "framed": where,
            "instruction": instruction}
    info["extra"] = _extras(record, {"instruction", "input", "output"}, sample)
    sample.meta["import"] = info
    return sample, False


def _from_messages(record: dict) -> Sample:
    if "messages" not in record:
        raise _BadRow("messages", "missing")
    messages = record["messages"]
    if not isinstance(messages, list):
        raise _BadRow("messages", f"wrong type: expected a list of {{role, content}}, got {type(messages).__name__}")
    user = assistant = None
    skeleton = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise _BadRow(f"messages[{i}]", f"wrong type: expected an object, got {type(msg).__name__}")
        role, content = msg.get("role"), msg.get("content")
        if not isinstance(role, str):
            raise _BadRow(f"messages[{i}].role", "missing" if role is None else "wrong type: expected a string")
        if not isinstance(content, str):
            raise _BadRow(f"messages[{i}].content",
                          "missing" if content is None else f"wrong type: expected a string, got {type(content).__name__}")
        if role == "user" and user is None:
            user = i
            skeleton.append({**msg, "content": None})
        elif role == "assistant" and user is not None and assistant is None:
            assistant = i
            skeleton.append({**msg, "content": None})
        else:
            skeleton.append(msg)
    if user is None:
        raise _BadRow("messages", "no user turn (expected the question and solution there)")
    q, r = _split(messages[user]["content"], f"messages[{user}].content")
    critique = messages[assistant]["content"] if assistant is not None else ""
    sample = Sample(question=q, response=r, critique=critique)
    info = {"format": "messages", "fields": list(record), "frame": _frame(messages[user]["content"], q, r),
            "messages": skeleton, "has_assistant": assistant is not None}
    info["extra"] = _extras(record, {"messages"}, sample)
    sample.meta["import"] = info
    return sample, False


def _from_flat(record: dict, mapping: dict[str, str]) -> Sample:
    values: dict[str, Any] = {}
    used: set[str] = set()
    for name, candidates in _DEFAULT_COLUMNS.items():
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
                        raise _BadRow(column, f"wrong type: expected a string, got {type(value).__name__}")
                values[name] = value
                break
    if "question" in mapping and mapping["question"] not in record:
        raise _BadRow(mapping["question"], "missing question (the column named by the mapping is absent)")
    if not (values.get("question") or "").strip():
        column = mapping.get("question", "question")
        raise _BadRow(column, "missing question")
    status = values.pop("status", None)
    sample = Sample(**{k: v for k, v in values.items() if v is not None})
    if status is not None:
        if status not in STATUSES:
            raise _BadRow(mapping.get("status", "status"), f"status must be one of {STATUSES}, got {status!r}")
        sample.status = status
    extra = {k: v for k, v in record.items() if k not in used}
    sample.meta["import"] = {"format": "flat", "extra": extra}
    return sample, status is not None


def _finish(sample: Sample, record: dict, stem: str, lineno: int, *, status_given: bool) -> Sample:
    sample.source = sample.source or stem
    record_id = next((record[f] for f in _ID_FIELDS if isinstance(record.get(f), (str, int))
                      and not isinstance(record.get(f), bool)), None)
    if sample.key is None:
        sample.key = str(record_id) if record_id is not None else f"{stem}:{lineno}"
    if sample.critique and sample.original_critique is None:
        sample.original_critique = sample.critique  # the teacher's version, shown to annotators as a suggestion
    if not status_given:
        sample.status = "pending" if sample.critique else "uncritiqued"
    return _compute_flags(sample)


def _compute_flags(sample: Sample) -> Sample:
    try:
        from cft.flags import compute_flags
    except ImportError:
        from cft.samples import with_parsed_verdict

        return with_parsed_verdict(sample)
    return compute_flags(sample)


def _convert(records: Iterator[tuple[int, Any]], shape: str, mapping: dict[str, str], stem: str,
             unit: str = "line") -> tuple[list[Sample], list[RowError], str]:
    samples: list[Sample] = []
    errors: list[RowError] = []
    seen_keys: dict[str, int] = {}
    for lineno, record in records:
        if isinstance(record, RowError):
            errors.append(record)
            continue
        if not isinstance(record, dict):
            errors.append(RowError(lineno, "", f"wrong type: expected an object (a record), got {type(record).__name__}",
                                   unit))
            continue
        if shape == "auto":
            shape = _detect_shape(record)
        try:
            if shape == "alpaca":
                sample, status_given = _from_alpaca(record)
            elif shape == "messages":
                sample, status_given = _from_messages(record)
            else:
                sample, status_given = _from_flat(record, mapping)
            sample = _finish(sample, record, stem, lineno, status_given=status_given)
        except _BadRow as exc:
            errors.append(RowError(lineno, exc.field, exc.reason, unit))
            continue
        if sample.key in seen_keys:
            # Caught here (not by the store's unique index) so the report names both lines.
            errors.append(RowError(lineno, "id", f"duplicate id {sample.key!r} (first on {unit} {seen_keys[sample.key]})",
                                   unit))
            continue
        seen_keys[sample.key] = lineno
        samples.append(sample)
    return samples, errors, shape


def _check_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(_DEFAULT_COLUMNS))
    if unknown:
        raise UserError(f"unknown field(s) in the column mapping: {unknown}; map any of {list(_DEFAULT_COLUMNS)}")
    return mapping


def _result(source: str, samples, errors, shape, skip_bad: bool) -> ImportResult:
    if not samples and not errors:
        raise ImportFailed(source, [RowError(0, "", "empty file: no records")])
    if errors and not skip_bad:
        raise ImportFailed(source, errors, hint=" (skip_bad / --skip-bad imports the good rows)")
    if not samples:
        raise ImportFailed(source, errors, hint=" (no good row at all)")
    return ImportResult(samples=samples, errors=errors, format=shape)


def read_samples(path: str | Path, *, fmt: str = "auto", mapping: dict[str, str] | None = None,
                 skip_bad: bool = False) -> ImportResult:
    """Parse a file (or a saved ``datasets`` directory) into samples, without touching the store.

    ``fmt``: ``auto`` (container from the extension, shape from the first record), a shape (``alpaca``,
    ``messages``, ``flat``) or a container (``jsonl``, ``json``, ``csv``, ``parquet``, ``hf``).
    """
    path = Path(path)
    if fmt not in ("auto", *SHAPES, *CONTAINERS):
        raise UserError(f"unknown format {fmt!r}; use auto, {', '.join(SHAPES)} or {', '.join(CONTAINERS)}")
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    mapping = _check_mapping(mapping)
    container = _detect_container(path, fmt)
    shape = fmt if fmt in SHAPES else "auto"
    if container == "hf":
        ds = _load_hf_dir(path)
        records = _records_table(iter(ds))
    else:
        if path.is_dir():
            raise UserError(f"{path} is a directory, not a {container} file")
        if path.stat().st_size == 0:
            raise ImportFailed(str(path), [RowError(0, "", "empty file: no records")])
        records = {"jsonl": _records_jsonl, "json": _records_json, "csv": _records_csv,
                   "parquet": _records_parquet}[container](path)
    unit = "line" if container in ("jsonl", "csv") else "record"
    samples, errors, shape = _convert(records, shape, mapping, path.stem, unit)
    return _result(str(path), samples, errors, shape, skip_bad)


def _store_result(store, dataset: str, result: ImportResult, on_conflict: str) -> ImportResult:
    for s in result.samples:
        s.dataset = dataset
    result.ids = store.add_samples(dataset, result.samples, on_conflict=on_conflict)
    return result


def import_file(store, path: str | Path, dataset: str, *, fmt: str = "auto", mapping: dict[str, str] | None = None,
                skip_bad: bool = False, on_conflict: str = "error") -> ImportResult:
    """Read ``path`` and add its samples to ``dataset`` in one transaction. ``result.ids``: the new ids
    (with ``on_conflict="ignore"``, re-importing the same file adds nothing: keys are ``<stem>:<line>`` or ids)."""
    return _store_result(store, dataset, read_samples(path, fmt=fmt, mapping=mapping, skip_bad=skip_bad), on_conflict)


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def import_hub(store, repo_id: str, dataset: str, split: str = "train", *, fmt: str = "auto",
               mapping: dict[str, str] | None = None, skip_bad: bool = False, on_conflict: str = "error",
               token: str | None = None) -> ImportResult:
    """Import a split of a Hub dataset (online only)."""
    if _hub_offline():
        raise OfflineError(f"cannot fetch Hub dataset {repo_id!r}: HF_HUB_OFFLINE is set (offline). Download it "
                           f"elsewhere and import the file, or unset HF_HUB_OFFLINE when online.")
    import datasets

    try:
        ds = datasets.load_dataset(repo_id, split=split, token=token)
    except Exception as exc:  # noqa: BLE001 - network failures surface as many exception types
        text = f"{type(exc).__name__}: {exc}"
        if any(w in text.lower() for w in ("connection", "offline", "resolve", "timed out", "network", "max retries")):
            raise OfflineError(f"cannot fetch Hub dataset {repo_id!r}: the network is unreachable ({text})") from exc
        raise UserError(f"cannot load Hub dataset {repo_id!r} split {split!r}: {text}") from exc
    if fmt not in ("auto", *SHAPES):
        raise UserError(f"unknown record shape {fmt!r} for a Hub dataset; use auto, {', '.join(SHAPES)}")
    samples, errors, shape = _convert(_records_table(iter(ds)), fmt, _check_mapping(mapping),
                                      repo_id.replace("/", "__"), "record")
    return _store_result(store, dataset, _result(repo_id, samples, errors, shape, skip_bad), on_conflict)


# -- export ------------------------------------------------------------------------------------------------------
def _with_extras(info: dict, built: dict, sample: Sample) -> dict:
    """Put the built fields and the kept extras back in the record's original field order."""
    extra = dict(info.get("extra") or {})
    for name in _PASSTHROUGH_FIELDS:
        if name in (info.get("fields") or ()) and name not in extra:
            built[name] = getattr(sample, name)
    order = info.get("fields") or list(built)
    out = {}
    for name in order:
        if name in built:
            out[name] = built[name]
        elif name in extra:
            out[name] = extra[name]
    for name, value in {**built, **extra}.items():
        out.setdefault(name, value)
    return out


def to_alpaca(sample: Sample) -> dict:
    info = sample.meta.get("import") or {}
    if info.get("format") == "alpaca":
        framed = _unframe(info.get("frame"), sample.question, sample.response, "input")
        if info.get("framed") == "instruction":
            built = {"instruction": framed, "input": "", "output": sample.critique}
        else:
            built = {"instruction": info.get("instruction"), "input": framed, "output": sample.critique}
        if "instruction" not in info.get("fields", ["instruction"]):
            built.pop("instruction")
        return _with_extras(info, built, sample)
    return {"instruction": CFT_INSTRUCTION, "input": cft_input(sample.question, sample.response),
            "output": sample.critique}


def to_messages(sample: Sample) -> dict:
    info = sample.meta.get("import") or {}
    if info.get("format") == "messages":
        user = _unframe(info.get("frame"), sample.question, sample.response, "cft")
        messages, seen_user = [], False
        for msg in info.get("messages") or []:
            if msg.get("content") is None and msg.get("role") == "user" and not seen_user:
                messages.append({**msg, "content": user})
                seen_user = True
            elif msg.get("content") is None and msg.get("role") == "assistant":
                messages.append({**msg, "content": sample.critique})
            else:
                messages.append(msg)
        if not info.get("has_assistant") and sample.critique:
            messages.append({"role": "assistant", "content": sample.critique})
        return _with_extras(info, {"messages": messages}, sample)
    return {"messages": [{"role": "user", "content": cft_user_message(sample.question, sample.response)},
                         {"role": "assistant", "content": sample.critique}]}


_FLAT_COLUMNS = (
    "id", "key", "dataset", "question", "response", "critique", "verdict", "reference_answer", "reference_solution",
    "source", "student_model", "teacher", "original_critique", "status", "revision", "created_at", "updated_at",
    "annotator",
)


def to_flat(sample: Sample) -> dict:
    row = {name: getattr(sample, name) for name in _FLAT_COLUMNS}
    # JSON text keeps one column type across rows (Arrow needs that; flag names differ between samples).
    row["flags"] = json.dumps(sample.flags, ensure_ascii=False, sort_keys=True)
    row["meta"] = json.dumps(sample.meta, ensure_ascii=False, sort_keys=True)
    return row


def _atomic_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _export_filters(reviewed_only: bool, filters: dict) -> dict:
    filters = dict(filters)
    if reviewed_only:
        if filters.get("status") not in (None, "reviewed", ["reviewed"]):
            raise UserError(f"reviewed_only conflicts with status={filters['status']!r}")
        filters["status"] = "reviewed"
    elif filters.get("status") is None:
        # Discarded samples are out unless a caller names the status explicitly.
        filters["status"] = [s for s in STATUSES if s != "discarded"]
    return filters


def export_samples(store, dataset: str, path: str | Path, fmt: str, *, reviewed_only: bool = False,
                   ensure_ascii: bool = False, hub_repo: str | None = None, token: str | None = None,
                   private: bool = True, **filters) -> Path:
    """Write ``dataset``'s samples to ``path`` as ``fmt`` (alpaca | messages | parquet | hf); returns the path.

    Discarded samples are skipped unless ``status`` names them. Other ``filters`` go to :meth:`Store.query`
    (verdict, flag, source, search). ``hf`` saves a ``datasets.Dataset`` with ``save_to_disk`` and, when a
    ``token`` and ``hub_repo`` are given, pushes it to the Hub.
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if dataset not in {d["name"] for d in store.datasets()}:
        raise UserError(f"no dataset named {dataset!r}")
    unknown = sorted(set(filters) - {"status", "verdict", "flag", "source", "search"})
    if unknown:
        raise UserError(f"unknown export filter(s) {unknown}; use status, verdict, flag, source, search")
    samples = store.iter_samples(dataset, **_export_filters(reviewed_only, filters))
    path = Path(path)
    if fmt in ("alpaca", "messages"):
        convert = to_alpaca if fmt == "alpaca" else to_messages
        tmp = _atomic_path(path)
        n = 0
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            for sample in samples:
                fh.write(json.dumps(convert(sample), ensure_ascii=ensure_ascii) + "\n")
                n += 1
        if n == 0:
            tmp.unlink()
            raise UserError(f"dataset {dataset!r}: no samples match the export filters; nothing written")
        os.replace(tmp, path)
        return path
    rows = []
    for sample in samples:
        row = to_flat(sample)
        if fmt == "hf":
            row["messages"] = to_messages(Sample(**{**sample.to_dict(), "meta": {}}))["messages"]
        rows.append(row)
    if not rows:
        raise UserError(f"dataset {dataset!r}: no samples match the export filters; nothing written")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        tmp = _atomic_path(path)
        pq.write_table(pa.Table.from_pylist(rows), tmp)
        os.replace(tmp, path)
        return path
    import datasets

    ds = datasets.Dataset.from_list(rows)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} exists and is not a directory; hf export writes a save_to_disk directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    ds.save_to_disk(str(tmp_dir))
    if path.exists():
        shutil.rmtree(path)
    shutil.move(str(tmp_dir), str(path))
    if token and hub_repo:
        if _hub_offline():
            raise OfflineError(f"saved {path}, but cannot push to {hub_repo!r}: HF_HUB_OFFLINE is set")
        ds.push_to_hub(hub_repo, token=token, private=private)
    return path
