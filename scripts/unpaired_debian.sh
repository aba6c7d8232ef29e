#!/usr/bin/env bash
# Issue 15's in-domain experiment: unpaired summarization of Debian package descriptions.
# Documents and real summaries come from disjoint halves of the pairs; true pairs are used only
# to evaluate. Resumable: run it again after an interruption and each phase continues.
#   bash scripts/unpaired_debian.sh
# Settings: RUNS (default ~/.cache/earthmover/runs/unpaired), PRETRAIN_STEPS (1200),
# GAN_STEPS (600), METHODS ("distributions reinforce").
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
RUNS="${RUNS:-$HOME/.cache/earthmover/runs/unpaired}"
PRETRAIN_STEPS="${PRETRAIN_STEPS:-1200}"
GAN_STEPS="${GAN_STEPS:-600}"
METHODS="${METHODS:-distributions reinforce}"
DATA=../shared/data/debian/long2synopsis.tsv.gz
mkdir -p "$RUNS"
cargo build --release --bin earthmover -q
bin="$RUNS/earthmover"
cp "$CARGO_TARGET_DIR/release/earthmover" "$bin.new" && mv "$bin.new" "$bin"

# step_of DIR: the last logged step (0 if none).
step_of() { [ -f "$1/metrics.jsonl" ] && tail -n 1 "$1/metrics.jsonl" | sed -n 's/.*"step":\([0-9]*\).*/\1/p' || echo 0; }
resume() { [ -f "$1/checkpoint.safetensors" ] && echo --resume || true; }

"$bin" unpaired pretrain --data "$DATA" --out "$RUNS/pretrain" --steps "$PRETRAIN_STEPS" \
  $(resume "$RUNS/pretrain")
"$bin" unpaired eval --model "$RUNS/pretrain" --data "$DATA" --out "$RUNS/pretrain-test.jsonl" \
  | tee "$RUNS/pretrain-eval.json"
for m in $METHODS; do
  dir="$RUNS/gan-$m"
  if [ -f "$dir/checkpoint.safetensors" ]; then
    "$bin" unpaired train --data "$DATA" --out "$dir" --steps "$GAN_STEPS" --resume
  else
    "$bin" unpaired train --data "$DATA" --out "$dir" --steps "$GAN_STEPS" --from "$RUNS/pretrain" --method "$m"
  fi
  "$bin" unpaired eval --model "$dir" --data "$DATA" --out "$dir-test.jsonl" | tee "$RUNS/gan-$m-eval.json"
done
