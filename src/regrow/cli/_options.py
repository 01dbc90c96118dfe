"""Options shared by the commands that store photos (``photo add``, ``measurement add|import``)."""

from __future__ import annotations

import typer

__all__ = [
    "DeviceOption",
    "NewSiteOption",
    "PhotosDirOption",
    "RulerOption",
    "RulerPitchOption",
    "UmPerPxOption",
]

UmPerPxOption = typer.Option(None, "--um-per-px", help="Image scale in micrometres per pixel.")
DeviceOption = typer.Option(
    None, "--device", help="A device profile, e.g. fdu-70x (see regrow measure --help)."
)
RulerOption = typer.Option(None, "--ruler", help="Photo of a ruler/grid taken with the same device.")
RulerPitchOption = typer.Option(1000.0, "--ruler-pitch-um", help="Line pitch of the ruler/grid in µm.")
NewSiteOption = typer.Option(False, "--new-site", help="Confirm a new site name close to one in use.")
PhotosDirOption = typer.Option(
    None,
    "--photos-dir",
    envvar="REGROW_PHOTOS_DIR",
    help="The journal's photo folder; default: 'photos' beside the journal file.",
)
