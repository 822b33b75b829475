"""``python -m cft``: the command-line interface.

Each command group lives in ``cft/commands/<name>.py`` and exposes ``register(subparsers)``; a handler
returns an exit code. Bad input raises :class:`cft.errors.UserError`, printed as one clear line, exit 2; a bug is
one line too (exit 1), its traceback appended to ``<workspace>/logs/cli-errors.log`` (``CFT_DEBUG=1`` raises it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from cft import __version__, commands, paths, redact
from cft.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cft", description="CFT Studio: critique fine-tuning research tools.")
    parser.add_argument("--version", action="version", version=f"cft-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"cft.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    redact.guard_output()
    try:
        # The command line is the operator's own shell: any path they name is theirs to use (cft.paths).
        with paths.trusted():
            return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk, not the input: full, read-only, permissions; one line, not a traceback
        print(f"error: {exc.strerror or exc} ({exc.filename or 'no file named'})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not the input: one line here, the traceback in the workspace's log
        if os.environ.get("CFT_DEBUG"):
            raise
        print(f"internal error: {redact.redact(f'{type(exc).__name__}: {exc}')} ({_log_traceback(exc)})",
              file=sys.stderr)
        return 1


def _log_traceback(exc: BaseException) -> str:
    """Append the redacted traceback to ``<workspace>/logs/cli-errors.log``; say where (or that it could not)."""
    import time
    import traceback

    from cft import workspace

    try:
        log = workspace.subdir("logs") / "cli-errors.log"
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} python -m cft {' '.join(sys.argv[1:])}\n")
            fh.write(redact.redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
        return f"the traceback is in {log}; set CFT_DEBUG=1 to see it here"
    except OSError:
        return "set CFT_DEBUG=1 to see the traceback"


if __name__ == "__main__":
    sys.exit(main())
