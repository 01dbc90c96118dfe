#!/usr/bin/env bash
# Sourced by .ci/run (under set -euo pipefail): installs axe-core (MPL-2.0) from the npm registry into
# .ci/node/ (gitignored) when it is missing, and tells the browser tests where its script is. The accessibility
# test injects that script into each page in Chromium and fails on any serious or critical violation.
AXE_VERSION="4.10.3"
AXE_DIR="$(pwd)/.ci/node"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    echo "setup-axe: installing axe-core $AXE_VERSION from npm" >&2
    mkdir -p "$AXE_DIR"
    npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >/dev/null
fi
REGROW_AXE_JS="$AXE_DIR/node_modules/axe-core/axe.min.js"
export REGROW_AXE_JS
