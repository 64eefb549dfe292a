#!/usr/bin/env bash
# Builds the Java oracles that the compatibility tests in test/compat run
# against Bolide:
#   test/java/target/bolide-java-roundtrip.jar   the official RocketMQ Java
#       client round trip (test/java, java_test.go);
#   test/java/target/mqadmin/bolide-mqadmin.jar + classpath.txt   the
#       upstream Java mqadmin (org.apache.rocketmq:rocketmq-tools) and
#       bolide.AdminBatch, which runs several of its commands in one JVM
#       (test/java/mqadmin, mqadmin_java_test.go, test/apache).
# Needs a JDK 17+ and Maven (the first build downloads from Maven Central
# into ~/.m2). Each is rebuilt only when missing or older than its sources
# (or, for mqadmin, when a jar on its class path is gone); pass --force to
# rebuild anyway. BOLIDE_SKIP_JAVA=1 skips.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BOLIDE_SKIP_JAVA:-}" = 1 ]; then
	echo "BOLIDE_SKIP_JAVA=1: not building the Java oracles"
	exit 0
fi
force=
if [ "${1:-}" = --force ]; then
	force=1
fi

# stale OUTPUT SOURCES...: true when OUTPUT is missing or older than a source.
stale() {
	local out=$1
	shift
	[ -n "$force" ] || [ ! -f "$out" ] || [ -n "$(find "$@" -newer "$out" -print -quit)" ]
}

# classpath_broken FILE: true when a jar listed in FILE is gone (~/.m2 wiped).
classpath_broken() {
	local cp=$1 jar
	[ -f "$cp" ] || return 0
	IFS=: read -r -a jars <"$cp"
	for jar in "${jars[@]}"; do
		[ -f "$jar" ] || return 0
	done
	return 1
}

need_tools() {
	for tool in mvn java; do
		if ! command -v "$tool" >/dev/null; then
			echo "error: '$tool' not found: the Java compatibility tests need a JDK 17+ and Maven" >&2
			echo "       (apt-get install openjdk-17-jdk-headless maven), or set BOLIDE_SKIP_JAVA=1 to skip them" >&2
			exit 1
		fi
	done
}

jar=test/java/target/bolide-java-roundtrip.jar
if stale "$jar" test/java/pom.xml test/java/src; then
	need_tools
	echo "building $jar"
	(cd test/java && mvn -q -B -Dstyle.color=never -DskipTests package)
fi

admin=test/java/target/mqadmin/bolide-mqadmin.jar
if stale "$admin" test/java/mqadmin/pom.xml test/java/mqadmin/src ||
	classpath_broken test/java/target/mqadmin/classpath.txt; then
	need_tools
	echo "building $admin (upstream mqadmin, rocketmq-tools)"
	(cd test/java/mqadmin && mvn -q -B -Dstyle.color=never -DskipTests package)
fi
