"""The benchmark registry: packaged sets, answers, subsets, custom JSONL errors, Hub ids offline."""

from __future__ import annotations

import json

import pytest

from cft.data.benchmarks import champ_solutions, get_problem, gsm8k_split, list_benchmarks, load_benchmark
from cft.errors import OfflineError, UserError

SIZES = {"gsm8k": 1319, "math500": 500, "minerva": 272, "champ": 270, "gsm8k_train": 6958, "gsm8k_val": 515,
         "math_train": 7500, "math500_val": 500, "arith": 468, "arith_train": 581, "arith_val": 132}


def test_registry_sizes_match_the_files():
    listed = {b["name"]: b["size"] for b in list_benchmarks()}
    for name, size in SIZES.items():
        assert listed[name] == size
        problems = load_benchmark(name)
        assert len(problems) == size
        assert len({p.id for p in problems}) == size, f"{name}: ids are not unique"
        assert all(p.question.strip() for p in problems), name
        # Upstream MATH train has two solutions ending in an empty \boxed{} (ids 5341, 5343); kept as questions.
        assert sum(not p.answer.strip() for p in problems) == (2 if name == "math_train" else 0), name


def test_gsm8k_answer_is_after_hashes_and_solution_before():
    p = get_problem("gsm8k/0")
    assert p.answer == "18" and p.benchmark == "gsm8k"
    assert "####" not in p.solution and "<<" not in p.solution
    assert p.solution.startswith("Janet sells 16 - 3 - 4 = 9 duck eggs a day.")
    assert gsm8k_split("a = <<1+1=2>>2\n#### 1,234 ") == ("a = 2", "1,234")


def test_math_answers_come_from_the_last_boxed_with_nested_braces():
    # math500 ships its answer; MATH train/Minerva take the solution's last \boxed{}, braces nested.
    assert get_problem("math500/0").answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    nested = [p for p in load_benchmark("math_train") if "\\frac" in p.answer]
    assert len(nested) > 100
    assert all(p.answer.count("{") == p.answer.count("}") for p in nested)
    assert get_problem("minerva/0").answer == "1.6"


def test_limit_with_seed_is_a_reproducible_subset():
    a = load_benchmark("gsm8k", limit=20, seed=3)
    b = load_benchmark("gsm8k", limit=20, seed=3)
    c = load_benchmark("gsm8k", limit=20, seed=4)
    assert [p.id for p in a] == [p.id for p in b]
    assert [p.id for p in a] != [p.id for p in c]
    assert len(a) == 20 and len({p.id for p in a}) == 20
    assert [int(p.id.split("/")[1]) for p in a] == sorted(int(p.id.split("/")[1]) for p in a)  # file order


def test_custom_jsonl_with_mapping(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"q": "1+1?", "gold": 2, "key": "a"}, {"q": "2+2?", "gold": "4", "work": "2+2=\\boxed{4}", "key": "b"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    problems = load_benchmark(path, mapping={"question": "q", "answer": "gold", "solution": "work", "id": "key"})
    assert [(p.id, p.question, p.answer, p.solution) for p in problems] == [
        ("mine/a", "1+1?", "2", None), ("mine/b", "2+2?", "4", "2+2=\\boxed{4}")]


def test_custom_jsonl_default_fields_and_answer_from_solution(tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"problem": "x?", "solution": "so \\boxed{\\frac{1}{2}}"}) + "\n")
    [p] = load_benchmark(path)
    assert (p.id, p.answer) == ("plain/0", "\\frac{1}{2}")


MAPPING = {"question": "q", "answer": "gold", "solution": "work"}


@pytest.mark.parametrize(
    "content, mapping, expected",
    [
        ('{"question": "a?", "answer": "1"}\n{"question": "b?", "answer": \n', None, r"line 2: not valid JSON"),
        ('{"question": "a?", "answer": "1"}\n{"answer": "2"}\n', None, r"line 2: field 'question' is missing"),
        ('{"q": "a?", "gold": "1"}\n{"q": "b?"}\n', MAPPING, r"line 2: field 'gold' is missing or empty"),
        ('[1, 2]\n', None, r"line 1: expected a JSON object, got list"),
        ('{"q": "a?", "gold": "1", "work": 5}\n', MAPPING, r"line 1: field 'work' must be a string, got int"),
        ('{"id": 1, "question": "a?", "answer": "1"}\n{"id": 1, "question": "b?", "answer": "2"}\n', None,
         r"line 2: duplicate id '1'"),
        ("", None, r"no problems found"),
    ],
)
def test_custom_jsonl_errors_name_file_line_and_field(tmp_path, content, mapping, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(UserError, match=expected) as info:
        load_benchmark(path, mapping=mapping)
    assert str(path) in str(info.value)


def test_non_utf8_and_unknown_names(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"question": "caf\xe9", "answer": "1"}\n')
    with pytest.raises(UserError, match="not UTF-8"):
        load_benchmark(path)
    with pytest.raises(UserError, match="unknown benchmark 'nope'"):
        load_benchmark("nope")
    with pytest.raises(UserError, match="missing.jsonl': not found"):
        load_benchmark(tmp_path / "missing.jsonl")


def test_hub_id_offline_is_a_clear_error():
    with pytest.raises(OfflineError, match="openai/gsm8k.*offline"):
        load_benchmark("openai/gsm8k")


def test_champ_solutions_expose_model_answers_and_first_wrong_steps():
    sols = champ_solutions()
    assert len(sols) == 19440
    assert {s.model for s in sols} == {"GPT-3.5", "GPT-4", "GPT-4 Turbo", "PaLM 2 Medium"}
    assert sum(s.correct is False for s in sols) == 444 and sum(s.correct is True for s in sols) == 96
    wrong = next(s for s in sols if s.correct is False)
    assert wrong.first_wrong_step and wrong.first_wrong_step in wrong.text
    first = sols[0]
    assert first.problem_id == "champ/P_Combinatorics_1" and first.answer == "239" and "29" in first.summary
    assert get_problem(first.problem_id).answer == first.answer
