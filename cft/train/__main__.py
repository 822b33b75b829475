"""``python -m cft.train --config runs/<name>/config.json``: run one CFT/SFT LoRA training job (started by
:func:`cft.train.runs.launch`, directly or through ``accelerate launch``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cft.train", description="Run one CFT/SFT LoRA training job.")
    parser.add_argument("--config", required=True, help="runs/<name>/config.json")
    args = parser.parse_args(argv)
    from cft import redact

    redact.guard_output()  # train.log is this process's output: no secret may land in it
    from cft.train.job import run_job  # torch: only once the arguments are good

    return run_job(args.config)


if __name__ == "__main__":
    sys.exit(main())
