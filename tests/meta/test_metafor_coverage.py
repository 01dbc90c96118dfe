"""The metafor reference grid is fully covered: every section of every reference file is checked somewhere.

Test modules declare what they check in ``CHECKED_SECTIONS`` (dotted paths, ``*`` matches one level). A
section that no module checks fails this test unless it is listed in ``NOT_CHECKED`` with the reason.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path

from metafor_refs import METAFOR_DIR, analysis_names, load_reference, metafor_index

TEST_DIR = Path(__file__).parent

#: Sections deliberately not compared, each with its reason.
NOT_CHECKED: dict[str, str] = {}


def declared_sections() -> dict[str, set[str]]:
    """``CHECKED_SECTIONS`` of every test module here, read without importing the modules."""
    found: dict[str, set[str]] = {}
    for path in sorted(TEST_DIR.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "CHECKED_SECTIONS" for t in node.targets
            ):
                found[path.name] = set(ast.literal_eval(node.value))
    return found


def section_paths(node, prefix: str = "", depth: int = 3):
    """Dotted paths of the reference's dict keys, down to ``depth`` levels."""
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and depth > 1:
            yield from section_paths(value, path, depth - 1)
        else:
            yield path


def _covered(path: str, patterns: set[str]) -> bool:
    parts = path.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatchcase(prefix, pattern) for prefix in prefixes for pattern in patterns)


def test_every_reference_section_is_checked():
    patterns = set().union(*declared_sections().values()) | set(NOT_CHECKED)
    missing = sorted(
        f"{name}: {path}"
        for name in analysis_names()
        for path in section_paths(load_reference(name))
        if not _covered(path, patterns)
    )
    assert not missing, "reference sections nobody checks:\n" + "\n".join(missing)


def test_every_reference_file_is_indexed():
    indexed = {a["file"] for a in metafor_index()["analyses"].values()}
    on_disk = {p.name for p in METAFOR_DIR.glob("*.json")} - {"index.json"}
    assert indexed == on_disk
    assert set(metafor_index()["methods"]) == {"FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"}


def test_declarations_name_real_sections():
    """A typo in CHECKED_SECTIONS must not silently cover nothing."""
    all_paths = {p for name in analysis_names() for p in section_paths(load_reference(name))}
    for module, patterns in declared_sections().items():
        for pattern in patterns:
            assert any(_covered(path, {pattern}) for path in all_paths), (
                f"{module}: {pattern!r} matches nothing"
            )
