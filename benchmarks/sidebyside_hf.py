"""Hugging Face transformers + PEFT peer of SideBySideBenchmark.java (issue 17, item 6).

Not part of the product: the Java benchmark starts this script in a venv of its own
(benchmarks/sidebyside.sh makes it) and drives it over stdin/stdout, one JSON command per line and
one JSON answer per line, so that the two engines run their rounds in turn on the same machine.
Logs go to stderr; stdout carries the answers only.

Commands:
  {"op": "init", "model": DIR, "adapters": [DIR, ...], "threads": N, "train": {"r", "alpha", "targets"} | null}
  {"op": "infer", "variant": "base" | "one" | "mixed", "adapters": [name per row] | null,
   "prompts": [[ids]], "steps": D}          -> seconds of the prefill and of D decode steps, greedy tokens
  {"op": "train", "batch": B, "data": [[ids]], "lr": LR}
                                            -> seconds and tokens of each optimizer step
  {"op": "ceilings"}                        -> float32 matmul GFLOP/s and read bandwidth through torch
  {"op": "quit"}
"""
import json
import os
import sys
import time

# every library print goes to stderr; the answers keep the real stdout to themselves
ANSWERS = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

import torch  # noqa: E402
import transformers  # noqa: E402
import peft  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402

STATE = {}


def load_base(folder):
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return model


def init(cmd):
    threads = int(cmd["threads"])
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by an earlier parallel call; intra-op threads are what the cases use
    STATE["base"] = load_base(cmd["model"])
    names = []
    adapters = cmd["adapters"]
    # one PeftModel holding every adapter (a0..a31): the one-adapter case activates a0, the mixed
    # case passes adapter_names per row (PEFT's mixed-batch inference)
    peft_model = PeftModel.from_pretrained(load_base(cmd["model"]), adapters[0], adapter_name="a0")
    names.append("a0")
    for i, folder in enumerate(adapters[1:], start=1):
        peft_model.load_adapter(folder, adapter_name="a%d" % i)
        names.append("a%d" % i)
    peft_model.eval()
    STATE["peft"] = peft_model
    if cmd.get("train"):
        t = cmd["train"]
        config = LoraConfig(r=int(t["r"]), lora_alpha=float(t["alpha"]), target_modules=list(t["targets"]),
                            lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
        trainee = get_peft_model(load_base(cmd["model"]), config)
        trainee.train()
        STATE["train"] = trainee
    return {"adapters": names, "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
            "attention": STATE["base"].config._attn_implementation}


def infer(cmd):
    variant = cmd["variant"]
    prompts = torch.tensor(cmd["prompts"], dtype=torch.long)  # (batch, prompt)
    steps = int(cmd["steps"])
    kwargs = {}
    if variant == "base":
        model = STATE["base"]
    else:
        model = STATE["peft"]
        if variant == "one":
            model.set_adapter(cmd["adapters"][0])
        else:
            kwargs["adapter_names"] = list(cmd["adapters"])
    generated = []
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = model(input_ids=prompts, use_cache=True, logits_to_keep=1, **kwargs)
        last = out.logits[:, -1, :]  # (batch, vocab)
        top = last.max(dim=-1).values
        nxt = last.argmax(dim=-1)  # (batch,)
        generated.append(nxt.tolist())
        cache = out.past_key_values
        t1 = time.perf_counter()
        for _ in range(steps):
            out = model(input_ids=nxt[:, None], past_key_values=cache, use_cache=True, logits_to_keep=1, **kwargs)
            nxt = out.logits[:, -1, :].argmax(dim=-1)
            generated.append(nxt.tolist())
            cache = out.past_key_values
        t2 = time.perf_counter()
    tokens = [list(row) for row in zip(*generated)]  # (batch, 1 + steps)
    return {"prefill_s": t1 - t0, "decode_s": t2 - t1, "tokens": tokens, "prefill_top_logits": top.tolist()}


def train(cmd):
    model = STATE["train"]
    batch = int(cmd["batch"])
    data = torch.tensor(cmd["data"], dtype=torch.long)  # (examples, seq)
    params = [p for p in model.parameters() if p.requires_grad]
    # loragate's trainer: AdamW (0.9, 0.999, eps 1e-8, no weight decay), global norm clip 1.0
    opt = torch.optim.AdamW(params, lr=float(cmd["lr"]), betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps = []
    for b in range(0, data.shape[0], batch):
        ids = data[b:b + batch]  # (batch, seq)
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        steps.append({"seconds": time.perf_counter() - t0, "tokens": int(ids.numel()), "loss": loss.item()})
    return {"steps": steps, "trainable_params": sum(p.numel() for p in params)}


def ceilings(cmd):
    best_flops = 0.0
    with torch.inference_mode():
        for m, k, n in ((2048, 2048, 2048), (2048, 576, 1536), (2048, 1536, 576)):
            a = torch.randn(m, k)
            b = torch.randn(k, n)
            for _ in range(10):
                t0 = time.perf_counter()
                torch.matmul(a, b)
                best_flops = max(best_flops, 2.0 * m * k * n / (time.perf_counter() - t0) / 1e9)
        x = torch.ones(64 * 1024 * 1024)  # 256 MiB of float32, far beyond cache
        best_bw = 0.0
        for _ in range(8):
            t0 = time.perf_counter()
            float(x.sum())
            best_bw = max(best_bw, x.numel() * 4.0 / (time.perf_counter() - t0))
    return {"matmul_gflops": best_flops, "bandwidth_bytes_per_s": best_bw}


OPS = {"init": init, "infer": infer, "train": train, "ceilings": ceilings}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        try:
            answer = OPS[cmd["op"]](cmd)
        except Exception as e:  # reported to the Java side, which stops with the message
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        ANSWERS.write(json.dumps(answer) + "\n")
        ANSWERS.flush()


if __name__ == "__main__":
    main()
