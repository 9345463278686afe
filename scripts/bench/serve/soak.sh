#!/usr/bin/env bash
# Soak and burst (issue 26): electra serve under wrk at concurrency 32 for SECONDS (default 600),
# its RSS sampled every 5 s (rss.csv, drawn as rss.svg), then a burst far over capacity
# (--max-concurrent-requests 64 against 512 connections: 429s expected), then one normal request.
#   scripts/bench/serve/soak.sh MODEL_DIR OUT_DIR [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
MODEL=$1 OUT=$2 SECONDS_TOTAL=${3:-600}
mkdir -p "$OUT"
python3 scripts/bench/serve/make_bodies.py --text "${TEXT:-/work/data/wiki-heldout.txt}" --out /tmp/serve-soak
PORT=8183
.build/release/electra serve --model "$MODEL" --port $PORT --threads 2 --max-concurrent-requests 64 >/tmp/electra-soak.log 2>&1 &
PID=$!
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:$PORT/health >/dev/null && break; sleep 1; done
echo "seconds,rss_mb" > "$OUT/rss.csv"
( start=$(date +%s); while kill -0 $PID 2>/dev/null; do
    echo "$(( $(date +%s) - start )),$(awk '/VmRSS/ {print $2 / 1024}' /proc/$PID/status)" >> "$OUT/rss.csv"; sleep 5; done ) &
SAMPLER=$!
BENCH_PATH=/embed BENCH_BODIES=/tmp/serve-soak/embed-tei.jsonl wrk -t2 -c32 -d${SECONDS_TOTAL}s --timeout 30s -s scripts/bench/serve/post.lua \
  http://127.0.0.1:$PORT | tee "$OUT/soak-wrk.txt"
# Burst: 512 connections against 64 allowed in flight.
BENCH_PATH=/embed BENCH_BODIES=/tmp/serve-soak/embed-tei.jsonl wrk -t2 -c512 -d15s --timeout 30s -s scripts/bench/serve/post.lua \
  http://127.0.0.1:$PORT | tee "$OUT/burst-wrk.txt"
curl -s -o /dev/null -w "after the burst: HTTP %{http_code} in %{time_total}s\n" -X POST http://127.0.0.1:$PORT/embed -d '{"inputs": "Berlin"}' | tee "$OUT/after-burst.txt"
# Service after the burst: the admitted requests drain, then requests are answered again.
burst_end=$(date +%s.%N)
for _ in $(seq 1 300); do
  code=$(curl -s -o /dev/null -w "%{http_code}" -X POST http://127.0.0.1:$PORT/embed -d '{"inputs": "Berlin"}')
  if [ "$code" = 200 ]; then
    echo "first 200 after the burst: $(python3 -c "import time; print(f'{time.time() - $burst_end:.2f}')") s later" | tee -a "$OUT/after-burst.txt"
    break
  fi
  sleep 0.1
done
curl -s -o /dev/null -w "then: HTTP %{http_code} in %{time_total}s\n" -X POST http://127.0.0.1:$PORT/embed -d '{"inputs": "Berlin"}' | tee -a "$OUT/after-burst.txt"
curl -s http://127.0.0.1:$PORT/metrics | grep -E '^te_request_count' > "$OUT/metrics-after.txt" || true
kill -TERM $PID; wait $PID; echo "exit status after SIGTERM: $?" | tee -a "$OUT/after-burst.txt"
kill $SAMPLER 2>/dev/null || true
python3 scripts/bench/serve/plot_rss.py "$OUT/rss.csv" "$OUT/rss.svg"
