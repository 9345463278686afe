#!/usr/bin/env python3
"""Writes examples/tiny-electra: a small random ElectraForPreTraining over the real BERT
uncased vocabulary (so the tokenizer files apply), an inputs file for one tokenized
sentence pair, and HF's outputs for it (expected.safetensors) for a by-eye comparison.
  ../venv/bin/python scripts/reference/make_example_model.py
"""
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import BertTokenizerFast, ElectraConfig, ElectraForPreTraining

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "examples", "tiny-electra")
VOCAB = os.path.join(HERE, "..", "..", "..", "shared", "data", "vocab", "bert-base-uncased")

shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
torch.manual_seed(0)
config = ElectraConfig(embedding_size=16, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=128, max_position_embeddings=128)
model = ElectraForPreTraining(config).eval()
model.save_pretrained(OUT, safe_serialization=True)
for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
    shutil.copy(os.path.join(VOCAB, f), os.path.join(OUT, f))
tok = BertTokenizerFast(vocab_file=os.path.join(VOCAB, "vocab.txt"))
enc = tok(["the quick brown fox jumps over the lazy dog", "electra detects replaced tokens"],
          ["a generator corrupts the text", "in swift"], padding=True, return_tensors="pt")
inputs = {k: enc[k].contiguous() for k in ("input_ids", "attention_mask", "token_type_ids")}
save_file(inputs, os.path.join(OUT, "inputs.safetensors"))
with torch.no_grad():
    logits = model(**inputs).logits
save_file({"logits": logits.contiguous()}, os.path.join(OUT, "expected.safetensors"))
print("wrote", os.path.abspath(OUT), {k: tuple(v.shape) for k, v in inputs.items()})
