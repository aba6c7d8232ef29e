#!/usr/bin/env bash
# Issue 15's in-domain experiment: unpaired summarization of Debian package descriptions.
# Documents and real summaries come from disjoint halves of the pairs; true pairs are used only
# to evaluate. Resumable: run it again after an interruption and each phase continues.
#   bash scripts/unpaired_debian.sh
# Settings: RUNS (default ~/.cache/earthmover/runs/unpaired), PRETRAIN_STEPS (800),
# GAN_STEPS (12000), KEEP_EVERY (250: a copy of the checkpoint is kept every this many updates,
# and the generators of the second half of the run are averaged), METHODS ("distributions"; add
# "reinforce" for method 2), GENERATOR_LR (2e-4, the best of 5e-5, 1e-4 and 2e-4 on the
# validation pairs at 4,000 updates). The decoding (beam 5, [STOP] from step 6, at most 9 words,
# no repeated trigram or word) was chosen on the validation pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
RUNS="${RUNS:-$HOME/.cache/earthmover/runs/unpaired}"
PRETRAIN_STEPS="${PRETRAIN_STEPS:-800}"
GAN_STEPS="${GAN_STEPS:-12000}"
KEEP_EVERY="${KEEP_EVERY:-250}"
METHODS="${METHODS:-distributions}"
GENERATOR_LR="${GENERATOR_LR:-2e-4}"
DECODE=(--beam 5 --min-len 6 --max-len 9 --no-repeat-trigram --no-repeat-word)
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
  --beam 5 --min-len 10 --max-len 12 --no-repeat-trigram --no-repeat-word \
  | tee "$RUNS/pretrain-eval.json"
for m in $METHODS; do
  dir="$RUNS/gan-$m"
  mkdir -p "$dir/keep"
  # In stretches of KEEP_EVERY updates, keeping each stretch's checkpoint for the average.
  for ((to = KEEP_EVERY; to <= GAN_STEPS; to += KEEP_EVERY)); do
    [ -f "$dir/keep/step$to.safetensors" ] && continue
    if [ -f "$dir/checkpoint.safetensors" ]; then
      "$bin" unpaired train --data "$DATA" --out "$dir" --steps "$to" --resume
    else
      "$bin" unpaired train --data "$DATA" --out "$dir" --steps "$to" --from "$RUNS/pretrain" \
        --method "$m" --generator-lr "$GENERATOR_LR"
    fi
    cp "$dir/checkpoint.safetensors" "$dir/keep/step$to.tmp" && mv "$dir/keep/step$to.tmp" "$dir/keep/step$to.safetensors"
  done
  # Polyak averaging: the mean generator of the second half of the run.
  second_half=()
  for ((to = KEEP_EVERY; to <= GAN_STEPS; to += KEEP_EVERY)); do
    ((2 * to >= GAN_STEPS)) && second_half+=("$dir/keep/step$to.safetensors")
  done
  "$bin" unpaired average "${second_half[@]}" --out "$dir-average.safetensors"
  for model in "$dir" "$dir-average.safetensors"; do
    "$bin" unpaired eval --model "$model" --data "$DATA" --split val "${DECODE[@]}" | tail -n 1
  done | tee "$RUNS/gan-$m-val.json"
  "$bin" unpaired eval --model "$dir-average.safetensors" --data "$DATA" "${DECODE[@]}" \
    --out "$dir-test.jsonl" | tail -n 1 | tee "$RUNS/gan-$m-eval.json"
  "$bin" unpaired export --model "$dir-average.safetensors" --out "$RUNS/unpaired-debian-$m.safetensors" \
    --precision int8 "${DECODE[@]}"
done
