"""Synthetic scalp generator v2: realistic trichoscopy scenes with exact per-hair ground truth.

A *scene* is drawn in micrometres (follicular units of 1-4 hairs, each hair a curved, tapered shaft with
a class, a diameter, a length and an exit point), then rendered through a randomised "device" (skin of
Fitzpatrick type I-VI, pores, scale, sebum, glare, vignetting, colour cast, blur, noise, sharpening,
JPEG, burned-in overlays). Everything is drawn from one seed, so the same seed gives the same image.

Where the numbers come from (all in micrometres unless stated):

- Terminal shaft diameters: scalp means of 57 +/- 11 (Turkish adults; Erik et al., Skin Res Technol
  2008;14:147, PMID 18412556) to 86 +/- 19 (Korean occipital hair; Jeong et al., Skin Res Technol
  2011;17:63, doi:10.1111/j.1600-0846.2010.00466.x); per image the terminal mean is drawn in [55, 95]
  with a per-hair SD of 8-16. Vellus hairs are under 30 and terminal hairs typically 60-80 (Donovan,
  "Different hairs in AGA", donovanmedical.com 2017); intermediate (miniaturising) hairs lie between.
  In androgenetic alopecia vellus hairs can outnumber terminal hairs (same source), so the vellus share
  runs from 0 to 45 % per image.
- Visible length of clipped hair: the trichogram protocols clip to about 0.5-1 mm and anagen hair then
  grows about 0.3 mm a day (Hoffmann, Eur J Dermatol 2001;11:362; research/hair-imaging-notes.md
  section 1.1), so clipped shafts are drawn 0.1-1.3 mm long; some images also carry long unclipped hairs
  (2-6 mm) and short regrowing stubs (40-200) with natural tapered tips.
- Follicular units hold 1-4 hairs (Headington, Arch Dermatol 1984;120:449); hair density runs from
  30 to 300 hairs/cm2, which covers normal and androgenetic scalps (Loussouarn et al., Eur J Dermatol
  2016;26:144, doi:10.1684/ejd.2015.2726; TrichoScan figures in the research note).
- Skin colour: drawn in CIE L*a*b* from the individual typology angle ITA = atan((L* - 50) / b*) with
  the six skin classes (very light > 55 deg ... dark < -30 deg) of Chardon et al., Int J Cosmet Sci
  1991;13:191 and Del Bino et al., Pigment Cell Res 2006;19:606, as a proxy for Fitzpatrick I-VI.
- Scale: 2.76 um/px by default, the fdu-dev device (its measurement overlay; see ``devices.yaml``).

Ground truth per hair: the centre line (polyline, px), the diameter at mid-shaft, class, length, unit,
and the visible part in the frame (not under an opaque overlay): its length, mid-point and ends.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from regrow.errors import InputError

__all__ = [
    "HAIR_CLASSES",
    "ScalpHair",
    "SyntheticScalp",
    "contact_sheet",
    "synthesize_scalp",
]

HAIR_CLASSES = ("terminal", "intermediate", "vellus")
#: Diameter ranges (um) of the classes: vellus under 30, terminal typically 60-80 (Donovan 2017, above).
VELLUS_MAX_UM = 30.0
INTERMEDIATE_MAX_UM = 55.0
#: Hairs with less than this much shaft in view are not drawn as targets (a sliver at the frame edge).
MIN_VISIBLE_UM = 40.0

#: Hair pigment colours (sRGB of the shaft core, rim) - dark hair shows a lighter brown rim in
#: transmitted light; light hair is translucent.
_HAIR_PALETTE = {
    "black": ((16, 14, 18), (42, 32, 30), 0.98),
    "dark_brown": ((36, 26, 22), (80, 56, 42), 0.96),
    "brown": ((78, 52, 36), (140, 100, 70), 0.93),
    "auburn": ((96, 44, 26), (160, 90, 58), 0.9),
    "blond": ((176, 146, 98), (205, 182, 140), 0.8),
    "grey": ((150, 148, 150), (190, 188, 190), 0.8),
    "white": ((226, 224, 220), (240, 238, 236), 0.75),
}
#: ITA ranges (degrees) of the six skin classes (Chardon 1991, Del Bino 2006) ~ Fitzpatrick I-VI.
_ITA_RANGES = {
    1: (55.0, 70.0),
    2: (41.0, 55.0),
    3: (28.0, 41.0),
    4: (10.0, 28.0),
    5: (-30.0, 10.0),
    6: (-55.0, -30.0),
}


@dataclass(frozen=True)
class ScalpHair:
    """Exact ground truth of one synthetic hair (pixel coordinates of the rendered image, x right, y down).

    Attributes
    ----------
    polyline_px : numpy.ndarray
        (N, 2) centre line from the exit point (where the shaft leaves the skin) to the tip.
    diameter_um : float
        Shaft diameter at mid-length (the median along a linearly tapered shaft).
    hair_class : str
        "terminal", "intermediate" or "vellus".
    length_um : float
        Length of the whole shaft above the skin.
    unit : int
        Follicular-unit id (hairs of one unit share it).
    visible_length_um : float
        Length of the longest part inside the frame and not under an opaque overlay (0 when hidden).
    visible_mid_px, visible_ends_px : numpy.ndarray
        Mid-point (by arc length) and the two ends (exit side first) of that visible part.
    cut : bool
        Part of the shaft is outside the frame or under an overlay.
    exit_inside : bool
        The exit point is in the frame and not under an opaque overlay.
    colour : str
        Hair colour name.
    """

    polyline_px: np.ndarray
    diameter_um: float
    hair_class: str
    length_um: float
    unit: int
    visible_length_um: float
    visible_mid_px: np.ndarray
    visible_ends_px: np.ndarray
    cut: bool
    exit_inside: bool
    colour: str

    @property
    def exit_px(self) -> np.ndarray:
        return self.polyline_px[0]

    @property
    def tip_px(self) -> np.ndarray:
        return self.polyline_px[-1]


@dataclass
class SyntheticScalp:
    """A rendered synthetic scalp image and its exact ground truth."""

    image: np.ndarray
    um_per_px: float
    hairs: list[ScalpHair] = field(default_factory=list)
    overlay_mask: np.ndarray | None = None
    style: dict[str, Any] = field(default_factory=dict)

    def counted(
        self,
        rule: str = "visible",
        *,
        edge_min_visible_um: float = 0.0,
        min_visible_um: float = MIN_VISIBLE_UM,
    ) -> list[ScalpHair]:
        """Hairs that count under a counting rule.

        Parameters
        ----------
        rule : {"visible", "exit"}
            "visible": every hair with at least ``min_visible_um`` of shaft in view, where a hair cut by
            the frame or an overlay needs at least ``edge_min_visible_um``. "exit": hairs whose exit point
            is in view (an unbiased counting frame).
        """
        if rule == "exit":
            return [h for h in self.hairs if h.exit_inside]
        if rule != "visible":
            raise InputError.invalid("rule", rule, "'visible' or 'exit'")
        return [
            h
            for h in self.hairs
            if h.visible_length_um >= max(min_visible_um, edge_min_visible_um if h.cut else 0.0)
        ]

    def hair_count(self, rule: str = "visible", **kwargs: float) -> int:
        """Number of hairs that count (see :meth:`counted`)."""
        return len(self.counted(rule, **kwargs))


# ----------------------------------------------------------------------------------------------- style


def _sample_style(rng: np.random.Generator, overrides: dict[str, Any]) -> dict[str, Any]:
    """Every random choice that is constant over one image."""
    u = rng.uniform
    # most trichoscopy in the literature and in clinics is of dark hair on light skin; the other
    # combinations stay common enough to be learned
    fitz = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.3, 0.3, 0.15, 0.1, 0.08, 0.07]))
    colours = list(_HAIR_PALETTE)
    if fitz >= 5:
        colour_p = [0.6, 0.2, 0.04, 0.02, 0.02, 0.08, 0.04]
    else:
        colour_p = [0.5, 0.2, 0.08, 0.03, 0.07, 0.07, 0.05]
    s: dict[str, Any] = {
        "fitzpatrick": fitz,
        "hair_colour": str(rng.choice(colours, p=colour_p)),
        "salt_pepper": float(u(0.0, 0.6)) if rng.random() < 0.12 else 0.0,
        "hair_density_per_cm2": float(np.exp(u(np.log(30.0), np.log(300.0)))),
        "hairs_per_unit_p": rng.dirichlet([3.0, 4.0, 2.0, 0.6]).tolist(),
        "unit_spacing_um": float(u(180.0, 450.0)),
        "terminal_mean_um": float(u(55.0, 95.0)),
        "terminal_sd_um": float(u(8.0, 16.0)),
        "vellus_fraction": float(u(0.0, 0.45)) if rng.random() < 0.7 else 0.0,
        "intermediate_fraction": float(u(0.0, 0.35)),
        "clipped": bool(rng.random() < 0.92),
        "length_range_um": sorted((float(u(100.0, 350.0)), float(u(450.0, 1300.0)))),
        "long_hair_fraction": float(u(0.0, 0.15)) if rng.random() < 0.2 else 0.0,
        "stub_fraction": float(u(0.0, 0.15)) if rng.random() < 0.5 else 0.0,
        "direction_deg": float(u(0.0, 360.0)),
        "direction_spread_deg": float(u(5.0, 40.0)),
        "v_shape_p": float(u(0.0, 0.5)),
        "curvature": float(u(0.0, 0.04)) if rng.random() < 0.8 else float(u(0.04, 0.12)),
        "taper": float(u(0.0, 0.15)),
        "halo": float(u(0.3, 0.9)) if rng.random() < 0.9 else 0.0,
        "halo_length_um": float(u(100.0, 450.0)),
        "halo_width": float(u(1.0, 2.2)),
        "halo_blur": float(u(0.4, 1.4)),
        "halo_lightness": float(u(0.0, 1.0)),
        "speckle": float(u(0.0, 0.8)) if rng.random() < 0.7 else 0.0,
        "collar": float(u(0.0, 0.5)) if rng.random() < 0.3 else 0.0,
        "scale_flakes": float(u(0.0, 0.6)) if rng.random() < 0.7 else 0.0,
        "pores_per_mm2": float(u(0.0, 6.0)) if rng.random() < 0.5 else 0.0,
        "yellow_dots_per_mm2": float(u(0.0, 3.0)) if rng.random() < 0.25 else 0.0,
        "furrows_per_mm2": float(u(0.0, 12.0)) if rng.random() < 0.7 else 0.0,
        "erythema": float(u(0.0, 0.3)),
        "skin_texture": float(u(0.3, 1.5)),
        "sebum": float(u(0.0, 0.5)) if rng.random() < 0.3 else 0.0,
        "glare_spots": int(rng.integers(0, 4)) if rng.random() < 0.35 else 0,
        "vignetting": float(u(0.0, 0.3)),
        "uneven_light": float(u(0.0, 0.1)),
        "colour_gain": [float(g) for g in np.exp(rng.normal(0.0, 0.08, 3))],
        "blue_light": float(u(0.0, 0.6)),
        "gamma": float(np.exp(rng.normal(0.0, 0.12))),
        "exposure": float(np.exp(rng.normal(0.0, 0.15))),
        "blur_um": float(np.exp(u(np.log(1.0), np.log(14.0)))),
        "noise_sd": float(u(0.5, 8.0)),
        "chroma_noise": float(u(0.0, 1.0)),
        "sharpen": float(u(0.0, 1.2)) if rng.random() < 0.4 else 0.0,
        "jpeg_quality": int(rng.integers(35, 97)) if rng.random() < 0.85 else None,
        "overlays": {
            "banner": bool(rng.random() < 0.3),
            "bottom_bar": bool(rng.random() < 0.12),
            "circle": bool(rng.random() < 0.2),
            "readout": bool(rng.random() < 0.1),
            "scale_bar": bool(rng.random() < 0.15),
            "marker_lines": bool(rng.random() < 0.08),
        },
    }
    if fitz >= 5 and rng.random() < 0.5:  # light hair is rarer on dark skin, dark hair common
        s["hair_colour"] = "black"
    for k, v in overrides.items():
        if k not in s:
            raise InputError.invalid("style key", k, ", ".join(sorted(s)))
        s[k] = v
    return s


def _lab_to_srgb(lum: float, a: float, b: float) -> np.ndarray:
    """CIE L*a*b* (D65) to sRGB in [0, 1] (the CIE 1976 and IEC 61966-2-1 formulas)."""
    fy = (lum + 16.0) / 116.0
    f = np.array([fy + a / 500.0, fy, fy - b / 200.0])
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array([0.95047, 1.0, 1.08883])
    m = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
    lin = np.clip(m @ xyz, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def _skin_rgb(rng: np.random.Generator, fitz: int) -> np.ndarray:
    ita = np.radians(rng.uniform(*_ITA_RANGES[fitz]))
    b = rng.uniform(8.0, 22.0)
    lum = float(np.clip(50.0 + b * np.tan(ita), 18.0, 88.0))
    a = rng.uniform(7.0, 17.0)
    rgb = _lab_to_srgb(lum, a, b)
    # trichoscopes light the skin strongly: lift toward the bright end
    return np.clip(rgb * 255.0 * rng.uniform(1.05, 1.35), 25.0, 245.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------- layout


@dataclass
class _Hair:
    ctrl_um: np.ndarray  # (3, 2) quadratic Bezier control points, exit first
    diameter_um: float
    hair_class: str
    taper: float  # fraction of width lost from exit to tip (natural tips taper to a point)
    natural_tip: bool
    unit: int
    colour: str
    tip_cut_deg: float
    on_top: bool


def _bezier(ctrl: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * ctrl[0] + 2 * (1 - t) * t * ctrl[1] + t**2 * ctrl[2]


def _poisson_disk(
    rng: np.random.Generator, n: int, box: tuple[float, float, float, float], r: float
) -> np.ndarray:
    x0, y0, x1, y1 = box
    pts: list[np.ndarray] = []
    for _ in range(n * 15):
        if len(pts) >= n:
            break
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        if not pts or np.min(np.hypot(*(np.array(pts) - p).T)) >= r:
            pts.append(p)
    return np.array(pts).reshape(-1, 2)


def _class_diameter(rng: np.random.Generator, s: dict[str, Any]) -> tuple[str, float]:
    r = rng.random()
    if r < s["vellus_fraction"]:
        return "vellus", float(rng.uniform(12.0, VELLUS_MAX_UM))
    if r < s["vellus_fraction"] + s["intermediate_fraction"]:
        return "intermediate", float(rng.uniform(VELLUS_MAX_UM, INTERMEDIATE_MAX_UM))
    d = float(np.clip(rng.normal(s["terminal_mean_um"], s["terminal_sd_um"]), INTERMEDIATE_MAX_UM, 140.0))
    return "terminal", d


def _layout(rng: np.random.Generator, s: dict[str, Any], w_um: float, h_um: float) -> list[_Hair]:
    lo, hi = s["length_range_um"]
    margin = 2500.0 if s["long_hair_fraction"] > 0 or not s["clipped"] else hi + 150.0
    box = (-margin, -margin, w_um + margin, h_um + margin)
    area_cm2 = (box[2] - box[0]) * (box[3] - box[1]) * 1e-8
    p = np.asarray(s["hairs_per_unit_p"], float)
    mean_k = float(np.dot(p, np.arange(1, 5)))
    density = s["hair_density_per_cm2"] if s["clipped"] else min(s["hair_density_per_cm2"], 80.0)
    n_units = int(rng.poisson(density * area_cm2 / mean_k))
    centres = _poisson_disk(rng, n_units, box, s["unit_spacing_um"])
    base = np.radians(s["direction_deg"])
    hairs: list[_Hair] = []
    for ui, c in enumerate(centres):
        k = int(rng.choice([1, 2, 3, 4], p=p))
        udir = base + np.radians(rng.normal(0.0, s["direction_spread_deg"] / 2))
        v_shape = k > 1 and rng.random() < s["v_shape_p"]
        fan = np.radians(rng.uniform(8.0, 35.0)) if v_shape else np.radians(rng.uniform(0.0, 6.0))
        members = [_class_diameter(rng, s) for _ in range(k)]
        offset = -0.5 * sum(d for _, d in members) - (k - 1) * 10.0
        for j, (cls, dia) in enumerate(members):
            along = np.array([np.cos(udir), np.sin(udir)])
            across = np.array([-along[1], along[0]])
            if v_shape:
                ex = c + across * rng.uniform(-20.0, 20.0) + along * rng.uniform(-25.0, 25.0)
            else:
                gap = rng.uniform(0.0, 45.0) if j else 0.0
                offset += gap
                ex = c + across * (offset + dia / 2) + along * rng.uniform(-80.0, 80.0)
                offset += dia
            ang = udir + (j - (k - 1) / 2) * fan / max(k - 1, 1) + np.radians(rng.normal(0.0, 2.0))
            natural_tip = False
            on_top = False
            r = rng.random()
            if r < s["stub_fraction"]:
                length = rng.uniform(40.0, 200.0)
                natural_tip = rng.random() < 0.6
            elif r < s["stub_fraction"] + s["long_hair_fraction"] or not s["clipped"]:
                length = rng.uniform(1500.0, 6000.0)
                natural_tip = True
                on_top = True
            else:
                length = rng.uniform(lo, hi)
            if cls == "vellus" and not s["clipped"]:
                natural_tip = True
            d = np.array([np.cos(ang), np.sin(ang)])
            bend = rng.normal(0.0, s["curvature"] * (3.0 if on_top else 1.0))
            mid = ex + d * length / 2 + np.array([-d[1], d[0]]) * bend * length
            ctrl = np.stack([ex, mid, ex + d * length])
            hairs.append(
                _Hair(
                    ctrl_um=ctrl,
                    diameter_um=dia,
                    hair_class=cls,
                    taper=float(rng.uniform(0.0, s["taper"])),
                    natural_tip=natural_tip,
                    unit=ui,
                    colour=_hair_colour(rng, s),
                    tip_cut_deg=float(rng.normal(0.0, 20.0)),
                    on_top=on_top,
                )
            )
    # crossing hairs: a few long ones drawn last
    for _ in range(int(rng.poisson(0.4 if s["long_hair_fraction"] > 0 else 0.1))):
        cls, dia = _class_diameter(rng, s)
        ex = np.array([rng.uniform(0, w_um), rng.uniform(0, h_um)])
        ang = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(1500.0, 5000.0)
        d = np.array([np.cos(ang), np.sin(ang)])
        mid = ex + d * length / 2 + np.array([-d[1], d[0]]) * rng.normal(0.0, 0.15) * length
        hairs.append(
            _Hair(
                np.stack([ex, mid, ex + d * length]),
                dia,
                cls,
                0.0,
                True,
                len(centres) + len(hairs),
                _hair_colour(rng, s),
                0.0,
                True,
            )
        )
    return hairs


def _hair_colour(rng: np.random.Generator, s: dict[str, Any]) -> str:
    if s["salt_pepper"] > 0 and rng.random() < s["salt_pepper"]:
        return str(rng.choice(["grey", "white"]))
    return str(s["hair_colour"])


# ------------------------------------------------------------------------------------------- rendering


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Zero-mean, unit-SD smooth random field with features about ``scale_px`` wide."""
    gh, gw = max(2, int(shape[0] / max(scale_px, 1.0)) + 2), max(2, int(shape[1] / max(scale_px, 1.0)) + 2)
    f = rng.standard_normal((gh, gw)).astype(np.float32)
    f = cv2.resize(f, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    f -= float(f.mean())
    return f / max(float(f.std()), 1e-6)


def _stroke_polygon(pts: np.ndarray, half_w: np.ndarray, tip_shift: float = 0.0) -> np.ndarray:
    """Outline of a stroke of varying half-width along ``pts`` (the tip end cut at an angle)."""
    t = np.gradient(pts, axis=0)
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    n = np.stack([-t[:, 1], t[:, 0]], axis=1)
    left = pts + n * half_w[:, None]
    right = pts - n * half_w[:, None]
    left[-1] += t[-1] * tip_shift
    right[-1] -= t[-1] * tip_shift
    return np.vstack([left, right[::-1]])


def _coverage(poly: np.ndarray, shape: tuple[int, int], ss: int = 4):
    """Area coverage (0-1) of a polygon (px) over its bounding box, by ``ss`` x ``ss`` supersampling."""
    h, w = shape
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    m = np.zeros(((y1 - y0) * ss, (x1 - x0) * ss), np.uint8)
    p = np.round((poly - (x0, y0)) * ss * 16 - 8).astype(np.int32)  # pixel centres, 4 fractional bits
    cv2.fillPoly(m, [p], 255, cv2.LINE_8, shift=4)
    cov = cv2.resize(m, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return (slice(y0, y1), slice(x0, x1)), cov


def _stroke_coverage(pts: np.ndarray, half_w: np.ndarray, shape: tuple[int, int], tip_shift: float = 0.0):
    """Coverage of a stroke as a list of (slices, coverage) pieces that never overlap.

    Long strokes are cut into chunks of about 48 px (overlapping by two samples, merged with max), so no
    bounding box grows with the square of a long hair's length.
    """
    r = float(np.max(half_w)) + abs(tip_shift) + 2.0
    lo, hi = pts.min(axis=0) - r, pts.max(axis=0) + r
    if hi[0] < 0 or hi[1] < 0 or lo[0] >= shape[1] or lo[1] >= shape[0]:
        return []
    n = len(pts)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    total = float(seg.sum())
    if total <= 64.0:
        c = _coverage(_stroke_polygon(pts, half_w, tip_shift), shape)
        return [] if c is None else [c]
    step = max(2, int(n * 48.0 / total))
    pieces = []
    for i0 in range(0, n - 1, step):
        a, b = max(i0 - 1, 0), min(i0 + step + 2, n)
        c = _coverage(_stroke_polygon(pts[a:b], half_w[a:b], tip_shift if b == n else 0.0), shape)
        if c is not None:
            pieces.append(c)
    if len(pieces) < 2:
        return pieces
    y0 = min(p[0][0].start for p in pieces)
    x0 = min(p[0][1].start for p in pieces)
    y1 = max(p[0][0].stop for p in pieces)
    x1 = max(p[0][1].stop for p in pieces)
    if (y1 - y0) * (x1 - x0) <= 4 * sum(p[1].size for p in pieces):
        acc = np.zeros((y1 - y0, x1 - x0), np.float32)
        for (sy, sx), cov in pieces:
            sub = acc[sy.start - y0 : sy.stop - y0, sx.start - x0 : sx.stop - x0]
            np.maximum(sub, cov, out=sub)
        return [((slice(y0, y1), slice(x0, x1)), acc)]
    # a long diagonal hair: accumulate in a frame-sized buffer, hand out disjoint pieces
    acc = np.zeros(shape, np.float32)
    for sl, cov in pieces:
        np.maximum(acc[sl], cov, out=acc[sl])
    out = []
    for sl, _ in pieces:
        out.append((sl, acc[sl].copy()))
        acc[sl] = 0.0
    return out


def _blend(img: np.ndarray, pieces, colour: np.ndarray, alpha: float) -> None:
    for sl, a in pieces:
        a = (a * alpha)[..., None]
        img[sl] = img[sl] * (1.0 - a) + colour * a


def _dots(
    rng: np.random.Generator, img: np.ndarray, n: int, radius_um: tuple[float, float], upp: float, colour_fn
) -> None:
    """Soft round dots (pores, yellow dots) drawn in small regions of interest."""
    h, w = img.shape[:2]
    for _ in range(n):
        r = max(1.0, rng.uniform(*radius_um) / upp)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        pad = int(2 * r) + 3
        x0, y0, x1, y1 = (
            max(int(cx) - pad, 0),
            max(int(cy) - pad, 0),
            min(int(cx) + pad, w),
            min(int(cy) + pad, h),
        )
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2) / r
        a = (np.clip(1.3 - d, 0, 1) * rng.uniform(0.3, 0.8))[..., None]
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + colour_fn() * a


def _render_skin(
    rng: np.random.Generator, s: dict[str, Any], shape: tuple[int, int], upp: float
) -> np.ndarray:
    h, w = shape
    base = _skin_rgb(rng, s["fitzpatrick"])
    fine = s["skin_texture"]
    lum = (
        1.0
        + 0.03 * _smooth_noise(rng, shape, 500.0 / upp)
        + 0.04 * fine * _smooth_noise(rng, shape, 60.0 / upp)
        + 0.05 * fine * _smooth_noise(rng, shape, max(1.5, 12.0 / upp))
    )
    # furrows: long thin lines, slightly darker (or lighter)
    area_mm2 = h * w * upp * upp * 1e-6
    n_fur = int(rng.poisson(s["furrows_per_mm2"] * area_mm2))
    if n_fur:
        fur = np.zeros(shape, np.float32)
        for _ in range(n_fur):
            p0 = np.array([rng.uniform(0, w), rng.uniform(0, h)])
            ang = rng.uniform(0, np.pi)
            ln = rng.uniform(300.0, 2500.0) / upp
            d = np.array([np.cos(ang), np.sin(ang)]) * ln / 2
            ctrl = np.stack([p0 - d, p0 + rng.normal(0, 0.15 * ln, 2), p0 + d])
            pts = np.round(_bezier(ctrl, 16) * 4).astype(np.int32)
            cv2.polylines(
                fur,
                [pts],
                False,
                float(rng.uniform(0.3, 1.0)),
                max(1, round(rng.uniform(3, 10) / upp)),
                cv2.LINE_AA,
                shift=2,
            )
        fur = cv2.GaussianBlur(fur, (0, 0), max(0.6, 4.0 / upp))
        lum -= rng.uniform(0.03, 0.1) * fur * (1 if rng.random() < 0.75 else -1)
    img = cv2.merge([lum * float(c) for c in base])
    if s["erythema"] > 0.05:
        red = np.clip(_smooth_noise(rng, shape, 400.0 / upp), 0, None) * (s["erythema"] * 0.2)
        img *= cv2.merge([1.0 + 0.3 * red, 1.0 - 0.5 * red, 1.0 - 0.4 * red])
    # white / bluish-white scale flakes
    if s["scale_flakes"] > 0:
        f = _smooth_noise(rng, shape, rng.uniform(25.0, 90.0) / upp) + 0.6 * _smooth_noise(
            rng, shape, 10.0 / upp
        )
        region = np.clip(_smooth_noise(rng, shape, 600.0 / upp) + rng.uniform(-0.5, 1.0), 0, 1)
        flake = np.clip((f - rng.uniform(0.6, 1.6)) * 1.5, 0, 1) * region * s["scale_flakes"]
        flake_rgb = np.array([235, 238, 250], np.float32) * rng.uniform(0.9, 1.05)
        fl = flake[..., None]
        img = img * (1 - fl) + flake_rgb * fl
    if s["speckle"] > 0:
        f = _smooth_noise(rng, shape, max(1.2, rng.uniform(6.0, 16.0) / upp))
        sp = np.clip((f - rng.uniform(1.2, 2.2)) * 2.0, 0, 1) * s["speckle"]
        sp *= np.clip(_smooth_noise(rng, shape, 300.0 / upp) + 1.0, 0, 1.5)
        spl = sp[..., None]
        img = img * (1 - spl) + np.array([245, 245, 252], np.float32) * spl
    _dots(
        rng,
        img,
        int(rng.poisson(s["pores_per_mm2"] * area_mm2)),
        (15.0, 50.0),
        upp,
        lambda: base * rng.uniform(0.55, 0.85),
    )
    _dots(
        rng,
        img,
        int(rng.poisson(s["yellow_dots_per_mm2"] * area_mm2)),
        (20.0, 60.0),
        upp,
        lambda: np.array([215, 185, 110], np.float32) * rng.uniform(0.85, 1.1),
    )
    return img


def _render_hairs(
    rng: np.random.Generator, s: dict[str, Any], img: np.ndarray, hairs: list[_Hair], upp: float
) -> list[np.ndarray]:
    """Draw the under-skin halos, then the shafts (long hairs last); returns each centre line in px."""
    shape = img.shape[:2]
    skin_mean = img[::8, ::8].reshape(-1, 3).mean(axis=0)
    lines = []
    shade = np.zeros(shape, np.float32) if s["halo"] > 0 else None
    collar = np.zeros(shape, np.float32) if s["collar"] > 0 else None
    for hr in hairs:
        ctrl = hr.ctrl_um / upp
        n = max(6, min(400, int(np.hypot(*(ctrl[2] - ctrl[0])) / 6) + 6))
        lines.append(_bezier(ctrl, n))
        if hr.on_top:
            continue
        d = ctrl[1] - ctrl[0]
        d /= max(float(np.hypot(*d)), 1e-9)
        ex = ctrl[0]
        if shade is not None:
            # the hair under the translucent skin: a blurred blue-grey continuation of the shaft behind the
            # exit point, about as wide as the hair, fading with depth
            ln = s["halo_length_um"] / upp * rng.uniform(0.6, 1.3)
            r = hr.diameter_um / upp / 2 * s["halo_width"]
            for k, val in enumerate((1.0, 0.75, 0.5, 0.25)):
                a0, a1 = -ln * k / 4, -ln * (k + 1) / 4
                seg = np.stack([ex + d * (a0 + (0.5 * r if k == 0 else 0.0)), ex + d * a1])
                hw = np.array([1.0 + 0.25 * k, 1.25 + 0.25 * k]) * r
                for sl, cov in _stroke_coverage(seg, hw, shape):
                    np.maximum(shade[sl], cov * val, out=shade[sl])
        if collar is not None and rng.random() < 0.5:
            c = np.round(ex * 4).astype(int)
            cv2.ellipse(
                collar,
                (int(c[0]), int(c[1])),
                (
                    max(2, int(rng.uniform(0.8, 1.6) * hr.diameter_um / upp * 4)),
                    max(2, int(rng.uniform(0.5, 1.0) * hr.diameter_um / upp * 4)),
                ),
                float(np.degrees(np.arctan2(d[1], d[0]))),
                0,
                360,
                float(rng.uniform(0.4, 1.0)),
                -1,
                cv2.LINE_AA,
                shift=2,
            )
    if shade is not None:
        mean_d = float(np.mean([hr.diameter_um for hr in hairs])) if hairs else 60.0
        shade = cv2.GaussianBlur(shade, (0, 0), max(0.7, s["halo_blur"] * mean_d / upp))
        dark, light = np.array([85, 100, 140], np.float32), np.array([165, 180, 222], np.float32)
        halo_rgb = (
            (dark + (light - dark) * s["halo_lightness"]) * (skin_mean.mean() / 190.0) * rng.uniform(0.8, 1.1)
        )
        a = (shade * s["halo"])[..., None]
        img[:] = img * (1 - a) + halo_rgb * a
    if collar is not None:
        collar = cv2.GaussianBlur(collar, (0, 0), max(1.0, 10.0 / upp)) * s["collar"]
        img[:] = img * (1 - collar[..., None]) + np.array([238, 240, 248], np.float32) * collar[..., None]
    order = sorted(range(len(hairs)), key=lambda i: hairs[i].on_top)
    for i in order:
        hr, pts = hairs[i], lines[i]
        t = np.linspace(0.0, 1.0, len(pts))
        r0 = hr.diameter_um / upp / 2 * (1 + hr.taper / 2)
        half = r0 * (1 - hr.taper * t)
        if hr.natural_tip:
            half = half * np.clip((1.0 - t) / 0.3, 0.12, 1.0)
        core, rim, opacity = _HAIR_PALETTE[hr.colour]
        jitter = rng.uniform(0.85, 1.15)
        core_c = np.clip(np.array(core, np.float32) * jitter, 0, 255)
        rim_c = np.clip(np.array(rim, np.float32) * jitter, 0, 255)
        op = opacity * (rng.uniform(0.55, 0.9) if hr.diameter_um < 35.0 else 1.0)
        shift = 0.0 if hr.natural_tip else float(np.tan(np.radians(np.clip(hr.tip_cut_deg, -60, 60))) * r0)
        _blend(img, _stroke_coverage(pts, half, shape, shift), rim_c, op)
        _blend(img, _stroke_coverage(pts, half * rng.uniform(0.45, 0.75), shape, shift * 0.6), core_c, op)
        if rng.random() < 0.5:  # a faint specular line along one side of the shaft
            side = rng.choice([-1.0, 1.0]) * 0.3
            tt = np.gradient(pts, axis=0)
            tt /= np.maximum(np.hypot(tt[:, 0], tt[:, 1]), 1e-9)[:, None]
            off = pts + np.stack([-tt[:, 1], tt[:, 0]], axis=1) * (half * side)[:, None]
            _blend(
                img,
                _stroke_coverage(off, np.maximum(half * 0.12, 0.3), shape),
                np.array([225, 225, 232], np.float32),
                float(rng.uniform(0.08, 0.3)),
            )
    return lines


def _overlays(rng: np.random.Generator, s: dict[str, Any], img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Burn in device overlays (uint8 image in place). Returns (opaque mask, all-overlay mask)."""
    h, w = img.shape[:2]
    opaque = np.zeros((h, w), np.uint8)
    ov = s["overlays"]
    sc = h / 1024.0
    font = cv2.FONT_HERSHEY_SIMPLEX

    def text(n: int) -> str:
        return "".join(rng.choice(list(string.ascii_letters + string.digits + " :./"), n))

    if ov["banner"]:
        bh = max(8, int(rng.uniform(20, 30) * sc))
        x = int(rng.uniform(2, 8) * sc)
        while x < w * rng.uniform(0.6, 1.0):
            bw = int(rng.uniform(60, 260) * sc)
            cv2.rectangle(img, (x, 0), (x + bw, bh), tuple(int(v) for v in rng.uniform(60, 100, 3)), -1)
            col = (60, 230, 230) if rng.random() < 0.2 else (240, 240, 240)
            cv2.putText(
                img,
                text(max(2, bw // max(1, int(11 * sc)))),
                (x + 3, bh - max(2, int(6 * sc))),
                font,
                0.5 * sc,
                col,
                1,
                cv2.LINE_AA,
            )
            opaque[0 : bh + 1, x : x + bw + 1] = 1
            x += bw + int(rng.uniform(2, 8) * sc)
    if ov["bottom_bar"]:
        bh = max(6, int(rng.uniform(10, 24) * sc))
        img[h - bh :] = rng.uniform(200, 235)
        opaque[h - bh :] = 1
    thin = np.zeros((h, w), np.uint8)
    if ov["circle"]:
        c = (int(rng.uniform(-0.2, 1.2) * w), int(rng.uniform(-0.2, 1.2) * h))
        cv2.circle(
            thin,
            c,
            int(rng.uniform(0.3, 1.0) * max(h, w)),
            1,
            max(1, int(rng.uniform(1, 3) * sc)),
            cv2.LINE_AA,
        )
        img[thin > 0] = (int(rng.uniform(200, 255)), int(rng.uniform(0, 60)), int(rng.uniform(0, 60)))
    if ov["marker_lines"]:
        m = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 3))):
            p0 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            p1 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            cv2.line(m, p0, p1, 1, max(1, int(rng.uniform(1, 4) * sc)), cv2.LINE_AA)
        img[m > 0] = (int(rng.uniform(0, 80)), int(rng.uniform(60, 180)), int(rng.uniform(180, 255)))
        thin |= m
    if ov["scale_bar"]:
        m = np.zeros((h, w), np.uint8)
        x0, y0 = int(rng.uniform(0.01, 0.1) * w), int(rng.uniform(0.85, 0.97) * h)
        ln = int(rng.uniform(0.2, 0.35) * w)
        col = tuple(int(v) for v in rng.uniform(20, 90, 3))
        cv2.line(m, (x0, y0), (x0 + ln, y0), 1, max(1, int(2 * sc)))
        cv2.line(m, (x0, y0), (x0, y0 - int(rng.uniform(0.1, 0.3) * h)), 1, max(1, int(2 * sc)))
        img[m > 0] = col
        thin |= m
        bx, by = x0 + ln - int(70 * sc), y0 - int(rng.uniform(8, 26) * sc)
        cv2.rectangle(img, (bx, by), (bx + int(70 * sc), by + int(22 * sc)), (70, 70, 70), -1)
        cv2.putText(
            img, "1.0 mm", (bx + 4, by + int(16 * sc)), font, 0.5 * sc, (240, 240, 240), 1, cv2.LINE_AA
        )
        opaque[max(by, 0) : by + int(22 * sc) + 1, max(bx, 0) : bx + int(70 * sc) + 1] = 1
    if ov["readout"]:
        x0, y0 = int(rng.uniform(0.05, 0.6) * w), int(rng.uniform(0.1, 0.7) * h)
        col = (int(rng.uniform(20, 80)), int(rng.uniform(20, 80)), int(rng.uniform(180, 255)))
        for i in range(int(rng.integers(2, 5))):
            cv2.putText(
                img,
                text(int(rng.integers(5, 12))),
                (x0, y0 + int(i * 26 * sc)),
                font,
                0.7 * sc,
                col,
                max(1, int(sc)),
                cv2.LINE_AA,
            )
        r = np.zeros((h, w), np.uint8)
        cv2.rectangle(r, (x0 - 4, y0 - int(20 * sc)), (x0 + int(150 * sc), y0 + int(90 * sc)), 1, -1)
        thin |= r
    return opaque, np.maximum(opaque, thin)


def _optics(rng: np.random.Generator, s: dict[str, Any], img: np.ndarray, upp: float) -> np.ndarray:
    """Glare, light, colour, blur, sharpening and sensor noise (float image in, uint8 out)."""
    h, w = img.shape[:2]
    area_mm2 = h * w * upp * upp * 1e-6
    n_glare = int(rng.poisson(s["sebum"] * 0.3 * area_mm2)) + s["glare_spots"]
    if n_glare or s["sebum"] > 0:
        g = np.zeros((h, w), np.float32)
        for _ in range(n_glare):
            c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            ax = (max(1, int(rng.uniform(20, 250) / upp)), max(1, int(rng.uniform(10, 120) / upp)))
            cv2.ellipse(g, c, ax, rng.uniform(0, 180), 0, 360, float(rng.uniform(0.3, 0.9)), -1, cv2.LINE_AA)
        if n_glare:
            g = cv2.GaussianBlur(g, (0, 0), max(1.0, 15.0 / upp))
        if s["sebum"] > 0:
            g += np.clip(_smooth_noise(rng, (h, w), max(1.2, 6.0 / upp)) - 2.2, 0, 1) * s["sebum"]
        g = np.clip(g, 0, 1)[..., None]
        img = img * (1 - g) + 252.0 * g
    # illumination: vignetting, uneven light, bluish periphery, white balance, exposure
    yy, xx = np.ogrid[0:h, 0:w]
    cx, cy = w / 2 + rng.normal(0, 0.1 * w), h / 2 + rng.normal(0, 0.1 * h)
    rr = (((xx - cx) ** 2 + (yy - cy) ** 2) / (0.5 * np.hypot(w, h)) ** 2).astype(np.float32)
    light = (1.0 - s["vignetting"] * rr) * (
        1.0 + s["uneven_light"] * _smooth_noise(rng, (h, w), max(h, w) / 2)
    )
    gain = np.array(s["colour_gain"], np.float32) * s["exposure"]
    blue = s["blue_light"] * np.minimum(rr, 1.5)
    img = img * cv2.merge(
        [light * (gain[0] * (1 - 0.08 * blue)), light * gain[1], light * (gain[2] * (1 + 0.12 * blue))]
    )
    sigma = s["blur_um"] / upp
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if s["sharpen"] > 0:
        img = cv2.addWeighted(
            img, 1 + s["sharpen"], cv2.GaussianBlur(img, (0, 0), max(1.0, 1.5 * sigma)), -s["sharpen"], 0
        )
    img += rng.standard_normal((h, w, 1), dtype=np.float32) * s["noise_sd"]
    if s["chroma_noise"] > 0.05:
        img += rng.standard_normal((h, w, 3), dtype=np.float32) * (s["noise_sd"] * s["chroma_noise"])
    out = np.clip(img, 0, 255).astype(np.uint8)
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** s["gamma"] + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(out, lut)


def synthesize_scalp(
    seed: int = 0,
    *,
    shape: tuple[int, int] = (1024, 1280),
    um_per_px: float = 2.76,
    style: dict[str, Any] | None = None,
) -> SyntheticScalp:
    """Render one synthetic trichoscopy image of a scalp with exact ground truth per hair.

    Parameters
    ----------
    seed : int
        Seed of everything (scene, device, noise); the same seed gives the same image.
    shape : (int, int)
        Image height and width in pixels.
    um_per_px : float
        Pixel size on the scalp (0.5-50 um).
    style : dict, optional
        Fix some of the per-image random choices, e.g. ``{"hair_colour": "grey", "fitzpatrick": 2,
        "overlays": {...}}``; see ``synthesize_scalp(0).style`` for every key.

    Returns
    -------
    SyntheticScalp
        ``image`` (H, W, 3) uint8 RGB, ``hairs`` (every hair with any part in view, :class:`ScalpHair`),
        ``overlay_mask`` (uint8, 1 where a device overlay was burned in) and ``style``.

    Raises
    ------
    InputError
        Bad shape, scale or style key.
    """
    h, w = int(shape[0]), int(shape[1])
    if h < 32 or w < 32 or h * w > 30_000_000:
        raise InputError.invalid("shape", shape, "(height, width) with both >= 32 and at most 30 megapixels")
    if not (np.isfinite(um_per_px) and 0.5 <= um_per_px <= 50):
        raise InputError.invalid("um_per_px", um_per_px, "a number in [0.5, 50]")
    rng = np.random.default_rng(seed)
    s = _sample_style(rng, dict(style or {}))
    upp = float(um_per_px)
    scene = _layout(rng, s, w * upp, h * upp)
    img = _render_skin(rng, s, (h, w), upp)
    lines = _render_hairs(rng, s, img, scene, upp)
    out = _optics(rng, s, img, upp)
    opaque, ov_mask = _overlays(rng, s, out)
    if s["jpeg_quality"] is not None:
        _ok, buf = cv2.imencode(
            ".jpg", np.ascontiguousarray(out[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, s["jpeg_quality"]]
        )
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    hairs = [t for t in (_truth(hr, pts, opaque, upp) for hr, pts in zip(scene, lines, strict=True)) if t]
    return SyntheticScalp(
        image=np.ascontiguousarray(out), um_per_px=upp, hairs=hairs, overlay_mask=ov_mask, style=s
    )


def _truth(hr: _Hair, pts: np.ndarray, opaque: np.ndarray, upp: float) -> ScalpHair | None:
    """Visible part of one hair: the longest run of its densely resampled centre line in view."""
    h, w = opaque.shape
    seg = np.hypot(*np.diff(pts, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(8, int(arc[-1] / 0.5) + 1)
    a = np.linspace(0.0, arc[-1], n)
    dense = np.stack([np.interp(a, arc, pts[:, 0]), np.interp(a, arc, pts[:, 1])], axis=1)
    xi, yi = np.floor(dense[:, 0]).astype(int), np.floor(dense[:, 1]).astype(int)
    inside = (dense[:, 0] >= 0) & (dense[:, 0] < w) & (dense[:, 1] >= 0) & (dense[:, 1] < h)
    vis = inside.copy()
    vis[inside] = opaque[yi[inside], xi[inside]] == 0
    if not vis.any():
        return None
    edges = np.diff(np.concatenate([[0], vis.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1
    k = int(np.argmax(a[ends] - a[starts]))
    i0, i1 = int(starts[k]), int(ends[k])
    vis_len_px = float(a[i1] - a[i0])
    mid = np.array([np.interp(0.5 * (a[i0] + a[i1]), a, dense[:, j]) for j in range(2)])
    return ScalpHair(
        polyline_px=pts.astype(np.float64),
        diameter_um=float(hr.diameter_um),
        hair_class=hr.hair_class,
        length_um=float(arc[-1] * upp),
        unit=int(hr.unit),
        visible_length_um=vis_len_px * upp,
        visible_mid_px=mid,
        visible_ends_px=np.stack([dense[i0], dense[i1]]),
        cut=bool(not vis.all()),
        exit_inside=bool(vis[0]),
        colour=hr.colour,
    )


def contact_sheet(
    seeds: list[int] | range = range(12),
    *,
    columns: int = 4,
    tile_px: tuple[int, int] = (256, 320),
    path: str | None = None,
    show_truth: bool = True,
) -> np.ndarray:
    """A grid of synthetic images (1280 x 1024 at 2.76 um/px, shrunk) with each hair's ground truth drawn.

    Counted hairs are marked with a green line over the visible part; hairs cut by the frame or an
    overlay are orange.

    Returns
    -------
    numpy.ndarray
        The sheet (uint8 RGB); also written to ``path`` (PNG or JPEG by suffix) when given.
    """
    th, tw = tile_px
    tiles = []
    for sd in seeds:
        sc = synthesize_scalp(int(sd))
        tile = cv2.resize(sc.image, (tw, th), interpolation=cv2.INTER_AREA)
        f = np.array([tw / sc.image.shape[1], th / sc.image.shape[0]])
        if show_truth:
            for hr in sc.counted():
                e = hr.visible_ends_px * f
                col = (255, 150, 0) if hr.cut else (0, 230, 0)
                cv2.line(
                    tile,
                    tuple(np.round(e[0]).astype(int)),
                    tuple(np.round(e[1]).astype(int)),
                    col,
                    1,
                    cv2.LINE_AA,
                )
        cv2.putText(
            tile,
            f"seed {sd}: {sc.hair_count()} hairs",
            (4, th - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    if path is not None:
        cv2.imwrite(str(path), np.ascontiguousarray(sheet[..., ::-1]))
    return sheet
