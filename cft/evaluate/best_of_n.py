"""The CFT model as a verifier: best-of-N on a benchmark, against majority vote and a random pick.

A sampler (any model: the EvalConfig fields, local or an endpoint) answers each problem N times at temperature
(``temperature``, ``top_p``); a critic (``critic_model`` and/or ``critic_adapter``: typically a CFT run) critiques
every answer as CFT trained it (cft.prompts.critic_messages) and its ``Conclusion: right/wrong`` is parsed. Each
answer is graded against the reference (cft.grading). Then, on the same N answers of each problem:

- ``critic``: a majority vote among the answers the critic judged right; when it judged none right, a majority
  vote over all of them (counted as ``fallbacks``);
- ``majority``: a majority vote over the N final answers (self-consistency);
- ``random``: one answer picked at random (seeded per problem);
- ``first``: the first sample (what a single sampled answer scores);
- ``oracle``: any answer right (pass@N, the ceiling any selection can reach).

A vote groups answers whose extracted final answers are equal; a tie goes to the answer sampled first. Every
accuracy has its Wilson interval, and the critic's pick is compared with majority vote and with the random pick by
the paired statistics of cft.evaluate.paired (exact McNemar, paired bootstrap interval), over the same problems.
``results.jsonl`` holds one row per (problem, sample), appended batch by batch, so a killed run resumes.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable

from cft.errors import UserError
from cft.evaluate.config import EvalConfig
from cft.evaluate.runner import batch_generator, run_items, write_summary
from cft.intervals import wilson_interval

KIND = "best-of-n"
STRATEGIES = ("critic", "majority", "random", "first", "oracle")


@dataclass
class BestOfNConfig(EvalConfig):
    """Best-of-N: the sampler is the ordinary model fields (sampled, never greedy); the critic is
    ``critic_model`` + ``critic_adapter`` (a run name for a CFT model)."""

    n: int = 4
    critic_model: str | None = None
    critic_adapter: str | None = None
    critic_max_new_tokens: int = 512
    greedy: bool = False
    kind: str = KIND
    extra_identity = ("n", "critic_model", "critic_adapter", "critic_max_new_tokens", "top_p", "endpoint_extra")

    def __post_init__(self) -> None:
        if int(self.n) < 2:
            raise UserError(f"best-of-N needs N of at least 2, got {self.n!r}")
        if self.greedy:
            raise UserError("best-of-N samples its N answers: greedy decoding would give N copies of one answer")
        if not (self.critic_model or self.critic_adapter):
            raise UserError("best-of-N needs a critic: --critic-adapter RUN (a CFT run) or --critic-model NAME "
                            "(a base model)")
        if int(self.critic_max_new_tokens) <= 0:
            raise UserError(f"critic_max_new_tokens must be positive, got {self.critic_max_new_tokens!r}")
        from cft import demo
        from cft.evaluate.config import check_inputs

        check_inputs(self.critic_model, self.critic_adapter, self.benchmark)  # before anything is written or sampled
        demo.check_limits("best-of-N config", samples_per_question=self.n, max_new_tokens=self.critic_max_new_tokens)
        if not self.name:
            from cft.evaluate.config import config_label, model_label, slug

            critic = model_label(self.critic_model, self.critic_adapter)
            self.name = slug(f"bon{self.n}-{config_label(self)}-by-{critic}-{self.benchmark}-{self.limit or 'all'}"
                             .replace("/", "-"))
        super().__post_init__()

    def fingerprint_extra(self) -> dict:
        """Besides the sampler: the benchmark items' content and the critic's weights (a critic run retrained under
        the same name is another experiment)."""
        from cft.data.benchmarks import load_benchmark
        from cft.evaluate.config import resolve_adapter
        from cft.fingerprint import digest, model_identity

        items = digest([(p.id, p.question, p.answer) for p in
                        load_benchmark(self.benchmark, limit=self.limit, seed=self.seed)])
        return {"items": items, "critic": model_identity(self.critic_model, resolve_adapter(self.critic_adapter))}

    def critic_config(self) -> EvalConfig:
        """The critic as an eval config: greedy critiques of at most critic_max_new_tokens, run in-process."""
        return EvalConfig(name=self.name, model=self.critic_model, adapter=self.critic_adapter, benchmark=self.benchmark,
                          max_new_tokens=self.critic_max_new_tokens, batch_size=self.batch_size, greedy=True,
                          seed=self.seed)


@dataclass
class Draw:
    id: str
    problem: object  # cft.data.benchmarks.Problem
    k: int


def answer_key(extracted) -> str:
    return " ".join(str(extracted or "").split())


def vote(rows: list[dict]) -> dict | None:
    """The row of the most frequent non-empty final answer (ties: the answer sampled first); None if none has one."""
    keyed = [r for r in rows if answer_key(r.get("extracted"))]
    if not keyed:
        return None
    counts = Counter(answer_key(r["extracted"]) for r in keyed)
    best = max(counts.values())
    return next(r for r in sorted(keyed, key=lambda r: r["k"]) if counts[answer_key(r["extracted"])] == best)


def select(rows: list[dict], *, seed: int) -> dict[str, bool]:
    """Whether each strategy's pick among one problem's N answers is right (see the module docstring)."""
    rows = sorted(rows, key=lambda r: r["k"])
    judged_right = [r for r in rows if r.get("verdict") == "right"]
    by_critic = vote(judged_right) if judged_right else None
    fallback = by_critic is None
    if fallback:
        by_critic = vote(rows)
    majority = vote(rows)
    pick = random.Random(seed * 1_000_003 + zlib.crc32(str(rows[0]["problem_id"]).encode())).choice(rows)
    return {"critic": bool(by_critic and by_critic["correct"]), "majority": bool(majority and majority["correct"]),
            "random": bool(pick["correct"]), "first": bool(rows[0]["correct"]),
            "oracle": any(r["correct"] for r in rows), "fallback": fallback}


def best_of_n_metrics(rows: list[dict], *, n: int, seed: int) -> dict:
    """Accuracy of each strategy over the problems with all N answers, with Wilson intervals, and the critic's pick
    compared, paired, with majority vote and with a random pick; and the critic's verdict accuracy on the answers."""
    from cft.evaluate.paired import compare_correct

    by_problem: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_problem[str(r["problem_id"])].append(r)
    complete = {pid: rs for pid, rs in by_problem.items() if len(rs) >= n}
    picks = {pid: select(rs, seed=seed) for pid, rs in complete.items()}
    m = len(picks)
    out: dict = {"problems": m, "samples_per_problem": n, "strategies": {}}
    for s in STRATEGIES:
        hits = sum(p[s] for p in picks.values())
        lo, hi = wilson_interval(hits, m)
        out["strategies"][s] = {"correct": hits, "accuracy": hits / m if m else 0.0, "ci95": [lo, hi]}
    out["fallbacks"] = sum(p["fallback"] for p in picks.values())
    # how varied the N answers were (identical draws would make every strategy the first sample)
    out["distinct_outputs_mean"] = (sum(len({str(r.get("output")) for r in rs}) for rs in complete.values()) / m
                                    if m else 0.0)
    critic = {pid: [p["critic"]] for pid, p in picks.items()}
    out["paired"] = {other: compare_correct({pid: [p[other]] for pid, p in picks.items()}, critic, seed=seed).to_dict()
                     for other in ("majority", "random")} if m else {}
    judged = [r for r in rows if r.get("verdict") in ("right", "wrong")]
    agree = sum(1 for r in judged if (r["verdict"] == "right") == bool(r["correct"]))
    out["critic_verdicts"] = {"judged": len(judged), "unknown": len(rows) - len(judged),
                              "agree_with_grader": agree, "accuracy": agree / len(rows) if rows else 0.0}
    return out


def run_best_of_n(config: BestOfNConfig, *, progress: Callable[[int, int, int], None] | None = None,
                  stop_after: int | None = None, model_and_tokenizer=None, critic_model_and_tokenizer=None,
                  force: bool = False) -> dict:
    """Run (or resume) best-of-N; returns the summary, also written to summary.json."""
    from cft.data.benchmarks import load_benchmark
    from cft.data.samples import parse_verdict
    from cft.grading import grade_many
    from cft.prompts import critic_messages, eval_messages

    critique = None

    def draws() -> list[Draw]:
        problems = load_benchmark(config.benchmark, limit=config.limit, seed=config.seed)
        if not problems:
            raise UserError(f"benchmark {config.benchmark!r} has no problems")
        return [Draw(f"{p.id}#{k}", p, k) for p in problems for k in range(config.n)]

    def judged(batch: list[Draw], outputs: list[str]) -> list[dict]:
        nonlocal critique
        critique = critique or batch_generator(config.critic_config(), critic_model_and_tokenizer)
        grades = grade_many([(str(d.problem.answer), out) for d, out in zip(batch, outputs)],
                            timeout=config.grading_timeout)
        critiques, _ = critique([critic_messages(d.problem.question, out) for d, out in zip(batch, outputs)])
        return [{"id": d.id, "problem_id": d.problem.id, "k": d.k, "question": d.problem.question,
                 "reference": d.problem.answer, "output": out, "extracted": g.extracted, "correct": bool(g.correct),
                 "timed_out": bool(g.timed_out), "critique": c, "verdict": parse_verdict(c)}
                for d, out, g, c in zip(batch, outputs, grades, critiques)]

    def ask(d: Draw):
        return eval_messages(d.problem.question, config.prompt_policy)

    sampler = None

    def generate(batch: list[Draw], on_item=None):  # each draw its own seed: N draws alike would be one sample
        nonlocal sampler
        sampler = sampler or batch_generator(config, model_and_tokenizer)
        return sampler([ask(d) for d in batch], on_item=on_item, seeds=[config.seed * 1000 + d.k for d in batch])

    summary, rows = run_items(config, draws, lambda d: d, judged, progress=progress, stop_after=stop_after,
                              force=force, generate=generate)
    summary["sample_accuracy"], summary["sample_ci95"] = summary.pop("accuracy"), summary.pop("ci95")
    summary.update(best_of_n_metrics(rows, n=config.n, seed=config.seed))
    summary["critic"] = config.critic_config().to_dict() | {"label": _critic_label(config)}
    summary["complete"] = summary["problems"] * config.n >= summary["total"]
    return write_summary(config, summary)


def _critic_label(config: BestOfNConfig) -> str:
    from cft.evaluate.config import model_label

    return model_label(config.critic_model, config.critic_adapter)


def format_summary(s: dict) -> str:
    from cft.evaluate.paired import describe

    def pct(x: float) -> str:
        return f"{100 * x:.1f}"

    lines = [f"best-of-{s['samples_per_problem']} on {s['benchmark']}: {s['label']} samples, {s['critic']['label']} "
             f"critiques ({s['problems']} problems; one sample right {pct(s['sample_accuracy'])}% of the time)"]
    names = {"critic": "critic's pick", "majority": "majority vote", "random": "random pick",
             "first": "first sample", "oracle": "oracle (pass@N)"}
    for key, label in names.items():
        st = s["strategies"][key]
        lines.append(f"  {label:<16} {pct(st['accuracy'])}% [{pct(st['ci95'][0])}, {pct(st['ci95'][1])}] "
                     f"({st['correct']}/{s['problems']})")
    lines.append(f"  {s['distinct_outputs_mean']:.1f} distinct answers per problem on average (of "
                 f"{s['samples_per_problem']})")
    if s.get("fallbacks"):
        lines.append(f"  the critic judged no answer right on {s['fallbacks']} problem(s): majority vote there")
    for other, result in s.get("paired", {}).items():
        lines.append(f"  critic vs {names[other]}: {describe(result)}")
    v = s["critic_verdicts"]
    lines.append(f"  critic verdicts agree with the grader on {v['agree_with_grader']} of {v['judged'] + v['unknown']} "
                 f"answers ({v['unknown']} without a verdict)")
    return "\n".join(lines)
