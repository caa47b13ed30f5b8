#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/e2e/test_review.py, driven by Playwright with
# executable_path=/usr/bin/chromium; `playwright install` is never used). Idempotent: quick when
# it is already installed. Needs root (apt-get); otherwise it says what to run and goes on.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_chromium: chromium is missing; run as root: apt-get update && apt-get install -y chromium" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
