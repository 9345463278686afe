#!/usr/bin/env python3
"""PyTorch training-step throughput for ElectraForPreTraining (discriminator with
replaced-token labels), AdamW, fp32, dropout on (train mode), the shapes `electra bench
--train` measures. Prints one JSON object per shape.
  python scripts/bench/pytorch_train.py --shapes small:32x128 --threads 2
"""
import argparse
import json
import time

import torch
from transformers import ElectraConfig, ElectraForPreTraining

from pytorch_forward import PRESETS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", nargs="+", default=["small:32x128"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=10.0)
    ap.add_argument("--iterations", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for spec in args.shapes:
        name, dims = spec.split(":")
        b, l = map(int, dims.split("x"))
        config = ElectraConfig(**PRESETS[name])
        model = ElectraForPreTraining(config).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        ids = torch.randint(0, config.vocab_size, (b, l))
        labels = torch.randint(0, 2, (b, l))
        mask = torch.ones(b, l, dtype=torch.long)

        def step():
            opt.zero_grad(set_to_none=False)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        step()
        times = []
        start = time.perf_counter()
        while len(times) < args.iterations or time.perf_counter() - start < args.min_seconds:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        times.sort()
        median = times[len(times) // 2]
        print(json.dumps({"shape": spec, "mode": "train", "tokens_per_s": b * l / median, "ms_per_step": median * 1000,
                          "threads": args.threads, "runs": len(times), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
