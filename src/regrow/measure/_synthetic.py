"""Synthetic trichoscopy images of clipped scalp hair with exact ground truth.

A *site* (follicular units with 1-3 hairs, each hair a straight clipped rod with a known diameter,
length and direction, plus its shaded under-skin part) is laid out in micrometres, then *rendered*
through a camera: optional rigid motion (the same site photographed twice), skin colour and texture,
uneven light, lens blur, sensor noise, JPEG, and burned-in device overlays. Pixel coverage of every shaft
is computed analytically, so a hair's full width at half maximum is its true diameter.

Ground truth per hair: exit point and tip (pixels), diameter and length (um), unit id, and whether it
counts (exit point inside the field and not under an overlay), following the generator outline in
research/hair-imaging-notes.md section 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from regrow.errors import InputError

__all__ = ["HAIR_COLOURS", "SKIN_COLOURS", "SyntheticHair", "SyntheticImage", "synthesize"]

#: RGB colours (0-255). Grey hair on light skin and black hair on dark skin are the hard contrast cases.
HAIR_COLOURS = {
    "black": (24, 22, 26),
    "dark_brown": (55, 38, 30),
    "brown": (100, 66, 44),
    "grey": (168, 166, 170),
    "blond": (196, 164, 112),
}
SKIN_COLOURS = {
    "light": (200, 184, 184),
    "medium": (186, 146, 120),
    "dark": (98, 68, 54),
}


@dataclass(frozen=True)
class SyntheticHair:
    """Ground truth of one synthetic hair (pixel coordinates of the rendered image)."""

    exit_x_px: float
    exit_y_px: float
    tip_x_px: float
    tip_y_px: float
    diameter_um: float
    length_um: float
    unit: int
    vellus: bool
    counted: bool


@dataclass
class SyntheticImage:
    """A rendered synthetic image and its exact ground truth."""

    image: np.ndarray
    um_per_px: float
    hairs: list[SyntheticHair] = field(default_factory=list)

    @property
    def hair_count(self) -> int:
        """Hairs whose exit point is inside the field (the detector's ``count_edge_rule="exit"``)."""
        return sum(h.counted for h in self.hairs)

    @property
    def area_cm2(self) -> float:
        h, w = self.image.shape[:2]
        return h * w * self.um_per_px**2 * 1e-8

    @property
    def density_per_cm2(self) -> float:
        return self.hair_count / self.area_cm2

    def unit_histogram(self) -> dict[str, int]:
        """Counts of 1-, 2-, 3- and 4+-hair units among counted hairs."""
        sizes: dict[int, int] = {}
        for h in self.hairs:
            if h.counted:
                sizes[h.unit] = sizes.get(h.unit, 0) + 1
        hist = {"1": 0, "2": 0, "3": 0, "4+": 0}
        for s in sizes.values():
            hist[str(s) if s < 4 else "4+"] += 1
        return hist


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    small = (max(2, int(shape[0] / sigma) + 2), max(2, int(shape[1] / sigma) + 2))
    f = rng.standard_normal(small).astype(np.float32)
    f = cv2.resize(f, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return f / max(float(f.std()), 1e-6)


def _rod_alpha(
    shape: tuple[int, int], p0: np.ndarray, p1: np.ndarray, radius: float
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Analytic pixel coverage of a rod (rectangle) from p0 to p1 with half-width ``radius`` (pixels)."""
    h, w = shape
    lo = np.floor(np.minimum(p0, p1) - radius - 2).astype(int)
    hi = np.ceil(np.maximum(p0, p1) + radius + 2).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    if x1 <= x0 or y1 <= y0:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = p1 - p0
    length = float(np.hypot(*d))
    u = d / max(length, 1e-9)
    px, py = xx + 0.5 - p0[0], yy + 0.5 - p0[1]  # pixel centres
    t = px * u[0] + py * u[1]
    s = -px * u[1] + py * u[0]
    across = np.clip(radius - np.abs(s) + 0.5, 0.0, 1.0)
    along = np.clip(np.minimum(t, length - t) + 0.5, 0.0, 1.0)
    return (slice(y0, y1), slice(x0, x1)), across * along


def synthesize(
    *,
    shape: tuple[int, int] = (1024, 1280),
    um_per_px: float = 2.76,
    unit_density_per_cm2: float = 75.0,
    hairs_per_unit_p: tuple[float, ...] = (0.45, 0.4, 0.15),
    vellus_fraction: float = 0.15,
    terminal_diameter_um: tuple[float, float] = (60.0, 100.0),
    vellus_diameter_um: tuple[float, float] = (20.0, 35.0),
    length_um: tuple[float, float] = (300.0, 900.0),
    direction_deg: float | None = None,
    hair_colour: str = "black",
    skin: str = "light",
    blur_px: float = 1.0,
    noise_sd: float = 3.0,
    uneven_light: float = 0.2,
    jpeg_quality: int | None = None,
    overlays: bool = False,
    shift_px: tuple[float, float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
    light_seed: int | None = None,
    seed: int = 0,
) -> SyntheticImage:
    """Render one synthetic trichoscopy image of clipped hair with exact ground truth.

    Parameters
    ----------
    shape : (int, int)
        Image height and width in pixels.
    um_per_px : float
        Pixel size on the scalp.
    unit_density_per_cm2 : float
        Follicular units per cm2 (Poisson, with a minimum spacing of 0.5 mm between units).
    hairs_per_unit_p : tuple of float
        Probabilities of 1, 2, 3, ... hairs per unit (normalised).
    vellus_fraction : float
        Probability that a hair is vellus (diameter drawn from ``vellus_diameter_um``).
    terminal_diameter_um, vellus_diameter_um, length_um : (float, float)
        Uniform ranges of diameters and visible clipped lengths.
    direction_deg : float, optional
        Common growth direction in the image (random when None); each unit deviates by up to 12 degrees
        and each hair by up to 8 more.
    hair_colour : str
        One of :data:`HAIR_COLOURS`.
    skin : str
        One of :data:`SKIN_COLOURS`.
    blur_px : float
        Gaussian lens blur sigma in pixels.
    noise_sd : float
        Gaussian sensor noise (grey levels).
    uneven_light : float
        Amplitude of the smooth illumination field (0 = even light).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.
    overlays : bool
        Burn in a device banner (grey text boxes along the top) and a red measurement circle.
    shift_px, rotation_deg : optional rigid motion of the site (same hairs photographed again).
    light_seed : int, optional
        Seed of lighting, texture and noise; defaults to ``seed`` (use another value to "relight").
    seed : int
        Seed of the site layout (units, hairs).

    Returns
    -------
    SyntheticImage
        ``image`` (H, W, 3) uint8 RGB and the list of :class:`SyntheticHair`.

    Raises
    ------
    InputError
        Unknown colour names or out-of-range numbers.
    """
    if hair_colour not in HAIR_COLOURS:
        raise InputError.invalid("hair_colour", hair_colour, ", ".join(HAIR_COLOURS))
    if skin not in SKIN_COLOURS:
        raise InputError.invalid("skin", skin, ", ".join(SKIN_COLOURS))
    h, w = (int(shape[0]), int(shape[1]))
    if h < 32 or w < 32:
        raise InputError.invalid("shape", shape, "at least (32, 32)")
    if not 0.1 <= um_per_px <= 100:
        raise InputError.invalid("um_per_px", um_per_px, "a number in [0.1, 100]")
    if not 0 <= unit_density_per_cm2 <= 2000:
        raise InputError.invalid("unit_density_per_cm2", unit_density_per_cm2, "a number in [0, 2000]")
    p = np.asarray(hairs_per_unit_p, float)
    if p.ndim != 1 or p.size == 0 or np.any(p < 0) or p.sum() <= 0:
        raise InputError.invalid("hairs_per_unit_p", hairs_per_unit_p, "non-negative probabilities")
    p = p / p.sum()
    rng = np.random.default_rng(seed)
    lrng = np.random.default_rng(seed if light_seed is None else light_seed + 1_000_003)
    # --- site layout in um, centred on the frame centre; margin so hairs may enter from outside
    margin_um = length_um[1] + 200.0
    half_w, half_h = w * um_per_px / 2 + margin_um, h * um_per_px / 2 + margin_um
    area_cm2 = (2 * half_w) * (2 * half_h) * 1e-8
    n_units = int(rng.poisson(unit_density_per_cm2 * area_cm2))
    centres: list[np.ndarray] = []
    for _ in range(n_units * 20):
        if len(centres) >= n_units:
            break
        c = np.array([rng.uniform(-half_w, half_w), rng.uniform(-half_h, half_h)])
        if all(np.hypot(*(c - o)) >= 500.0 for o in centres):
            centres.append(c)
    base = np.radians(rng.uniform(0, 360) if direction_deg is None else direction_deg)
    site = []  # (exit_um, dir_rad, length_um, diameter_um, unit, vellus)
    for ui, c in enumerate(centres):
        k = int(rng.choice(np.arange(1, p.size + 1), p=p))
        udir = base + np.radians(rng.uniform(-12, 12))
        # hairs of one unit leave one opening side by side (touching stubs), fanning out slightly
        dias = []
        for _ in range(k):
            vel = bool(rng.random() < vellus_fraction)
            dias.append((rng.uniform(*(vellus_diameter_um if vel else terminal_diameter_um)), vel))
        along = np.array([np.cos(udir), np.sin(udir)])
        across = np.array([-along[1], along[0]])
        offset = -0.5 * sum(d for d, _ in dias)
        for j, (dia, vel) in enumerate(dias):
            gap = rng.uniform(8.0, 25.0) if j else 0.0
            offset += gap
            ex = c + across * (offset + dia / 2) + along * rng.uniform(-30, 30)
            offset += dia
            spread = (j - (k - 1) / 2) * rng.uniform(2.0, 6.0)
            site.append((ex, udir + np.radians(spread), rng.uniform(*length_um), dia, ui, vel))
    # --- camera: rigid motion of the site
    rot = np.radians(rotation_deg)
    R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    centre_px = np.array([w / 2.0, h / 2.0])
    shift = np.asarray(shift_px, float)

    def to_px(p_um: np.ndarray) -> np.ndarray:
        return R @ (p_um / um_per_px) + centre_px + shift

    # --- skin
    skin_rgb = np.array(SKIN_COLOURS[skin], np.float32)
    tex = (
        1.0
        + 0.04 * _smooth_field(lrng, (h, w), 60.0 / um_per_px * 2.76)
        + 0.02 * _smooth_field(lrng, (h, w), 6.0)
    )
    img = skin_rgb[None, None, :] * tex[..., None]
    # under-skin shading (blue-grey) behind each exit point, drawn first and blurred
    shade = np.zeros((h, w), np.float32)
    for ex, ang, _, dia, _, _ in site:
        d = np.array([np.cos(ang), np.sin(ang)])
        a, b = to_px(ex), to_px(ex - d * 350.0)
        cv = _rod_alpha((h, w), a, b, 0.8 * dia / um_per_px)
        if cv is not None:
            sl, al = cv
            shade[sl] = np.maximum(shade[sl], al)
    shade = cv2.GaussianBlur(shade, (0, 0), max(1.0, 25.0 / um_per_px))
    shade_rgb = np.array([120, 130, 170], np.float32) * (skin_rgb.mean() / 200.0)
    img = img * (1 - 0.45 * shade[..., None]) + shade_rgb * 0.45 * shade[..., None]
    # shafts
    hair_rgb = np.array(HAIR_COLOURS[hair_colour], np.float32)
    hairs: list[SyntheticHair] = []
    for ex, ang, ln, dia, ui, vel in site:
        d = np.array([np.cos(ang), np.sin(ang)])
        p0, p1 = to_px(ex), to_px(ex + d * ln)
        cv = _rod_alpha((h, w), p0, p1, dia / um_per_px / 2.0)
        if cv is not None:
            sl, al = cv
            opacity = 0.97 if not vel else 0.9
            img[sl] = img[sl] * (1 - opacity * al[..., None]) + hair_rgb * opacity * al[..., None]
        inside = 0 <= p0[0] < w and 0 <= p0[1] < h
        hairs.append(
            SyntheticHair(
                exit_x_px=float(p0[0]),
                exit_y_px=float(p0[1]),
                tip_x_px=float(p1[0]),
                tip_y_px=float(p1[1]),
                diameter_um=float(dia),
                length_um=float(ln),
                unit=int(ui),
                vellus=vel,
                counted=bool(inside),
            )
        )
    # light, blur, noise
    light = 1.0 + uneven_light * np.clip(_smooth_field(lrng, (h, w), max(h, w) / 2.0), -2, 2) / 2.0
    img = img * light[..., None]
    if blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_px)
    img = img + lrng.normal(0.0, noise_sd, img.shape).astype(np.float32)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if overlays:
        bh = max(12, h // 32)
        x = 4
        for bw in (w // 12, w // 7, w // 5, w // 9):
            cv2.rectangle(out, (x, 2), (x + bw, 2 + bh), (80, 80, 80), -1)
            cv2.putText(out, "A12 70x", (x + 3, 2 + bh - 3), 0, bh / 30.0, (255, 255, 255), 1, cv2.LINE_AA)
            x += bw + 6
        cv2.circle(out, (int(w * 0.3), int(h * 1.1)), int(0.8 * h), (230, 30, 30), 1, cv2.LINE_AA)
        hairs = [
            SyntheticHair(**{**hr.__dict__, "counted": hr.counted and hr.exit_y_px > 2 + bh + 3})
            for hr in hairs
        ]
    if jpeg_quality is not None:
        _ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return SyntheticImage(image=np.ascontiguousarray(out), um_per_px=float(um_per_px), hairs=hairs)
