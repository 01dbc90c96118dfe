"""metafor's ``transf.*`` functions: transformations of effect sizes and their back-transformations.

Each function takes an array (or scalar) ``xi`` and returns a float array of the same shape; extra inputs
(``ni``, ``ti``, ``n1i``/``n2i``, ``pc``) are keyword arguments and ``targs`` is a dict, as in metafor.
:func:`resolve_transf` turns a name (``"exp"``, ``"ztor"``, ``"transf.ilogit"``) into the function, so
``predict(transf="ilogit")`` and ``transf="transf.ztor.int"`` work as in R.

Back-transformations clamp values outside the range of the transformation to its bounds (metafor does the
same: a CI bound of a logit below the range still maps to 0).

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
doi:10.18637/jss.v036.i03. Freeman & Tukey (1950) doi:10.1214/aoms/1177729756; Bonett (2002)
doi:10.3102/10769986027004335 (ABT); Hakstian & Whalen (1976) doi:10.1007/BF02291301 (AHW).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._dist import norm_cdf, norm_pdf

__all__ = ["TRANSF", "resolve_transf", "transf"]


def _a(xi) -> np.ndarray:
    return np.asarray(xi, dtype=float)


def _targs_int(targs: Mapping[str, Any] | float | None) -> dict[str, float]:
    """The ``targs`` of the ``.int`` functions: tau2 (default 0), optional integration bounds."""
    if targs is None:
        return {"tau2": 0.0}
    if not isinstance(targs, Mapping):
        values = list(np.atleast_1d(targs))
        return dict(zip(("tau2", "lower", "upper"), map(float, values), strict=False))
    out = {"tau2": 0.0}
    for key, value in targs.items():
        name = {"t": "tau2", "l": "lower", "u": "upper"}.get(str(key)[:1])
        if name is None:
            raise InputError.invalid("targs", key, "tau2, lower and upper")
        out[name] = float(value)
    return out


def _integrated(base: Callable[[np.ndarray], np.ndarray], xi, targs) -> np.ndarray:
    """E[base(Z)] with Z ~ N(xi, tau2): the back-transformed mean of a random-effects distribution."""
    args = _targs_int(targs)
    tau2 = args["tau2"]
    x = _a(xi)
    if tau2 == 0:
        return base(x)
    from scipy import integrate  # only for the .int transformations

    sd = math.sqrt(tau2)

    def one(v: float) -> float:
        if math.isnan(v):
            return math.nan
        lo, hi = args.get("lower", v - 10 * sd), args.get("upper", v + 10 * sd)
        value, _ = integrate.quad(
            lambda z: float(base(np.float64(z))) * float(norm_pdf((z - v) / sd)) / sd, lo, hi
        )
        return value

    return np.vectorize(one, otypes=[float])(x)


def rtoz(xi, **_: Any) -> np.ndarray:
    """Fisher's r-to-z: ``atanh(r)``."""
    return np.arctanh(_a(xi))


def ztor(xi, **_: Any) -> np.ndarray:
    """Fisher's z back to r: ``tanh(z)``."""
    return np.tanh(_a(xi))


def ztor_int(xi, targs=None, **_: Any) -> np.ndarray:
    """Mean of ``tanh(z)`` over ``N(xi, tau2)`` (``targs={"tau2": ...}``)."""
    return _integrated(np.tanh, xi, targs)


def exp(xi, **_: Any) -> np.ndarray:
    """``exp(x)``: log ratios back to ratios."""
    return np.exp(_a(xi))


def exp_int(xi, targs=None, **_: Any) -> np.ndarray:
    """Mean of ``exp(z)`` over ``N(xi, tau2)``."""
    return _integrated(np.exp, xi, targs)


def logit(xi, **_: Any) -> np.ndarray:
    """``log(p / (1 - p))``."""
    x = _a(xi)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / (1 - x))


def ilogit(xi, **_: Any) -> np.ndarray:
    """Inverse logit ``1 / (1 + exp(-x))``."""
    x = _a(xi)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def ilogit_int(xi, targs=None, **_: Any) -> np.ndarray:
    """Mean of the inverse logit over ``N(xi, tau2)``."""
    return _integrated(ilogit, xi, targs)


def arcsin(xi, **_: Any) -> np.ndarray:
    """Arcsine square-root transformation of a proportion."""
    with np.errstate(invalid="ignore"):
        return np.arcsin(np.sqrt(_a(xi)))


def iarcsin(xi, **_: Any) -> np.ndarray:
    """Back from the arcsine scale: ``sin(x)^2``, 0 below 0 and 1 above ``pi/2``."""
    x = _a(xi)
    return np.where(x < 0, 0.0, np.where(x > math.asin(1.0), 1.0, np.sin(x) ** 2))


def pft(xi, ni, **_: Any) -> np.ndarray:
    """Freeman-Tukey double arcsine of a proportion ``xi`` from ``ni`` observations."""
    n = _a(ni)
    x = _a(xi) * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def ipft(xi, ni, **_: Any) -> np.ndarray:
    """Inverse Freeman-Tukey (Miller 1978) for proportions from ``ni`` observations."""
    x, n = np.broadcast_arrays(_a(xi), _a(ni))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * x)
        z = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(1 - (s + (s - 1 / s) / n) ** 2))
    z = np.where(np.isnan(z), np.nan, z)
    z = np.where(x > pft(1.0, n), 1.0, z)
    return np.where(x < pft(0.0, n), 0.0, z)


def ipft_hm(xi, targs=None, **_: Any) -> np.ndarray:
    """Inverse Freeman-Tukey with the harmonic mean of ``targs["ni"]`` as the sample size."""
    if not isinstance(targs, Mapping) or "ni" not in targs:
        raise InputError("transf.ipft.hm needs the sample sizes: targs={'ni': [...]}.", field="targs")
    ni = _a(targs["ni"])
    nhm = 1.0 / np.nanmean(1.0 / ni)
    return ipft(xi, nhm)


def isqrt(xi, **_: Any) -> np.ndarray:
    """``x^2``, 0 for negative ``x``."""
    x = _a(xi)
    return np.where(x < 0, 0.0, x * x)


def irft(xi, ti, **_: Any) -> np.ndarray:
    """Freeman-Tukey transformation of an incidence rate ``xi`` over person-time ``ti``."""
    x = _a(xi)
    return 0.5 * (np.sqrt(x) + np.sqrt(x + 1 / _a(ti)))


def iirft(xi, ti, **_: Any) -> np.ndarray:
    """Inverse of :func:`irft`."""
    x, t = np.broadcast_arrays(_a(xi), _a(ti))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (1 / t - 8 * x**2 + 16 * t * x**4) / (16 * x**2 * t)
    z = np.where(x < irft(0.0, t), 0.0, z)
    return np.where(z <= np.finfo(float).eps, 0.0, z)


def ahw(xi, **_: Any) -> np.ndarray:
    """Hakstian-Whalen transformation of Cronbach's alpha: ``1 - (1 - a)^(1/3)``."""
    return 1 - np.cbrt(1 - _a(xi))


def iahw(xi, **_: Any) -> np.ndarray:
    """Inverse of :func:`ahw`, clamped to [0, 1]."""
    x = _a(xi)
    return np.where(x > 1, 1.0, np.where(x < 0, 0.0, 1 - (1 - x) ** 3))


def abt(xi, **_: Any) -> np.ndarray:
    """Bonett transformation of Cronbach's alpha: ``-log(1 - a)``."""
    with np.errstate(divide="ignore"):
        return -np.log(1 - _a(xi))


def iabt(xi, **_: Any) -> np.ndarray:
    """Inverse of :func:`abt`, 0 below 0."""
    x = _a(xi)
    return np.where(x < 0, 0.0, 1 - np.exp(-x))


def dtou1(xi, **_: Any) -> np.ndarray:
    """Standardized mean difference to Cohen's U1."""
    u2 = norm_cdf(np.abs(_a(xi)) / 2)
    return (2 * u2 - 1) / u2


def dtou2(xi, **_: Any) -> np.ndarray:
    """SMD to Cohen's U2."""
    return norm_cdf(_a(xi) / 2)


def dtou3(xi, **_: Any) -> np.ndarray:
    """SMD to Cohen's U3."""
    return norm_cdf(_a(xi))


def dtocles(xi, **_: Any) -> np.ndarray:
    """SMD to the common-language effect size."""
    return norm_cdf(_a(xi) / math.sqrt(2))


def dtorpb(xi, n1i=None, n2i=None, **_: Any) -> np.ndarray:
    """SMD to the point-biserial correlation (equal groups unless ``n1i``, ``n2i`` are given)."""
    x = _a(xi)
    if n1i is None or n2i is None:
        h = 4.0
    else:
        n1, n2 = _a(n1i), _a(n2i)
        m = n1 + n2 - 2
        h = m / n1 + m / n2
    return x / np.sqrt(x**2 + h)


def dtobesd(xi, **_: Any) -> np.ndarray:
    """SMD to the binomial effect size display."""
    x = _a(xi)
    return 0.5 + x / np.sqrt(x**2 + 4) / 2


def dtomd(xi, targs=None, **_: Any) -> np.ndarray:
    """SMD to a mean difference: times ``targs["sd"]``."""
    sd = targs.get("sd") if isinstance(targs, Mapping) else targs
    if sd is None or np.size(sd) != 1:
        raise InputError("transf.dtomd needs one standard deviation: targs={'sd': value}.", field="targs")
    return _a(xi) * float(np.asarray(sd).reshape(-1)[0])


def _check_pc(pc, x: np.ndarray) -> np.ndarray:
    p = np.broadcast_to(_a(pc), x.shape)
    if np.any((p < 0) | (p > 1)):
        raise InputError.invalid("pc", pc, "control-group risks between 0 and 1")
    return p


def logortord(xi, pc, **_: Any) -> np.ndarray:
    """Log odds ratio to a risk difference at control-group risk ``pc``."""
    x = _a(xi)
    p = _check_pc(pc, x)
    return np.exp(x) * p / (1 - p + p * np.exp(x)) - p


def logortorr(xi, pc, **_: Any) -> np.ndarray:
    """Log odds ratio to a risk ratio at control-group risk ``pc``."""
    x = _a(xi)
    p = _check_pc(pc, x)
    return np.exp(x) / (p * (np.exp(x) - 1) + 1)


#: Every transformation by its metafor name (without the ``transf.`` prefix).
TRANSF: dict[str, Callable[..., np.ndarray]] = {
    "rtoz": rtoz,
    "ztor": ztor,
    "ztor.int": ztor_int,
    "exp": exp,
    "exp.int": exp_int,
    "logit": logit,
    "ilogit": ilogit,
    "ilogit.int": ilogit_int,
    "arcsin": arcsin,
    "iarcsin": iarcsin,
    "pft": pft,
    "ipft": ipft,
    "ipft.hm": ipft_hm,
    "isqrt": isqrt,
    "irft": irft,
    "iirft": iirft,
    "ahw": ahw,
    "iahw": iahw,
    "abt": abt,
    "iabt": iabt,
    "dtou1": dtou1,
    "dtou2": dtou2,
    "dtou3": dtou3,
    "dtocles": dtocles,
    "dtorpb": dtorpb,
    "dtobesd": dtobesd,
    "dtomd": dtomd,
    "logortord": logortord,
    "logortorr": logortorr,
}


def resolve_transf(transf: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    """A transformation given by name (``"exp"``, ``"transf.ilogit"``, ``"ztor_int"``) or as a function.

    Parameters
    ----------
    transf : str, callable or None

    Returns
    -------
    callable or None

    Raises
    ------
    InputError
        For an unknown name.
    """
    if transf is None or callable(transf):
        return transf
    name = str(transf).removeprefix("transf.").replace("_", ".")
    if name not in TRANSF:
        raise InputError.invalid("transf", transf, "a function or one of " + ", ".join(sorted(TRANSF)))
    return TRANSF[name]


def transf(name: str, xi, **kwargs: Any) -> np.ndarray:
    """Apply metafor's ``transf.<name>`` to ``xi``.

    Parameters
    ----------
    name : str
        E.g. ``"ztor"``, ``"ilogit"``, ``"ipft"`` (``"transf."`` prefix optional).
    xi : array-like
    **kwargs
        ``ni``, ``ti``, ``n1i``, ``n2i``, ``pc`` or ``targs`` as the transformation needs.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> float(transf("ztor", 0.5))
    0.46211715726000974
    """
    func = resolve_transf(name)
    assert func is not None
    return func(xi, **kwargs)
