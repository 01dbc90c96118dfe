"""Private files and folders: everything the journal writes is readable by its owner only.

Photos, overlays, sidecars, the SQLite file and exports are health data (PRODUCT.md "Privacy"), so folders
the journal creates are mode 0700 and files 0600 whatever the process umask is. Files are written to a
temporary name in the same folder and renamed into place, so a crash never leaves a half-written file under
the final name.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_file", "write_private"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str], *, tighten: bool = True) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; return it.

    Parameters
    ----------
    path : path-like
    tighten : bool
        Also set 0700 on ``path`` itself when it already exists with looser permissions (only for folders
        that belong to regrow, such as the data folder and the photo folder).
    """
    folder = Path(path)
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for new in reversed(missing):
        with contextlib.suppress(FileExistsError):
            new.mkdir(mode=DIR_MODE)
        os.chmod(new, DIR_MODE)  # mkdir's mode is filtered by the umask
    if tighten and folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) & 0o077:
        with contextlib.suppress(PermissionError):
            os.chmod(folder, DIR_MODE)
    return folder


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode 0600 when missing, or tighten it to 0600 when it exists."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    with contextlib.suppress(PermissionError):
        os.chmod(target, FILE_MODE)
    return target


def write_private(path: str | os.PathLike[str], data: bytes, *, prefix: str = ".pending-") -> Path:
    """Write ``data`` to ``path`` atomically with mode 0600 (temporary file, fsync, rename).

    The temporary file is named ``<prefix><pid>-<random>`` in the target folder, so a crash leaves at
    most that file behind, which :meth:`regrow.journal.PhotoStore.sweep` recognises and removes.
    """
    target = Path(path)
    folder = target.parent
    tmp = folder / f"{prefix}{os.getpid()}-{os.urandom(6).hex()}{target.suffix}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
