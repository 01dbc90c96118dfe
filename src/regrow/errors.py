"""One exception hierarchy for regrow.

Every error the core raises on purpose derives from :class:`RegrowError`; the CLI turns it into one line
and a non-zero exit, the web app into one JSON error shape with the HTTP status in ``http_status``::

    RegrowError
    ├── InputError                 bad input from a person or a file (422)
    │   ├── DataFileError          a data file's row or column is wrong (names both)
    │   ├── ImageError             an image file cannot be read or is not allowed
    │   │   ├── UploadTooLargeError    a request body is over the upload size limit (413)
    │   │   └── UnsupportedTypeError   an uploaded file is not an accepted type (415)
    │   ├── RuleBlockedError       a "stop" safety finding was not acknowledged (409)
    │   └── DuplicateError         the same entry already exists; repeat with a confirmation (409)
    ├── NotFoundError              the thing asked for is not there (404)
    ├── PermissionDeniedError      the caller may not see or change it (403)
    ├── EstimationError            a statistical fit could not be done honestly
    │   ├── TooFewStudiesError     fewer observations than the model needs
    │   └── ConvergenceError       an iterative estimator did not converge
    ├── StorageError               the database failed (nothing was written)
    └── MissingExtraError          an optional dependency is not installed (says which pip extra)

Lower-level errors are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConvergenceError",
    "DataFileError",
    "DuplicateError",
    "EstimationError",
    "ImageError",
    "InputError",
    "MissingExtraError",
    "NotFoundError",
    "PermissionDeniedError",
    "RegrowError",
    "RuleBlockedError",
    "StorageError",
    "TooFewStudiesError",
    "TooManyAttemptsError",
    "UnsupportedTypeError",
    "UploadTooLargeError",
]


class RegrowError(Exception):
    """Base of every error regrow raises on purpose."""

    http_status = 500
    code = "error"

    def to_dict(self) -> dict[str, Any]:
        """The one error shape used by the JSON API and ``--json`` output."""
        return {"error": {"code": self.code, "message": str(self)}}


class InputError(RegrowError, ValueError):
    """Bad input: names the field, echoes the value and says what is allowed.

    Parameters
    ----------
    message : str
        The full sentence shown to a person.
    field : str, optional
        The parameter, column or form field at fault.
    value : object, optional
        The offending value, echoed back.
    allowed : str, optional
        What would have been accepted.
    """

    http_status = 422
    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, value: Any = None, allowed: str | None = None
    ):
        super().__init__(message)
        self.field = field
        self.value = value
        self.allowed = allowed

    @classmethod
    def invalid(cls, field: str, value: Any, allowed: str) -> InputError:
        """Build the standard message ``Invalid <field> <value!r>; must be <allowed>.`` (``Missing <field>;
        must be <allowed>.`` when nothing was given)."""
        head = f"Missing {field}" if value is None else f"Invalid {field} {value!r}"
        return cls(f"{head}; must be {allowed}.", field=field, value=value, allowed=allowed)

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.field is not None:
            body["error"]["field"] = self.field
        if self.allowed is not None:
            body["error"]["allowed"] = self.allowed
        return body


class DataFileError(InputError):
    """A data file is malformed; the message names the file, row and column."""

    def __init__(
        self, message: str, *, path: str | None = None, row: int | None = None, column: str | None = None
    ):
        super().__init__(message, field=column)
        self.path = path
        self.row = row
        self.column = column

    @classmethod
    def not_a_file(cls, path: Any) -> DataFileError:
        """The error for a path that is not a readable regular file: missing, a folder, or a device.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        DataFileError
        """
        if os.path.isdir(path):
            why = "is a folder, not a file"
        elif os.path.exists(path):
            why = "is not a regular file (a device or a pipe)"
        else:
            why = "no such file"
        return cls(f"{path}: {why}.", path=str(path))


class ImageError(InputError):
    """An image cannot be decoded or breaks the upload rules (size, type, pixels)."""


class UploadTooLargeError(ImageError):
    """A request body (upload or import) is larger than the configured limit."""

    http_status = 413
    code = "too_large"


class UnsupportedTypeError(ImageError):
    """An uploaded file is not one of the accepted types."""

    http_status = 415
    code = "unsupported_media_type"


class RuleBlockedError(InputError):
    """A safety rule with severity ``stop`` blocks the action until it is acknowledged with a reason."""

    http_status = 409
    code = "blocked"


class DuplicateError(InputError):
    """The entry looks like one already stored (same kind, site and day); stored only when confirmed."""

    http_status = 409
    code = "duplicate"


class NotFoundError(RegrowError, LookupError):
    """The record, file or resource asked for does not exist."""

    http_status = 404
    code = "not_found"


class PermissionDeniedError(RegrowError, PermissionError):
    """The caller is not entitled to see or change this record."""

    http_status = 403
    code = "forbidden"


class AuthenticationError(RegrowError):
    """Not signed in, a wrong password or code, an expired session or a locked account (clinic mode)."""

    http_status = 401
    code = "unauthenticated"


class TooManyAttemptsError(AuthenticationError):
    """Too many failed sign-ins from one address in a short time; try again later (clinic mode)."""

    http_status = 429
    code = "rate_limited"


class EstimationError(RegrowError, ArithmeticError):
    """A statistical estimate cannot be produced honestly from these data."""

    http_status = 422
    code = "estimation"


class TooFewStudiesError(EstimationError):
    """Fewer observations (studies, visits) than the model has parameters."""


class ConvergenceError(EstimationError):
    """An iterative estimator did not converge within its iteration limit."""


class StorageError(RegrowError):
    """The database could not complete a transaction; nothing was written."""

    http_status = 503
    code = "storage"


class MissingExtraError(RegrowError, ImportError):
    """An optional dependency is missing; the message gives the exact ``pip install 'regrow[extra]'``."""

    code = "missing_extra"

    def __init__(self, package: str, extra: str):
        super().__init__(f"This needs {package}; install it with: pip install 'regrow[{extra}]'")
        self.package = package
        self.extra = extra
