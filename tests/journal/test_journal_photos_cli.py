"""Photos from the CLI (issue #18): photo add, measurement add --image and import with calibrations, the
quality gate, canonical site names."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from test_journal_cli import run, run_json

from regrow import journal as jr


def _synthetic(path, seed=3):
    from regrow.measure import synthesize

    synth = synthesize(shape=(480, 640), um_per_px=8.0, unit_density_per_cm2=70.0, seed=seed)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    Image.fromarray(synth.image).save(path, exif=exif.tobytes(), quality=95)
    return path


@pytest.fixture
def photos(tmp_path):
    return tmp_path / "photos"


def test_photo_add_strips_measures_stores_and_gates_bad_images(capsys, db_url, tmp_path, photos):
    good = _synthetic(tmp_path / "good.jpg")
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((480, 640, 3), np.uint8)).save(black)
    out = run_json(
        capsys,
        db_url,
        "photo",
        "add",
        str(good),
        str(black),
        "--site",
        "Vertex ",
        "--um-per-px",
        "8",
        "--date",
        "2025-01-06T10:00",
        "--photos-dir",
        str(photos),
    )
    assert [o["review_status"] for o in out] == [None, "flagged"]
    assert "blurred" in out[1]["review_reason"] or "underexposed" in out[1]["review_reason"]
    stored = [p for p in photos.iterdir() if p.suffix in (".jpg", ".png") and ".overlay" not in p.name]
    assert len(stored) == 2
    for file in stored:
        data = file.read_bytes()
        assert b"PhoneMaker" not in data and b"GPS" not in data
    listed = run_json(capsys, db_url, "photo", "list")
    assert {p["site"] for p in listed} == {"vertex"} and all("file_name" not in p for p in listed)
    # progress leaves the flagged image out and says why
    report = run_json(capsys, db_url, "progress")
    assert any("image quality" in json.dumps(e) for e in report["excluded"])


def test_photo_add_needs_exactly_one_calibration_and_names_the_options(capsys, db_url, tmp_path, snapshot_at):
    good = _synthetic(tmp_path / "good.jpg")
    before = snapshot_at(db_url)
    for extra in ([], ["--um-per-px", "8", "--device", "fdu-70x"]):
        rc, _, err = run(capsys, db_url, "photo", "add", str(good), "--site", "vertex", *extra)
        assert rc == 2 and "--um-per-px, --device or --ruler" in err
    rc, _, err = run(
        capsys, db_url, "measurement", "add", "--date", "2025-01-06", "--site", "vertex", "--image", str(good)
    )
    assert rc == 2 and "--um-per-px, --device or --ruler" in err and "No such option" not in err
    assert snapshot_at(db_url) == before


def test_measurement_add_image_stores_the_photo_too(capsys, db_url, tmp_path, photos):
    good = _synthetic(tmp_path / "good.jpg")
    row = run_json(
        capsys,
        db_url,
        "measurement",
        "add",
        "--date",
        "2025-01-06",
        "--site",
        "crown",
        "--image",
        str(good),
        "--device",
        "fdu-70x",
        "--photos-dir",
        str(photos),
    )
    assert row["photo_id"] is not None and row["site"] == "vertex" and row["count_source"] == "automatic"
    assert run_json(capsys, db_url, "photo", "show", str(row["photo_id"]))["measurement"]["id"] == row["id"]


def test_measurement_import_with_images_is_all_or_nothing(capsys, db_url, tmp_path, photos, snapshot_at):
    _synthetic(tmp_path / "a.jpg", seed=1)
    _synthetic(tmp_path / "b.jpg", seed=2)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not an image")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,site,count,area_cm2,image,um_per_px\n2025-01-06,vertex,15,0.1,,\n2025-01-06,frontal,,,a.jpg,8\n"
        "2025-01-06,frontal,,,broken.jpg,8\n",
        encoding="utf-8",
    )
    before = snapshot_at(db_url)
    rc, _, err = run(capsys, db_url, "measurement", "import", str(bad), "--photos-dir", str(photos))
    assert rc == 2 and "row 4" in err
    assert snapshot_at(db_url) == before
    assert not [p for p in photos.glob("*") if p.name not in (".lock", ".trash")] if photos.exists() else True
    good = tmp_path / "good.csv"
    good.write_text(
        "date,site,count,area_cm2,image,um_per_px,device\n2025-01-06,vertex,15,0.1,,,\n"
        "2025-01-06,frontal,,,a.jpg,8,\n2025-02-06,frontal,,,b.jpg,,\n",
        encoding="utf-8",
    )
    rc, _, err = run(capsys, db_url, "measurement", "import", str(good), "--photos-dir", str(photos))
    assert rc == 2 and "row 4" in err and "calibration" in err  # b.jpg has none and no option gives one
    summary = run_json(
        capsys, db_url, "measurement", "import", str(good), "--um-per-px", "8", "--photos-dir", str(photos)
    )
    assert summary == {"imported": 3, "photos": 2, "sites": ["frontal", "vertex"]}
    assert len(run_json(capsys, db_url, "photo", "list")) == 2


def test_site_names_are_canonical_and_near_misses_need_confirmation(capsys, db_url):
    run_json(
        capsys,
        db_url,
        "measurement",
        "add",
        "--date",
        "2025-01-06",
        "--site",
        "Vertex",
        "--count",
        "15",
        "--area-cm2",
        "0.1",
    )
    run_json(
        capsys,
        db_url,
        "measurement",
        "add",
        "--date",
        "2025-02-06",
        "--site",
        " crown ",
        "--count",
        "15",
        "--area-cm2",
        "0.1",
    )
    rc, _, err = run(
        capsys,
        db_url,
        "measurement",
        "add",
        "--date",
        "2025-03-06",
        "--site",
        "vertx",
        "--count",
        "15",
        "--area-cm2",
        "0.1",
    )
    assert rc == 2 and "did you mean 'vertex'" in err and "--new-site" in err
    run_json(
        capsys,
        db_url,
        "measurement",
        "add",
        "--date",
        "2025-03-06",
        "--site",
        "vertx",
        "--count",
        "15",
        "--area-cm2",
        "0.1",
        "--new-site",
    )
    rows = run_json(capsys, db_url, "measurement", "list")
    assert [r["site"] for r in rows] == ["vertex", "vertex", "vertx"]
    assert [r["replicate"] for r in rows] == [0, 0, 0]


def test_canonical_site_table():
    assert jr.canonical_site("  Top  of   Head ") == "vertex"
    assert jr.canonical_site("Frontal_Hairline") == "frontal"
    assert jr.canonical_site("my left patch") == "my left patch"
    assert set(jr.known_sites()) >= {"vertex", "frontal", "temples", "occipital", "mid-scalp"}


def test_an_image_is_decoded_from_memory(tmp_path):
    from regrow.measure import clean_image_bytes

    buffer = io.BytesIO()
    _synthetic(tmp_path / "x.jpg")
    data = (tmp_path / "x.jpg").read_bytes()
    clean, rgb = clean_image_bytes(data, ".png", name="x.jpg")
    assert rgb.shape == (480, 640, 3) and b"PhoneMaker" not in clean and b"PhoneMaker" in data
    buffer.write(clean)
    with Image.open(buffer) as im:
        assert not im.getexif()


def test_the_journal_measures_with_the_model_named_by_the_setting(
    capsys, db_url, tmp_path, photos, monkeypatch
):
    from importlib import resources

    image = _synthetic(tmp_path / "site.jpg")
    common = [
        "--site",
        "vertex",
        "--um-per-px",
        "8",
        "--date",
        "2025-01-06T10:00",
        "--photos-dir",
        str(photos),
    ]
    # a file that is not a hair detector: one line naming it, nothing stored, no silent fallback
    bogus = tmp_path / "not-a-model.onnx"
    bogus.write_bytes(b"not a model")
    monkeypatch.setenv("REGROW_HAIR_MODEL", str(bogus))
    rc, _, err = run(capsys, db_url, "photo", "add", str(image), *common)
    assert rc == 2 and "not-a-model.onnx" in err and err.count("\n") == 1
    assert run_json(capsys, db_url, "photo", "list") == []
    # the shipped learned model: the stored count carries its standard error
    model = resources.files("regrow.measure") / "models" / "hairnet-synthetic-v1.onnx"
    monkeypatch.setenv("REGROW_HAIR_MODEL", str(model))
    run_json(capsys, db_url, "photo", "add", str(image), *common)
    (row,) = run_json(capsys, db_url, "measurement", "list")
    assert row["count_se"] is not None and row["count_se"] > 0
