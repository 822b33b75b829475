"""Build ``tests/data/grading_corpus.jsonl``: answer-equivalence cases that other projects wrote and labelled.

    python scripts/build_grading_corpus.py [--mirror /work/.mirror] [--out tests/data/grading_corpus.jsonl]

The cases are read out of the test files of public graders, not typed in, so each one can be traced back:
``source`` names the repository, the commit, the file, the test and the line. The repositories are git
snapshots (``fetch github:owner/name`` puts one at ``<mirror>/<owner>+<name>/repo``); nothing is imported
from them, the files are parsed with :mod:`ast` and only literals are read.

Suites (all MIT or Apache-2.0):
  math-verify  huggingface/Math-Verify tests/*.py             parametrized ``compare_strings``/``verify`` rows
  lighteval    huggingface/lighteval test_extractive_match.py  the same helper, English math rows only
  mario        MARIO-Math-Reasoning/MARIO_EVAL test_is_equiv   ``is_equiv(ground_truth, given)`` asserts
  hendrycks    hendrycks/math math_equivalence_test.py          ``is_equiv(model_output, answer)`` asserts
  open-r1      huggingface/open-r1 tests/test_rewards.py        accuracy/cosine/len reward on (completion, solution)
  gsm8k        hand-written here (below) for CFT Studio issue #18: GSM8K-style outputs and their extraction

Left out, on purpose: letter-choice rows (``NativeLetters``, ``StringExtractionConfig``: the app grades
math answers, not multiple choice); lighteval's non-English rows (their labels rest on per-language answer
anchors, and the app's prompts and benchmarks are English); tests of timeouts, configs and error handling
(no gold/prediction pair). A pair that several suites share is kept once, from the first suite, and the
others are listed in ``also_in``.

``settings`` records math-verify options a case was labelled under when they differ from
``verify(parse(gold), parse(pred))``'s defaults. ``disputed`` marks a label that is not a fact about the
answer (see DISPUTED below); such cases are reported apart, never dropped.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (suite, repo, file). Order matters: a pair seen in an earlier file is not repeated by a later one.
FILES = [
    ("math-verify", "huggingface/Math-Verify", "tests/test_all.py"),
    ("math-verify", "huggingface/Math-Verify", "tests/test_boxed.py"),
    ("math-verify", "huggingface/Math-Verify", "tests/test_strict.py"),
    ("math-verify", "huggingface/Math-Verify", "tests/test_numina_cases.py"),
    ("math-verify", "huggingface/Math-Verify", "tests/test_open_thoughts.py"),
    ("math-verify", "huggingface/Math-Verify", "tests/test_yujianll.py"),
    ("lighteval", "huggingface/lighteval", "tests/unit/metrics/test_extractive_match.py"),
    ("mario", "MARIO-Math-Reasoning/MARIO_EVAL", "math_evaluation/tests/test_is_equiv.py"),
    ("hendrycks", "hendrycks/math", "modeling/math_equivalence_test.py"),
    ("open-r1", "huggingface/open-r1", "tests/test_rewards.py"),
]

# Labels that say how a parser behaves rather than whether the answer is right. Keyed by (repo, test, row
# line); each reason says why the label is not a fact about the answer.
DISPUTED = {
    ("huggingface/Math-Verify", "test_latex_notation", "Answer $ \n 9 \n $"):
        "label encodes math-verify's rule that inline $...$ may not span lines; the answer written is 9, the gold",
    ("huggingface/Math-Verify", "test_latex_notation", "Answer \\( \n 9 \n \\)"):
        "label encodes math-verify's rule that inline \\(...\\) may not span lines; the answer written is 9, the gold",
    ("huggingface/Math-Verify", "test_string_extraction", "$1 + \\frac{1}{\\mathrm{e}}$"):
        "1 - 1/e is not 1 + 1/e; the label records that math-verify fails to parse \\mathrm{e} here and reads "
        "both sides as 1",
    ("huggingface/lighteval", "test_math_numina_cases", "$\\boxed{2,3}$"):
        "the gold is a string made to test lighteval's rule for joining boxes; whether its first box belongs to "
        "the answer is a parser convention (math-verify 0.9 joins all three), not a fact about an answer",
    ("huggingface/lighteval", "test_math_numina_cases", "$\\boxed{1,2,3}$"):
        "the gold is a string made to test lighteval's rule for joining boxes; whether its first box belongs to "
        "the answer is a parser convention (math-verify 0.9 joins all three), not a fact about an answer",
    ("MARIO-Math-Reasoning/MARIO_EVAL", "test_is_equiv_interval", "[2^{\\frac{1}{2^{1000}}}, \\infty)"):
        "2^(1/2^1000) is greater than 1, so [2^(1/2^1000), oo) is not [1, oo); the label holds only under "
        "MARIO's float tolerance",
}

# --------------------------------------------------------------------------------------------- GSM8K list

# Hand-written for CFT Studio issue #18 (source "hand-written"): GSM8K-style model outputs, the way small
# models end them, with the reference as GSM8K gives it after "####". Labels are by reading.
GSM8K_CASES = [
    ("126", "She earns 18 * 7 = 126 dollars.\nThe answer is 126 dollars.", True),
    ("126", "She earns 18 * 7 = 126 dollars.\n#### 126 dollars", True),
    ("126", "So in total she picked 126 apples.", True),
    ("126", "The answer is 126 apples.", True),
    ("126", "The answer is $126.", True),
    ("126", "The answer is: 126 dollars per week.", True),
    ("126", "#### $126", True),
    ("126", "The answer is 125 dollars.", False),
    ("126", "#### 125 dollars", False),
    ("10", "Each season lasts 10 weeks.\nThe answer is 10 weeks.", True),
    ("10", "#### 10 weeks", True),
    ("10", "The answer is 12 weeks.", False),
    ("18", "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the market.\n#### 18", True),
    ("18", "She makes 9 * 2 = $18 every day.\nThe answer is $18.00.", True),
    ("18", "She makes 9 * 2 = $18 every day.\nThe answer is 18.5.", False),
    ("3", "It takes 2 / 2 = 1 bolt of white fiber.\nSo the total amount is 2 + 1 = 3 bolts.\n#### 3", True),
    ("70000", "The house is worth 80,000 + 50,000 * 1.5 = $200,000.\n"
              "He made a profit of 200,000 - 130,000 = $70,000.\n#### 70000", True),
    ("70000", "So his profit was $70,000.\nThe answer is 70,000.", True),
    ("70000", "So his profit was $70,000.\nThe answer is 7,000.", False),
    ("1234", "The answer is 1,234 marbles.", True),
    ("1234", "#### 1,234", True),
    ("1234", "#### 1.234", False),
    ("5", "Step 1: 12 - 7 = 5\nThe answer is 5 hours.", True),
    ("5", "Step 1: 12 - 7 = 5\nThe answer is 5 hours and 30 minutes.", False),
    ("20", "The final answer is 20 miles per hour.", True),
    ("20", "Therefore, the answer is **20 cups**.", True),
    ("20", "Therefore, the answer is 2 cups.", False),
    ("8", "He has 3 + 5 = 8 toys now.", True),
    ("8", "He had 3 toys and got 5 more, so he has 8 toys now.", True),
    ("8", "He had 8 toys and gave 5 away, so he has 3 toys now.", False),
    ("-3", "The temperature dropped to -3 degrees.\n#### -3 degrees", True),
    ("0.5", "So she needs half a cup, which is 0.5 cups.\nThe answer is 0.5 cups.", True),
    ("1000.99", "The total comes to 1000,99 euros.", True),
    ("1000.99", "The answer is 1000,99.", True),
    ("2.74", "Each one costs 2,74 $.", True),
    ("1234", "#### 1,234 dollars", True),
    ("60", "#### 60 minutes", True),
    ("60", "He waited 45 minutes.\n#### 45 minutes", False),
    ("18", "**Answer:** 18", True),
    ("18", "Answer: $18", True),
    ("1234.5", "The total is $1,234.50.\nThe answer is 1,234.50.", True),
    ("1234.5", "The answer is 1,234.05.", False),
    ("40", "Step 1: 5 * 8 = 40\nStep 2: The answer is 40 pages.\n#### 40", True),
    ("40", "5 * 8 = 40 pages, then 40 - 8 = 32 pages are left.\nThe answer is 32 pages.", False),
    ("25", "25% of 100 is 25.\nThe answer is 25.", True),
    ("7", "There are 3 + 4 = 7 birds.\n\nThe answer is: **7**", True),
    ("7", "There are 3 + 4 = 7 birds.\n\nThe answer is: **8**", False),
    ("15", "So he needs 15 more dollars.\n#### 15.00", True),
    ("192", "66 + 126 = 192 kg\n#### 192 kg", True),
    ("192", "126 - 66 = 60 kg\n#### 60 kg", False),
    ("3", "She needs 3 more.\nFinal answer: 3 cups", True),
    ("0", "Nothing is left, so the answer is 0.", True),
    ("-5", "The balance is -5 dollars.\nThe answer is -5.", True),
]

# --------------------------------------------------------------------------------------------- reading files


def git_show(mirror: str, repo: str, path: str) -> tuple[str, str]:
    git_dir = os.path.join(mirror, repo.replace("/", "+"), "repo")
    if not os.path.isdir(git_dir):
        raise FileNotFoundError(f"{repo}: no snapshot at {git_dir} (fetch github:{repo} first)")
    commit = subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    text = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout
    return commit, text


class _Language:
    """Stands in for lighteval's ``Language`` enum so rows naming a language can be read as literals."""

    def __getattr__(self, name):
        return f"Language.{name}"


def literal(node: ast.AST, env: dict | None = None):
    """A literal, or an expression of literals, names bound in ``env``, ``math.*`` and ``Language.X``."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    code = compile(ast.Expression(node), "<row>", "eval")
    names = {"math": math, "Language": _Language(), **(env or {})}
    return eval(code, {"__builtins__": {}}, names)  # noqa: S307 - only snapshot test literals reach this


def _kwargs(call: ast.Call, row: dict) -> dict:
    out = {}
    for kw in call.keywords:
        if kw.arg is None:
            continue
        out[kw.arg] = row[kw.value.id] if isinstance(kw.value, ast.Name) and kw.value.id in row else literal(kw.value)
    return out


def _settings(helper: str, kwargs: dict, repo: str) -> dict:
    """math-verify options that differ from plain ``verify(parse(gold), parse(pred))``."""
    if helper == "verify":
        return {}
    out = {}
    match_types = kwargs.get("match_types", ["latex", "expr"])
    if list(match_types) != ["latex", "expr"]:
        out["match_types"] = list(match_types)
    if repo == "huggingface/Math-Verify" and "latex" in match_types:
        out["boxed_match_priority"] = 0  # Math-Verify's compare_strings builds LatexExtractionConfig(boxed_match_priority=0)
    if kwargs.get("precision", 6) != 6:
        out["float_rounding"] = kwargs["precision"]
    if kwargs.get("strict", True) is not True:
        out["strict"] = kwargs["strict"]
    if kwargs.get("allow_set_relation_comp"):
        out["allow_set_relation_comp"] = True
    if repo == "huggingface/lighteval":
        out["grader"] = "lighteval MultilingualExtractiveMatchMetric"
    return out


def parametrized_cases(suite: str, repo: str, path: str, commit: str, text: str) -> list[dict]:
    """Rows of ``@pytest.mark.parametrize`` tests whose body asserts ``compare_strings(...)`` or ``verify(...)``."""
    cases = []
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, ast.FunctionDef):
            continue
        marks = [d for d in fn.decorator_list if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("parametrize")]
        if not marks:
            continue
        names = [n.strip() for n in literal(marks[0].args[0]).split(",")]
        call = next((n for n in ast.walk(fn) if isinstance(n, ast.Call)
                     and ast.unparse(n.func) in ("compare_strings", "verify")), None)
        assert_node = next((n for n in ast.walk(fn) if isinstance(n, ast.Assert)), None)
        if call is None or assert_node is None:
            continue
        helper = ast.unparse(call.func)
        expected_name = assert_node.test.comparators[0].id
        for row_node in marks[0].args[1].elts:
            values = literal(row_node)
            row = dict(zip(names, values))
            if helper == "compare_strings":
                args = [row[a.id] if isinstance(a, ast.Name) else literal(a) for a in call.args]
                gold, pred = args[0], args[1]
                kwargs = _kwargs(call, row)
                language = args[2] if len(args) > 2 else kwargs.get("language", "Language.ENGLISH")
                if len(args) > 3:
                    kwargs["match_types"] = args[3]
                if language != "Language.ENGLISH" or "NativeLetters" in kwargs.get("match_types", []):
                    continue
            else:
                gold, pred, kwargs = row["gold"], row["pred"], {}
            cases.append({
                "suite": suite,
                "source": f"{repo}@{commit[:12]}:{path}::{fn.name} line {row_node.lineno}",
                "gold": gold,
                "pred": pred,
                "label": bool(row[expected_name]),
                "settings": _settings(helper, kwargs, repo),
                "_key": (repo, fn.name, pred),
            })
    return cases


def _assert_calls(stmts: list[ast.stmt], env: dict):
    """(assert name, inner call, env) for each ``self.assertTrue/False(f(a, b))``, loops unrolled."""
    for st in stmts:
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
            try:
                env[st.targets[0].id] = literal(st.value, env)
            except Exception:
                pass
        elif isinstance(st, ast.For) and isinstance(st.iter, ast.Name) and st.iter.id in env:
            targets = [t.id for t in st.target.elts]
            for item in env[st.iter.id]:
                yield from _assert_calls(st.body, {**env, **dict(zip(targets, item))})
        elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
            method = ast.unparse(st.value.func)
            if method in ("self.assertTrue", "self.assertFalse") and isinstance(st.value.args[0], ast.Call):
                yield method, st.value.args[0], dict(env), st.lineno


def unittest_cases(suite: str, repo: str, path: str, commit: str, text: str, gold_arg: int) -> list[dict]:
    """``self.assertTrue(is_equiv(a, b))`` style tests; ``gold_arg`` says which argument is the reference."""
    cases = []
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test"):
            continue
        for method, inner, env, line in _assert_calls(fn.body, {}):
            a, b = (literal(x, env) for x in inner.args[:2])
            gold, pred = (a, b) if gold_arg == 0 else (b, a)
            # MARIO's _test_is_not_equiv returns is_equiv's own result, so assertFalse(...) still means "not equal".
            cases.append({
                "suite": suite,
                "source": f"{repo}@{commit[:12]}:{path}::{fn.name} line {line}",
                "gold": gold,
                "pred": pred,
                "label": method == "self.assertTrue",
                "settings": {"grader": f"{repo.split('/')[1]} {ast.unparse(inner.func)}"},
                "_key": (repo, fn.name, pred),
            })
    return cases


def open_r1_cases(suite: str, repo: str, path: str, commit: str, text: str) -> list[dict]:
    """open-r1's reward tests: (completion, solution) pairs whose asserted reward says right or wrong."""
    cases = []
    src = f"{repo}@{commit[:12]}:{path}"
    settings = {"grader": "open-r1 accuracy_reward (gold first_match; boxed_match_priority=0, units, boxed=all)"}
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, ast.FunctionDef):
            continue
        env: dict = {}
        for st in fn.body:
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                try:
                    env[st.targets[0].id] = literal(st.value, env)
                except Exception:
                    pass
        if fn.name.startswith("test_accuracy_reward") or fn.name == "test_multiple_completions" and "solutions" in env:
            completions = env.get("completion") or env.get("completions")
            solutions = env.get("solution") or env.get("solutions")
            if not completions or not solutions:
                continue
            rewards = {}
            for st in ast.walk(fn):
                if isinstance(st, ast.Call) and ast.unparse(st.func) == "self.assertEqual":
                    target = ast.unparse(st.args[0])
                    if target.startswith("rewards["):
                        rewards[int(target[8:-1])] = (literal(st.args[1]), st.lineno)
            for i, (reward, line) in rewards.items():
                cases.append({"suite": suite, "source": f"{src}::{fn.name} line {line}", "gold": solutions[i],
                              "pred": completions[i][0]["content"], "label": reward == 1.0,
                              "settings": settings, "_key": (repo, fn.name, completions[i][0]["content"])})
        elif fn.name == "test_cosine_scaled_reward":
            for content, solution, length, reward in env["test_cases"]:
                padded = content + " " * (length - len(content))
                cases.append({"suite": suite, "source": f"{src}::{fn.name} line {fn.lineno} (reward {reward})",
                              "gold": solution, "pred": padded, "label": reward > 0, "settings": settings,
                              "_key": (repo, fn.name, padded)})
        elif fn.name in ("test_different_lengths_correct_answers", "test_different_lengths_incorrect_answers"):
            # Named by correctness: len_reward's sign depends on the accuracy check of each completion.
            for (c,), s in zip(env["completions"], env["solutions"]):
                cases.append({"suite": suite, "source": f"{src}::{fn.name} line {fn.lineno}", "gold": s,
                              "pred": c["content"], "label": "incorrect" not in fn.name, "settings": settings,
                              "_key": (repo, fn.name, c["content"])})
    return cases


def gsm8k_cases() -> list[dict]:
    return [{"suite": "gsm8k", "source": f"hand-written for CFT Studio issue #18 (scripts/build_grading_corpus.py "
             f"GSM8K_CASES[{i}])", "gold": g, "pred": p, "label": ok, "settings": {}, "_key": ("gsm8k", i, p)}
            for i, (g, p, ok) in enumerate(GSM8K_CASES)]


# --------------------------------------------------------------------------------------------- assembling


def build(mirror: str) -> list[dict]:
    raw = []
    for suite, repo, path in FILES:
        commit, text = git_show(mirror, repo, path)
        if suite in ("math-verify", "lighteval"):
            raw += parametrized_cases(suite, repo, path, commit, text)
        elif suite == "mario":
            raw += unittest_cases(suite, repo, path, commit, text, gold_arg=0)  # is_equiv(ground_truth, given)
        elif suite == "hendrycks":
            raw += unittest_cases(suite, repo, path, commit, text, gold_arg=1)  # is_equiv(model_output, answer)
        elif suite == "open-r1":
            raw += open_r1_cases(suite, repo, path, commit, text)
    raw += gsm8k_cases()

    seen: dict = {}
    out, used = [], set()
    for case in raw:
        # One pair with two labels is kept twice only when the settings explain it (strict=True vs False).
        key = (case["gold"], case["pred"], case["label"])
        if key in seen:
            first = seen[key]
            if case["suite"] != first["suite"]:
                first.setdefault("also_in", []).append(case["source"])
            continue
        other = seen.get((case["gold"], case["pred"], not case["label"]))
        if other is not None and other["settings"] == case["settings"]:
            raise SystemExit(f"conflicting labels for one pair: {other['source']} vs {case['source']}")
        seen[key] = case
        repo, test, pred = case.pop("_key")
        reason = DISPUTED.get((repo, test, pred))
        if reason:
            case["disputed"] = reason
            used.add((repo, test, pred))
        if not case["settings"]:
            del case["settings"]
        out.append(case)
    missing = [k for k in DISPUTED if k not in used]
    if missing:
        raise SystemExit(f"DISPUTED entries match no case (the suites changed?): {missing}")
    for case in out:
        case.pop("_key", None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=os.environ.get("CFT_MIRROR", "/work/.mirror"),
                    help="folder holding <owner>+<name>/repo git snapshots")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "grading_corpus.jsonl"))
    args = ap.parse_args()
    cases = build(args.mirror)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    counts: dict = {}
    for case in cases:
        counts[case["suite"]] = counts.get(case["suite"], 0) + 1
    print(f"{len(cases)} cases -> {os.path.relpath(args.out, ROOT)}: "
          + ", ".join(f"{s} {n}" for s, n in counts.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
