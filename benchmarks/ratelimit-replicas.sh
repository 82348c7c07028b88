#!/usr/bin/env bash
# A tenant's request rate limit across replicas, measured: PostgreSQL 15, three packaged gateways on
# the tiny-llama fixture with authentication on (one database, one shared file: blob store) and
# HAProxy with deployment/haproxy/haproxy.cfg; RateLimitReplicas creates a tenant, sets its
# requests_per_second and offers requests well above it to one replica, round-robin over the three,
# and through HAProxy (one adapter, many adapters, the base model). Prints its JSON (stdout); every
# process it started is stopped on exit.
#   benchmarks/ratelimit-replicas.sh [--base-port N] [RateLimitReplicas flags: --rps 5 --offered 60 --duration 20 ...]
#     --base-port N  HAProxy on N, replicas on N+11..N+13, PostgreSQL on N+20 (default 19400)
#     --budget whole|share  loragate.replicas.rate-budget of the replicas (default whole)
# MVN_FLAGS is passed to Maven (e.g. MVN_FLAGS=-o offline); NO_BUILD=1 skips packaging the gateway. Needs Debian's postgresql (15) and haproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
base=19400 budget=whole extra=()
model="$PWD/src/test/resources/fixtures/hf/tiny-llama"
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) base="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    *) extra+=("$1" "$2"); shift 2 ;;
  esac
done
# shellcheck source=benchmarks/cluster.sh
. benchmarks/cluster.sh
# NO_BUILD=1: use the jar already packaged (target/quarkus-app) instead of building it again
[ "${NO_BUILD:-0}" = 1 ] || mvn -q -B -ntp ${MVN_FLAGS:-} package -DskipTests >&2
mkdir -p target
work="$(mktemp -d "$PWD/target/ratelimit-XXXXXX")"
trap cluster_stop EXIT
trap 'exit 130' INT TERM
echo "ratelimit: logs and data in $work" >&2
admin="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

cluster_postgres "$work" $((base + 20))
cluster_replicas 3 $((base + 11)) "$model" -Dloragate.auth.enabled=true -Dloragate.auth.admin-key="$admin" \
  -Dloragate.replicas.rate-budget="$budget"
cluster_haproxy hash "$base" deployment/haproxy/haproxy.cfg tiny-llama $((base + 11))

replicas="http://127.0.0.1:$((base + 11)),http://127.0.0.1:$((base + 12)),http://127.0.0.1:$((base + 13))"
benchmarks/run.sh RateLimitReplicas --model-path "$model" --replicas "$replicas" \
  --haproxy "http://127.0.0.1:$base" --admin-key "$admin" --budget "$budget" "${extra[@]}"
