#!/usr/bin/env bash
# Soak test: builds the gateway, starts it on a model folder with its own data directory, runs
# SoakBenchmark against it for --duration seconds (its JSON goes to stdout), and stops it.
#   benchmarks/soak.sh [--model DIR] [--duration S] [--port P] [--data DIR] [SoakBenchmark flags...]
# --model defaults to the tiny-llama test fixture; for a SmolLM2-shaped random model:
#   benchmarks/run.sh LoadGenerator --write-model /tmp/smol --layers 4 && benchmarks/soak.sh --model /tmp/smol
# MVN_FLAGS is passed to Maven (e.g. MVN_FLAGS=-o offline); OMP_NUM_THREADS defaults to 1.
# The heap is fixed and touched up front (-Xms = -Xmx, AlwaysPreTouch) so that RSS growth after the
# warm-up is memory the gateway keeps, not a heap still expanding. GATEWAY_OPTS adds JVM options;
# by default training steps wait at most 1 s for idle time (loragate.jobs.max-defer), so jobs
# progress under the soak's constant inference load.
set -euo pipefail
cd "$(dirname "$0")/.."
model=src/test/resources/fixtures/hf/tiny-llama
duration=1800
port=18080
data=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) extra+=("$1" "$2"); shift 2 ;;
  esac
done
model="$(cd "$model" && pwd)"
mvn -q -B -ntp ${MVN_FLAGS:-} package -DskipTests >&2
mkdir -p target
data="${data:-$(mktemp -d "$PWD/target/soak-data-XXXXXX")}"
echo "soak: model $model, data $data, port $port, log $data/gateway.log" >&2
# shellcheck disable=SC2086
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY=PASSIVE java -Xms768m -Xmx768m -XX:+AlwaysPreTouch \
  -XX:+ExitOnOutOfMemoryError -Dai.djl.offline=true ${GATEWAY_OPTS:--Dloragate.jobs.max-defer=1s} \
  -Dquarkus.http.port="$port" -Dloragate.data-dir="$data" -Dloragate.model.path="$model" \
  -jar target/quarkus-app/quarkus-run.jar >"$data/gateway.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for i in $(seq 1 600); do
  if curl -sf "http://localhost:$port/q/health/ready" >/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "soak: the gateway exited; see $data/gateway.log" >&2; exit 1; }
  sleep 0.5
done
warmup=$(( duration / 10 > 60 ? 60 : duration / 10 ))
benchmarks/run.sh SoakBenchmark --url "http://localhost:$port" --pid "$pid" --model-path "$model" \
  --duration "$duration" --warmup "$warmup" "${extra[@]}"
