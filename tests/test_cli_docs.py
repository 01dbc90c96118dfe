"""The command line a newcomer meets (issue #18): help at 80 columns shows every option in full, the README
documents exactly the commands that exist, and the README's quick tour runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import click.testing
import pytest
import typer

from regrow.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(
    group: click.Command, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(path, group)]
    if hasattr(group, "list_commands"):  # a group (typer's groups are not click.Group subclasses)
        ctx = click.Context(group)
        for name in group.list_commands(ctx):  # commands may be loaded lazily
            command = group.get_command(ctx, name)
            if command is not None and not getattr(command, "hidden", False):
                out += _commands(command, (*path, name))
    return out


ROOT = typer.main.get_command(app)
ALL = _commands(ROOT)


def test_there_are_many_commands_to_check():
    assert len(ALL) > 60


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p) or "regrow")
def test_help_at_80_columns_shows_every_option_in_full(path):
    command = dict(ALL)[path]
    result = click.testing.CliRunner().invoke(
        ROOT, [*path, "--help"], terminal_width=80, env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "…" not in text, f"a truncated option or command name in `regrow {' '.join(path)} --help`"
    assert "<bool>" not in text
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and not getattr(param, "hidden", False):
            for name in param.opts + param.secondary_opts:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), f"{name} missing in {path}"


def _readme_commands() -> set[str]:
    """Top-level command names that README headings document (``regrow X``, ``regrow X, Y, Z``)."""
    names: set[str] = set()
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            continue
        separators = r", regrow | / regrow |, | / |/| and "
        for match in re.finditer(rf"regrow ([a-z][a-z-]*(?:(?:{separators})[a-z][a-z-]*)*)", line):
            names.update(re.split(separators, match.group(1)))
    return names


def test_the_readme_documents_exactly_the_commands_that_exist():
    top = {path[0] for path, _ in ALL if len(path) == 1}
    documented = _readme_commands() - {"against"}  # "regrow against R's metafor" is the benchmarks' title
    assert top - documented == set(), "commands without a README section"
    assert documented - top == set(), "README sections for commands that do not exist"


def _quick_tour() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("Quick tour:") :]
    block = block[block.index("```bash") + len("```bash") : block.index("```", block.index("```bash") + 7)]
    return [line.split("#")[0].strip() for line in block.strip().splitlines() if line.strip()]


@pytest.mark.slow
def test_the_readme_quick_tour_runs_as_written(tmp_path):
    from PIL import Image

    from regrow.measure import synthesize

    Image.fromarray(
        synthesize(shape=(480, 640), um_per_px=2.76, unit_density_per_cm2=60.0, seed=1).image
    ).save(tmp_path / "scalp.jpg")
    env = {
        **os.environ,
        "REGROW_DATABASE_URL": f"sqlite:///{tmp_path / 'journal.sqlite'}",
        "REGROW_PHOTOS_DIR": str(tmp_path / "photos"),
        "TMPDIR": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    commands = _quick_tour()
    assert commands[0].startswith("regrow ") and len(commands) >= 6
    for line in commands:
        args = line.split()[1:]
        done = subprocess.run(
            [sys.executable, "-m", "regrow", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (line, done.stderr)
        assert done.stdout.strip(), f"`{line}` printed nothing"
        assert "Traceback" not in done.stderr
    assert (tmp_path / "progress.png").is_file()
