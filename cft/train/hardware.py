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


def cpu_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX): elsewhere bf16 autocast is emulated, slower
    than fp32."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return True
    import torch

    return "AMX" in str(torch.backends.cpu.get_cpu_capability())


def resolve_precision(config: TrainConfig) -> str:
    import torch

    if config.precision != "auto":
        return config.precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    # On a CPU, fp32 even where bf16 is native. Measured on this project's Zen 4 (AVX512-BF16): bf16 autocast trains
    # the embedded model 2.9x faster, but over the same 11 batches its loss drifted 0.3% -> 2.7% above fp32's, while
    # a different LoRA seed moved fp32's by 0.01% (benchmarks/train_bench.py --curves): not within noise, so bf16
    # stays one field away (precision: bf16) rather than the default.
    return "fp32"


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return rank() == 0
