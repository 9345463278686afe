#!/usr/bin/env python3
"""Several AdamW training steps of the pretraining_relu_e30_h30 fixture in PyTorch:
Tests/ElectraTests/Fixtures/models/pretraining_relu_e30_h30/adamw_steps.safetensors holds
the loss before each step ("loss") and every parameter after each step ("step{t}.{name}").

One step of Adam cannot see the gradient's magnitude (its first update is lr * sign(g)), and
with a tiny epsilon neither can several (m / sqrt(v) does not change when every gradient is
doubled). So: three steps, epsilon 1e-4 (comparable to sqrt(v) of the smaller gradients
here), no clipping in effect (max_norm 10, above the gradient norm): a gradient off by a
factor moves the weights measurably. Dropout off, same batch each step.
  ../venv/bin/python scripts/reference/make_training_steps_fixture.py
"""
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import ElectraForPreTraining

DIR = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures", "models", "pretraining_relu_e30_h30")
STEPS, LR, EPS, WD, CLIP = 3, 1e-3, 1e-4, 0.01, 10.0


def main():
    model = ElectraForPreTraining.from_pretrained(os.path.join(DIR, "model"), attn_implementation="eager").eval()
    inputs = load_file(os.path.join(DIR, "inputs.safetensors"))
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=EPS)
    out, losses = {}, []
    for t in range(STEPS):
        opt.zero_grad()
        loss = model(**inputs, return_dict=True).loss
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        assert norm < CLIP, f"gradient norm {norm} would be clipped"
        opt.step()
        losses.append(loss.item())
        for n, p in model.named_parameters():
            out[f"step{t}.{n}"] = p.detach().clone().contiguous()
        print(f"step {t}: loss {loss.item():.6f}, grad norm {norm:.4f}")
    out["loss"] = torch.tensor(losses, dtype=torch.float32)
    save_file(out, os.path.join(DIR, "adamw_steps.safetensors"))


if __name__ == "__main__":
    main()
