"""The learned method at run time (onnxruntime only, no torch): shipped weights, bad model files, results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from regrow.cli import main
from regrow.errors import InputError
from regrow.measure import (
    BUNDLED_MODEL,
    DEFAULT_METHOD,
    ModelFileError,
    load_model,
    measure_image,
    synthesize_scalp,
)

BUNDLED = resources.files("regrow.measure") / "models" / BUNDLED_MODEL


def test_bundled_model_is_small_synthetic_only_and_documented():
    assert os.path.getsize(BUNDLED) <= 5 * 1024 * 1024
    m = load_model()
    assert m.meta["format"] == "regrow-hair-detector"
    assert "synthetic images only" in m.meta["trained_on"]
    assert 0 < m.threshold < 1 and m.work_um_per_px == pytest.approx(11.04)
    assert m.meta["score_calibration"], "a score-to-probability table is needed for the count's uncertainty"
    card = (resources.files("regrow.measure") / "models" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert BUNDLED_MODEL in card and "held-out" in card.lower()


def test_inference_on_shipped_weights_is_deterministic():
    img = synthesize_scalp(11, shape=(512, 640), um_per_px=2.76).image
    m = load_model()
    a = m.run_maps(img[::4, ::4].copy())
    b = m.run_maps(img[::4, ::4].copy())
    assert np.array_equal(a, b)
    r1 = measure_image(img, um_per_px=2.76, method="learned")
    r2 = measure_image(img, um_per_px=2.76, method="learned")
    assert r1.to_dict(include_hairs=True) | {"seconds": 0} == r2.to_dict(include_hairs=True) | {"seconds": 0}


def test_learned_measurement_reports_hairs_and_uncertainty():
    s = synthesize_scalp(5, um_per_px=2.76, style={"hair_colour": "black", "fitzpatrick": 2, "blur_um": 3.0})
    m = measure_image(s.image, um_per_px=2.76, method="learned")
    assert m.method == "learned" and m.model == BUNDLED_MODEL
    truth = s.hair_count(edge_min_visible_um=200.0)
    assert abs(m.hair_count - truth) <= max(3, 0.25 * truth)
    assert m.count_se is not None and m.count_se > 0
    lo, hi = m.count_interval
    assert lo <= m.hair_count <= hi
    counted = [h for h in m.hairs if h.counted]
    assert all(0 <= h.confidence <= 1 for h in counted)
    assert all(h.diameter_um is not None and 5 < h.diameter_um < 200 for h in counted)
    d = m.to_dict()
    assert {"count_se", "count_interval", "low_confidence", "confidence_reasons", "method", "model"} <= set(d)
    json.dumps(d)


def test_low_confidence_says_why():
    s = synthesize_scalp(8, shape=(512, 640), style={"blur_um": 40.0, "hair_density_per_cm2": 40.0})
    m = measure_image(s.image, um_per_px=2.76, method="learned")
    assert m.low_confidence
    assert any("blurred" in r or "fewer than 10 hairs" in r for r in m.confidence_reasons)


def test_method_and_model_arguments_are_checked():
    img = np.full((64, 64, 3), 200, np.uint8)
    with pytest.raises(InputError, match="method"):
        measure_image(img, um_per_px=2.76, method="magic")
    with pytest.raises(InputError, match="only with method 'learned'"):
        measure_image(img, um_per_px=2.76, method="classical", model="x.onnx")
    with pytest.raises(InputError, match="threshold"):
        measure_image(img, um_per_px=2.76, method="learned", threshold=1.5)


@pytest.fixture
def bad_models(tmp_path):
    blob = BUNDLED.read_bytes()
    out = {}
    out["missing"] = tmp_path / "missing.onnx"
    (out.setdefault("empty", tmp_path / "empty.onnx")).write_bytes(b"")
    (out.setdefault("truncated", tmp_path / "truncated.onnx")).write_bytes(blob[: len(blob) // 2])
    (out.setdefault("garbage", tmp_path / "garbage.onnx")).write_bytes(os.urandom(4096))
    (out.setdefault("text", tmp_path / "notes.onnx")).write_text("this is not a model")
    out["folder"] = tmp_path
    return out


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "garbage", "text", "folder"])
def test_bad_model_file_one_line_error_naming_the_file(bad_models, kind):
    path = bad_models[kind]
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    assert "expected a regrow hair-detector model" in msg
    # never a silent fallback to the classical method
    with pytest.raises(ModelFileError):
        measure_image(np.full((64, 64, 3), 200, np.uint8), um_per_px=2.76, method="learned", model=path)


def test_cli_bad_model_fails_before_measuring(bad_models, tmp_path, capsys):
    img = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(synthesize_scalp(1, shape=(128, 160)).image).save(img)
    rc = main(["measure", str(img), "--um-per-px", "2.76", "--model", str(bad_models["truncated"])])
    out = capsys.readouterr()
    assert rc == 2
    assert out.err.count("\n") == 1 and "truncated.onnx" in out.err and out.out == ""


def test_cli_bad_threshold_fails_once_before_measuring(tmp_path, capsys):
    img = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(synthesize_scalp(1, shape=(128, 160)).image).save(img)
    rc = main(
        ["measure", str(img), str(img), "--um-per-px", "2.76", "--method", "learned", "--threshold", "1.5"]
    )
    out = capsys.readouterr()
    assert rc == 2 and out.out == ""
    assert out.err.count("\n") == 1 and "--threshold" in out.err and "(0, 1)" in out.err


def test_cli_learned_and_classical(tmp_path, capsys):
    img = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(synthesize_scalp(2, shape=(512, 640)).image).save(img)
    assert main(["measure", str(img), "--um-per-px", "2.76", "--json", "--method", "learned"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["measure", str(img), "--um-per-px", "2.76", "--json"]) == 0  # the default
    b = json.loads(capsys.readouterr().out)
    assert a["method"] == "learned" and a["count_se"] is not None
    assert b["method"] == DEFAULT_METHOD == "classical" and b["count_se"] is None
    assert main(["measure", str(img), "--um-per-px", "2.76", "--json", "--model", str(BUNDLED)]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "learned"  # --model implies the learned method


def test_learned_method_runs_without_torch():
    """The runtime path is onnxruntime only: measuring with the learned method never imports torch or onnx."""
    code = (
        "import sys; from regrow.measure import measure_image, synthesize_scalp; "
        "m = measure_image(synthesize_scalp(3, shape=(256, 320)).image, um_per_px=2.76, method='learned'); "
        "assert m.method == 'learned'; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'onnx')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
