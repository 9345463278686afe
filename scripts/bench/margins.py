#!/usr/bin/env python3
"""Issue 28's margins, both sides in one run, interleaved rounds, medians and ranges:
  - RTD pretraining step (ELECTRA-small, 32 x 128): `electra bench --pretrain` against
    scripts/bench/pytorch_pretrain.py and against the same step in pytorch_ddp.py with one rank
    (the anchor issue 27's DDP numbers come from, measured alone);
  - training ("fine-tuning") step (small 32 x 128): `electra bench --train` against
    scripts/bench/pytorch_train.py;
  - int8 against our fp32 forward: `electra bench --dtype both` (one process, alternating),
    small 32 x 128 and base 8 x 128.
Each round runs every measurement once, the sides' order alternating between rounds.
  swift build -c release
  ../venv/bin/python scripts/bench/margins.py --rounds 5 --threads 2 --json margins.json
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, cwd=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def cpu():
    flags, name = set(), "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and name == "?":
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    shown = [x for x in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if x in flags]
    return f"{name}; flags: {' '.join(shown)}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "..", ".build", "release", "electra"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=3, help="timed steps per training measurement")
    ap.add_argument("--only", nargs="+", default=["rtd", "train", "int8"])
    ap.add_argument("--json")
    args = ap.parse_args()
    py, t = sys.executable, str(args.threads)
    e = [args.electra, "bench", "--json", "--threads", t]
    sides = {
        "rtd": [("electra", e + ["--pretrain", "--preset", "small", "--iterations", str(args.iterations), "--min-seconds", "1"]),
                ("pytorch", [py, "pytorch_pretrain.py", "--threads", t, "--iterations", str(args.iterations), "--min-seconds", "1"]),
                ("pytorch-ddp-1", [py, "pytorch_ddp.py", "--mode", "pretrain", "--ranks", "1", "--threads", t,
                                   "--iterations", str(args.iterations)])],
        "train": [("electra", e + ["--train", "--shapes", "small:32x128", "--iterations", str(args.iterations), "--min-seconds", "1"]),
                  ("pytorch", [py, "pytorch_train.py", "--shapes", "small:32x128", "--threads", t,
                               "--iterations", str(args.iterations), "--min-seconds", "1"])],
    }
    print(f"# {datetime.datetime.now():%Y-%m-%d %H:%M} {cpu()}; {os.cpu_count()} cores; threads {t}; {args.rounds} rounds", flush=True)
    rows = {}
    for r in range(args.rounds):
        for name in [n for n in ("rtd", "train") if n in args.only]:
            order = sides[name] if r % 2 == 0 else list(reversed(sides[name]))
            for side, cmd in order:
                rec = run_json(cmd, cwd=HERE)[0]
                rows.setdefault(name, {}).setdefault(side, []).append(rec["tokens_per_s"])
                print(f"round {r + 1} {name} {side}: {rec['tokens_per_s']:.0f} tokens/s", flush=True)
        if "int8" in args.only:
            for rec in run_json(e + ["--dtype", "both", "--shapes", "small:32x128", "base:8x128", "--min-seconds", "3"]):
                key = f"int8 {rec['shape']}"
                rows.setdefault(key, {}).setdefault(rec.get("dtype", "?"), []).append(rec["tokens_per_s"])
                print(f"round {r + 1} {key} {rec.get('dtype')}: {rec['tokens_per_s']:.0f} tokens/s", flush=True)
    print("\nmedians (ratio = median of the per-round ratios; range in brackets):")
    summary = {}
    for name, by_side in rows.items():
        base = "fp32" if name.startswith("int8") else None
        if base:
            num, den = by_side.get("int8", []), by_side.get("fp32", [])
            ratios = [a / b for a, b in zip(num, den)]
            label = "int8 / our fp32"
        else:
            den = by_side["pytorch"]
            ratios = [a / b for a, b in zip(by_side["electra"], den)]
            label = "electra / pytorch"
        med = {k: statistics.median(v) for k, v in by_side.items()}
        summary[name] = {"median_tokens_per_s": med, "ratios": ratios, "median_ratio": statistics.median(ratios)}
        extra = ""
        if name == "rtd" and "pytorch-ddp-1" in by_side:
            r2 = [a / b for a, b in zip(by_side["electra"], by_side["pytorch-ddp-1"])]
            summary[name]["ratios_vs_ddp_script"] = r2
            extra = f"; electra / pytorch-ddp-1 {statistics.median(r2):.2f}x [{min(r2):.2f}-{max(r2):.2f}]"
        print(f"  {name}: " + ", ".join(f"{k} {v:.0f}" for k, v in med.items())
              + f"; {label} {statistics.median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]" + extra)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu(), "threads": args.threads, "rounds": args.rounds, "raw": rows, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
