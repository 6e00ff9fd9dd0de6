#!/usr/bin/env bash
# Installs, builds and tests the JavaScript client: the Node tests, then the browser test in headless
# Chromium. Exits non-zero on any failure.
#   KSPS_PYTHON   Python with ksps installed, used to start real servers (default: python3)
#   CHROMIUM_PATH Chromium binary (default: /usr/bin/chromium; Debian package `chromium`)
set -euo pipefail
cd "$(dirname "$0")"
export KSPS_PYTHON="${KSPS_PYTHON:-python3}"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    echo "clients/js/test.sh: no Chromium at $chromium (apt-get install -y chromium, or set CHROMIUM_PATH)" >&2
    exit 1
fi

npm ci --no-audit --no-fund
npm run build
# One test run for both suites, so there is one summary: Node tests first, then the browser.
node --test --test-concurrency=1 test/node/ test/browser/
