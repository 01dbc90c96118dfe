"""The photo folder: where a journal keeps its photo files, and how nothing is ever written outside it.

A photo row stores only a file *name*, ``<sha256><suffix>`` (64 lowercase hex digits and one of
:data:`PHOTO_SUFFIXES`), never a path: the folder is a setting of whoever opens the journal, and a name is
checked before it is joined to the folder, so no row (and no crafted export) can point outside it. Each photo
may have two derived files beside it, ``<sha256>.overlay.png`` (the measurement overlay) and
``<sha256>.json`` (the measurement summary).

Crash safety rests on one order and one lock:

- writers put files first and commit their rows second, while holding a *shared* lock on ``.lock``
  (:meth:`PhotoStore.writing`); a crash between the two leaves files without rows, never rows without files;
- :meth:`PhotoStore.sweep` takes the *exclusive* lock (so no write is in flight), asks the caller which
  hashes the journal references and removes every other file the store could have written: orphans,
  ``.pending-*`` temporary files and the upload leftovers of older versions. ``flock`` locks vanish with
  the process that held them, so a killed writer never blocks a later sweep.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from regrow.errors import DataFileError, InputError, StorageError

from ._private import FILE_MODE, private_dir, write_private

__all__ = [
    "PHOTOS_DIR_ENV",
    "PHOTO_SUFFIXES",
    "PhotoStore",
    "check_photo_file_name",
    "default_photos_dir",
    "photo_file_name",
]

#: Environment variable naming the photo folder (overrides the default beside the journal).
PHOTOS_DIR_ENV = "REGROW_PHOTOS_DIR"

#: Suffixes photo files are stored under (uploads are re-encoded into one of these formats).
PHOTO_SUFFIXES = (".jpg", ".png", ".tif", ".webp")
_NAME = re.compile(r"^(?P<sha>[0-9a-f]{64})(?P<suffix>\.jpg|\.png|\.tif|\.webp)$")
_DERIVED = re.compile(r"^(?P<sha>[0-9a-f]{64})(?:\.overlay\.png|\.json)$")
#: Names of temporary files and folders written by this or earlier versions (removed by a sweep).
_TEMPORARY = (".pending-", ".incoming", ".upload-", ".strip-")
#: Deleted photos' files wait here (hard links, same folder) so that undo can restore them.
TRASH = ".trash"
#: How long a deleted photo stays restorable by undo, in days (then the next sweep removes its files).
TRASH_DAYS = 30
#: How long "delete everything" waits for writers in flight before it gives up, in seconds.
EXCLUSIVE_WAIT_S = 30.0


def default_photos_dir(database_url: str, override: str | os.PathLike[str] | None = None) -> Path:
    """The photo folder of the journal at ``database_url``.

    ``override`` (a setting or option) wins, then ``$REGROW_PHOTOS_DIR``, then ``photos`` beside a SQLite
    journal file, else ``photos`` in the user data folder (PostgreSQL journals, in-memory SQLite).
    """
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(PHOTOS_DIR_ENV):
        return Path(os.environ[PHOTOS_DIR_ENV]).expanduser()
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(database_url)
    except Exception:  # a bad URL is reported by make_engine; fall through to the user data folder
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            return Path(database).expanduser().resolve().parent / "photos"
    import platformdirs

    return Path(platformdirs.user_data_dir("regrow", appauthor=False)) / "photos"


def photo_file_name(sha256: str, suffix: str) -> str:
    """The stored name of a photo file: ``<sha256><suffix>``.

    Raises
    ------
    InputError
        ``sha256`` is not 64 hex digits or ``suffix`` is not one of :data:`PHOTO_SUFFIXES`.
    """
    return check_photo_file_name(f"{str(sha256).lower()}{str(suffix).lower()}")


def check_photo_file_name(name: object, *, field: str = "stored_path") -> str:
    """Return ``name`` when it is a plain stored photo name (``<sha256><suffix>``), else refuse it.

    Raises
    ------
    InputError
        Anything else: a path, ``..``, another suffix, upper-case hex.
    """
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InputError.invalid(
            field, name, "a stored photo name <64 hex digits><" + "|".join(PHOTO_SUFFIXES) + ">, not a path"
        )
    return name


def legacy_photo_name(stored: object, sha256: object, *, where: str) -> str:
    """The stored name for a photo row of an older export, whose ``stored_path`` was an absolute path.

    Only the file's suffix is taken from the old path, and only when the path's last part is exactly the
    name regrow gave it (``<sha256><suffix>``); the folder part is never used. Paths with ``..`` parts are
    refused outright.

    Raises
    ------
    DataFileError
        The path is not one regrow wrote (names ``where``).
    """
    text = str(stored)
    parts = text.replace("\\", "/").split("/")
    name = parts[-1]
    match = _NAME.fullmatch(name)
    if ".." in parts or match is None or match["sha"] != str(sha256).lower():
        raise DataFileError(
            f"{where}: stored_path {text!r} is not a photo file regrow wrote (must be <sha256 of the photo>"
            f"<{'|'.join(PHOTO_SUFFIXES)}>); nothing was imported.",
            column="stored_path",
        )
    return name


class PhotoStore:
    """One journal's photo folder.

    Parameters
    ----------
    root : path-like
        The folder (created 0700 on first write). Every file in it is 0600.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"PhotoStore({str(self.root)!r})"

    # --- names and paths ------------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        """The file of stored photo ``name`` (checked: never a path outside :attr:`root`)."""
        return self.root / check_photo_file_name(name)

    def overlay_path(self, sha256: str) -> Path:
        """The measurement overlay of photo ``sha256``."""
        return self.root / f"{_sha(sha256)}.overlay.png"

    def sidecar_path(self, sha256: str) -> Path:
        """The measurement summary (JSON) of photo ``sha256``."""
        return self.root / f"{_sha(sha256)}.json"

    def files_of(self, name: str) -> list[Path]:
        """The photo file and its derived files (those that exist)."""
        sha = check_photo_file_name(name)[:64]
        return [p for p in (self.path(name), self.overlay_path(sha), self.sidecar_path(sha)) if p.is_file()]

    # --- locks ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, kind: int, *, wait_s: float | None) -> Iterator[bool]:
        private_dir(self.root)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            got = _flock(fd, kind, wait_s)
            try:
                yield got
            finally:
                if got:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the shared lock while files are put and their rows committed (many writers at once)."""
        with self._lock(fcntl.LOCK_SH, wait_s=EXCLUSIVE_WAIT_S) as got:
            if not got:
                raise StorageError(
                    f"The photo folder is busy (being cleared) for over {EXCLUSIVE_WAIT_S:g} s; nothing was "
                    "written, try again."
                )
            yield

    # --- writing ----------------------------------------------------------------------------------------

    def put(self, data: bytes, suffix: str) -> str:
        """Store photo bytes under their SHA-256 (0600, atomically); return the stored name.

        Call inside :meth:`writing`, and commit the row before leaving it.
        """
        name = photo_file_name(hashlib.sha256(data).hexdigest(), suffix)
        target = self.path(name)
        if not target.is_file():
            private_dir(self.root)
            write_private(target, data)
        return name

    def put_derived(self, sha256: str, kind: str, data: bytes) -> Path:
        """Store the ``"overlay"`` PNG or the ``"sidecar"`` JSON of a photo (0600, atomically)."""
        target = {"overlay": self.overlay_path, "sidecar": self.sidecar_path}[kind](sha256)
        private_dir(self.root)
        return write_private(target, data)

    def restore(self, source: Path, name: str, *, expected_sha256: str, where: str) -> bool:
        """Copy an exported photo file into the store under ``name`` after checking its SHA-256.

        Returns
        -------
        bool
            True when written, False when the store already holds that file.

        Raises
        ------
        DataFileError
            The copy's checksum does not match the exported row.
        """
        target = self.path(name)
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != expected_sha256:
            raise DataFileError(
                f"{where}: the photo file's SHA-256 does not match the exported row; nothing was imported.",
                column="sha256",
            )
        if target.is_file():
            return False
        private_dir(self.root)
        write_private(target, data)
        return True

    # --- removing ---------------------------------------------------------------------------------------

    # --- trash (undo of a photo deletion) ------------------------------------------------------------------

    def to_trash(self, name: str) -> None:
        """Keep a copy of a photo's files in the trash (hard links: no bytes copied) before its rows go."""
        trash = private_dir(self.root / TRASH)
        for file in self.files_of(name):
            target = trash / file.name
            if not target.exists():
                os.link(file, target)

    def trash_files_of(self, name: str) -> list[Path]:
        """A trashed photo's files (the photo and its derived files) that are in the trash."""
        sha = check_photo_file_name(name)[:64]
        trash = self.root / TRASH
        return [p for p in (trash / name, trash / f"{sha}.overlay.png", trash / f"{sha}.json") if p.is_file()]

    def put_trash(self, file_name: str, data: bytes) -> Path:
        """Put one file of a deleted photo into the trash (an import restoring what undo can bring back).

        ``file_name`` is the photo's stored name or one of its derived names (checked); call inside
        :meth:`writing`.
        """
        if not (_NAME.fullmatch(file_name) or _DERIVED.fullmatch(file_name)):
            raise InputError.invalid("trash file", file_name, "a stored photo file name")
        return write_private(private_dir(self.root / TRASH) / file_name, data)

    def from_trash(self, name: str) -> bool:
        """Put a trashed photo's files back (before its rows are restored); False when they are gone."""
        trash = self.root / TRASH
        sha = check_photo_file_name(name)[:64]
        found = False
        for part in (name, f"{sha}.overlay.png", f"{sha}.json"):
            source, target = trash / part, self.root / part
            if source.is_file():
                if not target.exists():
                    os.link(source, target)
                found = found or part == name
        return found or self.path(name).is_file()

    def sweep(
        self,
        referenced: Callable[[], Iterable[str]],
        *,
        recoverable: Callable[[], Iterable[str]] | None = None,
        wait_s: float = 0.0,
    ) -> list[str]:
        """Remove every file the store could have written that no row references, and temporary leftovers.

        Parameters
        ----------
        referenced : callable
            Returns the SHA-256 hashes the journal's photo rows reference; called while the exclusive lock
            is held (no writer in flight).
        recoverable : callable, optional
            Returns the hashes of deleted photos undo can still restore: their trashed files stay, every
            other file in the trash goes. Without it the trash is left alone.
        wait_s : float
            How long to wait for writers in flight; when they do not finish, nothing is removed this time.

        Returns
        -------
        list of str
            The names removed.
        """
        if not self.root.is_dir():
            return []
        with self._lock(fcntl.LOCK_EX, wait_s=wait_s) as got:
            if not got:
                return []
            keep = {str(s).lower() for s in referenced()}
            removed = []
            for entry in sorted(self.root.iterdir(), key=lambda p: p.name):
                if entry.name in (".lock", TRASH):
                    continue
                if entry.name.startswith(_TEMPORARY):
                    _remove(entry)
                    removed.append(entry.name)
                    continue
                match = _NAME.fullmatch(entry.name) or _DERIVED.fullmatch(entry.name)
                if match is not None and match["sha"] not in keep and entry.is_file():
                    entry.unlink(missing_ok=True)
                    removed.append(entry.name)
            if recoverable is not None:
                removed += self._sweep_trash(recoverable())
            return removed

    def _sweep_trash(self, recoverable: Iterable[str]) -> list[str]:
        """Remove trashed files no undo can bring back any more (``recoverable``: the hashes that can)."""
        trash = self.root / TRASH
        if not trash.is_dir():
            return []
        keep = {str(s).lower() for s in recoverable}
        removed = []
        for entry in sorted(trash.iterdir(), key=lambda p: p.name):
            match = _NAME.fullmatch(entry.name) or _DERIVED.fullmatch(entry.name)
            if match is None or match["sha"] not in keep:
                _remove(entry)
                removed.append(f"{TRASH}/{entry.name}")
        return removed

    def clear(self) -> list[str]:
        """Remove every file and folder in the store (``delete everything``); waits for writers in flight.

        Raises
        ------
        StorageError
            Writers kept the folder busy for over :data:`EXCLUSIVE_WAIT_S` s (nothing was removed).
        """
        if not self.root.is_dir():
            return []
        with self._lock(fcntl.LOCK_EX, wait_s=EXCLUSIVE_WAIT_S) as got:
            if not got:
                raise StorageError(
                    f"Photos are being written to {self.root.name!r} for over {EXCLUSIVE_WAIT_S:g} s; "
                    "no photo file was removed, try again."
                )
            removed = []
            for entry in sorted(self.root.iterdir(), key=lambda p: p.name):
                if entry.name != ".lock":
                    _remove(entry)
                    removed.append(entry.name)
            return removed


def _sha(value: str) -> str:
    text = str(value).lower()
    if re.fullmatch(r"[0-9a-f]{64}", text) is None:
        raise InputError.invalid("sha256", value, "64 hexadecimal digits")
    return text


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _flock(fd: int, kind: int, wait_s: float | None) -> bool:
    """Take ``kind`` on ``fd``, waiting up to ``wait_s`` seconds (forever when None); True when taken."""
    if wait_s is None:
        fcntl.flock(fd, kind)
        return True
    deadline = time.monotonic() + wait_s
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
