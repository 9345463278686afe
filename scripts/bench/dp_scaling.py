#!/usr/bin/env python3
"""Predicted data-parallel efficiency for 2 to 64 hosts (issue 27), from measurements:

  --allreduce FILE   JSON lines of `mpirun -np 2 electra bench --allreduce-defaults --json`
                     (several files: each fitted and reported; the first gives the latency)
  --step NAME=SECONDS,FLOATS,BUCKETS   one rank's step time on one host (no communication),
                     the gradient floats summed per step, and the number of buckets

The model, stated:
  * A ring allreduce of S bytes over N hosts takes  T(N) = 2(N-1) a + 2(N-1)/N x S / B:
    a is the per-message latency fitted on the measured small sums, B the link's bandwidth
    (10, 25 or 100 Gb/s; the measured loopback/namespace bandwidth is reported beside it).
  * Buckets are summed while the backward is still running. The backward is taken as 2/3
    of the step; the last bucket (embeddings and heads) cannot be hidden. So the exposed
    time is max(T / buckets, T - 2/3 x step x (buckets - 1) / buckets).
  * Efficiency = step / (step + exposed): the share of N hosts' compute that turns into
    N times one host's examples per second. Each cell gives it with the overlap, then
    without (step / (step + T): the whole sum after the backward), a pessimistic bound that
    also stands for a host whose TCP stack needs the cores the backward is using.
Writes a markdown table to stdout and an SVG plot (--svg).
"""
import argparse
import json


def fit(path):
    pts = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    pts = [p for p in pts if p.get("mode") == "allreduce"]
    n = pts[0]["ranks"]
    xs = [2 * (n - 1) / n * p["floats"] * 4 for p in pts]
    ys = [p["ms"] / 1000 for p in pts]
    # Least squares on t = c + x / B, weighting the large sums (they set B).
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    small = min(pts, key=lambda p: p["floats"])
    alpha = small["ms"] / 1000 / (2 * (n - 1))
    return dict(file=path, ranks=n, latency_s=alpha, bandwidth_gbs=1 / beta / 1e9, points=pts)


def efficiency(step, floats, buckets, hosts, gbit, alpha):
    s = floats * 4
    t = 2 * (hosts - 1) * alpha + 2 * (hosts - 1) / hosts * s / (gbit * 1e9 / 8)
    hidden = 2 / 3 * step * (buckets - 1) / buckets
    exposed = max(t / buckets, t - hidden)
    return step / (step + exposed), t


def svg(series, path, title):
    w, h, l, r, t, b = 720, 420, 60, 220, 40, 50
    xs = [2, 4, 8, 16, 32, 64]
    import math
    def X(n): return l + (math.log2(n) - 1) / 5 * (w - l - r)
    def Y(e): return t + (1 - e) * (h - t - b)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>', f'<text x="{l}" y="24" font-size="14">{title}</text>']
    for e in [0, 0.25, 0.5, 0.75, 1.0]:
        out.append(f'<line x1="{l}" x2="{w - r}" y1="{Y(e)}" y2="{Y(e)}" stroke="#ddd"/>')
        out.append(f'<text x="{l - 8}" y="{Y(e) + 4}" text-anchor="end">{e:.2f}</text>')
    for n in xs:
        out.append(f'<text x="{X(n)}" y="{h - b + 18}" text-anchor="middle">{n}</text>')
    out.append(f'<text x="{(l + w - r) / 2}" y="{h - 12}" text-anchor="middle">hosts</text>')
    out.append(f'<text x="16" y="{(t + h - b) / 2}" transform="rotate(-90 16 {(t + h - b) / 2})" text-anchor="middle">predicted efficiency</text>')
    for k, (name, pts) in enumerate(series):
        c = colors[k % len(colors)]
        dash = ' stroke-dasharray="6 4"' if "base" in name else ""
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="' + " ".join(f"{X(n)},{Y(e)}" for n, e in pts) + '"/>')
        out.append(f'<line x1="{w - r + 12}" x2="{w - r + 36}" y1="{t + 16 * k}" y2="{t + 16 * k}" stroke="{c}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{w - r + 42}" y="{t + 16 * k + 4}">{name}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allreduce", nargs="+", required=True)
    ap.add_argument("--step", nargs="+", required=True, help="NAME=SECONDS,FLOATS,BUCKETS")
    ap.add_argument("--svg")
    ap.add_argument("--title", default="data-parallel efficiency (model)")
    args = ap.parse_args()
    fits = [fit(p) for p in args.allreduce]
    for f in fits:
        print(f"- {f['file']}: {f['ranks']} ranks, latency {f['latency_s'] * 1e6:.0f} us per message, "
              f"bandwidth {f['bandwidth_gbs']:.2f} GB/s ({f['bandwidth_gbs'] * 8:.1f} Gb/s)")
    alpha = fits[0]["latency_s"]
    steps = []
    for spec in args.step:
        name, rest = spec.split("=")
        sec, floats, buckets = rest.split(",")
        steps.append((name, float(sec), int(float(floats)), int(buckets)))
    hosts = [2, 4, 8, 16, 32, 64]
    print()
    print("Efficiency with the allreduce overlapped / after the backward:")
    print()
    print("| model (step on one host) | link | " + " | ".join(f"{n} hosts" for n in hosts) + " |")
    print("|---|---|" + "---|" * len(hosts))
    series = []
    for name, sec, floats, buckets in steps:
        for gbit in (10, 25, 100):
            row = [efficiency(sec, floats, buckets, n, gbit, alpha) for n in hosts]
            print(f"| {name} ({sec:.2f} s, {floats / 1e6:.1f}M floats) | {gbit} Gb/s | " +
                  " | ".join(f"{e:.2f} / {sec / (sec + t):.2f}" for e, t in row) + " |")
            series.append((f"{name} {gbit} Gb/s", [(n, e) for n, (e, _) in zip(hosts, row)]))
    if args.svg:
        svg(series, args.svg, args.title)


if __name__ == "__main__":
    main()
