"""The Compare tab's callbacks: widget values in, widget values out (a UserError becomes the tab's error toast)."""

from __future__ import annotations

from typing import Iterator

import gradio as gr

from cft import demo, jobs, models, workspace
from cft.errors import UserError
from cft.evaluate import arena, problems, votes
from cft.evaluate.config import EvalConfig, SelectConfig, eval_dir
from cft.evaluate.critic import CriticConfig
from cft.evaluate.steps import StepCriticConfig
from cft.evaluate.job import launch, launch_selection
from cft.evaluate.selection import runs_with_checkpoints
from pages import guide
from pages.common import starting_job
from pages.compare import view
from pages.render import inert_markdown


# -- names from the dropdowns -------------------------------------------------------------------------------------
PICK_ANOTHER = "pick another (the lists follow the disk every few seconds; ↻ Refresh lists re-reads them now)"


def require_existing(*, evals: tuple = (), model_labels: tuple = (), runs: tuple = ()) -> None:
    """The one check of every name a Compare handler takes from a dropdown, before anything reads it: an eval or a
    run deleted or renamed while the page was open is named, with what to do, instead of failing further down
    (an empty diff, a missing file). Empty names are left to the handler (each says what to pick)."""
    for name in evals:
        if name and not eval_dir(name).is_dir():  # a bad name or a path: eval_dir refuses it first
            raise UserError(f"eval {name!r} does not exist (deleted or renamed while this page was open?): "
                            f"{PICK_ANOTHER}")
    labels = None
    for label in model_labels:
        if not label or label.startswith(arena.ENDPOINT_PREFIX):
            continue
        labels = view.model_labels() if labels is None else labels
        if label in labels:
            continue
        if label.startswith("run:"):
            raise UserError(f"model {label!r} does not exist (its run or checkpoint deleted or renamed while this "
                            f"page was open?): {PICK_ANOTHER}")
        raise UserError(f"model {label!r} is not among the available models: pick one from the list, or type "
                        "endpoint:MODEL@URL for a model on a server")
    if any(runs):
        have = runs_with_checkpoints()
        for run in runs:
            if run and workspace.safe_child(workspace.runs_dir(), run, "run name") and run not in have:
                raise UserError(f"run {run!r} does not exist or has no checkpoint (deleted or renamed while this "
                                f"page was open?): {PICK_ANOTHER}")


# -- picking a problem: (benchmark, id, question, reference) -------------------------------------------------------
def _problem_fields(p: dict):
    return p["benchmark"] or gr.update(), p["id"], p["question"], p["reference"]


def open_problem(benchmark: str, pid: str):
    return _problem_fields(problems.problem_by_id(benchmark, pid))


def random_problem(benchmark: str):
    return _problem_fields(problems.random_problem(benchmark))


def disagreement(eval_a: str, eval_b: str):
    require_existing(evals=(eval_a, eval_b))
    return _problem_fields(problems.disagreement_problem(eval_a, eval_b))


def open_row(cand: str, base: str, evt: gr.SelectData):
    """A fixed/broke row clicked: its problem, the baseline's model in slot A and the CFT model in slot B."""
    require_existing(evals=(cand, base))
    row = evt.row_value
    return (*_problem_fields(problems.problem_from_eval(cand, row[0])),
            view.eval_models(base) or gr.update(), view.eval_models(cand) or gr.update())


# -- side by side and votes ----------------------------------------------------------------------------------------
def side_by_side_view(label_a: str, label_b: str, label_c: str, benchmark: str, pid: str, question: str,
                      reference: str, max_new_tokens: int = 512, cache: arena.ModelCache | None = None
                      ) -> Iterator[tuple]:
    """:func:`cft.evaluate.arena.side_by_side` shaped for the tab: per slot (header, answer markdown, mark markdown),
    then the state the votes need (labels, problem, answers). Empty slots stay empty."""
    demo.check_limits("side by side", max_new_tokens=max_new_tokens)  # it runs in the app's own process
    chosen = [label_a, label_b, label_c]
    require_existing(model_labels=tuple(chosen))
    slots = [i for i, lab in enumerate(chosen) if lab]
    problem = {"benchmark": benchmark or "", "id": str(pid or ""), "question": question or "", "reference": reference or ""}
    if problem["id"]:
        # The question box may have been edited after picking: then it is a typed problem, not benchmark/id.
        try:
            if problems.problem_by_id(problem["benchmark"], problem["id"])["question"] != question:
                problem["benchmark"], problem["id"] = "", ""
        except UserError:
            problem["benchmark"], problem["id"] = "", ""
    elif problem["benchmark"] and not problem["id"]:
        problem["benchmark"] = ""
    labels = [chosen[i] for i in slots]
    n = arena.MAX_MODELS
    for step in arena.side_by_side(labels, question, reference, max_new_tokens=max_new_tokens, cache=cache):
        headers, answers, marks, raw = [""] * n, [""] * n, [""] * n, [""] * n
        for j, i in enumerate(slots):
            headers[i] = view.slot_header(i, chosen[i])
            answers[i] = inert_markdown(step["answers"][j]) or "…"
            marks[i] = view.mark_markdown(step["results"][j]) if step["finished"][j] else "*generating…*"
            raw[i] = step["answers"][j]
        yield (*headers, *answers, *marks, list(chosen), problem, raw)


def voter(vote: str):
    """The callback of one vote button: the models, the problem and the answers shown."""
    def cast(labels: list, problem: dict, answers: list) -> str:
        return f"Recorded **{vote}** ({view.vote_summary()})" if votes.record_vote(vote, labels, problem, answers) else ""

    return cast


# -- lists and tables ----------------------------------------------------------------------------------------------
CHOICE_OUTPUTS = 10  # what choices() returns: models A, B, C, four eval lists, the eval's model, runs, re-grade


def choices():
    """Fresh choices for every dropdown that lists models, evals or runs."""
    labels = view.model_labels()
    evals = view.eval_names()
    return (gr.update(choices=labels), gr.update(choices=[""] + labels), gr.update(choices=[""] + labels),
            gr.update(choices=evals), gr.update(choices=evals), gr.update(choices=evals), gr.update(choices=evals),
            gr.update(choices=labels), gr.update(choices=runs_with_checkpoints()), gr.update(choices=evals))


def on_show():
    """Page load and the tab shown: every list re-read (a run or an eval may have finished), and the hint."""
    return (*choices(), guide.hint_update(guide.compare_hint()))


def tick(known: list | None):
    """The timer: the eval jobs table; the lists too, but only when the models, evals or runs changed since
    ``known`` (a finished eval or run joins them without a click, and an open dropdown is left alone otherwise)."""
    now = [view.model_labels(), view.eval_names(), runs_with_checkpoints()]
    if now == known:
        return (view.jobs_table(), gr.skip(), *[gr.skip()] * CHOICE_OUTPUTS)
    return (view.jobs_table(), now, *choices())


def tables():
    return view.aggregate_table(), view.critic_table(), view.step_table()


def diff(baseline: str, candidate: str):
    """What the CFT eval fixed and broke against the baseline eval, with the paired statistics."""
    require_existing(evals=(baseline, candidate))
    return view.diff_tables(baseline, candidate)


def regrade(name: str) -> str:
    require_existing(evals=(name,))
    return view.regrade_markdown(name)


def best_checkpoint(run: str) -> str:
    """The selected run's best checkpoint; a run gone from the disk says so (this follows the list, no toast)."""
    try:
        require_existing(runs=(run,))
    except UserError as exc:
        return f"⚠️ {exc}"
    return view.best_checkpoint_markdown(run)


# -- eval jobs -----------------------------------------------------------------------------------------------------
def start_eval(model_label: str, benchmark: str, limit: int | None, max_new_tokens: int, batch_size: int,
               name: str = "", critic: bool = False, endpoint_url: str = "", endpoint_model: str = "",
               step_level: bool = False, request: gr.Request = None) -> str:
    """Launch a background eval (or critic eval, at verdict or at step level) of a dropdown model, or of a model on
    an OpenAI-compatible server when an endpoint URL is given; returns a status line."""
    if step_level and not critic:
        raise UserError("step level is a kind of critic eval: tick critic mode too")
    if (endpoint_url or "").strip():
        spec, adapter = None, None
        model_label = f"{endpoint_model} at {endpoint_url}"
        served = dict(engine="endpoint", endpoint_url=endpoint_url.strip(), endpoint_model=(endpoint_model or "").strip())
    else:
        require_existing(model_labels=(model_label,))
        spec, adapter = models.resolve_label(model_label)
        served = {}
    kwargs = dict(name=(name or "").strip(), model=spec if not adapter else None, adapter=adapter, benchmark=benchmark,
                  limit=int(limit) if limit else None, max_new_tokens=int(max_new_tokens), batch_size=int(batch_size),
                  **served)
    if critic:
        kwargs["benchmark"] = benchmark if (benchmark or "").startswith("dataset:") else "champ"
    elif not benchmark:
        raise UserError("pick a benchmark to evaluate on")
    config = (StepCriticConfig if step_level else CriticConfig if critic else EvalConfig)(**kwargs)
    with starting_job(request):
        launch(config)
    return f"Started eval **{config.name}** ({model_label} on {config.benchmark}, {config.limit or 'all'} problems)."


def stop_eval(name: str) -> str:
    if not name:
        raise UserError("pick an eval to stop")
    ok = jobs.stop(eval_dir(name))
    return f"Stopping **{name}**; run it again to resume." if ok else f"**{name}** is not running."


def start_selection(run: str, benchmark: str, limit: int | None, max_new_tokens: int, batch_size: int,
                    request: gr.Request = None) -> str:
    """Evaluate every checkpoint of ``run`` in the background and mark the best (paper: MATH-500)."""
    if not run:
        raise UserError("run: pick a run that has checkpoints")
    require_existing(runs=(run,))
    config = SelectConfig(run=run, benchmark=benchmark or "math500", limit=int(limit) if limit else None,
                          max_new_tokens=int(max_new_tokens), batch_size=int(batch_size))
    with starting_job(request):
        launch_selection(config)
    return f"Started checkpoint selection **{config.name}**: every checkpoint of {run} on {config.benchmark}."
