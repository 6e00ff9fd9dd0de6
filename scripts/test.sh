#!/usr/bin/env bash
# Install everything and run every test: Python (lint, types, unit and socket tests), the conformance suite
# for each client, the Go client, the JavaScript client (Node and headless Chromium).
# This is the test command of README.md; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

step "python environment"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
export KSPS_PYTHON="$ROOT/.venv/bin/python"

step "lint and types"
.venv/bin/ruff check .
.venv/bin/mypy

step "javascript client: build (the server serves its browser bundle)"
bash clients/js/build.sh

step "python tests"
.venv/bin/python -m pytest -q

step "conformance: python"
.venv/bin/python -m pytest -q spec/conformance/runner --adapter python

step "go client"
bash clients/go/test.sh

step "javascript client"
bash clients/js/test.sh

printf '\nall test suites passed\n'
