#!/usr/bin/env python3
"""Judges a pretrained pair (or a masked LM) through Hugging Face transformers, independently of
the Swift trainer's own evaluation: on a held-out prepare-data folder,
- the generator's loss and top-1 on [MASK]ed positions (15% chosen, 85% of them [MASK]), against
  the held-out unigram baseline (what word frequencies alone give);
- the discriminator's replaced-token AUC, precision and recall at p > 0.5, on the original text
  with the generator's samples at the chosen positions, sampled at --temperature (1: the paper's).

Run by hand in a venv outside the repo (scripts/reference/requirements.txt), never by CI:
  ../venv/bin/python scripts/reference/judge_pair.py --data /work/data/wiki-heldout-128 \\
      --generator models/electra-tiny-generator --discriminator models/electra-tiny-discriminator
Prints one JSON object. Masking and sampling come from numpy with --seed; 512 examples by default.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from transformers import ElectraForMaskedLM, ElectraForPreTraining

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlm_control import SPECIAL, PretrainingData, masked_batch  # noqa: E402


def auc(scores, labels):
    """Probability that a replaced token scores above an original one (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    s, y = scores[order], labels[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    neg = len(y) - pos
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg)) if pos and neg else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="held-out prepare-data folder")
    p.add_argument("--generator", required=True, help="ElectraForMaskedLM folder")
    p.add_argument("--discriminator", help="ElectraForPreTraining folder (omit to judge a masked LM only)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--examples", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--unigram-data", help="prepare-data folder whose word frequencies make the unigram baseline (the training data; default --data)")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    data = PretrainingData(a.data)
    gen = ElectraForMaskedLM.from_pretrained(a.generator, torch_dtype=torch.float32).eval()
    disc = ElectraForPreTraining.from_pretrained(a.discriminator, torch_dtype=torch.float32).eval() if a.discriminator else None
    n = min(a.examples, data.count)
    loss = hits = count = 0.0
    targets_all = []
    scores, labels = [], []
    with torch.no_grad():
        for start in range(0, n, a.batch_size):
            b = masked_batch(data, range(start, min(start + a.batch_size, n)), 0.15, rng)
            logits = gen(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                         token_type_ids=b["token_type_ids"]).logits
            flat = logits.reshape(-1, logits.shape[-1]).index_select(0, b["positions"])
            sel = b["was_masked"]
            t = b["targets"]
            loss += torch.nn.functional.cross_entropy(flat[sel], t[sel], reduction="sum").item()
            hits += (flat[sel].argmax(-1) == t[sel]).sum().item()
            count += int(sel.sum())
            targets_all.append(t[sel].numpy())
            if disc is None:
                continue
            probs = torch.softmax(flat / a.temperature, dim=-1)
            samples = torch.multinomial(probs, 1).squeeze(1)
            original = b["input_ids"].clone().reshape(-1)
            # the original tokens (not [MASK]) with the samples at every chosen position
            rows = b["attention_mask"].shape
            orig_ids = original.clone()
            orig_ids[b["positions"]] = t
            replaced = orig_ids.clone()
            replaced[b["positions"]] = samples
            label = (replaced != orig_ids).long()
            out = disc(input_ids=replaced.reshape(rows), attention_mask=b["attention_mask"],
                       token_type_ids=b["token_type_ids"]).logits.reshape(-1)
            keep = b["attention_mask"].reshape(-1) == 1
            scores.append(out[keep].numpy())
            labels.append(label[keep].numpy())
    t = np.concatenate(targets_all)
    ref = PretrainingData(a.unigram_data) if a.unigram_data else data
    counts = np.bincount(ref.ids, minlength=max(int(ref.ids.max()), int(t.max())) + 1).astype(np.float64)
    counts[[s for s in SPECIAL if s < len(counts)]] = 0
    pu = counts / counts.sum()
    result = {
        "examples": n, "masked_positions": int(count),
        "generator_masked_loss": loss / count, "generator_masked_accuracy": hits / count,
        "heldout_unigram_loss": float(-np.log(np.maximum(pu[t], 1e-12)).mean()),
        "heldout_unigram_top1_share": float((t == np.argmax(pu)).mean()),
    }
    if disc is not None:
        s, y = np.concatenate(scores), np.concatenate(labels)
        pred = s > 0
        result.update({
            "temperature": a.temperature, "tokens": int(len(y)), "replaced_fraction": float(y.mean()),
            "discriminator_auc": auc(s, y),
            "precision": float((pred & (y == 1)).sum() / max(pred.sum(), 1)),
            "recall": float((pred & (y == 1)).sum() / max((y == 1).sum(), 1)),
        })
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
