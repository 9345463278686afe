#!/usr/bin/env python3
"""The per-CPU column of BENCHMARKS.md from one run of scripts/bench/cpu_table.sh: reads its
raw outputs docs/bench-raw/<what>-<STAMP>.* and prints each comparison as a markdown row with
issue 28's target and whether it holds, so nobody copies numbers by hand.
  python3 scripts/bench/cpu_table_summary.py 2026-12-07-zen3-s18
"""
import json
import os
import re
import sys

RAW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "bench-raw")


def forward_medians(name, stamp):
    """{shape: (median, [rounds])} from compare_forward.py's closing block, or None."""
    path = os.path.join(RAW, f"{name}-{stamp}.txt")
    if not os.path.exists(path):
        return None
    out = {}
    for line in open(path):
        m = re.match(r"\s+(\S+:\d+x\d+)\s+([\d.]+)x\s+\(rounds: ([\d., ]+)\)", line)
        if m:
            out[m.group(1)] = (float(m.group(2)), [float(x) for x in m.group(3).split(",")])
    return out


def load_json(name, stamp):
    path = os.path.join(RAW, f"{name}-{stamp}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def ratio(median, values):
    return f"{median:.2f}x [{min(values):.2f}-{max(values):.2f}]"


def verdict(value, target):
    return "yes" if value >= target else "no"


def forward_rows(label, name, stamp, rows, target=None):
    fw = forward_medians(name, stamp)
    if not fw:
        return
    cells = " / ".join(f"{s} {ratio(m, r)}" for s, (m, r) in fw.items())
    held = "; ".join(f"{s}: {verdict(m, target)}" for s, (m, _) in fw.items()) if target else ""
    rows.append((label, cells, f"{target}x" if target else "", held))


def margin_rows(suffix, stamp, rows):
    d = load_json(f"margins{suffix}", stamp)
    if not d:
        return
    s = d["summary"]
    what = {"rtd": ("RTD step vs PyTorch, small 32 x 128", 2.2), "train": ("training step vs PyTorch, small 32 x 128", 1.6),
            "int8 small:32x128": ("int8 vs our fp32, small 32 x 128", 2.2), "int8 base:8x128": ("int8 vs our fp32, base 8 x 128", 2.2)}
    for key, (label, target) in what.items():
        if key in s:
            r = s[key]
            rows.append((label + suffix.replace("-maxisa-", ", capped at "), ratio(r["median_ratio"], r["ratios"]),
                         f"{target}x", verdict(r["median_ratio"], target)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cpu_table_summary.py STAMP   (the <date>-<tag> of cpu_table.sh's files)")
    stamp = sys.argv[1]
    rows = []
    forward_rows("fp32 forward vs PyTorch fp32", "forward-fp32", stamp, rows)
    forward_rows("bf16 request vs PyTorch bf16 autocast", "forward-bf16", stamp, rows, target=1.5)
    forward_rows("bf16 on oneDNN without AMX vs PyTorch autocast without AMX", "forward-bf16-noamx", stamp, rows)
    margin_rows("", stamp, rows)
    tok = load_json("tokenizer", stamp)
    if tok:
        res = tok["results"]
        hf = next((v for k, v in res.items() if k.startswith("hf_encode_batch/all")), None)
        for key, label in (("swift_cli_end_to_end/all", "`electra tokenize` vs HF encode_batch, JSON"),
                           ("swift_cli_ids/all", "`electra tokenize --ids` vs HF encode_batch")):
            cli = next((v for k, v in res.items() if k.startswith(key)), None)
            if hf and cli:
                x = cli["mb_per_s"] / hf["mb_per_s"]
                rows.append((label, f"{x:.1f}x ({cli['mb_per_s']:.1f} against {hf['mb_per_s']:.2f} MB/s)", "5x", verdict(x, 5)))
    forward_rows("fp32 forward vs PyTorch fp32, both capped at AVX2", "forward-fp32-maxisa-avx2", stamp, rows)
    margin_rows("-maxisa-avx2", stamp, rows)
    if not rows:
        sys.exit(f"error: no cpu_table.sh outputs named *-{stamp}.* in {os.path.normpath(RAW)}")
    print(f"| comparison ({stamp}) | median [range] | target | holds |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
