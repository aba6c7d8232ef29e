#!/usr/bin/env bash
# Runs every test (README: "Run every test"): the native suite (Flex, and wgpu on lavapipe),
# then the web build and the browser tests in headless Chromium, with and without WebGPU.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's start, in minutes since this script began (README: the cold and warm times).
phase() { echo "== $1 (minute $((SECONDS / 60)))"; }
phase "set-up"
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# One build folder outside the checkout, so every clone on this machine reuses the same build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"

# Clippy lints while the code is compiled for the tests and the page, not in check builds of
# their own: `cargo clippy` is rustc with clippy-driver as the wrapper of the workspace's own crate,
# and that wrapper can sit under `cargo test` and `trunk build` too (warnings are errors). Two
# separate clippy runs compiled every dependency a second time (12.5 of 77.5 cold minutes).
clippy=(env RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
  CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")

phase "fmt"
cargo fmt --check

phase "native build, linted by clippy"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${clippy[@]}" cargo test --all-targets --no-run --message-format=json-render-diagnostics > "$work/build.jsonl"
# The test executables cargo built (what `cargo test --all-targets` would run, in its order).
mapfile -t test_bins < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])' "$work/build.jsonl")
echo "${#test_bins[@]} test executables"

# The native tests run beside the CUDA check and the web build: each of the three leaves a core
# idle for minutes (the tests' longest cases, the wasm crate's single codegen unit), and on two
# cores running them side by side saves about a quarter of their time. The executables run from
# the crate's root, as `cargo test` runs them; their output is printed when they finish.
phase "native tests, beside the CUDA check and the web build"
(
  set -e
  for t in "${test_bins[@]}"; do
    echo "     Running $t"
    "$t"
  done
) > "$work/native-tests.log" 2>&1 &
native=$!

phase "CUDA feature (type-check only, linted by clippy)"
# burn's cuda feature pulls cubecl-llvm, whose build dependency tracel-llvm-bundler downloads an
# LLVM bundle at build time; nothing may download here, and DOCS_RS=1 is its documented way to
# skip that. So CI proves the CUDA code path compiles (types, features), not that it links.
DOCS_RS=1 "${clippy[@]}" cargo check --features cuda --bin earthmover

phase "web build (wasm32, linted by clippy)"
"${clippy[@]}" trunk build --release
# The bundle's size, raw and gzipped; fails above the 4 MB (gzip) target.
bash scripts/bundle_size.sh dist

phase "waiting for the native tests"
if wait "$native"; then
  cat "$work/native-tests.log"
else
  cat "$work/native-tests.log"
  echo "native tests failed (above)" >&2
  exit 1
fi

phase "browser tests"
node --test tests/browser/
phase "done"
