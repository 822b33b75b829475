"""Export: a dataset's samples as alpaca or messages JSONL, Parquet, or a ``datasets`` dataset (pushed to the Hub
when given a token), written atomically; and every dataset zipped at once for a demo Space."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from cft.data.formats import alpaca, flat, messages
from cft.data.formats.importer import hub_offline
from cft.data.samples import STATUSES, Sample
from cft.errors import OfflineError, UserError

EXPORT_FORMATS = ("alpaca", "messages", "parquet", "hf")
REVIEW_FIELDS = ("annotator", "kind", "verdict", "critique", "first_wrong_step", "at")


def reviews_by_sample(store, dataset: str) -> dict[int, list[dict]]:
    """Each sample's current reviews and adjudication (the team's per-sample labels), as exported with it."""
    out: dict[int, list[dict]] = {}
    for r in store.dataset_reviews(dataset):
        out.setdefault(int(r["sample_id"]), []).append({k: r[k] for k in REVIEW_FIELDS})
    return out


def _atomic_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def export_filters(reviewed_only: bool, filters: dict) -> dict:
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
    samples = store.iter_samples(dataset, **export_filters(reviewed_only, filters))
    # The team's labels go with the samples: a "reviews" field on a sample that has any (JSONL), and a "reviews"
    # column of JSON text (Parquet, hf) when the dataset has any.
    labels = reviews_by_sample(store, dataset)
    path = Path(path)
    if fmt in ("alpaca", "messages"):
        convert = alpaca.write if fmt == "alpaca" else messages.write
        tmp = _atomic_path(path)
        n = 0
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            for sample in samples:
                record = convert(sample)
                if sample.id in labels:
                    record["reviews"] = labels[sample.id]
                fh.write(json.dumps(record, ensure_ascii=ensure_ascii) + "\n")
                n += 1
        if n == 0:
            tmp.unlink()
            raise UserError(f"dataset {dataset!r}: no samples match the export filters; nothing written")
        os.replace(tmp, path)
        return path
    rows = []
    for sample in samples:
        row = flat.write(sample)
        if labels:
            row["reviews"] = json.dumps(labels.get(sample.id, []), ensure_ascii=False)
        if fmt == "hf":
            row["messages"] = messages.write(Sample(**{**sample.to_dict(), "meta": {}}))["messages"]
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
        if hub_offline():
            raise OfflineError(f"saved {path}, but cannot push to {hub_repo!r}: HF_HUB_OFFLINE is set")
        ds.push_to_hub(hub_repo, token=token, private=private)
    return path


def export_all(out_dir=None) -> Path:
    """Every dataset, every status, as Parquet (all fields: critiques, verdicts, statuses, annotators, flags) and
    messages JSONL, zipped into one file an annotator can download before a demo Space restarts."""
    import time
    import zipfile

    from cft.data.store import Store

    store = Store()
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="cft-export-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"cft-annotations-{time.strftime('%Y%m%d-%H%M%S')}.zip"
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for ds in store.datasets():
            if not ds["count"]:
                continue
            for fmt, ext in (("parquet", "parquet"), ("messages", "jsonl")):
                path = export_samples(store, ds["name"], Path(tmp) / f"{ds['name']}.{ext}", fmt, status=list(STATUSES))
                zf.write(path, arcname=path.name)
    return archive
