"""A Python gRPC client of loragate, on the stubs generated from proto/ (see generate.sh).

    python3 -m venv .venv-examples && .venv-examples/bin/pip install grpcio protobuf
    .venv-examples/bin/python examples/python/grpc_client.py [--target localhost:8080] [--adapter tickets] TEXT...

Lists the models, then classifies each TEXT with the adapter's active version (or `name@version`).
gRPC is served on the HTTP port, in plaintext (h2c) unless TLS is configured.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the generated loragate/v1 package

import grpc  # noqa: E402
from loragate.v1 import inference_pb2, inference_pb2_grpc  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--target", default="localhost:8080")
parser.add_argument("--adapter", default="tickets")
parser.add_argument("texts", nargs="*", default=["I was charged twice this month."])
args = parser.parse_args()

key = os.environ.get("LORAGATE_API_KEY")  # only needed with authentication on
metadata = [("authorization", "Bearer " + key)] if key else []

with grpc.insecure_channel(args.target) as channel:
    inference = inference_pb2_grpc.InferenceServiceStub(channel)
    models = inference.ListModels(inference_pb2.ListModelsRequest(), metadata=metadata, timeout=30)
    print("models:", [m.id for m in models.models])
    try:
        r = inference.Classify(inference_pb2.ClassifyRequest(adapter_id=args.adapter, inputs=args.texts),
                               metadata=metadata, timeout=60)
    except grpc.RpcError as e:
        sys.exit(f"{e.code().name}: {e.details()}")
    for item in r.items:
        print(f"{r.model}\t{item.label}\t{item.scores[item.label]:.2f}\t{args.texts[item.index]}")
