#!/usr/bin/env bash
# Broker CPU per message of pipelined produce: starts a fresh `bolide
# standalone` from BIN, warms it up, runs `bolide bench produce` (4
# producers, 1 KiB, WINDOW in flight each) and prints the broker's CPU
# (utime+stime from /proc over the measured run) per message, with a CPU
# profile of the broker in $OUTDIR/LABEL.prof. Used for the before/after
# table of docs/benchmarks.md, "Send path"; alternate two binaries to
# compare them (wall-clock rates are noisy on a shared 2-core box, CPU per
# message much less).
#
#   bash scripts/sendpath-cpu.sh BIN LABEL [COUNT] [BROKER_CONF] [WINDOW]
#
# BENCH_FLAGS (environment) is added to both bench runs, e.g.
# BENCH_FLAGS="--batch 32" for batch sends; STANDALONE_FLAGS to the
# broker's command line, e.g. STANDALONE_FLAGS=--discard-sends for the
# ceiling (docs/benchmarks.md, "Twelfth session").
set -euo pipefail
BIN=$1 LABEL=$2 COUNT=${3:-300000} CONF=${4:-} WINDOW=${5:-500}
OUTDIR=${OUTDIR:-/tmp/sendpath}
mkdir -p "$OUTDIR"
D=$(mktemp -d "$OUTDIR/data.XXXX")
OUT=$OUTDIR/$LABEL.out
EXTRA=()
[ -n "$CONF" ] && EXTRA=(-c "$CONF")
"$BIN" standalone --data "$D" --namesrv-port 0 --broker-port 0 --metrics-addr "" \
	--cpuprofile "$OUTDIR/$LABEL.prof" "${EXTRA[@]}" ${STANDALONE_FLAGS:-} --log-level warn >"$OUT" 2>&1 &
PID=$!
trap 'kill -INT $PID 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 100); do grep -q 'point clients at' "$OUT" && break; sleep 0.1; done
NS=$(grep -o 'NAMESRV_ADDR=[0-9.:]*' "$OUT" | cut -d= -f2)
cpu() { awk '{print $14+$15}' "/proc/$PID/stat"; }
"$BIN" bench produce -n "$NS" -t BenchTopic --producers 4 --size 1024 --window "$WINDOW" --count 20000 ${BENCH_FLAGS:-} -q >"$OUTDIR/$LABEL.warm" 2>&1
C0=$(cpu)
/usr/bin/time -f "client %U user %S sys %e wall" "$BIN" bench produce -n "$NS" -t BenchTopic --producers 4 --size 1024 \
	--window "$WINDOW" --count "$COUNT" ${BENCH_FLAGS:-} -q >"$OUTDIR/$LABEL.bench" 2>&1
C1=$(cpu)
HWM=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$PID/status")
kill -INT $PID
wait $PID || true
grep -E 'msg/s|throughput|client' "$OUTDIR/$LABEL.bench"
awk -v a="$C0" -v b="$C1" -v t="$(getconf CLK_TCK)" -v n="$COUNT" -v l="$LABEL" \
	-v h="$HWM" 'BEGIN{printf "%s broker cpu %.2f s, %.2f us/msg, peak RSS %s MiB\n", l, (b-a)/t, (b-a)/t/n*1e6, h}'
