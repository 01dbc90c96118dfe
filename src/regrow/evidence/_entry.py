"""A trial given as flat fields (the options of ``regrow evidence add``, or one row of a CSV file) turned into an
evidence-file study, so that ``add`` and ``import FILE.csv`` validate it the same way.

One CSV row is one outcome of one trial, with the columns named like the ``add`` options (``id``, ``author``,
``url``, ``comparison``, ``outcome``, ``unit``, ``treatment1``, ``n1``, ``mean1``, ``sd1``, ...). Rows with the
same ``id`` are outcomes of one trial: their trial-level columns must agree, and an arm (named by ``arm1``/``arm2``
or, by default, by its treatment) carries the same numbers in every row. Several URLs go in one cell, separated by
spaces or ``;``. An empty cell is a number nobody reported: it is stored as ``UNVERIFIED``, never guessed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from regrow.errors import DataFileError, InputError

__all__ = ["CSV_COLUMNS", "outcome_entry", "read_csv_studies", "study_entry"]

#: Trial-level columns (the same in every row of one trial) and their types.
STUDY_COLUMNS: dict[str, type] = {
    "id": str, "author": str, "url": str, "year": int, "doi": str, "pmid": str, "design": str, "randomised": str,
    "blinding": str, "condition": str, "needle_length_mm": float, "interval_days": float, "duration_weeks": float,
    "status": str, "location": str,
}  # fmt: skip
#: Outcome-level columns (one outcome per row).
OUTCOME_COLUMNS: dict[str, type] = {
    "comparison": str, "outcome": str, "unit": str, "value_type": str, "time_weeks": float, "arm1": str, "arm2": str,
    "treatment1": str, "treatment2": str, "n_randomised1": int, "n_randomised2": int, "n1": int, "n2": int,
    "mean1": float, "mean2": float, "sd1": float, "sd2": float, "ci_low1": float, "ci_high1": float,
    "ci_low2": float, "ci_high2": float, "events1": int, "events2": int, "p": float,
}  # fmt: skip
CSV_COLUMNS = (*STUDY_COLUMNS, *OUTCOME_COLUMNS)
REQUIRED = ("id", "author", "url", "comparison", "outcome", "unit")
DEFAULTS = {"value_type": "change", "design": "parallel", "randomised": "unclear", "blinding": "unclear",
            "condition": "AGA", "status": "full_text"}  # fmt: skip


def _num(value: float | None, status: str) -> Any:
    return "UNVERIFIED" if value is None else {"value": value, "status": status}


def _arm(f: dict[str, Any], no: int, flag) -> dict[str, Any]:
    """One outcome arm; a number that does not fit the value type is refused, never dropped."""
    value_type, status = f["value_type"], f["status"]
    mean, sd, events = f.get(f"mean{no}"), f.get(f"sd{no}"), f.get(f"events{no}")
    if value_type == "proportion" and (mean is not None or sd is not None):
        name = f"mean{no}" if mean is not None else f"sd{no}"
        raise InputError.invalid(flag(name), mean if mean is not None else sd,
                                 f"omitted with value type proportion (give {flag(f'events{no}')})")  # fmt: skip
    if value_type != "proportion" and events is not None:
        raise InputError.invalid(
            flag(f"events{no}"), events, "given only with value type proportion (and unit events)"
        )
    out: dict[str, Any] = {"n": _num(f.get(f"n{no}"), status)}
    if value_type == "proportion":
        out["events"] = _num(events, status)
    else:
        out["mean"], out["sd"] = _num(mean, status), _num(sd, status)
        lo, hi = f.get(f"ci_low{no}"), f.get(f"ci_high{no}")
        if lo is not None or hi is not None:
            out["ci_low"], out["ci_high"] = _num(lo, status), _num(hi, status)
    return out


def outcome_entry(f: dict[str, Any], flag=lambda name: name) -> dict[str, Any]:
    """The evidence-file outcome of one set of flat fields (``flag`` names a field in error messages)."""
    f = {**DEFAULTS, **{k: v for k, v in f.items() if v is not None}}
    out = {
        "comparison": f["comparison"],
        "outcome": f["outcome"],
        "unit": f["unit"],
        "value_type": f["value_type"],
        "paired": f["design"] == "split_scalp",
        "intervention": _arm(f, 1, flag),
        "comparator": _arm(f, 2, flag),
        "p_value": _num(f.get("p"), f["status"]),
    }
    if f.get("time_weeks") is not None:
        out["time_weeks"] = f["time_weeks"]
    return out


def study_entry(rows: list[dict[str, Any]], flag=lambda name: name) -> dict[str, Any]:
    """The evidence-file study of one or more outcome rows of the same trial.

    Parameters
    ----------
    rows : list of dict
        Flat fields (:data:`CSV_COLUMNS`), one dict per outcome; missing or None fields are unreported.
    flag : callable
        Turns a field name into the name shown in errors (``"--sd1"`` for the CLI).

    Returns
    -------
    dict
        A study mapping for :func:`regrow.evidence.parse_study`.

    Raises
    ------
    InputError
        When the treatments are given for one arm only, or an arm size without its treatment, or a number that
        does not fit the value type.
    """
    first = {**DEFAULTS, **{k: v for k, v in rows[0].items() if v is not None}}
    status = first["status"]
    urls = [u for u in str(first["url"]).replace(";", " ").split() if u]
    arms: dict[str, dict[str, Any]] = {}
    outcomes = []
    for f in rows:
        t1, t2 = f.get("treatment1"), f.get("treatment2")
        if (t1 is None) != (t2 is None):
            given, missing = ("treatment1", "treatment2") if t1 is not None else ("treatment2", "treatment1")
            raise InputError.invalid(flag(given), t1 or t2, f"given together with {flag(missing)}")
        if t1 is None and (f.get("n_randomised1") is not None or f.get("n_randomised2") is not None):
            name = "n_randomised1" if f.get("n_randomised1") is not None else "n_randomised2"
            raise InputError.invalid(flag(name), f[name], f"given only with {flag('treatment1')} and {flag('treatment2')} "
                                     "(the arms it belongs to)")  # fmt: skip
        outcome = outcome_entry({**f, "design": first["design"], "status": status}, flag)
        if t1 is not None:
            for no, treatment in ((1, t1), (2, t2)):
                arm_id = f.get(f"arm{no}") or _arm_id(arms, treatment, len(rows) == 1, no)
                n_rand = _num(f.get(f"n_randomised{no}"), status)
                old = arms.setdefault(arm_id, {"id": arm_id, "treatment": treatment, "n_randomised": n_rand})
                for key, value in (("treatment", treatment), ("n_randomised", n_rand)):
                    if f.get(f"n_randomised{no}") is None and key == "n_randomised":
                        continue
                    if old[key] == "UNVERIFIED" and key == "n_randomised":
                        old[key] = value
                    elif old[key] != value:
                        name = f"treatment{no}" if key == "treatment" else f"n_randomised{no}"
                        shown = value["value"] if isinstance(value, dict) else value
                        raise InputError.invalid(
                            flag(name), shown, f"the same for arm {arm_id!r} in every row of the trial"
                        )
                outcome["intervention" if no == 1 else "comparator"]["arm"] = arm_id
        outcomes.append(outcome)
    raw: dict[str, Any] = {
        "id": first["id"],
        "first_author": first["author"],
        "urls": urls,
        "design": first["design"],
        "randomised": first["randomised"],
        "blinding": first["blinding"],
        "condition": first["condition"],
        "doi": first.get("doi"),
        "pmid": first.get("pmid"),
        "year": _num(first.get("year"), status),
        "needle_length_mm": _num(first.get("needle_length_mm"), status),
        "interval_days": _num(first.get("interval_days"), status),
        "duration_weeks": _num(first.get("duration_weeks"), status),
        "verification": f"added with `regrow evidence add` or `import` ({status})",
        "provenance": {"source": urls[0] if urls else None, "location": first.get("location")},
        "outcomes": outcomes,
    }
    if arms:
        raw["arms"] = list(arms.values())
    return raw


def _arm_id(arms: dict[str, dict[str, Any]], treatment: str, single: bool, no: int) -> str:
    """``A``/``B`` for a single outcome (as ``add`` always wrote them); otherwise one arm per treatment."""
    if single:
        return "A" if no == 1 else "B"
    for arm_id, arm in arms.items():
        if arm["treatment"] == treatment:
            return arm_id
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(arms)]


def _cell(path: Path, row_no: int, column: str, text: str) -> Any:
    kind = {**STUDY_COLUMNS, **OUTCOME_COLUMNS}[column]
    text = text.strip()
    if text == "" or text.upper() in ("UNVERIFIED", "NA"):
        return None
    if kind is str:
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (kind is int and not value.is_integer()):
        what = "a whole number" if kind is int else "a number"
        raise DataFileError(f"{path} row {row_no}, column {column!r}: invalid value {text!r}; must be {what} (or empty "
                            "when not reported).", path=str(path), row=row_no, column=column)  # fmt: skip
    return int(value) if kind is int else value


def read_csv_studies(file: str | Path, data) -> list:
    """Read and validate trials from a CSV file (one outcome per row; see the module docstring).

    Returns
    -------
    list of Study

    Raises
    ------
    DataFileError
        An unknown or missing column, a bad cell (naming the row and column), rows of one trial that disagree on
        a trial-level column, or a trial that breaks the evidence schema (naming the trial and field).
    """
    from regrow.evidence._trials import parse_study

    path = Path(file)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            raw_rows = list(reader)
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not a UTF-8 text file (byte {exc.start} cannot be decoded).", path=str(path)
        ) from exc
    if not header:
        raise DataFileError(f"{path}: the file is empty; it needs a header row and one row per outcome.",
                            path=str(path))  # fmt: skip
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise DataFileError(f"{path}: unknown column {unknown[0]!r}; the columns are {', '.join(CSV_COLUMNS)}.",
                            path=str(path), column=unknown[0])  # fmt: skip
    missing = [c for c in REQUIRED if c not in header]
    if missing or not raw_rows:
        raise DataFileError(f"{path}: {'column ' + repr(missing[0]) + ' is missing' if missing else 'no rows'}; "
                            f"every row needs {', '.join(REQUIRED)}.", path=str(path))  # fmt: skip
    by_id: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for row_no, raw in enumerate(raw_rows, start=2):
        fields = {c: _cell(path, row_no, c, raw.get(c) or "") for c in header}
        for c in REQUIRED:
            if fields.get(c) is None:
                raise DataFileError(f"{path} row {row_no}, column {c!r}: empty; every row needs it.", path=str(path),
                                    row=row_no, column=c)  # fmt: skip
        group = by_id.setdefault(fields["id"], [])
        if group:
            first_no, first = group[0]
            for c in STUDY_COLUMNS:
                if fields.get(c) is not None and first.get(c) is not None and fields[c] != first[c]:
                    raise DataFileError(f"{path} row {row_no}, column {c!r}: {fields[c]!r} differs from {first[c]!r} in "
                                        f"row {first_no} of the same trial {fields['id']!r}.", path=str(path),
                                        row=row_no, column=c)  # fmt: skip
        group.append((row_no, fields))
    ids = {c.id for c in data.comparisons}
    studies = []
    for i, (sid, group) in enumerate(by_id.items(), start=1):
        rows = [f for _, f in group]
        where = f"{path} row{'s' if len(group) > 1 else ''} {', '.join(str(n) for n, _ in group)}"
        try:
            raw = study_entry(rows)
        except InputError as exc:
            raise DataFileError(f"{where}: trial {sid!r}: {exc}", path=str(path), row=group[0][0]) from exc
        studies.append(parse_study(raw, path=where, index=i, comparison_ids=ids))
    return studies
