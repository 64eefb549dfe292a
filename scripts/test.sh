#!/usr/bin/env bash
# Runs every test with the race detector: the main module, then the
# compatibility suite in test/ (its own module, so the official client's
# old dependencies stay out of Bolide's go.mod), which also runs the
# official Java client, built by scripts/java-oracle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -timeout 15m ./...
if [ -f test/go.mod ]; then
	# The Java-client test needs its jar (JDK 17+ and Maven; BOLIDE_SKIP_JAVA=1 skips).
	if [ "${BOLIDE_SKIP_JAVA:-}" != 1 ]; then
		bash scripts/java-oracle.sh
	fi
	(cd test && go test -race -timeout 15m ./...)
	# Tests of official-client paths that race inside the client itself
	# (see the build tags in test/compat): the same package without -race.
	(cd test && go test -timeout 10m -run 'TestOfficialClientResetWhileConsuming|TestOfficialClientOrderlyRebalance' ./compat/)
fi
