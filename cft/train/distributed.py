"""Several training processes: the launch command (accelerate, with the user's config file or a shipped one) and
the one decision every rank must take together, whether to stop.

A stop request (SIGTERM from the UI or the CLI) may reach one rank before another, or only one of them. A rank
that stopped on its own would leave the next collective (DDP's gradient all-reduce) while the others wait in it
for ever; so each step end reduces the flag over the ranks (MAX: one rank asking is enough) and all of them stop
after the same step.

The shipped accelerate configs (``accelerate_configs/*.yaml``: ddp, fsdp, zero2) are package data, as TRL ships
its own; a user's file is used as it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cft.errors import UserError

SHIPPED = Path(__file__).with_name("accelerate_configs")
FIELD = "training config field accelerate_config"


def shipped_configs() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def accelerate_config_path(value: str) -> Path:
    """A shipped config's name (``ddp``, ``fsdp``, ``zero2``) or a YAML file -> its path; an error naming the
    field and the file when it is neither, or is not an accelerate config."""
    import yaml

    from cft import paths

    text = str(value).strip()
    if text in shipped_configs():
        path = SHIPPED / f"{text}.yaml"
    else:  # a user's file: only inside the allowed roots, and a refusal that reveals nothing about others
        path = paths.resolve(text, FIELD, kind="file",
                             expected=f"a shipped config ({', '.join(shipped_configs())}) or a YAML file inside the "
                                      f"workspace or a directory listed in {paths.ALLOWED_DIRS_ENV}")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        raise UserError(f"{FIELD}: {where}: not a readable YAML file ({exc})") from None
    if not isinstance(data, dict) or "distributed_type" not in data:
        raise UserError(f"{FIELD}: {path}: not an accelerate config (no distributed_type; see `accelerate config`)")
    return path.resolve()


def launch_argv(config_path: Path, *, accelerate_config: str = "", num_processes: int = 0,
                gpus: int = 0) -> list[str]:
    """The command that runs one training job: plain ``python -m cft.train`` for one process; ``accelerate launch``
    for data parallel over the GPUs or with the user's config file; ``torch.distributed.run`` for CPU processes."""
    job = ["-m", "cft.train", "--config", str(config_path)]
    n = num_processes or gpus
    if n <= 1 and not accelerate_config:
        return [sys.executable, *job]
    if not accelerate_config and gpus == 0:
        # CPU processes: accelerate's --cpu launcher runs one process (multi-CPU is its mpirun path), so torch's
        # own launcher starts them; the Trainer inside sees WORLD_SIZE and joins a gloo group. --standalone picks
        # a free rendezvous port, so two runs side by side (a CFT/SFT pair) do not collide.
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n), *job]
    argv = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config:
        argv += ["--config_file", str(accelerate_config_path(accelerate_config))]
    else:
        argv += ["--multi_gpu", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    if n >= 1:
        argv += ["--num_processes", str(n)]
    # A free port: two runs launched side by side (a CFT/SFT pair) must not share a rendezvous port.
    argv += ["--main_process_port", str(_free_port())]
    return argv + job


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def any_rank(flag: bool, device=None) -> bool:
    """True on every rank when ``flag`` is true on any of them (all_reduce MAX); the flag itself on one process."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return bool(flag)
    # NCCL reduces only CUDA tensors, gloo only CPU ones: the tensor goes where the backend works.
    if device is None or dist.get_backend() != "nccl":
        device = "cpu"
    value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
