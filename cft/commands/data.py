"""``python -m cft import | export | datasets | stats``: move samples in and out of the store and look at it.

    python -m cft import data.jsonl --dataset cft-600
    python -m cft import table.csv --dataset mine --map question=problem --map critique=crit --skip-bad
    python -m cft export --dataset cft-600 --format alpaca --out cft.jsonl --reviewed-only
    python -m cft datasets
    python -m cft datasets --delete cft-600 --confirm cft-600
    python -m cft stats --dataset cft-600
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from cft.errors import UserError
from cft.data.samples import STATUSES, VERDICTS

_IMPORT_FORMATS = ("auto", "alpaca", "messages", "flat", "jsonl", "json", "csv", "parquet", "hf")


def _parser(sub, name: str, help_text: str, epilog: str = ""):
    return sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def register(sub) -> None:
    p = _parser(sub, "import", "import critique samples from a file, a saved dataset dir or a Hub id",
                "formats: alpaca {instruction,input,output}; messages {messages:[user,assistant]}; flat\n"
                "JSONL/JSON/CSV/Parquet columns (rename with --map FIELD=COLUMN); a save_to_disk directory.\n"
                "Import is all-or-nothing unless --skip-bad; every bad row is listed with its line.")
    p.add_argument("source", metavar="FILE", help="a .jsonl/.json/.csv/.parquet file, a saved dataset dir, or a Hub id")
    p.add_argument("--dataset", required=True, help="the store dataset to add the samples to (created if new)")
    p.add_argument("--format", default="auto", choices=_IMPORT_FORMATS,
                   help="record shape or container (default: detect from the extension and first record)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="read FIELD (question, response, critique, reference_answer, ...) from COLUMN; repeatable")
    p.add_argument("--skip-bad", action="store_true", help="import the good rows and report the bad ones")
    p.add_argument("--ignore-existing", action="store_true",
                   help="skip samples whose key is already in the dataset (re-importing a file adds nothing)")
    p.add_argument("--split", default="train", help="split of a Hub dataset (default train)")
    p.set_defaults(handler=run_import)

    p = _parser(sub, "export", "export a dataset for training or sharing (discarded samples are left out)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--format", required=True, choices=("alpaca", "messages", "parquet", "hf"))
    p.add_argument("--out", required=True, type=Path, help="output file (a directory for --format hf)")
    p.add_argument("--reviewed-only", action="store_true", help="only samples a human marked reviewed")
    p.add_argument("--status", action="append", choices=STATUSES, help="only these statuses (repeatable)")
    p.add_argument("--verdict", action="append", choices=VERDICTS, help="only these verdicts (repeatable)")
    p.add_argument("--flag", default=None, help="a flag name, 'any' or 'none'")
    p.add_argument("--ascii", action="store_true", help="escape non-ASCII characters in JSONL (\\uXXXX)")
    p.add_argument("--hub-repo", default=None, help="with --format hf and a token: also push_to_hub to this repo")
    p.add_argument("--token", default=None, help="Hub token for --hub-repo (default $HF_TOKEN)")
    p.set_defaults(handler=run_export)

    p = _parser(sub, "datasets", "list the store's datasets, or delete one (--delete NAME --confirm NAME)")
    p.add_argument("--delete", metavar="NAME", help="delete this dataset and all its samples and history")
    p.add_argument("--confirm", metavar="NAME", help="the dataset's name again, to confirm --delete")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_datasets)

    p = _parser(sub, "stats", "counts per status, verdict and flag (one dataset or the whole store)")
    p.add_argument("--dataset", default=None)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_stats)


def _store():
    from cft.data.store import Store

    return Store()


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise UserError(f"--map expects FIELD=COLUMN (e.g. question=problem), got {item!r}")
        mapping[field.strip()] = column.strip()
    return mapping


def run_import(args) -> int:
    from cft.data import formats

    store = _store()
    mapping = _parse_map(args.map)
    path = Path(args.source)
    on_conflict = "ignore" if args.ignore_existing else "error"
    common = dict(mapping=mapping, skip_bad=args.skip_bad, on_conflict=on_conflict)
    if not path.exists() and "/" in args.source and not args.source.startswith((".", "/")) \
            and args.source.count("/") == 1 and not path.suffix:
        fmt = args.format if args.format in ("auto", "alpaca", "messages", "flat") else "auto"
        result = formats.import_hub(store, args.source, args.dataset, split=args.split, fmt=fmt, **common)
    else:
        result = formats.import_file(store, path, args.dataset, fmt=args.format, **common)
    for error in result.errors:
        print(f"skipped {args.source}: {error}", file=sys.stderr)
    skipped_keys = len(result.samples) - len(result.ids)
    stats = store.stats(args.dataset)
    print(f"imported {len(result.ids)} sample(s) into {args.dataset!r} ({result.format} format)"
          + (f", {len(result.errors)} bad row(s) skipped" if result.errors else "")
          + (f", {skipped_keys} already present" if skipped_keys else ""))
    print(f"dataset {args.dataset!r} now: {stats['total']} samples; verdicts "
          + ", ".join(f"{k} {v}" for k, v in stats["verdict"].items()))
    return 0


def run_export(args) -> int:
    from cft.data import formats

    store = _store()
    filters = {k: v for k, v in (("status", args.status), ("verdict", args.verdict), ("flag", args.flag)) if v}
    token = args.token or os.environ.get("HF_TOKEN")
    if args.hub_repo and args.format != "hf":
        raise UserError("--hub-repo works with --format hf")
    if args.hub_repo and not token:
        raise UserError("--hub-repo needs a token: pass --token or set HF_TOKEN")
    out = formats.export_samples(store, args.dataset, args.out, args.format, reviewed_only=args.reviewed_only,
                                 ensure_ascii=args.ascii, hub_repo=args.hub_repo, token=token, **filters)
    count = store.query(args.dataset, **formats.export_filters(args.reviewed_only, filters), limit=0)[1]
    print(f"wrote {count} sample(s) from {args.dataset!r} to {out} ({args.format})"
          + (f"; pushed to {args.hub_repo}" if args.hub_repo else ""))
    return 0


def run_datasets(args) -> int:
    store = _store()
    if args.delete or args.confirm:
        if not args.delete:
            raise UserError("--confirm goes with --delete NAME")
        if args.confirm is None:
            raise UserError(f"deleting {args.delete!r} removes all its samples and history; "
                            f"repeat its name: --delete {args.delete} --confirm {args.delete}")
        n = store.delete_dataset(args.delete, confirm=args.confirm)
        print(f"deleted dataset {args.delete!r} ({n} samples)")
        return 0
    rows = store.datasets()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no datasets yet: python -m cft import FILE --dataset NAME")
        return 0
    width = max(len("name"), *(len(r["name"]) for r in rows))
    print(f"{'name':<{width}}  {'samples':>8}  {'created':<16}  description")
    for r in rows:
        created = datetime.fromtimestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M")
        print(f"{r['name']:<{width}}  {r['count']:>8}  {created:<16}  {r['description']}")
    return 0


def run_stats(args) -> int:
    store = _store()
    if args.dataset is not None and args.dataset not in {d["name"] for d in store.datasets()}:
        raise UserError(f"no dataset named {args.dataset!r}; see: python -m cft datasets")
    stats = store.stats(args.dataset)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{args.dataset or 'all datasets'}: {stats['total']} samples")
    for section in ("status", "verdict"):
        values = {k: v for k, v in stats[section].items() if k != "total"}
        print(f"  {section:<8} " + "  ".join(f"{k} {v}" for k, v in values.items()))
    flags = stats["flags"]
    print("  flags    " + ("  ".join(f"{k} {v}" for k, v in flags.items()) if flags else "none"))
    return 0
