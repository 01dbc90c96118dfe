"""A damaged, truncated, edited or crafted backup is refused with a clear message, and nothing is written:
no row in the database, no file in the photo folder (a --replace keeps the old journal whole)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from regrow import journal as jr
from regrow.errors import DataFileError, StorageError


@pytest.fixture
def good(tmp_path, ops) -> Path:
    """A valid backup of a SQLite journal with every table filled, photos and a trashed photo."""
    source = f"sqlite:///{tmp_path / 'source.sqlite'}"
    store = jr.PhotoStore(tmp_path / "source-photos")
    ops.populate(source, store)
    return ops.backup(source, store, tmp_path / "good.zip").path


def rewrite(good: Path, out: Path, changes: dict[str, bytes | None], *, fix_sums: bool = True) -> Path:
    """A copy of ``good`` with members replaced, added (``bytes``) or removed (``None``); SHA256SUMS is
    recomputed unless ``fix_sums`` is false (then only the edited members disagree with it)."""
    with zipfile.ZipFile(good) as source:
        members = {name: source.read(name) for name in source.namelist()}
    for name, data in changes.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    if fix_sums:
        members["SHA256SUMS"] = "".join(
            f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in members.items() if n != "SHA256SUMS"
        ).encode()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return out


def _member(good: Path, prefix: str) -> tuple[str, bytes]:
    with zipfile.ZipFile(good) as archive:
        name = next(n for n in sorted(archive.namelist()) if n.startswith(prefix))
        return name, archive.read(name)


def _manifest(good: Path) -> dict:
    with zipfile.ZipFile(good) as archive:
        return json.loads(archive.read("manifest.json"))


def _assert_refused(url: str, store: jr.PhotoStore, path: Path, ops, match: str, error=DataFileError) -> None:
    before_rows, before_files = ops.dump(url), ops.files(store)
    with pytest.raises(error, match=match):
        ops.restore(url, store, path)
    assert ops.dump(url) == before_rows
    assert ops.files(store) == before_files


def test_a_flipped_byte_in_a_photo_is_refused(good, fresh_url, tmp_path, ops):
    _name, data = _member(good, "photos/")
    raw = bytearray(good.read_bytes())
    at = raw.index(data) + len(data) // 2  # photos are stored uncompressed: their bytes are in the file
    raw[at] ^= 0x01
    broken = tmp_path / "flipped.zip"
    broken.write_bytes(bytes(raw))
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(
        target, store, broken, ops, r"photos/[0-9a-f]{64}\.jpg.*(damaged|SHA-256).*nothing was restored"
    )


def test_a_truncated_backup_is_refused(good, fresh_url, tmp_path, ops):
    broken = tmp_path / "truncated.zip"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, broken, ops, r"truncated\.zip: not a readable regrow backup \(truncated")


def test_an_edited_table_file_is_refused(good, fresh_url, tmp_path, ops):
    name, data = _member(good, "tables/note.jsonl")
    edited = rewrite(good, tmp_path / "edited.zip", {name: data.replace(b"#0", b"#9", 1)}, fix_sums=False)
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(
        target, store, edited, ops, r"'tables/note\.jsonl' does not match its SHA-256 in SHA256SUMS"
    )


@pytest.mark.parametrize(
    "crafted", ["../evil.jpg", "photos/../../evil.jpg", "/etc/cron.d/evil", "tables/../../x.jsonl"]
)
def test_a_crafted_member_name_is_refused_even_with_matching_checksums(
    crafted, good, fresh_url, tmp_path, ops
):
    edited = rewrite(good, tmp_path / "crafted.zip", {crafted: b"payload"})
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, edited, ops, rf"unexpected member {crafted!r}")
    assert not (tmp_path / "evil.jpg").exists()


def test_a_photo_whose_bytes_are_not_its_name_is_refused(good, fresh_url, tmp_path, ops):
    name, _data = _member(good, "photos/")
    edited = rewrite(good, tmp_path / "swapped.zip", {name: b"another image"})
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, edited, ops, "is not the photo its name says")


def test_a_photo_file_left_out_is_refused(good, fresh_url, tmp_path, ops):
    name, _data = _member(good, "photos/")
    derived = [n for n in zipfile.ZipFile(good).namelist() if n.startswith(name[:71]) and n != name]
    edited = rewrite(good, tmp_path / "short.zip", dict.fromkeys([name, *derived]))
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, edited, ops, r"the file of photo '[0-9a-f]{64}\.jpg' is not in the backup")


def test_a_backup_of_a_newer_regrow_is_refused(good, fresh_url, tmp_path, ops):
    manifest = {**_manifest(good), "alembic_revision": "9999"}
    edited = rewrite(good, tmp_path / "newer.zip", {"manifest.json": json.dumps(manifest).encode()})
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, edited, ops, r"revision '9999'.*newer regrow")


def test_a_row_count_that_disagrees_with_the_manifest_is_refused(good, fresh_url, tmp_path, ops):
    name, data = _member(good, "tables/note.jsonl")
    edited = rewrite(good, tmp_path / "fewer.zip", {name: data.split(b"\n", 1)[1]})
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, edited, ops, r"tables/note\.jsonl holds 2 rows, the manifest says 3")


def test_a_database_error_mid_restore_rolls_back_a_replace_whole(good, fresh_url, tmp_path, ops):
    """A duplicate id (consistent checksums and counts) fails inside the transaction: with --replace the
    old journal is still all there and no photo file of the backup was left behind."""
    name, data = _member(good, "tables/note.jsonl")
    first = data.split(b"\n", 1)[0] + b"\n"
    manifest = _manifest(good)
    manifest["tables"]["note"]["rows"] += 1
    edited = rewrite(
        good, tmp_path / "dup.zip", {name: data + first, "manifest.json": json.dumps(manifest).encode()}
    )
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    engine = jr.open_journal(target)
    with jr.session_scope(engine) as session, store.writing():
        me = jr.get_or_create_default_person(session).id
        kept = store.put(b"the old journal's photo", ".png")
        jr.add_photo(
            session,
            person_id=me,
            taken_at="2025-01-01",
            site="vertex",
            file_name=kept,
            sha256=kept[:64],
            width=1,
            height=1,
        )
    engine.dispose()
    before_rows, before_files = ops.dump(target), ops.files(store)
    with pytest.raises(StorageError, match=r"Restoring into .* failed .*nothing was changed"):
        ops.restore(target, store, edited, replace=True)
    assert ops.dump(target) == before_rows
    assert ops.files(store) == before_files


def test_not_a_regrow_database_is_refused_even_with_replace(good, fresh_url, tmp_path, ops):
    from sqlalchemy import create_engine, text

    target = fresh_url()
    engine = create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    store = jr.PhotoStore(tmp_path / "photos")
    before = ops.files(store)
    with pytest.raises(StorageError, match=r"not a regrow journal \(it holds other tables: invoices\)"):
        ops.restore(target, store, good, replace=True)
    assert ops.files(store) == before


def test_an_overlong_row_is_refused_before_it_is_held_in_memory(good, fresh_url, tmp_path, ops, monkeypatch):
    import regrow.journal._backup_format as fmt

    monkeypatch.setattr(fmt, "MAX_ROW_BYTES", 100)
    target, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    _assert_refused(target, store, good, ops, r"tables/\w+\.jsonl line 1 is longer than 100 bytes")


def test_a_damaged_photo_in_the_photo_folder_is_reported_and_its_rows_kept(fresh_url, tmp_path, ops):
    source, store = fresh_url(), jr.PhotoStore(tmp_path / "photos")
    ops.populate(source, store)
    damaged = sorted(p for p in store.root.iterdir() if p.suffix == ".jpg")[0]
    damaged.write_bytes(b"bit rot")
    summary = ops.backup(source, store, f"{tmp_path}/out/")  # a folder named with a trailing slash
    assert summary.path.parent == tmp_path / "out" and summary.path.name.startswith("regrow-backup-")
    assert summary.missing_photo_files == [damaged.name] and summary.photo_files == 2
    target, new_store = fresh_url(), jr.PhotoStore(tmp_path / "restored")
    restored = ops.restore(target, new_store, summary.path)
    assert restored.missing_photo_files == [damaged.name] and restored.photo_files_written == 2
    assert ops.dump(target) == ops.dump(source)
    assert damaged.name not in ops.files(new_store)
