#!/usr/bin/env python3
"""How much sentiment a frozen encoder's sentence vectors carry: `electra embed` (mean over
the attention mask, of each layer in --layers; the last by default) on 4,000 SST-2 train sentences of 5+ words and on the clean
dev subset (sst2_clean_dev.py), then an L2-regularised logistic regression (Newton's method)
on the standardised vectors; dev accuracy per regularisation strength. No fine-tuning, so it
reads what pretraining put into the features. Needs numpy.

    python3 scripts/experiments/linear_probe.py --start rtd=models/electra-tiny-discriminator \
        --start random=/work/runs/random-mini --clean-dev /work/data/sst2-dev-clean.tsv --work /work/probe
"""
import argparse
import os
import random
import struct
import json
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f][1:]


def load_embeddings(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        t = header["embeddings"]
        f.seek(8 + n + t["data_offsets"][0])
        return np.frombuffer(f.read(t["data_offsets"][1] - t["data_offsets"][0]), dtype="<f4").reshape(t["shape"])


def fit(x, y, l2, iters=30):
    """Logistic regression with an L2 penalty (not on the bias), by Newton's method."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    reg = np.full(x1.shape[1], l2)
    reg[-1] = 0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-x1 @ w))
        grad = x1.T @ (p - y) / len(y) + reg * w
        hess = (x1.T * (p * (1 - p))) @ x1 / len(y) + np.diag(reg)
        w -= np.linalg.solve(hess, grad)
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "..", ".build", "release", "electra"))
    ap.add_argument("--start", action="append", required=True, help="NAME=MODEL_DIR")
    ap.add_argument("--glue", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "glue"))
    ap.add_argument("--clean-dev", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--layers", nargs="+", type=int, default=[-1],
                    help="hidden states to probe (electra embed --layer: 0 = embeddings, -1 = last)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    train = [r for r in rows(os.path.join(args.glue, "SST-2", "train.tsv")) if len(r[0].split()) >= 5]
    random.Random(0).shuffle(train)
    train = train[:4000]
    dev = rows(args.clean_dev)
    sets = {"train": train, "dev": dev}
    for name, rs in sets.items():
        with open(os.path.join(args.work, f"{name}.txt"), "w", encoding="utf-8") as f:
            f.writelines(r[0].strip() + "\n" for r in rs)
    y = {name: np.array([int(r[1]) for r in rs], dtype=float) for name, rs in sets.items()}
    for start, layer in ((s, l) for s in args.start for l in args.layers):
        name, model = start.split("=", 1)
        x = {}
        for part in sets:
            out = os.path.join(args.work, f"{name}-layer{layer}-{part}.safetensors")
            subprocess.run([args.electra, "embed", "--model", model, "--file", os.path.join(args.work, f"{part}.txt"),
                            "--layer", str(layer), "--output", out], check=True, capture_output=True)
            x[part] = load_embeddings(out).astype(float)
        mu, sd = x["train"].mean(0), x["train"].std(0) + 1e-6
        xt, xd = (x["train"] - mu) / sd, (x["dev"] - mu) / sd
        cells = []
        for l2 in (1e-3, 1e-2, 1e-1):
            w = fit(xt, y["train"], l2)
            acc = lambda a, t: float((((np.hstack([a, np.ones((len(a), 1))]) @ w) > 0) == (t > 0.5)).mean())
            cells.append(f"l2 {l2:g}: train {acc(xt, y['train']):.3f} dev {acc(xd, y['dev']):.3f}")
        print(f"{name} layer {layer}: " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
