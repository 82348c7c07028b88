#!/usr/bin/env bash
# Training step overhead of a fine-tuning job (issue 17, item 5): the real job path (packaged
# gateway, embedded H2, REST) on the tiny-llama test fixture (2 layers, hidden 64), supervised text,
# batch 8 x 128 tokens, yield policy none. Each gateway below is started once; jobs then run on them
# in turn (interleaved rounds), so every variant sees the same load. Per job it reports:
#   wall_seconds_per_step     from the progress rows polled every 50 ms (steps 1 .. total-1)
#   compute_seconds_per_step  from the steps' own tokens_per_second (forward, backward, clip, AdamW)
#   bookkeeping_seconds_per_step  their difference (events, progress, lease/cancel checks,
#                             checkpoints, evaluations between steps, metrics, the REST polling's share)
#   timing                    the report's own split where the jar has one
# Variants: "after" (this build, loragate.jobs.step-write-interval=250ms), "every_step" (this build,
# interval 0: one write per step), "after_1_thread" (this build, 250 ms, PyTorch on 1 intra-op thread),
# and "before" when --before-jar names a jar built from another commit (e.g. main). Prints one JSON object; the load average is sampled at each job's start.
#   benchmarks/step-overhead.sh [--rounds 2] [--examples 256] [--before-jar /path/quarkus-run.jar]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=2; examples=256; before_jar=""; base_port=8190
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --examples) examples="$2"; shift 2 ;;
    --before-jar) before_jar="$2"; shift 2 ;;
    --port) base_port="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -f target/quarkus-app/quarkus-run.jar ] || mvn -q -B -ntp -o package -DskipTests >&2
work="$(mktemp -d /tmp/loragate-steps.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
model="src/test/resources/fixtures/hf/tiny-llama"
variants=(); ports=()
start() { # name jar port [interval: a jar that has the setting] [torch intra-op threads]
  java -Xmx1g ${5:+-Dai.djl.pytorch.num_threads="$5"} -Dai.djl.offline=true -Dquarkus.http.port="$3" -Dloragate.data-dir="$work/data-$1" \
    -Dloragate.model.path="$model" -Dloragate.model.id=tiny -Dloragate.jobs.yield-policy=none \
    ${4:+-Dloragate.jobs.step-write-interval="$4"} -jar "$2" > "$work/gateway-$1.log" 2>&1 &
  pids+=($!); variants+=("$1"); ports+=("$3")
}
start after target/quarkus-app/quarkus-run.jar "$base_port" 250ms
start every_step target/quarkus-app/quarkus-run.jar "$((base_port + 1))" 0s
start after_1_thread target/quarkus-app/quarkus-run.jar "$((base_port + 3))" 250ms 1
if [ -n "$before_jar" ]; then start before "$before_jar" "$((base_port + 2))"; fi
for port in "${ports[@]}"; do
  for _ in $(seq 1 300); do curl -sf "http://localhost:$port/q/health/ready" > /dev/null && break; sleep 1; done
  curl -sf "http://localhost:$port/q/health/ready" > /dev/null || { echo "gateway on $port did not start; see $work" >&2; exit 1; }
done
python3 - "$rounds" "$examples" "${variants[*]}" "${ports[*]}" <<'PY'
import json, os, random, sys, time, urllib.request, uuid
rounds, examples = int(sys.argv[1]), int(sys.argv[2])
variants, ports = sys.argv[3].split(), [int(p) for p in sys.argv[4].split()]
random.seed(1)
words = "the of and to in is was for on that with as by at from river season team music film city school".split()
lines = [json.dumps({"text": " ".join(random.choice(words) for _ in range(200))}) for _ in range(examples)]
val = [json.dumps({"text": " ".join(random.choice(words) for _ in range(200))}) for _ in range(8)]

def call(port, method, path, body=None, ctype="application/json"):
    req = urllib.request.Request("http://localhost:%d%s" % (port, path), data=body, method=method)
    if body is not None:
        req.add_header("content-type", ctype)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)

def upload(port, rows, name):
    b = uuid.uuid4().hex
    body = ("--%s\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--%s\r\nContent-Disposition: form-data;"
            " name=\"file\"; filename=\"%s\"\r\nContent-Type: application/jsonl\r\n\r\n%s\n\r\n--%s--\r\n") % (b, b, name, "\n".join(rows), b)
    return call(port, "POST", "/v1/files", body.encode(), "multipart/form-data; boundary=" + b)["id"]

def job(port):
    train, valid = upload(port, lines, "train.jsonl"), upload(port, val, "val.jsonl")
    load = os.getloadavg()[0]
    j = call(port, "POST", "/v1/fine_tuning/jobs", json.dumps({"model": "tiny", "training_file": train, "validation_file": valid,
        "suffix": "steps", "method": {"hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 128}}}).encode())
    seen = {}
    while True:
        j = call(port, "GET", "/v1/fine_tuning/jobs/" + j["id"])
        done = (j.get("progress") or {}).get("step", 0)
        if done and done not in seen:
            seen[done] = time.monotonic()
        if j["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.05)
    total = j["progress"]["total_steps"]
    ev = call(port, "GET", "/v1/fine_tuning/jobs/%s/events?limit=999" % j["id"])["data"]
    steps = [e["data"] for e in ev if e["type"] == "metrics" and e.get("data") and "train_loss" in e["data"]]
    tokens_per_step = j["trained_tokens"] / max(1, len(steps)) if j.get("trained_tokens") else 8 * 128
    compute = sum(tokens_per_step / s["tokens_per_second"] for s in steps) / len(steps)
    ks = sorted(k for k in seen if 1 <= k < total)
    wall = (seen[ks[-1]] - seen[ks[0]]) / (ks[-1] - ks[0]) if len(ks) >= 2 else None
    report = j.get("report") or {}
    return {"status": j["status"], "steps": total, "tokens_per_step": tokens_per_step, "load_average_1m": round(load, 2),
            "wall_seconds_per_step": wall and round(wall, 4), "compute_seconds_per_step": round(compute, 4),
            "bookkeeping_seconds_per_step": wall and round(wall - compute, 4), "metrics_events": len(steps),
            "progress_values_seen": len(ks), "timing": report.get("timing")}

results = {v: [] for v in variants}
for r in range(rounds):
    order = variants if r % 2 == 0 else variants[::-1]
    for v in order:
        results[v].append(job(ports[variants.index(v)]))
        print(v, json.dumps(results[v][-1]), file=sys.stderr)
med = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
summary = {v: {k: med([x[k] for x in rs if x[k] is not None]) for k in
               ("wall_seconds_per_step", "compute_seconds_per_step", "bookkeeping_seconds_per_step")} for v, rs in results.items()}
print(json.dumps({"benchmark": "step-overhead", "command": "benchmarks/step-overhead.sh " + " ".join(sys.argv[1:0]),
                  "model": "tiny-llama fixture (2 layers, hidden 64, vocab 384)", "batch": 8, "seq": 128, "rounds": rounds,
                  "examples": examples, "cpus": os.cpu_count(), "median": summary, "jobs": results}, indent=1))
PY
