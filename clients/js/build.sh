#!/usr/bin/env bash
# Builds the JavaScript client and copies its browser bundles into the Python package, which serves them at
# /ksps.js and /ksps.min.js. The copies are committed (so `pip install` alone serves them); scripts/test.sh
# checks that they match a fresh build.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
mkdir -p ../../src/ksps/static
cp dist/ksps.browser.js dist/ksps.browser.min.js ../../src/ksps/static/
