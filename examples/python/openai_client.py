"""The OpenAI Python SDK against loragate (the tutorial's gateway on the embedded MiniLM).

    python3 -m venv .venv-examples && .venv-examples/bin/pip install openai
    .venv-examples/bin/python examples/python/openai_client.py [--url http://localhost:8080] [--adapter tickets]

Lists the models, embeds two sentences with the base, shows how an OpenAI error from the gateway
reads (the encoder base cannot complete text), lists the newest events of the newest fine-tuning job,
and classifies with the adapter: the SDK has no classification call, so that one is plain HTTP
(the standard library's urllib).
"""
import argparse
import json
import os
import urllib.error
import urllib.request

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

# The SDK asks for base64 (little-endian float32) by default and decodes it; the gateway answers both forms.
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
    # one page of 3, newest first as OpenAI pages them (iterating the page itself would fetch every page)
    for event in client.fine_tuning.jobs.list_events(job.id, limit=3).data:
        print("  event:", event.message)

request = urllib.request.Request(
    args.url + "/v1/classifications",
    data=json.dumps({"model": args.adapter,
                     "input": ["I was charged twice this month.", "The app crashes on start."]}).encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + client.api_key})
try:
    with urllib.request.urlopen(request, timeout=60) as r:
        body = json.load(r)
    print("classifications by", body["model"] + ":", [d["label"] for d in body["data"]])
except urllib.error.HTTPError as e:  # errors are OpenAI's shape: {"error": {"message", "type", "param", "code"}}
    print("classifications:", e.code, json.load(e)["error"]["message"])
