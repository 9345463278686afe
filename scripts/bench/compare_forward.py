#!/usr/bin/env python3
"""Runs `electra bench --json` and, when PyTorch + transformers are importable, the same
shapes through scripts/bench/pytorch_forward.py, then prints the ratios.
  swift build -c release
  ../venv/bin/python scripts/bench/compare_forward.py --threads 2 --rounds 8

Each round measures every shape on both sides back to back (Swift then PyTorch on odd
rounds, PyTorch then Swift on even ones), so a pair shares the machine's state and a slow
drift of this shared VM favours neither side. The summary is the median of the per-round
ratios: on this VM one side alone moves by 10-20% between runs a minute apart.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {r["shape"]: r for r in (json.loads(line) for line in out.splitlines() if line.startswith("{"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "..", ".build", "release", "electra"))
    ap.add_argument("--shapes", nargs="+", default=["small:32x128", "base:8x128", "small:1x16"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--weight-layout", default="inference", choices=["inference", "hf"],
                    help="Swift's encoder weight layout (electra bench --weight-layout)")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "int8", "bf16"],
                    help="both sides: fp32, int8 dynamic quantization (PyTorch: quantize_dynamic), or bf16 (PyTorch: autocast)")
    ap.add_argument("--torch-dtype", choices=["fp32", "int8", "bf16", "bf16-weights"],
                    help="PyTorch's side when it differs from --dtype, e.g. bf16-weights (the model cast to bfloat16)")
    args = ap.parse_args()
    torch_dtype = args.torch_dtype or args.dtype
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch/transformers not importable: reporting Swift numbers only", file=sys.stderr)
    cpu = platform.processor() or platform.machine()
    print(f"# {datetime.date.today()} {cpu}, {os.cpu_count()} cores, threads={args.threads}, Swift weight layout {args.weight_layout}, dtype {args.dtype} (PyTorch {torch_dtype})")
    swift_cmd = [args.electra, "bench", "--json", "--threads", str(args.threads), "--min-seconds", str(args.min_seconds),
                 "--weight-layout", args.weight_layout, "--dtype", args.dtype, "--shapes"]
    torch_cmd = [sys.executable, os.path.join(HERE, "pytorch_forward.py"), "--threads", str(args.threads),
                 "--min-seconds", str(args.min_seconds), "--dtype", torch_dtype, "--shapes"]
    ratios = {s: [] for s in args.shapes}
    print(f"{'round':<6}{'shape':<16}{'swift tok/s':>12}{'swift ms':>10}{'torch tok/s':>12}{'torch ms':>10}{'speed-up':>10}  %sgemm-peak")
    for r in range(args.rounds):
        for s in args.shapes:
            if have_torch and r % 2 == 1:
                t = run_json(torch_cmd + [s])[s]
                o = run_json(swift_cmd + [s])[s]
            else:
                o = run_json(swift_cmd + [s])[s]
                t = run_json(torch_cmd + [s])[s] if have_torch else None
            ratio = t["ms_per_batch"] / o["ms_per_batch"] if t else None
            if ratio:
                ratios[s].append(ratio)
            print(f"{r + 1:<6}{s:<16}{o['tokens_per_s']:>12.0f}{o['ms_per_batch']:>10.2f}"
                  f"{(t['tokens_per_s'] if t else float('nan')):>12.0f}{(t['ms_per_batch'] if t else float('nan')):>10.2f}"
                  f"{(f'{ratio:.2f}x' if ratio else '-'):>10}  {100 * o['gflops'] / o['sgemm_peak_gflops']:.0f}%", flush=True)
    if have_torch:
        print("median speed-up over rounds (PyTorch time / Swift time):")
        for s in args.shapes:
            rs = sorted(ratios[s])
            print(f"  {s:<16}{statistics.median(rs):.2f}x   (rounds: {', '.join(f'{x:.2f}' for x in rs)})")


if __name__ == "__main__":
    main()
