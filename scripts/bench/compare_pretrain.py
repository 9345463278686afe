#!/usr/bin/env python3
"""Runs `electra bench --pretrain --json` and scripts/bench/pytorch_pretrain.py (when PyTorch
and transformers are importable) for the same presets, alternating sides each round, and
prints per-round and median ratios of tokens/s, with both sides' peak memory.
  swift build -c release
  ../venv/bin/python scripts/bench/compare_pretrain.py --presets small mini --rounds 4
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
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")][0]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "..", ".build", "release", "electra"))
    ap.add_argument("--presets", nargs="+", default=["small", "mini"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch/transformers not importable: reporting Swift numbers only", file=sys.stderr)
    print(f"# {datetime.date.today()} {cpu_name()}, {os.cpu_count()} cores, threads={args.threads}, RTD step B{args.batch_size} L128")
    common = ["--threads", str(args.threads), "--min-seconds", str(args.min_seconds), "--batch-size", str(args.batch_size)]
    ratios = {p: [] for p in args.presets}
    print(f"{'round':<6}{'preset':<8}{'swift tok/s':>12}{'swift MB':>10}{'torch tok/s':>12}{'torch MB':>10}{'speed-up':>10}")
    for r in range(args.rounds):
        for p in args.presets:
            swift = lambda: run_json([args.electra, "bench", "--pretrain", "--json", "--preset", p] + common)
            torch_ = lambda: run_json([sys.executable, os.path.join(HERE, "pytorch_pretrain.py"), "--presets", p] + common)
            if have_torch and r % 2 == 1:
                t, o = torch_(), swift()
            else:
                o = swift()
                t = torch_() if have_torch else None
            ratio = o["tokens_per_s"] / t["tokens_per_s"] if t else None
            if ratio:
                ratios[p].append(ratio)
            print(f"{r + 1:<6}{p:<8}{o['tokens_per_s']:>12.0f}{o['peak_rss_mb']:>10.0f}"
                  f"{(t['tokens_per_s'] if t else float('nan')):>12.0f}{(t['peak_rss_mb'] if t else float('nan')):>10.0f}"
                  f"{(f'{ratio:.2f}x' if ratio else '-'):>10}", flush=True)
    if have_torch:
        print("median speed-up over rounds (Swift tokens/s / PyTorch tokens/s):")
        for p in args.presets:
            print(f"  {p:<8}{statistics.median(ratios[p]):.2f}x   (rounds: {', '.join(f'{x:.2f}' for x in sorted(ratios[p]))})")


if __name__ == "__main__":
    main()
