"""The reproduction's stages, each timed and each resumable (every stage writes through the store, run dirs and
eval dirs): 1-3 questions, student responses and critiques; 4 a CFT run and its paired SFT run; 5 base/SFT/CFT
evaluated; 6 each model as a critic. :func:`reproduce` runs them all and writes the report."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from cft.errors import UserError
from cft.reproduce.config import ReproduceConfig
from cft.reproduce.report import write_report


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def stage(self, name: str, fn: Callable[[], Any], log: Callable[[str], None]) -> Any:
        log(f"[{name}] ...")
        start = time.time()
        result = fn()
        self.seconds[name] = time.time() - start
        log(f"[{name}] done in {self.seconds[name]:.1f} s")
        return result


def _generate(cfg: ReproduceConfig, log: Callable[[str], None]) -> dict:
    from cft.generate import GenerateConfig
    from cft.generate.job import run_generation

    gen = GenerateConfig(
        source=cfg.source, n_questions=cfg.n_questions, seed=cfg.seed, student_model=cfg.student_model,
        samples_per_question=cfg.samples_per_question, temperature=cfg.student_temperature,
        max_new_tokens=cfg.student_max_new_tokens, batch_size=cfg.generate_batch_size, dataset=cfg.dataset,
        teacher=cfg.teacher, base_url=cfg.teacher_base_url, model=cfg.teacher_model,
        concurrency=cfg.teacher_concurrency,
    )
    counts = run_generation(gen, api_key=os.environ.get("OPENAI_API_KEY"))
    result = counts.as_dict()
    log(f"  generated {result.get('generated')} responses, critiqued {result.get('critiqued')}, failed {result.get('failed')}")
    return result


def _verdict_counts(cfg: ReproduceConfig) -> dict:
    from cft.data.store import Store

    return Store().stats(cfg.dataset)


def _train(cfg: ReproduceConfig, log: Callable[[str], None]) -> dict[str, str]:
    from cft.train import runs
    from cft.train.presets import preset_config as train_preset

    base = train_preset(
        cfg.train_preset, name=cfg.name, dataset=cfg.dataset, base_model=cfg.base_model, max_steps=cfg.max_steps,
        num_epochs=cfg.num_epochs, learning_rate=cfg.learning_rate, per_device_batch_size=cfg.per_device_batch_size,
        grad_accum=cfg.grad_accum, max_length=cfg.max_length, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
        warmup_ratio=cfg.warmup_ratio, seed=cfg.seed,
    ).validate()
    cft_cfg, sft_cfg = runs.pair_configs(base)
    names = {}
    # One after the other: on a small machine two runs at once only slow each other and blur the timings.
    for mode, run_cfg in (("cft", cft_cfg), ("sft", sft_cfg)):
        existing = runs.job(run_cfg.name)
        if existing.exists() and existing.status().get("state") == "completed":
            log(f"  {run_cfg.name}: already completed, reused")
        else:
            if existing.exists():
                runs.delete(run_cfg.name)
            runs.launch(run_cfg)
            status = runs.wait(run_cfg.name, timeout=cfg.train_timeout)
            if status.get("state") != "completed":
                raise UserError(f"training run {run_cfg.name} ended {status.get('state')}: {status.get('error', '')}\n"
                                f"{runs.log_tail(run_cfg.name, 20)}")
        info = runs.get(run_cfg.name)
        log(f"  {run_cfg.name}: final loss {info['final_loss']}, eval loss {info['eval_loss']}")
        names[mode] = run_cfg.name
    return names


def _models(cfg: ReproduceConfig, run_names: dict[str, str]) -> dict[str, str | None]:
    return {"base": None, "sft": run_names["sft"], "cft": run_names["cft"]}


def _evaluate(cfg: ReproduceConfig, run_names: dict[str, str], log: Callable[[str], None]) -> dict:
    from cft.evaluate import EvalConfig
    from cft.evaluate.runner import run_eval
    from cft.evaluate.stats import format_accuracy

    out: dict[str, dict[str, dict]] = {}
    for label, adapter in _models(cfg, run_names).items():
        for bench in cfg.benchmarks:
            ec = EvalConfig(name=f"{cfg.name}-{label}-{bench}", model=cfg.base_model, adapter=adapter, benchmark=bench,
                            limit=cfg.eval_limit, seed=cfg.seed, max_new_tokens=cfg.eval_max_new_tokens,
                            batch_size=cfg.eval_batch_size)
            summary = run_eval(ec)
            out.setdefault(label, {})[bench] = summary
            log(f"  {label:4s} {bench}: {format_accuracy(summary)}")
    return out


def _critic(cfg: ReproduceConfig, run_names: dict[str, str], log: Callable[[str], None]) -> dict:
    from cft.evaluate.critic import CriticConfig, format_summary, run_critic

    out = {}
    for label, adapter in _models(cfg, run_names).items():
        cc = CriticConfig(name=f"{cfg.name}-{label}-critic", model=cfg.base_model, adapter=adapter,
                          benchmark=cfg.critic_source, limit=cfg.critic_limit, seed=cfg.seed,
                          max_new_tokens=cfg.critic_max_new_tokens, batch_size=cfg.eval_batch_size)
        out[label] = run_critic(cc)
        log(f"  {format_summary(out[label])}")
    return out


def reproduce(cfg: ReproduceConfig, log: Callable[[str], None] = print) -> Path:
    cfg.validate()
    timer = Timer()
    data = timer.stage("1-3 questions, student responses, teacher critiques", lambda: _generate(cfg, log), log)
    stats = _verdict_counts(cfg)
    run_names = timer.stage("4 train CFT and SFT", lambda: _train(cfg, log), log)
    evals = timer.stage("5 evaluate base, SFT, CFT", lambda: _evaluate(cfg, run_names, log), log)
    critics = timer.stage("6 critic mode", lambda: _critic(cfg, run_names, log), log)
    path = write_report(cfg, seconds=timer.seconds, data=data, stats=stats, run_names=run_names, evals=evals, critics=critics)
    log(f"report: {path}")
    return path
