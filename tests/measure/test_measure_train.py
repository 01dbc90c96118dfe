"""Training the detector: needs torch and onnx (the ``train`` extra; the ``test`` extra installs both).

Every test here is marked ``train`` and imports torch through the ``tr`` fixture, so a runtime install
without torch runs the rest with ``pytest -m "not train"`` (these are then deselected, never skipped); run
without torch, they fail on the import.
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from regrow.errors import InputError
from regrow.measure import ModelFileError, load_model, measure_image, synthesize_scalp
from regrow.measure._calibration import Calibration
from regrow.measure._detector import MODEL_FORMAT_VERSION

pytestmark = pytest.mark.train
META = {"work_um_per_px": 11.04, "threshold": 0.4}


@pytest.fixture(scope="module")
def tr():
    """torch, onnx and the training modules (imported here so that collection never needs torch)."""
    import onnx
    import torch

    from regrow.measure.train._data import CropSet, render_synthetic_set
    from regrow.measure.train._export import export_onnx
    from regrow.measure.train._fit import FitConfig, fit
    from regrow.measure.train._loss import detector_loss
    from regrow.measure.train._net import HairNet, from_onnx
    from regrow.measure.train.finetune import FinetuneConfig, finetune

    return types.SimpleNamespace(
        torch=torch,
        onnx=onnx,
        CropSet=CropSet,
        render_synthetic_set=render_synthetic_set,
        export_onnx=export_onnx,
        FitConfig=FitConfig,
        fit=fit,
        detector_loss=detector_loss,
        HairNet=HairNet,
        from_onnx=from_onnx,
        FinetuneConfig=FinetuneConfig,
        finetune=finetune,
    )


def _random_bn(tr, net):
    g = tr.torch.Generator().manual_seed(3)
    for m in net.modules():
        if isinstance(m, tr.torch.nn.BatchNorm2d):
            m.running_mean.copy_(tr.torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(tr.torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(tr.torch.rand(m.num_features, generator=g) + 0.5)
    return net.eval()


def test_tiny_training_run_loss_falls(tr):
    tr.torch.manual_seed(0)
    tr.torch.set_num_threads(1)
    crops = tr.render_synthetic_set(range(8), size=96)
    ds = tr.CropSet(crops, augment=False)
    batch = [tr.torch.stack(t) for t in zip(*[ds[i] for i in range(len(ds))], strict=True)]
    net = tr.HairNet()
    opt = tr.torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss, _ = tr.detector_loss(net(batch[0]), *batch[1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])


def test_onnx_export_matches_torch(tr, tmp_path):
    tr.torch.manual_seed(1)
    net = _random_bn(tr, tr.HairNet())
    path = tr.export_onnx(net, tmp_path / "m.onnx", META)
    model = load_model(path)
    x = np.random.default_rng(0).normal(size=(3, 96, 128)).astype(np.float32)
    with tr.torch.no_grad():
        ref = net(tr.torch.from_numpy(x[None]))[0].numpy()
    got = model._session.run(["maps"], {"image": x[None]})[0][0]
    assert np.abs(got - ref).max() <= 1e-4
    # and the weights read back from the file give the same network (what fine-tuning starts from)
    back = tr.from_onnx(tr.onnx.load(path).graph, (16, 32, 64, 96), 24).eval()
    with tr.torch.no_grad():
        again = back(tr.torch.from_numpy(x[None]))[0].numpy()
    assert np.abs(again - ref).max() <= 1e-4


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"format": "something-else"}, "another format"),
        ({"version": MODEL_FORMAT_VERSION + 1}, "format version"),
        ({"threshold": 3.0}, "out-of-range"),
    ],
)
def test_incompatible_model_metadata(tr, tmp_path, meta, message):
    net = tr.HairNet().eval()
    path = tmp_path / "m.onnx"
    tr.export_onnx(net, path, META)
    m = tr.onnx.load(path)
    entry = json.loads(m.metadata_props[0].value)
    entry.update(meta)
    m.metadata_props[0].value = json.dumps(entry)
    tr.onnx.save(m, path)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_onnx_without_regrow_metadata_is_refused(tr, tmp_path):
    net = tr.HairNet().eval()
    path = tmp_path / "m.onnx"
    tr.export_onnx(net, path, META)
    m = tr.onnx.load(path)
    del m.metadata_props[:]
    tr.onnx.save(m, path)
    with pytest.raises(ModelFileError, match="without regrow metadata"):
        load_model(path)


def test_interrupted_training_resumes_losing_at_most_one_epoch(tr, tmp_path):
    crops = tr.render_synthetic_set(range(6), size=64)
    cfg = tr.FitConfig(max_epochs=3, batch_size=3, lr=1e-3, patience=0, threads=1)
    calls = {"n": 0}

    def validate_interrupting(net):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C while epoch 2 is validated
        return 1.0 / calls["n"], {}

    ck = tmp_path / "run.ckpt"
    tr.torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        tr.fit(
            tr.HairNet(),
            tr.CropSet(crops, augment=True),
            validate_interrupting,
            config=cfg,
            checkpoint=ck,
            stream=None,
        )
    saved = tr.torch.load(ck, weights_only=False)
    assert saved["epoch"] == 1  # epoch 1 is safe; only epoch 2 is lost

    def resume(**kw):
        net, data = tr.HairNet(), tr.CropSet(crops, augment=True)
        return tr.fit(
            net, data, lambda n: (0.5, {}), config=cfg, checkpoint=ck, resume=True, stream=None, **kw
        )

    assert [h["epoch"] for h in resume().history] == [1, 2, 3]
    with pytest.raises(InputError, match="another training run"):
        resume(run_key="other")


def _labelled_folder(root, n_patients=4, per_patient=2, shape=(256, 320)):
    root.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    k = 0
    for p in range(n_patients):
        for i in range(per_patient):
            s = synthesize_scalp(100 + k, shape=shape, um_per_px=2.76 * 4)
            k += 1
            stem = f"240101_P{p}_{i + 1}"
            Image.fromarray(s.image).save(root / f"{stem}.jpg", quality=92)
            objs = []
            for h in s.counted(edge_min_visible_um=200):
                (x0, y0), (x1, y1) = h.visible_ends_px
                r = h.diameter_um / s.um_per_px / 2
                objs.append(
                    f"<object><class>hair</class><bndbox><xmin>{max(x0, x1) + r:.0f}</xmin><ymin>{min(y0, y1) - r:.0f}</ymin>"
                    f"<xmax>{min(x0, x1) - r:.0f}</xmax><ymax>{max(y0, y1) + r:.0f}</ymax></bndbox></object>"
                )
            (root / f"{stem}.xml").write_text(f"<annotation>{''.join(objs)}</annotation>")
    return root


def test_finetune_writes_a_usable_model_and_reports_before_after(tr, tmp_path):
    folder = _labelled_folder(tmp_path / "clinic")
    out = tmp_path / "mine.onnx"
    rep = tr.finetune(
        folder,
        out,
        calibration=Calibration(um_per_px=11.04, method="explicit"),
        config=tr.FinetuneConfig(
            max_epochs=2, max_minutes=5, batch_size=2, threads=1, validation_fraction=0.25
        ),
        stream=None,
    )
    assert rep.validation_patients == 1 and rep.train_patients == 3
    assert {"mae", "r", "bias"} <= set(rep.before) and {"mae", "r", "bias"} <= set(rep.after)
    model = load_model(out)
    assert "fine-tuned" in model.meta["trained_on"] and model.meta["validation"]["patients"] == 1
    assert not (tmp_path / "mine.onnx.ckpt").exists()
    img = synthesize_scalp(1, shape=(256, 320), um_per_px=11.04).image
    m = measure_image(img, um_per_px=11.04, model=out)
    assert m.method == "learned" and m.model == "mine.onnx"
