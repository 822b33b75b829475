"""The Compare tab's logic: side-by-side answers (arena style), eval tables, fixed/broke diffs, votes.

pages/compare.py only lays out widgets and wires them here; everything below is testable without a browser.

Side by side, FastChat-arena style: each model gets a token generator and the generators are stepped in turn
(one token per model per round), so the answers grow together and no model waits for another to finish. The
stepping is a plain greedy decode loop with the KV cache rather than ``model.generate`` in a thread
(cft.models.generate_stream): a Python generator stops the moment the page abandons it (a new problem, a
closed tab), where a generate() thread would keep burning the two CPU cores to max_new_tokens. Greedy matches
the eval setting, so what you see is what the eval graded.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from cft import evaluate, jobs, models, workspace
from cft.errors import UserError

MAX_MODELS = 3
SLOT_NAMES = ("A", "B", "C")
VOTES = ("A better", "B better", "tie", "both bad")
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]

# ----------------------------------------------------------------------------------------------- models


def model_options() -> list[dict]:
    """cft.models.list_models(): the embedded base plus every run's adapter and checkpoints."""
    from cft.models import list_models

    return list_models()


def model_labels() -> list[str]:
    return [m["label"] for m in model_options()]


class ModelCache:
    """A small LRU of loaded (model, tokenizer): switching problems or re-running never reloads a model."""

    def __init__(self, size: int = MAX_MODELS):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many real loads happened (the tests check the cache works)

    def get(self, spec: str | None, adapter: str | None):
        key = (spec, adapter)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            from cft.models import load_model

            loaded = load_model(spec, adapter=adapter) if adapter else load_model(spec or "embedded")
            self.loads += 1
            self._items[key] = loaded
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return loaded

    def get_label(self, label: str):
        return self.get(*models.resolve_label(label))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = ModelCache()

# ----------------------------------------------------------------------------------------------- problems


def benchmark_names() -> list[str]:
    from cft.data.benchmarks import list_benchmarks

    return [b["name"] for b in list_benchmarks()]


@lru_cache(maxsize=8)
def _benchmark(name: str) -> tuple:
    from cft.data.benchmarks import load_benchmark

    return tuple(load_benchmark(name))


def problem_dict(problem, benchmark: str = "") -> dict:
    return {"benchmark": benchmark or getattr(problem, "benchmark", ""), "id": str(problem.id),
            "question": problem.question, "reference": str(problem.answer) if problem.answer is not None else ""}


def problem_by_id(benchmark: str, pid: str) -> dict:
    pid = str(pid).strip()
    problems = _benchmark(benchmark)
    for p in problems:
        if str(p.id) == pid:
            return problem_dict(p, benchmark)
    examples = ", ".join(str(p.id) for p in problems[:3])
    raise UserError(f"benchmark {benchmark!r} has no problem with id {pid!r} (ids look like: {examples})")


def random_problem(benchmark: str, seed: int | None = None) -> dict:
    problems = _benchmark(benchmark)
    if not problems:
        raise UserError(f"benchmark {benchmark!r} is empty")
    return problem_dict(random.Random(seed).choice(problems), benchmark)


def typed_problem(question: str, reference: str = "") -> dict:
    if not (question or "").strip():
        raise UserError("question: type a problem first")
    return {"benchmark": "", "id": "", "question": question, "reference": reference or ""}


def _rows_by_id(name: str) -> dict[str, dict]:
    return {str(r["id"]): r for r in evaluate.read_results(name)}


def problem_from_eval(name: str, pid: str) -> dict:
    """A problem as an eval saw it (question and reference from its results file)."""
    row = _rows_by_id(name).get(str(pid))
    if row is None:
        raise UserError(f"eval {name!r} has no result for problem {pid!r}")
    bench = jobs.JobDir(evaluate.eval_dir(name)).config().get("benchmark", "")
    return {"benchmark": bench, "id": str(row["id"]), "question": row["question"], "reference": str(row.get("reference", ""))}


def disagreements(eval_a: str, eval_b: str) -> list[str]:
    """Problems both evals answered where one was right and the other wrong, or their answers differ."""
    a, b = _rows_by_id(eval_a), _rows_by_id(eval_b)
    return [pid for pid in a if pid in b and (bool(a[pid].get("correct")) != bool(b[pid].get("correct"))
                                              or (a[pid].get("extracted") or "") != (b[pid].get("extracted") or ""))]


def disagreement_problem(eval_a: str, eval_b: str, seed: int | None = None) -> dict:
    if not eval_a or not eval_b:
        raise UserError("pick two finished evals to find problems where the models disagree")
    ids = disagreements(eval_a, eval_b)
    if not ids:
        raise UserError(f"evals {eval_a!r} and {eval_b!r} agree on every problem they share")
    return problem_from_eval(eval_a, random.Random(seed).choice(ids))

# ----------------------------------------------------------------------------------------------- streaming


def token_stream(model, tokenizer, prompt: str, *, max_new_tokens: int = 512) -> Iterator[str]:
    """Greedy-decode ``prompt`` one token per ``next()``, yielding the whole answer so far each time."""
    import torch

    device = next(model.parameters()).device
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    stops = set(models.stop_ids(tokenizer))
    past, new = None, []
    # inference_mode wraps each step only, never a yield: grad mode is thread-local, so a context held across a
    # yield would leak into the caller (and stay off forever if the page abandons the stream), breaking training.
    for _ in range(max_new_tokens):
        with torch.inference_mode():
            out = model(input_ids=ids, past_key_values=past, use_cache=True)
        past = out.past_key_values
        token = int(out.logits[0, -1].argmax())
        if token in stops:
            break
        new.append(token)
        ids = torch.tensor([[token]], device=device)
        yield tokenizer.decode(new, skip_special_tokens=True)


def round_robin(streams: list[Iterator[str]]) -> Iterator[tuple[list[str], list[bool]]]:
    """Step each stream once per round, in turn; yields (texts so far, finished flags) after every round."""
    texts = [""] * len(streams)
    finished = [False] * len(streams)
    while not all(finished):
        for i, stream in enumerate(streams):
            if finished[i]:
                continue
            try:
                texts[i] = next(stream)
            except StopIteration:
                finished[i] = True
        yield list(texts), list(finished)


def judge(reference: str, output: str) -> dict:
    """The extracted answer and whether it matches the reference (None: no reference to check against)."""
    from cft.grading import extract_answer, grade_one

    if not reference:
        return {"extracted": extract_answer(output), "correct": None, "timed_out": False}
    g = grade_one(str(reference), output)
    return {"extracted": g.extracted, "correct": bool(g.correct), "timed_out": bool(g.timed_out)}


def mark_markdown(result: dict | None) -> str:
    if not result:
        return ""
    extracted = result.get("extracted")
    shown = f"`{extracted}`" if extracted else "*no answer found*"
    if result.get("correct") is None:
        return f"Extracted: {shown} · no reference"
    mark = "✓ correct" if result["correct"] else ("✗ timed out" if result.get("timed_out") else "✗ wrong")
    return f"Extracted: {shown} · **{mark}**"


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def inert_markdown(text: str) -> str:
    """Model output as Markdown + LaTeX with every HTML tag made literal text, so nothing a model writes can run.

    Only ``<`` that would open a tag is escaped, so ``a < b`` and LaTeX stay readable; ``&`` is escaped so an
    entity cannot smuggle a tag back in.
    """
    text = (text or "").replace("&", "&amp;")
    return _TAG_START.sub("&lt;", text)


def side_by_side(labels: list[str], question: str, reference: str = "", *, max_new_tokens: int = 512,
                 cache: ModelCache | None = None, min_interval: float = 0.1) -> Iterator[dict]:
    """Stream the answers of up to three models to one question, stepped in turn.

    Yields ``{"labels", "answers", "finished", "results"}``: answers grow together; ``results`` (extracted answer
    and correctness per model) appears once each model is done. Updates are throttled to ``min_interval`` s.
    """
    from cft.prompts import eval_messages, render

    labels = [lab for lab in labels if lab][:MAX_MODELS]
    if not labels:
        raise UserError("models: pick at least one model")
    if not (question or "").strip():
        raise UserError("question: pick or type a problem first")
    cache = cache or CACHE
    streams = []
    for label in labels:
        model, tokenizer = cache.get_label(label)
        streams.append(token_stream(model, tokenizer, render(tokenizer, eval_messages(question)),
                                    max_new_tokens=int(max_new_tokens)))
    results: list[dict | None] = [None] * len(labels)
    last = 0.0
    for texts, finished in round_robin(streams):
        for i, done in enumerate(finished):
            if done and results[i] is None:
                results[i] = judge(reference, texts[i])
        now = time.monotonic()
        if now - last >= min_interval or all(finished):
            last = now
            yield {"labels": labels, "answers": list(texts), "finished": list(finished), "results": list(results)}

# ----------------------------------------------------------------------------------------------- evals


def finished_evals(kind: str = evaluate.KIND) -> list[dict]:
    """Evals with a summary (complete or not), newest config first in the table order of names."""
    return [e for e in evaluate.list_evals(kind) if e["summary"]]


def eval_names(kind: str = evaluate.KIND) -> list[str]:
    return [e["name"] for e in finished_evals(kind)]


def _bench_name(benchmark: str) -> str:
    """A custom benchmark file shows as its file name, not its whole path."""
    return Path(benchmark).name if benchmark.endswith((".jsonl", ".json")) else benchmark


AGGREGATE_HEADERS = ["model", "benchmark", "accuracy ± 95% CI", "n", "eval", "complete"]


def aggregate_table() -> list[list]:
    """One row per eval with a summary: the paper's table, for the user's models."""
    rows = []
    for e in finished_evals():
        s = e["summary"]
        rows.append([s.get("label", ""), _bench_name(s.get("benchmark", "")), evaluate.format_accuracy(s), s.get("n", 0), e["name"],
                     "yes" if s.get("complete") else f"{s.get('n', 0)}/{s.get('total', '?')}"])
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


CRITIC_HEADERS = ["model", "source", "verdict accuracy", "F1 (wrong)", "unknown", "n", "eval"]


def critic_table() -> list[list]:
    rows = []
    for e in finished_evals("critic"):
        s = e["summary"]
        rows.append([s.get("label", ""), s.get("benchmark", ""), evaluate.format_accuracy(s),
                     f"{s.get('wrong_f1', 0):.3f}", f"{100 * s.get('unknown_rate', 0):.1f}%", s.get("n", 0), e["name"]])
    return rows


def diff_evals(baseline: str, candidate: str) -> dict:
    """Per-problem diff on the problems both evals answered: what the candidate (CFT) fixed and broke."""
    if not baseline or not candidate:
        raise UserError("pick a baseline eval and a CFT eval to diff")
    a, b = _rows_by_id(baseline), _rows_by_id(candidate)
    common = [pid for pid in a if pid in b]
    fixed = [b[pid] for pid in common if not a[pid].get("correct") and b[pid].get("correct")]
    broke = [b[pid] for pid in common if a[pid].get("correct") and not b[pid].get("correct")]
    return {"common": len(common), "fixed": fixed, "broke": broke,
            "both_right": sum(1 for pid in common if a[pid].get("correct") and b[pid].get("correct")),
            "both_wrong": sum(1 for pid in common if not a[pid].get("correct") and not b[pid].get("correct")),
            "baseline": {pid: a[pid] for pid in common}}


DIFF_HEADERS = ["id", "question", "reference", "baseline answer", "CFT answer"]


def diff_tables(baseline: str, candidate: str) -> tuple[list[list], list[list], str]:
    """(fixed rows, broke rows, a one-line summary) for the two lists in the tab."""
    d = diff_evals(baseline, candidate)

    def rows(items):
        return [[r["id"], _preview(r["question"]), r.get("reference", ""), d["baseline"][str(r["id"])].get("extracted") or "",
                 r.get("extracted") or ""] for r in items]

    note = (f"{d['common']} shared problems: CFT fixed {len(d['fixed'])}, broke {len(d['broke'])}; "
            f"both right {d['both_right']}, both wrong {d['both_wrong']}. Click a row to open it side by side.")
    return rows(d["fixed"]), rows(d["broke"]), note


def _preview(text: str, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def eval_models(name: str) -> str | None:
    """The model label an eval ran, as the dropdowns name it (so a diff row opens with the right models)."""
    config = jobs.JobDir(evaluate.eval_dir(name)).config()
    adapter = config.get("adapter")
    if not adapter:
        return next((m["label"] for m in model_options() if m["kind"] == "embedded"), None) \
            if (config.get("model") in (None, "embedded")) else None
    try:
        path = str(evaluate.resolve_adapter(adapter))
    except UserError:
        return None
    return next((m["label"] for m in model_options() if m.get("adapter") and str(Path(m["adapter"]).resolve()) == path), None)

# ----------------------------------------------------------------------------------------------- votes


def votes_path() -> Path:
    return workspace.home() / "votes.jsonl"


def record_vote(vote: str, labels: list[str], problem: dict, answers: list[str] | None = None, voter: str = "") -> dict:
    """Append one vote with the models and the problem (and the answers judged) to workspace/votes.jsonl."""
    if vote not in VOTES:
        raise UserError(f"vote must be one of {VOTES}, got {vote!r}")
    # Positional: slot A is the first dropdown whatever the others hold, so "A better" always means that model.
    models = {slot: lab for slot, lab in zip(SLOT_NAMES, labels or []) if lab}
    if len(models) < 2:
        raise UserError("vote: compare at least two models first")
    if "A" not in models or "B" not in models:
        raise UserError("vote: A-versus-B votes need models in slots A and B")
    if not problem or not problem.get("question"):
        raise UserError("vote: no problem has been answered yet")
    record = {"at": time.time(), "vote": vote, "models": models,
              "problem": {k: problem.get(k, "") for k in ("benchmark", "id", "question", "reference")},
              "answers": {slot: a for slot, a in zip(SLOT_NAMES, answers or []) if slot in models}, "voter": voter}
    with open(votes_path(), "a") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record


def read_votes() -> list[dict]:
    return jobs.read_jsonl(votes_path())


def vote_summary() -> str:
    votes = read_votes()
    if not votes:
        return "No votes yet."
    counts = {v: sum(1 for r in votes if r["vote"] == v) for v in VOTES}
    return f"{len(votes)} votes: " + ", ".join(f"{k} {n}" for k, n in counts.items())

# ----------------------------------------------------------------------------------------------- eval jobs


def start_eval(model_label: str, benchmark: str, limit: int | None, max_new_tokens: int, batch_size: int,
               name: str = "", critic: bool = False) -> str:
    """Launch a background eval (or critic eval) of a dropdown model; returns a status line."""
    spec, adapter = models.resolve_label(model_label)
    cls = evaluate.EvalConfig
    kwargs = dict(name=(name or "").strip(), model=spec if not adapter else None, adapter=adapter, benchmark=benchmark,
                  limit=int(limit) if limit else None, max_new_tokens=int(max_new_tokens), batch_size=int(batch_size))
    if critic:
        from cft.critic import CriticConfig

        cls = CriticConfig
        kwargs["benchmark"] = benchmark if benchmark.startswith("dataset:") else "champ"
    config = cls(**kwargs)
    evaluate.launch(config)
    return f"Started eval **{config.name}** ({model_label} on {config.benchmark}, {config.limit or 'all'} problems)."


JOB_HEADERS = ["eval", "state", "progress", "correct so far", "eta"]


def jobs_table() -> list[list]:
    rows = []
    for e in evaluate.list_evals(kind=None):
        p, st = e["progress"], e["status"]
        done, total = p.get("done", 0), p.get("total", 0)
        rows.append([e["name"], st.get("state", "?"), f"{done}/{total}" if total else "–", p.get("correct", ""),
                     jobs.format_eta(p.get("eta")) if st.get("state") in jobs.ACTIVE else ""])
    return rows


def stop_eval(name: str) -> str:
    if not name:
        raise UserError("pick an eval to stop")
    ok = jobs.stop(evaluate.eval_dir(name))
    return f"Stopping **{name}**; run it again to resume." if ok else f"**{name}** is not running."

# ----------------------------------------------------------------------------------------------- view helpers


def slot_header(slot: int, label: str | None) -> str:
    return f"**{SLOT_NAMES[slot]}** · {label}" if label else f"**{SLOT_NAMES[slot]}** · *(no model)*"


def side_by_side_view(label_a: str, label_b: str, label_c: str, benchmark: str, pid: str, question: str,
                      reference: str, max_new_tokens: int = 512, cache: ModelCache | None = None) -> Iterator[tuple]:
    """:func:`side_by_side` shaped for the tab: per slot (header, answer markdown, mark markdown), then the state
    the votes need (labels, problem, answers). Empty slots stay empty."""
    chosen = [label_a, label_b, label_c]
    slots = [i for i, lab in enumerate(chosen) if lab]
    problem = {"benchmark": benchmark or "", "id": str(pid or ""), "question": question or "", "reference": reference or ""}
    if problem["id"]:
        # The question box may have been edited after picking: then it is a typed problem, not benchmark/id.
        try:
            if problem_by_id(problem["benchmark"], problem["id"])["question"] != question:
                problem["benchmark"], problem["id"] = "", ""
        except UserError:
            problem["benchmark"], problem["id"] = "", ""
    elif problem["benchmark"] and not problem["id"]:
        problem["benchmark"] = ""
    labels = [chosen[i] for i in slots]
    for step in side_by_side(labels, question, reference, max_new_tokens=max_new_tokens, cache=cache):
        headers, answers, marks = [""] * MAX_MODELS, [""] * MAX_MODELS, [""] * MAX_MODELS
        for j, i in enumerate(slots):
            headers[i] = slot_header(i, chosen[i])
            answers[i] = inert_markdown(step["answers"][j]) or "…"
            marks[i] = mark_markdown(step["results"][j]) if step["finished"][j] else "*generating…*"
        raw = [""] * MAX_MODELS
        for j, i in enumerate(slots):
            raw[i] = step["answers"][j]
        yield (*headers, *answers, *marks, list(chosen), problem, raw)

# ----------------------------------------------------------------------------------------------- checkpoint selection


def runs_with_checkpoints() -> list[str]:
    root = workspace.runs_dir()
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and any((c / "adapter_config.json").exists() for c in (p / "checkpoints").glob("checkpoint-*")))


def start_selection(run: str, benchmark: str, limit: int | None, max_new_tokens: int, batch_size: int) -> str:
    """Evaluate every checkpoint of ``run`` in the background and mark the best (paper: MATH-500)."""
    if not run:
        raise UserError("run: pick a run that has checkpoints")
    config = evaluate.SelectConfig(run=run, benchmark=benchmark or "math500", limit=int(limit) if limit else None,
                                   max_new_tokens=int(max_new_tokens), batch_size=int(batch_size))
    evaluate.launch_selection(config)
    return f"Started checkpoint selection **{config.name}**: every checkpoint of {run} on {config.benchmark}."


def best_checkpoint_markdown(run: str) -> str:
    if not run:
        return ""
    path = workspace.runs_dir() / run / "best_checkpoint.json"
    record = jobs.read_json(path, None)
    if record is None:
        return f"No checkpoint selected yet for **{run}**."
    lines = [f"Best checkpoint of **{run}** on {_bench_name(record['benchmark'])} ({record['best']['n']} problems): "
             f"**{record['best']['checkpoint']}**", "", "| checkpoint | accuracy | correct |", "|---|---|---|"]
    for c in record["candidates"]:
        star = " ★" if c["checkpoint"] == record["best"]["checkpoint"] else ""
        lines.append(f"| {c['checkpoint']}{star} | {100 * c['accuracy']:.1f}% | {c['correct']}/{c['n']} |")
    return "\n".join(lines)
