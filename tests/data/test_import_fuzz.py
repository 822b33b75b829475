"""Malformed imports: every one is a clear error naming the line and the field, none a traceback, none silently
accepted, and the store is left as it was. Files editors produce (a byte-order mark, CR line ends) import.

The files are generated: one or more per known class of damage (lone surrogates, integers past 4300 digits,
nesting thousands of levels deep, CSV fields past the csv module's limit, a first record missing a field, an
unterminated CSV quote, NUL bytes, invalid UTF-8, truncation, NaN, repeated keys, wrong types, empty files), and
then seeded random mutations of valid files, which must never crash whatever they turn into.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from cft.data.formats import ImportFailed, import_file
from cft.data.store import Store
from cft.errors import UserError
from cft.prompts import cft_input, cft_user_message

Q, R, C = "What is 2 + 2?", "2 + 2 = 5", "Wrong: it is 4.\n\nConclusion: wrong [END]"
ALPACA = {"instruction": "Please critique.", "input": cft_input(Q, R), "output": C}
MESSAGES = {"messages": [{"role": "user", "content": cft_user_message(Q, R)}, {"role": "assistant", "content": C}]}
FLAT = {"question": Q, "response": R, "critique": C, "reference_answer": "4"}


HOSTILE_TEXTS = ["(" * 5000 + "1" + ")" * 5000 + " = 2", "1" * 5000 + " + 1 = 2", "\\frac{" * 3000 + " = 1",
                 "-" * 5000 + "1 = 2", "2^" * 3000 + "2 = 1", "\\boxed{" * 3000 + "4" + "}" * 3000, "9^9^9^9 = 5"]


def jsonl(*records) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


def csv_text(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def nested(depth: int, kind: str = "list") -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


def with_field(base: dict, path: list, value_json: str) -> str:
    """``base`` as JSON with the value at ``path`` replaced by raw JSON text (to write what json.dumps never would)."""
    marker = "@@VALUE@@"
    record = json.loads(json.dumps(base))
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return json.dumps(record).replace(f'"{marker}"', value_json)


# (file name, bytes, the line the error must name or None for the whole file, the field it must name or None)
def malformed_files() -> list[tuple[str, bytes, int | None, str | None]]:
    lone = '"bad \\ud800 text"'
    files = [
        ("surrogate-alpaca.jsonl", jsonl(ALPACA, with_field(ALPACA, ["output"], lone)), 2, "output"),
        ("surrogate-messages.jsonl", jsonl(with_field(MESSAGES, ["messages", 1, "content"], lone)), 1,
         "messages[1].content"),
        ("surrogate-flat.jsonl", jsonl(FLAT, FLAT | {"question": "q2"}, with_field(FLAT, ["question"], lone)), 3,
         "question"),
        ("surrogate-extra.jsonl", jsonl(with_field(ALPACA | {"note": 1}, ["note"], lone)), 1, "note"),
        ("surrogate-key.jsonl", jsonl('{"question": "q", "\\udfff": 1}'), 1, None),
        ("surrogate.json", ("[" + with_field(FLAT, ["critique"], lone) + "]").encode(), 1, "critique"),
        ("nul-in-string.jsonl", jsonl(with_field(FLAT, ["response"], '"a\\u0000b"')), 1, "response"),
        ("bigint.jsonl", jsonl(FLAT, with_field(FLAT, ["reference_answer"], "1" * 5000)), 2, None),
        ("bigint.json", ("[" + with_field(FLAT, ["reference_answer"], "9" * 4301) + "]").encode(), None, None),
        ("nan.jsonl", jsonl(with_field(FLAT, ["reference_answer"], "NaN")), 1, None),
        ("infinity.json", ("[" + with_field(FLAT, ["reference_answer"], "-Infinity") + "]").encode(), None, None),
        ("dup-key.jsonl", jsonl('{"question": "a", "question": "b"}'), 1, None),
        ("first-missing-output.jsonl", jsonl({k: v for k, v in ALPACA.items() if k != "output"}, ALPACA,
                                             ALPACA | {"input": cft_input("Q3?", R)}), 1, "output"),
        ("first-missing-messages.jsonl", jsonl({"id": 1}, MESSAGES, MESSAGES | {"id": 3}), 1, "messages"),
        ("first-missing-instruction-input.jsonl", jsonl({"output": C}, ALPACA, ALPACA | {"id": 3}), 1, "input"),
        ("csv-unterminated-quote.csv", csv_text("question,critique", 'a,"never closed', "b,c"), None, None),
        ("csv-stray-quote.csv", csv_text("question,critique", 'a,"x"y', "b,c"), 2, None),
        ("csv-nul.csv", csv_text("question,critique", "a,b\x00c", "d,e"), 2, None),
        ("csv-short-row.csv", csv_text("question,response,critique", "a,b,c", "d,e"), 3, None),
        ("csv-long-row.csv", csv_text("question,critique", "a,b,c"), 2, None),
        ("csv-dup-header.csv", csv_text("question,question", "a,b"), 1, None),
        ("csv-blank-header.csv", csv_text("question,,critique", "a,b,c"), 1, None),
        ("csv-bad-utf8.csv", b"question,critique\nok,ok\nbad,\xff\xfe\n", 3, None),
        ("bad-utf8.jsonl", jsonl(FLAT) + b'{"question": "\xc3\x28"}\n', 2, None),
        ("bad-utf8.json", b'[{"question": "a"},\n{"question": "\xe2\x82"}]', 2, None),
        ("truncated.json", json.dumps([FLAT, FLAT | {"question": "q2"}]).encode()[:-20], None, None),
        ("truncated-line.jsonl", jsonl(FLAT) + json.dumps(FLAT | {"question": "q2"}).encode()[:-7], 2, None),
        ("garbage.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, None),
        ("garbage.parquet", b"PAR1 this is not a parquet file PAR1", None, None),
        ("top-level-string.json", b'"just a string"', None, None),
        ("top-level-number.json", b"42", None, None),
        ("object-two-lists.json", json.dumps({"a": [FLAT], "b": [FLAT]}).encode(), None, None),
        ("record-is-list.jsonl", jsonl([1, 2]), 1, None),
        ("record-is-string.json", b'["text"]', 1, None),
        ("messages-not-list.jsonl", jsonl({"messages": "hi"}), 1, "messages"),
        ("content-not-str.jsonl", jsonl(with_field(MESSAGES, ["messages", 0, "content"], "[1, 2]")), 1,
         "messages[0].content"),
        ("question-dict.jsonl", jsonl(FLAT | {"question": {"text": Q}}), 1, "question"),
        ("question-number.csv.jsonl", jsonl(FLAT | {"question": 7}), 1, "question"),
        ("bad-status.jsonl", jsonl(FLAT | {"status": "approved"}), 1, "status"),
        ("no-solution-section.jsonl", jsonl(ALPACA | {"input": "Question: only"}), 1, "input"),
        ("empty.jsonl", b"", None, None),
        ("blank.jsonl", b"\n  \n\t\n", None, None),
        ("bom-only.json", b"\xef\xbb\xbf", None, None),
        ("empty-list.json", b"[]", None, None),
        ("empty-object.json", b"{}", None, None),
        ("csv-header-only.csv", csv_text("question,critique"), None, None),
    ]
    for depth in (100, 1000, 5000, 100_000):
        for kind in ("list", "dict"):
            files.append((f"deep-{kind}-{depth}.jsonl", jsonl(FLAT, '{"question": "q", "x": ' + nested(depth, kind)
                                                              + "}"), 2, None))
            files.append((f"deep-{kind}-{depth}.json", ("[" + nested(depth, kind) + "]").encode(), None, None))
    return files


def valid_unusual_files() -> list[tuple[str, bytes]]:
    big = "x" * 200_000  # past the csv module's 128 KiB field limit
    rows = [FLAT, FLAT | {"question": "q2"}]
    return [
        ("bom.jsonl", b"\xef\xbb\xbf" + jsonl(*rows)),
        ("bom.json", b"\xef\xbb\xbf" + json.dumps(rows).encode()),
        ("bom.csv", b"\xef\xbb\xbf" + csv_text("question,critique", "a,b")),
        ("cr-only.jsonl", jsonl(*rows).replace(b"\n", b"\r")),
        ("crlf.jsonl", jsonl(*rows).replace(b"\n", b"\r\n")),
        ("cr-only.csv", csv_text("question,critique", "a,b", "c,d").replace(b"\n", b"\r")),
        ("bom-cr.jsonl", b"\xef\xbb\xbf" + jsonl(ALPACA, ALPACA | {"id": 2}).replace(b"\n", b"\r")),
        ("big-field.csv", csv_text("question,critique", f"a,{big}")),
        ("jsonl-in.json", jsonl(*rows)),
        ("pretty.json", json.dumps(rows, indent=2).encode()),
        ("wrapped.json", json.dumps({"data": rows}).encode()),
        # Valid records whose text is hostile to the arithmetic and answer checks run on import (flags).
        ("hostile-math.jsonl", jsonl(*[FLAT | {"question": f"q{i}", "response": t, "critique": t + "\nConclusion: "
                                               "right [END]"} for i, t in enumerate(HOSTILE_TEXTS)])),
    ]


def mutations(rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    """Seeded random damage to valid files of every container and shape."""
    seeds = [("a.jsonl", jsonl(ALPACA, ALPACA | {"id": 2})), ("m.jsonl", jsonl(MESSAGES, MESSAGES | {"id": 2})),
             ("f.jsonl", jsonl(FLAT, FLAT | {"question": "q2"})), ("f.json", json.dumps([FLAT, MESSAGES]).encode()),
             ("f.csv", csv_text("question,response,critique", 'a,"b, quoted",c', "d,e,f"))]
    specials = [b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"\x00", b"\xff", b"\r", b"\n", b"\\ud800",
                b"\\u0000", b"1" * 5000, b"[" * 3000, b"\xef\xbb\xbf", b"NaN", b'"x":1,"x":2,']
    out = []
    for i in range(n):
        name, data = seeds[i % len(seeds)]
        data = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data) + 1)
            op = rng.random()
            if op < 0.35:
                data[pos:pos] = rng.choice(specials)
            elif op < 0.6 and len(data) > 1:
                del data[pos:pos + rng.randint(1, 8)]
            elif op < 0.85 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            else:
                data = data[:pos]
        out.append((f"mut{i}-{name}", bytes(data)))
    return out


def _clear(exc: UserError, line: int | None, field: str | None) -> bool:
    """A clear error: one message; each bad row names its line (or the whole file); the expected line and field."""
    text = str(exc)
    if not text or "Traceback" in text:
        return False
    if isinstance(exc, ImportFailed):
        if line is not None and not any(e.line == line for e in exc.errors):
            return False
        if field is not None and not any(e.field == field for e in exc.errors):
            return False
        return all(e.line > 0 or e.line == 0 and "file" in str(e) for e in exc.errors)
    return line is None and field is None and bool(re.search(r"\w", text))


def test_malformed_imports_are_clear_errors_and_editor_files_import(tmp_path, cft_home):
    store = Store()
    before = store.datasets()
    outcomes = {"files": 0, "clear errors": 0, "tracebacks": 0, "silent acceptances": 0, "valid accepted": 0}
    problems = []

    def attempt(name: str, data: bytes, dataset: str):
        path = tmp_path / name
        path.write_bytes(data)
        outcomes["files"] += 1
        try:
            return import_file(store, path, dataset), None
        except UserError as exc:
            return None, exc
        except BaseException as exc:  # noqa: BLE001 - counting tracebacks is the point
            outcomes["tracebacks"] += 1
            problems.append(f"{name}: traceback {type(exc).__name__}: {str(exc)[:200]}")
            return None, None

    for i, (name, data, line, field) in enumerate(malformed_files()):
        result, error = attempt(name, data, f"bad{i}")
        if result is not None:
            outcomes["silent acceptances"] += 1
            problems.append(f"{name}: accepted {len(result.ids)} sample(s)")
        elif error is not None:
            if _clear(error, line, field):
                outcomes["clear errors"] += 1
            else:
                problems.append(f"{name}: unclear (expected line {line}, field {field}): {str(error)[:300]}")
    for i, (name, data) in enumerate(valid_unusual_files()):
        result, error = attempt(name, data, f"ok{i}")
        if result is not None and result.ids:
            outcomes["valid accepted"] += 1
        else:
            problems.append(f"{name}: refused: {str(error)[:300]}")
    mutated = mutations(random.Random(1234), 1000)
    for i, (name, data) in enumerate(mutated):
        result, error = attempt(name, data, f"mut{i}")
        if error is not None and not _clear(error, None, None) and not isinstance(error, ImportFailed):
            problems.append(f"{name}: unclear: {str(error)[:300]}")
    print("\nimport fuzz: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    assert not problems, "\n".join(problems[:40])
    assert outcomes["tracebacks"] == 0 and outcomes["silent acceptances"] == 0
    assert outcomes["valid accepted"] == len(valid_unusual_files())
    # The store holds exactly what the accepted files brought: a refused file left nothing behind.
    names = {d["name"] for d in store.datasets()} - {d["name"] for d in before}
    assert not {n for n in names if n.startswith("bad")}
    accepted_mutations = {n for n in names if n.startswith("mut")}
    assert names == {f"ok{i}" for i in range(len(valid_unusual_files()))} | accepted_mutations


@pytest.mark.parametrize("depth", [65, 3000])
def test_deep_nesting_names_its_line(tmp_path, depth):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(jsonl(FLAT, '{"question": "q", "x": ' + nested(depth) + "}"))
    with pytest.raises(ImportFailed, match="line 2") as info:
        import_file(Store(), path, "d")
    assert "nested" in str(info.value)
