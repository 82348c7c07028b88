"""The OpenAI Python SDK against loragate (the tutorial's gateway on the embedded MiniLM).

    python3 -m venv .venv-examples && .venv-examples/bin/pip install openai
    .venv-examples/bin/python examples/python/openai_client.py [--url http://localhost:8080] [--adapter tickets]

Lists the models, embeds two sentences with the base, shows how an OpenAI error from the gateway
reads (the encoder base cannot complete text), lists the newest events of the newest fine-tuning job,
and classifies with the adapter: the SDK has no classification call, so that one is plain HTTP
through the SDK's own httpx client.
"""
import argparse
import os

import httpx
import openai

parser = argparse.ArgumentParser()
parser.add_argument("--url", default=os.environ.get("LORAGATE_URL", "http://localhost:8080"))
parser.add_argument("--adapter", default="tickets")
args = parser.parse_args()

# The key is only checked when the gateway runs with loragate.auth.enabled=true.
client = openai.OpenAI(base_url=args.url + "/v1", api_key=os.environ.get("LORAGATE_API_KEY", "unused"))

models = [m.id for m in client.models.list()]
print("models:", models)
base = models[0]

emb = client.embeddings.create(model=base, input=["Where is my parcel?", "My package has not arrived."])
a, b = (d.embedding for d in emb.data)
print(f"embeddings: {len(a)} dimensions, cosine similarity {sum(x * y for x, y in zip(a, b)):.3f}")

try:
    client.completions.create(model=base, prompt="Hello", max_tokens=8)
except openai.BadRequestError as e:  # an encoder base answers generation with 400 failed_precondition
    print("completions:", e.status_code, e.body["message"] if isinstance(e.body, dict) else e.body)

jobs = client.fine_tuning.jobs.list(limit=1).data
if jobs:
    job = jobs[0]
    print(f"newest job {job.id}: {job.status}, published {job.fine_tuned_model}")
    for event in client.fine_tuning.jobs.list_events(job.id, limit=3):  # newest first, as OpenAI pages them
        print("  event:", event.message)

r = httpx.post(args.url + "/v1/classifications",
               json={"model": args.adapter, "input": ["I was charged twice this month.", "The app crashes on start."]},
               headers={"Authorization": "Bearer " + client.api_key})
if r.status_code != 200:
    print("classifications:", r.status_code, r.json()["error"]["message"])
else:
    body = r.json()
    print("classifications by", body["model"] + ":", [d["label"] for d in body["data"]])
