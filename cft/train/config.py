"""The training run's config: the data, LoRA, the optimisation, evaluation and checkpoints. Saved as
runs/<name>/config.json; the UI form, the CLI and the tests all build it."""

from __future__ import annotations

from dataclasses import dataclass, field

from cft.config import JobConfig
from cft.errors import UserError

# The three objectives a comparison trains (the paper's definitions; cft.train.examples builds each):
MODES = ("cft", "sft", "sft-verified")
MODE_NOTES = {
    "cft": "critique a noisy response: P(critique | question, response)",
    "sft": "imitate the reference solution, ending with its final answer: P(solution | question)",
    "sft-verified": "imitate the student's own responses whose final answer matches the reference",
}
FINETUNING = ("lora", "full")
SAMPLE_FILTERS = ("usable", "reviewed")  # usable: every non-discarded sample that has a critique
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
# none: the base in bf16/fp16 on a GPU (fp32 on a CPU); 4bit: QLoRA (NF4, double quantization, bf16 compute,
# paged AdamW 8-bit); 8bit: LLM.int8 weights. Both through bitsandbytes.
QUANTIZATIONS = ("none", "4bit", "8bit")
# What transformers' report_to accepts that we offer: local-first ones, and hosted ones when the user has them.
REPORTERS = ("none", "tensorboard", "trackio", "wandb", "mlflow")
DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# Paired runs get the same number of optimizer steps. The SFT set has one example per question while the CFT set has
# one per (question, response), so equal *epochs* would give SFT far fewer updates and it would lose by being
# under-trained; equal steps (same batch size, so the same number of sequences seen) is the compute-matched comparison.
PAIR_BUDGET_NOTE = (
    "paired runs: equal max_steps (same batch and accumulation, so the same number of optimizer updates and "
    "sequences); equal epochs would give the SFT run, with one example per question, far fewer updates"
)


@dataclass
class TrainConfig(JobConfig):
    """One training run. The UI form, the CLI and the tests all build this; it is saved as runs/<name>/config.json."""

    what = "training config"

    name: str = ""
    dataset: str = ""
    base_model: str = "embedded"
    mode: str = "cft"
    # How a question is asked when the model answers it, at training and at evaluation (cft.prompts.PROMPT_POLICIES).
    prompt_policy: str = "system"
    sample_filter: str = "usable"
    limit: int = 0  # use at most this many samples (0: all), for quick experiments
    # "lora" trains adapters; "full" every weight (the paper's setting; use a full-fine-tune learning rate, ~1e-5).
    finetuning: str = "lora"
    # LoRA
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    # optimisation
    learning_rate: float = 2e-4
    num_epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides num_epochs
    per_device_batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    weight_decay: float = 0.0
    # evaluation, logging, checkpoints
    eval_fraction: float = 0.05
    max_eval_examples: int = 64  # eval costs forward passes on every eval step: keep it bounded on CPU
    eval_steps: int = 50
    save_steps: int = 50
    keep_checkpoints: int = 0  # 0: keep every checkpoint, so any of them can be selected; N: only the last N
    logging_steps: int = 5
    seed: int = 42
    precision: str = "auto"
    gradient_checkpointing: bool = False
    torch_threads: int = 0  # 0: one per physical core left free by other processes (auto_threads)
    resume: bool = False
    preset: str = ""
    pair: str = ""  # shared id of a CFT/SFT pair launched together
    budget: str = ""  # how the pair's budget was matched (see PAIR_BUDGET_NOTE)
    # scale (issue #14): quantization, the chunked loss, tracking, multi-process launch
    quantization: str = field(default="none", metadata={"help": "none | 4bit (QLoRA) | 8bit, through bitsandbytes"})
    loss_chunk_size: int = field(default=1024, metadata={
        "help": "target tokens per chunk of the vocabulary projection in the loss (0: all at once)"})
    report_to: str = field(default="none", metadata={
        "help": "experiment tracking: none, or a comma list of tensorboard, trackio, wandb, mlflow"})
    accelerate_config: str = field(default="", metadata={
        "help": "an accelerate config file (DDP, FSDP, DeepSpeed yaml) or a shipped one: ddp, fsdp, zero2"})
    num_processes: int = field(default=0, metadata={
        "help": "training processes (0: one per visible GPU); > 1 without a GPU: CPU processes over gloo"})
    # critique-content ablations (issue #16; cft.train.ablations): they change only a CFT run's targets and samples
    critique_source: str = field(default="current", metadata={
        "help": "current (as stored, human-corrected where edited) | teacher (the teacher's original critique)"})
    critique_transform: str = field(default="full", metadata={
        "help": "full | strip-solution (cut embedded solutions and boxed answers) | verdict-only"})
    sample_require: str = field(default="", metadata={
        "help": "'' | corrected (only samples an annotator corrected) | verdict (only critiques with a verdict)"})
    wrong_ratio: float = field(default=-1.0, metadata={
        "help": "share of wrong-verdict examples, resampled at the same count (-1: the natural share)"})

    # ------------------------------------------------------------------ validation
    def validate(self) -> "TrainConfig":
        def bad(name: str, expected: str) -> UserError:
            return UserError(f"training config field {name}={getattr(self, name)!r}: expected {expected}")

        if not self.name:
            raise bad("name", "a run name (letters, digits, '-', '_')")
        from cft import workspace

        workspace.check_name(self.name, "training config field name")
        if not self.dataset:
            raise bad("dataset", "the name of a dataset in the sample store")
        if self.base_model and self.base_model != "embedded":
            from cft import paths

            paths.model_dir(self.base_model, "training config field base_model")  # allowed roots; demo allow-list
        if self.mode not in MODES:
            raise bad("mode", " or ".join(MODES))
        from cft.prompts import PROMPT_POLICIES

        if self.prompt_policy not in PROMPT_POLICIES:
            raise bad("prompt_policy", " or ".join(PROMPT_POLICIES))
        if self.finetuning not in FINETUNING:
            raise bad("finetuning", " or ".join(FINETUNING))
        if self.keep_checkpoints < 0:
            raise bad("keep_checkpoints", "0 (keep all) or a positive number")
        if self.sample_filter not in SAMPLE_FILTERS:
            raise bad("sample_filter", " or ".join(SAMPLE_FILTERS))
        if self.precision not in PRECISIONS:
            raise bad("precision", ", ".join(PRECISIONS))
        if self.scheduler not in SCHEDULERS:
            raise bad("scheduler", ", ".join(SCHEDULERS))
        for name in ("lora_r", "lora_alpha", "per_device_batch_size", "grad_accum", "logging_steps", "eval_steps", "save_steps"):
            if int(getattr(self, name)) < 1:
                raise bad(name, "an integer >= 1")
        if self.max_length < 16:
            raise bad("max_length", "at least 16 tokens")
        if not 0 <= self.lora_dropout < 1:
            raise bad("lora_dropout", "a number in [0, 1)")
        if not 0 <= self.warmup_ratio < 1:
            raise bad("warmup_ratio", "a number in [0, 1)")
        if not 0 <= self.eval_fraction < 1:
            raise bad("eval_fraction", "a number in [0, 1)")
        if not self.learning_rate > 0:
            raise bad("learning_rate", "a positive number")
        if self.weight_decay < 0:
            raise bad("weight_decay", "a number >= 0")
        if self.max_steps <= 0 and not self.num_epochs > 0:
            raise bad("num_epochs", "a positive number (or set max_steps > 0)")
        if not self.target_modules:
            raise bad("target_modules", "module names such as q_proj, v_proj (or all-linear)")
        if self.quantization not in QUANTIZATIONS:
            raise bad("quantization", ", ".join(QUANTIZATIONS))
        if self.loss_chunk_size < 0 or self.num_processes < 0:
            raise bad("loss_chunk_size" if self.loss_chunk_size < 0 else "num_processes", "an integer >= 0")
        unknown = [r for r in self.reporters() if r not in REPORTERS]
        if unknown or ("none" in self.reporters() and len(self.reporters()) > 1):
            raise bad("report_to", "none, or a comma list of " + ", ".join(REPORTERS[1:]))
        if self.accelerate_config:
            from cft.train.distributed import accelerate_config_path

            accelerate_config_path(self.accelerate_config)  # names the field and the file when it is not one
        from cft.train.ablations import CRITIQUE_SOURCES, CRITIQUE_TRANSFORMS, NATURAL, SAMPLE_REQUIRES, changes_targets

        if self.critique_source not in CRITIQUE_SOURCES:
            raise bad("critique_source", " or ".join(CRITIQUE_SOURCES))
        if self.critique_transform not in CRITIQUE_TRANSFORMS:
            raise bad("critique_transform", " or ".join(CRITIQUE_TRANSFORMS))
        if self.sample_require not in SAMPLE_REQUIRES:
            raise bad("sample_require", "'' (none), corrected or verdict")
        if self.wrong_ratio != NATURAL and not 0 <= self.wrong_ratio <= 1:
            raise bad("wrong_ratio", "a share in [0, 1], or -1 for the natural share")
        if self.mode != "cft" and changes_targets(self):
            raise bad("mode", "cft: critique_source, critique_transform, sample_require and wrong_ratio change CFT "
                      "targets only")
        if self.limit < 0 or self.torch_threads < 0:
            raise bad("limit" if self.limit < 0 else "torch_threads", "an integer >= 0")
        return self

    def reporters(self) -> list[str]:
        """``report_to`` as the list TrainingArguments takes (``["none"]`` when empty)."""
        return [part.strip() for part in str(self.report_to or "none").split(",") if part.strip()] or ["none"]
