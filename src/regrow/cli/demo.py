"""``regrow demo``: a throwaway journal with the example person of ``serve --demo``, to try every CLI command.

Demo folders live in the system temp folder as ``regrow-demo-<pid>-<random>``. A folder whose process has
ended is stale: every demo start removes stale ones, and ``serve --demo`` removes its own on any exit
(Ctrl+C, SIGTERM, an error).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import typer

from regrow.cli._common import emit_json, plural

__all__ = ["DEMO_PREFIX", "demo_folder", "make_demo", "register", "remove_stale_demos"]

DEMO_PREFIX = "regrow-demo-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_demos(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove demo folders whose process has ended (and those of regrow 0.1, which had no pid in the name).

    ``regrow demo`` folders carry the pid ``0`` until removed by hand or by ``regrow demo --clean``: they are
    meant to outlive the command, so they are not stale.
    """
    base = Path(root or tempfile.gettempdir())
    removed = []
    for folder in base.glob(f"{DEMO_PREFIX}*"):
        parts = folder.name[len(DEMO_PREFIX) :].split("-", 1)
        pid = int(parts[0]) if parts[0].isdigit() else None
        if pid == 0 or (pid is not None and _alive(pid)) or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def demo_folder(*, keep: bool) -> Path:
    """A new demo folder (pid 0 when it is kept after the command ends, else this process's pid)."""
    remove_stale_demos()
    return Path(tempfile.mkdtemp(prefix=f"{DEMO_PREFIX}{0 if keep else os.getpid()}-"))


@contextlib.contextmanager
def removed_on_exit(folder: Path) -> Iterator[Path]:
    """Remove ``folder`` however the block ends, SIGTERM included (turned into a normal exit)."""

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield folder
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(folder, ignore_errors=True)


def make_demo(folder: Path) -> dict:
    """Fill a new journal in ``folder`` with the example person; returns the counts and the settings."""
    from regrow.web import Settings, create_app, fill_demo

    url = f"sqlite:///{folder / 'demo.sqlite'}"
    photos = folder / "photos"
    app = create_app(Settings(database_url=url, photos_dir=photos))
    try:
        counts = fill_demo(app)
    finally:
        app.state.engine.dispose()
    return {"folder": str(folder), "database_url": url, "photos_dir": str(photos), "created": counts}


def demo(
    clean: bool = typer.Option(
        False, "--clean", help="Remove every demo folder this command made, then stop."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Make a throwaway journal with an example person (profile, plan, six months of sessions, photos) to try
    every command on; your own journal is not touched."""
    if clean:
        base = Path(tempfile.gettempdir())
        gone = [f for f in base.glob(f"{DEMO_PREFIX}0-*") if f.is_dir()]
        for folder in gone:
            shutil.rmtree(folder, ignore_errors=True)
        gone += remove_stale_demos()
        emit_json({"removed": [str(f) for f in gone]}) if as_json else typer.echo(
            f"Removed {len(gone)} demo folder(s)."
        )
        return
    folder = demo_folder(keep=True)
    if not as_json:
        typer.echo("Filling the demo journal (measuring synthetic images; about half a minute)...", err=True)
    try:
        body = make_demo(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if as_json:
        emit_json(body)
        return
    typer.echo(", ".join(plural(v, k) for k, v in body["created"].items()) + f" in {folder}")
    typer.echo("Try every command on it by pointing regrow at it in this shell:")
    typer.echo(f"  export REGROW_DATABASE_URL={body['database_url']} REGROW_PHOTOS_DIR={body['photos_dir']}")
    typer.echo("  regrow today; regrow progress; regrow photo list; regrow history")
    typer.echo("When done: unset REGROW_DATABASE_URL REGROW_PHOTOS_DIR; regrow demo --clean")


def register(app: typer.Typer) -> None:
    """Mount ``demo``."""
    app.command("demo")(demo)
