#!/usr/bin/env bash
# Installs what earthmover needs on a Debian machine that has Rust (rustup) and Node.js,
# all from the package registries (Debian, crates.io, npm); nothing downloads a binary.
# Idempotent: each step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

# Chromium + ChromeDriver for the browser tests, lavapipe (software Vulkan) for the native GPU path.
missing=()
for pkg in chromium mesa-vulkan-drivers vulkan-tools python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The downloads (npm, PyPI) run beside the two compiles below (Trunk, wasm-bindgen-cli), which
# keep the 2 cores busy; on a cold machine that saves their minutes of waiting on the network.
(
# wasm-opt 132 (Debian's 108 breaks leptos apps) and playwright-core, from npm.
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
# A Python venv with the references the tests run, from PyPI: rouge-score (the Rust ROUGE) and
# optax on JAX (the optimizers; 140 MB, CPU-only). The benchmarks' PyTorch baseline (3 GB with
# its CUDA libraries) is installed by bench/run.sh when a benchmark first needs it.
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -c 'import rouge_score' 2>/dev/null || .venv/bin/python -m pip install --quiet rouge-score
.venv/bin/python -c 'import optax' 2>/dev/null || .venv/bin/python -m pip install --quiet optax
# The crates the builds need (native and wasm32), fetched while Trunk compiles.
cargo fetch --locked --quiet
) &
downloads=$!

command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust 1.95 with rustup first" >&2; exit 1; }
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# rustfmt and clippy: CI checks formatting, and lints while it builds (scripts/test.sh).
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done

# Trunk 0.21.14 (0.22 needs a newer rustc; without --locked it does not compile), and
# wasm-bindgen-cli, which must equal the wasm-bindgen in Cargo.lock: compiled side by side, so
# each one's single-threaded stretches (build scripts, the final link) leave no core idle.
installs=()
if ! trunk --version 2>/dev/null | grep -q '0.21.14'; then
  cargo install trunk --version 0.21.14 --locked &
  installs+=($!)
fi
wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  cargo install wasm-bindgen-cli --version "$wbg" &
  installs+=($!)
fi
for pid in "${installs[@]}"; do wait "$pid"; done
wait "$downloads"
