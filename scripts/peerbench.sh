#!/usr/bin/env bash
# Side-by-side peer benchmark (issue 7): Bolide, NATS JetStream, Apache
# RocketMQ and a ceiling on this machine, in one run, alternating
# (A,B,C,D,A,B,C,D... per scenario), each run on a freshly started broker
# with a fresh data directory, then one table of medians, ranges and
# ratios, with the machine limits measured in the same run. Not part of
# CI: a full run takes about half an hour. See docs/benchmarks.md, "Side
# by side".
#
#   bash scripts/peerbench.sh [--reps N] [--count N] [--quick] [--only bolide,nats,rocketmq,ceiling] [--out FILE]
#
# Systems (--only, default all): Bolide, NATS JetStream, Apache RocketMQ,
# and the ceiling: Bolide with sends discarded (`standalone
# --discard-sends`), which decodes and answers each send and stores
# nothing, so its rate bounds what Bolide's network and codec path allow
# with this load generator on these cores. It runs the produce scenarios
# only (async, sync, batch); in sync it is the async ceiling over the
# shorter sync count.
#
# Scenarios (--scenarios, default all):
#   async    pipelined produce, 1 KiB, 4 producers x 500 in flight, async flush
#            (Bolide and RocketMQ ASYNC_FLUSH; NATS default sync_interval)
#   sync     the same load with sync flush (SYNC_FLUSH; NATS sync_interval: always)
#   batch    the async load sent in batch requests of --batch-size messages
#            (Bolide and RocketMQ SEND_BATCH_MESSAGE; NATS `pub fast` batches)
#   consume  drain a pre-filled backlog (bolide bench consume; nats bench js fetch)
#   latency  produce-to-consume p50/p99/p999 at a fixed offered load
#            (bolide bench e2e; scripts/peerbench/natslat)
#
# Builds, once and pinned, nats-server v2.15.2 and the nats CLI v0.5.0 into
# $BOLIDE_BENCH_CACHE (default ~/.cache/bolide-bench); resolves Apache
# RocketMQ 5.3.3 from Maven Central into $BOLIDE_APACHE_CACHE (default
# ~/.cache/bolide/apache-rocketmq, shared with test/apache/crosscheck.sh).
# Needs Go, and for RocketMQ a JDK 17+ and Maven, and python3 (free ports).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${BOLIDE_BENCH_CACHE:-$HOME/.cache/bolide-bench}
apache_cache=${BOLIDE_APACHE_CACHE:-$HOME/.cache/bolide/apache-rocketmq}
nats_server_version=v2.15.2
natscli_version=v0.5.0
rocketmq_version=5.3.3 # test/apache/pom.xml

orig_args="$*"
reps=3
reps_given=
count=1000000    # messages per async produce run and per consume backlog
sync_count=100000 # NATS with sync_interval: always does ~5k msg/s
warmup=
quick=
only=bolide,nats,rocketmq,ceiling
scenario_list=async,sync,batch,consume,latency
batch_size=32
out=
size=1024
producers=4
window=500
rate=20000
lat_duration=20s
lat_procs=0
pin=
keep=

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
	cat <<EOF
Flags:
  --reps N            repetitions of each system per scenario (default 3; --quick: 1)
  --count N           messages per async produce run and consume backlog (default $count)
  --sync-count N      messages per sync-flush produce run (default $sync_count)
  --warmup N          messages sent (and not measured) before each produce run (default count/20)
  --rate N            offered load of the latency scenario, msg/s (default $rate)
  --lat-duration D    length of a latency run (default $lat_duration)
  --size N            message size in bytes (default $size)
  --producers N       producer connections (default $producers)
  --window N          sends in flight per producer (default $window)
  --batch-size N      messages per request in the batch scenario (default $batch_size)
  --only LIST         systems: bolide,nats,rocketmq,ceiling (default all)
  --scenarios LIST    async,sync,batch,consume,latency (default all)
  --quick             tiny counts: checks the plumbing, measures nothing
  --pin               brokers on CPU 1, load generators on CPU 0 (taskset)
  --lat-procs N       GOMAXPROCS of both latency load generators (default $lat_procs; 0: Go's default)
  --out FILE          also write the table (markdown) to FILE
  --keep              keep the work directory (logs, data) at the end
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; reps_given=1; shift ;;
	--count) count=$2; shift ;;
	--sync-count) sync_count=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--rate) rate=$2; shift ;;
	--lat-duration) lat_duration=$2; shift ;;
	--lat-procs) lat_procs=$2; shift ;;
	--size) size=$2; shift ;;
	--producers) producers=$2; shift ;;
	--window) window=$2; shift ;;
	--batch-size) batch_size=$2; shift ;;
	--only) only=$2; shift ;;
	--scenarios) scenario_list=$2; shift ;;
	--quick) quick=1 ;;
	--pin) pin=1 ;;
	--out) out=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "peerbench.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$quick" ]; then
	count=20000 sync_count=2000 lat_duration=3s
	[ -n "$reps_given" ] || reps=1
	[ -n "$warmup" ] || warmup=1000
fi
[ -n "$warmup" ] || warmup=$((count / 20))
sync_warmup=$((warmup * sync_count / count))
IFS=, read -r -a systems <<<"$only"
IFS=, read -r -a scenarios <<<"$scenario_list"
for s in "${systems[@]}"; do
	case $s in bolide | nats | rocketmq | ceiling) ;; *) echo "peerbench.sh: unknown system $s" >&2; exit 2 ;; esac
done
for s in "${scenarios[@]}"; do
	case $s in async | sync | consume | latency | batch) ;; *) echo "peerbench.sh: unknown scenario $s" >&2; exit 2 ;; esac
done
has() { [[ ",$only," == *",$1,"* ]]; }

need() {
	command -v "$1" >/dev/null || { echo "peerbench.sh: '$1' not found ($2)" >&2; exit 2; }
}
need go "to build Bolide, NATS and the probes"
need python3 "to find free ports"
if has rocketmq; then
	need java "JDK 17+ for Apache RocketMQ"
	need mvn "to resolve Apache RocketMQ from Maven Central"
fi
broker_pin=() client_pin=()
if [ -n "$pin" ]; then
	need taskset "for --pin"
	broker_pin=(taskset -c 1) client_pin=(taskset -c 0)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/peerbench.XXXXXX")
mkdir -p "$work/logs" "$work/data"
pids=() # every process this script started and has not stopped yet

stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after 15 s
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
stop_all() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${pids[$i]}"
	done
	pids=()
	rm -rf "$work/data"
	mkdir -p "$work/data"
}
cleanup() {
	local rc=$?
	stop_all
	if [ -n "$keep" ]; then
		echo "peerbench.sh: logs and data kept in $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[peerbench $(date +%H:%M:%S)] $*" >&2; }

# --- builds ------------------------------------------------------------------

mkdir -p "$cache/bin"
nats_server=$cache/bin/nats-server nats=$cache/bin/nats natslat=$cache/bin/natslat bolide=$cache/bolide
if has nats; then
	# Pinned builds, once: the version is part of the check.
	if ! "$nats_server" --version 2>/dev/null | grep -q "$nats_server_version"; then
		log "building nats-server $nats_server_version into $cache/bin (about a minute)"
		GOBIN=$cache/bin go install "github.com/nats-io/nats-server/v2@$nats_server_version"
	fi
	if ! "$nats" --version 2>/dev/null | grep -q "${natscli_version#v}"; then
		log "building the nats CLI $natscli_version into $cache/bin (about a minute)"
		GOBIN=$cache/bin go install "github.com/nats-io/natscli/nats@$natscli_version"
	fi
	(cd "$root/scripts/peerbench/natslat" && go build -o "$natslat" .)
fi
log "building bolide into $bolide"
(cd "$root" && go build -o "$bolide" ./cmd/bolide)
if has rocketmq; then
	cp_file=$apache_cache/classpath-$rocketmq_version.txt
	cp_ok=1
	if [ ! -f "$cp_file" ] || [ "$root/test/apache/pom.xml" -nt "$cp_file" ]; then
		cp_ok=
	else
		IFS=: read -r -a jars <"$cp_file" || true # no final newline
		for jar in "${jars[@]}"; do [ -f "$jar" ] || cp_ok=; done
	fi
	if [ -z "$cp_ok" ]; then
		log "resolving Apache RocketMQ $rocketmq_version into $apache_cache"
		mkdir -p "$apache_cache"
		mvn -q -B -Dstyle.color=never -f "$root/test/apache/pom.xml" -Dmaven.repo.local="$apache_cache/repository" \
			dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime
	fi
	rocketmq_cp=$(cat "$cp_file")
fi

# --- brokers -----------------------------------------------------------------

# free_port [D...]: a free loopback port P such that P+D is free for each D.
free_port() {
	python3 - "$@" <<'EOF'
import socket, sys
deltas = [int(d) for d in sys.argv[1:]]
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if 1024 < p - 2 and p + 2 < 65536 and all(free(p + d) for d in deltas):
        print(p); sys.exit(0)
sys.exit("no free port")
EOF
}

clk_tck=$(getconf CLK_TCK)
cpu_seconds() { # utime+stime of a process, in seconds
	awk -v t="$clk_tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo -
}

# wait_for DESC SECONDS PID CMD...: poll CMD until it succeeds, PID dies or time is up.
wait_for() {
	local desc=$1 secs=$2 pid=$3 i
	shift 3
	for ((i = 0; i < secs * 5; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		kill -0 "$pid" 2>/dev/null || { log "$desc exited during start"; return 1; }
		sleep 0.2
	done
	log "$desc not ready within $secs s"
	return 1
}

# Each start_* sets broker_pid (the process whose CPU is counted) and the
# address the clients use (ns or url), and appends to pids.
start_bolide() { # start_bolide ASYNC_FLUSH|SYNC_FLUSH [STANDALONE_FLAG...]
	local dir nsp bp flush=$1
	shift
	dir=$(mktemp -d "$work/data/bolide.XXXX")
	nsp=$(free_port) bp=$(free_port)
	printf 'brokerClusterName=DefaultCluster\nbrokerName=broker-a\nflushDiskType=%s\nautoCreateTopicEnable=true\n' "$flush" >"$dir/broker.conf"
	"${broker_pin[@]}" "$bolide" standalone --data "$dir/store" --namesrv-port "$nsp" --broker-port "$bp" \
		-c "$dir/broker.conf" --metrics-addr "" "$@" >"$dir/bolide.log" 2>&1 &
	broker_pid=$! ns=127.0.0.1:$nsp
	pids+=("$broker_pid")
	wait_for "bolide standalone (log $dir/bolide.log)" 30 "$broker_pid" grep -q "point clients at" "$dir/bolide.log"
}

start_nats() { # start_nats ASYNC_FLUSH|SYNC_FLUSH
	local dir port
	dir=$(mktemp -d "$work/data/nats.XXXX")
	port=$(free_port)
	{
		echo "listen: 127.0.0.1:$port"
		echo "jetstream {"
		echo "  store_dir: \"$dir/js\""
		# SYNC_FLUSH's contract (ack after the data is on disk) is NATS's
		# sync_interval: always; ASYNC_FLUSH's is the default (2 min).
		[ "$1" = SYNC_FLUSH ] && echo "  sync_interval: always"
		echo "}"
	} >"$dir/js.conf"
	"${broker_pin[@]}" "$nats_server" -c "$dir/js.conf" >"$dir/nats.log" 2>&1 &
	broker_pid=$! url=nats://127.0.0.1:$port
	pids+=("$broker_pid")
	wait_for "nats-server (log $dir/nats.log)" 30 "$broker_pid" "$nats" -s "$url" account info
}

# JVM settings after RocketMQ's runbroker.sh (G1, fixed heap), sized for a
# 2-core, 24 GiB machine; the name server idles.
rocketmq_broker_jvm=(-server -Xms2g -Xmx2g -XX:MaxDirectMemorySize=2g -XX:+UseG1GC -XX:G1HeapRegionSize=16m
	-XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0
	-XX:-OmitStackTraceInFastThrow)
rocketmq_namesrv_jvm=(-server -Xms256m -Xmx256m -XX:+UseG1GC)
# Upstream sheds a send that waited 200 ms in the broker's queue
# (SYSTEM_BUSY, TIMEOUT_CLEAN_QUEUE); with 2,000 sends in flight on two
# cores that turns a throughput test into a load-shedding test. Bolide and
# NATS queue such sends, so RocketMQ is allowed to as well.
rocketmq_queue_wait=10000

start_rocketmq() { # start_rocketmq ASYNC_FLUSH|SYNC_FLUSH
	local dir nsp bp ns_pid
	dir=$(mktemp -d "$work/data/rocketmq.XXXX")
	mkdir -p "$dir/home"
	nsp=$(free_port) bp=$(free_port -2 1) # the broker also listens on port-2 (VIP) and port+1 (HA)
	ns=127.0.0.1:$nsp
	echo "listenPort=$nsp" >"$dir/namesrv.properties"
	cat >"$dir/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=$1
listenPort=$bp
brokerIP1=127.0.0.1
namesrvAddr=$ns
storePathRootDir=$dir/store
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
waitTimeMillsInSendQueue=$rocketmq_queue_wait
EOF
	local sys=(-Duser.home="$dir/home" -Drocketmq.home.dir="$dir/home" -cp "$rocketmq_cp")
	java "${rocketmq_namesrv_jvm[@]}" "${sys[@]}" org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.properties" \
		>"$dir/namesrv.out" 2>&1 &
	ns_pid=$!
	pids+=("$ns_pid")
	"${broker_pin[@]}" java "${rocketmq_broker_jvm[@]}" "${sys[@]}" org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" \
		>"$dir/broker.out" 2>&1 &
	broker_pid=$!
	pids+=("$broker_pid")
	wait_for "Apache RocketMQ broker (log $dir/broker.out)" 120 "$broker_pid" \
		bash -c "'$bolide' admin clusterList -n '$ns' | grep -q '127.0.0.1:$bp'"
}

start_broker() { # start_broker SYSTEM FLUSH
	case $1 in
	bolide) start_bolide "$2" ;;
	ceiling) start_bolide "$2" --discard-sends ;;
	nats) start_nats "$2" ;;
	rocketmq) start_rocketmq "$2" ;;
	esac
}

# --- clients -----------------------------------------------------------------

nats_size=${size}B
[ "$size" = 1024 ] && nats_size=1KiB

client() { "${client_pin[@]}" "$@"; }

produce() { # produce SYSTEM TOPIC COUNT [BATCH]: pipelined produce, the load of the async, sync and batch rows
	local batch=${4:-1}
	case $1 in
	nats)
		if [ "$batch" -gt 1 ]; then
			# nats 0.5.0 cannot re-create a fast-batch stream ("insufficient
			# storage resources"): the measured run reuses the warm-up's.
			local create=(--create --storage=file --maxbytes=8GB)
			[ "$2" = BenchTopic ] && [ "$warmup" -gt 0 ] && create=()
			client "$nats" -s "$url" bench js pub fast bench.s "${create[@]}" --purge \
				--size="$nats_size" --msgs="$3" --clients="$producers" --batch="$batch" --no-progress
		else
			client "$nats" -s "$url" bench js pub async bench.s --create --purge --storage=file --maxbytes=8GB \
				--size="$nats_size" --msgs="$3" --clients="$producers" --batch="$window" --no-progress
		fi
		;;
	*)
		client "$bolide" bench produce -n "$ns" -t "$2" --queues 8 --producers "$producers" --window "$window" \
			--size "$size" --count "$3" --batch "$batch" -q
		;;
	esac
}

consume() { # consume SYSTEM COUNT: drain the backlog
	case $1 in
	nats) client "$nats" -s "$url" bench js fetch --msgs="$2" --size="$nats_size" --no-progress ;;
	*) client "$bolide" bench consume -n "$ns" -t BenchTopic --count "$2" --duration 30m --idle 10s -q ;;
	esac
}

# --lat-procs N runs both latency load generators (both Go) with
# GOMAXPROCS=N; the default (0) leaves Go's default. Tail latency on two
# shared cores is sensitive to it, for each system differently
# (docs/benchmarks.md), so the setting is the same for both and printed.
latency() { # latency SYSTEM
	local procs=()
	[ "$lat_procs" -gt 0 ] && procs=(env "GOMAXPROCS=$lat_procs")
	case $1 in
	nats)
		client "${procs[@]}" "$natslat" -s "$url" --rate "$rate" --duration "$lat_duration" --producers "$producers" \
			--window "$window" --size "$size"
		;;
	*)
		client "${procs[@]}" "$bolide" bench e2e -n "$ns" -t BenchE2ETopic --queues 8 --rate "$rate" --duration "$lat_duration" \
			--producers "$producers" --window "$window" --size "$size" -q
		;;
	esac
}

runs=$work/runs.tsv
printf '# scenario\tsystem\trep\texit\tbroker_cpu_s\tlog\tcount\n' >"$runs"

# run_case SCENARIO SYSTEM REP: fresh broker, warm-up or pre-fill, the
# measured client run (broker CPU read before and after), broker stopped.
run_case() {
	local sc=$1 sys=$2 rep=$3 flush=ASYNC_FLUSH n rc=0 c0 c1 cpu=- lg
	lg=$work/logs/$sc-$sys-$rep.log
	[ "$sc" = sync ] && flush=SYNC_FLUSH
	sync
	if ! start_broker "$sys" "$flush"; then
		printf '%s\t%s\t%s\t%s\t-\t%s\t0\n' "$sc" "$sys" "$rep" 99 "$lg" >>"$runs"
		echo "broker did not start" >"$lg"
		stop_all
		return
	fi
	case $sc in
	async | sync | batch)
		n=$count
		local w=$warmup b=1
		[ "$sc" = sync ] && n=$sync_count w=$sync_warmup
		[ "$sc" = batch ] && b=$batch_size
		if [ "$w" -gt 0 ]; then
			produce "$sys" BenchWarmup "$w" "$b" >"$lg.warmup" 2>&1 || log "$sc/$sys warm-up failed (see --keep logs)"
		fi
		c0=$(cpu_seconds "$broker_pid")
		produce "$sys" BenchTopic "$n" "$b" >"$lg" 2>&1 || rc=$?
		;;
	consume)
		n=$count
		produce "$sys" BenchTopic "$n" >"$lg.prefill" 2>&1 || log "consume/$sys pre-fill failed (see --keep logs)"
		# Drain what was stored (bench produce prints "stored: X of Y sent").
		local stored
		stored=$(sed -n 's/^stored: \([0-9]*\) of .*/\1/p' "$lg.prefill")
		[ -n "$stored" ] && [ "$stored" -gt 0 ] && n=$stored
		c0=$(cpu_seconds "$broker_pid")
		consume "$sys" "$n" >"$lg" 2>&1 || rc=$?
		;;
	latency)
		n=$(python3 -c "import sys; d=sys.argv[2]; s=float(d[:-1])*{'s':1,'m':60}[d[-1]]; print(int(float(sys.argv[1])*s))" "$rate" "$lat_duration")
		c0=$(cpu_seconds "$broker_pid")
		latency "$sys" >"$lg" 2>&1 || rc=$?
		;;
	esac
	c1=$(cpu_seconds "$broker_pid")
	if [ "$c0" != - ] && [ "$c1" != - ]; then
		cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$sys" "$rep" "$rc" "$cpu" "$lg" "$n" >>"$runs"
	log "$sc $sys rep $rep: exit $rc, broker CPU ${cpu}s; $(grep -m1 -E 'throughput:|stats:|end-to-end' "$lg" | sed 's/^ *//' || true)"
	stop_all
}

# --- the run -----------------------------------------------------------------

log "machine limits (probe in $work)"
(cd "$root" && go run ./scripts/peerbench/limits --dir "$work" ${quick:+--quick}) >"$work/limits.log"
sed -n '/^limit /!p' "$work/limits.log" >&2

start=$SECONDS
for sc in "${scenarios[@]}"; do
	for ((rep = 1; rep <= reps; rep++)); do
		for sys in bolide nats rocketmq ceiling; do
			# The ceiling stores nothing: there is nothing to consume.
			if [ "$sys" = ceiling ] && [[ $sc == consume || $sc == latency ]]; then continue; fi
			if has "$sys"; then run_case "$sc" "$sys" "$rep"; fi
		done
	done
done
log "runs finished in $((SECONDS - start)) s"

lat_procs_label=$lat_procs
[ "$lat_procs" -gt 0 ] || lat_procs_label="Go default"
header="Command: \`scripts/peerbench.sh $orig_args\`; $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), \
$(nproc) CPUs; $reps rep(s); $size-byte messages, $producers producers x $window in flight; async $count msgs, sync $sync_count msgs, batch scenario $batch_size msgs per request, \
warm-up $warmup; latency $rate msg/s for $lat_duration (load generators GOMAXPROCS=$lat_procs_label)${pin:+; pinned: brokers CPU 1, clients CPU 0}."
(cd "$root" && go run ./scripts/peerbench/report --runs "$runs" --limits "$work/limits.log" --size "$size" --rate "$rate" \
	--header "$header" ${out:+--out "$out"})
