"""The evidence store: a person's editable copy of the trial data (read, add or correct studies, save).

The installed evidence file is never modified; edits go to the user copy (:func:`user_data_path`), written
atomically after a round-trip check. ``regrow evidence add|import`` and any other front end use these
functions rather than the private parsing helpers.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from regrow.errors import DataFileError, InputError
from regrow.evidence._trials import EvidenceData, Study, dump_data, parse_data, parse_study, user_data_path

__all__ = ["merge_studies", "read_studies", "save_user_copy"]


def save_user_copy(data: EvidenceData) -> Path:
    """Validate ``data`` and write it as the user copy, atomically.

    Parameters
    ----------
    data : EvidenceData
        The whole evidence (for example the result of :func:`merge_studies`).

    Returns
    -------
    Path
        The file written (:func:`user_data_path`).

    Raises
    ------
    DataFileError
        When the serialised data would not load back (nothing is written then).
    """
    text = dump_data(data)
    parse_data(yaml.safe_load(text), path="(user copy)")  # round-trip check before anything is written
    target = user_data_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".evidence-", suffix=".yaml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def merge_studies(data: EvidenceData, studies: list[Study], *, replace: bool = False) -> EvidenceData:
    """Add studies to ``data``; with ``replace``, a study whose id exists replaces the old one.

    Parameters
    ----------
    data : EvidenceData
    studies : list of Study
        Parsed studies (:func:`read_studies` or :func:`regrow.evidence.parse_study`).
    replace : bool, default False
        Allow correcting an existing study id.

    Returns
    -------
    EvidenceData
        A new object; ``data`` is not changed.

    Raises
    ------
    InputError
        When a study id already exists and ``replace`` is False.
    """
    existing = {s.id: i for i, s in enumerate(data.studies)}
    merged = list(data.studies)
    for study in studies:
        if study.id in existing:
            if not replace:
                raise InputError.invalid(
                    "id", study.id, "a new study id (use --replace to correct the existing study)"
                )
            merged[existing[study.id]] = study
        else:
            existing[study.id] = len(merged)
            merged.append(study)
    return dataclasses.replace(data, studies=tuple(merged))


def read_studies(file: str | Path, data: EvidenceData) -> list[Study]:
    """Read and validate studies from a YAML, JSON or CSV file against the comparisons of ``data``.

    Parameters
    ----------
    file : str or Path
        YAML or JSON: one study, a list of studies, or a document with a ``studies:`` list. CSV (by the ``.csv``
        extension): one outcome per row, the columns named like the options of ``regrow evidence add``
        (:mod:`regrow.evidence._entry`).
    data : EvidenceData
        The evidence the studies will join (their outcomes must name one of its comparisons).

    Returns
    -------
    list of Study

    Raises
    ------
    DataFileError
        When the file is missing, not UTF-8, not YAML/JSON, or a study breaks the schema (naming the entry
        and the field).
    """
    file = Path(file)
    if not file.is_file():
        raise DataFileError.not_a_file(file)
    if file.suffix.lower() == ".csv":
        from regrow.evidence._entry import read_csv_studies

        return read_csv_studies(file, data)
    try:
        raw: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{file}: not a UTF-8 text file (byte {exc.start} cannot be decoded); save it as UTF-8 YAML or JSON.",
            path=str(file),
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "" if mark is None else f" at line {mark.line + 1}"
        raise DataFileError(
            f"{file}: not valid YAML/JSON{where}: {getattr(exc, 'problem', None) or exc}.", path=str(file)
        ) from exc
    if isinstance(raw, dict) and "studies" in raw:
        raw = raw["studies"]
    entries = raw if isinstance(raw, list) else [raw]
    ids = {c.id for c in data.comparisons}
    return [parse_study(e, path=str(file), index=i + 1, comparison_ids=ids) for i, e in enumerate(entries)]
