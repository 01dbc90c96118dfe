"""The tetrachoric correlation of a 2x2 table by maximum likelihood (metafor's ``.rtet``), with the
bivariate normal distribution function of Genz (2004).

References
----------
Genz A (2004). Numerical computation of rectangular bivariate and trivariate normal and t probabilities.
    Stat Comput 14:251-260. doi:10.1023/B:STCO.0000035304.20635.31
Kirk DB (1973). On the numerical approximation of the bivariate normal (tetrachoric) correlation
    coefficient. Psychometrika 38:259-268. doi:10.1007/BF02291118
"""

from __future__ import annotations

import math

import numpy as np

from regrow.meta._dist import norm_ppf

__all__ = ["bvn_upper", "tetrachoric"]

_W = {
    3: (0.1713244923791705, 0.3607615730481384, 0.4679139345726904),
    6: (0.04717533638651177, 0.1069393259953183, 0.1600783285433464, 0.2031674267230659, 0.2334925365383547,
        0.2491470458134029),
    10: (0.01761400713915212, 0.04060142980038694, 0.06267204833410906, 0.08327674157670475,
         0.1019301198172404, 0.1181945319615184, 0.1316886384491766, 0.1420961093183821, 0.1491729864726037,
         0.1527533871307259),
}  # fmt: skip
_X = {
    3: (0.9324695142031522, 0.6612093864662647, 0.2386191860831970),
    6: (0.9815606342467191, 0.9041172563704750, 0.7699026741943050, 0.5873179542866171, 0.3678314989981802,
        0.1252334085114692),
    10: (0.9931285991850949, 0.9639719272779138, 0.9122344282513259, 0.8391169718222188, 0.7463319064601508,
         0.6360536807265150, 0.5108670019508271, 0.3737060887154196, 0.2277858511416451, 0.07652652113349733),
}  # fmt: skip


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def bvn_upper(h: float, k: float, r: float) -> float:
    """``P(X > h, Y > k)`` for a standard bivariate normal with correlation ``r`` (Genz's BVNU, ~1e-15)."""
    if math.isinf(h) or math.isinf(k):
        if h == -math.inf:
            return _phi(-k)
        if k == -math.inf:
            return _phi(-h)
        return 0.0
    lg = 3 if abs(r) < 0.3 else (6 if abs(r) < 0.75 else 10)
    w, x = _W[lg], _X[lg]
    hk = h * k
    bvn = 0.0
    if abs(r) < 0.925:
        hs = (h * h + k * k) / 2
        asr = math.asin(r) / 2
        for wi, xi in zip(w, x, strict=True):
            for sign in (1.0, -1.0):
                sn = math.sin(asr * (1 + sign * xi))
                bvn += wi * math.exp((sn * hk - hs) / (1 - sn * sn))
        return bvn * asr / (2 * math.pi) + _phi(-h) * _phi(-k)
    if r < 0:
        k, hk = -k, -hk
    if abs(r) < 1:
        as_ = (1 - r) * (1 + r)
        a = math.sqrt(as_)
        bs = (h - k) ** 2
        c = (4 - hk) / 8
        d = (12 - hk) / 16
        bvn = (
            a
            * math.exp(-(bs / as_ + hk) / 2)
            * (1 - c * (bs - as_) * (1 - d * bs / 5) / 3 + c * d * as_ * as_ / 5)
        )
        if hk > -160:
            b = math.sqrt(bs)
            bvn -= (
                math.exp(-hk / 2)
                * math.sqrt(2 * math.pi)
                * _phi(-b / a)
                * b
                * (1 - c * bs * (1 - d * bs / 5) / 3)
            )
        a /= 2
        for wi, xi in zip(w, x, strict=True):
            for sign in (1.0, -1.0):
                xs = (a * (sign * xi + 1)) ** 2
                rs = math.sqrt(1 - xs)
                bvn += (
                    a
                    * wi
                    * (
                        math.exp(-bs / (2 * xs) - hk / (1 + rs)) / rs
                        - math.exp(-(bs / xs + hk) / 2) * (1 + c * xs * (1 + d * xs))
                    )
                )
        bvn = -bvn / (2 * math.pi)
    if r > 0:
        return bvn + _phi(-max(h, k))
    if h >= k:
        return -bvn
    lower = _phi(k) - _phi(h) if h < 0 else _phi(-h) - _phi(-k)
    return lower - bvn


def _cell_probs(rho: float, cut_row: float, cut_col: float) -> tuple[float, float, float, float]:
    """Probabilities of the four cells: ai = X low & Y low, bi = X high & Y low, ci, di (metafor's layout)."""
    p_di = bvn_upper(cut_col, cut_row, rho)
    p_x_lo, p_y_lo = _phi(cut_col), _phi(cut_row)
    p_bi = (1 - p_x_lo) - p_di
    p_ci = (1 - p_y_lo) - p_di
    p_ai = 1 - p_bi - p_ci - p_di
    return p_ai, p_bi, p_ci, p_di


def _negloglik(par, ai, bi, ci, di, maxcor, fixcut=None) -> float:
    rho = float(par[0])
    if abs(rho) > maxcor:
        rho = math.copysign(maxcor, rho)
    cut_row, cut_col = fixcut if fixcut is not None else (float(par[1]), float(par[2]))
    probs = _cell_probs(rho, cut_row, cut_col)
    if min(probs) <= 0:
        return math.inf
    return -(
        ai * math.log(probs[0]) + bi * math.log(probs[1]) + ci * math.log(probs[2]) + di * math.log(probs[3])
    )


def tetrachoric(ai: float, bi: float, ci: float, di: float, *, maxcor: float = 0.9999) -> tuple[float, float]:
    """Tetrachoric correlation and its sampling variance for one 2x2 table (metafor's ``.rtet``).

    Parameters
    ----------
    ai, bi, ci, di : float
        Cell counts (``ai`` both low, ``di`` both high).
    maxcor : float
        Largest absolute correlation searched.

    Returns
    -------
    (float, float)
        The estimate and its variance (the inverse observed information): ``(0, inf)`` for an empty
        margin, ``(+-1, 0)`` for an empty diagonal, NaN when the fit fails.
    """
    from scipy import optimize  # only for RTET

    ni = ai + bi + ci + di
    if (ai + bi) == 0 or (ci + di) == 0 or (ai + ci) == 0 or (bi + di) == 0:
        return 0.0, math.inf
    if bi == 0 and ci == 0:
        return 1.0, 0.0
    if ai == 0 and di == 0:
        return -1.0, 0.0
    cuts = (float(norm_ppf((ai + bi) / ni)), float(norm_ppf((ai + ci) / ni)))
    start = optimize.minimize_scalar(
        lambda r: _negloglik([r], ai, bi, ci, di, maxcor, fixcut=cuts), bounds=(-1, 1), method="bounded"
    )
    fit = optimize.minimize(
        _negloglik,
        x0=np.array([start.x, *cuts]),
        args=(ai, bi, ci, di, maxcor),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000},
    )
    rho = float(fit.x[0])
    par = fit.x
    step = 1e-4
    H = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * step, np.eye(3)[j] * step
            H[i, j] = (
                _negloglik(par + ei + ej, ai, bi, ci, di, maxcor)
                - _negloglik(par + ei - ej, ai, bi, ci, di, maxcor)
                - _negloglik(par - ei + ej, ai, bi, ci, di, maxcor)
                + _negloglik(par - ei - ej, ai, bi, ci, di, maxcor)
            ) / (4 * step * step)
    try:
        vi = float(np.linalg.inv(H)[0, 0])
    except np.linalg.LinAlgError:
        vi = math.nan
    if bi == 0 or ci == 0:
        rho = 1.0
    if ai == 0 or di == 0:
        rho = -1.0
    return rho, vi
