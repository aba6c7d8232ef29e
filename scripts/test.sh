#!/usr/bin/env bash
# Runs every test (README: "Run every test"): the native suite (Flex, and wgpu on lavapipe),
# then the web build and the browser tests in headless Chromium, with and without WebGPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# One build folder outside the checkout, so every clone on this machine reuses the same build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"

echo "== native tests =="
cargo test --all-targets

echo "== web build =="
trunk build --release

echo "== browser tests =="
node --test tests/browser/
