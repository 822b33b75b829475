"""A generation job's progress counters, written to progress.json and status.json as it goes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable


@dataclass
class Counts:
    total: int = 0  # samples this job should end with
    generated: int = 0
    critiqued: int = 0
    failed: int = 0  # requests that failed for the endpoint's reasons: the job fails, a relaunch retries them
    failed_samples: int = 0  # samples the teacher refused (e.g. a 400): recorded with the reason and skipped
    conflicts: int = 0
    phase: str = "starting"
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """For progress.json/status.json, whose ``total`` is the step count: the sample count is ``samples``."""
        out = asdict(self)
        out["samples"] = out.pop("total")
        out["errors"] = self.errors[-5:]
        return out


ProgressFn = Callable[[Counts], None]
