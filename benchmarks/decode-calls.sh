#!/usr/bin/env bash
# Counts engine (PyTorch JNI) calls per batch-1 decode step (DecodeCalls) with a byte-buddy agent
# that counts every call into DJL's native library, and the step's thread CPU time (one intra-op
# thread). Prints JSON.
#   benchmarks/decode-calls.sh [--layers 30] [--steps 8] [--prompt 64]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp ${MVN_FLAGS:-} -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt >&2
cp="target/classes:$(cat target/bench-classpath.txt)"
buddy=$(tr ':' '\n' < target/bench-classpath.txt | grep '/byte-buddy-[0-9][^/]*\.jar$' | head -1)
[ -n "$buddy" ] || { echo "byte-buddy is not on the project's classpath" >&2; exit 1; }
rm -rf target/bench-classes target/jni-counter && mkdir -p target/bench-classes target/jni-counter/classes
javac -nowarn -d target/bench-classes -cp "$cp" benchmarks/*.java >&2
javac -nowarn -d target/jni-counter/classes -cp "$buddy" benchmarks/jni-counter/JniCallCounter.java >&2
printf 'Premain-Class: JniCallCounter\n' > target/jni-counter/manifest.txt
jar cfm target/jni-counter/jni-counter.jar target/jni-counter/manifest.txt -C target/jni-counter/classes . >&2
exec java -Xmx8g -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -javaagent:target/jni-counter/jni-counter.jar -cp "target/bench-classes:$cp" DecodeCalls "$@"
