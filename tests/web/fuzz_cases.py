"""The table of bad values and the request cases the web fuzz tests send (``test_web_fuzz.py``).

Every form and every API route that changes something is a :class:`Case`: a valid base request and the type
of each field. Each bad value of a field's type replaces that field in the base; the app must refuse it with a
message naming the field and store nothing. The table is written out by hand (not read from the app), and
the tests check it covers every route of the app and every input of every form the pages render.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from typing import Any

TODAY = dt.date.today()
LONG = "x" * 10_000
MARKUP = "<script>alert(1)</script>"
TRAVERSAL = "../../../../etc/passwd"
RTL = "abc\u202edef"
NUL = "a\x00b"

#: Bad values as a form posts them (text), by field type. A value here is wrong for every field of its type.
FORM_BAD: dict[str, list[str]] = {
    "int": ["abc", "-1", "1e309", "NaN", "9" * 40, "1.5", NUL, "[]", MARKUP, TRAVERSAL, LONG, "9999-12-31"],
    "float": ["abc", "-1", "1e309", "NaN", "inf", "-inf", "9" * 400, NUL, "[]", MARKUP, TRAVERSAL, LONG],
    "date": [
        "9999-12-31",
        "0000-00-00",
        "2025-02-30",
        "1800-01-01",
        "31/12/2025",
        "yesterday",
        NUL,
        "[]",
        MARKUP,
        TRAVERSAL,
        LONG,
        "-1",
        "NaN",
    ],
    "choice": ["nope", NUL, "[]", MARKUP, TRAVERSAL, LONG, RTL, "-1", "ROLLER "],
    "text": [NUL, RTL, "\x07bell"],  # plus one character over the field's limit (see too_long) and blanks
    "list": ["[]", "-", "a, []", NUL, RTL, "x" * 201],
    "times": ["[]", "25:00", "noon", NUL, LONG],
    "id": ["abc", "-1", "0", "9" * 40, "1.5", NUL, "[]", "424242", MARKUP],
    "yesno": ["perhaps", NUL, "[]", LONG, "-1", MARKUP],
    "action": ["paint", NUL, "[]", LONG, MARKUP, "ADD"],
    "decision": ["maybe", NUL, "[]", LONG, ""],
    "confirm": ["yes", "delete", NUL, LONG, MARKUP, ""],
}

#: Bad JSON values by field type. ``RAW`` marks JSON text sent as it is (1e309 and NaN have no Python literal
#: json.dumps would write).
RAW = "\x00raw:"
JSON_BAD: dict[str, list[Any]] = {
    "int": ["abc", -1, RAW + "1e309", RAW + "NaN", 10**40, 1.5, [], {}, True, "5", LONG],
    "float": ["abc", -1, RAW + "1e309", RAW + "NaN", RAW + "-Infinity", [], {}, True, "1.5", LONG],
    "date": ["9999-12-31", "0000-00-00", "2025-02-30", "1800-01-01", NUL, LONG, MARKUP, 5, [], {}, True],
    "choice": ["nope", NUL, LONG, MARKUP, TRAVERSAL, RTL, 5, [], {}, True],
    "text": [NUL, RTL, 5, [], {}, True, 1.5],
    "list": ["abc", [""], ["[]"], [NUL], [RTL], [5], {}, 5, ["x" * 201], [[]]],
    "times": ["08:00", ["25:00"], ["noon"], [5], 5, {}],
    "id": ["abc", -1, 0, 10**40, 1.5, [], {}, True, 424242, "1"],
    "bool": ["yes", 1, 0, [], {}, "true"],
    "acknowledge": ["x", [], {"no.such_rule": "why"}, {"topical.not_approved": 5}, 5],
    "action": ["paint", NUL, LONG, 5, [], "ADD"],
    "group": [LONG, NUL, 5, [], {}, "0" * 32],
    "confirm": ["yes", NUL, LONG, 5, []],
}
#: Bad path ids (and bad query values) of routes that name a record.
PATH_BAD = ["-1", "0", "abc", "9" * 30, "1.5", "%00", "..%2F..%2Fetc%2Fpasswd", "424242"]


def too_long(field: str) -> str:
    """One character more than the journal's limit of ``field`` (the same limit in CLI, API and forms)."""
    from regrow.journal._fields import DEFAULT_TEXT_MAX_CHARS, TEXT_MAX_CHARS

    names = {"retired_reason": "reason", "ack_reason": "reason", "at": "method"}
    return "y" * (TEXT_MAX_CHARS.get(names.get(field, field), DEFAULT_TEXT_MAX_CHARS) + 1)


@dataclasses.dataclass
class Case:
    """One route with a valid base request and its fields: ``{name: (type, required)}``."""

    method: str
    route: str  # the app's route path, e.g. /records/{kind}/{row_id}/edit
    path: str  # the path requested, e.g. /records/session/1/edit
    style: str  # form, json, multipart or none
    base: dict[str, Any]
    fields: dict[str, tuple[str, bool]]
    #: extra words a refusal of a field may name it by (the journal's name of the thing)
    names: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    files: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


NAMES = {
    "device_id": ("device",),
    "session_id": ("session",),
    "retired_reason": ("reason",),
    "at": ("disinfected_at", "retired_at", "resolved_at"),
    "hair_index": ("hair_index", "detection"),
    "x_px": ("x_px", "point"),
    "y_px": ("y_px", "point"),
    "file": ("file", "export", "archive", "journal"),
    # the safety rules look at what was on the skin before its text is checked: a stop finding names it
    "applied_during": ("applied_during", "on the skin during needling"),
}


def tiny_image() -> bytes:
    """A small synthetic trichoscopy image (fast to measure)."""
    from PIL import Image

    from regrow.measure import synthesize

    synth = synthesize(shape=(160, 200), um_per_px=8.0, unit_density_per_cm2=90.0, seed=3)
    buffer = io.BytesIO()
    Image.fromarray(synth.image).save(buffer, format="PNG")
    return buffer.getvalue()


#: Bad uploads for an import (each must be refused and leave the journal as it was).
def bad_imports() -> list[tuple[str, bytes, str]]:
    import zipfile

    def zipped(members: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
        return out.getvalue()

    return [
        ("empty.zip", b"", "application/zip"),
        ("junk.zip", b"PK\x03\x04 not really a zip", "application/zip"),
        ("x.json", b"{not json", "application/json"),
        ("x.json", json.dumps({"format": "regrow-journal", "tables": []}).encode(), "application/json"),
        ("evil.zip", zipped({"../../evil.txt": b"x", "journal.json": b"{}"}), "application/zip"),
        ("x.exe", b"MZ", "application/octet-stream"),
        ("../../x.zip", b"PK", "application/zip"),
    ]
