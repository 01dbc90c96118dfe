"""``regrow serve``: the local web app. Thin: parse, build the app with :func:`regrow.web.create_app`, run it."""

from __future__ import annotations

import gc
import threading
import webbrowser
from pathlib import Path

import click
import typer

from regrow._hosts import is_loopback
from regrow.cli._common import DATABASE_URL_ENV
from regrow.errors import InputError

__all__ = ["register"]


def _check_address(host: str, port: int) -> None:
    """Refuse a port out of range or a host name that does not resolve, before anything is started."""
    import socket

    if not 0 <= port <= 65535:
        raise InputError.invalid("--port", port, "a TCP port from 0 to 65535")
    try:
        socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InputError.invalid("--host", host, "an IP address or a host name of this computer") from exc


def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to bind; 127.0.0.1 keeps it on this computer."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    db: str | None = typer.Option(
        None,
        "--db",
        envvar=DATABASE_URL_ENV,
        help="Journal database URL; default: SQLite in your user data folder.",
    ),
    photos_dir: Path | None = typer.Option(
        None, "--photos-dir", help="Where uploaded photos are kept; default: 'photos' beside the journal."
    ),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Serve an example person (plan, six months of sessions, measured synthetic images) from a "
        "throwaway journal in a temporary folder; your own journal is not touched.",
    ),
    open_browser: bool = typer.Option(False, "--open/--no-open", help="Open the app in your web browser."),
    max_upload_mb: int = typer.Option(20, "--max-upload-mb", help="Largest upload (or import) in MB."),
    rules_file: Path | None = typer.Option(
        None, "--rules", help="A clinic's YAML rule overrides (by rule id)."
    ),
    demo_months: int = typer.Option(6, "--demo-months", hidden=True, help="Months of demo history (tests)."),
    clinic: bool = typer.Option(
        False,
        "--clinic",
        help="Clinic mode: sign-in, roles, many patients, audit log (after `regrow clinic init`; PostgreSQL).",
    ),
    public_host: list[str] = typer.Option(
        [],
        "--public-host",
        help="Host name the clinic's reverse proxy serves (repeatable); requests for other names are refused.",
    ),
) -> None:
    """Run the regrow web app on this computer (phone-friendly pages and a JSON API)."""
    from regrow.web import Settings

    if clinic and demo:
        raise InputError.invalid("--demo", True, "left out with --clinic (the demo is a single person)")
    if not 1 <= max_upload_mb <= 2048:
        raise InputError.invalid("--max-upload-mb", max_upload_mb, "an integer in [1, 2048]")
    _check_address(host, port)
    # --demo uses a throwaway journal unless --db is typed on this command line: a journal configured in the
    # environment (REGROW_DATABASE_URL, e.g. after `regrow demo`) is never filled with the example person.
    if demo and ctx.get_parameter_source("db") is not click.core.ParameterSource.COMMANDLINE:
        from regrow.cli.demo import demo_folder, removed_on_exit

        with removed_on_exit(demo_folder(keep=False)) as folder:  # gone on Ctrl+C, SIGTERM or an error
            _serve(
                Settings(
                    database_url=f"sqlite:///{folder / 'demo.sqlite'}",
                    photos_dir=photos_dir or folder / "photos",
                    host=host,
                    port=port,
                    max_upload_bytes=max_upload_mb * 1024 * 1024,
                    rules_file=rules_file,
                ),
                demo=demo_months,
                open_browser=open_browser,
            )
        return
    hosts = None
    if public_host:
        hosts = tuple(
            sorted({"127.0.0.1", "localhost", "::1", "[::1]", host, *(h.lower() for h in public_host)})
        )
    settings = Settings(
        database_url=db,
        photos_dir=photos_dir,
        host=host,
        port=port,
        allowed_hosts=hosts,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        rules_file=rules_file,
        clinic=clinic,
    )
    _serve(settings, demo=demo_months if demo else 0, open_browser=open_browser)


def _serve(settings, *, demo: int, open_browser: bool) -> None:
    """Build the app (filled with ``demo`` months of the example person when not 0) and run it."""
    import uvicorn

    from regrow.web import create_app, fill_demo

    host, port, db = settings.host, settings.port, settings.database_url
    app = create_app(settings)
    if demo:
        typer.echo("Filling the demo journal (measuring synthetic images; about half a minute)...")
        counts = fill_demo(app, months=demo)
        typer.echo("Demo: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" in {db}")
    if settings.clinic:
        if db and db.startswith("sqlite"):
            typer.echo(
                "warning: clinic mode on SQLite is for trying it out; a clinic runs PostgreSQL.", err=True
            )
        if not is_loopback(host):
            typer.echo(
                f"warning: listening on {host} without TLS; put the clinic's TLS reverse proxy in front and "
                "bind to 127.0.0.1 (see the deployment docs).",
                err=True,
            )
    elif not is_loopback(host):
        typer.echo(
            f"warning: listening on {host}: anyone on your network can open your journal (there is no login).",
            err=True,
        )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    typer.echo(f"regrow is running at {url} (Ctrl+C stops it)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    # Everything loaded so far (numpy, scipy, the app) lives as long as the server: move it out of the
    # collector's way, so a full collection does not pause a request for ~100 ms (gc.freeze docs).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        # Clinic mode behind a reverse proxy: trust X-Forwarded-Proto/For from this machine only, so the app
        # sees https (Secure cookies) and the client's address (sign-in throttling, audit).
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            proxy_headers=settings.clinic,
            forwarded_allow_ips="127.0.0.1" if settings.clinic else None,
        )
    finally:
        app.state.engine.dispose()


def register(app: typer.Typer) -> None:
    """Mount ``serve`` on the root app."""
    app.command("serve")(serve)
