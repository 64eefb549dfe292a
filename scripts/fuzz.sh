#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME (default 60s), one after another, and
# stops at the first finding. Usage: scripts/fuzz.sh [fuzztime]
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-60s}"
targets=(
	"./internal/remoting FuzzDecodeFrame"
	"./internal/remoting FuzzReadCommand"
	"./internal/message FuzzDecodeRecord"
	"./internal/message FuzzParseProperties"
	"./internal/message FuzzDecodeBatch"
	"./internal/message FuzzParseMessageID"
	"./internal/protocol FuzzDecodeHeader"
	"./internal/protocol/fastjson FuzzParse"
	"./internal/protocol/body FuzzDecodeBody"
	"./internal/remoting FuzzJSONHeaderFast"
	"./internal/protocol FuzzSendCodecs"
	"./internal/protocol FuzzPullCodecs"
)
for entry in "${targets[@]}"; do
	read -r pkg name <<<"$entry"
	echo "== $name ($pkg) for $t"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "$pkg" 2>&1 | tail -3
done
