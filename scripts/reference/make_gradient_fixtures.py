#!/usr/bin/env python3
"""Adds grads.safetensors to every head fixture written by make_model_fixtures.py: the
gradient of HF's loss with respect to every parameter (dropout off, eval mode), under HF
parameter names. Tied weights appear once (the word embeddings carry the MLM head's share).
  ../venv/bin/python scripts/reference/make_gradient_fixtures.py
"""
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig
import transformers

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures", "models")


def main():
    for name in sorted(os.listdir(ROOT)):
        model_dir = os.path.join(ROOT, name, "model")
        if not os.path.isdir(model_dir) or name.endswith(("_f16", "_bf16", "_sharded")):
            continue
        config = AutoConfig.from_pretrained(model_dir)
        arch = config.architectures[0]
        if arch == "ElectraModel":
            continue
        cls = getattr(transformers, arch)
        model = cls.from_pretrained(model_dir, attn_implementation="eager").eval()
        inputs = load_file(os.path.join(ROOT, name, "inputs.safetensors"))
        model.zero_grad()
        out = model(**inputs, return_dict=True)
        out.loss.backward()
        grads = {n: p.grad.detach().clone().contiguous() for n, p in model.named_parameters() if p.grad is not None}
        save_file(grads, os.path.join(ROOT, name, "grads.safetensors"))
        scale = max(g.abs().max().item() for g in grads.values())
        if name.startswith("pretraining"):
            # One AdamW step (torch semantics; no decay on bias/LayerNorm, clip 1.0) from
            # these weights and this batch: the Swift training step must land on the same weights.
            decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
            no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
            opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                    lr=1e-3, betas=(0.9, 0.999), eps=1e-6)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            after = {n: p.detach().clone().contiguous() for n, p in model.named_parameters()}
            save_file(after, os.path.join(ROOT, name, "after_adamw_step.safetensors"))
        print(f"{name}: {len(grads)} gradients, max |g| {scale:.3g}, loss {out.loss.item():.5f}")


if __name__ == "__main__":
    main()
