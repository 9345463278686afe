#!/usr/bin/env python3
"""Tokenizer throughput: ElectraTokenizers (Swift) vs HF tokenizers, same text, same run.

Measures MB/s of UTF-8 input on Wikipedia paragraphs (../shared/data/corpus):
  - HF tokenizers Tokenizer.encode_batch, all threads and RAYON_NUM_THREADS=1
  - Swift library API (ElectraTokenizer.encodeBatch, via the hidden `electra tokenize --benchmark`)
    with all threads and --threads 1
  - Swift CLI end to end (`electra tokenize < text > file`: process start, tokenizer.json
    load, reading, encoding and writing JSON lines), all threads and --threads 1
  - the same with `--ids` (ids only, space-separated)
Truncation and padding are off everywhere (the shipped tokenizer.json enables both at 128).
The median of --repeats runs for each (issue 28; --best for the best run). Prints a table and
writes JSON with --json.

Usage: python scripts/bench/tokenizer_bench.py --electra .build/release/electra [--lines 20000]
"""
import argparse
import json
import lzma
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hf_run(tokenizer_json, path, repeats):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_json)
    tok.no_truncation()
    tok.no_padding()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    nbytes = sum(len(l.encode("utf-8")) for l in lines)
    times = []
    ntok = 0
    for _ in range(repeats):
        t = time.perf_counter()
        enc = tok.encode_batch(lines)
        times.append(time.perf_counter() - t)
        ntok = sum(len(e.ids) for e in enc)
    sec = pick(times)
    return {"bytes": nbytes, "seconds": sec, "mb_per_s": nbytes / 1e6 / sec, "tokens": ntok, "all_seconds": times}


BEST = "--best" in __import__("sys").argv


def pick(times):
    """The median (or with --best the minimum) of the runs' seconds."""
    s = sorted(times)
    return s[0] if BEST else s[len(s) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--electra", default=os.path.join(ROOT, ".build/release/electra"))
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "../shared/data/vocab/bert-base-uncased"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/data/corpus/wikipedia-en-aa.txt.xz"))
    ap.add_argument("--lines", type=int, default=20000, help="Wikipedia paragraphs (non-empty lines)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--best", action="store_true", help="report the best run instead of the median")
    ap.add_argument("--no-ids", action="store_true", help="skip the --ids row (binaries without it)")
    ap.add_argument("--hf-only", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hf_only:
        print(json.dumps(hf_run(args.tokenizer + "/tokenizer.json", args.hf_only[0], int(args.hf_only[1]))))
        return

    tmp = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    with lzma.open(args.corpus, "rt", encoding="utf-8") as f:
        n = 0
        out = []
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                out.append(line)
                n += 1
                if n >= args.lines:
                    break
    tmp.write("\n".join(out))
    tmp.close()
    path = tmp.name
    size = os.path.getsize(path)
    print(f"corpus: {len(out)} Wikipedia paragraphs, {size / 1e6:.1f} MB ({path})", file=sys.stderr)

    results = {}

    def hf(threads):
        env = dict(os.environ)
        if threads == 1:
            env["RAYON_NUM_THREADS"] = "1"
        r = subprocess.run([sys.executable, __file__, "--tokenizer", args.tokenizer, "--hf-only", path, str(args.repeats)]
                           + (["--best"] if args.best else []),
                           capture_output=True, text=True, env=env, check=True)
        return json.loads(r.stdout)

    def lib(threads):
        cmd = [args.electra, "tokenize", "--tokenizer", args.tokenizer, "--no-truncation", "--no-padding",
               "--benchmark", path, "--repeats", str(args.repeats)]
        if threads:
            cmd += ["--threads", str(threads)]
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(r.stdout)

    def cli(threads, extra=()):
        cmd = [args.electra, "tokenize", "--tokenizer", args.tokenizer, "--no-truncation", "--no-padding", *extra]
        if threads:
            cmd += ["--threads", str(threads)]
        times = []
        outbytes = 0
        for _ in range(args.repeats):
            with open(path, "rb") as fin, tempfile.TemporaryFile() as fout:
                t = time.perf_counter()
                subprocess.run(cmd, stdin=fin, stdout=fout, check=True)
                times.append(time.perf_counter() - t)
                fout.seek(0, 2)
                outbytes = fout.tell()
        sec = pick(times)
        return {"bytes": size, "seconds": sec, "mb_per_s": size / 1e6 / sec, "output_bytes": outbytes, "all_seconds": times}

    nproc = os.cpu_count()
    for threads in (1, None):
        label = "1 thread" if threads == 1 else f"all threads ({nproc})"
        results[f"hf_encode_batch/{label}"] = hf(threads)
        results[f"swift_library/{label}"] = lib(threads)
        results[f"swift_cli_end_to_end/{label}"] = cli(threads)
        if not args.no_ids:
            results[f"swift_cli_ids/{label}"] = cli(threads, ["--ids"])

    print(f"{'measurement':45s} {'MB/s':>8s} {'x HF':>7s}")
    for threads in ("1 thread", f"all threads ({nproc})"):
        base = results[f"hf_encode_batch/{threads}"]["mb_per_s"]
        for kind in [k for k in ("hf_encode_batch", "swift_library", "swift_cli_end_to_end", "swift_cli_ids") if f"{k}/{threads}" in results]:
            r = results[f"{kind}/{threads}"]
            print(f"{kind + ' / ' + threads:45s} {r['mb_per_s']:8.2f} {r['mb_per_s'] / base:7.1f}")
    import tokenizers
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(), "cpus": nproc,
            "cpu": platform.processor(), "tokenizers": tokenizers.__version__, "lines": len(out), "bytes": size}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1)
    print(json.dumps(meta))
    os.unlink(path)


if __name__ == "__main__":
    main()
