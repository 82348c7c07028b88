#!/usr/bin/env bash
# Sweep: builds the gateway, starts it with its own data directory, uploads a dataset, asks for a
# recommendation, runs a sweep (one fine-tuning job per method, one after another), waits for it and
# prints the recommendation and the sweep as JSON, then the comparison table as Markdown. Stops the
# gateway at the end.
#   benchmarks/sweep.sh [--model DIR] [--file JSONL] [--methods m1,m2,...] [--top-k K] [--epochs E]
#                       [--batch-size B] [--port P] [--data DIR] [--timeout S] [--url URL]
# --model: a Hugging Face folder; unset: the embedded all-MiniLM-L6-v2 (classification only).
# --file: defaults to src/test/resources/datasets/topics.jsonl (60 generated sentences, 3 topics).
# --methods: explicit methods (default: the first --top-k recommended, default 3).
# --url: use a gateway you started yourself (no build, no start).
# MVN_FLAGS is passed to Maven (e.g. MVN_FLAGS=-o offline); OMP_NUM_THREADS defaults to 1;
# GATEWAY_OPTS adds JVM options (default: loragate.jobs.yield-policy=none, nothing else runs).
set -euo pipefail
cd "$(dirname "$0")/.."
model=""
file=src/test/resources/datasets/topics.jsonl
methods=""
topk=3
epochs=3
batch=8
port=18090
data=""
timeout=3600
url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --file) file="$2"; shift 2 ;;
    --methods) methods="$2"; shift 2 ;;
    --top-k) topk="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --url) url="$2"; shift 2 ;;
    *) echo "sweep: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$url" ]; then
  mvn -q -B -ntp ${MVN_FLAGS:-} package -DskipTests >&2
  mkdir -p target
  data="${data:-$(mktemp -d "$PWD/target/sweep-data-XXXXXX")}"
  modelopt=()
  if [ -n "$model" ]; then modelopt=(-Dloragate.model.path="$(cd "$model" && pwd)"); fi
  echo "sweep: model ${model:-embedded MiniLM}, data $data, port $port, log $data/gateway.log" >&2
  # shellcheck disable=SC2086
  OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY=PASSIVE java -Xmx2g -XX:+ExitOnOutOfMemoryError \
    -Dai.djl.offline=true ${GATEWAY_OPTS:--Dloragate.jobs.yield-policy=none} -Dloragate.jobs.max-per-tenant=16 \
    -Dquarkus.http.port="$port" -Dloragate.data-dir="$data" "${modelopt[@]}" \
    -jar target/quarkus-app/quarkus-run.jar >"$data/gateway.log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
  url="http://localhost:$port"
  for i in $(seq 1 600); do
    if curl -sf "$url/q/health/ready" >/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "sweep: the gateway exited; see $data/gateway.log" >&2; exit 1; }
    sleep 0.5
  done
fi
base=$(curl -sf "$url/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
fid=$(curl -sf -F purpose=fine-tune -F "file=@$file" "$url/v1/files" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "sweep: base $base, file $fid ($file)" >&2
body=$(python3 - "$base" "$fid" "$methods" "$topk" "$epochs" "$batch" <<'PY'
import json, sys
base, fid, methods, topk, epochs, batch = sys.argv[1:]
b = {"model": base, "training_file": fid, "top_k": int(topk), "seed": 42,
     "hyperparameters": {"epochs": int(epochs), "batch_size": int(batch)}}
if methods:
    b["methods"] = methods.split(",")
print(json.dumps(b))
PY
)
rec=$(curl -sf -H 'content-type: application/json' "$url/v1/recommendations" \
  -d "{\"training_file\": \"$fid\", \"epochs\": $epochs}")
created=$(curl -s -H 'content-type: application/json' "$url/v1/fine_tuning/sweeps" -d "$body")
sid=$(printf '%s' "$created" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("id") or sys.exit("sweep refused: " + json.dumps(d)))')
echo "sweep: $sid over $(printf '%s' "$created" | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["methods"]))')" >&2
start=$(date +%s)
while true; do
  sweep=$(curl -sf "$url/v1/fine_tuning/sweeps/$sid")
  status=$(printf '%s' "$sweep" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" != running ] && break
  if [ $(( $(date +%s) - start )) -gt "$timeout" ]; then echo "sweep: still running after $timeout s" >&2; break; fi
  printf '%s' "$sweep" | python3 -c 'import json,sys; print("sweep:", ", ".join(r["method"] + " " + r["status"] for r in json.load(sys.stdin)["table"]))' >&2
  sleep 10
done
printf '{"recommendation": %s, "sweep": %s}\n' "$rec" "$sweep"
echo
printf '%s' "$sweep" | python3 -c 'import json,sys; print(json.load(sys.stdin)["table_markdown"])'
