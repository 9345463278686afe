#!/usr/bin/env python3
"""Overlay curves from several metrics.jsonl files (ours or scripts/reference/mlm_control.py's)
in one SVG, with the unigram baseline as a dashed line: the plots of docs/pretraining/plateau.

    python3 scripts/experiments/plot_curves.py --out curves.svg --metric generator_masked_loss \\
        --kind eval --title "held-out masked-LM loss" --reference heldout_unigram_loss \\
        "old recipe=runs/a/metrics.jsonl" "new recipe=runs/b/metrics.jsonl"

Standard library only (no plotting stack). Each series is one file's records of --kind
(train or eval) that have --metric, against "step". --reference names a field of the first
file's "reference" record drawn as a horizontal dashed line.
"""
import argparse
import json

COLORS = ["#000000", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#aec7e8", "#98df8a"]


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def smooth(points, window):
    if window <= 1:
        return points
    out = []
    for i in range(len(points)):
        chunk = points[max(0, i - window + 1):i + 1]
        out.append((points[i][0], sum(y for _, y in chunk) / len(chunk)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("series", nargs="+", help="LABEL=PATH to a metrics.jsonl")
    p.add_argument("--out", required=True)
    p.add_argument("--metric", required=True)
    p.add_argument("--kind", default="eval", choices=["train", "eval"])
    p.add_argument("--title", default="")
    p.add_argument("--reference", help="a field of the first file's reference record, drawn dashed")
    p.add_argument("--smooth", type=int, default=1, help="running mean over this many records")
    p.add_argument("--max-step", type=float)
    a = p.parse_args()

    series, reference = [], None
    for k, item in enumerate(a.series):
        label, path = item.split("=", 1)
        records = read(path)
        if reference is None and a.reference:
            ref = next((r for r in records if r.get("kind") == "reference" and a.reference in r), None)
            reference = ref[a.reference] if ref else None
        pts = [(r["step"], r[a.metric]) for r in records
               if r.get("kind") == a.kind and a.metric in r and (a.max_step is None or r["step"] <= a.max_step)]
        series.append((label, smooth(pts, a.smooth), COLORS[k % len(COLORS)]))

    all_pts = [pt for _, pts, _ in series for pt in pts]
    ys = [y for _, y in all_pts] + ([reference] if reference is not None else [])
    x0, x1 = 0, max(x for x, _ in all_pts)
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.05 or 0.5
    y0, y1 = y0 - pad, y1 + pad
    W, H, L, R, T, B = 760, 420, 70, 20, 40, 50
    px = lambda x: L + (x - x0) / (x1 - x0 or 1) * (W - L - R)
    py = lambda y: T + (y1 - y) / (y1 - y0) * (H - T - B)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{L}" y="22" font-size="15" font-weight="bold">{a.title or a.metric}</text>',
         f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="gray"/>']
    for k in range(5):
        v = y0 + (y1 - y0) * k / 4
        xv = x0 + (x1 - x0) * k / 4
        s.append(f'<text x="{L - 8}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>')
        s.append(f'<text x="{px(xv):.1f}" y="{H - B + 16}" text-anchor="middle">{xv:.0f}</text>')
    s.append(f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">step ({a.kind} records)</text>')
    if reference is not None:
        s.append(f'<polyline fill="none" stroke="black" stroke-dasharray="6,4" points="{px(x0):.1f},{py(reference):.1f} {px(x1):.1f},{py(reference):.1f}"/>')
        s.append(f'<text x="{px(x0) + 6:.1f}" y="{py(reference) - 5:.1f}">unigram baseline ({a.reference} {reference:.3f})</text>')
    for k, (label, pts, color) in enumerate(series):
        if not pts:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        s.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        if len(pts) < 40:
            s += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"/>' for x, y in pts]
        s.append(f'<text x="{W - R - 6}" y="{T + 16 + 15 * k}" text-anchor="end" fill="{color}">{label}</text>')
    s.append("</svg>\n")
    with open(a.out, "w") as f:
        f.write("\n".join(s))


if __name__ == "__main__":
    main()
