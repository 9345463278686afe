#!/usr/bin/env python3
"""Reference numbers for the entity metrics (EntityMetrics.swift): seqeval 1.2.2 (default,
conlleval-compatible mode) on hand-made gold/predicted tag sequences in IOB1, IOB2 and IOBES,
with the edge cases that trip ports: I after O, type switches inside a chunk, an entity of
one token at the end of a sentence, no predicted entity at all, a type only predicted.
Run by hand in the reference venv (pip install seqeval==1.2.2):

    ../venv/bin/python scripts/reference/make_seqeval_fixture.py

Writes Tests/ElectraTrainingTests/Fixtures/seqeval.json.
"""
import json
import os
import random

from seqeval.metrics import accuracy_score, classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTrainingTests", "Fixtures", "seqeval.json")


def case(name, gold, pred):
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    per_type = {k: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]), "number": int(v["support"])}
                for k, v in report.items() if k not in ("micro avg", "macro avg", "weighted avg")}
    return {
        "name": name, "gold": gold, "pred": pred,
        "chunks_gold": [[list(map(str, e)) for e in get_entities(s)] for s in gold],
        "overall_precision": float(precision_score(gold, pred, zero_division=0)),
        "overall_recall": float(recall_score(gold, pred, zero_division=0)),
        "overall_f1": float(f1_score(gold, pred, zero_division=0)),
        "overall_accuracy": float(accuracy_score(gold, pred)),
        "per_type": per_type,
    }


def main():
    cases = [
        case("iob2 exact", [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]]),
        case("iob2 boundary errors", [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]], [["B-PER", "O", "O", "B-LOC", "I-LOC"]]),
        case("iob1 reads I after O as a start", [["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]], [["I-PER", "I-PER", "O", "I-LOC", "I-LOC"]]),
        case("type switch inside a chunk", [["B-ORG", "I-ORG", "I-ORG"]], [["B-ORG", "I-PER", "I-ORG"]]),
        case("one-token entity at the end", [["O", "O", "B-MISC"], ["B-PER"]], [["O", "O", "B-MISC"], ["O"]]),
        case("no predicted entity", [["B-PER", "O"], ["O", "B-LOC"]], [["O", "O"], ["O", "O"]]),
        case("type only predicted", [["O", "O", "O"]], [["B-ORG", "I-ORG", "O"]]),
        case("iobes", [["S-PER", "B-LOC", "E-LOC", "O", "B-ORG", "I-ORG", "E-ORG"]],
             [["S-PER", "B-LOC", "I-LOC", "O", "B-ORG", "I-ORG", "E-ORG"]]),
        case("chunking tags", [["B-NP", "I-NP", "B-VP", "B-PP", "B-NP", "I-NP", "O"]],
             [["B-NP", "B-NP", "B-VP", "B-PP", "B-NP", "I-NP", "O"]]),
    ]
    rng = random.Random(3)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "I-MISC", "B-MISC"]
    for k in range(6):
        gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(rng.randint(1, 6))]
        pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in s] for s in gold]
        cases.append(case(f"random {k}", gold, pred))
    with open(OUT, "w") as f:
        json.dump({"seqeval": "1.2.2", "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
