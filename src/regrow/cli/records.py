"""Correct anything: ``regrow <noun> list | edit ID --set FIELD=VALUE ... | delete ID``, ``regrow history``,
``regrow undo``, ``regrow measurement review``, ``regrow photo count | correct | labels``.

One verb scheme for every record: ``edit`` takes ``--set FIELD=VALUE`` (repeatable; the field names are the
JSON API's; ``FIELD=`` clears an optional field; lists are comma-separated), ``delete`` takes the id. Every
change goes into the history, and ``regrow undo`` reverts the newest one. Thin: it parses and calls
:mod:`regrow._edits` and :mod:`regrow.journal`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import emit_json, plural
from regrow.cli._options import (
    DeviceOption,
    NewSiteOption,
    PhotosDirOption,
    RulerOption,
    RulerPitchOption,
    UmPerPxOption,
)
from regrow.cli.journal import (
    DbOption,
    JsonOption,
    _journal,
    _my_journal,
    _row,
    device_app,
    plan_app,
    profile_app,
)
from regrow.errors import InputError

__all__ = ["register"]

SetOption = typer.Option(
    ..., "--set", help="FIELD=VALUE to change (repeat for several fields; FIELD= clears an optional one)."
)
AllowDuplicateOption = typer.Option(
    False, "--allow-duplicate", help="Keep it although it looks like another entry of that day."
)

#: CLI noun -> (journal record kind, what it is called in messages, the list function's name).
NOUNS = {
    "session": ("session", "needling sessions", "list_sessions"),
    "dose": ("dose", "adjunct doses", "list_doses"),
    "event": ("event", "side effects", "list_events"),
    "ack": ("acknowledgement", "acknowledged stop findings", "list_acknowledgements"),
    "disinfection": ("disinfection", "device disinfections", "list_disinfections"),
    "note": ("note", "notes", "list_notes"),
}


def _jr():
    from regrow import journal

    return journal


def _parse_value(model: Any, field: str, text: str) -> Any:
    """A ``--set`` value in the column's type (numbers, booleans, lists); empty text is ``None``."""
    from sqlalchemy import JSON, Boolean, Float, Integer

    if text.strip() == "":
        return None
    column = model.__table__.columns.get(field)
    kind = None if column is None else column.type
    try:
        if isinstance(kind, Boolean):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "yes", "no"):
                raise ValueError("true or false")
            return lowered in ("true", "yes")
        if isinstance(kind, Integer):
            return int(text)
        if isinstance(kind, Float):
            return float(text)
        if isinstance(kind, JSON):
            return [part.strip() for part in text.split(",") if part.strip()]
    except ValueError as exc:
        wanted = {Boolean: "true or false", Integer: "a whole number", Float: "a number"}
        allowed = next((w for t, w in wanted.items() if isinstance(kind, t)), "a value of the right type")
        raise InputError.invalid(field, text, allowed) from exc
    return text


def _fields(model: Any, pairs: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError.invalid("--set", pair, "FIELD=VALUE, such as pain_0_10=4")
        fields[name.strip()] = _parse_value(model, name.strip(), value)
    return fields


def _echo_row(kind: str, row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(row)
    else:
        typer.echo(f"{kind} {row.get('id', row.get('person_id'))} changed.")


def _list(noun: str, db: str | None, as_json: bool) -> None:
    jr = _jr()
    _, label, lister = NOUNS[noun]
    with _my_journal(db) as (session, me):
        rows = [_row(r) for r in getattr(jr, lister)(session, person_id=me)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo(f"No {label} yet.")
    for row in rows:
        shown = {k: v for k, v in row.items() if v not in (None, [], "") and k not in ("person_id", "id")}
        typer.echo(f"{row['id']}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))


def _edit(
    kind: str,
    row_id: int,
    pairs: list[str],
    db: str | None,
    allow_duplicate: bool,
    as_json: bool,
    *,
    new_site: bool = False,
) -> None:
    from regrow import _edits

    jr = _jr()
    model = jr.EDITABLE[kind][0]
    fields = _fields(model, pairs)
    with _journal(db, None) as (engine, _store):
        me = _person(engine)
        row = _edits.edit(
            engine,
            person_id=me,
            kind=kind,
            row_id=row_id,
            fields=fields,
            allow_duplicate=allow_duplicate,
            new_site=new_site,
        )
    _echo_row(kind, _plain(row), as_json)


def _delete(
    kind: str, row_id: int, db: str | None, photos_dir: Path | None, as_json: bool, **kwargs: Any
) -> None:
    from regrow import _edits

    with _journal(db, photos_dir) as (engine, store):
        result = _edits.delete(engine, store, person_id=_person(engine), kind=kind, row_id=row_id, **kwargs)
    if as_json:
        emit_json(result)
    elif result.get("retired"):
        typer.echo(f"{kind} {row_id} is used by sessions, so it was retired instead of deleted.")
    else:
        typer.echo(
            f"Deleted {kind} {row_id} ({sum(result['deleted'].values())} rows). `regrow undo` brings it back."
        )


def _person(engine: Any) -> int:
    jr = _jr()
    with jr.session_scope(engine) as session:
        return jr.get_or_create_default_person(session).id


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in row.items()}


def _noun_app(noun: str) -> typer.Typer:
    kind, label, _ = NOUNS[noun]
    app = typer.Typer(help=f"List, edit and delete your {label}.", no_args_is_help=True)

    @app.command("list")
    def list_(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
        _list(noun, db, as_json)

    list_.__doc__ = f"List your {label}, oldest first."

    @app.command("edit")
    def edit_(
        row_id: int = typer.Argument(..., metavar="ID", help="The id (see list)."),
        pairs: list[str] = SetOption,
        allow_duplicate: bool = AllowDuplicateOption,
        db: str | None = DbOption,
        as_json: bool = JsonOption,
    ) -> None:
        _edit(kind, row_id, pairs, db, allow_duplicate, as_json)

    edit_.__doc__ = f"Change fields of one of your {label} (the same checks as adding it)."

    @app.command("delete")
    def delete_(
        row_id: int = typer.Argument(..., metavar="ID", help="The id (see list)."),
        db: str | None = DbOption,
        as_json: bool = JsonOption,
    ) -> None:
        _delete(kind, row_id, db, None, as_json)

    delete_.__doc__ = f"Delete one of your {label} (undo brings it back)."
    return app


# --- devices, plans, profile ---------------------------------------------------------------------------------


def device_edit(
    device_id: int = typer.Argument(..., metavar="ID"),
    pairs: list[str] = SetOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a device's name, kind, needle length or count, lot, first use."""
    _edit("device", device_id, pairs, db, False, as_json)


def device_delete(
    device_id: int = typer.Argument(..., metavar="ID"),
    retire: bool = typer.Option(
        False, "--retire", help="If sessions were done with it, retire it instead of refusing."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete a device no session used (one that sessions used can only be retired)."""
    _delete("device", device_id, db, None, as_json, device_in_use="retire" if retire else "refuse")


def plan_edit(
    pairs: list[str] = SetOption,
    effective_from: str | None = typer.Option(
        None,
        "--effective-from",
        help="From which day the change applies (default today); past sessions keep their plan.",
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Change the active plan from a date on (a new version; sessions before keep the version they were done under)."""
    from regrow import _edits

    jr = _jr()
    fields = _fields(jr.Plan, pairs)
    with _journal(db, None) as (engine, _store):
        row = _edits.edit(
            engine,
            person_id=_person(engine),
            kind="plan",
            row_id=None,
            fields=fields,
            effective_from=effective_from,
        )
    if as_json:
        emit_json(_plain(row))
    else:
        typer.echo(f"Plan version {row['id']} in force from {row['effective_from']}.")


def plan_delete(
    plan_id: int = typer.Argument(
        ..., metavar="VERSION_ID", help="A plan version id (see plan show --json)."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete one plan version (the one it replaced becomes active again)."""
    _delete("plan", plan_id, db, None, as_json)


def profile_clear(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Delete your profile and screening answers only (the rest of the journal stays; undo brings them back)."""
    _delete("profile", None, db, None, as_json)


# --- measurements and photos -----------------------------------------------------------------------------------


def measurement_list(
    site: str | None = typer.Option(None, "--site", help="One site only."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List measurements with their count, its source (automatic, manual, corrected) and review flags."""
    jr = _jr()
    with _my_journal(db) as (session, me):
        rows = [_row(m) for m in jr.list_measurements(session, person_id=me, site=site)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("No measurements yet.")
    for m in rows:
        flag = f"  FLAGGED: {m['review_reason']}" if m["review_status"] == "flagged" else ""
        count = "-" if m["hair_count"] is None else f"{m['hair_count']} ({m['count_source']})"
        density = "-" if m["density_per_cm2"] is None else f"{m['density_per_cm2']:.0f}/cm²"
        photo = f" photo {m['photo_id']}" if m["photo_id"] else ""
        typer.echo(f"{m['id']}: {m['taken_at'][:10]} {m['site']} count {count}, {density}{photo}{flag}")


def measurement_edit(
    measurement_id: int = typer.Argument(..., metavar="ID"),
    pairs: list[str] = SetOption,
    new_site: bool = NewSiteOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a measurement (hair_count= is your count: it replaces the automatic one, never averaged)."""
    _edit("measurement", measurement_id, pairs, db, False, as_json, new_site=new_site)


def measurement_delete(
    measurement_id: int = typer.Argument(..., metavar="ID"),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete a hand count (a photo's measurement goes with its photo: regrow photo delete)."""
    _delete("measurement", measurement_id, db, None, as_json)


def measurement_review(
    measurement_id: int = typer.Argument(..., metavar="ID"),
    accept: bool = typer.Option(..., "--accept/--reflag", help="--accept: use it; --reflag: check it again."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Accept a measurement flagged as unusual (it is analysed from then on), or re-check it."""
    jr = _jr()
    with _my_journal(db) as (session, me):
        row = _row(jr.review_measurement(session, person_id=me, measurement_id=measurement_id, accept=accept))
    _echo_row("measurement", row, as_json)


photo_app = typer.Typer(
    help="Your scalp photos: list, show, edit, delete, correct the count.", no_args_is_help=True
)


def calibration_options(
    um_per_px: float | None, device: str | None, ruler: Path | None, pitch_um: float, *, required: bool
) -> tuple[float | None, str | None]:
    """``(um_per_px, device)`` from the options ``--um-per-px``, ``--device`` or ``--ruler`` (at most one;
    exactly one when ``required``); a ruler photo is turned into micrometres per pixel."""
    given = sum(x is not None for x in (um_per_px, device, ruler))
    if given > 1 or (required and given == 0):
        raise InputError.invalid(
            "calibration", f"{given} of them given", "exactly one of --um-per-px, --device or --ruler"
        )
    if ruler is not None:
        from regrow.measure import calibrate_from_ruler, load_image_safely

        return calibrate_from_ruler(load_image_safely(ruler), pitch_um=pitch_um).um_per_px, None
    return um_per_px, device


def image_suffix(path: Path) -> str:
    """The stored format of an image file, by its extension."""
    suffix = _SUFFIXES.get(path.suffix.lower())
    if suffix is None:
        raise InputError.invalid("image", path.name, "a .jpg, .jpeg, .png, .tif, .tiff, .webp or .bmp file")
    if not path.is_file():
        raise InputError.invalid("image", str(path), "an existing image file")
    return suffix


_SUFFIXES = {
    ".jpg": ".jpg",
    ".jpeg": ".jpg",
    ".png": ".png",
    ".tif": ".tif",
    ".tiff": ".tif",
    ".webp": ".webp",
    ".bmp": ".png",
}


@photo_app.command("add")
def photo_add(
    images: list[Path] = typer.Argument(..., metavar="IMAGE...", help="JPEG, PNG, TIFF, WebP or BMP files."),
    site: str = typer.Option(..., "--site", help="Scalp site, e.g. vertex (see docs: site names)."),
    date: str | None = typer.Option(
        None, "--date", help="When the photos were taken (ISO 8601); now by default."
    ),
    um_per_px: float | None = UmPerPxOption,
    device: str | None = DeviceOption,
    ruler: Path | None = RulerOption,
    ruler_pitch_um: float = RulerPitchOption,
    camera: str | None = typer.Option(None, "--camera", help="Camera or trichoscope used."),
    allow_duplicate: bool = typer.Option(
        False, "--allow-duplicate", help="Store an image already stored for this site."
    ),
    new_site: bool = NewSiteOption,
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = JsonOption,
) -> None:
    """Store scalp photos in the journal: metadata stripped in memory, measured, overlay kept (as the web app does).

    An image whose quality makes its count unreliable (blurred, too dark or bright, ...) is stored but flagged
    for review: progress leaves it out until you accept or correct it. Each failed file is reported and the
    others go on; the exit status is 2 when any failed.
    """
    from regrow import _photos

    um_per_px, device = calibration_options(um_per_px, device, ruler, ruler_pitch_um, required=True)
    when = date or dt.datetime.now().replace(microsecond=0).isoformat()
    results, failed = [], 0
    with _journal(db, photos_dir) as (engine, store):
        me = _person(engine)
        progress = _progress(len(images), quiet or as_json)
        for path in images:
            try:
                suffix = image_suffix(path)
                stored = _photos.store_photo(
                    engine,
                    store,
                    path.read_bytes(),
                    person_id=me,
                    suffix=suffix,
                    original_name=path.name,
                    site=site,
                    taken_at=when,
                    um_per_px=um_per_px,
                    device=device,
                    camera=camera,
                    allow_duplicate=allow_duplicate,
                    new_site=new_site,
                )
                m = stored["measurement"]
                item = {
                    "image": str(path),
                    "photo_id": stored["photo"]["id"],
                    "measurement_id": m["id"],
                    "hair_count": m["hair_count"],
                    "density_per_cm2": m["density_per_cm2"],
                    "quality_flags": m["quality_flags"],
                    "review_status": m["review_status"],
                    "review_reason": m["review_reason"],
                }
            except (InputError, OSError) as exc:
                failed += 1
                item = {"image": str(path), "error": str(exc)}
                if not as_json:
                    typer.echo(f"error: {path}: {exc}", err=True)
            results.append(item)
            progress()
    if as_json:
        emit_json(_plain_items(results))
    else:
        for item in results:
            if "error" in item:
                continue
            note = (
                f"  FLAGGED for review: {item['review_reason']}" if item["review_status"] == "flagged" else ""
            )
            name = Path(item["image"]).name
            count = f"{item['hair_count']} hairs, {item['density_per_cm2']:.0f}/cm²"
            typer.echo(f"Photo {item['photo_id']}: {count} ({name}){note}")
    if failed:
        raise typer.Exit(2)


def _plain_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_plain(i) for i in items]


def _progress(total: int, quiet: bool):
    """A callable advancing a progress bar on stderr (nothing for one file or when quiet)."""
    if quiet or total < 2:
        return lambda: None
    from rich.progress import Progress

    bar = Progress(transient=True, console=None)
    bar.start()
    task = bar.add_task("Measuring photos", total=total)

    def advance() -> None:
        bar.advance(task)
        if bar.finished:
            bar.stop()

    return advance


@photo_app.command("list")
def photo_list(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """List photos with their count and where it comes from."""
    jr = _jr()
    with _my_journal(db) as (session, me):
        counts = {m.photo_id: m for m in jr.list_measurements(session, person_id=me) if m.photo_id}
        rows = []
        for p in jr.list_photos(session, person_id=me):
            m = counts.get(p.id)
            row = {k: v for k, v in _row(p).items() if k != "file_name"}
            row.update(
                hair_count=None if m is None else m.hair_count,
                count_source=None if m is None else m.count_source,
                measurement_id=None if m is None else m.id,
            )
            rows.append(row)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("No photos yet.")
    for r in rows:
        typer.echo(
            f"{r['id']}: {r['taken_at'][:10]} {r['site']} {r['hair_count']} hairs ({r['count_source']})"
        )


@photo_app.command("show")
def photo_show(
    photo_id: int = typer.Argument(..., metavar="ID"),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """One photo: its measurement, corrections, and where its image and overlay files are."""
    jr = _jr()
    with _journal(db, photos_dir) as (engine, store), jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session).id
        photo = jr.get_photo(session, person_id=me, photo_id=photo_id)
        m = next((m for m in jr.list_measurements(session, person_id=me) if m.photo_id == photo.id), None)
        body = {k: v for k, v in _row(photo).items() if k != "file_name"}
        body.update(
            image=str(store.path(photo.file_name)),
            overlay=str(store.overlay_path(photo.sha256)),
            measurement=None if m is None else _row(m),
            corrections=[_row(c) for c in jr.list_corrections(session, person_id=me, photo_id=photo.id)],
        )
    if as_json:
        emit_json(body)
        return
    count = (
        body["measurement"]
        and f"{body['measurement']['hair_count']} hairs ({body['measurement']['count_source']})"
    )
    typer.echo(f"Photo {photo_id}: {body['taken_at'][:10]} {body['site']}, {count}")
    typer.echo(f"  image:   {body['image']}\n  overlay: {body['overlay']}")


@photo_app.command("edit")
def photo_edit(
    photo_id: int = typer.Argument(..., metavar="ID"),
    pairs: list[str] = SetOption,
    new_site: bool = NewSiteOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a photo's site or date (its measurement follows)."""
    _edit("photo", photo_id, pairs, db, False, as_json, new_site=new_site)


@photo_app.command("delete")
def photo_delete(
    photo_id: int = typer.Argument(..., metavar="ID"),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete a photo, its measurement and corrections; its files wait in the trash so undo can restore them."""
    _delete("photo", photo_id, db, photos_dir, as_json)


@photo_app.command("count")
def photo_count(
    photo_id: int = typer.Argument(..., metavar="ID"),
    hairs: int | None = typer.Argument(
        None, metavar="HAIRS", help="Your count; leave out to go back to the automatic count."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Set a photo's count by hand (it replaces the automatic count; corrected detections still win)."""
    jr = _jr()
    with _my_journal(db) as (session, me):
        m = next((m for m in jr.list_measurements(session, person_id=me) if m.photo_id == photo_id), None)
        if m is None:
            jr.get_photo(session, person_id=me, photo_id=photo_id)
            raise InputError.invalid("photo", photo_id, "a measured photo")
        row = _row(
            jr.edit_record(
                session, person_id=me, kind="measurement", row_id=m.id, fields={"hair_count": hairs}
            )
        )
    if as_json:
        emit_json(row)
    else:
        typer.echo(f"Photo {photo_id}: {row['hair_count']} hairs ({row['count_source']}).")


@photo_app.command("correct")
def photo_correct(
    photo_id: int = typer.Argument(..., metavar="ID"),
    add: list[str] = typer.Option([], "--add", help="X,Y (pixels) of a missed hair; repeatable."),
    remove: list[str] = typer.Option([], "--remove", help="X,Y of a false detection; repeatable."),
    undo_id: list[int] = typer.Option([], "--undo", help="Take back correction ID; repeatable."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Add missed hairs or remove false detections on a photo; its count becomes 'corrected'."""
    jr = _jr()
    if not (add or remove or undo_id):
        raise InputError.invalid("correction", None, "at least one --add X,Y, --remove X,Y or --undo ID")
    with _my_journal(db) as (session, me):
        for action, points in (("add", add), ("remove", remove)):
            for point in points:
                x, y = _point(point, action)
                jr.add_correction(session, person_id=me, photo_id=photo_id, action=action, x_px=x, y_px=y)
        for correction in undo_id:
            jr.delete_correction(session, person_id=me, correction_id=correction)
        m = next(m for m in jr.list_measurements(session, person_id=me) if m.photo_id == photo_id)
        body = {
            "photo_id": photo_id,
            "hair_count": m.hair_count,
            "count_source": m.count_source,
            "automatic_count": m.automatic_count,
            "corrections": [_row(c) for c in jr.list_corrections(session, person_id=me, photo_id=photo_id)],
        }
    if as_json:
        emit_json(body)
    else:
        typer.echo(
            f"Photo {photo_id}: {body['hair_count']} hairs ({body['count_source']}; automatic "
            f"{body['automatic_count']}, {plural(len(body['corrections']), 'corrections')})."
        )


def _point(text: str, action: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise InputError.invalid(f"--{action}", text, "X,Y in pixels, such as 512,300") from exc


@photo_app.command("labels")
def photo_labels(
    out: Path = typer.Argument(..., help="Folder to write Pascal-VOC XML and image copies into."),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Export your corrected photos as Pascal-VOC labels (training data for `regrow measure train`)."""
    from regrow._labels import export_voc

    with _journal(db, photos_dir) as (engine, store):
        written = export_voc(engine, store, out, person_id=_person(engine))
    if as_json:
        emit_json(written)
    else:
        typer.echo(f"Wrote {written['images']} labelled images ({written['boxes']} boxes) into {out}")


# --- history and undo -------------------------------------------------------------------------------------------


def history(
    limit: int = typer.Option(20, "--limit", min=1, max=10000, help="How many changes to show."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """What changed, newest first: when, from which interface, old and new values."""
    jr = _jr()
    with _my_journal(db) as (session, me):
        groups = [g.to_dict() for g in jr.list_history(session, person_id=me, limit=limit)]
    if as_json:
        emit_json(groups)
        return
    if not groups:
        typer.echo("No changes yet.")
    for g in groups:
        mark = " (undone)" if g["undone_by"] else ""
        typer.echo(f"{g['at'].replace('T', ' ')}  [{g['interface']}]  {g['summary']}{mark}")


def undo(
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Revert your newest change that is not undone yet (run again to go further back)."""
    from regrow import _edits

    with _journal(db, photos_dir) as (engine, store):
        result = _edits.undo(engine, store, person_id=_person(engine))
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"Undone: {result['undone']['summary']}")


def register(app: typer.Typer) -> None:
    """Mount the edit/delete/history/undo commands (and add edit/delete to device, plan, profile, measurement)."""
    for noun in NOUNS:
        app.add_typer(_noun_app(noun), name=noun)
    app.add_typer(photo_app, name="photo")
    device_app.command("edit")(device_edit)
    device_app.command("delete")(device_delete)
    plan_app.command("edit")(plan_edit)
    plan_app.command("delete")(plan_delete)
    profile_app.command("clear")(profile_clear)
    from regrow.cli.progress import measurement_app

    measurement_app.command("list")(measurement_list)
    measurement_app.command("edit")(measurement_edit)
    measurement_app.command("delete")(measurement_delete)
    measurement_app.command("review")(measurement_review)
    app.command("history")(history)
    app.command("undo")(undo)
