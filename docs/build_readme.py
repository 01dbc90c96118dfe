"""Assemble README.md from the per-command sections in docs/ (run after editing any of them).

python docs/build_readme.py
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).parent
ROOT = DOCS.parent

#: Order of the command sections in the README.
SECTIONS = [
    (
        "The trials",
        [
            "evidence.md",
            "meta.md",
            "meta-engine.md",
            "meta-escalc.md",
            "meta-diagnostics.md",
            "meta-mv.md",
            "plots.md",
        ],
    ),
    ("Your own programme", ["journal.md", "measure.md", "progress.md", "web.md"]),
    ("Clinic mode", ["clinic.md", "fhir.md", "report.md", "batch.md", "operations.md", "deployment.md"]),
    ("Benchmarks", ["benchmarks.md"]),
]


def _headings(lines: list[str]):
    fence = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"^#{1,6} ", line):
            yield i


def demote(text: str) -> str:
    """Shift the headings so the doc's top level becomes ``###``, nested under its README part (``##``)."""
    lines = text.splitlines()
    indices = list(_headings(lines))
    if indices:
        top = min(len(lines[i]) - len(lines[i].lstrip("#")) for i in indices)
        for i in indices:
            lines[i] = "#" * (3 - top) + lines[i]
    return "\n".join(lines).strip() + "\n"


def main() -> None:
    parts = [(DOCS / "README.head.md").read_text().rstrip() + "\n"]
    for title, files in SECTIONS:
        present = [f for f in files if (DOCS / f).is_file()]
        if not present:
            continue
        parts.append(f"\n## {title}\n")
        for name in present:
            parts.append("\n" + demote((DOCS / name).read_text()))
    parts.append("\n" + (DOCS / "README.tail.md").read_text().strip() + "\n")
    (ROOT / "README.md").write_text("".join(parts))


if __name__ == "__main__":
    main()
