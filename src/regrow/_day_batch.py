"""A clinic's day of scalp images measured on Dask and stored in the journal (``regrow measure --dask``).

Joins :mod:`regrow.measure` (the Dask orchestration in ``regrow.measure._dask``) and :mod:`regrow.journal`
through the one photo pipeline both front ends use (:mod:`regrow._photos`): the workers run
:func:`regrow._photos.prepare_photo` (metadata stripped in memory, measured, overlay drawn; bytes in, a
prepared photo out, no database), and this process stores each prepared photo with
:func:`regrow._photos.save_photos` in its own transaction as it arrives. A failed image or a dead worker
therefore never leaves a row without its file or a file without its row.

Idempotency: the journal's key of a photo is the SHA-256 of its clean (metadata-free) bytes per person and
site. The workers get the keys already stored for their image's patient and site and skip such an image
before measuring it; the write refuses a duplicate again (another run in between, or the same image twice
in one manifest). Either way the image is reported ``skipped`` and nothing is stored twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from regrow import _photos
from regrow import journal as jr
from regrow.errors import DataFileError, DuplicateError, InputError, NotFoundError, RegrowError
from regrow.journal._measure import sites_in_use

__all__ = [
    "MANIFEST_COLUMNS",
    "DayImage",
    "DayItem",
    "DayReport",
    "measure_day",
    "prepare_remote",
    "read_manifest",
    "scan_day_folder",
    "write_report",
]

#: Manifest columns: the required ones, then the optional ones (a row's calibration wins over the command's).
REQUIRED_COLUMNS = ("file", "patient", "site", "taken_at")
OPTIONAL_COLUMNS = ("um_per_px", "device", "camera")
MANIFEST_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: Image files a day folder may hold (the formats ``regrow photo add`` stores).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
#: Problems listed in one pre-flight error before "... and N more".
MAX_LISTED = 5
#: Status of an image in the report.
STATUSES = ("measured", "skipped", "failed")


@dataclass(frozen=True)
class DayImage:
    """One image of the day: where it is, whose it is, which site, when, and its calibration."""

    row: int
    path: Path
    patient: int
    site: str
    taken_at: dt.datetime
    um_per_px: float | None = None
    device: str | None = None
    camera: str | None = None


@dataclass
class DayItem:
    """The outcome of one image: ``measured`` (stored now), ``skipped`` (already stored: ``photo_id`` is the
    stored photo) or ``failed`` (``message`` says why)."""

    row: int
    file: str
    patient: int
    site: str
    taken_at: str
    status: str
    message: str | None = None
    photo_id: int | None = None
    measurement_id: int | None = None
    hair_count: int | None = None
    density_per_cm2: float | None = None
    review_status: str | None = None


@dataclass
class DayReport:
    """Every image's outcome (input order) and the totals."""

    items: list[DayItem] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    scheduler: str | None = None

    def count(self, status: str) -> int:
        """How many images ended with ``status``."""
        return sum(item.status == status for item in self.items)

    def summary(self) -> dict[str, Any]:
        """Totals as plain JSON values."""
        n = len(self.items)
        return {
            "images": n,
            **{status: self.count(status) for status in STATUSES},
            "seconds": round(self.seconds, 3),
            "images_per_s": round(n / self.seconds, 3) if self.seconds > 0 else None,
            "workers": self.workers,
            "scheduler": self.scheduler,
        }

    def to_dict(self) -> dict[str, Any]:
        """The summary and every item."""
        return {**self.summary(), "items": [asdict(item) for item in self.items]}


# --- input ------------------------------------------------------------------------------------------------


def _listed(problems: list[str]) -> str:
    more = len(problems) - MAX_LISTED
    return "; ".join(problems[:MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")


def _calibration(
    where: str, um_per_px: str | float | None, device: str | None, default: tuple[float | None, str | None]
) -> tuple[float | None, str | None]:
    """A row's ``(um_per_px, device)``: its own (exactly one) or the command's; checked now."""
    from regrow.measure import resolve_calibration

    if um_per_px is None and device is None:
        um_per_px, device = default
    if um_per_px is not None and device is not None:
        raise InputError(f"{where}: give um_per_px or device, not both.", field="um_per_px")
    if um_per_px is None and device is None:
        raise InputError(
            f"{where}: no calibration; fill the um_per_px or device column, or give --um-per-px or --device.",
            field="um_per_px",
        )
    if um_per_px is not None:
        try:
            um_per_px = float(um_per_px)
        except ValueError as exc:
            raise InputError.invalid(
                f"{where}, column 'um_per_px'", um_per_px, "a number such as 2.76"
            ) from exc
    try:
        resolve_calibration(um_per_px=um_per_px, device=device)
    except InputError as exc:
        raise InputError(f"{where}: {exc}", field=exc.field, value=exc.value, allowed=exc.allowed) from exc
    return um_per_px, device


def _checked_path(path: Path) -> str | None:
    """Why ``path`` cannot be measured, or None."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"{path.name}: not an image file name (allowed: {', '.join(IMAGE_SUFFIXES)})"
    if not path.is_file():
        return f"{path}: no such file"
    return None


def read_manifest(
    path: str | os.PathLike[str], *, um_per_px: float | None = None, device: str | None = None
) -> list[DayImage]:
    """Read a day's manifest CSV: one row per image, every row checked before anything is measured.

    Columns (header row, any order): ``file`` (path, relative to the manifest's folder or absolute),
    ``patient`` (the journal person id, an integer), ``site`` (scalp site, e.g. ``vertex``), ``taken_at``
    (ISO 8601 date or date-time); optional ``um_per_px`` or ``device`` (the row's calibration, else the
    command's ``um_per_px``/``device``) and ``camera``.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8, optionally with a byte-order mark).
    um_per_px, device : optional
        Calibration of rows that give none.

    Returns
    -------
    list of DayImage
        In file order; ``row`` is the CSV line number (the header is line 1).

    Raises
    ------
    DataFileError
        Not a readable CSV, a missing or unknown column, a bad value (names the row, the column and what is
        allowed), or image files that are missing (all listed).
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError.not_a_file(source)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{source}: not a readable UTF-8 CSV file ({exc}).", path=str(source)) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in MANIFEST_COLUMNS]
    if missing or unknown:
        what = (
            f"missing column(s) {', '.join(missing)}"
            if missing
            else f"unknown column(s) {', '.join(unknown)}"
        )
        raise DataFileError(
            f"{source}: {what}; the columns are {', '.join(REQUIRED_COLUMNS)} (required) and "
            f"{', '.join(OPTIONAL_COLUMNS)} (optional).",
            path=str(source),
            row=1,
            column=(missing or unknown)[0],
        )
    images, absent = [], []
    for raw in reader:
        row = reader.line_num
        cells = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            raise DataFileError(
                f"{source} row {row}: more cells than columns.", path=str(source), row=row, column=None
            )
        image = _manifest_row(source, row, cells, (um_per_px, device))
        problem = _checked_path(image.path)
        if problem is not None:
            absent.append(f"row {row}: {problem}")
        images.append(image)
    if absent:
        raise DataFileError(
            f"{source}: {len(absent)} image file(s) cannot be measured, nothing was measured: {_listed(absent)}.",
            path=str(source),
            column="file",
        )
    if not images:
        raise DataFileError(f"{source}: no image rows under the header.", path=str(source))
    return images


def _manifest_row(
    source: Path, row: int, cells: dict[str, str], default: tuple[float | None, str | None]
) -> DayImage:
    where = f"{source} row {row}"

    def bad(column: str, allowed: str) -> DataFileError:
        value = cells.get(column) or None
        head = f"missing {column}" if value is None else f"invalid {column} {value!r}"
        return DataFileError(
            f"{where}, column '{column}': {head}; must be {allowed}.",
            path=str(source),
            row=row,
            column=column,
        )

    for column in REQUIRED_COLUMNS:
        if not cells.get(column):
            raise bad(column, "filled in")
    try:
        patient = int(cells["patient"])
    except ValueError:
        patient = 0
    if patient < 1:
        raise bad("patient", "a patient (journal person) id, a whole number from 1")
    try:
        site = jr.canonical_site(cells["site"])
    except InputError as exc:
        raise bad("site", exc.allowed or "a scalp site name such as vertex") from exc
    try:
        taken_at = jr.parse_datetime("taken_at", cells["taken_at"])
    except InputError as exc:
        raise bad("taken_at", "an ISO 8601 date or date-time such as 2026-12-03T09:30") from exc
    try:
        um, dev = _calibration(where, cells.get("um_per_px") or None, cells.get("device") or None, default)
    except InputError as exc:
        raise DataFileError(str(exc), path=str(source), row=row, column=exc.field or "um_per_px") from exc
    path = Path(cells["file"]).expanduser()
    return DayImage(
        row=row,
        path=path if path.is_absolute() else source.parent / path,
        patient=patient,
        site=site,
        taken_at=taken_at,
        um_per_px=um,
        device=dev,
        camera=cells.get("camera") or None,
    )


def scan_day_folder(
    folder: str | os.PathLike[str],
    *,
    taken_at: str | dt.date | dt.datetime | None = None,
    um_per_px: float | None = None,
    device: str | None = None,
) -> list[DayImage]:
    """The images of a day folder laid out as ``DAY/<patient-id>/<site>/<image files>``.

    Parameters
    ----------
    folder : path-like
        The day's folder; its name is the date (``2026-12-03``) unless ``taken_at`` is given.
    taken_at : date, date-time or ISO 8601 str, optional
        When the images were taken (every image of the folder).
    um_per_px, device : optional
        Calibration of every image (exactly one).

    Returns
    -------
    list of DayImage
        Sorted by patient, site and file name; ``row`` numbers them from 1.

    Raises
    ------
    InputError
        No date, a sub-folder that is not a patient id, a file that is not an image, no image at all.
    """
    day = Path(folder)
    if not day.is_dir():
        raise InputError.invalid("--day", str(day), "a folder laid out as DAY/<patient-id>/<site>/*.jpg")
    if taken_at is None:
        try:
            when = jr.parse_datetime("taken_at", day.name)
        except InputError as exc:
            raise InputError.invalid(
                "--date",
                None,
                f"given, or the folder named by its date such as 2026-12-03 (not {day.name!r})",
            ) from exc
    else:
        when = jr.parse_datetime("--date", taken_at)
    cal = _calibration(str(day), None, None, (um_per_px, device))
    images, problems = [], []
    for patient_dir in sorted(p for p in day.iterdir() if not p.name.startswith(".")):
        if not patient_dir.is_dir() or not patient_dir.name.isdigit() or int(patient_dir.name) < 1:
            problems.append(f"{patient_dir.name}: not a patient-id folder (a whole number from 1)")
            continue
        for site_dir in sorted(p for p in patient_dir.iterdir() if not p.name.startswith(".")):
            if not site_dir.is_dir():
                problems.append(f"{patient_dir.name}/{site_dir.name}: a file where a site folder belongs")
                continue
            site = jr.canonical_site(site_dir.name)
            for path in sorted(p for p in site_dir.iterdir() if not p.name.startswith(".")):
                problem = _checked_path(path)
                if problem is not None:
                    problems.append(f"{patient_dir.name}/{site_dir.name}/{problem}")
                    continue
                images.append(
                    DayImage(len(images) + 1, path, int(patient_dir.name), site, when, cal[0], cal[1])
                )
    if problems:
        raise InputError(
            f"{day}: {len(problems)} problem(s) with the layout DAY/<patient-id>/<site>/<images>, nothing was "
            f"measured: {_listed(problems)}.",
            field="--day",
        )
    if not images:
        raise InputError(f"{day}: no image under DAY/<patient-id>/<site>/.", field="--day")
    return images


def _check_patients_and_sites(session: Any, images: Sequence[DayImage], *, new_site: bool) -> None:
    """Every patient id is a journal person, and no site is a near-miss of one in use (before any work)."""
    rows: dict[int, list[int]] = {}
    for image in images:
        rows.setdefault(image.patient, []).append(image.row)
    unknown = [p for p in sorted(rows) if session.get(jr.Person, p) is None]
    if unknown:
        listed = [
            f"{p} (row {', '.join(map(str, rows[p][:3]))}{', ...' if len(rows[p]) > 3 else ''})"
            for p in unknown
        ]
        raise NotFoundError(
            f"Unknown patient id(s) {_listed(listed)}: no such person in this journal; nothing was measured."
        )
    if new_site:
        return
    problems = []
    for patient, site in sorted({(i.patient, i.site) for i in images}):
        try:
            jr.check_new_site(site, sites_in_use(session, person_id=patient), allow=False)
        except DuplicateError as exc:
            problems.append(f"patient {patient}: {exc}")
    if problems:
        raise DuplicateError(_listed(problems), field="site", allowed="a site in use, or --new-site")


def _stored_keys(session: Any, images: Sequence[DayImage]) -> dict[tuple[int, str], frozenset[str]]:
    """The SHA-256s already stored per (patient, site) of this batch."""
    out = {}
    for patient, site in {(i.patient, i.site) for i in images}:
        query = select(jr.Photo.sha256).where(jr.Photo.person_id == patient, jr.Photo.site == site)
        out[(patient, site)] = frozenset(session.scalars(query))
    return out


# --- the workers' part -------------------------------------------------------------------------------------


def software_versions() -> dict[str, str]:
    """The versions that decide a photo's clean bytes and its measurement (the same on client and workers).

    The idempotency key is the SHA-256 of the clean image, which Pillow (and its JPEG library) encodes, so a
    worker with another Pillow would store the same image again under another key.
    """
    import cv2
    import numpy
    import PIL

    import regrow

    return {
        "regrow": regrow.__version__,
        "Pillow": PIL.__version__,
        "opencv": cv2.__version__,
        "numpy": numpy.__version__,
    }


def check_workers(client: Any) -> None:
    """Refuse a cluster whose workers run other versions of :func:`software_versions` than this process.

    Raises
    ------
    InputError
        Naming the worker, the package and both versions.
    """
    mine = software_versions()
    problems = [
        f"worker {worker} has {name} {theirs.get(name)} (this client {version})"
        for worker, theirs in sorted(client.run(software_versions).items())
        for name, version in mine.items()
        if theirs.get(name) != version
    ]
    if problems:
        raise InputError(
            f"The Dask workers must run the same software as this client, or the same image would be stored "
            f"twice under another checksum; nothing was measured: {_listed(problems)}.",
            field="--scheduler",
        )


def prepare_remote(data: bytes, options: dict[str, Any], stored: frozenset[str]) -> tuple[str, Any]:
    """Run on a worker: strip and measure one image in memory (no database, no files).

    Returns
    -------
    tuple
        ``("prepared", PreparedPhoto)``, ``("skipped", sha256)`` (its SHA-256 is in ``stored``) or
        ``("failed", message)`` for a bad image. Anything else raises, so that Dask retries the task.
    """
    import cv2

    cv2.setNumThreads(1)  # one core per task: scaling comes from workers
    try:
        return "prepared", _photos.prepare_photo(data, skip_sha256=stored, **options)
    except DuplicateError as exc:
        return "skipped", exc.value
    except RegrowError as exc:
        return "failed", str(exc)


# --- the client's part -------------------------------------------------------------------------------------


def _item(image: DayImage, status: str, message: str | None = None) -> DayItem:
    return DayItem(
        row=image.row,
        file=str(image.path),
        patient=image.patient,
        site=image.site,
        taken_at=image.taken_at.isoformat(),
        status=status,
        message=message,
    )


def _suffix(path: Path) -> str:
    lower = path.suffix.lower()
    return {".jpeg": ".jpg", ".tiff": ".tif", ".bmp": ".png"}.get(lower, lower)


def _store(engine: Engine, store: jr.PhotoStore, image: DayImage, prepared: Any) -> DayItem:
    """Store one prepared photo and its measurement in its own transaction (all or nothing)."""
    try:
        saved = _photos.save_photos(engine, store, [prepared], person_id=image.patient)[0]
    except DuplicateError as exc:
        skipped = _skipped(engine, image, hashlib.sha256(prepared.clean).hexdigest())
        return skipped if skipped.photo_id is not None else _item(image, "failed", str(exc))
    except RegrowError as exc:
        return _item(image, "failed", str(exc))
    item = _item(image, "measured")
    m = saved["measurement"]
    item.photo_id, item.measurement_id = saved["photo"]["id"], m["id"]
    item.hair_count, item.density_per_cm2, item.review_status = (
        m["hair_count"],
        m["density_per_cm2"],
        m["review_status"],
    )
    return item


def _skipped(engine: Engine, image: DayImage, sha256: str) -> DayItem:
    """The ``skipped`` item of an image stored before (``photo_id`` None when it is not stored after all)."""
    item = _item(image, "skipped", "already measured")
    with jr.session_scope(engine) as session:
        query = select(jr.Photo.id).where(
            jr.Photo.person_id == image.patient, jr.Photo.site == image.site, jr.Photo.sha256 == sha256
        )
        item.photo_id = session.scalars(query.order_by(jr.Photo.id).limit(1)).first()
    return item


def _error_text(error: BaseException) -> str:
    name = type(error).__name__
    if name == "KilledWorker":
        return "every worker that ran it died (KilledWorker); the image may crash the measurement"
    return f"{name}: {error}" if str(error) else name


def measure_day(
    engine: Engine,
    store: jr.PhotoStore,
    images: Sequence[DayImage],
    *,
    client: Any,
    retries: int | None = None,
    new_site: bool = False,
    in_flight: int | None = None,
    on_item: Callable[[DayItem], None] | None = None,
) -> DayReport:
    """Measure a day's images on a Dask cluster and store each result in the journal as it arrives.

    Before any work: every patient id must be a journal person, no site a near-miss of one in use, and every
    worker runs the same versions of regrow, Pillow, OpenCV and NumPy as this process. Then
    each image's bytes go to a worker, which strips and measures it (:func:`prepare_remote`); this process
    stores each result in its own transaction. Images already stored for their patient and site (same
    SHA-256 of the clean image) are skipped, so re-running a day, or the rest of an interrupted day, stores
    only what is missing.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A migrated journal.
    store : PhotoStore
        The journal's photo folder.
    images : sequence of DayImage
        From :func:`read_manifest` or :func:`scan_day_folder`.
    client : distributed.Client
        From :func:`regrow.measure._dask.dask_client`.
    retries : int, optional
        Extra attempts of a task that raised (default ``regrow.measure._dask.DEFAULT_RETRIES``, 2).
    new_site : bool
        Allow site names that are new and close to one in use.
    in_flight : int, optional
        Most images on the cluster at once (default 4 per worker thread).
    on_item : callable, optional
        Called with each image's :class:`DayItem` as it is done (a progress bar).

    Returns
    -------
    DayReport
        Items in input order.

    Raises
    ------
    NotFoundError
        An unknown patient id (nothing measured).
    DuplicateError
        A new site name close to one in use, without ``new_site`` (nothing measured).
    InputError
        A worker runs other software versions (nothing measured).
    """
    from regrow.measure._dask import DEFAULT_RETRIES, run_on_dask

    started = time.perf_counter()
    if not images:
        return DayReport()
    with jr.session_scope(engine) as session:
        _check_patients_and_sites(session, images, new_site=new_site)
        stored = _stored_keys(session, images)
    check_workers(client)
    done: dict[int, DayItem] = {}

    def finish(index: int, item: DayItem) -> None:
        done[index] = item
        if on_item is not None:
            on_item(item)

    def tasks() -> Iterator[tuple[int, tuple[Any, ...]]]:
        for index, image in enumerate(images):
            try:
                data = image.path.read_bytes()
            except OSError as exc:
                finish(index, _item(image, "failed", f"{image.path}: cannot be read ({exc.strerror or exc})"))
                continue
            options = {
                "suffix": _suffix(image.path),
                "original_name": image.path.name,
                "site": image.site,
                "taken_at": image.taken_at,
                "um_per_px": image.um_per_px,
                "device": image.device,
                "camera": image.camera,
                "max_pixels": _photos.DEFAULT_MAX_IMAGE_PIXELS,
                "new_site": new_site,
            }
            yield index, (data, options, stored[(image.patient, image.site)])

    for outcome in run_on_dask(
        client,
        prepare_remote,
        tasks(),
        retries=DEFAULT_RETRIES if retries is None else retries,
        in_flight=in_flight,
    ):
        image = images[outcome.task_id]
        if outcome.error is not None:
            finish(outcome.task_id, _item(image, "failed", _error_text(outcome.error)))
            continue
        status, payload = outcome.result
        if status == "prepared":
            finish(outcome.task_id, _store(engine, store, image, payload))
        elif status == "skipped":
            finish(outcome.task_id, _skipped(engine, image, payload))
        else:
            finish(outcome.task_id, _item(image, status, payload))
    try:
        workers = len(client.scheduler_info().get("workers", {}))
    except (OSError, TimeoutError):
        workers = 0
    return DayReport(
        items=[done[i] for i in sorted(done)],
        seconds=time.perf_counter() - started,
        workers=workers,
        scheduler=getattr(getattr(client, "scheduler", None), "address", None),
    )


def write_report(report: DayReport, path: str | os.PathLike[str]) -> Path:
    """Write the per-image report: JSON for a ``.json`` path, else CSV (one row per image, atomically).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    out = Path(path)
    if out.suffix.lower() == ".json":
        text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
    else:
        buffer = io.StringIO()
        columns = list(DayItem.__dataclass_fields__)
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for item in report.items:
            writer.writerow(asdict(item))
        text = buffer.getvalue()
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError.invalid(
            "--report", str(out), f"a writable file path ({exc.strerror or exc})"
        ) from exc
    return out
