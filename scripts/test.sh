#!/usr/bin/env bash
# Install everything and run every test: Python (lint, types, protocol/broker/server/client/cluster tests), the
# conformance suite for each client, the Go client, the JavaScript client (Node and headless Chromium), and
# the benchmark suite's smoke mode. This is the test command of README.md; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }

step "system packages (Chromium for the browser tests, Redis for the cluster tests, nginx for the proxy tests)"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Debian package starts a system-wide Redis on 6379 where it can; the tests start their own on free ports.

step "python environment"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,docs]' -r bench/requirements.txt  # docs: tests/test_docs_site.py uses mkdocs
export KSPS_PYTHON="$ROOT/.venv/bin/python"

# --- vocab
step "generated vocabulary (spec/vocabulary.toml) is up to date"
.venv/bin/python scripts/generate_vocabulary.py --check

step "lint and types"
.venv/bin/ruff check .
.venv/bin/mypy

# --- pyclient
step "client trace vectors: spec/traces/*.json are what scripts/record_traces.py records (the Python session)"
.venv/bin/python scripts/record_traces.py --check
# --- end pyclient

step "javascript client: build, and check the bundles the server serves are that build"
bash clients/js/build.sh
if ! git diff --quiet -- src/ksps/static; then
  echo "src/ksps/static differs from a fresh build of clients/js: run clients/js/build.sh and commit" >&2
  git diff --stat -- src/ksps/static >&2
  exit 1
fi

step "python tests (protocol, broker, server incl. nginx and headless Chromium, client, cluster)"
.venv/bin/python -m pytest -q

step "conformance: python and javascript (go runs with the go client)"
.venv/bin/python -m pytest -q spec/conformance/runner --adapter python
.venv/bin/python -m pytest -q spec/conformance/runner --adapter js

# --- server-api
step "conformance: the blocking python client (ksps.sync)"
.venv/bin/python -m pytest -q spec/conformance/runner --adapter python-sync
step "conformance: the ASGI mount (ksps.asgi under uvicorn, then hypercorn) as the server"
.venv/bin/python -m pytest -q spec/conformance/runner --adapter python --server asgi
.venv/bin/python -m pytest -q spec/conformance/runner --adapter js --server asgi
.venv/bin/python -m pytest -q spec/conformance/runner --adapter python --server asgi-hypercorn

step "go client: vet, tests with the race detector, conformance"
bash clients/go/test.sh

step "javascript client: node tests and the browser test"
bash clients/js/test.sh

step "benchmark suite: smoke mode"
.venv/bin/python bench/run.py --smoke
# --- centrifugo-bench: the load generator's Centrifugo protocol mode, against frames recorded from Centrifugo
step "benchmark load generator: go vet and tests"
(cd bench && go vet ./loadgen && go test -count=1 ./loadgen)

# --- docs
# The site's runnable examples (<!-- run: ... --> blocks of docs/) and its links already ran with the Python
# tests (tests/test_guide*.py, tests/test_links.py), the configuration table's drift check too
# (tests/test_docs_site.py). Here: the strict build (a broken link, anchor or reference fails it), then every
# release artefact built and used from a clean place.
step "documentation site: mkdocs build --strict (needs clients/js's npm ci above for TypeDoc, and go)"
# Not --quiet: it hides the warnings from the counter of --strict, and broken links then pass.
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir site

step "release artefacts: wheel and sdist, npm tarball, Go module from an empty module cache, deploy/ recipes"
.venv/bin/python scripts/check_release.py

printf '\nall test suites passed\n'
