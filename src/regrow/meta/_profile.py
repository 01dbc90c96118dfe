"""Profile-likelihood confidence intervals for tau^2 (``confint(res, type = "PL")``)."""

from __future__ import annotations

import numpy as np

from regrow.errors import InputError
from regrow.meta._dist import chi2_ppf
from regrow.meta._linalg import wls
from regrow.meta._rma import RMAResult, TauConfint, tau_intervals
from regrow.meta._roots import brentq
from regrow.meta._tau2 import _root_decreasing

__all__ = ["confint_profile", "loglik_tau2"]


def loglik_tau2(res: RMAResult, tau2: float, *, reml: bool) -> float:
    """(Restricted) log-likelihood of the model at ``tau2`` with the coefficients profiled out."""
    yi, vi, X = res.yi, res.vi, res.X
    k, p = X.shape
    fit = wls(yi, X, 1.0 / (vi + tau2))
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * fit.rss
    if not reml:
        return float(ll - 0.5 * k * np.log(2 * np.pi))
    _, logdet_xx = np.linalg.slogdet(X.T @ X)
    return float(ll - 0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * logdet_xx - 0.5 * fit.logdet_xwx())


def confint_profile(res: RMAResult) -> TauConfint:
    """Profile-likelihood interval for tau^2 of an ML or REML fit, with tau, I^2 and H^2 bounds.

    The bounds solve ``2 (ll(tau2_hat) - ll(tau2)) = chi2_{1, level}`` on each side of the estimate
    (Hardy & Thompson 1996, doi:10.1002/(SICI)1097-0258(19960315)15:6<619::AID-SIM188>3.0.CO;2-A).

    Parameters
    ----------
    res : RMAResult
        An ML or REML fit.

    Returns
    -------
    TauConfint
        Bounds for tau^2, tau, I^2 and H^2.

    Raises
    ------
    InputError
        When the model was not fitted by ML or REML.
    """
    if res.method not in ("ML", "REML"):
        raise InputError.invalid("method", res.method, "ML or REML for a profile-likelihood interval")
    reml = res.method == "REML"
    ll_hat = loglik_tau2(res, res.tau2, reml=reml)
    target = ll_hat - chi2_ppf(1 - res.alpha, 1) / 2.0
    control = res.control

    def drop(t: float) -> float:  # decreasing in t on the upper side
        return loglik_tau2(res, res.tau2 + t, reml=reml)

    ub = res.tau2 + _root_decreasing(
        drop, target, tol=control.tol, maxiter=control.maxiter, what="profile-likelihood upper bound"
    )
    if loglik_tau2(res, 0.0, reml=reml) >= target:
        lb = 0.0
    else:
        # ll rises from below the target at 0 to its maximum at the estimate: one crossing in between.
        lb = float(
            brentq(
                lambda t: loglik_tau2(res, t, reml=reml) - target,
                0.0,
                res.tau2,
                xtol=control.tol,
                rtol=4 * np.finfo(float).eps,
                maxiter=control.maxiter,
            )
        )
    return tau_intervals(res, lb, ub)
