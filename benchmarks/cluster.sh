# Sourced by the multi-replica benchmarks (affinity.sh, ratelimit-replicas.sh): a throw-away
# PostgreSQL 15 (Debian's binaries, as deployment/local-cluster.sh runs it), N packaged gateways
# (target/quarkus-app) on that database and on one shared `file:` blob store, and HAProxy instances
# with deployment/haproxy/haproxy.cfg or its round-robin variant. Everything is under $work and on
# 127.0.0.1. The caller sets `trap cluster_stop EXIT INT TERM`: it stops every process started here.

pgbin=/usr/lib/postgresql/15/bin
cluster_pids=()
cluster_replicas=()
cluster_work=""
cluster_pg_port=""

# initdb and postgres refuse to run as root: then they run as the postgres user
cluster_as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# cluster_stop: SIGTERM to every gateway and HAProxy (30 s to drain, then SIGKILL), then PostgreSQL
cluster_stop() {
  local pid
  for pid in "${cluster_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${cluster_pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  cluster_pids=()
  if [ -n "$cluster_work" ] && [ -d "$cluster_work/pg/data" ]; then
    cluster_as_pg "$pgbin/pg_ctl" -D "$cluster_work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# cluster_postgres WORK PORT: initdb + start; creates the role and database `loragate` (password loragate)
cluster_postgres() {
  cluster_work="$1" cluster_pg_port="$2"
  [ -x "$pgbin/postgres" ] || { echo "missing $pgbin/postgres: apt-get install postgresql" >&2; return 1; }
  mkdir -p "$cluster_work/pg"
  chmod 755 "$cluster_work" # the postgres user reaches its folder inside
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$cluster_work/pg"
  cluster_as_pg "$pgbin/initdb" -D "$cluster_work/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$cluster_work/pg/initdb.log"
  cluster_as_pg "$pgbin/pg_ctl" -D "$cluster_work/pg/data" -l "$cluster_work/pg/server.log" -w -t 120 \
    -o "-p $cluster_pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200 -c fsync=off" \
    start >/dev/null
  cluster_as_pg "$pgbin/psql" -h 127.0.0.1 -p "$cluster_pg_port" -U postgres -q \
    -c "CREATE ROLE loragate LOGIN PASSWORD 'loragate'" -c "CREATE DATABASE loragate OWNER loragate"
}

# cluster_replicas N FIRST_PORT MODEL [JVM options...]: N gateways on FIRST_PORT.., each with its own
# data directory, all on the database and on the blob store file:$cluster_work/blobs; waits until ready
cluster_replicas() {
  local n="$1" first="$2" model="$3" i port; shift 3
  mkdir -p "$cluster_work/blobs"
  for i in $(seq 1 "$n"); do
    port=$((first + i - 1))
    mkdir -p "$cluster_work/replica$i"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE java -Xms256m -Xmx512m -XX:+ExitOnOutOfMemoryError \
      -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" -Dloragate.data-dir="$cluster_work/replica$i" \
      -Dloragate.model.path="$model" -Dloragate.store.url="file:$cluster_work/blobs" \
      -Dquarkus.datasource.jdbc.url="jdbc:postgresql://127.0.0.1:$cluster_pg_port/loragate" \
      -Dquarkus.datasource.username=loragate -Dquarkus.datasource.password=loragate \
      "$@" ${GATEWAY_OPTS:-} -jar target/quarkus-app/quarkus-run.jar >"$cluster_work/replica$i.log" 2>&1 &
    cluster_pids+=($!) cluster_replicas+=($!)
  done
  for i in $(seq 1 "$n"); do
    port=$((first + i - 1))
    for _ in $(seq 1 600); do
      curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && break
      kill -0 "${cluster_replicas[$((i - 1))]}" 2>/dev/null || { echo "replica $i exited: $cluster_work/replica$i.log" >&2; return 1; }
      sleep 0.5
    done
    curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 \
      || { echo "replica $i not ready after 300 s: $cluster_work/replica$i.log" >&2; return 1; }
    echo "replica $i ready on http://127.0.0.1:$port" >&2
  done
}

# cluster_haproxy NAME PORT CONFIG BASE_MODEL_ID REPLICA_FIRST_PORT: HAProxy with CONFIG in front of
# the three replicas; waits until it routes (it marks them up after 2 good checks a second apart)
cluster_haproxy() {
  local name="$1" port="$2" cfg="$3" base="$4" first="$5" haproxy
  haproxy="$(command -v haproxy || echo /usr/sbin/haproxy)"
  [ -x "$haproxy" ] || { echo "missing haproxy: apt-get install haproxy" >&2; return 1; }
  LORAGATE_LB_BIND="127.0.0.1:$port" LORAGATE_BASE_MODEL_ID="$base" LORAGATE_REPLICA_1="127.0.0.1:$first" \
  LORAGATE_REPLICA_2="127.0.0.1:$((first + 1))" LORAGATE_REPLICA_3="127.0.0.1:$((first + 2))" \
    "$haproxy" -db -f "$cfg" >"$cluster_work/haproxy-$name.log" 2>&1 &
  cluster_pids+=($!)
  for _ in $(seq 1 120); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/q/health/ready"; then
      sleep 3 # the replicas were ready before HAProxy started; a few more checks settle its view
      echo "HAProxy $name on http://127.0.0.1:$port ($cfg)" >&2
      return 0
    fi
    sleep 0.5
  done
  echo "HAProxy $name does not route: $cluster_work/haproxy-$name.log" >&2
  return 1
}

# cluster_round_robin_cfg OUT: the shipped haproxy.cfg with every hash backend turned into round-robin
cluster_round_robin_cfg() {
  sed -e 's/^\(\s*\)balance hash var(txn.affinity)/\1balance roundrobin/' -e '/^\s*hash-type consistent/d' \
    -e '/^\s*hash-balance-factor/d' deployment/haproxy/haproxy.cfg >"$1"
  ! grep -q "balance hash" "$1"
}
