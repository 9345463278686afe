#!/usr/bin/env python3
"""Proves that transformers loads the model folders this package writes (electra init,
finetune, convert): no missing or unexpected weights, and the same outputs as `electra
infer` on the same inputs. Run by hand in the reference venv after `swift build -c release`:

    ../venv/bin/python scripts/reference/check_written_folders.py FOLDER [FOLDER ...]

Each folder is run through `.build/release/electra infer` and through the transformers class
its config.json names (attn_implementation="eager", eval mode), on a seeded batch with
padding; every output both write is compared (max abs diff <= 1e-5).
"""
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoConfig

BINARY = os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "electra")


def check(folder):
    config = AutoConfig.from_pretrained(folder)
    arch = (config.architectures or ["ElectraModel"])[0]
    cls = getattr(transformers, arch)
    model, info = cls.from_pretrained(folder, output_loading_info=True, attn_implementation="eager")
    model.eval()
    problems = {k: v for k, v in info.items() if v}
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, config.vocab_size, (2, 9), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    with tempfile.TemporaryDirectory() as tmp:
        save_file(inputs, os.path.join(tmp, "in.safetensors"))
        subprocess.run([BINARY, "infer", "--model", folder, "--input", os.path.join(tmp, "in.safetensors"),
                        "--output", os.path.join(tmp, "out.safetensors")], check=True, capture_output=True)
        ours = load_file(os.path.join(tmp, "out.safetensors"))
    with torch.no_grad():
        out = model(**inputs, return_dict=True)
    worst = 0.0
    for name, tensor in ours.items():
        theirs = getattr(out, name, None)
        if theirs is not None:
            worst = max(worst, (tensor - theirs).abs().max().item())
    ok = not problems and worst <= 1e-5
    print(f"{'ok  ' if ok else 'FAIL'} {folder}: {arch}, loading info {problems or 'clean'}, "
          f"outputs {sorted(ours)} max abs diff {worst:.2e}")
    return ok


if __name__ == "__main__":
    results = [check(f) for f in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
