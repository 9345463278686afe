#!/usr/bin/env python3
"""Writes the part of a GLUE SST-2 dev.tsv whose texts appear in no train.tsv text.

The dev.tsv in ../shared/data/glue/SST-2 is a re-split of GLUE's train set, which holds every
phrase of every sentence: most dev texts are phrases of train sentences (5,969 of 6,735), so
dev accuracy there partly measures memorisation. The texts left (766, whole sentences of 19
words on average, close to GLUE's own dev set of 872) measure generalisation.

    python3 scripts/experiments/sst2_clean_dev.py ../shared/data/glue/SST-2 OUT.tsv
"""
import os
import sys


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f][1:]


def main():
    folder, out = sys.argv[1], sys.argv[2]
    train = rows(os.path.join(folder, "train.tsv"))
    dev = rows(os.path.join(folder, "dev.tsv"))
    # Word-bounded containment: " text " inside " train text ", lowercased.
    haystack = "\n".join(f" {r[0].strip().lower()} " for r in train)
    clean = [r for r in dev if f" {r[0].strip().lower()} " not in haystack]
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n")
        f.writelines(f"{r[0]}\t{r[1]}\n" for r in clean)
    os.replace(tmp, out)
    print(f"{len(clean)} of {len(dev)} dev texts appear in no train text -> {out}")


if __name__ == "__main__":
    sys.exit(main())
