#!/usr/bin/env bash
# Issue 15's in-domain experiment: unpaired summarization of Debian package descriptions.
# Documents and real summaries come from disjoint halves of the pairs; true pairs are used only
# to evaluate. Resumable: run it again after an interruption and each phase continues.
#   bash scripts/unpaired_debian.sh
# Settings: RUNS (default ~/.cache/earthmover/runs/unpaired), PRETRAIN_STEPS (800),
# GAN_STEPS (4000), METHODS ("distributions"; add "reinforce" for method 2), GENERATOR_LR
# (2e-4, the best of 5e-5, 1e-4 and 2e-4 on the validation pairs at 4,000 updates), MAX_LEN
# (8 words, chosen on the validation pairs from 6 to 14).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
RUNS="${RUNS:-$HOME/.cache/earthmover/runs/unpaired}"
PRETRAIN_STEPS="${PRETRAIN_STEPS:-800}"
GAN_STEPS="${GAN_STEPS:-4000}"
METHODS="${METHODS:-distributions}"
GENERATOR_LR="${GENERATOR_LR:-2e-4}"
MAX_LEN="${MAX_LEN:-8}"
DECODE=(--beam 5 --max-len "$MAX_LEN" --no-repeat-trigram)
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
    "$bin" unpaired train --data "$DATA" --out "$dir" --steps "$GAN_STEPS" --resume --checkpoint-every 500
  else
    "$bin" unpaired train --data "$DATA" --out "$dir" --steps "$GAN_STEPS" --from "$RUNS/pretrain" \
      --method "$m" --generator-lr "$GENERATOR_LR" --checkpoint-every 500
  fi
  "$bin" unpaired eval --model "$dir" --data "$DATA" --split val "${DECODE[@]}" | tail -n 1 \
    | tee "$RUNS/gan-$m-val.json"
  "$bin" unpaired eval --model "$dir" --data "$DATA" "${DECODE[@]}" --out "$dir-test.jsonl" \
    | tail -n 1 | tee "$RUNS/gan-$m-eval.json"
done
