#!/usr/bin/env bash
# Builds test/java/target/bolide-java-roundtrip.jar, the official RocketMQ
# Java client round trip that test/compat/java_test.go runs against Bolide.
# Needs a JDK 17+ and Maven (the first build downloads the client from Maven
# Central into ~/.m2). Rebuilds only when the jar is missing or older than
# its sources; pass --force to rebuild anyway. BOLIDE_SKIP_JAVA=1 skips.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BOLIDE_SKIP_JAVA:-}" = 1 ]; then
	echo "BOLIDE_SKIP_JAVA=1: not building the Java oracle"
	exit 0
fi
jar=test/java/target/bolide-java-roundtrip.jar
if [ "${1:-}" != --force ] && [ -f "$jar" ] &&
	[ -z "$(find test/java/pom.xml test/java/src -newer "$jar" -print -quit)" ]; then
	exit 0
fi
for tool in mvn java; do
	if ! command -v "$tool" >/dev/null; then
		echo "error: '$tool' not found: the Java compatibility test needs a JDK 17+ and Maven" >&2
		echo "       (apt-get install openjdk-17-jdk-headless maven), or set BOLIDE_SKIP_JAVA=1 to skip it" >&2
		exit 1
	fi
done
echo "building $jar"
(cd test/java && mvn -q -B -Dstyle.color=never -DskipTests package)
