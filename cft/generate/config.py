"""The generation job's config: questions, student, target dataset, teacher. Saved as jobs/<id>/config.json."""

from __future__ import annotations

from dataclasses import dataclass

from cft.config import JobConfig
from cft.errors import UserError
from cft.prompts import TEACHER_TEMPERATURE, TEACHER_TOP_P

TEACHERS = ("verifier", "openai")
JOB_PREFIX = "generate-"
DATASET_SOURCE_PREFIX = "dataset:"


@dataclass
class GenerateConfig(JobConfig):
    """Everything a generation job needs; serialized as the job's config.json (never holds an API key)."""

    what = "generate config"

    # questions
    # a benchmark name, "dataset:<name>", a path to a .jsonl file, or several of these separated by commas
    source: str = "gsm8k_train"
    n_questions: int = 20
    seed: int = 0
    # One-Shot CFT: only this question of the source (its id as the source lists it, e.g. "math500/17" or "17");
    # n_questions is then 1 and samples_per_question is the N diverse responses to critique.
    question_id: str = ""
    # student
    student_model: str = "embedded"  # "embedded" | a local model dir | a Hub id (online only)
    student_adapter: str | None = None  # a PEFT adapter dir trained by this app
    samples_per_question: int = 2
    temperature: float = 0.7  # > 0: the point is varied, often wrong, responses
    top_p: float = 0.95
    max_new_tokens: int = 512
    batch_size: int = 16
    # How the student is asked (cft.prompts.PROMPT_POLICIES): as the models it will be compared with are evaluated.
    prompt_policy: str = "system"
    # where the samples go
    dataset: str = "generated"
    # teacher
    teacher: str = "verifier"  # "verifier" | "openai"
    base_url: str = ""
    model: str = ""
    teacher_temperature: float = TEACHER_TEMPERATURE
    teacher_top_p: float = TEACHER_TOP_P
    teacher_max_tokens: int = 1024
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 5
    retry_backoff: float = 1.0  # seconds; doubled on each retry, with jitter
    prices: dict | None = None  # {model: {"input": USD/1M, "output": USD/1M}}; None: the saved table
    # The student through an OpenAI-compatible server instead of in-process (cft.engines); batch_size bounds the
    # concurrent requests. An adapter is served as the server's LoRA module and named as student_endpoint_model.
    student_engine: str = "local"
    student_endpoint_url: str = ""
    student_endpoint_model: str = ""
    student_endpoint_extra: dict | None = None  # request-body extras, e.g. cft.engines.NEUTRAL_EXTRA["vllm"]

    def validate(self) -> "GenerateConfig":
        def need(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise UserError(f"generate config field {name!r}: expected {expected}, got {getattr(self, name)!r}")

        need(bool(str(self.source).strip()), "source", "a benchmark name, dataset:<name> or a .jsonl path")
        from cft.prompts import PROMPT_POLICIES

        need(self.prompt_policy in PROMPT_POLICIES, "prompt_policy", " or ".join(PROMPT_POLICIES))
        need(int(self.n_questions) >= 1, "n_questions", "at least 1")
        if str(self.question_id or "").strip():
            need("," not in str(self.source), "source", "one source when question_id picks one of its questions")
            self.question_id, self.n_questions = str(self.question_id).strip(), 1
        need(int(self.samples_per_question) >= 1, "samples_per_question", "at least 1")
        need(float(self.temperature) >= 0, "temperature", "a number >= 0")
        need(0 < float(self.top_p) <= 1, "top_p", "a number in (0, 1]")
        need(int(self.max_new_tokens) >= 1, "max_new_tokens", "at least 1")
        need(int(self.batch_size) >= 1, "batch_size", "at least 1")
        from cft.engines import check

        check(self.student_engine, self.student_endpoint_url, self.student_endpoint_model, self.student_adapter,
              "generate config")
        need(bool(str(self.dataset).strip()), "dataset", "a dataset name")
        from cft import workspace

        workspace.check_name(self.dataset, "generate config field 'dataset'")
        need(self.teacher in TEACHERS, "teacher", f"one of {TEACHERS}")
        if self.teacher == "openai":
            need(bool(self.base_url), "base_url", "an OpenAI-compatible endpoint URL (e.g. http://127.0.0.1:8080/v1)")
            need(bool(self.model), "model", "the teacher model name")
            need(int(self.concurrency) >= 1, "concurrency", "at least 1")
            need(float(self.timeout) > 0, "timeout", "seconds > 0")
            need(int(self.max_retries) >= 0, "max_retries", "0 or more")
            from cft import urls

            self.base_url = urls.check_base_url(self.base_url, "generate config field 'base_url'")
        from cft import demo

        demo.check_limits("generate config", n_questions=self.n_questions, max_new_tokens=self.max_new_tokens,
                          samples_per_question=self.samples_per_question, batch_size=self.batch_size)
        if self.teacher == "openai":
            demo.check_limits("generate config", concurrency=self.concurrency,
                              teacher_max_tokens=self.teacher_max_tokens)
        self.check_inputs()
        if self.prices is not None:
            from cft.generate.pricing import validate_prices

            self.prices = validate_prices(self.prices)
        return self

    def check_inputs(self) -> None:
        """The question source, the student and its adapter name something this server may read (cft.paths: a
        path outside the allowed roots reads like a missing one; demo mode's model allow-list)."""
        from cft import paths
        from cft.data.benchmarks import check_benchmark

        source = str(self.source).strip()
        if not source.startswith(DATASET_SOURCE_PREFIX):
            check_benchmark(source)
        if self.student_model and self.student_model != "embedded":
            paths.model_dir(self.student_model, "student model")
        if self.student_adapter:
            paths.model_dir(self.student_adapter, "student adapter") or paths.resolve(
                self.student_adapter, "student adapter", kind="dir", expected=paths.MODEL_EXPECTED)
