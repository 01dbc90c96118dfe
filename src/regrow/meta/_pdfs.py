"""Exact sampling densities of some effect size measures (metafor's internal ``.dsmd``, ``.dcor``, ``.dzcor``).

* standardized mean difference (Hedges' g or Cohen's d) of two groups of sizes n1, n2 with true effect
  theta: a scaled noncentral t with ``n1 + n2 - 2`` df and noncentrality ``sqrt(n1 n2 / (n1 + n2)) theta``
  (Hedges 1981, doi:10.3102/10769986006002107);
* Pearson's r in a sample of n from a bivariate normal with correlation rho (Hotelling 1953,
  doi:10.1111/j.2517-6161.1953.tb00135.x, eq. 24), with the Gauss hypergeometric function 2F1;
* Fisher's z of that r (the same density after the change of variable ``r = tanh z``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["density_cor", "density_smd", "density_zcor"]


def _cm(m):
    """Hedges' small-sample correction ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``."""
    from scipy.special import gammaln

    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            m <= 1, np.nan, np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
        )


def density_smd(x, n1, n2, theta, *, correct: bool = True):
    """Density of the standardized mean difference at ``x``.

    Parameters
    ----------
    x : float or array-like
        Values of the bias-corrected (``correct=True``, Hedges' g) or uncorrected (Cohen's d) SMD.
    n1, n2 : float or array-like
        Group sizes.
    theta : float or array-like
        True standardized mean difference.
    correct : bool, default True

    Returns
    -------
    numpy.ndarray or float
    """
    from scipy.stats import nct

    nt = np.asarray(n1, float) * np.asarray(n2, float) / (np.asarray(n1, float) + np.asarray(n2, float))
    m = np.asarray(n1, float) + np.asarray(n2, float) - 2
    cm = _cm(m) if correct else 1.0
    x = np.asarray(x, dtype=float)
    out = nct.pdf(x * np.sqrt(nt) / cm, df=m, nc=np.sqrt(nt) * np.asarray(theta, float)) * np.sqrt(nt) / cm
    return out[()] if np.ndim(out) == 0 else out


def _log_core(r, n, rho):
    from scipy.special import gammaln

    return (
        np.log(n - 2)
        + gammaln(n - 1)
        + (n - 1) / 2 * np.log(1 - rho**2)
        + (n - 4) / 2 * np.log(1 - r**2)
        - 0.5 * np.log(2 * np.pi)
        - gammaln(n - 0.5)
        - (n - 1.5) * np.log(1 - rho * r)
    )


def _f21(r, n, rho):
    from scipy.special import hyp2f1

    return hyp2f1(0.5, 0.5, n - 0.5, (rho * r + 1) / 2)


def density_cor(x, n, rho):
    """Density of Pearson's correlation ``x`` in a sample of ``n`` (> 4) with true correlation ``rho``.

    Parameters
    ----------
    x : float or array-like
        Values in [-1, 1] (NaN outside).
    n : float or array-like
        Sample size; NaN for n <= 4.
    rho : float or array-like

    Returns
    -------
    numpy.ndarray or float
    """
    r = np.asarray(x, dtype=float)
    r = np.where((r < -1) | (r > 1), np.nan, r)
    n = np.asarray(n, dtype=float)
    n = np.where(n <= 4, np.nan, n)
    rho = np.asarray(rho, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(_log_core(r, n, rho)) * _f21(r, n, rho)
    out = np.where(np.abs(r) == 1, 0.0, out)
    return out[()] if np.ndim(out) == 0 else out


def density_zcor(x, n, rho=None, *, zrho=None):
    """Density of Fisher's z-transformed correlation ``x`` in a sample of ``n`` (> 4).

    Parameters
    ----------
    x : float or array-like
        Values of ``atanh(r)``.
    n : float or array-like
    rho : float or array-like, optional
        True correlation; or give ``zrho``, its Fisher z.
    zrho : float or array-like, optional

    Returns
    -------
    numpy.ndarray or float

    Raises
    ------
    InputError
        When neither ``rho`` nor ``zrho`` is given.
    """
    from regrow.errors import InputError

    if rho is None:
        if zrho is None:
            raise InputError("Give rho or zrho, the true correlation.", field="rho")
        rho = np.tanh(np.asarray(zrho, dtype=float))
    z = np.asarray(x, dtype=float)
    r = np.tanh(z)
    n = np.asarray(n, dtype=float)
    n = np.where(n <= 4, np.nan, n)
    rho = np.asarray(rho, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.log(4) + 2 * z - 2 * np.log(np.exp(2 * z) + 1)
        out = np.exp(_log_core(r, n, rho) + jac) * _f21(r, n, rho)
    out = np.where(np.abs(r) == 1, 0.0, out)
    return out[()] if np.ndim(out) == 0 else out
