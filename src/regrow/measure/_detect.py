"""Classical hair detection for clipped-hair trichoscopy images.

Pipeline (all lengths in micrometres, converted with the calibration):

1. Work at about :attr:`DetectorSettings.work_um_per_px` (1280 x 1024 at 2.76 um/px is halved).
2. Darkness = per-pixel maximum of R, G, B (a black or brown shaft is dark in every channel, while the
   bluish under-skin part of the hair and the red/blue device overlays are bright in at least one).
3. Local contrast ``c = (background - darkness) / background`` with the background a grey-level closing
   wider than any hair bundle, so uneven light and vignetting cancel.
4. Hysteresis threshold on ``c`` (a shaft needs a core above ``high`` and grows to ``low``), holes filled
   (specular highlights), overlay boxes and saturated overlay strokes removed first.
5. Each connected shaft region is rotated onto its principal axis; across every column the number of
   separate dark runs at the ``split`` level (runs narrower than ``min_run_fraction`` of the image's
   single-hair width are highlights, not hairs) gives the number of hairs in touching stubs, V shapes and
   crossings: a component holds ``k`` hairs when at least ``min_split_fraction`` of its length shows
   ``k`` runs.
6. The exit point is the end with the shaded under-skin hair beyond it (voted over the image, since scalp
   hairs in one field are near-parallel). Counting rule (``count_edge_rule``): by default ("visible") a
   hair with both ends inside the field counts, and a hair cut by the frame edge or an overlay counts when
   at least ``edge_min_visible_um`` of its shaft is visible: on fdu-dev the annotators box edge-cut hairs
   when enough shaft shows, whichever end is cut (checked on overlays; 450 um chosen on tuning half A).
   "exit" counts a hair when its exit point lies inside the field (an unbiased counting frame: every hair
   has one exit point), the rule suggested in research/hair-imaging-notes.md section 5.2 after
   TrichoScan's edge errors; use it for density comparisons with other frame-based methods.
7. Diameter: full width at half maximum of ``c`` across the shaft with linear sub-pixel interpolation,
   median over the shaft.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np
from scipy import ndimage as ndi

from regrow.errors import InputError

__all__ = ["Detection", "DetectorSettings", "RawHair", "detect_hairs", "overlay_mask"]


@dataclass(frozen=True)
class DetectorSettings:
    """Tunable settings of the classical detector (physical units; defaults tuned on half the fdu-dev
    patients, see docs/measure.md)."""

    work_um_per_px: float = 5.5
    background_um: float = 250.0
    high: float = 0.45
    low: float = 0.28
    split: float = 0.5
    min_area_um2: float = 1500.0
    min_width_um: float = 15.0
    root_search_um: float = 200.0
    min_split_fraction: float = 0.08
    min_split_columns: int = 3
    min_run_fraction: float = 0.45
    adaptive_contrast: bool = True
    #: "visible" (default): a hair with both ends inside the field counts; a hair cut by the frame edge (or
    #: an overlay) counts when at least ``edge_min_visible_um`` of its shaft is visible, which is what the
    #: fdu-dev annotators box. "exit"/"tip": that end inside the field (unbiased counting frames).
    #: "all": every visible hair.
    count_edge_rule: str = "visible"
    edge_min_visible_um: float = 450.0

    def validated(self) -> DetectorSettings:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "count_edge_rule":
                if v not in ("visible", "exit", "tip", "all"):
                    raise InputError.invalid(f.name, v, "'visible', 'exit', 'tip' or 'all'")
            elif f.name == "adaptive_contrast":
                continue
            elif not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
                raise InputError.invalid(f.name, v, "a positive number")
        if not self.low < self.high or self.high >= 1:
            raise InputError.invalid("low/high", (self.low, self.high), "0 < low < high < 1")
        return self


@dataclass
class RawHair:
    """One detected hair in full-resolution pixel coordinates (x, y)."""

    exit_xy: tuple[float, float]
    tip_xy: tuple[float, float]
    length_px: float
    diameter_px: float | None
    component: int
    counted: bool
    exit_on_edge: bool
    tip_on_edge: bool = False


@dataclass
class Detection:
    """Everything the detector found in one image."""

    hairs: list[RawHair]
    scale: float  # working pixels per full-resolution pixel
    mask: np.ndarray  # working-resolution shaft mask
    overlay: np.ndarray  # working-resolution mask of burned-in overlays
    contrast_scale: float  # < 1 when thresholds were lowered for light (grey) hair
    single_width_px: float  # full-resolution single-hair width estimate


def overlay_mask(rgb: np.ndarray) -> np.ndarray:
    """Mask (uint8 0/1) of burned-in device overlays: banner rows of grey text boxes along the top or
    bottom edge, and grey label boxes with bright text (scale-bar labels)."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    v = rgb.max(axis=2)
    chroma = np.maximum(np.maximum(np.abs(r - g), np.abs(g - b)), np.abs(r - b))
    grey = ((chroma <= 12) & (v >= 55) & (v <= 115)).astype(np.uint8)
    bright = (v >= 235).astype(np.uint8)
    h, w = v.shape
    out = np.zeros((h, w), np.uint8)
    rowfrac = grey.mean(axis=1)
    gap = max(2, round(h / 170))
    for rows in (range(0, h // 8), range(h - 1, h - h // 8, -1)):
        last = None
        for y in rows:
            if rowfrac[y] >= 0.3:
                last = y
            elif last is not None and abs(y - last) > gap:
                break
        if last is not None:
            y0, y1 = sorted((rows[0], last))
            out[max(y0 - gap, 0) : y1 + gap + 1] = 1
    k = max(3, round(7 * h / 1024)) | 1
    closed = cv2.morphologyEx(grey | bright, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, _, st, _ = cv2.connectedComponentsWithStats(closed, connectivity=4)
    s = h / 1024.0
    for j in range(1, n):
        x, y, bw, bh, area = st[j]
        if 30 * s <= bw <= 400 * s and 12 * s <= bh <= 60 * s and area >= 0.75 * bw * bh:
            txt = bright[y : y + bh, x : x + bw].mean()
            gr = grey[y : y + bh, x : x + bw].mean()
            if 0.03 <= txt <= 0.5 and gr >= 0.4:
                pad = max(1, round(3 * s))
                out[max(y - pad, 0) : y + bh + pad, max(x - pad, 0) : x + bw + pad] = 1
    return out


def _coloured_strokes(rgb: np.ndarray) -> np.ndarray:
    """Saturated red or blue/cyan overlay strokes (measurement circles, text), never skin or hair."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    strokes = ((r - np.maximum(g, b)) > 70) | (((b - r) > 90) & (b > 150))
    return cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _fwhm(profile: np.ndarray, lo: int, hi: int, left_lim: int, right_lim: int) -> float | None:
    """Sub-pixel full width at half maximum of ``profile`` around the run [lo, hi)."""
    seg = profile[lo:hi]
    if seg.size == 0:
        return None
    peak = float(np.percentile(seg, 90))
    if peak <= 0:
        return None
    half = 0.5 * peak
    i = lo
    while i > left_lim and profile[i - 1] >= half:
        i -= 1
    if i == left_lim and profile[i] >= half:
        return None  # the shaft runs into the crop edge: width unknown
    j = hi - 1
    while j < right_lim - 1 and profile[j + 1] >= half:
        j += 1
    if j == right_lim - 1 and profile[j] >= half:
        return None
    # crossing between i-1 and i, and between j and j+1
    a0, a1 = profile[i - 1], profile[i]
    left = (i - 1) + (half - a0) / (a1 - a0) if a1 != a0 else float(i)
    b0, b1 = profile[j], profile[j + 1]
    right = j + (b0 - half) / (b0 - b1) if b0 != b1 else float(j)
    return float(right - left)


def detect_hairs(rgb: np.ndarray, um_per_px: float, settings: DetectorSettings | None = None) -> Detection:
    """Detect hair shafts in an RGB trichoscopy image.

    Parameters
    ----------
    rgb : numpy.ndarray
        (H, W, 3) uint8 RGB.
    um_per_px : float
        Calibration of ``rgb``.
    settings : DetectorSettings, optional
        Detector settings; the defaults when omitted.

    Returns
    -------
    Detection
        Hairs in full-resolution pixel coordinates plus working masks.
    """
    st = (settings or DetectorSettings()).validated()
    f = min(1.0, um_per_px / st.work_um_per_px)
    h0, w0 = rgb.shape[:2]
    if f < 1.0:
        small = cv2.resize(
            rgb, (max(16, round(w0 * f)), max(16, round(h0 * f))), interpolation=cv2.INTER_AREA
        )
    else:
        small = rgb
    fy, fx = small.shape[0] / h0, small.shape[1] / w0
    upp = um_per_px / fx
    H, W = small.shape[:2]
    v = small.max(axis=2).astype(np.float32)
    strokes = _coloured_strokes(small)
    if strokes.any():
        vmin = cv2.erode(v, np.ones((7, 7), np.uint8))
        v[strokes] = vmin[strokes]
    k = max(3, round(st.background_um / upp) | 1)
    bg = cv2.morphologyEx(v, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    bg = cv2.GaussianBlur(bg, (0, 0), k / 4.0)
    c = np.clip((bg - v) / np.maximum(bg, 1.0), 0.0, 1.0)
    ov_full = overlay_mask(small) if f < 1.0 else overlay_mask(rgb)
    ov = ov_full if ov_full.shape == (H, W) else cv2.resize(ov_full, (W, H), interpolation=cv2.INTER_NEAREST)
    c[ov > 0] = 0.0
    cscale = 1.0
    if st.adaptive_contrast:
        # light (grey/blond) hair: lower every threshold in proportion to the darkest shafts' contrast
        top = float(np.percentile(c, 99.7))
        cscale = float(np.clip(top / 0.55, 0.35, 1.0))
    hi_t, lo_t, split_t = st.high * cscale, st.low * cscale, st.split * cscale
    if cscale < 1.0:
        # light hair: smooth away pixel noise (a shaft is wider than 20 um) and never go below the skin's
        # own contrast texture: median + 5 robust SDs for the core, + 3 for the rim
        c = cv2.GaussianBlur(c, (0, 0), max(0.8, 8.0 / upp))
        sub = c[::4, ::4]
        med = float(np.median(sub))
        sd = 1.4826 * float(np.median(np.abs(sub - med)))
        hi_t, lo_t = max(hi_t, med + 5 * sd), max(lo_t, med + 3 * sd)
        split_t = max(split_t, hi_t)
    lo_mask = (c > lo_t).astype(np.uint8)
    n, lab = cv2.connectedComponents(lo_mask, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(lab[c > hi_t])] = True
    keep[0] = False
    mask = ndi.binary_fill_holes(keep[lab])
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    invalid = cv2.dilate(ov, np.ones((5, 5), np.uint8))
    pad = max(4, int(st.root_search_um / upp))
    comps = []
    for i in range(1, n):
        x, y, ww, hh, area = (int(s) for s in stats[i])
        if area * upp * upp < st.min_area_um2:
            continue
        xa, ya = max(x - pad, 0), max(y - pad, 0)
        xb, yb = min(x + ww + pad, W), min(y + hh + pad, H)
        sl = (slice(ya, yb), slice(xa, xb))
        m = lab[sl] == i
        if 2.0 * float(dt[sl][m].max()) * upp < st.min_width_um:
            continue
        comps.append(_analyse_component(i, m, c[sl], xa, ya, st, split_t, W, H, invalid))
    comps = [cp for cp in comps if cp is not None]
    # single-hair width from one-run columns of all components
    singles = [cp["single_w"] for cp in comps if cp["single_w"] is not None]
    w1 = float(np.median(singles)) if singles else max(3.0, 60.0 / upp)
    # image-level root direction: the shaded end, weighted by length and shading difference
    vote = np.zeros(2)
    for cp in comps:
        d = cp["ends"][1] - cp["ends"][0]
        d = d / (np.linalg.norm(d) + 1e-9)
        sgn = 1.0 if cp["shade"][1] > cp["shade"][0] else -1.0
        vote += sgn * d * cp["length"] * abs(cp["shade"][1] - cp["shade"][0])
    hairs: list[RawHair] = []
    for cp in comps:
        hairs.extend(_hairs_of(cp, w1, vote, st, fx, fy, upp))
    return Detection(
        hairs=hairs,
        scale=fx,
        mask=mask,
        overlay=ov,
        contrast_scale=cscale,
        single_width_px=w1 / fx,
    )


def _analyse_component(
    label: int,
    m: np.ndarray,
    c: np.ndarray,
    xa: int,
    ya: int,
    st: DetectorSettings,
    split_t: float,
    W: int,
    H: int,
    invalid: np.ndarray,
) -> dict | None:
    ys, xs = np.nonzero(m)
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    mu = pts.mean(axis=0)
    if len(pts) < 3:
        return None
    _, evec = np.linalg.eigh(np.cov((pts - mu).T))
    ax = evec[:, 1]
    ang = float(np.degrees(np.arctan2(ax[1], ax[0])))
    hh, ww = m.shape
    D = int(np.ceil(np.hypot(ww, hh))) + 4
    M = cv2.getRotationMatrix2D((float(mu[0]), float(mu[1])), ang, 1.0)
    M[:, 2] += (D / 2 - mu[0], D / 2 - mu[1])
    rm = cv2.warpAffine(m.astype(np.uint8), M, (D, D), flags=cv2.INTER_NEAREST) > 0
    rc = cv2.warpAffine(np.ascontiguousarray(c, dtype=np.float32), M, (D, D), flags=cv2.INTER_LINEAR)
    cols = np.nonzero(rm.any(axis=0))[0]
    rows = np.nonzero(rm.any(axis=1))[0]
    if cols.size < 2:
        return None
    c0, c1 = int(cols[0]), int(cols[-1])
    g = (rm & (rc > split_t)).astype(np.uint8)
    g = cv2.morphologyEx(g, cv2.MORPH_OPEN, np.ones((1, 3), np.uint8))[:, c0 : c1 + 1]
    d = np.diff(np.pad(g.astype(np.int8), ((1, 1), (0, 0))), axis=0)
    sc, sr = np.nonzero(d.T == 1)
    _ec, er = np.nonzero(d.T == -1)
    runs: list[list[tuple[int, int]]] = [[] for _ in range(g.shape[1])]
    for col, r0, r1 in zip(sc, sr, er, strict=True):
        runs[col].append((int(r0), int(r1)))
    widths1 = [r[0][1] - r[0][0] for r in runs if len(r) == 1]
    yc = 0.5 * (rows[0] + rows[-1])
    length = float(c1 - c0 + 1)
    area = float(m.sum())
    width = area / length
    # shading beyond each end (the under-skin part of the hair shows on the root side)
    halfw = max(2, int(width / 2))
    reach = int(3 + 2.5 * max(width, 6))
    shade = []
    for sgn, ex in ((-1, c0), (1, c1)):
        a, b = sorted((ex + sgn * 3, ex + sgn * reach))
        band = rc[max(int(yc) - halfw, 0) : int(yc) + halfw + 1, max(a, 0) : min(b, D)]
        shade.append(float(band.mean()) if band.size else 0.0)
    Minv = cv2.invertAffineTransform(M)
    ends = np.array([[c0, yc, 1.0], [c1, yc, 1.0]]) @ Minv.T + (xa, ya)

    def on_edge(pt: np.ndarray) -> bool:
        xi, yi = int(np.clip(pt[0], 0, W - 1)), int(np.clip(pt[1], 0, H - 1))
        return bool(pt[0] < 2 or pt[1] < 2 or pt[0] > W - 3 or pt[1] > H - 3 or invalid[yi, xi] > 0)

    return {
        "label": label,
        "runs": runs,
        "rc": rc[:, c0 : c1 + 1],
        "c0": c0,
        "yc": yc,
        "Minv": Minv,
        "offset": (xa, ya),
        "ends": ends,
        "edge": [on_edge(e) for e in ends],
        "shade": shade,
        "length": length,
        "single_w": float(np.median(widths1)) if len(widths1) >= 3 else None,
    }


def _hairs_of(
    cp: dict, w1: float, vote: np.ndarray, st: DetectorSettings, fx: float, fy: float, upp: float
) -> list[RawHair]:
    runs = cp["runs"]
    min_run = st.min_run_fraction * w1
    counts = np.array([max(1 if r else 0, sum(1 for a, b in r if b - a >= min_run)) for r in runs])
    L = len(runs)
    k = 1
    for kk in range(2, 7):
        if int((counts >= kk).sum()) >= max(st.min_split_columns, st.min_split_fraction * L):
            k = kk
    d = cp["ends"][1] - cp["ends"][0]
    root = 1 if float(d @ vote) > 0 else 0
    tip = 1 - root
    # lateral positions of the k hairs: the k-run column nearest the tip end
    ks = [i for i, cnt in enumerate(counts) if cnt == k]
    if k > 1 and ks:
        col = ks[-1] if tip == 1 else ks[0]
        wide = [(a, b) for a, b in runs[col] if b - a >= min_run] or runs[col]
        centres = [0.5 * (a + b - 1) for a, b in wide][:k]
        while len(centres) < k:
            centres.append(cp["yc"])
    else:
        col = (L - 1) if tip == 1 else 0
        centres = [cp["yc"]]
    # diameters: FWHM of each run in columns with exactly k runs (central 80 % of the shaft)
    rc = cp["rc"]
    lo_col, hi_col = int(0.1 * L), max(int(0.9 * L), int(0.1 * L) + 1)
    per_hair: list[list[float]] = [[] for _ in range(k)]
    for i in range(lo_col, hi_col):
        rr = [(a, b) for a, b in runs[i] if b - a >= min_run] if k > 1 else runs[i]
        if len(rr) != k:
            continue
        prof = rc[:, i]
        bounds = [0] + [(rr[j][1] + rr[j + 1][0]) // 2 for j in range(k - 1)] + [len(prof)]
        for j, (a, b) in enumerate(rr):
            wdt = _fwhm(prof, a, b, bounds[j], bounds[j + 1])
            if wdt is not None:
                per_hair[j].append(wdt)
    exit_r = np.array([cp["c0"] + (L - 1 if root == 1 else 0), cp["yc"], 1.0])
    exit_xy = exit_r @ cp["Minv"].T + cp["offset"]
    out = []
    for j in range(k):
        tip_r = np.array([cp["c0"] + col, centres[j], 1.0])
        tip_xy = tip_r @ cp["Minv"].T + cp["offset"]
        diam = float(np.median(per_hair[j])) / fx if per_hair[j] else None
        length = float(np.hypot(*(tip_xy - exit_xy))) / fx
        edge = cp["edge"][root]
        tip_edge = cp["edge"][tip]
        if st.count_edge_rule == "exit":
            counted = not edge
        elif st.count_edge_rule == "tip":
            counted = not tip_edge
        elif st.count_edge_rule == "visible":
            counted = not (edge or tip_edge) or cp["length"] * upp >= st.edge_min_visible_um
        else:
            counted = True
        out.append(
            RawHair(
                exit_xy=(float(exit_xy[0] / fx), float(exit_xy[1] / fy)),
                tip_xy=(float(tip_xy[0] / fx), float(tip_xy[1] / fy)),
                length_px=length,
                diameter_px=diam,
                component=int(cp["label"]),
                counted=counted,
                exit_on_edge=edge,
                tip_on_edge=tip_edge,
            )
        )
    return out
