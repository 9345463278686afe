#!/usr/bin/env python3
"""Adds grads.safetensors to every head fixture written by make_model_fixtures.py: the
gradient of HF's loss with respect to every parameter (dropout off, eval mode), under HF
parameter names. Tied weights appear once (the word embeddings carry the MLM head's share).
Several optimizer steps on one of them: make_training_steps_fixture.py.
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
        print(f"{name}: {len(grads)} gradients, max |g| {scale:.3g}, loss {out.loss.item():.5f}")


if __name__ == "__main__":
    main()
