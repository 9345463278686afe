#!/usr/bin/env python3
"""rss.csv (seconds,rss_mb) -> a small SVG line plot. Standard library only."""
import csv
import sys

rows = [(float(r["seconds"]), float(r["rss_mb"])) for r in csv.DictReader(open(sys.argv[1]))]
W, H, L, B = 640, 300, 60, 40
xs, ys = [r[0] for r in rows], [r[1] for r in rows]
x1, y1 = max(xs) or 1, max(ys) * 1.2 or 1
pts = " ".join(f"{L + (W - L - 20) * x / x1:.1f},{H - B - (H - B - 20) * y / y1:.1f}" for x, y in rows)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="15" text-anchor="middle">electra serve RSS under load (concurrency 32)</text>',
       f'<line x1="{L}" y1="{H - B}" x2="{W - 20}" y2="{H - B}" stroke="black"/>',
       f'<line x1="{L}" y1="20" x2="{L}" y2="{H - B}" stroke="black"/>',
       f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">seconds</text>',
       f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">RSS (MB)</text>']
for k in range(5):
    y = y1 * k / 4
    yy = H - B - (H - B - 20) * k / 4
    svg.append(f'<text x="{L - 5}" y="{yy + 4:.1f}" text-anchor="end">{y:.0f}</text>')
    x = x1 * k / 4
    svg.append(f'<text x="{L + (W - L - 20) * k / 4:.1f}" y="{H - B + 15}" text-anchor="middle">{x:.0f}</text>')
svg.append(f'<polyline fill="none" stroke="steelblue" stroke-width="2" points="{pts}"/>')
svg.append("</svg>")
open(sys.argv[2], "w").write("\n".join(svg))
