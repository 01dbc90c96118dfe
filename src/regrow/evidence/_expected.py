"""What the trials lead a person to expect: the review's pooled add-on effect, for the progress model."""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["EXPECTED_COMPARISON", "expected_density_change"]

#: The comparison that matches a person micro-needling alongside minoxidil (the commonest home programme).
EXPECTED_COMPARISON = "mn_mx_vs_mx_density"


@cache
def _pooled() -> dict[str, Any] | None:
    from regrow.evidence._review import review_comparison
    from regrow.evidence._trials import load_data

    result = review_comparison(load_data(), EXPECTED_COMPARISON)
    pooled = result.pooled
    if pooled is None:
        return None
    durations = [e.moderators.get("duration_weeks") for e in result.effects]
    weeks = max((float(w) for w in durations if w is not None), default=12.0)
    certainty = getattr(result.certainty, "label", None) or "not graded"
    imputed = len(result.imputed_studies)
    return {
        "change_per_cm2": float(pooled.estimate),
        "ci_lb": float(pooled.ci_lb),
        "ci_ub": float(pooled.ci_ub),
        "weeks": weeks,
        "certainty": certainty,
        "imputed_studies": imputed,
        "source": (
            f"regrow evidence review: micro-needling + minoxidil vs minoxidil alone, extra change in hair "
            f"density over minoxidil alone (k = {pooled.k}, certainty {certainty}"
            + (f", {imputed} of {pooled.k} studies with imputed SDs or sample sizes" if imputed else "")
            + ")"
        ),
    }


def expected_density_change(*, weeks: float | None = None) -> dict[str, Any] | None:
    """The trial-expected extra change in hair density (hairs/cm2) from adding micro-needling to minoxidil.

    Parameters
    ----------
    weeks : float, optional
        Weeks since the start of treatment; before 12 weeks (the trials' earliest endpoint) there is no
        trial expectation and None is returned.

    Returns
    -------
    dict or None
        ``change_per_cm2``, ``ci_lb``, ``ci_ub`` (95%), ``weeks`` (the trials' endpoint), ``certainty``,
        ``imputed_studies`` and ``source``; None when the review cannot pool the comparison.
    """
    # The trials measured at 12 weeks or later (bundled evidence, ``time_weeks``); earlier is not comparable.
    if weeks is not None and weeks < 12:
        return None
    pooled = _pooled()
    return None if pooled is None else dict(pooled)
