#!/usr/bin/env bash
# Runs a benchmark from this folder against the project's compiled classes and prints its JSON.
#   benchmarks/run.sh EngineBenchmark [args...]
# Builds the project (no tests) first, compiles every benchmark of this folder together (they share
# helpers, e.g. EngineBenchmark.writeRandomModel), and needs nothing but Maven and Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-EngineBenchmark}"; shift || true
mvn -q -B -ntp ${MVN_FLAGS:-} -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt >&2
cp="target/classes:$(cat target/bench-classpath.txt)"
rm -rf target/bench-classes && mkdir -p target/bench-classes
javac -nowarn -d target/bench-classes -cp "$cp" benchmarks/*.java >&2
exec java -Xmx8g -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "target/bench-classes:$cp" "${name}" "$@"
