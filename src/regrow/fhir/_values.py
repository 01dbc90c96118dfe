"""Values between journal columns and FHIR JSON: date-times, the ``journal-row`` extension, references, and
the generic checks every imported row passes (type, length, required) before anything is written.

The journal stores naive local wall-clock times; FHIR requires a zone on a date-time with a time, so the
exporter writes the local UTC offset of the exporting machine and the importer converts back to local time
(the same convention as the CLI's ISO 8601 input).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String

from regrow.errors import DataFileError
from regrow.journal import TABLES
from regrow.journal._fields import _bad_character  # the journal's own text rule (no copy)

from ._codes import CODE_SYSTEMS, CODED_COLUMNS, COLUMN_UNITS, JOURNAL_ROW_URL, UCUM, code_system, coding

__all__ = [
    "MODELS",
    "Ref",
    "Where",
    "check_row",
    "foreign_table",
    "from_date",
    "from_datetime",
    "quantity",
    "read_quantity",
    "read_row_extension",
    "row_extension",
    "to_date",
    "to_datetime",
]

MODELS = {model.__tablename__: model for model in TABLES}
_MAX_INT = 2**31 - 1  # INTEGER is 32-bit on PostgreSQL


@dataclass(frozen=True)
class Where:
    """An entry of the bundle being read, for error messages (index counted from 0, as in JSON)."""

    index: int
    resource_type: str

    def error(self, field: str, message: str) -> DataFileError:
        """A DataFileError naming the entry, its resource type and ``field``."""
        place = "Bundle" if self.index < 0 else f"entry {self.index} ({self.resource_type})"
        return DataFileError(
            f"{place} {field}: {message}; nothing was imported.",
            row=self.index,
            column=field,
        )


@dataclass(frozen=True)
class Ref:
    """A reference to another entry of the bundle (resolved to its new row id when rows are written)."""

    full_url: str
    table: str


def to_datetime(value: dt.datetime) -> str:
    """A journal (naive, local) date-time as a FHIR dateTime with the local UTC offset."""
    return value.astimezone().isoformat()


def to_date(value: dt.date) -> str:
    """A date as a FHIR date."""
    return value.isoformat()


def from_datetime(value: Any, where: Where, field: str) -> dt.datetime:
    """A FHIR dateTime (with a zone, or a bare date) as the journal's naive local time."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise where.error(field, f"{value!r} is not a FHIR dateTime") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone().replace(tzinfo=None)
    return parsed


def from_date(value: Any, where: Where, field: str) -> dt.date:
    """A FHIR date (full: YYYY-MM-DD) as a date."""
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise where.error(field, f"{value!r} is not a full FHIR date (YYYY-MM-DD)") from exc


def quantity(value: float | int, unit: str) -> dict[str, Any]:
    """A UCUM Quantity."""
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def read_quantity(value: Any, unit: str, where: Where, field: str) -> Any:
    """The number of a UCUM Quantity whose code must be ``unit``."""
    if not isinstance(value, dict):
        raise where.error(field, "must be a Quantity")
    if value.get("system") != UCUM or value.get("code") != unit:
        raise where.error(
            field,
            f"unknown unit {value.get('system')}|{value.get('code')}; must be UCUM {unit!r} ({UCUM})",
        )
    return value.get("value")


def read_coding(value: Any, system_name: str, where: Where, field: str) -> str:
    """The code of a Coding that must be in regrow code system ``system_name``."""
    codings = value.get("coding", []) if isinstance(value, dict) and "coding" in value else [value]
    for item in codings:
        if isinstance(item, dict) and item.get("system") == code_system(system_name):
            code = item.get("code")
            if code not in CODE_SYSTEMS[system_name]:
                raise where.error(
                    field,
                    f"unknown code {code!r} of {code_system(system_name)}; must be one of "
                    + ", ".join(CODE_SYSTEMS[system_name]),
                )
            return code
    raise where.error(field, f"needs a coding of {code_system(system_name)}")


def foreign_table(table: str, column: str) -> str | None:
    """The table a column refers to (``None`` for plain columns and ``person_id``)."""
    if column == "person_id":
        return None
    keys = list(MODELS[table].__table__.columns[column].foreign_keys)
    return keys[0].column.table.name if keys else None


def value_key(table: str, column: str) -> str:
    """The ``value[x]`` element a column is written in inside the ``journal-row`` extension."""
    kind = MODELS[table].__table__.columns[column].type
    if foreign_table(table, column) is not None:
        return "valueReference"
    if (table, column) in CODED_COLUMNS:
        return "valueCoding"
    if column in COLUMN_UNITS:
        return "valueQuantity"
    for base, key in (
        (JSON, "valueString"),
        (Boolean, "valueBoolean"),
        (Integer, "valueInteger"),
        (Float, "valueDecimal"),
        (DateTime, "valueDateTime"),
        (Date, "valueDate"),
    ):
        if isinstance(kind, base):
            return key
    return "valueString"


def _encode(table: str, column: str, value: Any, urls: dict[tuple[str, int], str]) -> dict[str, Any]:
    key = value_key(table, column)
    if key == "valueReference":
        return {key: {"reference": urls[(foreign_table(table, column), value)]}}
    if key == "valueCoding":
        return {key: coding(CODED_COLUMNS[(table, column)], value)}
    if key == "valueQuantity":
        return {key: quantity(value, COLUMN_UNITS[column])}
    if key == "valueDateTime":
        return {key: to_datetime(value)}
    if key == "valueDate":
        return {key: to_date(value)}
    if isinstance(MODELS[table].__table__.columns[column].type, JSON):
        return {key: json.dumps(value, ensure_ascii=False)}
    return {key: value}


def row_extension(
    table: str, row: Any, columns: tuple[str, ...], urls: dict[tuple[str, int], str]
) -> dict[str, Any] | None:
    """The ``journal-row`` extension holding ``columns`` of ``row`` (null values left out)."""
    parts = [{"url": "table", "valueCode": table}]
    for column in columns:
        value = getattr(row, column)
        if value is not None:
            parts.append({"url": column, **_encode(table, column, value, urls)})
    return {"url": JOURNAL_ROW_URL, "extension": parts}


def _decode(table: str, column: str, item: dict[str, Any], where: Where, refs: dict[str, str]) -> Any:
    field = f"extension[journal-row].{column}"
    kind = MODELS[table].__table__.columns[column].type
    target = foreign_table(table, column)
    values = [k for k in item if k.startswith("value")]
    if len(values) != 1:
        raise where.error(field, "needs exactly one value[x]")
    key, value = values[0], item[values[0]]
    expected = value_key(table, column)
    if key != expected:
        raise where.error(field, f"must be {expected}, not {key}")
    if target is not None:
        return reference(value, target, where, field, refs)
    if (table, column) in CODED_COLUMNS:
        return read_coding(value, CODED_COLUMNS[(table, column)], where, field)
    if column in COLUMN_UNITS:
        return read_quantity(value, COLUMN_UNITS[column], where, field)
    if isinstance(kind, JSON):
        try:
            return json.loads(value)
        except (TypeError, json.JSONDecodeError) as exc:
            raise where.error(field, "must hold JSON text") from exc
    if isinstance(kind, DateTime):
        return from_datetime(value, where, field)
    if isinstance(kind, Date):
        return from_date(value, where, field)
    return value


def reference(value: Any, table: str, where: Where, field: str, refs: dict[str, str]) -> Ref:
    """A Reference to another entry of the bundle, which must hold a row of ``table``."""
    url = value.get("reference") if isinstance(value, dict) else None
    if url not in refs:
        raise where.error(field, f"reference {url!r} names no entry of this bundle")
    if refs[url] != table:
        raise where.error(field, f"reference {url!r} must name a {table} entry, not a {refs[url]} entry")
    return Ref(url, table)


def read_row_extension(
    resource: dict[str, Any], table: str, columns: tuple[str, ...], where: Where, refs: dict[str, str]
) -> dict[str, Any]:
    """The columns held by the resource's ``journal-row`` extension for ``table`` (absent ones: None)."""
    found = [
        ext
        for ext in resource.get("extension", [])
        if ext.get("url") == JOURNAL_ROW_URL
        and any(p.get("url") == "table" and p.get("valueCode") == table for p in ext.get("extension", []))
    ]
    if len(found) > 1:
        raise where.error("extension[journal-row]", f"holds table {table!r} more than once")
    values: dict[str, Any] = dict.fromkeys(columns)
    for item in found[0].get("extension", []) if found else []:
        column = item.get("url")
        if column == "table":
            continue
        if column not in columns:
            raise where.error(
                f"extension[journal-row].{column}",
                f"unknown field of {table}; allowed: " + ", ".join(columns),
            )
        values[column] = _decode(table, column, item, where, refs)
    return values


def journal_row_tables(resource: dict[str, Any]) -> list[str]:
    """The tables named by the resource's ``journal-row`` extensions."""
    return [
        part.get("valueCode")
        for ext in resource.get("extension", [])
        if ext.get("url") == JOURNAL_ROW_URL
        for part in ext.get("extension", [])
        if part.get("url") == "table"
    ]


def check_row(table: str, values: dict[str, Any], where: Where) -> dict[str, Any]:
    """Check every column value against its column (type, length, required); return the row."""
    columns = MODELS[table].__table__.columns
    defaulted = []
    for name, value in list(values.items()):
        column = columns[name]
        if value is None:
            if column.nullable or column.primary_key:
                continue
            if column.default is not None:  # a bundle from elsewhere: the journal's own default applies
                defaulted.append(name)
            elif name in ("created_at", "updated_at"):
                values[name] = dt.datetime.now().replace(microsecond=0)
            else:
                raise where.error(name, f"is required ({table}.{name})")
            continue
        if isinstance(value, Ref):
            continue
        kind = column.type
        bad = None
        if isinstance(kind, Boolean):
            bad = not isinstance(value, bool) and "true or false"
        elif isinstance(kind, Integer):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
            bad = (not ok or abs(value) > _MAX_INT) and f"an integer of at most {_MAX_INT}"
            if not bad:
                values[name] = int(value)
        elif isinstance(kind, Float):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            bad = not ok and "a finite number"
            if not bad:
                values[name] = float(value)
        elif isinstance(kind, String):
            limit = kind.length
            bad = (not isinstance(value, str) or (limit is not None and len(value) > limit)) and (
                f"a text of at most {limit} characters" if limit else "a text"
            )
            char = None if bad else _bad_character(value, multiline=True)
            if char is not None:
                raise where.error(
                    name,
                    f"holds the character U+{ord(char):04X}; text may not hold control or "
                    "right-to-left-override characters",
                )
        if bad:
            shown = value if not isinstance(value, str) or len(value) <= 80 else f"{value[:40]}..."
            raise where.error(name, f"bad value {shown!r}; must be {bad} ({table}.{name})")
    for name in defaulted:
        del values[name]
    return values
