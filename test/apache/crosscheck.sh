#!/usr/bin/env bash
# Cross-checks Bolide's mqadmin against Apache RocketMQ itself (outside CI):
# downloads org.apache.rocketmq:rocketmq-namesrv and rocketmq-broker 5.3.3
# (and their dependencies) with Maven into a cache outside the repository,
# starts a name server and a broker (LMQ on) on free loopback ports, seeds a
# topic, LMQs and consumer offsets, runs topicStatus, consumerProgress,
# queryMsgByKey, queryMsgByUniqueKey, queryMsgById and resetOffsetByTime
# with the upstream Java mqadmin and with Bolide's, prints both outputs and
# compares their parsed answers with each other and with the seeded state.
#
#   bash test/apache/crosscheck.sh [crosscheck flags, e.g. -answers-only, -keep]
#
# Needs a JDK 17+, Maven and Go. Environment: BOLIDE_APACHE_CACHE (default
# ~/.cache/bolide/apache-rocketmq). Exit status: 0 all answers agree, 1 some
# differ, 2 setup failed. See docs/admin.md, "Cross-checks".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=5.3.3
cache=${BOLIDE_APACHE_CACHE:-$HOME/.cache/bolide/apache-rocketmq}
cp_file=$cache/classpath-$version.txt

for tool in mvn java go; do
	if ! command -v "$tool" >/dev/null; then
		echo "crosscheck.sh: '$tool' not found (needs a JDK 17+, Maven and Go)" >&2
		exit 2
	fi
done

# The upstream Java mqadmin (test/java/mqadmin): the reference printout.
BOLIDE_SKIP_JAVA= bash "$root/scripts/java-oracle.sh"

# Apache's name server and broker: only a class path, resolved once.
cp_broken() {
	local jar
	[ -f "$cp_file" ] || return 0
	[ "$root/test/apache/pom.xml" -nt "$cp_file" ] && return 0
	IFS=: read -r -a jars <"$cp_file"
	for jar in "${jars[@]}"; do
		[ -f "$jar" ] || return 0
	done
	return 1
}
if cp_broken; then
	echo "resolving Apache RocketMQ $version (name server, broker) into $cache"
	mkdir -p "$cache"
	mvn -q -B -Dstyle.color=never -f "$root/test/apache/pom.xml" \
		-Dmaven.repo.local="$cache/repository" \
		dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime
fi

start=$SECONDS
status=0
(cd "$root/test" && go run ./apache/crosscheck -apache-classpath "$cp_file" "$@") || status=$?
echo "crosscheck.sh: finished in $((SECONDS - start)) s (exit $status)"
exit "$status"
