#!/usr/bin/env python3
"""Runs `electra bench --json` and, when PyTorch + transformers are importable, the same
shapes through scripts/bench/pytorch_forward.py, then prints the ratios.
  swift build -c release
  ../venv/bin/python scripts/bench/compare_forward.py --threads 2
Both are run back to back in one invocation, so they see the same machine state; repeat
with --rounds to see the noise.
"""
import argparse
import datetime
import json
import os
import platform
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
    ap.add_argument("--min-seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch/transformers not importable: reporting Swift numbers only", file=sys.stderr)
    cpu = platform.processor() or platform.machine()
    print(f"# {datetime.date.today()} {cpu}, {os.cpu_count()} cores, threads={args.threads}")
    for r in range(args.rounds):
        ours = run_json([args.electra, "bench", "--json", "--threads", str(args.threads),
                         "--min-seconds", str(args.min_seconds), "--shapes", *args.shapes])
        theirs = run_json([sys.executable, os.path.join(HERE, "pytorch_forward.py"), "--threads", str(args.threads),
                           "--min-seconds", str(args.min_seconds), "--shapes", *args.shapes]) if have_torch else {}
        print(f"round {r + 1}")
        print(f"{'shape':<16}{'swift tok/s':>12}{'swift ms':>10}{'torch tok/s':>12}{'torch ms':>10}{'speed-up':>10}  %sgemm-peak")
        for s in args.shapes:
            o, t = ours[s], theirs.get(s)
            ratio = f"{t['ms_per_batch'] / o['ms_per_batch']:.2f}x" if t else "-"
            print(f"{s:<16}{o['tokens_per_s']:>12.0f}{o['ms_per_batch']:>10.2f}"
                  f"{(t['tokens_per_s'] if t else float('nan')):>12.0f}{(t['ms_per_batch'] if t else float('nan')):>10.2f}"
                  f"{ratio:>10}  {100 * o['gflops'] / o['sgemm_peak_gflops']:.0f}%")


if __name__ == "__main__":
    main()
