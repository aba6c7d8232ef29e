#!/usr/bin/env bash
# Runs the adversarial stage and its refinement for each objective and seed, and prints one
# JSON line per run (P@1 with CSLS on 1,000 held-out words, before and after refinement,
# and the wall-clock time). A diverged run is a line with its error and no P@1.
#   bash scripts/align_experiments.sh synthetic|real SEEDS [extra train flags…]
# Settings: EPOCHS (default 5), EPOCH_SIZE (default 2000), CRITIC_HIDDEN (default 256),
# OBJECTIVES (default "gan wgan wgan-gp ct-gan"), SEEDS (a list, instead of 0 … SEEDS − 1),
# OUT (default /tmp/earthmover-align), JOBS (runs at a time, default 1; each run then uses one
# thread). Each line also holds the run's curve: per epoch, P@1, MUSE's criterion, the critic's
# estimate and penalty, and ‖WWᵀ − I‖.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
kind=$1 seeds=$2
shift 2
D="${ALIGN_DATA:-../shared/data/bli/es-en}"
if [ "$kind" = synthetic ]; then
  data=(--src "$D/word2vec.es.gz" --synthetic)
else
  data=(--src "$D/word2vec.es.gz" --tgt "$D/word2vec.en.gz" --lexicon "$D/lexicon.es-en.txt.gz")
fi
bin="${BIN:-$CARGO_TARGET_DIR/release/earthmover}"
out="${OUT:-/tmp/earthmover-align}/$kind"
mkdir -p "$out"
curve() {
  python3 -c 'import json,sys; print(json.dumps([{k: l.get(k) for k in ("step", "p1", "criterion", "estimate", "penalty", "orthogonality")} for l in map(json.loads, open(sys.argv[1]))]))' "$1/metrics.jsonl" 2>/dev/null || echo '[]'
}
run_one() {
  local objective=$1 seed=$2
  local dir="$out/$objective-$seed" t0 t1 train refined
  t0=$(date +%s.%N)
  # A run that diverges (the CLI stops with a message naming the step) counts as a failure
  # with no P@1, and the sweep goes on.
  if ! train=$("$bin" align train "${data[@]}" --objective "$objective" --seed "$seed" --epochs "${EPOCHS:-5}" \
    --epoch-size "${EPOCH_SIZE:-2000}" --critic-hidden "${CRITIC_HIDDEN:-256}" --out "$dir" "${extra[@]}" 2>"$dir.log"); then
    t1=$(date +%s.%N)
    python3 -c 'import json,sys; print(json.dumps({"kind": sys.argv[1], "objective": sys.argv[2], "seed": int(sys.argv[3]), "p1_adversarial": None, "p1_refined": None, "success": False, "error": sys.argv[4], "seconds": round(float(sys.argv[5]), 1), "curve": json.loads(sys.argv[6])}))' \
      "$kind" "$objective" "$seed" "$(tail -n 1 "$dir.log")" "$(python3 -c "print($t1 - $t0)")" "$(curve "$dir")"
    return
  fi
  refined=$("$bin" align refine "${data[@]}" --model "$dir" --out "$dir/refined-map.safetensors" 2>/dev/null)
  t1=$(date +%s.%N)
  python3 -c 'import json,sys; t=json.loads(sys.argv[1]); r=json.loads(sys.argv[2]); print(json.dumps({"kind": sys.argv[3], "objective": t["objective"], "seed": t["seed"], "p1_adversarial": t["p1"], "p1_refined": r["p1"], "success": r["p1"] >= 50, "seconds": round(float(sys.argv[4]), 1), "curve": json.loads(sys.argv[5])}))' "$train" "$refined" "$kind" "$(python3 -c "print($t1 - $t0)")" "$(curve "$dir")"
}
extra=("$@")
jobs_at_once="${JOBS:-1}"
[ "$jobs_at_once" -gt 1 ] && export RAYON_NUM_THREADS=1
for objective in ${OBJECTIVES:-gan wgan wgan-gp ct-gan}; do
  for seed in ${SEEDS:-$(seq 0 $((seeds - 1)))}; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_at_once" ]; do wait -n || true; done
    run_one "$objective" "$seed" &
  done
done
wait
