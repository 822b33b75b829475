"""Every choice of a reproduction, in one config: data, teacher, training, selection, evaluation, critic mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from cft import workspace
from cft.config import JobConfig
from cft.errors import UserError


@dataclass
class ReproduceConfig(JobConfig):
    """Every choice of a reproduction. A JSON file can set any field; flags override it."""

    what = "reproduce config"

    name: str = "cpu-smoke"
    preset: str = "cpu-smoke"
    seed: int = 0  # data, subsets and the first training seed
    seeds: int = 1  # training seeds per mode: seed, seed+1, ... (a claim that rests on training needs several)
    modes: list[str] = field(default_factory=lambda: ["cft", "sft", "sft-verified"])
    # How a question is asked when a model answers it, for the student, SFT training and every eval.
    prompt_policy: str = "system"
    # 1-3: data
    source: str = "gsm8k_train"  # one or several question sources, comma-separated (cft.generate.questions)
    n_questions: int = 16
    samples_per_question: int = 2
    student_model: str = "embedded"
    student_temperature: float = 0.8
    student_max_new_tokens: int = 192
    generate_batch_size: int = 16
    teacher: str = "verifier"  # "verifier" | "openai"
    teacher_base_url: str = ""
    teacher_model: str = ""
    teacher_concurrency: int = 8
    # 4: training (one config for every run; the runs differ only in the objective and the seed)
    base_model: str = "embedded"
    train_preset: str = "cpu-quick"
    finetuning: str = "lora"
    max_steps: int = 12
    num_epochs: float = 1.0
    learning_rate: float = 3e-4
    per_device_batch_size: int = 2
    grad_accum: int = 1
    max_length: int = 512
    lora_r: int = 8
    lora_alpha: int = 16
    warmup_ratio: float = 0.1
    save_steps: int = 50
    train_timeout: float = 3600.0
    # 5: checkpoint selection on a validation set that shares no item with what is reported
    select_checkpoint: bool = False
    selection_benchmark: str = ""  # default: the validation set of the first benchmark (cft.data.splits)
    selection_limit: int = 100
    # 6: evaluation. An entry may carry its own subset size and token budget, "NAME[:SIZE[:TOKENS]]"
    # ("gsm8k:200:512"); SIZE 0 means every item. The same budget holds for every model on that benchmark.
    benchmarks: list[str] = field(default_factory=lambda: ["gsm8k", "math500"])
    eval_limit: int = 15
    eval_max_new_tokens: int = 256
    eval_batch_size: int = 16
    # 7: critic mode
    critic_source: str = "champ"
    critic_limit: int = 15
    critic_max_new_tokens: int = 192

    def validate(self) -> "ReproduceConfig":
        from cft.prompts import check_policy
        from cft.train.config import FINETUNING, MODES

        workspace.safe_child(workspace.reports_dir(), self.name, "reproduce field name")
        if self.teacher not in ("verifier", "openai"):
            raise UserError(f"reproduce field teacher={self.teacher!r}: expected 'verifier' or 'openai'")
        if self.teacher == "openai" and not (self.teacher_base_url and self.teacher_model):
            raise UserError("reproduce with teacher=openai needs teacher_base_url and teacher_model")
        for name in ("n_questions", "samples_per_question", "critic_limit", "seeds", "selection_limit"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"reproduce field {name}={getattr(self, name)!r}: expected at least 1")
        if self.eval_limit < 0:
            raise UserError(f"reproduce field eval_limit={self.eval_limit!r}: expected 0 (every item) or more")
        if not self.benchmarks:
            raise UserError("reproduce field benchmarks: name at least one benchmark")
        self.eval_plan()  # each entry parses
        bad = [m for m in self.modes if m not in MODES]
        if bad or "cft" not in self.modes or len(self.modes) < 2:
            raise UserError(f"reproduce field modes={self.modes!r}: expected cft and at least one of sft, "
                            "sft-verified")
        if self.finetuning not in FINETUNING:
            raise UserError(f"reproduce field finetuning={self.finetuning!r}: expected one of {', '.join(FINETUNING)}")
        check_policy(self.prompt_policy, "reproduce field prompt_policy")
        return self

    @property
    def dataset(self) -> str:
        return f"repro-{self.name}"

    def eval_plan(self) -> list[tuple[str, int | None, int]]:
        """(benchmark, subset size or None for every item, max new tokens) for each entry of ``benchmarks``."""
        out = []
        for entry in self.benchmarks:
            bench, size, tokens = (str(entry).split(":") + ["", ""])[:3]
            try:
                limit = int(size) if size else self.eval_limit
                budget = int(tokens) if tokens else self.eval_max_new_tokens
            except ValueError:
                raise UserError(f"reproduce field benchmarks: {entry!r}: expected NAME[:SIZE[:TOKENS]]") from None
            if limit < 0 or budget < 1:
                raise UserError(f"reproduce field benchmarks: {entry!r}: SIZE must be >= 0 and TOKENS >= 1")
            out.append((bench.strip(), limit or None, budget))
        return out

    def selection_set(self) -> str:
        from cft.data.splits import validation_for

        return self.selection_benchmark or validation_for(self.eval_plan()[0][0])

    def seed_list(self) -> list[int]:
        return [self.seed + k for k in range(self.seeds)]
