#!/usr/bin/env python3
"""PyTorch training-step throughput for ElectraForPreTraining (discriminator with
replaced-token labels), AdamW, fp32 (or `--dtype bf16`: forward and loss under
torch.autocast("cpu", bfloat16), fp32 weights and optimizer), dropout on (train mode), the
shapes `electra bench --train` measures. Prints one JSON object per shape.
  python scripts/bench/pytorch_train.py --shapes small:32x128 --threads 2
"""
import json

import torch
from transformers import ElectraForPreTraining

from pytorch_forward import autocast, bench_args, median_seconds, parse_shape


def main():
    args = bench_args(["small:32x128"], 10.0, 3)
    for spec in args.shapes:
        config, b, l = parse_shape(spec)
        model = ElectraForPreTraining(config).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        ids = torch.randint(0, config.vocab_size, (b, l))
        labels = torch.randint(0, 2, (b, l))
        mask = torch.ones(b, l, dtype=torch.long)

        def step():
            opt.zero_grad(set_to_none=False)
            with autocast(args.dtype):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        median, runs = median_seconds(step, 1, args.iterations, args.min_seconds)
        print(json.dumps({"shape": spec, "mode": "train", "dtype": args.dtype, "tokens_per_s": b * l / median, "ms_per_step": median * 1000,
                          "threads": args.threads, "runs": runs, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
