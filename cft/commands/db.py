"""``python -m cft db info | migrate | copy``: where the sample store is, its schema, and moving it.

    python -m cft db info                                   # the store CFT_DATABASE_URL names (default: SQLite)
    python -m cft db info --url postgresql://team@db/cft --check
    python -m cft db migrate                                # bring the schema up to date; purge killed imports
    python -m cft db copy --from sqlite:///workspace/samples.db --to postgresql://team@db/cft
    python -m cft db copy --from postgresql://team@db/cft --to sqlite:////backups/samples.db
"""

from __future__ import annotations

import json
import sys

from cft.errors import UserError

_URL_HELP = "a sqlite:///PATH or postgresql:// URL, or a SQLite file path (default: $CFT_DATABASE_URL, else " \
            "workspace/samples.db)"


def register(sub) -> None:
    p = sub.add_parser("db", help="the sample store: info, schema migration, copy between SQLite and PostgreSQL",
                       description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="db_command", metavar="ACTION")
    actions.required = True
    info = actions.add_parser("info", help="backend, location, schema version, sizes, imports in progress")
    info.add_argument("--url", default=None, help=_URL_HELP)
    info.add_argument("--check", action="store_true",
                      help="also check integrity and that the kept counts match the rows (exit 1 if not)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=run_info)
    migrate = actions.add_parser("migrate", help="upgrade the schema (one step per version) and purge what killed "
                                                 "imports left hidden")
    migrate.add_argument("--url", default=None, help=_URL_HELP)
    migrate.set_defaults(handler=run_migrate)
    copy = actions.add_parser("copy", help="copy a whole store (samples, history, datasets, flags) into an empty "
                                           "one, e.g. SQLite -> PostgreSQL")
    copy.add_argument("--from", dest="source", required=True, help="the store to copy (" + _URL_HELP + ")")
    copy.add_argument("--to", dest="target", required=True, help="an empty store to create or fill")
    copy.set_defaults(handler=run_copy)


def _raw(url):
    """The store's connection without opening it as a Store (which would migrate it)."""
    from cft.data.store.connection import Db
    from cft.data.store.dialect import dialect_for

    dialect = dialect_for(url)
    return Db(dialect.connect(), dialect)


def describe(url=None, *, check: bool = False) -> dict:
    """What ``db info`` prints, read without opening (so without migrating) the store."""
    from cft.data.store import counts, imports
    from cft.data.store.migrations import LATEST

    db = _raw(url)
    try:
        out = {"backend": db.dialect.name, "where": db.dialect.where(), "schema": db.dialect.version(db),
               "latest_schema": LATEST}
        if out["schema"] < 6:
            out["note"] = ("run `python -m cft db migrate` to upgrade the schema" if out["schema"]
                           else "empty (no schema yet)")
            return out
        out["datasets"] = db.scalar("SELECT COUNT(*) FROM datasets WHERE state = 'ready'")
        out["samples"] = int(db.scalar("SELECT COALESCE(SUM(c.n), 0) FROM sample_counts c JOIN parts p "
                                       "ON p.id = c.part WHERE p.state = 'ready' AND c.flag = ''"))
        out["history_rows"] = db.scalar("SELECT COUNT(*) FROM history")
        out["hidden_parts"] = [
            {"part": part, "dataset": name, "state": state, "owner": owner, "alive": imports.alive(owner, beat)}
            for part, name, state, owner, beat in db.all(
                "SELECT id, dataset, state, owner, heartbeat FROM parts WHERE state <> 'ready' ORDER BY id")]
        out["size_bytes"] = db.dialect.size_bytes(db)
        if check:
            out["problems"] = db.dialect.integrity(db) + counts.mismatches(db)
        return out
    finally:
        db.raw.close()


def run_info(args) -> int:
    info = describe(args.url, check=args.check)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"{info['backend']} store at {info['where']}: schema version {info['schema']} "
              f"(latest {info['latest_schema']})")
        if "note" in info:
            print(f"  {info['note']}")
        else:
            size = f", {info['size_bytes'] / 1e6:,.1f} MB" if info.get("size_bytes") else ""
            print(f"  {info['datasets']} dataset(s), {info['samples']} sample(s), {info['history_rows']} history "
                  f"row(s){size}")
            for hidden in info["hidden_parts"]:
                who = "running" if hidden["alive"] else "dead: `db migrate` purges it"
                print(f"  hidden part {hidden['part']} of {hidden['dataset']!r}: {hidden['state']} by "
                      f"{hidden['owner'] or '?'} ({who})")
        for problem in info.get("problems", []):
            print(f"  problem: {problem}")
        if args.check and not info.get("problems"):
            print("  check: integrity ok, counts match the rows")
    return 1 if info.get("problems") else 0


def run_migrate(args) -> int:
    from cft.data.store import imports
    from cft.data.store.migrations import LATEST, create_or_migrate

    db = _raw(args.url)
    try:
        before = db.dialect.version(db)
        applied = create_or_migrate(db)
        purged = imports.cleanup_stale(db)
    finally:
        db.raw.close()
    where = db.dialect.where()
    if applied:
        print(f"{where}: schema {before or 'none'} -> {LATEST} (applied: {', '.join(map(str, applied))})")
    else:
        print(f"{where}: schema {before} is up to date")
    if purged:
        print(f"purged {len(purged)} hidden part(s) left by killed imports or deletes")
    return 0


def run_copy(args) -> int:
    from cft.data.store import Store
    from cft.data.store.copy import copy_store

    src, dst = Store(args.source), Store(args.target)
    if src.url == dst.url:
        raise UserError("--from and --to name the same store")

    def progress(what: str, n: int) -> None:
        if n % 20000 < 2000:
            print(f"  {what}: {n:,}", file=sys.stderr)

    done = copy_store(src, dst, progress=progress)
    print(f"copied {done['datasets']} dataset(s), {done['samples']} sample(s) and {done['history']} history row(s) "
          f"from {src.where()} to {dst.where()}")
    src.close(), dst.close()
    return 0
