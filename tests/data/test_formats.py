"""Import/export: shapes, containers, bad rows, lossless round trips, and the 600 real One-Shot-CFT samples."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from cft.errors import OfflineError, UserError
from cft.data.formats import ImportFailed, export_samples, import_file, import_hub, read_samples
from cft.prompts import CFT_INSTRUCTION, cft_input, cft_user_message
from cft.data.samples import Sample
from cft.data.store import Store

WRONG = "The sum is off by one.\n\nConclusion: wrong [END]"
RIGHT = "All steps check out.\n\nConclusion: right [END]"


@pytest.fixture
def store(cft_home) -> Store:
    s = Store()
    yield s
    s.close()


def _write_jsonl(path: Path, records, ensure_ascii=False) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=ensure_ascii) + "\n" for r in records), encoding="utf-8")
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# -- the real data -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_shot_parsed(one_shot_path):
    # Parsed once per module: the automatic flags (math checks) on 600 samples are the slow part.
    return read_samples(one_shot_path)


def _add(store, parsed, dataset):
    return store.add_samples(dataset, [copy.deepcopy(s) for s in parsed.samples])


def test_one_shot_imports_cleanly_with_verdicts(store, one_shot_parsed):
    result = one_shot_parsed
    assert result.format == "messages" and result.errors == [] and len(result.samples) == 600
    result.ids = _add(store, result, "one-shot")
    stats = store.stats("one-shot")
    # Counted by hand from the file: 558 critiques conclude right, 41 wrong. One (line 329 region, see below)
    # ends "### Conclusion\n\nThe student's solution is right. [END]": not the paper's "Conclusion: right" line,
    # so the parser reports unknown and flags it for review rather than guessing.
    assert stats["verdict"] == {"right": 558, "wrong": 41, "unknown": 1}
    assert stats["flags"].get("no_conclusion") == 1
    (unknown,) = store.query("one-shot", verdict="unknown")[0]
    assert "The student's solution is right. [END]" in unknown.critique
    assert "Conclusion: right" not in unknown.critique and "Conclusion: wrong" not in unknown.critique
    assert stats["status"]["pending"] == 600
    first = store.get(result.ids[0])
    assert first.key == "one-shot-cft-dsr-p0:1" and first.source == "one-shot-cft-dsr-p0"
    assert first.question.startswith("The pressure") and first.response.startswith("To solve the problem")
    assert first.original_critique == first.critique and first.critique.rstrip().endswith("[END]")


def test_one_shot_round_trips_byte_for_byte(store, one_shot_path, one_shot_parsed, tmp_path):
    _add(store, one_shot_parsed, "os")
    out = export_samples(store, "os", tmp_path / "back.jsonl", "messages", ensure_ascii=True)
    assert out.read_bytes() == one_shot_path.read_bytes()
    # The same through alpaca and back into messages, via a second store.
    alpaca = export_samples(store, "os", tmp_path / "alpaca.jsonl", "alpaca")
    rec = json.loads(_lines(alpaca)[0])
    assert list(rec) == ["instruction", "input", "output"] and rec["instruction"] == CFT_INSTRUCTION
    assert rec["input"].startswith("Question:\nThe pressure")
    other = Store(tmp_path / "other.db")
    import_file(other, alpaca, "a")
    again = export_samples(other, "a", tmp_path / "alpaca2.jsonl", "alpaca")
    assert again.read_bytes() == alpaca.read_bytes()
    msgs = export_samples(other, "a", tmp_path / "msgs.jsonl", "messages", ensure_ascii=True)
    assert msgs.read_bytes() == one_shot_path.read_bytes()
    other.close()


# -- alpaca / messages shapes -------------------------------------------------------------------------------------
ALPACA_RECORDS = [
    {"instruction": CFT_INSTRUCTION, "input": cft_input("What is 2+2?", "2+2=5"), "output": WRONG},
    {"instruction": "", "input": cft_user_message("Café: 3×3?", "9 ✓"), "output": RIGHT},
    # extra fields (kept in place), an id (becomes the key), a numeric answer, a hand-made frame
    {"id": "ex-7", "instruction": "Critique this.", "input": "Question: Is 7 prime?\n\n\nSolution:\n  Yes.",
     "output": RIGHT, "answer": 7, "source": "handmade", "tags": ["a", {"b": None}]},
    # everything in the instruction, input empty
    {"instruction": cft_user_message("q4", "r4"), "input": "", "output": "no verdict here"},
]


def test_alpaca_round_trip_is_lossless(store, tmp_path):
    src = _write_jsonl(tmp_path / "cft.jsonl", ALPACA_RECORDS)
    result = import_file(store, src, "al")
    assert result.format == "alpaca" and len(result.ids) == 4
    s = [store.get(i) for i in result.ids]
    assert (s[0].question, s[0].response, s[0].verdict) == ("What is 2+2?", "2+2=5", "wrong")
    assert (s[1].question, s[1].verdict) == ("Café: 3×3?", "right")
    assert (s[2].question, s[2].response, s[2].key, s[2].source) == ("Is 7 prime?", "  Yes.", "ex-7", "handmade")
    assert s[3].verdict == "unknown" and "no_conclusion" in s[3].flags and s[3].key == "cft:4"
    out = export_samples(store, "al", tmp_path / "out.jsonl", "alpaca")
    assert _lines(out) == _lines(src)  # byte-for-byte on every record, field order included
    assert [json.loads(x) for x in _lines(out)] == ALPACA_RECORDS
    # Edits show up in the export; untouched fields and extras stay.
    store.update(s[2].id, {"critique": "Edited.\n\nConclusion: wrong [END]", "source": "fixed"}, expected_revision=1)
    rec = json.loads(_lines(export_samples(store, "al", tmp_path / "o2.jsonl", "alpaca"))[2])
    assert rec["output"].startswith("Edited.") and rec["source"] == "fixed" and rec["tags"] == ["a", {"b": None}]
    assert rec["input"] == "Question: Is 7 prime?\n\n\nSolution:\n  Yes."
    store.update(s[2].id, {"question": "Is 11 prime?"}, expected_revision=2)
    rec = json.loads(_lines(export_samples(store, "al", tmp_path / "o3.jsonl", "alpaca"))[2])
    assert rec["input"] == "Question: Is 11 prime?\n\n\nSolution:\n  Yes."


def test_messages_round_trip_with_system_turn_and_extras(store, tmp_path):
    records = [
        {"messages": [{"role": "system", "content": "be terse"},
                      {"role": "user", "content": cft_user_message("q1", "r1"), "name": "u"},
                      {"role": "assistant", "content": WRONG}], "meta_field": {"x": 1}},
        {"uid": 42, "messages": [{"role": "user", "content": cft_user_message("q2", "r2")},
                                 {"role": "assistant", "content": RIGHT}]},
    ]
    src = _write_jsonl(tmp_path / "m.jsonl", records)
    result = import_file(store, src, "m")
    assert result.format == "messages"
    assert store.get(result.ids[1]).key == "42"
    out = export_samples(store, "m", tmp_path / "out.jsonl", "messages")
    assert _lines(out) == _lines(src)
    # A fresh sample (no import meta) exports in the canonical CFT form.
    store.add_samples("m", [Sample(question="q3", response="r3", critique=RIGHT)])
    rec = json.loads(_lines(export_samples(store, "m", tmp_path / "o.jsonl", "messages"))[2])
    assert rec == {"messages": [{"role": "user", "content": cft_user_message("q3", "r3")},
                                {"role": "assistant", "content": RIGHT}]}
    rec = json.loads(_lines(export_samples(store, "m", tmp_path / "a.jsonl", "alpaca"))[2])
    assert rec == {"instruction": CFT_INSTRUCTION, "input": cft_input("q3", "r3"), "output": RIGHT}


def test_reimport_same_file_with_ignore_adds_nothing(store, tmp_path):
    src = _write_jsonl(tmp_path / "cft.jsonl", ALPACA_RECORDS)
    assert len(import_file(store, src, "d").ids) == 4
    assert import_file(store, src, "d", on_conflict="ignore").ids == []
    with pytest.raises(UserError, match="already exists"):
        import_file(store, src, "d")
    assert store.counts("d")["total"] == 4


# -- bad input ---------------------------------------------------------------------------------------------------
def test_bad_rows_are_all_reported_and_nothing_is_imported(store, tmp_path):
    good = json.dumps({"messages": [{"role": "user", "content": cft_user_message("q", "r")},
                                    {"role": "assistant", "content": RIGHT}]})
    lines = [
        good.encode(),                                                                          # 1 ok
        b'{"messages": [',                                                                      # 2 bad JSON
        json.dumps({"messages": "hi"}).encode(),                                                # 3 not a list
        json.dumps({"messages": [{"role": "user", "content": 5}]}).encode(),                    # 4 content type
        json.dumps({"messages": [{"role": "user", "content": "Question:\nq only"},
                                 {"role": "assistant", "content": "x"}]}).encode(),             # 5 no Solution
        json.dumps({"messages": [{"role": "user", "content": "just text"}]}).encode(),          # 6 no Question
        b"",                                                                                    # 7 blank: skipped
        '{"messages": "caf\u00e9'.encode("latin-1") + b'"}',                                    # 8 not UTF-8
        b"[1, 2]",                                                                              # 9 not an object
        good.encode(),                                                                          # 10 ok
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ImportFailed) as info:
        import_file(store, path, "d")
    errors = {e.line: e for e in info.value.errors}
    assert sorted(errors) == [2, 3, 4, 5, 6, 8, 9]
    assert "bad JSON" in errors[2].reason
    assert errors[3].field == "messages" and "wrong type" in errors[3].reason and "list" in errors[3].reason
    assert errors[4].field == "messages[0].content" and "expected a string, got int" in errors[4].reason
    assert "no 'Solution:' section" in errors[5].reason and errors[5].field == "messages[0].content"
    assert "no 'Question:' section" in errors[6].reason
    assert "not UTF-8" in errors[8].reason and "0xe9" in errors[8].reason
    assert "expected an object" in errors[9].reason
    message = str(info.value)
    assert "7 bad row(s), nothing imported" in message and "line 8" in message and str(path) in message
    assert store.datasets() == []  # all-or-nothing
    result = import_file(store, path, "d", skip_bad=True)
    assert len(result.ids) == 2 and len(result.errors) == 7
    assert store.counts("d")["total"] == 2


def test_alpaca_missing_fields_and_types(tmp_path):
    path = _write_jsonl(tmp_path / "a.jsonl", [
        {"instruction": CFT_INSTRUCTION, "input": cft_input("q", "r"), "output": RIGHT},
        {"instruction": CFT_INSTRUCTION, "input": "Question:\n\n\nSolution:\nr", "output": RIGHT},
        {"instruction": CFT_INSTRUCTION, "input": cft_input("q", "r"), "output": ["not", "text"]},
        {"instruction": CFT_INSTRUCTION, "input": cft_input("q", "r"), "output": None},
        {"instruction": CFT_INSTRUCTION, "input": "Solution:\nr", "output": RIGHT},
    ])
    with pytest.raises(ImportFailed) as info:
        read_samples(path)
    got = [(e.line, e.field, e.reason.split(" (")[0]) for e in info.value.errors]
    assert got == [(2, "input", "empty question"), (3, "output", "wrong type: expected a string, got list"),
                   (4, "output", "missing"), (5, "input", "no 'Question:' section")]


def test_empty_files(tmp_path):
    for name, content in [("e.jsonl", b""), ("blank.jsonl", b"\n  \n"), ("e.json", b"[]"), ("e.csv", b"question\n")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ImportFailed, match="empty file"):
            read_samples(path)
    with pytest.raises(UserError, match="not found"):
        read_samples(tmp_path / "missing.jsonl")


def test_many_errors_are_listed_up_to_twenty(tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_text("{not json\n" * 30, encoding="utf-8")
    with pytest.raises(ImportFailed) as info:
        read_samples(path, skip_bad=True)  # no good row at all still fails
    assert len(info.value.errors) == 30
    assert "line 20" in str(info.value) and "line 21," not in str(info.value) and "and 10 more" in str(info.value)


def test_huge_field_imports_intact(store, tmp_path):
    big = "Let me check. " * 360_000 + "\n\nConclusion: wrong [END]"
    assert len(big) > 5_000_000
    src = _write_jsonl(tmp_path / "big.jsonl", [{"instruction": CFT_INSTRUCTION, "input": cft_input("q", "r"),
                                                 "output": big}])
    (sid,) = import_file(store, src, "big").ids
    back = store.get(sid)
    assert back.critique == big and back.verdict == "wrong"
    assert _lines(export_samples(store, "big", tmp_path / "o.jsonl", "alpaca")) == _lines(src)


# -- flat containers ----------------------------------------------------------------------------------------------
FLAT = [
    {"problem": "What is 1+1?", "cand": "2", "crit": RIGHT, "gold": "2", "note": "n1"},
    {"problem": "What is 2+3?", "cand": "6", "crit": WRONG, "gold": "5", "note": "n2"},
]
MAPPING = {"question": "problem", "response": "cand", "critique": "crit", "reference_answer": "gold"}


def _check_flat(store, dataset):
    rows = store.query(dataset)[0]
    assert [(s.question, s.response, s.verdict, s.reference_answer) for s in rows] == [
        ("What is 1+1?", "2", "right", "2"), ("What is 2+3?", "6", "wrong", "5")]
    assert rows[0].meta["import"]["extra"] == {"note": "n1"}


def test_flat_jsonl_json_csv_parquet_and_saved_dataset(store, tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    _write_jsonl(tmp_path / "f.jsonl", FLAT)
    (tmp_path / "f.json").write_text(json.dumps(FLAT), encoding="utf-8")
    with (tmp_path / "f.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(FLAT[0]))
        writer.writeheader()
        writer.writerows(FLAT)
    pq.write_table(pa.Table.from_pylist(FLAT), tmp_path / "f.parquet")
    datasets.Dataset.from_list(FLAT).save_to_disk(str(tmp_path / "saved"))
    for name in ("f.jsonl", "f.json", "f.csv", "f.parquet", "saved"):
        result = import_file(store, tmp_path / name, name.replace(".", "_"), mapping=MAPPING)
        assert result.format == "flat" and len(result.ids) == 2, name
        _check_flat(store, name.replace(".", "_"))
    # Without the mapping, "problem" is a known alias for the question; the rest lands in meta.
    result = read_samples(tmp_path / "f.csv")
    assert result.samples[0].question == "What is 1+1?" and result.samples[0].critique == ""
    assert result.samples[0].status == "uncritiqued" and "crit" in result.samples[0].meta["import"]["extra"]


def test_flat_errors_name_rows_and_columns(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("problem,crit\nq1,c\n,c\nq3,c,extra\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as info:
        read_samples(path, mapping={"question": "problem", "critique": "crit"})
    assert [(e.line, e.field) for e in info.value.errors] == [(3, "problem"), (4, "")]
    assert "missing question" in info.value.errors[0].reason
    with pytest.raises(ImportFailed) as info:
        read_samples(path, mapping={"question": "prompt"})
    assert "missing question" in info.value.errors[0].reason and info.value.errors[0].field == "prompt"
    with pytest.raises(UserError, match="unknown field"):
        read_samples(path, mapping={"questoin": "problem"})
    bad = tmp_path / "latin.csv"
    bad.write_bytes("question\nok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(ImportFailed, match="line 3.*not UTF-8"):
        read_samples(bad)
    wrong_type = _write_jsonl(tmp_path / "t.jsonl", [{"question": ["a"]}])
    with pytest.raises(ImportFailed, match="wrong type: expected a string, got list"):
        read_samples(wrong_type)


def test_hub_id_offline_is_a_clear_error(store, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="offline"):
        import_hub(store, "TIGER-Lab/One-Shot-CFT-Data", "hub")


# -- export -------------------------------------------------------------------------------------------------------
def test_export_filters_formats_and_discarded(store, tmp_path):
    import datasets
    import pyarrow.parquet as pq

    ids = store.add_samples("d", [Sample(question=f"q{i}", response=f"r{i}", critique=RIGHT, verdict="right",
                                         flags={"f": "x"} if i == 1 else {}) for i in range(4)])
    store.update(ids[0], {"status": "reviewed"}, expected_revision=1)
    store.update(ids[1], {"status": "reviewed"}, expected_revision=1)
    store.update(ids[2], {"status": "discarded"}, expected_revision=1)
    out = export_samples(store, "d", tmp_path / "all.jsonl", "messages")
    assert len(_lines(out)) == 3  # discarded left out
    assert len(_lines(export_samples(store, "d", tmp_path / "r.jsonl", "alpaca", reviewed_only=True))) == 2
    assert len(_lines(export_samples(store, "d", tmp_path / "x.jsonl", "alpaca", status="discarded"))) == 1
    assert len(_lines(export_samples(store, "d", tmp_path / "f.jsonl", "alpaca", flag="f"))) == 1
    table = pq.read_table(export_samples(store, "d", tmp_path / "d.parquet", "parquet", reviewed_only=True))
    assert table.num_rows == 2 and {"question", "response", "critique", "verdict", "status", "flags"} <= set(
        table.column_names)
    assert table.column("question").to_pylist() == ["q0", "q1"]
    assert json.loads(table.column("flags").to_pylist()[1]) == {"f": "x"}
    saved = export_samples(store, "d", tmp_path / "hf", "hf")
    ds = datasets.load_from_disk(str(saved))
    assert len(ds) == 3 and ds[0]["messages"][0]["content"] == cft_user_message("q0", "r0")
    assert ds[0]["messages"][1] == {"role": "assistant", "content": RIGHT}
    with pytest.raises(UserError, match="unknown export format"):
        export_samples(store, "d", tmp_path / "x", "csv")
    with pytest.raises(UserError, match="no dataset named"):
        export_samples(store, "nope", tmp_path / "x.jsonl", "alpaca")
    with pytest.raises(UserError, match="no samples match"):
        export_samples(store, "d", tmp_path / "none.jsonl", "alpaca", verdict="wrong")
    assert not (tmp_path / "none.jsonl").exists()


def test_duplicate_ids_and_record_numbers_in_json(tmp_path):
    path = _write_jsonl(tmp_path / "dup.jsonl", [{"id": 1, "question": "a"}, {"id": 2, "question": "b"},
                                                 {"id": 1, "question": "c"}])
    with pytest.raises(ImportFailed) as info:
        read_samples(path)
    (err,) = info.value.errors
    assert (err.line, err.field) == (3, "id") and "duplicate id '1' (first on line 1)" in err.reason
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"question": "ok"}, {"question": 3}]), encoding="utf-8")
    with pytest.raises(ImportFailed, match="record 2, field 'question': wrong type"):
        read_samples(listed)
    alpaca_then_other = _write_jsonl(tmp_path / "mixed.jsonl", [{"messages": [
        {"role": "user", "content": cft_user_message("q", "r")}, {"role": "assistant", "content": RIGHT}]},
        {"instruction": "", "input": cft_input("q", "r"), "output": RIGHT}])
    with pytest.raises(ImportFailed, match="line 2, field 'messages': missing"):
        read_samples(alpaca_then_other)
