"""The rows every write keeps beside a sample: its flag rows (``sample_flags``) and its place in ``sample_counts``.

They are written by the write path, in the same transaction as the sample, for every backend alike (no trigger to
keep in two SQL dialects). A count changes by an ``INSERT ... ON CONFLICT DO UPDATE SET n = n + delta``: atomic
per row on both backends, so concurrent writers never lose an increment; rows are touched in sorted key order so
two PostgreSQL transactions never wait on each other in a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

FLAG_COLUMNS = ("flag", "part", "status", "verdict", "source", "updated_at", "sample_id")
ALL = ""  # the flag column of the counts row that counts samples (any flag name is non-empty)


def count_keys(part: int, source: str, status: str, verdict: str, flags: Iterable[str]) -> list[tuple]:
    """The counts cells one sample adds 1 to: the sample itself, and one per flag name it carries."""
    names = [f for f in flags if f != ALL]
    keys = [(part, ALL, source, status, verdict, int(bool(names)))]
    keys += [(part, name, source, status, verdict, 1) for name in names]
    return keys


def flag_rows(sample_id: int, part: int, status: str, verdict: str, source: str, updated_at: float,
              flags: Iterable[str]) -> list[tuple]:
    return [(name, part, status, verdict, source, updated_at, sample_id) for name in flags if name != ALL]


def apply(db, deltas: Counter) -> None:
    """Add ``deltas`` ({count key: change}) to ``sample_counts``; inside the caller's write transaction."""
    rows = [(*key, n) for key, n in sorted(deltas.items()) if n]
    db.many(
        "INSERT INTO sample_counts(part, flag, source, status, verdict, flagged, n) VALUES (?,?,?,?,?,?,?) "
        "ON CONFLICT (part, flag, source, status, verdict, flagged) DO UPDATE SET n = sample_counts.n + excluded.n",
        rows,
    )


def recount(db, part: int | None = None) -> None:
    """Rebuild ``sample_counts`` (of one part, or all) from the rows: for migrations and repairs."""
    where, params = ("WHERE part = ?", [part]) if part is not None else ("", [])
    db.execute(f"DELETE FROM sample_counts {where}", params)
    db.execute(f"INSERT INTO sample_counts(part, flag, source, status, verdict, flagged, n) "
               f"SELECT part, '', source, status, verdict, flagged, COUNT(*) FROM samples {where} "
               f"GROUP BY part, source, status, verdict, flagged", params)
    db.execute(f"INSERT INTO sample_counts(part, flag, source, status, verdict, flagged, n) "
               f"SELECT part, flag, source, status, verdict, 1, COUNT(*) FROM sample_flags {where} "
               f"GROUP BY part, flag, source, status, verdict", params)


def mismatches(db) -> list[str]:
    """Where ``sample_counts`` disagrees with the rows (empty: it agrees): what a consistency check reports."""
    actual: Counter = Counter()
    for part, source, status, verdict, flagged, n in db.all(
            "SELECT part, source, status, verdict, flagged, COUNT(*) FROM samples "
            "GROUP BY part, source, status, verdict, flagged"):
        actual[(part, ALL, source, status, verdict, flagged)] = n
    for part, flag, source, status, verdict, n in db.all(
            "SELECT part, flag, source, status, verdict, COUNT(*) FROM sample_flags "
            "GROUP BY part, flag, source, status, verdict"):
        actual[(part, flag, source, status, verdict, 1)] = n
    kept = Counter({tuple(r[:6]): r[6] for r in db.all(
        "SELECT part, flag, source, status, verdict, flagged, n FROM sample_counts WHERE n <> 0")})
    return [f"counts {key}: kept {kept[key]}, rows {actual[key]}" for key in sorted(set(actual) | set(kept))
            if kept[key] != actual[key]]
