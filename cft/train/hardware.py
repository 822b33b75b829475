"""The machine a run trains on: torch threads, precision, and the process's rank under accelerate."""

from __future__ import annotations

import os
from pathlib import Path

from cft.train.config import TrainConfig


def physical_cores() -> int:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        try:
            cores.add(Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def auto_threads() -> int:
    """One torch thread per physical core that other processes leave free (at least one).

    On a shared, busy CPU every extra thread makes each small op wait at an OpenMP barrier for a descheduled
    sibling: measured here at load ~6 on 2 cores, 2 threads trained the embedded model 12-25x slower than 1.
    """
    cores = physical_cores()
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, round(cores - busy + 1)))


def resolve_precision(config: TrainConfig) -> str:
    import torch

    if config.precision != "auto":
        return config.precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"  # CPU autocast to bf16 changes numerics and is not faster for LoRA on most CPUs: opt-in only


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return rank() == 0
