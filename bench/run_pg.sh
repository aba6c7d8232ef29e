#!/usr/bin/env bash
# Pointer-generator benchmark: earthmover (Flex, release profile, as `cargo run --release`
# trains) and the PyTorch reference, the same model, batch shape and step, back to back on
# this machine. Prints both JSON lines and the ratio of training throughputs.
#   bash bench/run_pg.sh [VOCAB EMB HIDDEN BATCH ENC DEC STEPS]
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
cd "$(dirname "$0")/.."
set -- "${1:-50000}" "${2:-128}" "${3:-256}" "${4:-16}" "${5:-400}" "${6:-100}" "${7:-3}"
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q torch; }
cargo build --release --example bench_pg -q
ours=$("$CARGO_TARGET_DIR/release/examples/bench_pg" "$@")
theirs=$(.venv/bin/python bench/pointer_generator.py --vocab "$1" --emb "$2" --hidden "$3" --batch "$4" --enc "$5" --dec "$6" --steps "$7" 2>/dev/null)
echo "$ours"
echo "$theirs"
python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(f'earthmover/pytorch training throughput = {a[\"tokens_per_sec\"]/b[\"tokens_per_sec\"]:.2f}')" "$ours" "$theirs"
