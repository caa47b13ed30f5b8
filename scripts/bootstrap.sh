#!/usr/bin/env bash
# Create (or bring up to date) the project's virtualenv from the pinned lock file.
#   .tools/  a tiny venv holding a pinned uv
#   .venv/   the project environment: requirements/lock.txt + this package (editable)
# Byte-compiles everything: Airflow processes start twice as fast with .pyc files.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
UV_VERSION=0.13.9
if [ ! -x .tools/bin/uv ] || ! .tools/bin/uv --version 2>/dev/null | grep -q "$UV_VERSION"; then
  rm -rf .tools
  "$PY" -m venv .tools
  .tools/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION" 2>&1 | grep -v "is ignored" || true
fi
[ -x .venv/bin/python ] || .tools/bin/uv venv -q -p "$PY" .venv
export VIRTUAL_ENV=$PWD/.venv UV_COMPILE_BYTECODE=1
.tools/bin/uv pip sync -q requirements/lock.txt
.tools/bin/uv pip install -q --no-deps -e .
# Headless Chromium (Debian's package) for the browser tests (docs screenshots, the review page).
./scripts/install_chromium.sh
