"""The export archive restores exactly, and no export file, however crafted, writes or reads outside the
photo folder (hardening issue, item 1)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from test_journal_cli import run, run_json

from regrow import journal as jr


def _photo(engine, store: jr.PhotoStore, content: bytes, *, suffix: str = ".png") -> dict:
    """Store a photo file and its row the way the app does (file first, then the row)."""
    with store.writing():
        name = store.put(content, suffix)
        store.put_derived(name[:64], "overlay", b"overlay of " + content)
        store.put_derived(name[:64], "sidecar", json.dumps({"n": len(content)}).encode())
        with jr.session_scope(engine) as session:
            me = jr.get_or_create_default_person(session)
            row = jr.add_photo(
                session,
                person_id=me.id,
                taken_at="2026-10-01T09:00",
                site="vertex",
                file_name=name,
                sha256=name[:64],
                width=4,
                height=3,
            )
            jr.add_measurement(
                session,
                person_id=me.id,
                taken_at="2026-10-01T09:00",
                site="vertex",
                hair_count=12,
                area_cm2=0.1,
                photo_id=row.id,
                source="image",
            )
            return row.as_dict()


def _files(folder: Path) -> dict[str, bytes]:
    return (
        {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != ".lock"}
        if folder.is_dir()
        else {}
    )


def _archive(tmp_path, db_url, photos) -> Path:
    engine = jr.open_journal(db_url)
    try:
        return jr.export_archive(engine, jr.PhotoStore(photos), tmp_path / "export.zip").path
    finally:
        engine.dispose()


def _rewrite(archive: Path, out: Path, *, edit=None, extra: dict[str, bytes] | None = None) -> Path:
    """A copy of ``archive`` with journal.json edited and checksums recomputed (a careful attacker)."""
    with zipfile.ZipFile(archive) as src:
        members = {n: src.read(n) for n in src.namelist() if n != "SHA256SUMS"}
    if edit is not None:
        document = json.loads(members["journal.json"])
        edit(document)
        members["journal.json"] = json.dumps(document).encode()
    members.update(extra or {})
    with zipfile.ZipFile(out, "w") as dst:
        sums = ""
        for name, data in members.items():
            dst.writestr(name, data)
            sums += f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        dst.writestr("SHA256SUMS", sums)
    return out


@pytest.fixture
def filled(db_url, tmp_path):
    """A journal with two photos (files, overlays, sidecars) and its photo folder."""
    photos = tmp_path / "photos-a"
    engine = jr.open_journal(db_url)
    try:
        store = jr.PhotoStore(photos)
        rows = [
            _photo(engine, store, b"\x89PNG first photo"),
            _photo(engine, store, b"\xff\xd8 second", suffix=".jpg"),
        ]
    finally:
        engine.dispose()
    return photos, rows


def test_archive_round_trip_restores_rows_and_files_byte_for_byte(
    capsys, db_url, fresh_url, tmp_path, filled, snapshot_at
):
    photos, _ = filled
    original_rows, original_files = snapshot_at(db_url), _files(photos)
    body = run_json(capsys, db_url, "export", "--out", str(tmp_path / "out"), "--photos-dir", str(photos))
    archive = Path(body["file"])
    assert archive.suffix == ".zip" and body["photo_files"] == 2 and body["missing_photo_files"] == []
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == sorted(
            ["journal.json", "SHA256SUMS", *(f"photos/{n}" for n in original_files)]
        )
    other, other_photos = fresh_url(), tmp_path / "photos-b"
    result = run_json(capsys, other, "import", str(archive), "--photos-dir", str(other_photos))
    assert result["photo_files_restored"] == 2 and result["photos_without_files"] == []
    assert snapshot_at(other) == original_rows  # every row, ids and values
    assert _files(other_photos) == original_files  # photos, overlays and sidecars, byte for byte

    # into a journal that holds data: refused, nothing changes; with --replace: exact again
    rc, _, err = run(capsys, other, "import", str(archive), "--photos-dir", str(other_photos))
    assert rc == 2 and "--replace" in err
    assert snapshot_at(other) == original_rows
    rc, _, err = run(capsys, other, "import", str(archive), "--replace", "--photos-dir", str(other_photos))
    assert rc == 0, err
    assert snapshot_at(other) == original_rows and _files(other_photos) == original_files


def test_a_damaged_or_edited_archive_imports_nothing(
    capsys, db_url, fresh_url, tmp_path, filled, snapshot_at
):
    photos, rows = filled
    archive = _archive(tmp_path, db_url, photos)
    with zipfile.ZipFile(archive) as src:
        members = {n: src.read(n) for n in src.namelist()}
    photo_member = f"photos/{rows[0]['file_name']}"
    members[photo_member] = b"swapped pixels"
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(edited, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    target, target_photos = fresh_url(), tmp_path / "photos-b"
    before = snapshot_at(target)
    rc, _, err = run(capsys, target, "import", str(edited), "--photos-dir", str(target_photos))
    assert rc == 2 and "SHA-256" in err and "nothing was imported" in err
    assert snapshot_at(target) == before and _files(target_photos) == {}
    # a careful attacker also recomputes SHA256SUMS: the photo no longer matches its row's hash
    forged = _rewrite(archive, tmp_path / "forged.zip", extra={photo_member: b"swapped pixels"})
    rc, _, err = run(capsys, target, "import", str(forged), "--photos-dir", str(target_photos))
    assert rc == 2 and "does not match its SHA-256" in err
    assert snapshot_at(target) == before and _files(target_photos) == {}


@pytest.mark.parametrize(
    "file_name",
    [
        "/tmp/secret.txt",
        "../../outside.png",
        "photos/../../x.png",
        "a" * 64 + ".png/../../x",
        "A" * 64 + ".png",
    ],
)
def test_a_crafted_file_name_in_an_archive_is_refused(
    capsys, db_url, fresh_url, tmp_path, filled, snapshot_at, file_name
):
    photos, _ = filled
    archive = _archive(tmp_path, db_url, photos)

    def edit(document):
        document["tables"]["photo"][0]["file_name"] = file_name

    crafted = _rewrite(archive, tmp_path / "crafted.zip", edit=edit)
    target = fresh_url()
    before = snapshot_at(target)
    rc, _, err = run(capsys, target, "import", str(crafted), "--photos-dir", str(tmp_path / "p"))
    assert rc == 2 and "file_name" in err and "Traceback" not in err
    assert snapshot_at(target) == before and _files(tmp_path / "p") == {}


@pytest.mark.parametrize(
    "member", ["../evil.txt", "photos/../../evil.txt", "/abs/evil.txt", "photos/evil.sh"]
)
def test_an_archive_member_outside_the_layout_is_refused(capsys, db_url, fresh_url, tmp_path, filled, member):
    photos, _ = filled
    archive = _archive(tmp_path, db_url, photos)
    crafted = _rewrite(archive, tmp_path / "crafted.zip", extra={member: b"payload"})
    rc, _, err = run(capsys, fresh_url(), "import", str(crafted), "--photos-dir", str(tmp_path / "p"))
    assert rc == 2 and "unexpected member" in err
    assert not list(tmp_path.rglob("evil*"))


def _legacy_export(
    tmp_path: Path, rows: list[dict], stored_paths: list[str], copies: dict[str, bytes]
) -> Path:
    """A regrow 0.1 JSON export (format_version 1: photo rows carry an absolute stored_path)."""
    photo_rows = []
    for row, stored in zip(rows, stored_paths, strict=True):
        legacy = {k: v for k, v in row.items() if k != "file_name"}
        legacy["stored_path"] = stored
        legacy["taken_at"] = str(legacy["taken_at"]).replace(" ", "T")
        legacy["created_at"] = str(legacy["created_at"]).replace(" ", "T")
        photo_rows.append(legacy)
    document = {
        "format": "regrow-journal",
        "format_version": 1,
        "schema_revision": "0001",
        "exported_at": "2026-11-30T10:00:00",
        "tables": {
            "person": [
                {"id": 1, "display_name": "me", "is_default": True, "created_at": "2026-10-01T08:00:00"}
            ],
            "photo": photo_rows,
        },
    }
    folder = tmp_path / "legacy"
    (folder / "photos").mkdir(parents=True)
    for name, data in copies.items():
        (folder / "photos" / name).write_bytes(data)
    path = folder / "regrow-journal-20261130T100000.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_legacy_json_export_with_a_crafted_stored_path_writes_nothing_outside(capsys, fresh_url, tmp_path):
    secret = tmp_path / "any" / "secret.txt"
    content = b"the export says this is a photo"
    sha = hashlib.sha256(content).hexdigest()
    row = {
        "id": 1,
        "person_id": 1,
        "taken_at": "2026-10-01T09:00:00",
        "site": "vertex",
        "sha256": sha,
        "width": 4,
        "height": 3,
        "created_at": "2026-10-01T09:00:00",
    }
    for stored in (str(secret), "../../any/secret.txt", f"/tmp/../{sha}.png"):
        export = _legacy_export(
            tmp_path / stored.replace("/", "_"), [row], [stored], {f"1-{sha[:16]}.png": content}
        )
        target = fresh_url()
        rc, _, err = run(capsys, target, "import", str(export), "--photos-dir", str(tmp_path / "photos"))
        assert rc == 2 and "stored_path" in err and "not a photo file regrow wrote" in err, err
        assert not secret.exists() and _files(tmp_path / "photos") == {}


def test_legacy_json_export_imports_into_the_photo_folder(capsys, fresh_url, tmp_path, snapshot_at):
    content = b"\x89PNG legacy photo"
    sha = hashlib.sha256(content).hexdigest()
    row = {
        "id": 1,
        "person_id": 1,
        "taken_at": "2026-10-01T09:00:00",
        "site": "vertex",
        "sha256": sha,
        "width": 4,
        "height": 3,
        "created_at": "2026-10-01T09:00:00",
    }
    # regrow 0.1 wrote absolute paths of its own photo folder: only the canonical name is used
    export = _legacy_export(
        tmp_path, [row], [f"/home/old/.local/share/regrow/photos/{sha}.png"], {f"1-{sha[:16]}.png": content}
    )
    target, photos = fresh_url(), tmp_path / "photos"
    result = run_json(capsys, target, "import", str(export), "--photos-dir", str(photos))
    assert result["photo_files_restored"] == 1
    assert _files(photos) == {f"{sha}.png": content}
    assert snapshot_at(target)["photo"][0]["file_name"] == f"{sha}.png"


def test_a_legacy_export_without_photo_files_keeps_the_measurements(capsys, fresh_url, tmp_path, snapshot_at):
    content = b"never exported"
    sha = hashlib.sha256(content).hexdigest()
    row = {
        "id": 7,
        "person_id": 1,
        "taken_at": "2026-10-01T09:00:00",
        "site": "vertex",
        "sha256": sha,
        "width": 4,
        "height": 3,
        "created_at": "2026-10-01T09:00:00",
    }
    export = _legacy_export(tmp_path, [row], [f"/x/{sha}.jpg"], {})
    document = json.loads(export.read_text())
    document["tables"]["measurement"] = [
        {
            "id": 3,
            "person_id": 1,
            "taken_at": "2026-10-01T09:00:00",
            "site": "vertex",
            "hair_count": 10,
            "area_cm2": 0.1,
            "density_per_cm2": 100.0,
            "diameter_um": None,
            "terminal_count": None,
            "vellus_count": None,
            "photo_id": 7,
            "source": "image",
            "quality_flags": [],
            "um_per_px": 2.76,
            "camera": None,
            "replicate": 0,
            "notes": None,
            "created_at": "2026-10-01T09:00:00",
        }
    ]
    export.write_text(json.dumps(document))
    target = fresh_url()
    rc, _, err = run(capsys, target, "import", str(export), "--photos-dir", str(tmp_path / "p"))
    assert rc == 0 and "had no file in the export" in err
    after = snapshot_at(target)
    assert after["photo"] == [] and after["measurement"][0]["photo_id"] is None
    assert after["measurement"][0]["hair_count"] == 10


def test_exports_are_private_files(capsys, db_url, tmp_path, filled):
    import os
    import stat

    photos, _ = filled
    old = os.umask(0o022)
    try:
        archive = Path(
            run_json(capsys, db_url, "export", "--out", str(tmp_path / "o"), "--photos-dir", str(photos))[
                "file"
            ]
        )
        csv_files = run_json(capsys, db_url, "export", "--out", str(tmp_path / "c"), "--format", "csv")[
            "files"
        ]
    finally:
        os.umask(old)
    for path in [archive, *map(Path, csv_files)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_uploaded_archive_and_a_path_are_read_alike(db_url, fresh_url, tmp_path, filled, snapshot_at):
    photos, _ = filled
    archive = _archive(tmp_path, db_url, photos)
    target = fresh_url()
    engine = jr.open_journal(target)
    try:
        with archive.open("rb") as handle:
            upload = io.BytesIO(handle.read())
        result = jr.import_journal(engine, jr.PhotoStore(tmp_path / "b"), upload, name="mine.zip")
    finally:
        engine.dispose()
    assert result["photo_files_restored"] == 2
    assert snapshot_at(target) == snapshot_at(db_url)


def test_an_undoable_photo_deletion_survives_export_and_import(db_url, fresh_url, tmp_path, filled):
    from regrow import _edits

    photos, rows = filled
    engine = jr.open_journal(db_url)
    try:
        store = jr.PhotoStore(photos)
        me = _person_id(engine)
        _edits.delete(engine, store, person_id=me, kind="photo", row_id=rows[0]["id"])
        archive = jr.export_archive(engine, store, tmp_path / "out.zip").path
    finally:
        engine.dispose()
    with zipfile.ZipFile(archive) as z:  # the deleted photo travels with the history that can undo it
        assert f"photos/{rows[0]['file_name']}" in z.namelist()
    other = tmp_path / "photos-b"
    engine = jr.open_journal(fresh_url())
    try:
        store = jr.PhotoStore(other)
        jr.import_journal(engine, store, archive)
        assert not store.path(rows[0]["file_name"]).exists()  # still deleted after the import
        assert {p.name for p in store.trash_files_of(rows[0]["file_name"])} == {
            rows[0]["file_name"],
            f"{rows[0]['sha256']}.overlay.png",
            f"{rows[0]['sha256']}.json",
        }
        _edits.undo(engine, store, person_id=_person_id(engine))
        assert store.path(rows[0]["file_name"]).read_bytes() == b"\x89PNG first photo"
        with jr.session_scope(engine) as session:
            me = jr.get_or_create_default_person(session).id
            assert {p.id for p in jr.list_photos(session, person_id=me)} == {r["id"] for r in rows}
    finally:
        engine.dispose()


def _person_id(engine) -> int:
    with jr.session_scope(engine) as session:
        return jr.get_or_create_default_person(session).id
