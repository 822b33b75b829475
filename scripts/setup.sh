#!/usr/bin/env bash
# Installs CFT Studio into ./.venv (Python 3.11). `--dev` adds the test tools, Debian's chromium, and Debian's
# postgresql (the server binaries under /usr/lib/postgresql/*/bin: the tests start a throwaway cluster from them).
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
if [ "${1:-}" = "--dev" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  MISSING=""
  [ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || MISSING="$MISSING postgresql"
  if [ -n "$MISSING" ]; then
    # noninteractive: CI has no terminal for debconf to ask on.
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
  fi
fi
