# Sourced by the benchmark scripts (redteam.sh, quality.sh): starts and stops one packaged gateway
# (target/quarkus-app) on 127.0.0.1. Sets $pid; `trap stop_gateway EXIT` in the caller stops it.

pid=""

# stop_gateway: SIGTERM, up to 30 s to drain, then SIGKILL
stop_gateway() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}

# start_gateway LABEL PORT DATA_DIR LOG [JVM options...]: starts the gateway and waits up to 300 s
# until /q/health/ready answers; returns 1 (with a message on stderr) if it exits or is not ready.
start_gateway() {
  local label="$1" p="$2" data="$3" log="$4"; shift 4
  mkdir -p "$data"
  # shellcheck disable=SC2086
  OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY=PASSIVE java -Xms256m -XX:+ExitOnOutOfMemoryError \
    -Dai.djl.offline=true -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$p" -Dloragate.data-dir="$data" \
    "$@" ${GATEWAY_OPTS:-} -jar target/quarkus-app/quarkus-run.jar >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$p/q/health/ready" >/dev/null 2>&1; then
      echo "$label: gateway ready (pid $pid, port $p)" >&2
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "$label: the gateway exited; see $log" >&2; pid=""; return 1; }
    sleep 0.5
  done
  echo "$label: the gateway was not ready after 300 s; see $log" >&2
  return 1
}
