#!/usr/bin/env bash
# Installs CFT Studio into ./.venv (Python 3.11). `--dev` adds the test tools and Debian's chromium.
# Safe to re-run: pip skips what is already there, and its cache keeps llama-cpp-python's one-time build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# pip's "Location ... is ignored" lines (an extra local index that this machine's pip.conf names) are noise.
pip_install() {
  .venv/bin/python -m pip install --disable-pip-version-check -q "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }
}
REQ=requirements.txt
[ "${1:-}" = "--dev" ] && REQ=requirements-dev.txt
pip_install -r "$REQ"
pip_install --no-deps -r requirements-assets.txt
if [ "${1:-}" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
