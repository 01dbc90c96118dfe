"""Labelled folders (Pascal-VOC): lenient parsing, per-file reports, patient grouping and the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regrow.cli import main
from regrow.errors import DataFileError, InputError, NotFoundError
from regrow.measure import patient_of, read_voc_boxes, scan_labelled_folder, split_by_patient
from regrow.measure._voc import parse_voc


def _xml(objects: list[tuple[str, str, tuple]], size=(64, 48), tag="name") -> str:
    objs = "".join(
        f"<object><{tag}>{label}</{tag}><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for label, _, b in objects
    )
    return f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>{objs}</annotation>"


def _image(path, size=(64, 48)):
    Image.fromarray(np.full((size[1], size[0], 3), 200, np.uint8)).save(path)


@pytest.mark.parametrize(
    ("name", "patient"),
    [
        ("220106_A219_1.jpg", "A219"),
        ("230219_A002_12", "A002"),
        ("smith_03.png", "smith"),
        ("smith-2", "smith"),
        ("IMG0042.jpg", "IMG0042"),
        ("20240101_jones_b_4", "jones_b"),
    ],
)
def test_patient_of_default_rule(name, patient):
    assert patient_of(name) == patient


def test_patient_of_regex_named_group_and_fallback():
    assert patient_of("visit3-patient-XY7-left", r"patient-(?P<patient>[A-Z0-9]+)") == "XY7"
    assert patient_of("p12_scan", r"^p(\d+)") == "12"
    assert patient_of("nomatch", r"^p(\d+)") == "nomatch"
    with pytest.raises(InputError, match="regular expression"):
        patient_of("x", "(unclosed")


def test_label_in_class_or_name_and_swapped_coordinates_sorted(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text(_xml([("premium", "", (30, 40, 10, 5)), ("single", "", (1, 2, 3, 4))], tag="class"))
    boxes, labels, size, notes = parse_voc(p)
    assert labels == ["premium", "single"]
    assert boxes.tolist() == [[10, 5, 30, 40], [1, 2, 3, 4]]
    assert size == (64, 48)
    assert notes == ["1 box(es) with min > max sorted"]
    q = tmp_path / "b.xml"
    q.write_text(_xml([("hair", "", (1, 2, 3, 4))], tag="name"))
    assert parse_voc(q)[1] == ["hair"]
    assert read_voc_boxes(p)[0] == (10.0, 5.0, 30.0, 40.0, "premium")


def test_malformed_and_non_numeric_xml_name_file_object_and_field(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<annotation><object>")
    with pytest.raises(DataFileError, match=r"bad\.xml: malformed XML"):
        parse_voc(bad)
    nan = tmp_path / "nan.xml"
    nan.write_text(_xml([("hair", "", (1, 2, "abc", 4))]))
    with pytest.raises(DataFileError, match=r"object 1 has xmax='abc'; must be a number"):
        parse_voc(nan)
    other = tmp_path / "other.xml"
    other.write_text("<svg/>")
    with pytest.raises(DataFileError, match="not a Pascal-VOC"):
        parse_voc(other)


def test_scan_reports_every_problem_per_file_and_keeps_the_good(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    img, ann = tmp_path / "images", tmp_path / "annotations"
    _image(img / "220101_P1_1.jpg")
    (ann / "220101_P1_1.xml").write_text(
        _xml(
            [
                ("hair", "", (10, 10, 20, 30)),
                ("hair", "", (50, 40, 90, 60)),
                ("hair", "", (100, 100, 120, 120)),
                ("hair", "", (5, 5, 5, 9)),
            ]
        )
    )
    _image(img / "220101_P2_1.jpg")  # no labels
    (ann / "220101_P3_1.xml").write_text(_xml([]))  # no image
    _image(img / "220101_P4_1.jpg")
    (ann / "220101_P4_1.xml").write_text("<annotation>")  # malformed
    (img / "220101_P5_1.jpg").write_bytes(b"not an image")
    (ann / "220101_P5_1.xml").write_text(_xml([]))
    _image(img / "220101_P6_1.jpg", size=(64, 48))
    (ann / "220101_P6_1.xml").write_text(_xml([], size=(128, 96)))  # size mismatch, zero boxes
    scan = scan_labelled_folder(tmp_path)
    assert [it.image.name for it in scan.items] == ["220101_P1_1.jpg", "220101_P6_1.jpg"]
    first = scan.items[0]
    # one box kept, one clipped to the 64 x 48 image, one wholly outside and one without area dropped
    assert first.boxes.tolist() == [[10, 10, 20, 30], [50, 40, 64, 48]]
    assert first.patient == "P1"
    skipped = dict((p.split("/")[-1], r) for p, r in scan.skipped)
    assert skipped["220101_P2_1.jpg"].startswith("no labels")
    assert skipped["220101_P3_1.xml"].startswith("no image")
    assert skipped["220101_P4_1.xml"].startswith("bad annotation: malformed XML")
    assert skipped["220101_P5_1.jpg"].startswith("unreadable image")
    notes = " | ".join(n for _, n in scan.notes)
    assert "1 box(es) wholly outside" in notes
    assert "1 box(es) partly outside the image clipped" in notes
    assert "1 box(es) without area dropped" in notes
    assert "<size> says 128 x 96" in notes
    summary = scan.summary()
    assert summary.startswith("2 usable labelled image(s) with 2 box(es) from 2 patient(s)")
    assert "1 no labels" in summary and "1 bad annotation" in summary and "1 unreadable image" in summary
    assert len(scan.report_lines()) == len(scan.skipped) + len(scan.notes)


def test_scan_empty_or_missing_folder(tmp_path):
    with pytest.raises(NotFoundError, match="No images and no Pascal-VOC"):
        scan_labelled_folder(tmp_path)
    with pytest.raises(NotFoundError, match="does not exist"):
        scan_labelled_folder(tmp_path / "nope")
    _image(tmp_path / "a_1.png")
    scan = scan_labelled_folder(tmp_path)  # images but no labels at all: nothing usable, reported
    assert scan.items == [] and scan.skipped[0][1].startswith("no labels")


def _items(tmp_path, patients):
    for i, p in enumerate(patients):
        _image(tmp_path / f"2201{i:02d}_{p}_{i}.png")
        (tmp_path / f"2201{i:02d}_{p}_{i}.xml").write_text(_xml([("hair", "", (1, 1, 9, 9))]))
    return scan_labelled_folder(tmp_path).items


def test_split_keeps_each_patient_on_one_side(tmp_path):
    items = _items(tmp_path, ["A", "A", "B", "B", "C", "D", "D", "E", "F", "G"])
    train, val = split_by_patient(items, validation_fraction=0.3, seed=1)
    tp, vp = {i.patient for i in train}, {i.patient for i in val}
    assert not tp & vp
    assert tp | vp == set("ABCDEFG")
    assert len(vp) == 2  # round(0.3 * 7)
    again = split_by_patient(items, validation_fraction=0.3, seed=1)
    assert [i.image for i in again[1]] == [i.image for i in val]


def test_split_needs_two_patients(tmp_path):
    items = _items(tmp_path, ["A", "A"])
    with pytest.raises(InputError, match="at least 2 patients"):
        split_by_patient(items)
    with pytest.raises(InputError, match="validation fraction"):
        split_by_patient(items, validation_fraction=1.5)


# needs no torch: the folder is scanned before the train extra is imported
def test_cli_train_never_starts_without_usable_images(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(
        [
            "measure",
            "train",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "m.onnx"),
            "--um-per-px",
            "2.76",
        ]
    )
    assert rc == 2 and "No images and no Pascal-VOC" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()

    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(bad / "240101_P1_1.png")
    (bad / "240101_P1_1.xml").write_text("<annotation><object>")
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(bad / "240101_P2_1.png")
    rc = main(["measure", "train", str(bad), "--out", str(tmp_path / "m.onnx"), "--um-per-px", "2.76"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "skipped" in err and "malformed XML" in err and "no labels" in err
    assert "0 usable labelled image(s)" in err and "training not started" in err
    assert not (tmp_path / "m.onnx").exists()


def test_cli_train_check_json_reports_the_scan(tmp_path, capsys):
    import json

    folder = tmp_path / "labelled"
    folder.mkdir()
    box = "<object><name>hair</name><bndbox><xmin>30</xmin><ymin>5</ymin><xmax>10</xmax><ymax>40</ymax></bndbox></object>"
    for patient in ("P1", "P2"):
        Image.fromarray(np.full((48, 48, 3), 128, np.uint8)).save(folder / f"240101_{patient}_1.png")
        (folder / f"240101_{patient}_1.xml").write_text(f"<annotation>{box}</annotation>")
    Image.fromarray(np.full((48, 48, 3), 128, np.uint8)).save(folder / "240101_P3_1.png")  # no labels
    args = ["measure", "train", str(folder), "--out", str(tmp_path / "m.onnx"), "--um-per-px", "2.76"]
    assert main([*args, "--check", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["usable_images"] == 2 and body["patients"] == 2
    assert [Path(s["file"]).name for s in body["skipped"]] == ["240101_P3_1.png"]
    assert body["notes"]  # the reversed x coordinates were sorted, and said so
