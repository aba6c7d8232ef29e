#!/usr/bin/env bash
# The web bundle's size: what a browser downloads before the app runs (wasm, JS, CSS), raw and
# gzipped (level 9, as a static server would precompress it). Fails when the gzipped total is over
# the 4 MB target (set 2026-11-30, commit 6cafc7d), so CI's log shows the figure and guards it.
#   bash scripts/bundle_size.sh [dist]
set -euo pipefail
dist="${1:-dist}"
limit=$((4 * 1000 * 1000))
raw=0
gz=0
for f in "$dist"/*.wasm "$dist"/*.js "$dist"/*.css; do
  [ -f "$f" ] || continue
  r=$(stat -c %s "$f")
  g=$(gzip -9 -c "$f" | wc -c)
  printf 'bundle: %-48s %10d bytes raw %9d gzipped\n' "$(basename "$f")" "$r" "$g"
  raw=$((raw + r))
  gz=$((gz + g))
done
awk -v r="$raw" -v g="$gz" -v l="$limit" 'BEGIN { printf "bundle: total %.2f MB raw, %.2f MB gzipped (target: at most %.2f MB gzipped)\n", r / 1e6, g / 1e6, l / 1e6 }'
if [ "$gz" -gt "$limit" ]; then
  echo "bundle: over the target by $(((gz - limit) / 1000)) kB" >&2
  exit 1
fi
