"""``regrow measure`` end to end, in process."""

from __future__ import annotations

import csv
import json

from PIL import Image

from regrow.cli import main
from regrow.measure import synthesize

SMALL = {"shape": (400, 520), "um_per_px": 5.5, "unit_density_per_cm2": 90.0}


def _voc(path, boxes):
    objs = "".join(
        f"<object><class>single</class><bndbox><xmin>{a:.0f}</xmin><ymin>{b:.0f}</ymin><xmax>{c:.0f}</xmax>"
        f"<ymax>{d:.0f}</ymax></bndbox></object>"
        for a, b, c, d in boxes
    )
    path.write_text(f"<annotation>{objs}</annotation>")


def test_measure_batch_json_csv_overlay_and_bad_file(tmp_path, capsys):
    good = []
    for seed in (1, 2):
        p = tmp_path / f"site{seed}.png"
        Image.fromarray(synthesize(**SMALL, seed=seed).image).save(p)
        good.append(p)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    rc = main(
        [
            "measure",
            str(good[0]),
            str(bad),
            str(good[1]),
            "--um-per-px",
            "5.5",
            "--json",
            "--overlay",
            str(tmp_path / "ov"),
            "--csv",
            str(tmp_path / "out.csv"),
            "--workers",
            "2",
        ]
    )
    out = capsys.readouterr()
    assert rc == 2  # one file failed; the others were measured
    lines = [json.loads(x) for x in out.out.splitlines()]
    assert [("error" in x) for x in lines] == [False, True, False]
    for x in (lines[0], lines[2]):
        for key in (
            "image",
            "hair_count",
            "area_cm2",
            "density_per_cm2",
            "diameter_um",
            "terminal_count",
            "vellus_count",
            "follicular_units",
            "quality_flags",
            "seconds",
        ):
            assert key in x
    assert "broken.jpg" in out.err
    assert sorted(p.name for p in (tmp_path / "ov").iterdir()) == ["site1.overlay.png", "site2.overlay.png"]
    with open(tmp_path / "out.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["image"] for r in rows] == [str(good[0]), str(good[1])]


def test_measure_text_and_device_errors(tmp_path, capsys):
    p = tmp_path / "a.png"
    Image.fromarray(synthesize(**SMALL, seed=3).image).save(p)
    assert main(["measure", str(p), "--um-per-px", "5.5", "--quiet"]) == 0
    assert "hairs" in capsys.readouterr().out
    assert main(["measure", str(p), "--device", "no-such-scope"]) == 2
    assert "fdu-70x" in capsys.readouterr().err


def test_measure_evaluate(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    for seed in range(3):
        s = synthesize(**SMALL, seed=seed)
        Image.fromarray(s.image).save(tmp_path / "images" / f"s{seed}.png")
        boxes = [
            (
                min(h.exit_x_px, h.tip_x_px),
                min(h.exit_y_px, h.tip_y_px),
                max(h.exit_x_px, h.tip_x_px),
                max(h.exit_y_px, h.tip_y_px),
            )
            for h in s.hairs
            if h.counted
        ]
        _voc(tmp_path / "annotations" / f"s{seed}.xml", boxes)
    rc = main(
        [
            "measure",
            "evaluate",
            str(tmp_path),
            "--um-per-px",
            "5.5",
            "--plot",
            str(tmp_path / "ag.png"),
            "--json",
        ]
    )
    assert rc == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n_images"] == 3
    assert ev["count_mae"] <= 3.0
    assert ev["recall"] > 0.6 and ev["precision"] > 0.6
    assert (tmp_path / "ag.png").stat().st_size > 1000
