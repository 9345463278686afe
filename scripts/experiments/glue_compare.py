#!/usr/bin/env python3
"""Fine-tunes several starting points on GLUE tasks with one recipe and a learning-rate grid,
picks each starting point's learning rate on the dev split, and writes the table of issue 15's
comparison (RTD vs masked-LM pretraining vs random initialisation).

    python3 scripts/experiments/glue_compare.py \
        --start rtd=models/electra-tiny-discriminator --start mlm=/work/runs/mlm-mini/model \
        --start random=/work/runs/random-mini --tasks SST-2 CoLA --runs /work/runs/glue \
        --out docs/pretraining/comparison

Recipe (the same for every starting point): `electra finetune` defaults (ELECTRA's
AdamWeightDecay, layer-wise decay 0.8, warmup 10%, weight decay 0.01, batch 32, max length
128, dropout 0.1), --epochs, seed 42, learning rates from --lrs. Train on train.tsv, validate
on dev.tsv after each epoch; the reported number is the dev metric after the last epoch
(accuracy for SST-2, Matthews correlation for CoLA) at the learning rate whose final dev
metric is best. Needs only the electra binary (no PyTorch). A finished run (its
metrics.jsonl holds the last epoch's validation) is not run again, so the script resumes.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
METRIC = {"SST-2": "accuracy", "CoLA": "matthews", "MRPC": "f1", "RTE": "accuracy"}


def evals(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in map(json.loads, f) if r.get("kind") == "eval"]


def first_time(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return json.loads(f.readline()).get("time", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(HERE, "..", "..", ".build", "release", "electra"))
    ap.add_argument("--start", action="append", required=True, help="NAME=MODEL_DIR, repeatable")
    ap.add_argument("--tasks", nargs="+", default=["SST-2", "CoLA"])
    ap.add_argument("--glue", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "glue"))
    ap.add_argument("--lrs", nargs="+", default=["1e-4", "3e-4", "1e-3"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--task-lrs", action="append", default=[], help="TASK=LR,LR: learning rates for one task (else --lrs)")
    ap.add_argument("--task-epochs", action="append", default=[], help="TASK=N: epochs for one task (else --epochs)")
    ap.add_argument("--extra-dev", action="append", default=[],
                    help="TASK=NAME=TSV: also evaluate each final model on TSV (e.g. a dev subset that shares no text with train)")
    ap.add_argument("--tokenizer", help="tokenizer folder for starting points without one")
    ap.add_argument("--runs", required=True, help="folder for the fine-tuning runs")
    ap.add_argument("--out", required=True, help="writes OUT.json and OUT.md")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--finetune-args", default="",
                    help="more finetune options for every run, e.g. '--reinit-layers 1' (a recipe variant)")
    ap.add_argument("--tag", default="", help="suffix of the run folders' names (keeps a recipe variant's runs apart)")
    args = ap.parse_args()
    starts = [s.split("=", 1) for s in args.start]
    task_lrs = dict((t, v.split(",")) for t, v in (e.split("=", 1) for e in args.task_lrs))
    task_epochs = dict((t, int(n)) for t, n in (e.split("=", 1) for e in args.task_epochs))
    extra = {}
    for e in args.extra_dev:
        t, name, path = e.split("=", 2)
        extra.setdefault(t, []).append((name, path))
    results = {}
    for task in args.tasks:
        data = os.path.join(args.glue, task)
        epochs = task_epochs.get(task, args.epochs)
        for name, model in starts:
            for lr in task_lrs.get(task, args.lrs):
                run = os.path.join(args.runs, f"{task}-{name}-lr{lr}{args.tag}")
                done = [e for e in evals(run) if e.get("epoch", 0) >= epochs - 1e-9]
                if not done:
                    cmd = [args.electra, "finetune", "--model", model, "--train", os.path.join(data, "train.tsv"),
                           "--validation", os.path.join(data, "dev.tsv"), "--output", run, "--learning-rate", lr,
                           "--epochs", str(epochs), "--overwrite-output"]
                    if args.tokenizer:
                        cmd += ["--tokenizer", args.tokenizer]
                    if args.threads:
                        cmd += ["--threads", str(args.threads)]
                    cmd += args.finetune_args.split()
                    print("$", " ".join(cmd), flush=True)
                    t0 = time.time()
                    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                    print(f"  {time.time() - t0:.0f} s", flush=True)
                final = evals(run)[-1]
                entry = {"metric": METRIC[task], "value": final[METRIC[task]],
                         "per_epoch": [e[METRIC[task]] for e in evals(run)],
                         "seconds": final.get("time", 0) - first_time(run)}
                for dev_name, path in extra.get(task, []):
                    cmd = [args.electra, "evaluate", "--model", run, "--data", path]
                    if args.threads:
                        cmd += ["--threads", str(args.threads)]
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                    entry[dev_name] = json.loads(out)[METRIC[task]]
                results.setdefault(task, {}).setdefault(name, {})[lr] = entry
                more = "".join(f", {n} {entry[n]:.4f}" for n, _ in extra.get(task, []))
                print(f"{task} {name} lr {lr}: {METRIC[task]} {final[METRIC[task]]:.4f}{more}", flush=True)
    with open(args.out + ".json", "w") as f:
        json.dump(results, f, indent=1)
    # The learning rate is chosen on dev.tsv; extra dev sets are read at that same rate.
    heads = []
    for t in args.tasks:
        heads.append(f"{t} dev {METRIC[t]} (best lr)")
        heads += [f"{t} {n} {METRIC[t]}" for n, _ in extra.get(t, [])]
    lines = ["| start | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for name, _ in starts:
        cells = []
        for t in args.tasks:
            by_lr = results[t][name]
            lr = max(by_lr, key=lambda k: by_lr[k]["value"])
            cells.append(f"{by_lr[lr]['value']:.4f} ({lr})")
            cells += [f"{by_lr[lr][n]:.4f}" for n, _ in extra.get(t, [])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Every learning rate (final dev metric, per-epoch dev metric):", ""]
    for t in args.tasks:
        for name, _ in starts:
            lines.append(f"- {t} {name}: " + "; ".join(
                f"lr {lr} {v['value']:.4f} ({', '.join(f'{x:.3f}' for x in v['per_epoch'])})"
                + "".join(f", {n} {v[n]:.4f}" for n, _ in extra.get(t, []))
                for lr, v in results[t][name].items()))
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
