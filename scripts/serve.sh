#!/usr/bin/env bash
# Builds the web app and serves it on http://127.0.0.1:8080 (README: "Serve the web app").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# One build folder outside the checkout, so every clone on this machine reuses the same build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/earthmover/target}"
exec trunk serve --release "$@"
