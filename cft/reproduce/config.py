"""Every choice of a reproduction, in one config: data, teacher, training, evaluation, critic mode."""

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
    seed: int = 0
    # 1-3: data
    source: str = "gsm8k_train"
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
    # 4: training (one config for both runs; the pair differs only in the objective)
    base_model: str = "embedded"
    train_preset: str = "cpu-quick"
    max_steps: int = 12
    num_epochs: float = 1.0
    learning_rate: float = 3e-4
    per_device_batch_size: int = 2
    grad_accum: int = 1
    max_length: int = 512
    lora_r: int = 8
    lora_alpha: int = 16
    warmup_ratio: float = 0.1
    train_timeout: float = 3600.0
    # 5: evaluation
    benchmarks: list[str] = field(default_factory=lambda: ["gsm8k", "math500"])
    eval_limit: int = 15
    eval_max_new_tokens: int = 256
    eval_batch_size: int = 16
    # 6: critic mode
    critic_source: str = "champ"
    critic_limit: int = 15
    critic_max_new_tokens: int = 192

    def validate(self) -> "ReproduceConfig":
        workspace.safe_child(workspace.reports_dir(), self.name, "reproduce field name")
        if self.teacher not in ("verifier", "openai"):
            raise UserError(f"reproduce field teacher={self.teacher!r}: expected 'verifier' or 'openai'")
        if self.teacher == "openai" and not (self.teacher_base_url and self.teacher_model):
            raise UserError("reproduce with teacher=openai needs teacher_base_url and teacher_model")
        for name in ("n_questions", "samples_per_question", "eval_limit", "critic_limit"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"reproduce field {name}={getattr(self, name)!r}: expected at least 1")
        if not self.benchmarks:
            raise UserError("reproduce field benchmarks: name at least one benchmark")
        return self

    @property
    def dataset(self) -> str:
        return f"repro-{self.name}"
