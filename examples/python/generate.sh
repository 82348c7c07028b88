#!/usr/bin/env bash
# Regenerates the Python gRPC stubs (loragate/v1/*_pb2*.py) from proto/; run it after a .proto change.
# Needs grpcio-tools: python3 -m venv .venv-examples && .venv-examples/bin/pip install grpcio-tools
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv-examples/bin/python}"
"$PYTHON" -m grpc_tools.protoc -I proto --python_out=examples/python --pyi_out=examples/python \
  --grpc_python_out=examples/python proto/loragate/v1/inference.proto proto/loragate/v1/adapters.proto \
  proto/loragate/v1/training.proto
