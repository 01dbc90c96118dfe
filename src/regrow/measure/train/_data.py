"""Training data: synthetic crops (exact hairs) and labelled images (Pascal-VOC boxes), with augmentation."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .._detector import preprocess
from .._synthetic_v2 import MIN_VISIBLE_UM, synthesize_scalp
from .._targets import boxes_to_targets, hairs_to_targets

__all__ = ["BoxImage", "CropSet", "HairCrop", "render_synthetic_set", "synthetic_crop"]

#: Hairs with this little shaft in view carry no heat-map loss either way (neither hair nor background).
IGNORE_BELOW_UM = 10.0


@dataclass
class HairCrop:
    """One training image with its hairs in working pixels (``mids`` (N, 2), ``dirs`` (N, 2) unit exit->tip,
    ``lengths`` (N,), ``diams`` (N,)) or boxes (``boxes`` (N, 4) x0, y0, x1, y1), plus ignore points."""

    image: np.ndarray
    mids: np.ndarray | None = None
    dirs: np.ndarray | None = None
    lengths: np.ndarray | None = None
    diams: np.ndarray | None = None
    boxes: np.ndarray | None = None
    ignore: np.ndarray | None = None


BoxImage = HairCrop


def synthetic_crop(seed: int, *, size: int = 192, work_um_per_px: float = 11.04) -> HairCrop:
    """Render one synthetic training crop at the working scale (scale jittered by -15 %..+20 %).

    Half the crops are rendered at twice the resolution and shrunk (as a full-resolution photo is shrunk
    to the working scale at run time), half directly.
    """
    rng = np.random.default_rng([seed, 7919])
    upp = work_um_per_px * float(np.exp(rng.uniform(np.log(0.85), np.log(1.2))))
    r = 2 if rng.random() < 0.5 else 1
    sc = synthesize_scalp(seed, shape=(size * r, size * r), um_per_px=upp / r)
    img = sc.image if r == 1 else cv2.resize(sc.image, (size, size), interpolation=cv2.INTER_AREA)
    mids, dirs, lens, dias, ign = [], [], [], [], []
    for h in sc.hairs:
        if h.visible_length_um >= MIN_VISIBLE_UM:
            e = h.visible_ends_px / r
            d = e[1] - e[0]
            n = float(np.hypot(*d))
            if n < 1e-6:
                d = h.polyline_px[-1] - h.polyline_px[0]
                n = float(np.hypot(*d))
            mids.append(h.visible_mid_px / r)
            dirs.append(d / max(n, 1e-9))
            lens.append(h.visible_length_um / upp)
            dias.append(h.diameter_um / upp)
        elif h.visible_length_um >= IGNORE_BELOW_UM:
            ign.append(h.visible_mid_px / r)
    f2 = lambda v: np.array(v, np.float32).reshape(-1, 2)  # noqa: E731
    f1 = lambda v: np.array(v, np.float32).reshape(-1)  # noqa: E731
    return HairCrop(img, f2(mids), f2(dirs), f1(lens), f1(dias), ignore=f2(ign))


def _render_chunk(args: tuple[list[int], int, float]) -> list[HairCrop]:
    seeds, size, upp = args
    cv2.setNumThreads(1)
    return [synthetic_crop(s, size=size, work_um_per_px=upp) for s in seeds]


def render_synthetic_set(
    seeds: Sequence[int], *, size: int = 192, work_um_per_px: float = 11.04, workers: int = 1, progress=None
) -> list[HairCrop]:
    """Render many crops (in ``workers`` processes; the result does not depend on ``workers``)."""
    seeds = list(seeds)
    chunks = [(seeds[i : i + 64], size, work_um_per_px) for i in range(0, len(seeds), 64)]
    out: list[HairCrop] = []
    if workers <= 1:
        for c in chunks:
            out.extend(_render_chunk(c))
            if progress:
                progress(len(out), len(seeds))
        return out
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for part in pool.imap(_render_chunk, chunks):
            out.extend(part)
            if progress:
                progress(len(out), len(seeds))
    return out


def _dihedral(crop: HairCrop, k: int) -> HairCrop:
    """Apply one of the 8 flips/transpositions (k in 0..7) to the image and its labels."""
    img = crop.image
    h, w = img.shape[:2]
    pts = [crop.mids, crop.ignore]
    dirs = crop.dirs
    boxes = crop.boxes
    corners = None if boxes is None else boxes.reshape(-1, 2, 2).reshape(-1, 2).copy()

    def tf_pts(p, W, H, op):
        if p is None:
            return None
        p = p.copy()
        if op == "h":
            p[:, 0] = W - p[:, 0]
        elif op == "v":
            p[:, 1] = H - p[:, 1]
        else:
            p = p[:, ::-1].copy()
        return p

    def tf_dir(d, op):
        if d is None:
            return None
        d = d.copy()
        if op == "h":
            d[:, 0] = -d[:, 0]
        elif op == "v":
            d[:, 1] = -d[:, 1]
        else:
            d = d[:, ::-1].copy()
        return d

    ops = [op for bit, op in ((1, "h"), (2, "v"), (4, "t")) if k & bit]
    for op in ops:
        pts = [tf_pts(p, w, h, op) for p in pts]
        corners = tf_pts(corners, w, h, op)
        dirs = tf_dir(dirs, op)
        if op == "h":
            img = img[:, ::-1]
        elif op == "v":
            img = img[::-1]
        else:
            img = img.transpose(1, 0, 2)
            h, w = w, h
    if corners is not None:
        c = corners.reshape(-1, 2, 2)
        boxes = np.concatenate([c.min(axis=1), c.max(axis=1)], axis=1)
    return HairCrop(np.ascontiguousarray(img), pts[0], dirs, crop.lengths, crop.diams, boxes, pts[1])


def _colour_jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = img.astype(np.float32)
    gain = np.exp(rng.normal(0.0, 0.06, 3)).astype(np.float32) * np.float32(np.exp(rng.normal(0.0, 0.1)))
    x = (x - x.mean()) * np.float32(np.exp(rng.normal(0.0, 0.12))) + x.mean()
    x = x * gain
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.4, 1.2)))
    return np.clip(x, 0, 255).astype(np.uint8)


class CropSet(torch.utils.data.Dataset):
    """Training or validation samples: (input, heat, weight, index, values, kind) tensors.

    Training samples get a random flip/transposition and a colour jitter that depend only on
    (seed, epoch, index), so a resumed run sees the same data as an uninterrupted one.
    """

    def __init__(self, crops: Sequence[HairCrop], *, augment: bool, seed: int = 0, dihedral: bool = True):
        self.crops = list(crops)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.dihedral = dihedral

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, i: int):
        crop = self.crops[i]
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            k = int(rng.integers(0, 8 if self.dihedral else 4))
            crop = _dihedral(crop, k)
            crop = HairCrop(
                _colour_jitter(crop.image, rng),
                crop.mids,
                crop.dirs,
                crop.lengths,
                crop.diams,
                crop.boxes,
                crop.ignore,
            )
        shape = crop.image.shape[:2]
        if crop.boxes is not None:
            t = boxes_to_targets(shape, crop.boxes)
        else:
            t = hairs_to_targets(shape, crop.mids, crop.dirs, crop.lengths, crop.diams, ignore_px=crop.ignore)
        return (
            torch.from_numpy(preprocess(crop.image)),
            torch.from_numpy(t.heat),
            torch.from_numpy(t.weight),
            torch.from_numpy(t.index),
            torch.from_numpy(t.values),
            torch.from_numpy(t.kind.astype(np.int64)),
        )
