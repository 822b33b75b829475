"""Plain helpers shared by test files (fixtures live in conftest.py). Import them as ``from tests.helpers import ...``.

- the app: :func:`launched_app` launches the real app on a free port (built inside the test, after the autouse
  ``cft_home`` fixture moved CFT_HOME, so every test sees its own workspace);
- training: a mini dataset of critique samples (:func:`put_mini_dataset`) and a tiny run config (:func:`tiny_config`);
- evaluation: LoRA checkpoints trained to answer "7" then "8" (:func:`train_adapter_checkpoints`), installed as a
  run (:func:`install_run`), and a benchmark whose answers are all 7 (:func:`sevens_benchmark`);
- :func:`wait_for`, polling a condition with a deadline.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched_app(**overrides):
    """``build_app()`` launched with ``launch_kwargs()`` on a free port; yields the URL, closes on exit."""
    import app as app_module

    demo = app_module.build_app()
    kwargs = {**app_module.launch_kwargs(), **overrides}
    demo.queue().launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **kwargs
    )
    try:
        yield demo.local_url.rstrip("/") + "/"
    finally:
        demo.close()


def wait_for(predicate, timeout: float = 120, poll: float = 0.2, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")


def browser_wait(predicate, timeout: float = 30, what: str = "condition"):
    """``wait_for`` for a page: a predicate that raises (an element re-rendering) counts as not yet."""
    def attempt():
        try:
            return predicate()
        except Exception:  # noqa: BLE001 - Playwright raises while Gradio swaps the element
            return None

    return wait_for(attempt, timeout=timeout, what=what)


# ----------------------------------------------------------------------------------------------- training

QUESTIONS = {
    "Ann has 2 pens and buys 3 more. How many pens?": ("2 + 3 = 5. The answer is 5.", "5"),
    "What is 4 times 6?": ("4 * 6 = \\boxed{24}, so the answer is 24.", "24"),
    "What is 10 minus 7?": (None, "3"),  # no reference solution: not in the SFT set; a right response is verified
    "What is half of 18?": (None, "9"),  # no reference and no right response: in neither SFT set
}


def mini_samples(dataset: str = "mini") -> list:
    from cft.data.samples import Sample

    out = []
    for qi, (question, (solution, answer)) in enumerate(QUESTIONS.items()):
        wrong = str(int(answer) + 1)
        responses = [(f"I think it is {wrong}.", f"The student is off by one; the result is {answer}.", "wrong"),
                     (f"Computing step by step gives {wrong}.", f"The arithmetic is wrong, it should be {answer}.", "wrong")]
        if qi != 3:
            responses.append((f"Carefully: the answer is {answer}.", "Each step is correct.", "right"))
        for ri, (response, critique, verdict) in enumerate(responses):
            out.append(Sample(question=question, response=response,
                              critique=f"{critique}\n\nConclusion: {verdict} [END]", verdict=verdict,
                              dataset=dataset, key=f"q{qi}r{ri}", reference_answer=answer,
                              reference_solution=solution, status="pending"))
    out.append(Sample(question="What is 1 + 1?", response="2", critique="", dataset=dataset, key="uncritiqued",
                      status="uncritiqued"))
    out.append(Sample(question="What is 1 + 2?", response="3", critique="Fine.\n\nConclusion: right [END]",
                      verdict="right", dataset=dataset, key="discarded", status="discarded"))
    return out


def put_mini_dataset(dataset: str = "mini") -> list:
    from cft.data.store import Store

    samples = mini_samples(dataset)
    Store().add_samples(dataset, samples)
    return samples


def tiny_config(model_dir, **overrides):
    """A training config for the tiny random model: two steps, short sequences, one thread."""
    from cft.train import TrainConfig

    base = dict(name="run1", dataset="mini", base_model=str(model_dir), mode="cft", max_steps=2,
                per_device_batch_size=2, max_length=160, logging_steps=1, eval_steps=1, save_steps=1,
                eval_fraction=0.2, max_eval_examples=2, lora_r=4, lora_alpha=8, torch_threads=1)
    base.update(overrides)
    return TrainConfig(**base).validate()


def train_steps(name: str) -> list[int]:
    """The steps run ``name`` has logged a training loss for."""
    from cft.train import runs

    return [m["step"] for m in runs.metrics(name) if m.get("loss") is not None]


# ----------------------------------------------------------------------------------------------- evaluation


def train_adapter_checkpoints(base_dir: Path, out: Path, plan: list[tuple[str, str]], steps: int = 8) -> None:
    """Train one LoRA adapter on ``base_dir`` in stages; after stage i save it to ``out/<name_i>``.

    Each stage teaches the model to answer every question with the one token ``target`` (empty: no training,
    the LoRA is the identity). A random 2-layer model learns one token in a few steps; the eval reads it back with
    max_new_tokens=1.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, LlamaForCausalLM

    from cft.prompts import eval_messages, render

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(base_dir)
    model = get_peft_model(LlamaForCausalLM.from_pretrained(base_dir),
                           LoraConfig(r=8, lora_alpha=32, target_modules="all-linear", lora_dropout=0.0))
    prompt = tok(render(tok, eval_messages("What is 3 + 4?")), add_special_tokens=False)["input_ids"]
    for name, target in plan:
        if target:
            t = tok(target, add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt + t])
            labels = torch.tensor([[-100] * len(prompt) + t])
            opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
            model.train()
            for _ in range(steps):
                model(input_ids=ids, labels=labels).loss.backward()
                opt.step()
                opt.zero_grad()
            model.eval()
        model.save_pretrained(out / name)


def sevens_benchmark(path: Path, n: int = 4) -> Path:
    with open(path, "w") as fh:
        for i, q in enumerate(["What is 3 + 4?", "What is 10 - 3?", "How many days in a week?", "What is 14 / 2?",
                               "What is 1 + 6?", "What is 2 + 5?"][:n]):
            fh.write(json.dumps({"id": f"seven-{i}", "question": q, "answer": "7"}) + "\n")
    return path


def install_run(ckpts: Path, cft_home: Path, run: str = "cft-toy") -> Path:
    run_dir = cft_home / "runs" / run
    for name in ("checkpoint-10", "checkpoint-20"):
        shutil.copytree(ckpts / name, run_dir / "checkpoints" / name)
    shutil.copytree(ckpts / "checkpoint-20", run_dir / "adapter")
    return run_dir


def fake_checkpoint_run(cft_home: Path, run: str, steps=(1,), base_model: str = "embedded") -> Path:
    """A run directory with complete (marked) adapter checkpoints of a made-up LoRA: enough for the checkpoint
    lists, not for loading a model."""
    import torch
    from safetensors.torch import save_file

    from cft.workspace import mark_checkpoint_complete

    run_dir = cft_home / "runs" / run
    for step in steps:
        ckpt = run_dir / "checkpoints" / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        (ckpt / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base_model, "r": 1}))
        save_file({"lora_A": torch.zeros(1, 2)}, str(ckpt / "adapter_model.safetensors"))
        (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        mark_checkpoint_complete(ckpt)
    return run_dir


GENERATE_FORM_DEFAULTS = {
    "source": "gsm8k_train", "n_questions": 1, "seed": 0, "student": "embedded", "samples_per_question": 1,
    "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 1, "batch_size": 1, "dataset": "gen", "teacher": "verifier",
    "base_url": "", "model": "", "teacher_temperature": 0.3, "teacher_top_p": 0.95, "concurrency": 1, "timeout": 10,
    "max_retries": 0, "prices": "", "student_endpoint_url": "", "student_endpoint_model": "", "prompt_policy": "system",
    "question_id": "",
}


def generate_form(**values) -> list:
    """The Generate tab's launch arguments (after the API key) in its FORM_FIELDS order: the defaults above with
    ``values`` over them. A field the form gains and this table lacks fails here, by name."""
    from pages.generate.form import FORM_FIELDS

    merged = {**GENERATE_FORM_DEFAULTS, **values}
    missing = [f for f in FORM_FIELDS if f not in merged]
    assert not missing, f"tests.helpers.GENERATE_FORM_DEFAULTS lacks the Generate form's field(s) {missing}"
    return [merged[f] for f in FORM_FIELDS]


# A job that runs until stopped, then takes ``linger`` seconds to stop (a long batch, a checkpoint): what the
# "stopping…" state is for. It records its own states, as every real job does.
_SLOW_STOP = """
import os, signal, sys, time
from cft import jobs
job, linger = jobs.JobDir(sys.argv[1]), float(sys.argv[2])
def stop(signum, frame):
    time.sleep(linger)
    job.write_status("stopped")
    sys.exit(130)
signal.signal(signal.SIGTERM, stop)
job.write_status("running", pid=os.getpid())
print("step 1", flush=True)
while True:
    time.sleep(0.1)
"""


def slow_stopping_job(job_dir: Path, linger: float = 3.0, config: dict | None = None) -> int:
    """Spawn (cft.jobs.spawn) a job in ``job_dir`` that runs until stopped, then lingers; returns its pid."""
    from cft import jobs

    job = jobs.JobDir(job_dir)
    job.write_config(config or {"name": job.name})
    pid = jobs.spawn(["python", "-c", _SLOW_STOP, str(job.path), str(linger)], job)
    wait_for(lambda: job.status().get("state") == "running", timeout=30, what="the job to run")
    return pid
