#!/usr/bin/env bash
# Side by side with Hugging Face transformers + PEFT (issue #17, item 6) and Jlama (item 8): the same
# random SmolLM2-135M-shaped float32 Llama folder (with a synthetic byte-level BPE tokenizer.json) and
# 32 random PEFT LoRA folders, run by loragate's engine, by transformers and (batch-1 base case only)
# by Jlama in interleaved rounds with the same thread count; prints one JSON object (progress on
# stderr). See SideBySideBenchmark.java and docs/benchmarks.md.
#   benchmarks/sidebyside.sh > results.json                        # 30 layers, 3 timed rounds (~10-20 min on 2 busy cores)
#   benchmarks/sidebyside.sh --layers 2 --decode 4 --repeats 1 --train-steps 1 --train-seq 32   # smoke (< 3 min once the venv exists)
# Options (SideBySideBenchmark): --layers 30 --prompt 64 --decode 16 --repeats 3 --threads 2 --batch 32
#   --adapters 32 --train-steps 3 (0: no training case) --train-batch 4 --train-seq 128 --train-lr 1e-4
#   --work target/sidebyside
# 1. makes a venv under target/sidebyside/venv (once) and installs the peer's packages with pip from
#    the package index this machine is configured with (pinned: torch 2.13.0 CPU, transformers
#    5.17.0, peft 0.21.0, safetensors); none of them is a dependency of the product or its tests;
# 2. Jlama (com.github.tjake:jlama-core:0.8.4) needs Java 21+ (its classes are Java 20 class files
#    and it uses the Vector API): takes JLAMA_JAVA (a java executable) or the newest JDK >= 21 under
#    /usr/lib/jvm (or JAVA_HOME's, if >= 21); gets jlama-core and its dependencies with Maven
#    (offline first, online only when they are missing from ~/.m2) and compiles
#    benchmarks/jlama/JlamaDecode.java with that JDK into target/sidebyside/jlama. Without a JDK 21+
#    (or the jars) the Jlama case is skipped with a message here and "jlama": {"skipped": ...} in the JSON;
# 3. benchmarks/run.sh builds the project and runs SideBySideBenchmark (Java 17), which starts
#    benchmarks/sidebyside_hf.py in that venv and JlamaDecode in the JDK 21+ and drives them.
# Environment: SIDEBYSIDE_PYTHON (use this Python instead of making the venv), PIP_FLAGS (extra pip
# options, default "--retries 0": a registry that cannot be reached is skipped, not retried),
# MVN_FLAGS (default -o, offline), JLAMA_JAVA (the java of a JDK 21+; JLAMA_JAVA=none skips Jlama).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/sidebyside/venv
python="${SIDEBYSIDE_PYTHON:-$venv/bin/python}"
if [ -z "${SIDEBYSIDE_PYTHON:-}" ] && ! "$python" -c 'import torch, transformers, peft, safetensors' 2>/dev/null; then
  echo "sidebyside: installing torch 2.13.0, transformers 5.17.0, peft 0.21.0, safetensors into $venv (once)" >&2
  mkdir -p target/sidebyside
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q ${PIP_FLAGS:---retries 0} torch==2.13.0 transformers==5.17.0 peft==0.21.0 safetensors >&2
fi

# The feature version of a java executable (17, 21, 25, ...), or nothing when it does not run.
java_feature() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}

# Jlama: a JDK 21+ (java and javac), jlama-core's classpath, the compiled driver; or a reason to skip.
jlama_args=()
jlama_skip=""
jlama_dir=target/sidebyside/jlama
jlama_java="${JLAMA_JAVA:-}"
if [ "$jlama_java" = none ]; then
  jlama_skip="JLAMA_JAVA=none"
elif [ -n "$jlama_java" ]; then
  v="$(java_feature "$jlama_java")"
  if [ -z "$v" ] || [ "$v" -lt 21 ]; then
    jlama_skip="JLAMA_JAVA=$jlama_java is not a Java 21 or newer (feature version '${v:-none}')"
  fi
else
  best=0
  for j in ${JAVA_HOME:+$JAVA_HOME/bin/java} /usr/lib/jvm/*/bin/java; do
    [ -x "$j" ] && [ -x "$(dirname "$j")/javac" ] || continue
    v="$(java_feature "$j")"
    if [ -n "$v" ] && [ "$v" -ge 21 ] && [ "$v" -gt "$best" ]; then best="$v"; jlama_java="$j"; fi
  done
  [ -n "$jlama_java" ] || jlama_skip="no JDK 21 or newer found (set JLAMA_JAVA to the java of one; looked at JAVA_HOME and /usr/lib/jvm/*)"
fi
if [ -z "$jlama_skip" ] && [ ! -x "$(dirname "$jlama_java")/javac" ]; then
  jlama_skip="$jlama_java has no javac beside it (a JDK is needed, not a JRE)"
fi
if [ -z "$jlama_skip" ]; then
  mkdir -p "$jlama_dir"
  cat > "$jlama_dir/pom.xml" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>benchmarks</groupId><artifactId>jlama-peer</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>com.github.tjake</groupId><artifactId>jlama-core</artifactId><version>0.8.4</version></dependency>
  </dependencies>
</project>
POM
  mvn_cp() { mvn -q -B -ntp "$@" -f "$jlama_dir/pom.xml" dependency:build-classpath -Dmdep.outputFile=cp.txt >&2; }
  if ! mvn_cp -o 2>/dev/null; then
    echo "sidebyside: jlama-core 0.8.4 is not in ~/.m2; fetching it and its dependencies with Maven (once)" >&2
    mvn_cp || jlama_skip="Maven could not get com.github.tjake:jlama-core:0.8.4 (offline and online)"
  fi
fi
if [ -z "$jlama_skip" ]; then
  jlama_cp="$(cat "$jlama_dir/cp.txt")"
  rm -rf "$jlama_dir/classes"
  if "$(dirname "$jlama_java")/javac" -nowarn --release 21 -d "$jlama_dir/classes" -cp "$jlama_cp" benchmarks/jlama/JlamaDecode.java >&2; then
    echo "sidebyside: Jlama runs on $jlama_java (Java $(java_feature "$jlama_java"))" >&2
    jlama_args=(--jlama-java "$jlama_java" --jlama-classpath "$PWD/$jlama_dir/classes:$jlama_cp")
  else
    jlama_skip="benchmarks/jlama/JlamaDecode.java did not compile with $jlama_java (messages above)"
  fi
fi
if [ -n "$jlama_skip" ]; then
  echo "sidebyside: skipping Jlama: $jlama_skip" >&2
  jlama_args=(--jlama-skipped "$jlama_skip")
fi

export SIDEBYSIDE_COMMAND="benchmarks/sidebyside.sh $*"
export SIDEBYSIDE_BUILD="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+uncommitted src changes')"
MVN_FLAGS="${MVN_FLAGS:--o}" exec benchmarks/run.sh SideBySideBenchmark --python "$python" "${jlama_args[@]}" "$@"
