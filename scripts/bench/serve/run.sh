#!/usr/bin/env bash
# The serving benchmark (issue 26): electra serve and infinity-emb on the same models, threads
# and machine, wrk on loopback at concurrency 1, 8, 32 and 128; requests/s, p50/p99 latency,
# errors. Usage (after `swift build -c release`):
#   scripts/bench/serve/run.sh EMBED_MODEL_DIR RERANK_MODEL_DIR [SECONDS] [THREADS]
# infinity-emb runs from /work/venv-infinity (docs/serve.md says how it was installed).
set -euo pipefail
cd "$(dirname "$0")/../../.."
EMBED=$1 RERANK=$2 SECONDS_EACH=${3:-20} THREADS=${4:-2}
OUT=${OUT:-/tmp/serve-bench}
INFINITY=${INFINITY:-/work/venv-infinity/bin/infinity_emb}
python3 scripts/bench/serve/make_bodies.py --text "${TEXT:-/work/data/wiki-heldout.txt}" --out "$OUT" --model bench
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) cores; flags: $(grep -o -w 'avx2\|avx512f\|avx512_vnni\|avx512_bf16\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "# server threads $THREADS; wrk on the same machine; ${SECONDS_EACH}s per point"
echo "server workload concurrency requests rps p50_ms p99_ms errors"

wait_for() { for _ in $(seq 1 120); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 1; done; echo "no answer from $1" >&2; return 1; }

bench() {  # name workload path bodies
  for c in 1 8 32 128; do
    local t=$(( c < 2 ? 1 : 2 ))
    BENCH_PATH=$3 BENCH_BODIES=$4 wrk -t$t -c$c -d${SECONDS_EACH}s --timeout 30s -s scripts/bench/serve/post.lua http://127.0.0.1:$PORT \
      | awk -v n="$1" -v w="$2" -v c="$c" '/^RESULT/ {print n, w, c, $2, $3, $4, $5, $6}'
  done
}

for workload in embed rerank; do
  MODEL=$([ $workload = embed ] && echo "$EMBED" || echo "$RERANK")
  PORT=8181
  # 128 clients x 8 passages are 1,024 inputs in flight: above TEI's default 512 they would get 429s,
  # where infinity queues them; the benchmark lets them queue on both sides.
  .build/release/electra serve --model "$MODEL" --port $PORT --threads "$THREADS" --max-concurrent-requests 4096 ${ELECTRA_ARGS:-} >/tmp/electra-serve.log 2>&1 &
  PID=$!
  wait_for http://127.0.0.1:$PORT/health
  bench electra $workload /$workload "$OUT/$workload-tei.jsonl"
  kill -TERM $PID; wait $PID || true

  PORT=8182
  HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
    "$INFINITY" v2 --model-id "$MODEL" --served-model-name bench --engine torch --device cpu --no-compile --no-bettertransformer --host 127.0.0.1 --port $PORT ${INFINITY_ARGS:-} >/tmp/infinity.log 2>&1 &
  PID=$!
  wait_for http://127.0.0.1:$PORT/health
  bench infinity $workload "$([ $workload = embed ] && echo /embeddings || echo /rerank)" "$OUT/$workload-infinity.jsonl"
  kill -TERM $PID; wait $PID || true
done
# infinity-emb 0.0.78 was installed in its own venv (it pins numpy < 2), borrowing torch and
# transformers from the reference venv through a .pth file:
#   python3 -m venv /work/venv-infinity && /work/venv-infinity/bin/pip install "numpy<2"
#   echo /work/venv/lib/python3.11/site-packages > /work/venv-infinity/lib/python3.11/site-packages/zz_work_venv_torch.pth
#   /work/venv-infinity/bin/pip install "infinity-emb[server,torch]==0.0.78"
# It sets no torch thread count itself: OMP_NUM_THREADS gives it THREADS, as --threads gives electra.
