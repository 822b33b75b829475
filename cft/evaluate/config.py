"""What an eval measures and where it lives: EvalConfig and SelectConfig, eval directories, model labels, and
adapters named by run (``cft-1``, ``cft-1/checkpoint-20``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cft import demo, paths, workspace
from cft.config import JobConfig
from cft.errors import UserError

KIND = "eval"
# Fields that define what an eval measures: resuming under the same name with any of these changed would mix
# two different experiments in one results file, so it is refused.
IDENTITY_FIELDS = ("kind", "model", "adapter", "benchmark", "limit", "seed", "max_new_tokens", "greedy", "temperature",
                   "prompt_policy", "engine", "endpoint_url", "endpoint_model")


def identity_fields(config) -> tuple[str, ...]:
    """The fields that define what ``config`` measures: IDENTITY_FIELDS, and any a kind of eval adds."""
    return IDENTITY_FIELDS + tuple(getattr(config, "extra_identity", ()))


@dataclass
class EvalConfig(JobConfig):
    """One evaluation job. The CLI, the UI and the tests all build this object."""

    what = "eval config"

    name: str = ""
    # "embedded", a local model dir or a Hub id. None: the adapter's base model, else the embedded model.
    model: str | None = None
    # A run name ("cft-1"), a run checkpoint ("cft-1/checkpoint-20") or a PEFT adapter directory.
    adapter: str | None = None
    benchmark: str = "gsm8k"
    limit: int | None = None
    seed: int = 0
    max_new_tokens: int = 1024
    batch_size: int = 8
    greedy: bool = True
    temperature: float = 0.7  # only when greedy is False
    top_p: float = 0.95
    grading_timeout: float = 5.0
    kind: str = KIND
    # Inference through an OpenAI-compatible server instead of in-process (cft.engines); batch_size bounds the
    # concurrent requests. An adapter is served as the server's LoRA module and named as endpoint_model.
    engine: str = "local"
    endpoint_url: str = ""
    endpoint_model: str = ""
    endpoint_extra: dict | None = None  # request-body extras, e.g. cft.engines.NEUTRAL_EXTRA["llama.cpp"]
    # How the question is asked (cft.prompts.PROMPT_POLICIES). Empty: the policy the adapter's run trained under
    # (so a run is evaluated as it was trained), else the default "system".
    prompt_policy: str = ""

    def __post_init__(self) -> None:
        if self.limit is not None and int(self.limit) <= 0:
            raise UserError(f"limit must be a positive number of problems, got {self.limit!r}")
        if int(self.max_new_tokens) <= 0:
            raise UserError(f"max_new_tokens must be positive, got {self.max_new_tokens!r}")
        if int(self.batch_size) <= 0:
            raise UserError(f"batch_size must be positive, got {self.batch_size!r}")
        from cft.engines import check

        check(self.engine, self.endpoint_url, self.endpoint_model, self.adapter, self.what)
        check_inputs(self.model, self.adapter, self.benchmark if self.kind == KIND else None)
        demo.check_limits(self.what, limit=self.limit, max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)
        from cft.prompts import check_policy

        self.prompt_policy = self.prompt_policy or policy_of(self.adapter)
        check_policy(self.prompt_policy, f"{self.what} field prompt_policy")
        if not self.name:
            self.name = default_name(self)
        eval_dir(self.name)  # refuse path tricks early, naming the field


def check_inputs(model: str | None, adapter: str | None, benchmark: str | None) -> None:
    """Refuse, before anything is written or spawned, a model, adapter or benchmark that cannot be used (cft.paths:
    paths outside the allowed roots read like missing ones; demo mode's allow-list)."""
    from cft.data.benchmarks import check_benchmark

    if model and model != "embedded":
        paths.model_dir(model)
    if adapter:
        resolve_adapter(adapter)
    if benchmark is not None:
        check_benchmark(benchmark)


def slug(text: str) -> str:
    """``text`` as a default name under the one name rule (cft.workspace.check_name), cut to its length."""
    return (re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-._") or "model")[:workspace.NAME_MAX].rstrip("-._")


def model_label(model: str | None, adapter: str | None) -> str:
    """A short human name: ``embedded``, ``cft-1``, ``cft-1/checkpoint-20`` or the model dir's name."""
    if adapter:
        path = Path(str(adapter))
        runs = workspace.runs_dir().resolve()
        try:
            rel = path.resolve().relative_to(runs)
            parts = rel.parts
            if len(parts) >= 2 and parts[1] == "adapter":
                return parts[0]
            if len(parts) >= 3 and parts[1] == "checkpoints":
                return f"{parts[0]}/{parts[2]}"
        except ValueError:
            pass
        return str(adapter) if not path.is_absolute() else path.name
    if model is None or model == "embedded":
        return "embedded"
    return Path(str(model)).name if os.sep in str(model) and Path(str(model)).exists() else str(model)


def config_label(config: "EvalConfig") -> str:
    """The model's short name; an endpoint's is the model name it serves (a LoRA module's name for an adapter)."""
    if getattr(config, "engine", "local") == "endpoint":
        return config.endpoint_model
    return model_label(config.model, config.adapter)


def default_name(config: "EvalConfig") -> str:
    bench = Path(config.benchmark).stem if config.benchmark.endswith(".jsonl") else config.benchmark
    parts = [config_label(config), bench, str(config.limit or "all")]
    if config.kind != KIND:
        parts.insert(0, config.kind)
    return slug("-".join(parts).replace("/", "-"))


# ----------------------------------------------------------------------------------------------- paths


def eval_dir(name: str) -> Path:
    return workspace.safe_child(workspace.evals_dir(), name, "eval name")


def resolve_adapter(adapter: str | None) -> Path | None:
    """A run name, ``run/checkpoint-N`` or an adapter directory -> the adapter directory."""
    if not adapter:
        return None
    text = str(adapter)
    local = paths.model_dir(text, "adapter")  # a path: allowed and there, or one refusal that reveals nothing
    if local is not None:
        if not workspace.holds_weights(local):
            raise UserError(f"adapter {text!r}: not a PEFT adapter directory (no adapter_config.json) "
                            "nor a fully fine-tuned model")
        return local
    runs = workspace.runs_dir()
    run, _, ckpt = text.partition("/")
    try:
        run_dir = workspace.safe_child(runs, run)
    except UserError:
        run_dir = None
    if run_dir is not None and run_dir.is_dir():
        candidate = run_dir / "checkpoints" / ckpt if ckpt else workspace.final_weights(run_dir)
        if ckpt and "/" not in ckpt and candidate in workspace.checkpoints(run_dir):
            return candidate.resolve()
        if not ckpt and workspace.holds_weights(candidate):
            return candidate.resolve()
        raise UserError(f"adapter {text!r}: run {run!r} has no adapter at {candidate} (is the run finished?)")
    raise UserError(
        f"adapter {text!r}: not a PEFT adapter directory (no adapter_config.json) and no run named {run!r} under {runs}"
    )


def policy_of(adapter: str | None) -> str:
    """The prompt policy a run (named as an adapter: ``run`` or ``run/checkpoint-N``) trained under; the default
    otherwise. Evaluating a run under another policy than it trained with is a different experiment."""
    from cft.config import read_json_object
    from cft.prompts import DEFAULT_PROMPT_POLICY

    run = str(adapter or "").partition("/")[0]
    try:
        path = workspace.safe_child(workspace.runs_dir(), run, "run name") / "config.json" if run else None
    except UserError:
        path = None
    if path is None or not path.is_file():
        return DEFAULT_PROMPT_POLICY
    try:
        return read_json_object(str(path), "run config").get("prompt_policy") or DEFAULT_PROMPT_POLICY
    except UserError:
        return DEFAULT_PROMPT_POLICY


def run_checkpoints(run: str) -> list[Path]:
    """The run's ``checkpoints/checkpoint-N`` adapters, by step; an error naming the run when it has none."""
    run_dir = workspace.safe_child(workspace.runs_dir(), run, "run name")
    found = workspace.checkpoints(run_dir)
    if not found:
        raise UserError(f"run {run!r}: no checkpoints with an adapter under {run_dir / 'checkpoints'}")
    return found


@dataclass
class SelectConfig(JobConfig):
    """A checkpoint-selection job (run in the background from the Compare tab): the sweep of select_checkpoint."""

    what = "checkpoint selection config"

    run: str
    benchmark: str = "math500"
    limit: int | None = 100
    seed: int = 0
    max_new_tokens: int = 1024
    batch_size: int = 8
    model: str | None = None
    name: str = ""
    kind: str = "select"

    def __post_init__(self) -> None:
        run_checkpoints(self.run)  # a run without checkpoints is refused now, not in the background
        check_inputs(self.model, None, self.benchmark)
        demo.check_limits(self.what, limit=self.limit, max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)
        if not self.name:
            self.name = slug(f"select-{self.run}-{Path(self.benchmark).stem}-{self.limit or 'all'}")
        eval_dir(self.name)
