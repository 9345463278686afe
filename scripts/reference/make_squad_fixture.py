#!/usr/bin/env python3
"""Reference numbers for the SQuAD metrics (SquadMetrics.swift), from the normalisation, exact
match and F1 that transformers ships as the official SQuAD evaluation
(transformers.data.metrics.squad_metrics: normalize_answer, compute_exact, compute_f1 and, for
v2.0, squad_evaluate, which is the official v2.0 script's logic). The v1.1 totals follow the
official v1.1 script: every question counts, a missing prediction scores 0, gold answers are
used as written, and F1 is 0 without a shared token (even when both sides normalise to
nothing, where v2.0 scores 1). Cases: articles, punctuation (ASCII and not), case, tabs, newlines and
no-break spaces, accents and CJK, repeated tokens, several gold answers, golds that normalise
to nothing, unanswerable questions answered and left empty.
Run by hand in the reference venv (requirements.txt):

    ../venv/bin/python scripts/reference/make_squad_fixture.py

Writes Tests/ElectraTrainingTests/Fixtures/squad_metrics.json.
"""
import json
import os
from collections import Counter

from transformers.data.metrics.squad_metrics import compute_exact, compute_f1, normalize_answer, squad_evaluate
from transformers.data.processors.squad import SquadExample

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTrainingTests", "Fixtures", "squad_metrics.json")

STRINGS = [
    "The  Eiffel-Tower!", "  a cat, an ANT and the dog.", "Théâtre de l'Odéon", "a—b theatre", "the",
    "tab\there\nand\u00a0no-break", "東京タワー 東京", "Anthem of the Andes", "«quoted» “curly” text",
    "3.14 and 2,000", "ÉCOLE normale", "An apple a day", "", "   ", "the a an", "theatre the",
]

# (id, gold answers, prediction or None for missing)
V1 = [
    ("q1", ["Denver Broncos", "Broncos", "the Denver Broncos"], "broncos"),
    ("q2", ["1990"], "in 1990"),
    ("q3", ["Santa Clara, California"], "Santa Clara"),
    ("q4", ["New York New"], "new york new york"),
    ("q5", ["Théâtre de l'Odéon"], "théâtre de lodéon"),
    ("q6", ["東京タワー"], "東京タワー 東京"),
    ("q7", ["the"], "a"),
    ("q8", ["tab\there"], "tab here"),
    ("q9", ["«quoted»"], "quoted"),
    ("q10", ["3.14"], "314"),
    ("q11", ["Saint Bernadette Soubirous"], None),
    ("q12", ["a Marian place of prayer and reflection", "a Marian place of prayer"], "Marian place of prayer and reflection ."),
]

V2 = [
    ("h1", ["Denver Broncos", "Broncos"], "broncos"),
    ("h2", ["1990"], ""),
    ("h3", ["Santa Clara, California"], "Santa Clara"),
    ("h4", ["the", "The Normans"], "Normans"),
    ("h5", ["東京タワー"], "東京"),
    ("n1", [], ""),
    ("n2", [], "something"),
    ("n3", [], "the"),
]


def f1_v11(gold, pred):
    # The official v1.1 F1: no shared token (empty sides included) scores 0; transformers'
    # compute_f1 is v2.0's, where two empty sides score 1.
    g, p = normalize_answer(gold).split(), normalize_answer(pred).split()
    same = sum((Counter(g) & Counter(p)).values())
    if same == 0:
        return 0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def scored(gold, pred, v2):
    if not v2:
        return max(compute_exact(g, pred) for g in gold), max(f1_v11(g, pred) for g in gold)
    golds = [g for g in gold if normalize_answer(g)] or [""]
    return max(compute_exact(g, pred) for g in golds), max(compute_f1(g, pred) for g in golds)


def main():
    normalize = [{"text": s, "normalized": normalize_answer(s)} for s in STRINGS]
    pairs = []
    for gold, preds in [("Denver Broncos", ["Broncos won", "the denver broncos.", "", "Denver"]),
                        ("", ["", "x", "the"]), ("東京タワー 東京", ["東京", "東京タワー"]),
                        ("New York New", ["new york new york"])]:
        for p in preds:
            pairs.append({"gold": gold, "predicted": p, "exact": compute_exact(gold, p), "f1": compute_f1(gold, p)})

    v1_scores = [scored(g, p, False) if p is not None else (0, 0) for _, g, p in V1]
    v1 = {
        "questions": [{"id": i, "answers": g} for i, g, _ in V1],
        "predictions": {i: p for i, _, p in V1 if p is not None},
        "per_question": {i: {"exact": s[0], "f1": s[1]} for (i, _, p), s in zip(V1, v1_scores) if p is not None},
        "exact_match": 100.0 * sum(s[0] for s in v1_scores) / len(V1),
        "f1": 100.0 * sum(s[1] for s in v1_scores) / len(V1),
    }

    examples = [SquadExample(qas_id=i, question_text="q", context_text="c", answer_text=None, start_position_character=None,
                             title="t", answers=[{"text": a} for a in g], is_impossible=not g) for i, g, _ in V2]
    preds = {i: p for i, _, p in V2}
    ev = squad_evaluate(examples, preds)
    v2 = {
        "questions": [{"id": i, "answers": g} for i, g, _ in V2],
        "predictions": preds,
        "per_question": {i: {"exact": s[0], "f1": s[1]} for i, s in ((i, scored(g, p, True)) for i, g, p in V2)},
        "metrics": {k: float(ev[k]) for k in ["exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total",
                                              "NoAns_exact", "NoAns_f1", "NoAns_total"]},
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"normalize": normalize, "pairs": pairs, "v1": v1, "v2": v2}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
