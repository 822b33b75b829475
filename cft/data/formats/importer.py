"""Import: records from a container or the Hub, turned into samples through their shape, all or nothing.

Every bad row is collected as a :class:`RowError` and :class:`ImportFailed` lists them; ``skip_bad=True`` keeps the
good rows and returns the errors. A sample's flags and verdict are computed on the way in. The rows are written by
``Store.add_samples``: a large file commits in short batches into a hidden part of the dataset (annotators' saves
keep going meanwhile) that appears whole at the end, or not at all if the import fails or is killed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from cft import paths
from cft.data.flags import compute_flags
from cft.data.formats import alpaca, flat, messages, validate
from cft.data.formats.containers import CONTAINERS, READERS, detect_container, load_hf_dir, records_table
from cft.data.formats.result import BadRow, ImportFailed, ImportResult, RowError
from cft.data.samples import Sample
from cft.errors import OfflineError, UserError

SHAPES = ("alpaca", "messages", "flat")
_ID_FIELDS = ("id", "key", "uid", "sample_id")


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
    return compute_flags(sample)


def _convert(records: Iterator[tuple[int, Any]], shape: str, mapping: dict[str, str], stem: str,
             unit: str = "line") -> tuple[list[Sample], list[RowError], str]:
    samples: list[Sample] = []
    errors: list[RowError] = []
    seen_keys: dict[str, int] = {}
    records = list(records)
    if shape == "auto":
        shape = validate.detect_shape(records)
    for lineno, record in records:
        if isinstance(record, RowError):
            errors.append(record)
            continue
        if not isinstance(record, dict):
            errors.append(RowError(lineno, "", f"wrong type: expected an object (a record), got {type(record).__name__}",
                                   unit))
            continue
        try:
            validate.check_record(record)
            if shape == "flat":
                sample, status_given = flat.read(record, mapping)
            else:
                sample, status_given = {"alpaca": alpaca.read, "messages": messages.read}[shape](record)
            sample = _finish(sample, record, stem, lineno, status_given=status_given)
        except BadRow as exc:
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
    unknown = sorted(set(mapping) - set(flat.COLUMNS))
    if unknown:
        raise UserError(f"unknown field(s) in the column mapping: {unknown}; map any of {list(flat.COLUMNS)}")
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
                 skip_bad: bool = False, extra_roots: tuple = ()) -> ImportResult:
    """Parse a file (or a saved ``datasets`` directory) into samples, without touching the store.

    ``fmt``: ``auto`` (container from the extension, shape from the first record), a shape (``alpaca``,
    ``messages``, ``flat``) or a container (``jsonl``, ``json``, ``csv``, ``parquet``, ``hf``).
    """
    if fmt not in ("auto", *SHAPES, *CONTAINERS):
        raise UserError(f"unknown format {fmt!r}; use auto, {', '.join(SHAPES)} or {', '.join(CONTAINERS)}")
    # Through cft.paths like every path a user names: outside the allowed roots reads like missing.
    given = Path(str(path))
    path = paths.resolve(path, "import file", extra_roots=extra_roots)
    mapping = _check_mapping(mapping)
    validate.check_size(path, str(given))
    container = detect_container(path, fmt, given.suffix)
    shape = fmt if fmt in SHAPES else "auto"
    if container == "hf":
        ds = load_hf_dir(path)
        records = records_table(iter(ds))
    else:
        if path.is_dir():
            raise UserError(f"{path} is a directory, not a {container} file")
        if path.stat().st_size == 0:
            raise ImportFailed(str(path), [RowError(0, "", "empty file: no records")])
        records = READERS[container](path)
    unit = "line" if container in ("jsonl", "csv") else "record"
    samples, errors, shape = _convert(records, shape, mapping, given.stem, unit)
    return _result(str(given), samples, errors, shape, skip_bad)


def _store_result(store, dataset: str, result: ImportResult, on_conflict: str) -> ImportResult:
    for s in result.samples:
        s.dataset = dataset
    result.ids = store.add_samples(dataset, result.samples, on_conflict=on_conflict)
    return result


def import_file(store, path: str | Path, dataset: str, *, fmt: str = "auto", mapping: dict[str, str] | None = None,
                skip_bad: bool = False, on_conflict: str = "error", extra_roots: tuple = ()) -> ImportResult:
    """Read ``path`` and add its samples to ``dataset``, all or nothing to readers. ``result.ids``: the new ids
    (with ``on_conflict="ignore"``, re-importing the same file adds nothing: keys are ``<stem>:<line>`` or ids)."""
    result = read_samples(path, fmt=fmt, mapping=mapping, skip_bad=skip_bad, extra_roots=extra_roots)
    return _store_result(store, dataset, result, on_conflict)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def import_hub(store, repo_id: str, dataset: str, split: str = "train", *, fmt: str = "auto",
               mapping: dict[str, str] | None = None, skip_bad: bool = False, on_conflict: str = "error",
               token: str | None = None) -> ImportResult:
    """Import a split of a Hub dataset (online only)."""
    if hub_offline():
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
    samples, errors, shape = _convert(records_table(iter(ds)), fmt, _check_mapping(mapping),
                                      repo_id.replace("/", "__"), "record")
    return _store_result(store, dataset, _result(repo_id, samples, errors, shape, skip_bad), on_conflict)
