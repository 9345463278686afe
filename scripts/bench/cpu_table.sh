#!/usr/bin/env bash
# Every comparison in BENCHMARKS.md's per-CPU table (issue 28), in one run on this machine,
# both sides of each in the same run. Raw outputs go to docs/bench-raw/<what>-<date>-<tag>.*;
# cpu_table_summary.py turns them into the table's column (summary-<date>-<tag>.md), each
# comparison with issue 28's target and whether it holds. On an AVX-512 machine the forward
# and the margins run again with both sides capped at AVX2 (ELECTRA_MAX_ISA=avx2 and the
# libraries' own caps); on an AMX machine the bf16 forward runs again on oneDNN's AVX512-BF16
# kernels (the path without AMX).
#
#   swift build -c release
#   scripts/bench/cpu_table.sh [TAG]     # TAG names the CPU in the files; default from flags
#
# Needs a venv with torch + transformers + tokenizers (PYTHON, default ../venv/bin/python).
# ROUNDS (default 5) sets the interleaved rounds; about 45 minutes on 2 cores at 5 rounds,
# about twice that on AVX-512 machines.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-../venv/bin/python}
E=.build/release/electra
ROUNDS=${ROUNDS:-5}
[ -x "$E" ] || { echo "error: $E not found: run swift build -c release first" >&2; exit 1; }
[ -x "$PY" ] || { echo "error: $PY not found: set PYTHON to a python with torch, transformers and tokenizers" >&2; exit 1; }
"$PY" -c 'import torch, transformers, tokenizers' || { echo "error: $PY cannot import torch, transformers and tokenizers" >&2; exit 1; }

flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { grep -qw "$1" <<<"$flags"; }
default_tag() {
  if has amx_tile; then echo avx512-amx
  elif has avx512_bf16; then echo avx512-bf16
  elif has avx512f; then echo avx512
  else echo avx2
  fi
}
TAG=${1:-$(default_tag)}
case "$TAG" in *[!A-Za-z0-9._-]*|"") echo "error: TAG '$TAG' may only hold letters, digits, '.', '_' and '-'" >&2; exit 1;; esac
OUT=docs/bench-raw
STAMP=$(date +%F)-$TAG
mkdir -p "$OUT"

# run NAME COMMAND...: prints and keeps the command's output in $OUT/NAME-$STAMP.txt
run() {
  local name=$1; shift
  echo "== $name: $*"
  { echo "# $*"; "$@" 2>&1; } | tee "$OUT/$name-$STAMP.txt"
}

run info "$E" info
run forward-fp32 "$PY" scripts/bench/compare_forward.py --threads 2 --rounds "$ROUNDS"
run forward-bf16 "$PY" scripts/bench/compare_forward.py --threads 2 --rounds "$ROUNDS" --dtype bf16 \
  --shapes small:32x128 base:8x128
run margins "$PY" scripts/bench/margins.py --rounds "$ROUNDS" --threads 2 --json "$OUT/margins-$STAMP.json"
run tokenizer "$PY" scripts/bench/tokenizer_bench.py --electra "$E" --lines 20000 --repeats 5 \
  --json "$OUT/tokenizer-$STAMP.json"
if has avx512_bf16; then
  run bf16-instruction-cost scripts/bench/bf16_instruction_cost.sh "${MCA:-llvm-mca-19}" || true
fi
if has amx_tile; then
  # oneDNN's kernels without AMX: what a bf16 request would cost on Cooper Lake or an AMX-less VM.
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 ELECTRA_BF16=onednn run forward-bf16-noamx \
    "$PY" scripts/bench/compare_forward.py --threads 2 --rounds "$ROUNDS" --dtype bf16 --shapes small:32x128 base:8x128
fi
if has avx512f; then
  # Both sides capped at AVX2, as on an AVX2-only CPU: our kernels, OpenBLAS's and oneDNN's;
  # PyTorch's ATen kernels, MKL and its oneDNN. int8 then runs our AVX-VNNI kernel where the
  # CPU has avx_vnni (Sapphire/Emerald Rapids do), else the AVX2 one: `info` names which.
  export ELECTRA_MAX_ISA=avx2 OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 \
    ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2
  run info-maxisa-avx2 "$E" info
  run forward-fp32-maxisa-avx2 "$PY" scripts/bench/compare_forward.py --threads 2 --rounds "$ROUNDS"
  run margins-maxisa-avx2 "$PY" scripts/bench/margins.py --rounds "$ROUNDS" --threads 2 \
    --json "$OUT/margins-maxisa-avx2-$STAMP.json"
fi
"$PY" scripts/bench/cpu_table_summary.py "$STAMP" | tee "$OUT/summary-$STAMP.md"
echo "raw outputs: $OUT/*-$STAMP.*; the table above: $OUT/summary-$STAMP.md"
