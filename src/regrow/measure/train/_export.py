"""Export a trained detector to an ONNX model file with regrow's metadata (needs torch and onnx)."""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from regrow.errors import InputError, MissingExtraError

from .._detector import MODEL_FORMAT, MODEL_FORMAT_VERSION

__all__ = ["export_onnx"]

#: ONNX operator set: supported by onnxruntime >= 1.14 and torch's TorchScript-based exporter.
OPSET = 17


def export_onnx(net: torch.nn.Module, path: str | os.PathLike[str], meta: dict[str, Any]) -> Path:
    """Write ``net`` as an ONNX model (input ``image`` (1, 3, H, W) -> output ``maps``) with metadata.

    ``meta`` must give at least ``work_um_per_px`` and ``threshold``; ``format`` and ``version`` are added.
    The file is written atomically (a temporary file renamed into place).

    Raises
    ------
    MissingExtraError
        The ``onnx`` package is missing.
    InputError
        The output folder cannot be written.
    """
    try:
        import onnx
    except ImportError as exc:
        raise MissingExtraError("onnx", "train") from exc
    out = Path(path)
    net = net.eval()
    dummy = torch.zeros(1, 3, 64, 64)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its own deprecation
        torch.onnx.export(
            net,
            (dummy,),
            buf,
            input_names=["image"],
            output_names=["maps"],
            dynamic_axes={"image": {2: "height", 3: "width"}, "maps": {2: "height_2", 3: "width_2"}},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    full = {"format": MODEL_FORMAT, "version": MODEL_FORMAT_VERSION, **meta}
    entry = model.metadata_props.add()
    entry.key = "regrow"
    entry.value = json.dumps(full, sort_keys=True)
    model.producer_name = "regrow"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".onnx", dir=out.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(model.SerializeToString())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a model file is not secret
        os.replace(tmp, out)
    except OSError as exc:
        raise InputError.invalid(
            "model output", str(out), f"a writable file path ({exc.strerror or exc})"
        ) from exc
    return out
