#!/usr/bin/env bash
# Side by side with Hugging Face transformers + PEFT (issue #17, item 6): the same random
# SmolLM2-135M-shaped float32 Llama folder and 32 random PEFT LoRA folders, run by loragate's engine
# and by transformers in interleaved rounds with the same thread count; prints one JSON object
# (progress on stderr). See SideBySideBenchmark.java and docs/benchmarks.md.
#   benchmarks/sidebyside.sh > results.json                        # 30 layers, 3 timed rounds (~10-20 min on 2 busy cores)
#   benchmarks/sidebyside.sh --layers 2 --decode 4 --repeats 1 --train-steps 1 --train-seq 32   # smoke (< 3 min once the venv exists)
# Options (SideBySideBenchmark): --layers 30 --prompt 64 --decode 16 --repeats 3 --threads 2 --batch 32
#   --adapters 32 --train-steps 3 (0: no training case) --train-batch 4 --train-seq 128 --train-lr 1e-4
#   --work target/sidebyside
# 1. makes a venv under target/sidebyside/venv (once) and installs the peer's packages with pip from
#    the package index this machine is configured with (pinned: torch 2.13.0 CPU, transformers
#    5.17.0, peft 0.21.0, safetensors); none of them is a dependency of the product or its tests;
# 2. benchmarks/run.sh builds the project and runs SideBySideBenchmark, which starts
#    benchmarks/sidebyside_hf.py in that venv and drives it.
# Environment: SIDEBYSIDE_PYTHON (use this Python instead of making the venv), PIP_FLAGS (extra pip
# options, default "--retries 0": a registry that cannot be reached is skipped, not retried),
# MVN_FLAGS (default -o, offline).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/sidebyside/venv
python="${SIDEBYSIDE_PYTHON:-$venv/bin/python}"
if [ -z "${SIDEBYSIDE_PYTHON:-}" ] && ! "$python" -c 'import torch, transformers, peft, safetensors' 2>/dev/null; then
  echo "sidebyside: installing torch 2.13.0, transformers 5.17.0, peft 0.21.0, safetensors into $venv (once)" >&2
  mkdir -p target/sidebyside
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q ${PIP_FLAGS:---retries 0} torch==2.13.0 transformers==5.17.0 peft==0.21.0 safetensors >&2
fi
export SIDEBYSIDE_COMMAND="benchmarks/sidebyside.sh $*"
export SIDEBYSIDE_BUILD="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+uncommitted src changes')"
MVN_FLAGS="${MVN_FLAGS:--o}" exec benchmarks/run.sh SideBySideBenchmark --python "$python" "$@"
