#!/usr/bin/env bash
# Does training starve inference? (issue 4, item 9). Serves a SmolLM2-135M-shaped random model from
# the packaged gateway and measures, with benchmarks/LoadGenerator (closed loop, streaming
# completions), the end-to-end latency of inference requests in three windows:
#   1. no job;  2. a fine-tuning job running with loragate.jobs.yield-policy=idle (the default);
#   3. the same job with yield-policy=none (training steps back to back).
# Prints one JSON object with each window's LoadGenerator summary and the training steps done in it.
#   benchmarks/training-interference.sh [--duration 60] [--clients 1] [--layers 30] [--port 8089]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=60; clients=1; layers=30; port=8089
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --layers) layers="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d /tmp/loragate-interference.XXXXXX)"
model="$work/model"
url="http://localhost:$port"
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

[ -f target/quarkus-app/quarkus-run.jar ] || mvn -q -B -ntp package -DskipTests >&2
benchmarks/run.sh LoadGenerator --write-model "$model" --layers "$layers" >&2

start() { # $1 = yield policy
  java -Xmx4g -Dai.djl.offline=true -Dquarkus.http.port="$port" -Dloragate.data-dir="$work/data" \
    -Dloragate.model.path="$model" -Dloragate.model.id=smol -Dloragate.jobs.yield-policy="$1" \
    -jar target/quarkus-app/quarkus-run.jar > "$work/gateway-$1.log" 2>&1 &
  echo $! > "$work/pid"
  for _ in $(seq 1 300); do
    curl -sf "$url/q/health/ready" > /dev/null && return 0
    sleep 1
  done
  echo "gateway did not start; see $work/gateway-$1.log" >&2; exit 1
}
stop() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }
load() { # prints LoadGenerator's JSON
  java -Dai.djl.offline=true -cp "target/bench-classes:target/classes:$(cat target/bench-classpath.txt)" LoadGenerator \
    --url "$url" --model-path "$model" --clients "$clients" --duration "$duration" --warmup 5 --adapters 2 \
    --max-tokens 16 --prompt-tokens 64 --adapter-prefix interference
}
dataset() { # 64 lines of plain text, ~60 tokens each
  python3 - <<'EOF'
import json, random
random.seed(1)
words = "the of and to in is was for on that with as by at from river season team music film city school".split()
for i in range(64):
    print(json.dumps({"text": " ".join(random.choice(words) for _ in range(60))}))
EOF
}
job() { # starts a long job, prints its id
  file=$(dataset | curl -sf -F "purpose=fine-tune" -F "file=@-;filename=text.jsonl" "$url/v1/files" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -H 'content-type: application/json' "$url/v1/fine_tuning/jobs" -d "{\"model\": \"smol\", \"training_file\": \"$file\",
    \"suffix\": \"bg\", \"method\": {\"hyperparameters\": {\"epochs\": 1000, \"batch_size\": 4, \"max_seq_length\": 128,
    \"checkpoint_every_steps\": 1000000}}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
steps() { curl -sf "$url/v1/fine_tuning/jobs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["progress"]["step"])'; }
await_running() {
  for _ in $(seq 1 600); do
    [ "$(steps "$1")" -ge 1 ] && return 0
    sleep 0.5
  done
  echo "the job did not start" >&2; exit 1
}
window() { # $1 = policy, $2 = with job (yes/no) -> JSON
  start "$1"
  local id="" s0=0
  if [ "$2" = yes ]; then id=$(job); await_running "$id"; s0=$(steps "$id"); fi
  local out; out=$(load)
  local s1=0; [ -n "$id" ] && s1=$(steps "$id")
  [ -n "$id" ] && curl -sf -X POST "$url/v1/fine_tuning/jobs/$id/cancel" > /dev/null
  stop
  echo "{\"yield_policy\": \"$1\", \"job\": \"$2\", \"training_steps_in_window\": $((s1 - s0)), \"load\": $out}"
}
no_job=$(window idle no)
idle=$(window idle yes)
none=$(window none yes)
python3 - "$no_job" "$idle" "$none" "$duration" "$clients" "$layers" "$(nproc)" <<'EOF'
import json, sys
base, idle, none = (json.loads(a) for a in sys.argv[1:4])
def p50(w): return w["load"]["result"]["e2e_ms"]["p50"]
print(json.dumps({
    "benchmark": "training-interference",
    "command": "benchmarks/training-interference.sh --duration %s --clients %s --layers %s" % tuple(sys.argv[4:7]),
    "cpus": int(sys.argv[7]),
    "e2e_p50_ms": {"no_job": p50(base), "job_yield_idle": p50(idle), "job_yield_none": p50(none)},
    "p50_ratio_vs_no_job": {"yield_idle": p50(idle) / p50(base), "yield_none": p50(none) / p50(base)},
    "training_steps_in_window": {"yield_idle": idle["training_steps_in_window"], "yield_none": none["training_steps_in_window"]},
    "windows": [base, idle, none]}, indent=2))
EOF
