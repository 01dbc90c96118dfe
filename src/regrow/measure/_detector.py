"""The learned hair detector at run time: model files, onnxruntime inference and decoding (no torch).

A model file is an ONNX graph (input ``image``: (1, 3, H, W) float32, H and W multiples of 16; output
``maps``: (1, 9, H/2, W/2)) with a JSON block under the metadata key ``regrow`` (see
:data:`MODEL_FORMAT`): the working scale it was trained at, its score threshold, the score-to-probability
calibration used for the count's uncertainty and the counting rule for hairs cut by the frame.

The image is resized to the model's working scale (``work_um_per_px``, 11.04 um/px for the bundled
model: a 1280 x 1024 frame at 2.76 um/px becomes 320 x 256), normalised per image and channel, and run;
every 3 x 3 local maximum of the heat map above the threshold is one hair. Diameters are then measured on
the full-resolution image across each detected shaft (full width at half maximum of the intensity profile,
median over the shaft), falling back to the network's own estimate where no clean profile exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from regrow.errors import DataFileError, MissingExtraError

from ._targets import OUTPUT_STRIDE

__all__ = [
    "BUNDLED_MODEL",
    "MODEL_FORMAT",
    "HairModel",
    "LearnedHair",
    "ModelFileError",
    "decode_maps",
    "load_model",
    "preprocess",
    "to_working",
]

MODEL_FORMAT = "regrow-hair-detector"
MODEL_FORMAT_VERSION = 1
#: File name of the shipped synthetic-only model in ``regrow/measure/models``.
BUNDLED_MODEL = "hairnet-synthetic-v1.onnx"
_REQUIRED_META = ("format", "version", "work_um_per_px", "threshold")
_MAX_MODEL_BYTES = 64 * 1024 * 1024


class ModelFileError(DataFileError):
    """A model file is missing, unreadable, truncated or not a regrow hair detector."""

    code = "invalid_model"


@dataclass
class LearnedHair:
    """One hair found by the learned detector (full-resolution pixels, x right, y down)."""

    mid_xy: tuple[float, float]
    exit_xy: tuple[float, float]
    tip_xy: tuple[float, float]
    length_px: float
    diameter_px: float | None
    diameter_from_profile: bool
    score: float
    probability: float
    cut: bool


def preprocess(rgb_work: np.ndarray) -> np.ndarray:
    """Network input from a working-scale RGB image: (3, H, W) float32, zero-mean per channel.

    Each channel has its mean removed and the image is divided by its overall standard deviation (plus
    0.02), so exposure, white balance and skin tone shifts change the input little.
    """
    x = rgb_work.astype(np.float32) / 255.0
    x -= x.reshape(-1, 3).mean(axis=0)
    x /= float(x.std()) + 0.02
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _pad16(x: np.ndarray) -> np.ndarray:
    _, h, w = x.shape
    ph, pw = (-h) % 16, (-w) % 16
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="reflect" if min(h, w) > 16 else "edge")
    return x


def to_working(rgb: np.ndarray, um_per_px: float, work_um_per_px: float) -> tuple[np.ndarray, float, float]:
    """Resize an image to the working scale; returns (image, x factor, y factor) in working px per px."""
    f = float(um_per_px) / float(work_um_per_px)
    h0, w0 = rgb.shape[:2]
    size = (max(16, round(w0 * f)), max(16, round(h0 * f)))
    if size == (w0, h0):
        return rgb, 1.0, 1.0
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if f < 1.0 else cv2.INTER_LINEAR)
    return small, size[0] / w0, size[1] / h0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def decode_maps(maps: np.ndarray, *, threshold: float, max_hairs: int = 1000) -> dict[str, np.ndarray]:
    """Hairs from the network's output maps (9, h, w): 3 x 3 heat-map maxima with score >= threshold.

    The shaft's orientation comes from the axis maps (cos 2a, sin 2a); the direction maps only choose
    which end of that axis is the tip.

    Returns
    -------
    dict
        ``score`` (K,), ``mid`` (K, 2) input-pixel mid-points, ``length`` (K,) and ``diameter`` (K,) in
        input pixels, ``direction`` (K, 2) unit vectors from exit to tip; sorted by descending score.
    """
    heat = _sigmoid(maps[0].astype(np.float32))
    peak = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero((heat >= peak) & (heat >= threshold))
    score = heat[ys, xs]
    order = np.argsort(-score, kind="stable")[:max_hairs]
    ys, xs, score = ys[order], xs[order], score[order]
    off = maps[1:3, ys, xs].T
    mid = (np.stack([xs, ys], axis=1) + off) * OUTPUT_STRIDE
    a = 0.5 * np.arctan2(maps[5, ys, xs], maps[4, ys, xs])
    axis = np.stack([np.cos(a), np.sin(a)], axis=1)
    toward = (axis * maps[7:9, ys, xs].T).sum(axis=1)
    d = np.where((toward >= 0)[:, None], axis, -axis)
    out = {
        "score": score.astype(np.float64),
        "mid": mid.astype(np.float64),
        "length": np.exp(np.clip(maps[3, ys, xs], -3, 8)).astype(np.float64),
        "direction": d.astype(np.float64),
        "diameter": np.exp(np.clip(maps[6, ys, xs], -3, 5)).astype(np.float64),
    }
    keep = _shaft_nms(out["mid"], out["direction"], out["length"], out["diameter"])
    return {k: v[keep] for k, v in out.items()}


def _shaft_nms(
    mid: np.ndarray, direction: np.ndarray, length: np.ndarray, diameter: np.ndarray
) -> np.ndarray:
    """Drop a peak whose mid-point lies on the shaft of a stronger peak (one hair seen twice).

    Peaks come sorted by score. A weaker peak is dropped when its mid-point is within half the stronger
    hair's visible length along that hair and within half its diameter (at least 1 px) across it; the
    mid-points of two touching parallel hairs lie a whole diameter apart across, so both stay.
    """
    n = len(mid)
    keep = np.ones(n, bool)
    for i in range(n):
        if not keep[i]:
            continue
        rel = mid[i + 1 :] - mid[i]
        along = np.abs(rel @ direction[i])
        across = np.abs(rel[:, 0] * direction[i][1] - rel[:, 1] * direction[i][0])
        hit = (along <= length[i] / 2) & (across <= max(0.5 * diameter[i], 1.0))
        keep[i + 1 :] &= ~hit
    return keep


def _fwhm_rows(a: np.ndarray, centre: int, search: int, max_gap: int) -> np.ndarray:
    """Full width at half maximum (in samples) of the peak nearest ``centre`` in each row of ``a``.

    The peak is the row's maximum within ``centre +/- search``. Samples at or above half of it form runs;
    gaps of at most ``max_gap`` samples are closed (a specular line along a shaft dips its profile), and
    the width of the run holding the peak is taken between linearly interpolated half-maximum crossings.
    NaN where that run reaches either end of the row (a neighbour or the window edge).
    """
    n, m = a.shape
    out = np.full(n, np.nan)
    lo, hi = max(centre - search, 1), min(centre + search + 1, m - 1)
    for r in range(n):
        row = a[r]
        pk = lo + int(np.argmax(row[lo:hi]))
        half = 0.5 * row[pk]
        if half <= 0:
            continue
        above = np.nonzero(row >= half)[0]
        # runs of samples at or above half maximum, merged across gaps of at most max_gap samples
        breaks = np.nonzero(np.diff(above) > max_gap + 1)[0]
        starts = np.r_[above[0], above[breaks + 1]]
        ends = np.r_[above[breaks], above[-1]]
        k = int(np.searchsorted(starts, pk, side="right")) - 1
        i0, i1 = int(starts[k]), int(ends[k])
        if i0 == 0 or i1 == m - 1:
            continue
        left = (i0 - 1) + (half - row[i0 - 1]) / max(row[i0] - row[i0 - 1], 1e-6)
        right = i1 + (row[i1] - half) / max(row[i1] - row[i1 + 1], 1e-6)
        out[r] = right - left
    return out


def _profile_diameters(
    gray: np.ndarray, mids: np.ndarray, dirs: np.ndarray, lengths: np.ndarray, guesses: np.ndarray
) -> np.ndarray:
    """Shaft diameters (full-resolution px) from intensity profiles across each detected shaft.

    Nine cross-sections over the central 60 % of the shaft, sampled every 0.5 px; in each, the background
    is the median of both ends, the shaft is the strongest extreme (dark or light) near the detected
    centre line, and its full width at half maximum is measured. The median of at least 3 clean
    cross-sections is returned; NaN otherwise (touching neighbours everywhere, the frame edge, no
    contrast).
    """
    n = len(mids)
    out = np.full(n, np.nan)
    h, w = gray.shape
    t = np.linspace(-0.3, 0.3, 9)
    for i in range(n):
        g = max(float(guesses[i]), 2.0)
        half_span = 1.6 * g + 8.0
        s = np.arange(-half_span, half_span + 0.25, 0.5)
        nrm = np.array([-dirs[i][1], dirs[i][0]])
        centre = mids[i][None, :] + (t * lengths[i])[:, None] * dirs[i][None, :]
        pts = centre[:, None, :] + s[None, :, None] * nrm[None, None, :]
        inside = (
            (pts[..., 0] >= 0) & (pts[..., 1] >= 0) & (pts[..., 0] <= w - 1) & (pts[..., 1] <= h - 1)
        ).all(1)
        if inside.sum() < 3:
            continue
        pts = pts[inside]
        prof = cv2.remap(
            gray, pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32), cv2.INTER_LINEAR
        )
        edge = max(2, len(s) // 8)
        bg = 0.5 * (np.median(prof[:, :edge], axis=1) + np.median(prof[:, -edge:], axis=1))
        a = prof - bg[:, None]
        c = len(s) // 2
        search = int(max(0.75 * g, 4.0) / 0.5)
        win = a[:, max(c - search, 0) : c + search + 1]
        dark = -win.min(axis=1) >= win.max(axis=1)
        a = np.where(dark[:, None], -a, a)
        strong = a[:, max(c - search, 0) : c + search + 1].max(axis=1) >= 8.0  # grey levels of contrast
        widths = _fwhm_rows(a[strong], c, search, max_gap=max(2, int(0.35 * g / 0.5))) * 0.5
        widths = widths[np.isfinite(widths) & (widths <= 1.7 * g + 2.0)]  # wider: two touching shafts
        if len(widths) >= 3:
            out[i] = float(np.median(widths))
    return out


@dataclass
class HairModel:
    """A loaded hair-detector model (use :func:`load_model`)."""

    path: str
    meta: dict[str, Any]
    sha256: str
    _session: Any = field(repr=False, default=None)
    _lock: Any = field(repr=False, default_factory=threading.Lock)

    @property
    def work_um_per_px(self) -> float:
        return float(self.meta["work_um_per_px"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def name(self) -> str:
        """The model file's name (what a measurement records as its ``model``)."""
        return Path(self.path).name

    def probability(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probability that a heat-map peak is a hair (piecewise linear in the score).

        The table ``score_calibration`` in the metadata was measured on held-out synthetic images; without
        it the score itself is used.
        """
        table = self.meta.get("score_calibration")
        if not table:
            return np.clip(np.asarray(score, float), 0.0, 1.0)
        xs, ps = np.array(table, float).T
        return np.interp(np.asarray(score, float), xs, ps)

    def run_maps(self, rgb_work: np.ndarray) -> np.ndarray:
        """Raw output maps (9, ceil16(H)/2, ceil16(W)/2) for a working-scale RGB image."""
        x = _pad16(preprocess(rgb_work))[None]
        with self._lock:
            (maps,) = self._session.run(["maps"], {"image": x})
        return maps[0]

    def detect(
        self, rgb: np.ndarray, um_per_px: float, *, min_score: float | None = None
    ) -> tuple[list[LearnedHair], float]:
        """Detect hairs in a full-resolution RGB image.

        Returns every heat-map peak with score at or above ``min_score`` (default: the model threshold) as
        :class:`LearnedHair`, and the working scale factor (working px per full-resolution px).
        """
        h0, w0 = rgb.shape[:2]
        small, fx, fy = to_working(rgb, um_per_px, self.work_um_per_px)
        maps = self.run_maps(small)
        thr = self.threshold if min_score is None else float(min_score)
        det = decode_maps(maps, threshold=thr)
        keep = (det["mid"][:, 0] < small.shape[1]) & (det["mid"][:, 1] < small.shape[0])
        det = {k: v[keep] for k, v in det.items()}
        scale = np.array([fx, fy])
        mid = det["mid"] / scale
        dirs = det["direction"] / scale
        dn = np.maximum(np.hypot(dirs[:, 0], dirs[:, 1]), 1e-9)
        dirs = dirs / dn[:, None]
        length = det["length"] * dn  # working px along the shaft -> full-res px
        guess = det["diameter"] / fx
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        sel = det["score"] >= self.threshold  # diameters only for hairs that can count
        prof = np.full(len(mid), np.nan)
        prof[sel] = _profile_diameters(gray, mid[sel], dirs[sel], length[sel], guess[sel])
        prob = self.probability(det["score"])
        hairs = []
        margin = 1.5 / fx
        for i in range(len(mid)):
            e = mid[i] - dirs[i] * length[i] / 2
            t = mid[i] + dirs[i] * length[i] / 2
            cut = bool(
                min(e[0], e[1], t[0], t[1]) < margin
                or max(e[0], t[0]) > w0 - 1 - margin
                or max(e[1], t[1]) > h0 - 1 - margin
            )
            dp = prof[i]
            hairs.append(
                LearnedHair(
                    mid_xy=(float(mid[i, 0]), float(mid[i, 1])),
                    exit_xy=(float(e[0]), float(e[1])),
                    tip_xy=(float(t[0]), float(t[1])),
                    length_px=float(length[i]),
                    diameter_px=float(dp) if np.isfinite(dp) else float(guess[i]),
                    diameter_from_profile=bool(np.isfinite(dp)),
                    score=float(det["score"][i]),
                    probability=float(prob[i]),
                    cut=cut,
                )
            )
        return hairs, fx


def _fail(path: str, what: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: {what}; expected a regrow hair-detector model (.onnx written by `regrow measure train`, "
        "or the bundled default)",
        path=path,
    )


def _bundled_path() -> str:
    return str(resources.files("regrow.measure") / "models" / BUNDLED_MODEL)


_CACHE: dict[tuple[str, int, int], HairModel] = {}


def load_model(path: str | os.PathLike[str] | None = None) -> HairModel:
    """Load and check a hair-detector model (the bundled synthetic-only model when ``path`` is None).

    Loaded models are cached per process (keyed by path, size and modification time).

    Raises
    ------
    ModelFileError
        The file is missing, unreadable, truncated or corrupt, not ONNX, or not a compatible regrow model
        (one line naming the file and what was expected).
    MissingExtraError
        onnxruntime is not installed.
    """
    p = _bundled_path() if path is None else os.fspath(path)
    try:
        st = os.stat(p)
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror or exc})") from exc
    key = (os.path.realpath(p), st.st_size, st.st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key]
    if not os.path.isfile(p):
        raise _fail(p, "is not a file")
    if st.st_size > _MAX_MODEL_BYTES:
        raise _fail(
            p,
            f"is {st.st_size / 1e6:.0f} MB, larger than any hair-detector model ({_MAX_MODEL_BYTES // 2**20} MiB)",
        )
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
        raise MissingExtraError("onnxruntime", "measure") from exc
    try:
        with open(p, "rb") as fh:
            blob = fh.read()
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror or exc})") from exc
    if not blob:
        raise _fail(p, "is empty")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    try:
        sess = ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(p, f"is not a readable ONNX model (truncated or corrupt: {reason[:160]})") from exc
    raw = sess.get_modelmeta().custom_metadata_map.get("regrow")
    if raw is None:
        raise _fail(p, "is an ONNX model without regrow metadata (not a hair detector)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(p, "has unreadable regrow metadata") from exc
    missing = [k for k in _REQUIRED_META if k not in meta]
    if not isinstance(meta, dict) or missing or meta.get("format") != MODEL_FORMAT:
        raise _fail(
            p, f"has metadata for another format ({meta.get('format') if isinstance(meta, dict) else meta!r})"
        )
    if int(meta["version"]) != MODEL_FORMAT_VERSION:
        raise _fail(
            p, f"is format version {meta['version']}, this regrow reads version {MODEL_FORMAT_VERSION}"
        )
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if [i.name for i in ins] != ["image"] or "maps" not in [o.name for o in outs] or len(ins[0].shape) != 4:
        raise _fail(p, "has inputs/outputs other than image (1, 3, H, W) -> maps")
    try:
        upp = float(meta["work_um_per_px"])
        thr = float(meta["threshold"])
    except (TypeError, ValueError) as exc:
        raise _fail(p, "has non-numeric work_um_per_px/threshold metadata") from exc
    if not (0.5 <= upp <= 100 and 0 < thr < 1):
        raise _fail(p, f"has out-of-range metadata (work_um_per_px {upp}, threshold {thr})")
    probe = np.zeros((1, 3, 32, 32), np.float32)
    try:
        (maps,) = sess.run(["maps"], {"image": probe})
    except Exception as exc:
        raise _fail(p, f"cannot run on a test input ({str(exc).splitlines()[0][:160]})") from exc
    if maps.shape != (1, 9, 32 // OUTPUT_STRIDE, 32 // OUTPUT_STRIDE):
        raise _fail(p, f"returns maps of shape {maps.shape}, not (1, 9, H/2, W/2)")
    model = HairModel(path=p, meta=meta, sha256=hashlib.sha256(blob).hexdigest(), _session=sess)
    _CACHE[key] = model
    return model
