"""Multilevel and multivariate meta-analysis: metafor 3.8-1's ``rma.mv`` (REML/ML, random intercepts nested or
crossed, ``~ inner | outer`` terms with CS, HCS, UN, AR, HAR, CAR, ID, DIAG structures, known sampling
covariances, moderators)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._mv_dist import chi2_sf, crit_value, f_sf, level_alpha, p_two_sided
from regrow.meta._mv_input import (
    RandomSpec,
    effect_vector,
    moderators,
    random_spec,
    sampling_covariance,
)
from regrow.meta._mv_lik import Evaluation, MarginalModel
from regrow.meta._mv_optim import maximise
from regrow.meta._mv_struct import STRUCTS, Structure
from regrow.meta._mv_terms import Factor

__all__ = ["MV_METHODS", "MV_TESTS", "MVResult", "rma_mv"]

#: Estimation methods of :func:`rma_mv` ("EE"/"FE": no random effects, only the known V).
MV_METHODS = ("REML", "ML", "EE", "FE")
#: Tests of the coefficients: standard normal, or t (and F) with ``dfs`` degrees of freedom.
MV_TESTS = ("z", "t")
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class MVResult:
    """A fitted :func:`rma_mv` model; fields are named as metafor names them (dots become underscores).

    Attributes
    ----------
    k, p : int
        Effect sizes and coefficients.
    beta, se, zval, pval, ci_lb, ci_ub : numpy.ndarray
        Coefficients with their tests (``zval`` holds t statistics under ``test="t"``).
    vb : numpy.ndarray
        Variance-covariance matrix of the coefficients.
    sigma2 : numpy.ndarray
        Variances of the ``~ 1 | factor`` terms, in the order of ``s_names`` (``district``, ``district/school``).
    tau2, rho : numpy.ndarray or None
        Variances and correlations of the first ``~ inner | outer`` term (``G`` is its matrix over ``g_levels``).
    gamma2, phi : numpy.ndarray or None
        The same for a second ``~ inner | outer`` term (``H``).
    QE, QEp : float
        Test of residual heterogeneity (NaN when V is singular).
    QM, QMp, QMdf : float, float, tuple
        Omnibus test of the coefficients ``btt`` (chi-square, or F under ``test="t"``).
    ddf : numpy.ndarray or None
        Degrees of freedom of each coefficient's t test.
    fit_stats : dict
        ``ll``, ``dev``, ``AIC``, ``BIC``, ``AICc`` under ``"ML"`` and ``"REML"``.
    parms : int
        Number of estimated parameters (coefficients plus free variance components).
    """

    k: int
    p: int
    method: str
    test: str
    dfs: str | int
    level: float
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    sigma2: np.ndarray
    s_names: list[str]
    s_nlevels: list[int]
    tau2: np.ndarray | None
    rho: np.ndarray | None
    G: np.ndarray | None
    g_struct: str | None
    g_names: tuple[str, str] | None
    g_levels: list[str] | None
    g_nlevels: tuple[int, int] | None
    gamma2: np.ndarray | None
    phi: np.ndarray | None
    H: np.ndarray | None
    h_struct: str | None
    h_names: tuple[str, str] | None
    h_levels: list[str] | None
    h_nlevels: tuple[int, int] | None
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, float | None]
    btt: tuple[int, ...]
    ddf: np.ndarray | None
    fit_stats: dict[str, dict[str, float]]
    parms: int
    vc_fixed: dict[str, np.ndarray]
    yi: np.ndarray
    X: np.ndarray
    intercept: bool
    slab: list[str]
    warnings: list[str] = field(default_factory=list)
    _setup: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _psi: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    _eval: Evaluation | None = field(default=None, repr=False, compare=False)

    @property
    def alpha(self) -> float:
        return level_alpha(self.level)

    @property
    def with_random(self) -> bool:
        return bool(self.sigma2.size or self.tau2 is not None or self.gamma2 is not None)

    def crit(self) -> np.ndarray:
        """Critical value per coefficient (z, or t with its ``ddf``)."""
        if self.ddf is None:
            return np.full(self.p, crit_value(self.alpha))
        return np.asarray(crit_value(self.alpha, self.ddf), dtype=float)

    # the inference methods live in _mv_infer / _mv_robust (kept out of this module for size)
    def predict(self, newmods=None, **options):
        """Predicted effects with confidence and prediction intervals; see :func:`regrow.meta.predict_mv`."""
        from regrow.meta._mv_infer import predict_mv

        return predict_mv(self, newmods, **options)

    def ranef(self, **options):
        """Best linear unbiased predictions of the random effects; see :func:`regrow.meta.ranef_mv`."""
        from regrow.meta._mv_infer import ranef_mv

        return ranef_mv(self, **options)

    def anova(self, other: MVResult | None = None, **options):
        """Wald test (``btt=``, ``X=``) or, given a second model, a likelihood-ratio test (``anova.rma``)."""
        from regrow.meta._mv_infer import lrt_mv, wald_mv

        if other is not None:
            return lrt_mv(self, other)
        return wald_mv(self, **options)

    def profile(self, **options):
        """Profile log-likelihood of each variance component; see :func:`regrow.meta.profile_mv`."""
        from regrow.meta._mv_profile import profile_mv

        return profile_mv(self, **options)

    def confint(self, **options):
        """Profile-likelihood confidence intervals of the variance components; see :func:`confint_mv`."""
        from regrow.meta._mv_profile import confint_mv

        return confint_mv(self, **options)

    def robust(self, cluster, **options):
        """Cluster-robust inference; see :func:`regrow.meta.robust_mv`."""
        from regrow.meta._mv_robust import robust_mv

        return robust_mv(self, cluster, **options)

    def structured_terms(self) -> list[dict[str, Any]]:
        """The ``~ inner | outer`` terms: G (tau2, rho) and H (gamma2, phi), with names, levels and fixed flags."""
        out = []
        for key, var_name, cor_name in (("G", "tau2", "rho"), ("H", "gamma2", "phi")):
            prefix = key.lower()
            names = getattr(self, f"{prefix}_names")
            if names is None:
                continue
            out.append(
                {
                    "key": key,
                    "var_name": var_name,
                    "cor_name": cor_name,
                    "var": getattr(self, var_name),
                    "cor": getattr(self, cor_name),
                    "var_fixed": self.vc_fixed[var_name],
                    "cor_fixed": self.vc_fixed[cor_name],
                    "names": names,
                    "levels": getattr(self, f"{prefix}_levels"),
                    "nlevels": getattr(self, f"{prefix}_nlevels"),
                    "struct": getattr(self, f"{prefix}_struct"),
                    "matrix": getattr(self, key),
                }
            )
        return out

    def summary(self, *, digits: int = 4) -> str:
        """A metafor-style text summary; see :func:`regrow.meta.format_mv_summary`."""
        from regrow.meta._mv_summary import format_mv_summary

        return format_mv_summary(self, digits=digits)

    def to_dict(self) -> dict[str, Any]:
        """Everything a report needs (numpy values are converted by the caller's JSON encoder)."""
        coefficients = [
            {
                "name": name,
                "estimate": float(self.beta[j]),
                "se": float(self.se[j]),
                "stat": float(self.zval[j]),
                "pval": float(self.pval[j]),
                "ci_lb": float(self.ci_lb[j]),
                "ci_ub": float(self.ci_ub[j]),
                **({"df": float(self.ddf[j])} if self.ddf is not None else {}),
            }
            for j, name in enumerate(self.coef_names)
        ]
        out: dict[str, Any] = {
            "k": self.k,
            "p": self.p,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "coefficients": coefficients,
            "sigma2": [
                {"name": n, "estimate": float(v), "nlevels": int(nl), "fixed": bool(f)}
                for n, v, nl, f in zip(
                    self.s_names, self.sigma2, self.s_nlevels, self.vc_fixed["sigma2"], strict=True
                )
            ],
        }
        for term in self.structured_terms():
            out[term["var_name"]] = [float(x) for x in term["var"]]
            out[term["cor_name"]] = [float(x) for x in term["cor"]]
            out[term["key"]] = {
                "struct": term["struct"],
                "inner": term["names"][0],
                "outer": term["names"][1],
                "levels": list(term["levels"]),
                "nlevels": list(term["nlevels"]),
                "matrix": np.asarray(term["matrix"]).tolist(),
            }
        out.update(
            QE=self.QE,
            QEp=self.QEp,
            QM=self.QM,
            QMp=self.QMp,
            QMdf=list(self.QMdf),
            btt=list(self.btt),
            parms=self.parms,
            fit_stats=self.fit_stats,
            warnings=list(self.warnings),
        )
        return out


def rma_mv(
    yi,
    V,
    *,
    mods=None,
    random: str | Sequence[str] | None = None,
    struct: str | Sequence[str] = "CS",
    data=None,
    method: str = "REML",
    test: str = "z",
    dfs: str | int = "residual",
    level: float = 95.0,
    btt: Sequence[int] | str | None = None,
    intercept: bool = True,
    sigma2=None,
    tau2=None,
    rho=None,
    gamma2=None,
    phi=None,
    slab: Sequence[str] | None = None,
    mod_names: Sequence[str] | None = None,
) -> MVResult:
    """Fit a multilevel / multivariate meta-analytic model (metafor's ``rma.mv``).

    The model is ``y = X b + sum of random effects + e`` with ``e ~ N(0, V)`` and random effects given by
    ``random``; the variance components are estimated by REML (default) or ML.

    Parameters
    ----------
    yi : array-like of shape (k,) or str
        Effect sizes (or the name of their column in ``data``).
    V : array-like of shape (k,) or (k, k), list of square arrays, or str
        Sampling variances, a full variance-covariance matrix, or its diagonal blocks in row order (see
        :func:`vcalc` for building one).
    mods : str, array of shape (k, m), DataFrame or dict, optional
        Moderators: a formula such as ``"~ outcome - 1"`` or ``"~ x + factor(g)"`` (variables from ``data``),
        a numeric array, or columns (text columns become factors).
    random : str or list of str, optional
        ``"~ 1 | study"``, nested ``"~ 1 | study/es"`` (one variance component per level), several crossed
        intercepts (``["~ 1 | study", "~ 1 | lab"]``), and up to two ``"~ inner | outer"`` terms whose
        structure is set by ``struct``.
    struct : str or pair of str, default "CS"
        One of ``CS``, ``HCS``, ``UN``, ``AR``, ``HAR``, ``CAR``, ``ID``, ``DIAG`` for the ``~ inner | outer``
        terms (a pair for two such terms).
    data : DataFrame or dict of columns, optional
        Where the variables named in ``random``, ``mods`` (formula), ``yi`` and ``V`` are looked up.
    method : {"REML", "ML", "EE", "FE"}, default "REML"
    test : {"z", "t"}, default "z"
        Normal tests, or t tests (F for the omnibus test) with ``dfs`` degrees of freedom.
    dfs : {"residual", "contain"} or int, default "residual"
        ``k - p``, or metafor's containment rule (``"contain"`` implies ``test="t"``).
    level : float, default 95
    btt : sequence of int (0-based) or str, optional
        Coefficients of the omnibus test (default: all but the intercept); a string selects the coefficients
        whose names contain it.
    intercept : bool, default True
        Whether to add an intercept to array or column moderators (a formula decides for itself).
    sigma2, tau2, rho, gamma2, phi : float or array-like, optional
        Fix variance components (NaN or None entries are estimated).
    slab : sequence of str, optional
        Labels of the effect sizes.
    mod_names : sequence of str, optional
        Column names for an array ``mods``.

    Returns
    -------
    MVResult

    Raises
    ------
    InputError
        Wrong shapes, missing values, a V that is not positive semi-definite, unknown variables, an unknown
        method, test or struct.
    TooFewStudiesError
        When the data cannot support the number of coefficients and variance components.
    ConvergenceError
        When the likelihood maximisation does not converge.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
    doi:10.18637/jss.v036.i03. Konstantopoulos S (2011) doi:10.1002/jrsm.35 (multilevel models);
    Berkey CS et al. (1998) doi:10.1002/(SICI)1097-0258(19981130)17:22<2537::AID-SIM953>3.0.CO;2-C
    (multivariate models).

    Examples
    --------
    >>> res = rma_mv([0.2, 0.4, 0.1, 0.5, 0.3, 0.6], [0.02, 0.03, 0.02, 0.04, 0.03, 0.02],
    ...              random="~ 1 | study/es", data={"study": [1, 1, 2, 2, 3, 3], "es": [1, 2, 1, 2, 1, 2]})
    >>> res.s_names
    ['study', 'study/es']
    """
    method = method.upper() if isinstance(method, str) else method
    if method == "CE":
        method = "EE"
    if method not in MV_METHODS:
        raise InputError.invalid("method", method, "one of " + ", ".join(MV_METHODS))
    if dfs == "contain":
        test = "t"
    if test not in MV_TESTS:
        raise InputError.invalid("test", test, "'z' or 't'")
    if not (dfs in ("residual", "contain") or (isinstance(dfs, int | np.integer) and dfs > 0)):
        raise InputError.invalid("dfs", dfs, "'residual', 'contain' or a positive whole number")
    for st in [struct] if isinstance(struct, str) else list(struct):
        if st not in STRUCTS:
            raise InputError.invalid("struct", st, "one of " + ", ".join(STRUCTS))
    alpha = level_alpha(level)
    warnings: list[str] = []
    y = effect_vector(yi, data)
    k = y.size
    v_diag, v_blocks, _ = sampling_covariance(V, k, data)
    X, names, has_intercept = moderators(mods, data, k, intercept=intercept, mod_names=mod_names)
    X, names, redundant = _drop_redundant(X, names)
    if redundant:
        warnings.append(f"Redundant predictors dropped from the model: {', '.join(redundant)}.")
    p = X.shape[1]
    if method in ("EE", "FE"):
        if random is not None:
            warnings.append(f"random is disregarded when method={method!r}.")
        spec = RandomSpec()
    else:
        spec = random_spec(random, struct, data, k, sigma2=sigma2, tau2=tau2, rho=rho, gamma2=gamma2, phi=phi)
    warnings.extend(spec.warnings)
    if k < p:
        raise TooFewStudiesError(f"{k} effect sizes cannot support a model with {p} coefficient(s).")
    if k == p and spec.n_estimated:
        # metafor: a saturated model leaves nothing to estimate variance components from; they are set to 0
        _fix_all_to_zero(spec)
        warnings.append(
            f"k = p = {k}: the model reproduces every effect size, so the variance components are 0."
        )
    n_vc = spec.n_estimated
    if n_vc > k - p:
        raise TooFewStudiesError(
            f"The model has {n_vc} variance/correlation parameters to estimate but only k - p = {k - p} "
            "residual degrees of freedom; fix some components or simplify random/struct."
        )
    labels = [str(s) for s in slab] if slab is not None else [str(i + 1) for i in range(k)]
    if len(labels) != k:
        raise InputError(f"slab has {len(labels)} labels for {k} effect sizes.", field="slab")

    # The equal-effects fit with M = V gives QE and metafor's starting values.
    fe_model = MarginalModel(y, X, v_diag, v_blocks, [], [], None, None, reml=False)
    fe = fe_model.evaluate(np.zeros(0), gradient=False)
    if fe is None:
        QE = float("nan")
        beta_ols, *_ = np.linalg.lstsq(X, y, rcond=None)
        total = float(np.sum((y - X @ beta_ols) ** 2) / (k - p))
        logdet_V = float("nan")
    else:
        QE = fe.rss
        resid = y - X @ fe.beta
        n_terms = _n_components(spec)
        total = max(0.001 * n_terms, float(np.var(resid, ddof=1)) - 1.0 / float(np.mean(1.0 / v_diag)))
        logdet_V = fe.logdet_M
    setup = _model_setup(y, X, v_diag, v_blocks, spec, reml=method == "REML")
    model = _build_model(setup)
    psi0 = _initial(model, spec, total)
    psi = maximise(model, psi0)
    ev = model.evaluate(psi, gradient=False)
    if ev is None:
        from regrow.errors import EstimationError
        from regrow.meta._mv_optim import not_pd_where

        raise EstimationError(
            f"The marginal variance-covariance matrix is not positive definite ({not_pd_where(model, psi)})."
        )
    return _assemble(
        ev, model, psi, spec, setup,
        y=y, X=X, names=names, has_intercept=has_intercept, method=method, test=test, dfs=dfs, level=level,
        alpha=alpha, btt=btt, QE=QE, logdet_V=logdet_V, allvipos=bool(np.all(v_diag > 0)), labels=labels,
        warnings=warnings,
    )  # fmt: skip


def _drop_redundant(X: np.ndarray, names: list[str]):
    """Drop aliased columns left to right, as R's ``lm`` (and so metafor) does."""
    from regrow.meta._design import drop_redundant  # imported here: _design may load pandas

    return drop_redundant(X, names)


def _fix_all_to_zero(spec: RandomSpec) -> None:
    spec.sigma2_fixed[np.isnan(spec.sigma2_fixed)] = 0.0
    for term in (spec.g, spec.h):
        if term is not None:
            s = term[0]
            s.v_fixed[np.isnan(s.v_fixed)] = 0.0
            s.r_fixed[np.isnan(s.r_fixed)] = 0.0


def _n_components(spec: RandomSpec) -> int:
    """metafor's divisor for the starting values: sigma2s + tau2s + gamma2s, each at least 1."""
    n = max(1, spec.sigma2_fixed.size)
    n += spec.g[0].n_var if spec.g else 1
    n += spec.h[0].n_var if spec.h else 1
    return n


def _model_setup(y, X, v_diag, v_blocks, spec: RandomSpec, *, reml: bool) -> dict[str, Any]:
    g = (spec.g[0], spec.g[1].codes, spec.g[2].codes) if spec.g else None
    h = (spec.h[0], spec.h[1].codes, spec.h[2].codes) if spec.h else None
    return {
        "y": y,
        "X": X,
        "V_diag": v_diag,
        "V_blocks": v_blocks,
        "s_codes": [f.codes for f in spec.s_factors],
        "sigma2_fixed": spec.sigma2_fixed.copy(),
        "g": g,
        "h": h,
        "reml": reml,
    }


def _build_model(setup: dict[str, Any]) -> MarginalModel:
    return MarginalModel(
        setup["y"],
        setup["X"],
        setup["V_diag"],
        setup["V_blocks"],
        setup["s_codes"],
        setup["sigma2_fixed"],
        setup["g"],
        setup["h"],
        reml=setup["reml"],
    )


def with_fixed(setup: dict[str, Any], component: str, index: int, value: float) -> dict[str, Any]:
    """A copy of a model set-up with one more variance component fixed (for profiles and LRTs)."""
    out = dict(setup)
    if component == "sigma2":
        fixed = setup["sigma2_fixed"].copy()
        fixed[index] = value
        out["sigma2_fixed"] = fixed
        return out
    key = "g" if component in ("tau2", "rho") else "h"
    struct, inner, outer = setup[key]
    v, r = struct.v_fixed.copy(), struct.r_fixed.copy()
    if component in ("tau2", "gamma2"):
        v[index] = value
    else:
        r[index] = value
    out[key] = (dataclasses.replace(struct, v_fixed=v, r_fixed=r), inner, outer)
    return out


def _initial(model: MarginalModel, spec: RandomSpec, total: float) -> np.ndarray:
    v0 = total / _n_components(spec)
    parts = [np.full(model.n_s_free, np.log(v0))]
    for s in (model.g_struct, model.h_struct):
        if s is not None:
            parts.append(s.initial(v0, 0.5))
    return np.concatenate(parts) if parts else np.zeros(0)


def _set_btt(btt, p: int, names: list[str], intercept: bool) -> tuple[int, ...]:
    if btt is None:
        return tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    if isinstance(btt, str):
        chosen = tuple(j for j, n in enumerate(names) if btt in n)
        if not chosen:
            raise InputError(f"btt {btt!r} matches no coefficient; they are {', '.join(names)}.", field="btt")
        return chosen
    chosen = tuple(int(j) for j in btt)
    if not chosen or any(j < 0 or j >= p for j in chosen):
        raise InputError.invalid("btt", list(btt), f"0-based coefficient indices in [0, {p - 1}]")
    return chosen


def _constant_within(x: np.ndarray, codes: np.ndarray) -> bool:
    """Whether ``x`` takes a single value within every level of ``codes``."""
    _, xi = np.unique(x, return_inverse=True)
    pairs = np.unique(codes * (xi.max() + 1) + xi)
    return pairs.size == np.unique(codes).size


def _ddf(dfs, X, k, p, spec: RandomSpec) -> np.ndarray:
    if isinstance(dfs, int | np.integer):
        return np.full(p, float(dfs))
    if dfs == "residual":
        return np.full(p, float(k - p))
    factors: list[np.ndarray] = [f.codes for f in spec.s_factors]
    for term in (spec.g, spec.h):
        if term is not None:
            _, inner, outer, _ = term
            factors.append(outer.codes * inner.nlevels + inner.codes)  # metafor pastes inner and outer
            factors.append(outer.codes)
    ddf = np.full(p, float(k))
    for j in range(p):
        cands = [np.unique(c).size for c in factors if _constant_within(X[:, j], c)]
        if cands:
            ddf[j] = min(cands)
    ddf -= p
    ddf[ddf < 1] = 1
    return ddf


def _log(n: int) -> float:
    return float(np.log(n)) if n > 0 else float("-inf")


def _fit_stats(ev: Evaluation, k, p, parms, logdet_V, allvipos, logdet_xx) -> dict[str, dict[str, float]]:
    ll_ml = -0.5 * (k * _LOG_2PI + ev.logdet_M + ev.rss)
    ll_reml = -0.5 * ((k - p) * _LOG_2PI - logdet_xx + ev.logdet_M + ev.logdet_xwx + ev.rss)
    ll_qe = -0.5 * k * _LOG_2PI - 0.5 * logdet_V
    dev_ml = -2 * (ll_ml - ll_qe) if allvipos else -2 * ll_ml
    out = {}
    for name, ll, n, dev in (("ML", ll_ml, k, dev_ml), ("REML", ll_reml, k - p, -2 * ll_reml)):
        big = max(n, parms + 2)
        out[name] = {
            "ll": float(ll),
            "dev": float(dev),
            "AIC": float(-2 * ll + 2 * parms),
            "BIC": float(-2 * ll + parms * _log(n)),  # k = p: log(0) = -inf, as metafor reports
            "AICc": float(-2 * ll + 2 * parms * big / (big - parms - 1)),
        }
    return out


def _assemble(ev, model, psi, spec: RandomSpec, setup, **kw) -> MVResult:
    y, X, names = kw["y"], kw["X"], kw["names"]
    k, p = X.shape
    alpha = kw["alpha"]
    sigma2, g_nat, h_nat = model.natural(psi)
    beta, vb = ev.beta, ev.vb
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    btt = _set_btt(kw["btt"], p, names, kw["has_intercept"])
    m = len(btt)
    try:
        b = beta[list(btt)]
        QM = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b))
    except np.linalg.LinAlgError:
        QM = float("nan")
    if kw["test"] == "t":
        ddf = _ddf(kw["dfs"], X, k, p, spec)
        pval = p_two_sided(zval, ddf)
        crit = np.asarray(crit_value(alpha, ddf), dtype=float)
        QM /= m
        QMdf: tuple[int, float | None] = (m, float(min(ddf[list(btt)])))
        QMp = float(f_sf(QM, m, QMdf[1]))
    else:
        ddf = None
        pval = p_two_sided(zval)
        crit = np.full(p, crit_value(alpha))
        QMdf = (m, None)
        QMp = float(chi2_sf(QM, m))
    QE = kw["QE"]
    if k == p:  # metafor: no residual degrees of freedom, QE = 0 with p-value 1
        QE, QEp = 0.0, 1.0
    else:
        QEp = float(chi2_sf(QE, k - p)) if np.isfinite(QE) else float("nan")
    parms = p + spec.n_estimated
    fit_stats = _fit_stats(ev, k, p, parms, kw["logdet_V"], kw["allvipos"], model.logdet_xx)
    g_part = _term_fields(spec.g, g_nat, ev.G)
    h_part = _term_fields(spec.h, h_nat, ev.H)
    vc_fixed = {
        "sigma2": ~np.isnan(spec.sigma2_fixed),
        "tau2": ~np.isnan(spec.g[0].v_fixed) if spec.g else np.zeros(0, bool),
        "rho": ~np.isnan(spec.g[0].r_fixed) if spec.g else np.zeros(0, bool),
        "gamma2": ~np.isnan(spec.h[0].v_fixed) if spec.h else np.zeros(0, bool),
        "phi": ~np.isnan(spec.h[0].r_fixed) if spec.h else np.zeros(0, bool),
    }
    setup = dict(setup)
    setup.update(spec=spec, names=list(names), method=kw["method"])
    return MVResult(
        k=k,
        p=p,
        method=kw["method"],
        test=kw["test"],
        dfs=kw["dfs"],
        level=kw["level"] if kw["level"] >= 1 else 100 * (1 - alpha),
        coef_names=list(names),
        beta=beta,
        se=se,
        zval=zval,
        pval=np.asarray(pval, dtype=float),
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        vb=vb,
        sigma2=sigma2,
        s_names=[f.name for f in spec.s_factors],
        s_nlevels=[f.nlevels for f in spec.s_factors],
        **g_part,
        **{key.replace("g_", "h_").replace("tau2", "gamma2").replace("rho", "phi").replace("G", "H"): value
           for key, value in h_part.items()},
        QE=float(QE),
        QEp=QEp,
        QM=QM,
        QMp=QMp,
        QMdf=QMdf,
        btt=btt,
        ddf=ddf,
        fit_stats=fit_stats,
        parms=parms,
        vc_fixed=vc_fixed,
        yi=y,
        X=X,
        intercept=kw["has_intercept"],
        slab=kw["labels"],
        warnings=kw["warnings"],
        _setup=setup,
        _psi=psi,
        _eval=ev,
    )  # fmt: skip


def _term_fields(term: tuple[Structure, Factor, Factor, str] | None, natural, G) -> dict[str, Any]:
    if term is None:
        return {"tau2": None, "rho": None, "G": None, "g_struct": None, "g_names": None, "g_levels": None,
                "g_nlevels": None}  # fmt: skip
    struct, inner, outer, _ = term
    v, r = natural
    return {
        "tau2": v,
        "rho": r,
        "G": struct.matrix(v, r),
        "g_struct": struct.struct,
        "g_names": (inner.name, outer.name),
        "g_levels": list(inner.levels),
        "g_nlevels": (inner.nlevels, outer.nlevels),
    }
