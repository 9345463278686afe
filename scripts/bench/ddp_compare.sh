#!/usr/bin/env bash
# Data-parallel steps (issue 27), both sides in one run, alternating: `mpirun -np RANKS electra
# bench --train|--pretrain` against PyTorch DistributedDataParallel over gloo
# (scripts/bench/pytorch_ddp.py), RANKS processes x THREADS threads on this machine,
# ELECTRA-small, per-rank batch 32 x 128. Prints each side's JSON lines. Usage (after
# `swift build -c release`):  scripts/bench/ddp_compare.sh [RANKS] [THREADS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RANKS=${1:-2} THREADS=${2:-1} ROUNDS=${3:-2}
PY=${PY:-/work/venv/bin/python}
MPI=(mpirun -np "$RANKS" --bind-to none --oversubscribe ${MPIRUN_ARGS:-})
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) cores; flags: $(grep -o -w 'avx2\|avx512f\|avx512_vnni\|avx512_bf16\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "# $RANKS ranks x $THREADS threads, ELECTRA-small, per-rank batch 32x128; $(mpirun --version | head -1)"
for round in $(seq 1 "$ROUNDS"); do
    for mode in train pretrain; do
        if [ $mode = train ]; then args=(--train --shapes small:32x128); else args=(--pretrain --preset small --batch-size 32); fi
        "${MPI[@]}" .build/release/electra bench "${args[@]}" --threads "$THREADS" --iterations 5 --json | sed "s/^/electra round $round: /"
        "${MPI[@]}" .build/release/electra bench "${args[@]}" --threads "$THREADS" --iterations 5 --json --no-overlap | sed "s/^/electra-no-overlap round $round: /"
        (cd scripts/bench && "$PY" pytorch_ddp.py --mode $mode --preset small --batch-size 32 --ranks "$RANKS" --threads "$THREADS" --iterations 5) | sed "s/^/pytorch-ddp round $round: /"
    done
done
