#!/usr/bin/env bash
# Build the release CLI and run the tokenizer benchmark (see tokenizer_bench.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product electra
PY="${PYTHON:-../venv/bin/python}"
exec "$PY" scripts/bench/tokenizer_bench.py --electra .build/release/electra "$@"
