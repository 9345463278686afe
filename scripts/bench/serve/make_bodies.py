#!/usr/bin/env python3
"""Request bodies for the serving benchmark: held-out Wikipedia sentences, one JSON body per line,
in electra serve's (TEI's) and infinity-emb's request shapes.

  python3 scripts/bench/serve/make_bodies.py --text /work/data/wiki-heldout.txt --out /tmp/serve-bench
writes embed-tei.jsonl, embed-infinity.jsonl (one sentence per request) and rerank-tei.jsonl,
rerank-infinity.jsonl (a query and 8 passages per request)."""
import argparse
import json
import os
import random

p = argparse.ArgumentParser()
p.add_argument("--text", required=True)
p.add_argument("--out", required=True)
p.add_argument("--model", default="bench", help="the model id infinity serves (its requests name it)")
p.add_argument("--requests", type=int, default=300)
a = p.parse_args()
random.seed(0)
lines = [l.strip() for l in open(a.text, encoding="utf-8") if 40 <= len(l.strip()) <= 300]
random.shuffle(lines)
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "embed-tei.jsonl"), "w") as t, open(os.path.join(a.out, "embed-infinity.jsonl"), "w") as i:
    for k in range(a.requests):
        s = lines[k % len(lines)]
        t.write(json.dumps({"inputs": s, "truncate": True}) + "\n")
        i.write(json.dumps({"model": a.model, "input": [s]}) + "\n")
with open(os.path.join(a.out, "rerank-tei.jsonl"), "w") as t, open(os.path.join(a.out, "rerank-infinity.jsonl"), "w") as i:
    for k in range(a.requests):
        q = " ".join(lines[(a.requests + k) % len(lines)].split()[:8])
        docs = [lines[(2 * a.requests + 8 * k + j) % len(lines)] for j in range(8)]
        t.write(json.dumps({"query": q, "texts": docs, "truncate": True}) + "\n")
        i.write(json.dumps({"model": a.model, "query": q, "documents": docs}) + "\n")
