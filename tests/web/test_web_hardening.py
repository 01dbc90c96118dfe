"""Hardening review through the JSON API: crafted imports, huge ids, server paths, pixel limits, text limits,
uploads that never touch the disk unstripped, lock messages without SQL."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import png_with_gps
from regrow.errors import StorageError


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def _upload(api, data: bytes, name: str = "a.jpg", kind: str = "image/jpeg"):
    return api.post(
        "/api/photos", data={"site": "vertex", "um_per_px": "8"}, files=[("files", (name, data, kind))]
    )


def _crafted_archive(export: bytes, edit) -> bytes:
    with zipfile.ZipFile(io.BytesIO(export)) as src:
        members = {n: src.read(n) for n in src.namelist() if n != "SHA256SUMS"}
    document = json.loads(members["journal.json"])
    edit(document)
    members["journal.json"] = json.dumps(document).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        sums = ""
        for name, data in members.items():
            dst.writestr(name, data)
            sums += f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        dst.writestr("SHA256SUMS", sums)
    return out.getvalue()


def test_a_crafted_import_cannot_make_the_app_serve_or_delete_a_file_outside(api, synthetic, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not a photo")
    _, jpeg = synthetic
    assert _upload(api, jpeg).status_code == 201
    export = api.get("/api/export").content

    def point_outside(document):
        document["tables"]["photo"][0]["file_name"] = str(secret)

    crafted = _crafted_archive(export, point_outside)
    api.post("/api/delete", json={"confirm": "delete everything"})
    err = _error(api.post("/api/import", files={"file": ("e.zip", crafted, "application/zip")}), 422)
    assert "file_name" in err["message"] and "not a path" in err["message"]
    assert api.get("/api/photos").json()["photos"] == []
    # a regrow 0.1 JSON export with an absolute stored_path is refused the same way
    document = json.loads(zipfile.ZipFile(io.BytesIO(export)).read("journal.json"))
    row = document["tables"]["photo"][0]
    row["stored_path"] = str(secret)
    del row["file_name"]
    document["format_version"] = 1
    err = _error(
        api.post("/api/import", files={"file": ("e.json", json.dumps(document), "application/json")}), 422
    )
    assert "stored_path" in err["message"]
    assert api.post("/api/delete", json={"confirm": "delete everything"}).status_code == 200
    assert secret.read_text() == "not a photo"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/photos/99999999999999999999999/image", None),
        ("get", "/api/photos/9223372036854775808", None),
        ("post", "/api/devices/99999999999999999999999/retire", {"reason": "x"}),
        ("post", "/api/events/99999999999999999999999/resolve", {}),
        ("post", "/api/sessions", {"device_id": 99999999999999999999999}),
    ],
)
def test_ids_too_large_for_a_row_are_not_found_not_500(api, method, path, body):
    r = getattr(api, method)(path, **({} if body is None else {"json": body}))
    assert r.status_code in (404, 422), r.text
    assert r.json()["error"]["code"] in ("not_found", "invalid")


def test_upload_errors_and_results_show_no_server_paths(api, app, synthetic):
    photos_dir = str(app.state.service.photos_dir)
    err = _error(_upload(api, b"\xff\xd8 not really a jpeg", name="broken.jpg"), 422)
    assert (
        "broken.jpg" in err["message"] and photos_dir not in err["message"] and "/tmp" not in err["message"]
    )
    _, jpeg = synthetic
    body = _upload(api, jpeg).json()
    text = json.dumps(body)
    assert "stored_path" not in text and "file_name" not in text and photos_dir not in text
    assert photos_dir not in json.dumps(api.get("/api/photos").json())


def test_a_large_pixel_count_is_refused_before_decoding(api):
    buffer = io.BytesIO()
    Image.new("L", (7000, 7000)).save(buffer, format="PNG")  # 49 MP in a few KB
    assert len(buffer.getvalue()) < 200_000
    err = _error(_upload(api, buffer.getvalue(), name="huge.png", kind="image/png"), 422)
    assert "pixels" in err["message"] and "16000000" in err["message"]


def test_an_upload_never_reaches_the_disk_with_its_metadata(api, app, monkeypatch):
    """The stored file, overlay and sidecar carry no GPS, and no other file was written meanwhile."""
    from regrow import _photos

    seen: list[set[str]] = []
    original = _photos.store_photo

    def spy(engine, store, data, **kwargs):
        seen.append({p.name for p in store.root.rglob("*")} if store.root.exists() else set())
        return original(engine, store, data, **kwargs)

    monkeypatch.setattr(_photos, "store_photo", spy)
    image = png_with_gps(np.full((200, 240, 3), 200, np.uint8))
    assert b"PhoneMaker" in image
    assert _upload(api, image).status_code == 201
    folder = app.state.service.photos_dir
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"]
    assert len(files) == 3  # photo, overlay, sidecar
    for file in files:
        assert b"PhoneMaker" not in file.read_bytes() and b"GPS" not in file.read_bytes()
    assert all(not any(n.startswith((".upload", ".incoming")) for n in names) for names in seen)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/devices", {"name": "pen\u202eexe.gnp", "kind": "pen", "needle_length_mm": 0.5}, "name"),
        ("/api/devices", {"name": "nul\x00name", "kind": "pen", "needle_length_mm": 0.5}, "name"),
        ("/api/doses", {"kind": "minoxidil", "notes": "n" * 1_000_000}, "notes"),
        ("/api/measurements", {"site": "v", "hair_count": 1, "area_cm2": 1, "notes": "x" * 5001}, "notes"),
    ],
)
def test_text_limits_are_the_same_in_the_api(api, path, body, field):
    err = _error(api.post(path, json=body), 422)
    assert err["field"] == field and len(err["message"]) < 400


def test_a_busy_journal_answers_503_without_sql(api, monkeypatch, app):
    def busy(*_args, **_kwargs):
        raise StorageError(
            "The journal is busy: another regrow program kept it locked for over 20 s. Nothing was written; try "
            "again when it has finished."
        )

    monkeypatch.setattr(app.state.service, "log_dose", busy)
    err = _error(api.post("/api/doses", json={"kind": "minoxidil"}), 503)
    assert "busy" in err["message"] and "INSERT" not in err["message"]


def test_the_app_sweeps_leftovers_of_a_crash_when_it_starts(web_settings):
    from regrow.web import create_app

    folder = web_settings.photos_dir
    folder.mkdir(parents=True)
    (folder / ".incoming-x").mkdir()
    (folder / ".incoming-x" / "clean.jpg").write_bytes(b"stripped copy")
    (folder / ".upload-abc").write_bytes(b"original with GPS")
    (folder / ("ab" * 32 + ".jpg")).write_bytes(b"a file whose row was never committed")
    (folder / "mine.txt").write_bytes(b"not a name regrow writes")
    app = create_app(web_settings)
    app.state.engine.dispose()
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "mine.txt"]
