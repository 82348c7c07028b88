#!/usr/bin/env bash
# Red-team replay suite of issue #14 (one tenant must never corrupt or stall another).
# Builds the gateway (mvn package -DskipTests), compiles benchmarks/*.java, then per phase starts a
# packaged gateway with authentication on, on a fresh data dir under target/redteam-*, on 127.0.0.1,
# runs RedTeam against it and stops it (trap on exit):
#   decoder: tiny-llama fixture (poisoned adapters, slow uploads, completion flood, huge chat line,
#            tenant deletion mid-upload, path in errors, name@01, /q/metrics, upload spool,
#            abandoned request, file modes, NaN in JSON)
#   encoder: the embedded all-MiniLM-L6-v2 (50 inputs of ~512 tokens to /v1/embeddings and
#            /v1/classifications, the gateway's RSS watched)
# Prints the table (Markdown: attack | expected | observed | verdict) on stderr and the rows as
# JSON on stdout.
#   benchmarks/redteam.sh > results.json
#   ENCODER_INPUTS=8 benchmarks/redteam.sh > results.json    # the memory attack scaled down (unfixed builds!)
#   PHASES=decoder SKIP_BUILD=1 benchmarks/redteam.sh         # one phase, jar already built
# Environment: PHASES (decoder,encoder), ENCODER_INPUTS (50), RSS_KILL_MB (14000: the gateway is
# killed above it, to protect a shared machine), PORT (18090; the encoder gateway uses PORT+1),
# MVN_FLAGS (-o), SKIP_BUILD=1, REDTEAM_ARGS (more RedTeam flags for every phase, e.g.
# "--slow-seconds 30 --slow-uploads 100"), GATEWAY_OPTS (more JVM options for the gateways),
# OMP_NUM_THREADS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
phases="${PHASES:-decoder,encoder}"
port="${PORT:-18090}"
encoder_inputs="${ENCODER_INPUTS:-50}"
rss_kill="${RSS_KILL_MB:-14000}"
file_limit_mb=16

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  mvn -q -B -ntp ${MVN_FLAGS:--o} package -DskipTests >&2
fi
cp="target/classes:target/quarkus-app/lib/main/*"
rm -rf target/bench-classes && mkdir -p target/bench-classes
javac -nowarn -d target/bench-classes -cp "$cp" benchmarks/*.java >&2

run="$(mktemp -d "$PWD/target/redteam-XXXXXX")"
admin_key="redteam-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
admin_sha="$(printf %s "$admin_key" | sha256sum | cut -d' ' -f1)"
echo "redteam: run folder $run (gateway logs, data dirs, rows)" >&2

. benchmarks/gateway.sh
trap stop_gateway EXIT

# redteam_gateway NAME PORT [JVM options...]: data dir $run/data-NAME, log $run/gateway-NAME.log, auth on
redteam_gateway() {
  local name="$1" p="$2"; shift 2
  start_gateway "redteam: $name" "$p" "$run/data-$name" "$run/gateway-$name.log" -Xmx1g \
    -Dloragate.auth.enabled=true -Dloragate.auth.admin-key-sha256="$admin_sha" \
    -Dloragate.files.max-bytes=${file_limit_mb}M "$@"
}

run_phase() {
  local name="$1" p="$2"; shift 2
  # shellcheck disable=SC2086
  java -Xmx1g -Xss512k -cp "target/bench-classes:$cp" RedTeam --phase "$name" --url "http://127.0.0.1:$p" --pid "$pid" \
    --data "$run/data-$name" --server-dir "$PWD" --admin-key "$admin_key" --out "$run/$name.json" \
    --file-limit-mb "$file_limit_mb" --rss-kill-mb "$rss_kill" "$@" ${REDTEAM_ARGS:-} || \
    echo "redteam: the $name phase exited with $?" >&2
}

outs=()
if [[ ",$phases," == *",decoder,"* ]]; then
  outs+=("$run/decoder.json")
  if redteam_gateway decoder "$port" -Dloragate.model.path="$PWD/src/test/resources/fixtures/hf/tiny-llama"; then
    run_phase decoder "$port"
  fi
  stop_gateway
fi
if [[ ",$phases," == *",encoder,"* ]]; then
  outs+=("$run/encoder.json")
  if redteam_gateway encoder "$((port + 1))"; then
    run_phase encoder "$((port + 1))" --encoder-inputs "$encoder_inputs"
  fi
  stop_gateway
fi
REDTEAM_BUILD="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+uncommitted src changes')" \
REDTEAM_SETTINGS="PHASES=$phases ENCODER_INPUTS=$encoder_inputs REDTEAM_ARGS=${REDTEAM_ARGS:-} GATEWAY_OPTS=${GATEWAY_OPTS:-} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}" \
  java -cp "target/bench-classes:$cp" RedTeam --merge "${outs[@]}"
