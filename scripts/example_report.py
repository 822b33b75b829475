"""Publish a reproduction report as the README's example, untouched by hand.

    python scripts/example_report.py workspace/reports/cpu          # copy it into docs/example-report/
    python scripts/example_report.py workspace/reports/cpu --check  # exit 1 when the README's copy differs

Copies the report's files (report.md, results.json, config.json, loss.png, loss.html) into docs/example-report/
and replaces the README's block between the ``example-report`` markers with the report's own "Result" and
"Accuracy" sections, quoted verbatim, and the command that produced it. Nothing in that block or that folder is
edited by hand: re-run this after a new reproduction.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "docs" / "example-report"
FILES = ("report.md", "results.json", "config.json", "loss.png", "loss.html")
START, END = "<!-- example-report:start (scripts/example_report.py writes this block) -->", "<!-- example-report:end -->"


def section(text: str, title: str) -> str:
    """The body of the report's ``## title...`` section, up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not match:
        raise SystemExit(f"{title!r}: no such section in the report")
    return match.group(1).strip()


def reproduce_command(config: dict) -> str:
    """The command that makes this report: its preset, then a flag for each field that differs from the preset."""
    sys.path.insert(0, str(ROOT))
    from cft.reproduce import preset_config

    preset = config["preset"]
    defaults = preset_config(preset).to_dict()
    flags = []
    for key, value in config.items():
        if key == "preset" or key not in defaults or defaults[key] == value:
            continue
        if isinstance(value, list):
            value = " ".join(map(str, value))
        elif isinstance(value, bool):
            value = str(value).lower()
        flags.append(f"--{key.replace('_', '-')} {value}")
    return " ".join([f"python -m cft reproduce --preset {preset}", *flags])


def block(report_dir: Path) -> str:
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    command = reproduce_command(json.loads((report_dir / "config.json").read_text(encoding="utf-8")))
    head = text.split("\n## ", 1)[0].split("\n", 2)[-1].strip()  # the line under the title: preset, data, hardware
    return "\n".join([
        START,
        f"**Example (`{command}`, this machine):** the full report is "
        "[docs/example-report/report.md](docs/example-report/report.md).",
        "",
        f"> {' '.join(head.split())}",
        "",
        section(text, "Result"),
        "",
        section(text, "Accuracy"),
        "",
        "![loss curves from the example](docs/example-report/loss.png)",
        END,
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report_dir", type=Path, help="a reproduction's report directory (workspace/reports/NAME)")
    parser.add_argument("--check", action="store_true", help="only check that the README quotes this report")
    args = parser.parse_args()
    missing = [f for f in ("report.md", "config.json") if not (args.report_dir / f).is_file()]
    if missing:
        print(f"{args.report_dir}: not a report directory (missing {', '.join(missing)})", file=sys.stderr)
        return 2
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md: the markers {START!r} ... {END!r} are missing", file=sys.stderr)
        return 2
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    new = before + block(args.report_dir) + after
    if args.check:
        return 0 if new == text else 1
    DEST.mkdir(parents=True, exist_ok=True)
    for old in DEST.iterdir():
        if old.is_file():
            old.unlink()
    for name in FILES:
        if (args.report_dir / name).is_file():
            shutil.copy2(args.report_dir / name, DEST / name)
    readme.write_text(new, encoding="utf-8")
    print(f"copied {args.report_dir} to {DEST.relative_to(ROOT)} and rewrote the README's example block")
    return 0


if __name__ == "__main__":
    sys.exit(main())
