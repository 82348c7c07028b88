#!/usr/bin/env bash
# A local scale-out cluster in one command: PostgreSQL 15, s3rver (an S3 stand-in), three gateway
# replicas from the packaged jar on that one PostgreSQL and that one bucket, and HAProxy with
# deployment/haproxy/haproxy.cfg in front. Ctrl-C (or SIGTERM) stops everything. docs/scale-out.md,
# "Local cluster", explains it.
#   deployment/local-cluster.sh [--small] [--base-port N] [--no-s3]
#     --small        one intra-op thread and a 768 MiB heap per replica (tests, small machines)
#     --base-port N  HAProxy on N, replicas on N+1..N+3, PostgreSQL on N+10, s3rver on N+20 (default 8080)
#     --no-s3        no s3rver: the replicas share one folder as their blob store (file:<work>/blobs)
# Needs Debian's postgresql (15) and haproxy, a JDK 17, and npm for s3rver (installed on first use).
# The base model is the gateway's default (the embedded MiniLM) unless LORAGATE_MODEL_PATH is set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
base=8080 small=0 s3=1
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1 ;;
    --base-port) base="$2"; shift ;;
    --no-s3) s3=0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
jar="${LORAGATE_APP:-$root/target/quarkus-app/quarkus-run.jar}"
if [ ! -f "$jar" ]; then
  echo "building $jar (mvn package -DskipTests)"
  (cd "$root" && mvn -B -ntp -q package -DskipTests)
fi
pgbin=/usr/lib/postgresql/15/bin
haproxy="$(command -v haproxy || echo /usr/sbin/haproxy)"
for need in "$pgbin/postgres" "$haproxy"; do
  [ -x "$need" ] || { echo "missing $need: apt-get install postgresql haproxy" >&2; exit 1; }
done
lb_port=$base pg_port=$((base + 10)) s3_port=$((base + 20))
work="$(mktemp -d "${TMPDIR:-/tmp}/loragate-cluster.XXXXXX")"
chmod 755 "$work" # the postgres user reaches its folder inside
pids=() replicas=()

# initdb and postgres refuse to run as root: then they run as the postgres user
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop() {
  local rc="$1"
  trap - INT TERM EXIT
  echo "stopping the cluster"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  echo "stopped; logs and data are in $work"
  exit "$rc"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

echo "PostgreSQL on 127.0.0.1:$pg_port"
mkdir -p "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$work/pg/initdb.log"
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 120 \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200" start >/dev/null
password=local-cluster
as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -q \
  -c "CREATE ROLE loragate LOGIN PASSWORD '$password'" -c "CREATE DATABASE loragate OWNER loragate"

# The replicas' shared blob store: a bucket on s3rver (which accepts only the S3RVER/S3RVER credentials),
# or with --no-s3 one folder. Each replica's local cache of blobs read stays in its own data directory.
bucket=loragate
store=()
if [ "$s3" = 1 ]; then
  s3dir="${LORAGATE_S3RVER_DIR:-$HOME/.cache/loragate/s3rver}"
  if [ ! -x "$s3dir/node_modules/.bin/s3rver" ]; then
    echo "installing s3rver@3.7.1 into $s3dir (npm)"
    mkdir -p "$s3dir" && npm install --prefix "$s3dir" --silent --no-audit --no-fund s3rver@3.7.1 >/dev/null
  fi
  mkdir -p "$work/s3"
  "$s3dir/node_modules/.bin/s3rver" -d "$work/s3" -a 127.0.0.1 -p "$s3_port" --silent \
    --configure-bucket "$bucket" >"$work/s3rver.log" 2>&1 &
  s3pid=$!
  pids+=($s3pid)
  # the replicas' readiness needs the store: wait until s3rver answers
  until curl -s -o /dev/null "http://127.0.0.1:$s3_port/"; do
    kill -0 "$s3pid" 2>/dev/null || { echo "s3rver exited: $work/s3rver.log" >&2; exit 1; }
    sleep 0.2
  done
  store=(-Dloragate.store.url="s3://$bucket/cluster" -Dloragate.store.s3.endpoint="http://127.0.0.1:$s3_port"
    -Dloragate.store.s3.path-style=true -Dloragate.store.s3.region=us-east-1)
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
  echo "s3rver on http://127.0.0.1:$s3_port: the replicas' blob store s3://$bucket/cluster (objects in $work/s3/$bucket)"
else
  mkdir -p "$work/blobs"
  store=(-Dloragate.store.url="file:$work/blobs")
  echo "blob store shared by the replicas: $work/blobs"
fi

jvm=(-Dai.djl.offline=true)
if [ "$small" = 1 ]; then
  jvm+=(-Xmx768m -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1)
  export OMP_NUM_THREADS=1
fi
export OMP_WAIT_POLICY=PASSIVE
for i in 1 2 3; do
  port=$((base + i))
  mkdir -p "$work/replica$i"
  java "${jvm[@]}" "${store[@]}" -Dquarkus.http.port="$port" -Dloragate.data-dir="$work/replica$i" \
    -Dquarkus.datasource.jdbc.url="jdbc:postgresql://127.0.0.1:$pg_port/loragate" \
    -Dquarkus.datasource.username=loragate -Dquarkus.datasource.password="$password" \
    -jar "$jar" >"$work/replica$i.log" 2>&1 &
  pids+=($!) replicas+=($!)
  echo "replica $i on http://127.0.0.1:$port (log: $work/replica$i.log)"
done

model_id="${LORAGATE_MODEL_ID:-}"
[ -z "$model_id" ] && [ -n "${LORAGATE_MODEL_PATH:-}" ] && model_id="$(basename "$LORAGATE_MODEL_PATH")"
LORAGATE_LB_BIND="127.0.0.1:$lb_port" LORAGATE_BASE_MODEL_ID="${model_id:-all-minilm-l6-v2}" \
LORAGATE_REPLICA_1="127.0.0.1:$((base + 1))" LORAGATE_REPLICA_2="127.0.0.1:$((base + 2))" \
LORAGATE_REPLICA_3="127.0.0.1:$((base + 3))" \
  "$haproxy" -db -f "$root/deployment/haproxy/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

for i in 1 2 3; do
  until curl -fs -o /dev/null "http://127.0.0.1:$((base + i))/q/health/ready"; do
    kill -0 "${replicas[$((i - 1))]}" 2>/dev/null || { echo "replica $i exited: $work/replica$i.log" >&2; exit 1; }
    sleep 1
  done
done
# HAProxy marked the replicas down while they were starting; it takes them back after 2 good checks
# a second apart (rise 2, inter 1s). Wait until it routes REST, then one more round for the gRPC backends.
tries=0
until curl -fs -o /dev/null "http://127.0.0.1:$lb_port/v1/models"; do
  tries=$((tries + 1))
  [ "$tries" -le 120 ] || { echo "HAProxy does not route to the replicas: $work/haproxy.log" >&2; exit 1; }
  sleep 0.5
done
sleep 3
echo "ready: http://127.0.0.1:$lb_port (HAProxy: REST and gRPC); Ctrl-C stops the cluster"
# wait in short steps so that a signal runs the trap at once
while true; do sleep 1 & wait $! || true; done
