"""Which measurements the model uses, and how much each image counts.

- A measurement flagged for review (a possible but unusual value) waits for the person: it is listed in the
  report and left out until they accept it. An accepted one is used like any other.
- A photo has one count (the journal's precedence: corrected > manual > automatic). Should two measurements
  name the same photo, only the one with the highest-precedence count (then the newest) is used: a count is
  never averaged with a correction of itself.
- An automatic count with a standard error (``count_se``) counts for less when that error is large, by
  inverse-variance weighting (:func:`image_weights`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from regrow.progress._types import COUNT_SOURCES, CountedLess, ExcludedMeasurement, Observation

__all__ = ["COUNTED_LESS_BELOW", "counted_less", "image_weights", "split_usable"]

#: An image is reported as "counted less" when its weight is below this share of the site's best image.
#: A display threshold (rounding: 0.99 reads as full weight), not a modelling constant.
COUNTED_LESS_BELOW = 0.99


def _precedence(o: Observation) -> tuple[int, int]:
    rank = COUNT_SOURCES.index(o.count_source) if o.count_source in COUNT_SOURCES else len(COUNT_SOURCES)
    return (-rank, o.measurement_id if o.measurement_id is not None else -1)


def split_usable(
    observations: Iterable[Observation],
) -> tuple[list[Observation], list[ExcludedMeasurement]]:
    """Split measurements into the ones analysed and the ones left out (with the reason for each).

    Returns
    -------
    (list of Observation, list of ExcludedMeasurement)
        The usable observations in their given order, and the excluded ones ordered by date and site.
    """
    excluded: list[ExcludedMeasurement] = []
    usable: list[Observation] = []
    for o in observations:
        if o.flagged:
            why = (o.review_reason or "an unusual value").strip().rstrip(".")
            excluded.append(
                ExcludedMeasurement(
                    o.measured_on,
                    o.site,
                    "flagged",
                    f"{o.measured_on.isoformat()} {o.site}, {why}: waiting for your review",
                    o.measurement_id,
                )
            )
        else:
            usable.append(o)
    by_photo: dict[int, list[Observation]] = {}
    for o in usable:
        if o.photo_id is not None:
            by_photo.setdefault(o.photo_id, []).append(o)
    dropped: set[int] = set()
    for photo_id, group in by_photo.items():
        if len(group) < 2:
            continue
        keep = max(group, key=_precedence)
        for o in group:
            if o is keep:
                continue
            dropped.add(id(o))
            which = f"measurement {keep.measurement_id}" if keep.measurement_id is not None else "another"
            source = f"{keep.count_source} " if keep.count_source else ""
            excluded.append(
                ExcludedMeasurement(
                    o.measured_on,
                    o.site,
                    "same_photo",
                    f"{o.measured_on.isoformat()} {o.site}, a second count of photo {photo_id}: the "
                    f"{source}count of {which} is used instead (one count per photo, never an average)",
                    o.measurement_id,
                )
            )
    usable = [o for o in usable if id(o) not in dropped]
    excluded.sort(key=lambda e: (e.measured_on, e.site, e.measurement_id or 0))
    return usable, excluded


def image_weights(se: np.ndarray, prior_var: float) -> np.ndarray:
    """Relative weights of images whose automatic count has a standard error.

    An image's measurement variance is the model's per-image variance plus its own counting variance; with
    the published repeatability as the reference per-image variance ``v0`` (``prior_var``), the weight is

    ``w = v0 / (v0 + se^2)``

    and the model's noise scale (estimated from the data) multiplies ``1 / w``. So the weights are exact
    inverse variances when the noise equals the published repeatability, and keep their ratios when the data
    show more or less noise. Images without a standard error (hand counts, corrected counts) weigh 1.

    Parameters
    ----------
    se : ndarray, shape (n,)
        Each image's standard error in the units of the analysed values (NaN: none).
    prior_var : float
        ``v0``, the prior per-image variance in the same squared units (> 0).

    Returns
    -------
    ndarray, shape (n,)
        Weights in (0, 1].
    """
    se = np.asarray(se, dtype=float)
    extra = np.where(np.isfinite(se), se**2, 0.0)
    v0 = max(float(prior_var), np.finfo(float).tiny)
    return v0 / (v0 + extra)


def counted_less(site: str, images: Sequence[Observation], weights: np.ndarray) -> list[CountedLess]:
    """The images of one site that counted for less than its best image, each with its reason."""
    if not len(images):
        return []
    best = float(np.max(weights))
    out = []
    for o, w in zip(images, weights, strict=True):
        relative = float(w) / best
        if relative >= COUNTED_LESS_BELOW:
            continue
        se = o.count_se if o.count_se is not None else 0.0
        count = f"count {o.count} +/- {1.96 * se:.1f} (95%)" if o.count is not None else "its count"
        message = (
            f"{o.measured_on.isoformat()} {o.site}: {count} is uncertain (standard error {se:.1f} hairs, "
            f"from the automatic counter), so it counted {100 * relative:.0f}% as much as the most certain "
            "image of this site"
        )
        out.append(CountedLess(o.measured_on, site, relative, o.count, o.count_se, message, o.measurement_id))
    return out
