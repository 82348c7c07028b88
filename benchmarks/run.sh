#!/usr/bin/env bash
# Runs a benchmark from this folder against the project's compiled classes and prints its JSON.
#   benchmarks/run.sh EngineBenchmark [args...]
# Builds the project (no tests) first; needs nothing but Maven and Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-EngineBenchmark}"; shift || true
mvn -q -B -ntp -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt >&2
exec java -Xmx8g -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "target/classes:$(cat target/bench-classpath.txt)" "benchmarks/${name}.java" "$@"
