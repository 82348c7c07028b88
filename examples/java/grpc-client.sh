#!/usr/bin/env bash
# Runs the Java gRPC example (examples/java/io/loragate/examples/GrpcClient.java), which the Maven build
# compiles into target/test-classes next to the project's generated stubs; the dependency classpath
# is written by the build too (target/examples-classpath.txt). Build first: mvn -B -ntp package -DskipTests
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -f target/examples-classpath.txt || ! -f target/test-classes/io/loragate/examples/GrpcClient.class ]]; then
  echo "build the project first: mvn -B -ntp package -DskipTests" >&2
  exit 2
fi
exec java -cp "target/test-classes:target/classes:$(cat target/examples-classpath.txt)" io.loragate.examples.GrpcClient "$@"
