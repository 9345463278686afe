#!/usr/bin/env python3
"""PyTorch + transformers forward throughput for the shapes `electra bench` measures.

Prints one JSON object per shape (same keys as `electra bench --json`). Random weights,
eval mode, torch.inference_mode, sdpa attention, fp32, `--threads` intra-op threads.
`--dtype int8`: torch.ao.quantization.quantize_dynamic over every nn.Linear (qint8 weights,
activations quantized per call), PyTorch's counterpart of `electra bench --dtype int8`.
`--dtype bf16`: fp32 weights under torch.autocast("cpu", dtype=torch.bfloat16), the one-line
bf16 a PyTorch user writes; `--dtype bf16-weights`: the model cast to bfloat16 (model.to).
  python scripts/bench/pytorch_forward.py --shapes small:32x128 base:8x128 small:1x16 --threads 2
"""
import argparse
import json
import time

import torch
from transformers import ElectraConfig, ElectraModel

PRESETS = {
    "small": dict(),
    "small-generator": dict(hidden_size=64, num_attention_heads=1, intermediate_size=256),
    "base": dict(embedding_size=768, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
    "base-generator": dict(embedding_size=768, hidden_size=256, num_attention_heads=4, intermediate_size=1024),
    "large": dict(embedding_size=1024, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}


def median_seconds(step, warmup, iterations, min_seconds, max_runs=1000):
    """Median wall time of step() after `warmup` untimed calls (as `electra bench` measures)."""
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while (len(times) < iterations or time.perf_counter() - start < min_seconds) and len(times) < max_runs:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], len(times)


def bench_args(shapes, min_seconds, iterations):
    """The options `electra bench` takes; sets torch's thread count."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", nargs="+", default=shapes)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=min_seconds)
    ap.add_argument("--iterations", type=int, default=iterations)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "int8", "bf16", "bf16-weights"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return args


def autocast(dtype):
    """torch.autocast to bfloat16 for --dtype bf16, else a no-op context."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")


def parse_shape(spec):
    """MODEL:BATCHxLENGTH -> (ElectraConfig, batch, length)."""
    name, dims = spec.split(":")
    b, l = map(int, dims.split("x"))
    return ElectraConfig(**PRESETS[name]), b, l


def main():
    args = bench_args(["small:32x128", "base:8x128", "small:1x16"], 3.0, 5)
    for spec in args.shapes:
        config, b, l = parse_shape(spec)
        try:
            model = ElectraModel(config, attn_implementation="sdpa").eval()
        except (ValueError, TypeError):
            model = ElectraModel(config).eval()
        if args.dtype == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        if args.dtype == "bf16-weights":
            model = model.to(torch.bfloat16)
        ids = torch.randint(0, config.vocab_size, (b, l))
        with torch.inference_mode(), autocast(args.dtype):
            median, runs = median_seconds(lambda: model(input_ids=ids), 2, args.iterations, args.min_seconds)
        print(json.dumps({"shape": spec, "tokens_per_s": b * l / median, "ms_per_batch": median * 1000,
                          "threads": args.threads, "runs": runs, "torch": torch.__version__, "dtype": args.dtype,
                          "attn": getattr(model.config, "_attn_implementation", "eager")}), flush=True)


if __name__ == "__main__":
    main()
