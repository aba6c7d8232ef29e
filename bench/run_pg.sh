#!/usr/bin/env bash
# Pointer-generator benchmark: earthmover (Flex, release profile, as `cargo run --release`
# trains) and the PyTorch reference, the same model, batch shape and step, back to back on
# this machine, ROUNDS times alternating. Prints both JSON lines per round, each round's
# ratios (training throughput, and beam-4 latency of a 400-token article), and the medians.
#   bash bench/run_pg.sh [VOCAB EMB HIDDEN BATCH ENC DEC STEPS ROUNDS]
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
cd "$(dirname "$0")/.."
set -- "${1:-50000}" "${2:-128}" "${3:-256}" "${4:-16}" "${5:-400}" "${6:-100}" "${7:-3}" "${8:-1}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/pip install -q torch
cargo build --release --example bench_pg -q
train=()
beam=()
for round in $(seq "$8"); do
  ours=$("$CARGO_TARGET_DIR/release/examples/bench_pg" "$1" "$2" "$3" "$4" "$5" "$6" "$7")
  theirs=$(.venv/bin/python bench/pointer_generator.py --vocab "$1" --emb "$2" --hidden "$3" --batch "$4" --enc "$5" --dec "$6" --steps "$7" 2>/dev/null)
  echo "$ours"
  echo "$theirs"
  read -r t b < <(python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(f'{a[\"tokens_per_sec\"]/b[\"tokens_per_sec\"]:.2f} {b[\"latency_beam4_400_tokens_s\"]/a[\"latency_beam4_400_tokens_s\"]:.2f}')" "$ours" "$theirs")
  echo "round $round: training throughput earthmover/pytorch = $t, beam search speed earthmover/pytorch (pytorch latency / ours) = $b"
  train+=("$t")
  beam+=("$b")
done
python3 -c "import statistics,sys; n=int(sys.argv[1]); t=sys.argv[2:2+n]; b=sys.argv[2+n:]; print('training ratios:', ', '.join(t), '| median', f'{statistics.median(map(float,t)):.2f}'); print('beam speed ratios:', ', '.join(b), '| median', f'{statistics.median(map(float,b)):.2f}')" "${#train[@]}" "${train[@]}" "${beam[@]}"
