"""The ``regrow`` command: thin, it parses, calls the core and prints.

Each capability keeps its commands in its own module here (``meta``, ``evidence``, ``journal``, ``measure``,
``progress``, ``web``) exposing ``register(app)``; this module mounts whichever are present. Start-up is
kept instant (``regrow --help`` in well under 0.3 s): command modules import their capability lazily (see
:func:`regrow.cli._common.lazy_module`) and help is rendered by click, not rich. Domain errors
(:class:`regrow.errors.RegrowError`) become one line on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from regrow import __version__
from regrow.errors import RegrowError

__all__ = ["app", "main"]

#: Command modules, mounted in this order (a missing module is simply not mounted).
COMMAND_MODULES = ("meta", "evidence", "journal", "measure", "progress", "records", "web", "demo")

app = typer.Typer(
    name="regrow",
    help="Does micro-needling for hair growth really work? The trials, and your own scalp.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"regrow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Does micro-needling for hair growth really work? The trials, and your own scalp."""


def _mount() -> None:
    for name in COMMAND_MODULES:
        qualified = f"{__name__}.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue
            raise
        module.register(app)
    # Plain (click) help everywhere: rendering help through rich imports rich and markdown-it, about 0.15 s,
    # half of the start-up budget of `regrow --help` (0.3 s).
    for info in app.registered_groups:
        if info.typer_instance is not None:
            info.typer_instance.rich_markup_mode = None


_mount()


def main(argv: list[str] | None = None) -> int:
    """Run the ``regrow`` command line and return its exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success, 2 for a domain error or bad usage, 1 for an interrupted run.
    """
    from regrow._interface import set_default_interface

    set_default_interface("cli")  # the journal's history says which interface made each change
    command = typer.main.get_command(app)
    try:
        # standalone mode: usage errors print click's message and exit 2; --help exits 0.
        command.main(args=argv, prog_name="regrow", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except RegrowError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
