#!/usr/bin/env bash
# Sourced by .ci/run (under set -euo pipefail): installs from Debian what the consult report needs when it is
# missing: Pango and a font for WeasyPrint (regrow report), and poppler-utils (pdftotext, pdftoppm) with
# which the report tests read the PDF back as text and as pictures.
pdf_missing=()
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        pdf_missing+=("$pkg")
    fi
done
if [ "${#pdf_missing[@]}" -gt 0 ]; then
    echo "setup-pdf: installing ${pdf_missing[*]} from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${pdf_missing[@]}" >/dev/null
fi
unset pdf_missing
# With this set, a missing pdftotext or pdftoppm fails the report tests instead of skipping them.
export REGROW_REQUIRE_PDF_TOOLS=1
