#!/usr/bin/env python3
"""Splits a SQuAD JSON file by article (no paragraph of a dev article is seen in training):
the last --dev-articles articles become dev, the rest train.

    python3 scripts/experiments/split_squad.py ../shared/data/squad/train-subset.json \
        --dev-articles 3 --out /work/runs/squad-split
writes OUT/train.json and OUT/dev.json and prints the counts.
"""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("--dev-articles", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.input, encoding="utf-8") as f:
        d = json.load(f)
    articles = d["data"]
    assert 0 < args.dev_articles < len(articles), "need at least one article on each side"
    os.makedirs(args.out, exist_ok=True)
    for name, part in [("train", articles[:-args.dev_articles]), ("dev", articles[-args.dev_articles:])]:
        with open(os.path.join(args.out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"version": d.get("version", "1.1"), "data": part}, f, ensure_ascii=False)
        qs = sum(len(p["qas"]) for a in part for p in a["paragraphs"])
        print(f"{name}: {len(part)} articles, {qs} questions ({', '.join(a['title'] for a in part[:3])}{', ...' if len(part) > 3 else ''})")


if __name__ == "__main__":
    main()
