#!/usr/bin/env bash
# Checks of the Go client: gofmt, go vet, the tests with the race detector (against real servers
# started with `$KSPS_PYTHON -m ksps.testing`), then the conformance scenarios through the Go
# adapter. Exits non-zero on the first failure.
#
# KSPS_PYTHON: a Python with ksps installed; default: the repository's .venv, else python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [ -z "${KSPS_PYTHON:-}" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then KSPS_PYTHON="$repo/.venv/bin/python"; else KSPS_PYTHON=python3; fi
fi
# A relative path is relative to the caller's directory; the tests run in another one.
case "$KSPS_PYTHON" in
    /*) ;;
    */*) KSPS_PYTHON="$PWD/$KSPS_PYTHON" ;;
esac
export KSPS_PYTHON

cd "$here"
echo "== go client: gofmt, vet"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
    echo "gofmt would change: $unformatted" >&2
    exit 1
fi
go vet ./...

echo "== go client: tests (race detector)"
go test -race -count=1 -timeout 5m ./...

echo "== go client: conformance scenarios"
cd "$repo"
"$KSPS_PYTHON" -m pytest spec/conformance/runner --adapter go -q -p no:cacheprovider
