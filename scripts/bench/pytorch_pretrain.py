#!/usr/bin/env python3
"""PyTorch + transformers counterpart of `electra bench --pretrain`: one full ELECTRA RTD
step, fp32, train mode (dropout on), 2 threads by default:
  generator (ElectraForMaskedLM, hidden x generator size, heads = hidden/64, FFN 4 x hidden)
  sharing the discriminator's embeddings module (word, position, type, LayerNorm); its
  prediction layers and tied LM head run only at the masked positions; replacements
  sampled from softmax(logits) without gradient; the discriminator (ElectraForPreTraining)
  reads them; loss = 1 x MLM + 50 x BCE; backward; clip 1.0; AdamW (weight decay 0.01).
Masking as the Swift side: 15% of the non-special tokens (at most 19), 85% -> [MASK].
Prints one JSON object per preset with tokens/s, ms/step and peak RSS (MB).
  python scripts/bench/pytorch_pretrain.py --presets small mini --batch-size 32 --threads 2
"""
import argparse
import json
import resource

import torch
from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining

from pytorch_forward import median_seconds

# Discriminator shapes and generator sizes of `electra pretrain --preset` (PretrainingPresets.swift).
PRESETS = {
    "tiny": (dict(embedding_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512), 0.25),
    "mini": (dict(embedding_size=128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024), 0.25),
    "small": (dict(), 0.25),
    "base": (dict(embedding_size=768, hidden_size=768, num_attention_heads=12, intermediate_size=3072), 1 / 3),
}


def generator_config(disc: ElectraConfig, size: float) -> ElectraConfig:
    hidden = max(1, round(disc.hidden_size * size))
    heads = max(1, hidden // 64)
    hidden = hidden // heads * heads
    d = disc.to_dict()
    d.update(hidden_size=hidden, num_attention_heads=heads, intermediate_size=4 * hidden)
    return ElectraConfig(**{k: v for k, v in d.items() if k in ElectraConfig().to_dict() or k == "embedding_size"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", nargs="+", default=["small"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=10.0)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"],
                    help="bf16: both models' forwards and losses under torch.autocast(cpu, bfloat16)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, l = args.batch_size, args.length
    for name in args.presets:
        shape, size = PRESETS[name]
        dcfg = ElectraConfig(**shape)
        gcfg = generator_config(dcfg, size)
        disc = ElectraForPreTraining(dcfg).train()
        gen = ElectraForMaskedLM(gcfg).train()
        gen.electra.embeddings = disc.electra.embeddings  # shared, as the RTD recipe does
        gen.generator_lm_head.weight = disc.electra.embeddings.word_embeddings.weight
        params = list({id(p): p for p in list(disc.parameters()) + list(gen.parameters())}.values())
        opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.01)
        ids = torch.randint(1000, 30000, (b, l))
        ids[:, 0], ids[:, l // 2], ids[:, -1] = 101, 102, 102
        types = torch.zeros(b, l, dtype=torch.long)
        types[:, l // 2 + 1:] = 1
        mask = torch.ones(b, l, dtype=torch.long)
        special = (ids == 101) | (ids == 102)
        n_mask = min(19, round(0.15 * l))

        def step():
            # Masking: n_mask random non-special positions per row, 85% [MASK].
            scores = torch.rand(b, l).masked_fill(special, -1.0)
            pos = scores.topk(n_mask, dim=1).indices
            chosen = torch.zeros(b, l, dtype=torch.bool).scatter_(1, pos, True)
            masked = ids.clone()
            to_mask = chosen & (torch.rand(b, l) < 0.85)
            masked[to_mask] = 103
            opt.zero_grad(set_to_none=False)
            ctx = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16")
            ctx.__enter__()
            h = gen.electra(input_ids=masked, attention_mask=mask, token_type_ids=types).last_hidden_state
            hm = h[chosen]  # [M, H] only the masked positions
            logits = gen.generator_lm_head(gen.generator_predictions(hm))
            targets = ids[chosen]
            g_loss = torch.nn.functional.cross_entropy(logits, targets)
            with torch.no_grad():
                sampled = torch.multinomial(torch.softmax(logits.detach(), -1), 1).squeeze(1)
            d_ids = ids.clone()
            d_ids[chosen] = sampled
            labels = (d_ids != ids).long()
            d_loss = disc(input_ids=d_ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
            ctx.__exit__(None, None, None)
            (g_loss + 50 * d_loss).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        median, runs = median_seconds(step, 1, args.iterations, args.min_seconds)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"shape": f"{name}:{b}x{l}", "mode": "pretrain", "dtype": args.dtype, "tokens_per_s": b * l / median,
                          "ms_per_step": median * 1000, "peak_rss_mb": peak, "generator_hidden": gcfg.hidden_size,
                          "threads": args.threads, "runs": runs, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
