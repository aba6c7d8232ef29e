#!/usr/bin/env bash
# GAN benchmark: earthmover (Flex, release profile, as `cargo run --release` trains) and the
# PyTorch reference, same model and step, run back to back on this machine, ROUNDS times
# alternating. Prints every JSON line and each round's ratio. Then the matmul alone, which is
# where most of the time goes.
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
cd "$(dirname "$0")/.."
iters="${1:-20}"
hidden="${2:-512}"
rounds="${3:-3}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/pip install -q torch
cargo build --release --example bench_gan --example bench_matmul -q
bin="$CARGO_TARGET_DIR/release/examples"
for _ in $(seq "$rounds"); do
  ours=$("$bin/bench_gan" "$iters" "$hidden")
  theirs=$(.venv/bin/python bench/wgan_gp_toy.py --iters "$iters" --hidden "$hidden" 2>/dev/null)
  echo "$ours"
  echo "$theirs"
  python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(f'earthmover/pytorch = {a[\"gen_iters_per_s\"]/b[\"gen_iters_per_s\"]:.2f}')" "$ours" "$theirs"
done
"$bin/bench_matmul" 200
.venv/bin/python bench/matmul.py 200
