#!/usr/bin/env bash
# Runs every test with the race detector: the main module, then the
# compatibility suite in test/ (its own module, so the official client's
# old dependencies stay out of Bolide's go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -timeout 15m ./...
if [ -f test/go.mod ]; then
	(cd test && go test -race -timeout 15m ./...)
fi
