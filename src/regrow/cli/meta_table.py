"""A CSV of studies for ``regrow meta``, read with the standard library (no pandas: the command must start
instantly). Cells that pandas and R read as missing (empty, ``NA``, ``NaN``, ``NULL``, ...) are missing here.
Errors are :class:`~regrow.errors.DataFileError` naming the file, the column and the 1-based data row."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from regrow.errors import DataFileError

__all__ = ["MISSING_TEXTS", "StudyTable", "read_study_table"]

#: The cells read as missing: pandas' ``read_csv`` defaults (which include R's ``NA``).
MISSING_TEXTS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A"}
    | {"NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)


@dataclass(frozen=True)
class StudyTable:
    """The cells of a study CSV by column name (text, stripped; None when missing)."""

    path: Path
    columns: dict[str, list[str | None]]
    n_rows: int

    def _column(self, name: str, what: str = "column") -> list[str | None]:
        if name not in self.columns:
            raise DataFileError(
                f"{self.path}: no {what} {name!r}; the columns are {', '.join(self.columns)}.",
                path=str(self.path),
                column=name,
            )
        return self.columns[name]

    def numbers(self, name: str, what: str = "column") -> list[float]:
        """A numeric column (NaN where missing).

        Raises
        ------
        DataFileError
            When the column is absent or a cell is not a number.
        """
        out = []
        for row, cell in enumerate(self._column(name, what)):
            if cell is None:
                out.append(math.nan)
                continue
            try:
                out.append(float(cell))
            except ValueError:
                raise DataFileError(
                    f"{self.path}: column {name!r}, row {row + 1}: {cell!r} is not a number.",
                    path=str(self.path),
                    row=row + 1,
                    column=name,
                ) from None
        return out

    def moderator(self, name: str) -> list[float] | list[str | None]:
        """A moderator: numbers when every filled cell is one (as R's ``read.csv`` decides), else text."""
        cells = self._column(name, "moderator column")
        try:
            return [math.nan if c is None else float(c) for c in cells]
        except ValueError:
            return list(cells)

    def text(self, name: str, what: str = "column") -> list[str | None]:
        """A column as text (None where missing)."""
        return list(self._column(name, what))


def read_study_table(path: Path) -> StudyTable:
    """Read a CSV of studies with a header row.

    Parameters
    ----------
    path : Path

    Returns
    -------
    StudyTable

    Raises
    ------
    DataFileError
        When the file is missing, not UTF-8 text, has no header or no rows, or a row has more cells than
        the header.
    """
    if not path.is_file():
        raise DataFileError.not_a_file(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh, skipinitialspace=True))
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not a readable CSV file (not UTF-8 text: byte {exc.start} cannot be decoded).",
            path=str(path),
        ) from exc
    except (OSError, csv.Error) as exc:
        raise DataFileError(f"{path}: not a readable CSV file ({exc}).", path=str(path)) from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataFileError(f"{path}: not a readable CSV file (it is empty).", path=str(path))
    header = [h.strip() for h in rows[0]]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise DataFileError(
            f"{path}: the header names column {repeated[0]!r} more than once; give each column its own name.",
            path=str(path),
            column=repeated[0],
        )
    body = rows[1:]
    if not body:
        raise DataFileError(f"{path}: the file has a header but no study rows.", path=str(path))
    columns: dict[str, list[str | None]] = {name: [] for name in header}
    for i, row in enumerate(body):
        if len(row) > len(header):
            raise DataFileError(
                f"{path}: row {i + 1} has {len(row)} cells but the header names {len(header)} columns.",
                path=str(path),
                row=i + 1,
            )
        row = row + [""] * (len(header) - len(row))
        for name, cell in zip(header, row, strict=True):
            cell = cell.strip()
            columns[name].append(None if cell in MISSING_TEXTS else cell)
    return StudyTable(path=path, columns=columns, n_rows=len(body))
