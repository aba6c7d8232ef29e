#!/usr/bin/env bash
# GAN benchmark: earthmover (Flex, dev profile) and the PyTorch reference, same model and step,
# run back to back on this machine. Prints both JSON lines and the ratio.
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
cd "$(dirname "$0")/.."
iters="${1:-20}"
hidden="${2:-512}"
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q torch; }
cargo build --example bench_gan -q  # the dev profile of the tests (dependencies at opt-level 2)
ours=$(cargo run -q --example bench_gan -- "$iters" "$hidden")
theirs=$(.venv/bin/python bench/wgan_gp_toy.py --iters "$iters" --hidden "$hidden" 2>/dev/null)
echo "$ours"
echo "$theirs"
python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(f'earthmover/pytorch = {a[\"gen_iters_per_s\"]/b[\"gen_iters_per_s\"]:.2f}')" "$ours" "$theirs"
