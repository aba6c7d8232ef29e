#!/usr/bin/env bash
# Unpaired summarization end to end (Wang & Lee 2018), resumably: pretraining, the GAN phase of
# each method with a checkpoint kept every KEEP_EVERY updates, the mean generator of the second
# half of each run, its scores on the tuning and reporting pairs beside Lead-N, and an export.
# Documents and real summaries come from disjoint halves of the data; true pairs are used only to
# evaluate. Run it again after an interruption and each phase continues exactly.
#   bash scripts/unpaired.sh debian    # package descriptions → synopses
#   bash scripts/unpaired.sh cnndm     # news lead sentences → headline-like highlights
# Settings (environment): RUNS (default ~/.cache/earthmover/runs/unpaired-SETTING),
# PRETRAIN_STEPS, GAN_STEPS, KEEP_EVERY (250), METHODS ("distributions"; "reinforce" is method
# 2), GENERATOR_LR (2e-4: on the Debian validation pairs the best of 5e-5, 1e-4 and 2e-4 at
# 4,000 updates), DECODE (the decoding scored and exported), SKIP_PRETRAIN=1 (when another
# instance of this script pretrains; two METHODS can then run side by side).
# debian: 800 + 12,000 updates; the decoding (beam 5, [STOP] from step 6, at most 9 words, no
# repeated trigram or word) was chosen on its validation pairs; pretraining on subsequences.
# cnndm: 1,000 + 12,000 updates; Wang & Lee's released settings (span pretraining, the soft
# [STOP] schedule, no repeated word) with a target length of 9 words, the test headlines' length.
set -euo pipefail
cd "$(dirname "$0")/.."
SETTING="${1:?usage: scripts/unpaired.sh debian|cnndm}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
case "$SETTING" in
  debian)
    DATA=../shared/data/debian/long2synopsis.tsv.gz
    : "${PRETRAIN_STEPS:=800}" "${GAN_STEPS:=12000}"
    PRETRAIN_DECODE=(--beam 5 --min-len 10 --max-len 12 --no-repeat-trigram --no-repeat-word)
    DEFAULT_DECODE="--beam 5 --min-len 6 --max-len 9 --no-repeat-trigram --no-repeat-word"
    EXPORT_NAME=unpaired-debian ;;
  cnndm)
    DATA=../shared/data/cnndm
    : "${PRETRAIN_STEPS:=1000}" "${GAN_STEPS:=12000}"
    PRETRAIN_DECODE=(--target-len 9)
    DEFAULT_DECODE="--target-len 9"
    EXPORT_NAME=unpaired-news ;;
  *) echo "unknown setting '$SETTING': choose debian or cnndm" >&2; exit 2 ;;
esac
RUNS="${RUNS:-$HOME/.cache/earthmover/runs/unpaired-$SETTING}"
KEEP_EVERY="${KEEP_EVERY:-250}"
METHODS="${METHODS:-distributions}"
GENERATOR_LR="${GENERATOR_LR:-2e-4}"
read -r -a DECODE <<< "${DECODE:-$DEFAULT_DECODE}"
CORPUS=(--corpus "$SETTING" --data "$DATA")
mkdir -p "$RUNS"
bin="$RUNS/earthmover"
if [ "${SKIP_PRETRAIN:-0}" != 1 ] || [ ! -x "$bin" ]; then
  cargo build --release --bin earthmover -q
  cp "$CARGO_TARGET_DIR/release/earthmover" "$bin.new" && mv "$bin.new" "$bin"
fi

# step_of DIR: the last logged step (0 if none).
step_of() { [ -f "$1/metrics.jsonl" ] && tail -n 1 "$1/metrics.jsonl" | sed -n 's/.*"step":\([0-9]*\).*/\1/p' || echo 0; }
resume() { [ -f "$1/checkpoint.safetensors" ] && echo --resume || true; }

if [ "${SKIP_PRETRAIN:-0}" != 1 ]; then
  "$bin" unpaired pretrain "${CORPUS[@]}" --out "$RUNS/pretrain" --steps "$PRETRAIN_STEPS" \
    $(resume "$RUNS/pretrain")
  "$bin" unpaired eval --model "$RUNS/pretrain" "${CORPUS[@]}" --split val "${PRETRAIN_DECODE[@]}" \
    | tail -n 1 | tee "$RUNS/pretrain-val.json"
fi
for m in $METHODS; do
  dir="$RUNS/gan-$m"
  mkdir -p "$dir/keep"
  # In stretches of KEEP_EVERY updates, keeping each stretch's checkpoint for the average.
  for ((to = KEEP_EVERY; to <= GAN_STEPS; to += KEEP_EVERY)); do
    [ -f "$dir/keep/step$to.safetensors" ] && continue
    if [ -f "$dir/checkpoint.safetensors" ]; then
      "$bin" unpaired train "${CORPUS[@]}" --out "$dir" --steps "$to" --resume
    else
      "$bin" unpaired train "${CORPUS[@]}" --out "$dir" --steps "$to" --from "$RUNS/pretrain" \
        --method "$m" --generator-lr "$GENERATOR_LR"
    fi
    cp "$dir/checkpoint.safetensors" "$dir/keep/step$to.tmp" && mv "$dir/keep/step$to.tmp" "$dir/keep/step$to.safetensors"
    # The learning curve: the tuning pairs' ROUGE of every kept checkpoint (first 500 pairs).
    "$bin" unpaired eval --model "$dir/keep/step$to.safetensors" "${CORPUS[@]}" --split val \
      --limit 500 "${DECODE[@]}" | tail -n 1 | sed "s/^{/{\"kept\":$to,/" >> "$dir/curve.jsonl"
  done
  # Polyak averaging: the mean generator of the second half of the run.
  second_half=()
  for ((to = KEEP_EVERY; to <= GAN_STEPS; to += KEEP_EVERY)); do
    ((2 * to >= GAN_STEPS)) && second_half+=("$dir/keep/step$to.safetensors")
  done
  "$bin" unpaired average "${second_half[@]}" --out "$dir-average.safetensors"
  for model in "$dir" "$dir-average.safetensors"; do
    "$bin" unpaired eval --model "$model" "${CORPUS[@]}" --split val "${DECODE[@]}" | tail -n 1
  done | tee "$RUNS/gan-$m-val.json"
  "$bin" unpaired eval --model "$dir-average.safetensors" "${CORPUS[@]}" "${DECODE[@]}" \
    --out "$dir-test.jsonl" | tail -n 1 | tee "$RUNS/gan-$m-eval.json"
  "$bin" unpaired export --model "$dir-average.safetensors" --out "$RUNS/$EXPORT_NAME-$m.safetensors" \
    --precision int8 "${DECODE[@]}"
done
