#!/usr/bin/env bash
# Sourced by .ci/run (under set -euo pipefail): installs Debian's chromium for the browser tests when it is
# missing, and tells the tests where it is. Playwright drives it with executable_path; no `playwright install`.
if ! command -v chromium >/dev/null 2>&1; then
    echo "setup-chromium: installing Debian's chromium package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
REGROW_CHROMIUM="$(command -v chromium)"
export REGROW_CHROMIUM
# With this set, a missing browser (or playwright) fails the browser tests instead of skipping them.
export REGROW_REQUIRE_BROWSER=1
