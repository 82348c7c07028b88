#!/usr/bin/env bash
# Adapter affinity across replicas: PostgreSQL 15, three packaged gateways on the tiny-llama fixture
# (one database, one shared file: blob store, each adapter cache sized to hold --cache-adapters
# adapters), HAProxy with deployment/haproxy/haproxy.cfg (consistent hashing) and a second HAProxy
# with the same file turned round-robin; then AffinityBenchmark sends the same seeded Zipf sequence
# through each and prints its JSON (stdout). Every process it started is stopped on exit.
#   benchmarks/affinity.sh [--base-port N] [--cache-adapters K] [AffinityBenchmark flags...]
#     --base-port N      HAProxy (hash) on N, HAProxy (round-robin) on N+1, replicas on N+11..N+13,
#                        PostgreSQL on N+20 (default 19300)
#     --cache-adapters K each replica's cache holds K adapters (default 100)
#   e.g. benchmarks/affinity.sh --adapters 300 --zipf 1.0 --clients 6 --requests 1500 --warmup-requests 600
# MVN_FLAGS is passed to Maven (e.g. MVN_FLAGS=-o offline); NO_BUILD=1 skips packaging the gateway. Needs Debian's postgresql (15) and haproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
base=19300 cache_adapters=100 rank=4 extra=()
model="$PWD/src/test/resources/fixtures/hf/tiny-llama"
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) base="$2"; shift 2 ;;
    --cache-adapters) cache_adapters="$2"; shift 2 ;;
    --rank) rank="$2"; shift 2 ;;
    *) extra+=("$1" "$2"); shift 2 ;;
  esac
done
# shellcheck source=benchmarks/cluster.sh
. benchmarks/cluster.sh
# NO_BUILD=1: use the jar already packaged (target/quarkus-app) instead of building it again
[ "${NO_BUILD:-0}" = 1 ] || mvn -q -B -ntp ${MVN_FLAGS:-} package -DskipTests >&2
mkdir -p target
work="$(mktemp -d "$PWD/target/affinity-XXXXXX")"
trap cluster_stop EXIT
trap 'exit 130' INT TERM
echo "affinity: logs and data in $work" >&2

# the cache budget in device bytes: K LoRA adapters of rank R on every linear layer of the Llama
# fixture, A and B in float32 as LoraAdapter.bytes() counts them (AffinityBenchmark reports the
# budget it finds on the replicas divided by its own count as settings.cache_holds_adapters)
one="$(python3 - "$model/config.json" "$rank" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); r = int(sys.argv[2])
h, i, n = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
d = c.get("head_dim") or h // c["num_attention_heads"]
q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
print(4 * r * n * ((h + q) * 2 + (h + kv) * 2 + (h + i) * 3))
PY
)"
budget=$((one * cache_adapters))
echo "affinity: one adapter is $one device bytes; cache budget $budget bytes ($cache_adapters adapters)" >&2

cluster_postgres "$work" $((base + 20))
cluster_replicas 3 $((base + 11)) "$model" -Dloragate.cache.max-bytes="$budget"
cluster_haproxy hash "$base" deployment/haproxy/haproxy.cfg tiny-llama $((base + 11))
cluster_round_robin_cfg "$work/haproxy-round-robin.cfg"
cluster_haproxy round-robin $((base + 1)) "$work/haproxy-round-robin.cfg" tiny-llama $((base + 11))

replicas="http://127.0.0.1:$((base + 11)),http://127.0.0.1:$((base + 12)),http://127.0.0.1:$((base + 13))"
benchmarks/run.sh AffinityBenchmark --model-path "$model" --replicas "$replicas" \
  --affinity-url "http://127.0.0.1:$base" --round-robin-url "http://127.0.0.1:$((base + 1))" \
  --cache-adapters "$cache_adapters" --rank "$rank" "${extra[@]}"
