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

import click
import typer

from regrow import __version__
from regrow.errors import RegrowError

__all__ = ["app", "main"]

#: Command modules, mounted in this order (a missing module is simply not mounted).
COMMAND_MODULES = (
    "meta",
    "evidence",
    "journal",
    "measure",
    "progress",
    "records",
    "web",
    "demo",
    "clinic",
    "fhir",
    "report",
    "ops",
)

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

#: Readable placeholders for typer's type labels in help (``--db <path>`` reads as ``--db PATH``).
_METAVARS = {
    "str": "TEXT",
    "float": "NUMBER",
    "int": "N",
    "int range": "N",
    "path": "PATH",
    "list[str]": "TEXT",
    "list[int]": "N",
}


def readable_metavars(command: click.Command) -> click.Command:
    """Give every option of ``command`` (and its subcommands) a plain placeholder in help.

    typer 0.29 shows the Python type (``<str>``, ``<list[str]>``); a person reads ``TEXT``, ``PATH``, ``N``.
    Placeholders set explicitly in the command definitions are kept.

    Parameters
    ----------
    command : click.Command
        The root command built by ``typer.main.get_command``.

    Returns
    -------
    click.Command
        The same command, changed in place.
    """
    ctx = click.Context(command)
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option" or getattr(param, "is_flag", False):
            continue  # arguments keep typer's `NAME <type>`, flags take no value
        if param.metavar is None:
            shown = param.display_type(ctx) if hasattr(param, "display_type") else ""
            label = _METAVARS.get(shown.strip("<>"))
            if label is not None:
                param.metavar = label
    if hasattr(command, "list_commands"):  # typer's groups are not click.Group subclasses
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                readable_metavars(sub)
    return command


def build_command() -> click.Command:
    """The ``regrow`` click command with readable help placeholders (what :func:`main` runs)."""
    return readable_metavars(typer.main.get_command(app))


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
    command = build_command()
    try:
        # standalone mode: usage errors print click's message and exit 2; --help exits 0.
        command.main(args=argv, prog_name="regrow", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except RegrowError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except (
        OSError
    ) as exc:  # a path the system refuses (missing folder, read-only, a file in the way): one line
        typer.echo(f"error: {os_error_message(exc)}", err=True)
        return 2
    return 0


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error: the path and the reason, without a traceback.

    Parameters
    ----------
    exc : OSError

    Returns
    -------
    str
        For example ``cannot write '/proc/x.png': No such file or directory``.
    """
    reason = exc.strerror or type(exc).__name__
    if exc.filename is None:
        return f"{reason}."
    return f"cannot use {str(exc.filename)!r}: {reason}. Check that the folder exists and that you can write to it."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
