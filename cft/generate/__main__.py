"""``python -m cft.generate --config jobs/<id>/config.json``: run one generation job (started by the app or the CLI).

The API key reaches the job only through the environment (``OPENAI_API_KEY``), never through argv.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cft import jobs, redact
from cft.generate.job import run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one generation job from its config.json (a background job).")
    parser.add_argument("--config", required=True, help="jobs/<id>/config.json")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many new samples (testing)")
    parser.add_argument("--retry-failed", action="store_true", help="critique again the samples the teacher refused")
    args = parser.parse_args(argv)
    redact.guard_output()  # the log is this process's output: an echoed key must not land in it
    job = jobs.JobDir(Path(args.config).resolve().parent)
    return run_job(job, api_key=os.environ.get("OPENAI_API_KEY"), max_new_samples=args.limit,
                   retry_failed=args.retry_failed)


if __name__ == "__main__":
    sys.exit(main())
