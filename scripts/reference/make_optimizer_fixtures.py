#!/usr/bin/env python3
"""Optimizer and schedule fixtures for Tests/ElectraTrainingTests.

Writes Tests/ElectraTrainingTests/Fixtures/optimizer.safetensors (tensors) and
optimizer.json (parameter list, scalars, schedule values). Run from the repository root:

    ../venv/bin/python scripts/reference/make_optimizer_fixtures.py

References:
- AdamW: torch.optim.AdamW (single-tensor path, foreach=False), two parameter groups as the
  HF Trainer makes them (weight decay for weights and embeddings; none for biases and
  LayerNorm), torch.nn.utils.clip_grad_norm_(max_norm=1.0), and HF's
  get_linear_schedule_with_warmup stepped once per update.
- ELECTRA: a float32 numpy re-implementation of google-research/electra's
  AdamWeightDecayOptimizer (model/optimization.py): no bias correction,
  update = m / (sqrt(v) + eps) + wd * p (decaying parameters only), p -= lr * update;
  lr = peak * (1 - min(step, total) / total)^power * min(1, step / warmup) with the TF
  global_step (0 for the first update); tf.clip_by_global_norm(1.0) (no epsilon);
  layer-wise rates lr * decay^(n_layers + 2 - depth) as _get_layer_lrs assigns them.
- Schedules: HF get_constant_schedule, get_constant_schedule_with_warmup,
  get_linear_schedule_with_warmup (LambdaLR, read before each scheduler.step()), and the
  numpy ELECTRA schedule above, at steps 0..12.
"""
import json
import os

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import (
    get_constant_schedule,
    get_constant_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

OUT = os.path.join("Tests", "ElectraTrainingTests", "Fixtures")

# name, shape, role (ParameterRole case name), decays
PARAMS = [
    ("electra.embeddings.word_embeddings.weight", [30, 12], "embedding"),
    ("electra.embeddings.LayerNorm.weight", [12], "layerNormWeight"),
    ("electra.embeddings.LayerNorm.bias", [12], "layerNormBias"),
    ("electra.encoder.layer.0.attention.self.query.weight", [12, 12], "linearWeight"),
    ("electra.encoder.layer.0.attention.self.query.bias", [12], "bias"),
    ("electra.encoder.layer.1.intermediate.dense.weight", [21, 12], "linearWeight"),
    ("electra.encoder.layer.1.intermediate.dense.bias", [21], "bias"),
    ("classifier.out_proj.weight", [3, 12], "linearWeight"),
    ("classifier.out_proj.bias", [3], "bias"),
]
DECAYS = {"embedding", "linearWeight"}
N_LAYERS = 2
STEPS = 5
GRAD_SCALES = [0.02, 0.2, 0.01, 1.0, 0.03]  # global norms ~0.6, 6, 0.3, 29, 0.9: clipping on and off
PEAK = 1e-2
WD = 0.05
WARMUP, TOTAL = 2, 8
LAYER_DECAY = 0.8


def electra_factor(step, warmup, total, power):
    decay = (1.0 - min(step, total) / total) ** power
    warm = min(1.0, step / warmup) if warmup > 0 else 1.0
    return decay * warm


def electra_depth(name):
    n = name[len("electra."):] if name.startswith("electra.") else name
    if n.startswith("embeddings.") or n.startswith("embeddings_project."):
        return 0
    if n.startswith("encoder.layer."):
        return int(n.split(".")[2]) + 1
    return N_LAYERS + 2


def main():
    rng = np.random.default_rng(1234)
    tensors = {}
    init = {}
    for name, shape, role in PARAMS:
        if role == "layerNormWeight":
            x = 1.0 + 0.1 * rng.standard_normal(shape)
        elif role in ("bias", "layerNormBias"):
            x = 0.1 * rng.standard_normal(shape)
        else:
            x = 0.5 * rng.standard_normal(shape)
        init[name] = x.astype(np.float32)
        tensors[f"init.{name}"] = init[name]
    grads = []
    for t in range(STEPS):
        g = {name: (GRAD_SCALES[t] * rng.standard_normal(shape)).astype(np.float32) for name, shape, _ in PARAMS}
        # an exact zero and a sign flip pattern, so nothing is special-cased by value
        g[PARAMS[0][0]][0, 0] = 0.0
        grads.append(g)
        for name in g:
            tensors[f"grad{t}.{name}"] = g[name]

    meta = {
        "params": [{"name": n, "shape": s, "role": r} for n, s, r in PARAMS],
        "steps": STEPS, "peak": PEAK, "weight_decay": WD, "warmup": WARMUP, "total": TOTAL,
        "layer_decay": LAYER_DECAY, "n_layers": N_LAYERS,
    }

    # --- PyTorch AdamW + clip_grad_norm_ + linear warmup/decay -------------------------
    torch.manual_seed(0)
    tp = {n: torch.nn.Parameter(torch.from_numpy(init[n].copy())) for n, _, _ in PARAMS}
    decay = [tp[n] for n, _, r in PARAMS if r in DECAYS]
    no_decay = [tp[n] for n, _, r in PARAMS if r not in DECAYS]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
        lr=PEAK, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    sched = get_linear_schedule_with_warmup(opt, WARMUP, TOTAL)
    norms, lrs = [], []
    for t in range(STEPS):
        for n in tp:
            tp[n].grad = torch.from_numpy(grads[t][n].copy())
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(tp.values()), 1.0)))
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
        for n in tp:
            tensors[f"adamw.step{t}.{n}"] = tp[n].detach().numpy().copy()
    for n in tp:
        st = opt.state[tp[n]]
        tensors[f"adamw.exp_avg.{n}"] = st["exp_avg"].numpy().copy()
        tensors[f"adamw.exp_avg_sq.{n}"] = st["exp_avg_sq"].numpy().copy()
    meta["adamw"] = {"norms": norms, "lrs": lrs, "eps": 1e-8}

    # --- ELECTRA AdamWeightDecayOptimizer (numpy float32) ------------------------------
    f32 = np.float32
    b1, b2, eps = f32(0.9), f32(0.999), f32(1e-6)
    p = {n: init[n].copy() for n in init}
    m = {n: np.zeros_like(init[n]) for n in init}
    v = {n: np.zeros_like(init[n]) for n in init}
    norms, lrs = [], []
    for t in range(STEPS):  # t is the TF global_step read by this update
        g = {n: grads[t][n].copy() for n in grads[t]}
        gnorm = np.sqrt(sum(float(np.sum(g[n].astype(np.float64) ** 2)) for n in g))
        norms.append(gnorm)
        scale = f32(1.0 / max(gnorm, 1.0))  # tf.clip_by_global_norm: clip_norm / max(norm, clip_norm)
        g = {n: g[n] * scale for n in g}
        lr = f32(PEAK * electra_factor(t, WARMUP, TOTAL, 1.0))
        lrs.append(float(lr))
        for n, _, role in PARAMS:
            plr = lr * f32(LAYER_DECAY ** (N_LAYERS + 2 - electra_depth(n)))
            m[n] = b1 * m[n] + (f32(1) - b1) * g[n]
            v[n] = b2 * v[n] + (f32(1) - b2) * np.square(g[n])
            update = m[n] / (np.sqrt(v[n]) + eps)
            if role in DECAYS:
                update = update + f32(WD) * p[n]
            p[n] = (p[n] - plr * update).astype(np.float32)
            tensors[f"electra.step{t}.{n}"] = p[n].copy()
    for n in p:
        tensors[f"electra.exp_avg.{n}"] = m[n].astype(np.float32)
        tensors[f"electra.exp_avg_sq.{n}"] = v[n].astype(np.float32)
    meta["electra"] = {"norms": norms, "lrs": lrs, "eps": 1e-6}

    # --- schedules ----------------------------------------------------------------------
    steps = list(range(13))

    def read(make):
        o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        s = make(o)
        out = []
        for _ in steps:
            out.append(s.get_last_lr()[0])
            o.step()
            s.step()
        return out

    meta["schedules"] = {
        "steps": steps,
        "constant": read(lambda o: get_constant_schedule(o)),
        "constant_with_warmup_3": read(lambda o: get_constant_schedule_with_warmup(o, 3)),
        "linear_3_10": read(lambda o: get_linear_schedule_with_warmup(o, 3, 10)),
        "linear_0_10": read(lambda o: get_linear_schedule_with_warmup(o, 0, 10)),
        "electra_3_10_p1": [electra_factor(s, 3, 10, 1.0) for s in steps],
        "electra_3_10_p2": [electra_factor(s, 3, 10, 2.0) for s in steps],
    }

    os.makedirs(OUT, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, os.path.join(OUT, "optimizer.safetensors"))
    with open(os.path.join(OUT, "optimizer.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("adamw norms", meta["adamw"]["norms"])
    print("electra lrs", meta["electra"]["lrs"])
    print(len(tensors), "tensors")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
