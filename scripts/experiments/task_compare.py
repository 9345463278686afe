#!/usr/bin/env python3
"""Fine-tunes several starting points on the token-classification and QA tasks of issue 16
with one recipe, evaluates each with the official metrics, and writes a table.

    python3 scripts/experiments/task_compare.py \
        --start rtd=models/electra-tiny-discriminator --start random=/work/runs/random-mini \
        --runs /work/runs/tasks --out docs/pretraining/tasks

Data: CoNLL-2003 NER (train -> dev.txt), CoNLL-2000 chunking (train minus its last 1,000
sentences -> those 1,000), and SQuAD 1.1 train-subset.json split by article with
split_squad.py (--squad-split: a folder with train.json and dev.json). Recipe, the same for
every start: `electra finetune` defaults (ELECTRA's AdamWeightDecay, layer-wise decay 0.8,
warmup 10%, batch 32), --epochs, --learning-rate; QA at --max-length 256, stride 128.
A run whose model folder exists is not run again, so the script resumes.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data")


def split_conll2000(src, train_out, dev_out, held_out=1000):
    """The last `held_out` sentences of src (blank-line separated) become dev."""
    with open(src, encoding="utf-8") as f:
        blocks = [b for b in f.read().split("\n\n") if b.strip()]
    for path, part in ((train_out, blocks[:-held_out]), (dev_out, blocks[-held_out:])):
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("\n\n".join(b.strip("\n") for b in part) + "\n")
        os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "..", ".build", "release", "electra"))
    ap.add_argument("--start", action="append", required=True, help="NAME=MODEL_DIR, repeatable")
    ap.add_argument("--tasks", nargs="+", default=["conll2003", "conll2000", "squad"])
    ap.add_argument("--squad-split", default="/work/runs/squad-split")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--learning-rate", default="3e-4")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True, help="writes OUT.json and OUT.md")
    args = ap.parse_args()
    os.makedirs(args.runs, exist_ok=True)
    c2k_train, c2k_dev = os.path.join(args.runs, "conll2000-train.txt"), os.path.join(args.runs, "conll2000-dev.txt")
    if not os.path.exists(c2k_dev):
        split_conll2000(os.path.join(DATA, "conll2000", "train.txt"), c2k_train, c2k_dev)
    tasks = {
        "conll2003": ("token-classification", os.path.join(DATA, "conll2003", "train.txt"), os.path.join(DATA, "conll2003", "dev.txt"), []),
        "conll2000": ("token-classification", c2k_train, c2k_dev, []),
        "squad": ("question-answering", os.path.join(args.squad_split, "train.json"), os.path.join(args.squad_split, "dev.json"),
                  ["--max-length", "256", "--doc-stride", "128"]),
    }
    threads = ["--threads", str(args.threads)] if args.threads else []
    results = {}
    for task in args.tasks:
        kind, train, dev, extra = tasks[task]
        for name, model in (s.split("=", 1) for s in args.start):
            run = os.path.join(args.runs, f"{task}-{name}")
            if not os.path.exists(os.path.join(run, "config.json")):
                cmd = [args.electra, "finetune", "--task", kind, "--model", model, "--train", train, "--output", run,
                       "--epochs", str(args.epochs), "--learning-rate", args.learning_rate, "--overwrite-output"] + extra + threads
                print("$", " ".join(cmd), flush=True)
                t0 = time.time()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                print(f"  {time.time() - t0:.0f} s", flush=True)
            with open(os.path.join(run, "metrics.jsonl")) as f:
                train_recs = [r for r in map(json.loads, f) if r.get("kind") == "train"]
            seconds = train_recs[-1]["time"] - train_recs[0]["time"] if len(train_recs) > 1 else 0
            tps = sorted(r.get("tokens_per_second", 0) for r in train_recs)[len(train_recs) // 2]
            cmd = [args.electra, "evaluate", "--task", kind, "--model", run, "--data", dev, "--json"] + threads
            m = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            if kind == "token-classification":
                entry = {"f1": 100 * m["overall_f1"], "precision": 100 * m["overall_precision"],
                         "recall": 100 * m["overall_recall"], "accuracy": 100 * m["overall_accuracy"]}
            else:
                entry = {"exact_match": m["exact_match"], "f1": m["f1"]}
            entry.update(seconds_per_epoch=seconds / args.epochs, tokens_per_second=tps)
            results.setdefault(task, {})[name] = entry
            print(task, name, json.dumps(entry), flush=True)
    with open(args.out + ".json", "w") as f:
        json.dump(results, f, indent=1)
    lines = ["| task | start | dev result | time per epoch | tokens/s (median) |", "|---|---|---|---|---|"]
    for task, by_start in results.items():
        for name, e in by_start.items():
            res = (f"EM {e['exact_match']:.2f}, F1 {e['f1']:.2f}" if "exact_match" in e else
                   f"F1 {e['f1']:.1f} (P {e['precision']:.1f}, R {e['recall']:.1f}), token accuracy {e['accuracy']:.1f}")
            lines.append(f"| {task} | {name} | {res} | {e['seconds_per_epoch']:.0f} s | {e['tokens_per_second']:.0f} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
