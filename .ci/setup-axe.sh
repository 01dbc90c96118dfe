#!/usr/bin/env bash
# Sourced by .ci/run (under set -euo pipefail): fetches axe-core (MPL-2.0) from the npm registry into
# .ci/node/ (gitignored) when it is missing, and tells the browser tests where its script is. The accessibility
# test injects that script into each page in Chromium and fails on any serious or critical violation.
# npm itself is not needed: the package tarball is downloaded with Python and checked against the registry's
# published sha512 integrity before anything is extracted.
AXE_VERSION="4.10.3"
AXE_DIR="$(pwd)/.ci/node"
AXE_JS="$AXE_DIR/node_modules/axe-core/axe.min.js"
if [ ! -f "$AXE_JS" ]; then
    echo "setup-axe: fetching axe-core $AXE_VERSION from the npm registry" >&2
    python3 - "$AXE_VERSION" "$AXE_JS" <<'PY'
import base64, hashlib, io, json, pathlib, sys, tarfile, urllib.request

version, target = sys.argv[1], pathlib.Path(sys.argv[2])
meta = json.load(urllib.request.urlopen(f"https://registry.npmjs.org/axe-core/{version}", timeout=60))
data = urllib.request.urlopen(meta["dist"]["tarball"], timeout=120).read()
algo, _, digest = meta["dist"]["integrity"].partition("-")
if algo != "sha512" or base64.b64encode(hashlib.sha512(data).digest()).decode() != digest:
    sys.exit("setup-axe: the downloaded axe-core does not match the registry's sha512 integrity")
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    script = tar.extractfile("package/axe.min.js").read()
    licence = tar.extractfile("package/LICENSE").read()
target.parent.mkdir(parents=True, exist_ok=True)
target.write_bytes(script)
(target.parent / "LICENSE").write_bytes(licence)
PY
fi
REGROW_AXE_JS="$AXE_JS"
export REGROW_AXE_JS
