"""Permutation tests of the model coefficients, with metafor 3.8's ``permutest.rma.uni`` semantics, made fast.

* Intercept-only models: the signs of the yi are flipped (exact test: all 2^k sign vectors).
* Meta-regression: the rows of the model matrix are permuted against (yi, vi) (exact test: every distinct
  arrangement of the rows, k! / prod(n_j!) when rows repeat).
* The exact test is used when asked for, or when it needs no more permutations than ``iter``.
* Random tests draw ``iter`` permutations; the first is replaced by the observed data (metafor does this).
* p-values: ``mean(|z_perm| >= |z_obs| - tol)`` per coefficient and ``mean(QM_perm >= QM_obs - tol)`` with
  ``tol = sqrt(machine eps)``; permutations whose refit fails are dropped (metafor's ``na.rm``) and counted.

Speed: permuting the rows of X against (y, v) is the same model as permuting (y, v) against a fixed X, so
every permutation shares X and the refits run as one batch: numpy arrays of shape (n_perm, k), the p x p
systems ``X'WX`` solved all at once, and the iterations of ML/REML/EB (Fisher scoring) and PM (Newton)
advanced together on the permutations not yet converged. The cost is O(n_perm k p^2) per iteration. Tests
compare the batch with the obvious loop of single refits (:func:`_stats_loop`).

References: Good P (2000) Permutation Tests, 2nd ed. Springer. doi:10.1007/978-1-4757-3235-1. Follmann DA,
Proschan MA (1999). Valid inference in random effects meta-analysis. Biometrics 55:732-737.
doi:10.1111/j.0006-341X.1999.00732.x. Higgins JPT, Thompson SG (2004). Controlling the risk of spurious
findings from meta-regression. Stat Med 23:1663-1682. doi:10.1002/sim.1752.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._influence import _REFIT_ERRORS
from regrow.meta._rma import RMAResult

__all__ = ["MAX_EXACT_PERMUTATIONS", "PermutationTest", "permutest"]

#: metafor's ``comptol``: permuted statistics within sqrt(eps) of the observed one count as "as extreme".
COMPTOL = float(np.sqrt(np.finfo(float).eps))
#: Largest exact test run (2^20 sign vectors ~ 10^6 refits, a few seconds); above it ask for ``iter=N``.
MAX_EXACT_PERMUTATIONS = 2**20
#: Work per batch of refits, in multiply-adds of its largest matrix product (B * k * p^2). Below OpenBLAS's
#: threading threshold (65536 * 4) each product runs on one thread: for these thin products thread start-up
#: costs more than the arithmetic, and on a busy machine it costs 10x (measured: 1000 REML permutations,
#: k = 100, p = 3 take 0.05 s in blocks of 256 and 0.45 s in one block of 1000 on a loaded 2-core machine).
CHUNK_WORK = 250_000
#: Bounds on the permutations per batch.
CHUNK_MIN, CHUNK_MAX = 64, 4096
#: Estimators refitted in the batch (all of metafor's rma.uni estimators here).
_BATCHED = ("FE", "EE", "CE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


@dataclass(frozen=True)
class PermutationTest:
    """Result of :func:`permutest`.

    Attributes
    ----------
    coef_names : list of str
    zval : ndarray of shape (p,)
        Observed test statistics (t for knha/adhoc).
    pval : ndarray of shape (p,)
        Permutation p-value of each coefficient.
    QM : float
        Observed omnibus statistic (F for knha/adhoc) of the coefficients ``btt``.
    QMp : float
        Its permutation p-value.
    exact : bool
        Whether all permutations were enumerated.
    iterations : int
        Number of permutations (including the observed data).
    n_failed : int
        Permutations whose refit failed (dropped from the p-values).
    seed : int or None
        Seed of the random draws (None for exact tests).
    zval_perm : ndarray of shape (iterations, p)
    QM_perm : ndarray of shape (iterations,)
    beta_perm : ndarray of shape (iterations, p)
    ci_lb, ci_ub : ndarray of shape (p,)
        The model's confidence intervals, or the permutation-based ones with ``permci``.
    """

    coef_names: list[str]
    zval: np.ndarray
    pval: np.ndarray
    QM: float
    QMp: float
    btt: tuple[int, ...]
    exact: bool
    iterations: int
    n_failed: int
    seed: int | None
    zval_perm: np.ndarray = field(repr=False)
    QM_perm: np.ndarray = field(repr=False)
    beta_perm: np.ndarray | None = field(default=None, repr=False)
    ci_lb: np.ndarray | None = None
    ci_ub: np.ndarray | None = None
    alternative: str = "two.sided"
    p2defn: str = "abs"
    stat: str = "test"
    warnings: list[str] = field(default_factory=list)

    @property
    def pval_perm(self) -> dict[str, float]:
        """Permutation p-value per coefficient name."""
        return {name: float(p) for name, p in zip(self.coef_names, self.pval, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "iterations": self.iterations,
            "n_failed": self.n_failed,
            "seed": self.seed,
            "coefficients": [
                {"name": n, "stat": float(z), "pval_perm": float(p)}
                for n, z, p in zip(self.coef_names, self.zval, self.pval, strict=True)
            ],
            "QM": self.QM,
            "QMp_perm": self.QMp,
        }


# --------------------------------------------------------------------------------------------------------
# batched refits
# --------------------------------------------------------------------------------------------------------


def _outer_rows(X: np.ndarray) -> np.ndarray:
    """(k, p*p): the row outer products ``x_i x_i'``, flattened, so that ``X'WX = W @ XX`` is one GEMM."""
    return np.einsum("ki,kj->kij", X, X).reshape(X.shape[0], -1)


def _bwls(Y: np.ndarray, W: np.ndarray, X: np.ndarray, XX: np.ndarray | None = None):
    """Weighted least squares for each row of Y (B, k) with weights W (B, k) on a common X (k, p).

    Everything is a matrix product over the k studies (BLAS), never a loop over rows. Returns ``Ainv``
    (B, p, p) = (X'WX)^-1, ``beta`` (B, p), residuals (B, k) and ``h`` (B, k) with ``h_i = x_i' Ainv x_i``.
    """
    B, p = W.shape[0], X.shape[1]
    XX = _outer_rows(X) if XX is None else XX
    Ainv = np.linalg.inv((W @ XX).reshape(B, p, p))
    beta = np.einsum("bij,bj->bi", Ainv, (W * Y) @ X)
    R = Y - beta @ X.T
    h = Ainv.reshape(B, p * p) @ XX.T
    return Ainv, beta, R, h


def _traces(W: np.ndarray, XX: np.ndarray, Ainv: np.ndarray, h: np.ndarray):
    """``tr(P)`` and ``tr(PP)`` per row, ``P = W - W X Ainv X' W`` (see :mod:`regrow.meta._linalg`)."""
    B, p = Ainv.shape[0], Ainv.shape[1]
    W2 = W * W
    trP = W.sum(1) - (W2 * h).sum(1)
    B1 = Ainv @ (W2 @ XX).reshape(B, p, p)
    trPP = W2.sum(1) - 2 * (W2 * W * h).sum(1) + np.einsum("bij,bji->b", B1, B1)
    return trP, trPP


def _btau2(method: str, Y: np.ndarray, V: np.ndarray, X: np.ndarray, control) -> np.ndarray:
    """tau^2 for each row, mirroring :func:`regrow.meta._tau2.estimate_tau2` (NaN where not converged)."""
    B, k = Y.shape
    p = X.shape[1]
    df = k - p
    if method in ("FE", "EE", "CE"):
        return np.zeros(B)
    if method in ("DL", "HS"):
        W = 1.0 / V
        _, _, R, h = _bwls(Y, W, X)
        Q = (W * R**2).sum(1)
        if method == "DL":
            trP = W.sum(1) - (W**2 * h).sum(1)
            return np.maximum(0.0, (Q - df) / trP)
        return np.maximum(0.0, (Q - k) / W.sum(1))
    if method in ("HE", "ML", "REML", "EB"):
        Qx, _ = np.linalg.qr(X)  # OLS hat matrix Qx Qx', never formed
        R = Y - (Y @ Qx) @ Qx.T
        trPV = V.sum(1) - V @ (Qx**2).sum(1)
        tau2 = np.maximum(0.0, ((R**2).sum(1) - trPV) / df)
        if method == "HE":
            return tau2
        return _bfisher(method, Y, V, X, tau2, control)
    if method == "SJ":
        t0 = Y.var(axis=1)
        W = 1.0 / (V + t0[:, None])
        _, _, R, _ = _bwls(Y, W, X)
        return np.maximum(0.0, t0 * (W * R**2).sum(1) / df)
    if method == "PM":
        return _bpm(Y, V, X, control)
    raise ValueError(method)  # pragma: no cover - callers check _BATCHED


def _bpm(Y, V, X, control) -> np.ndarray:
    """Paule-Mandel root of ``Q(tau2) = k - p`` per row by Newton's method from tau2 = 0.

    ``Q(t) = y'P(t)y`` is decreasing and convex (``Q' = -y'PPy``, ``Q'' = 2 y'PPPy >= 0``), so Newton steps
    from the left never overshoot and rise monotonically to the root; rows with ``Q(0) <= k - p`` get 0.
    """
    k, p = X.shape
    XX = _outer_rows(X)
    tau2 = np.zeros(Y.shape[0])
    out = np.full(Y.shape[0], np.nan)
    active = np.arange(Y.shape[0])
    for _ in range(control.maxiter):
        y, v, t = Y[active], V[active], tau2[active]
        W = 1.0 / (v + t[:, None])
        _, _, R, _ = _bwls(y, W, X, XX)
        Q = (W * R**2).sum(1)
        step = np.maximum(0.0, (Q - (k - p)) / ((W * R) ** 2).sum(1))
        new = t + step
        done = step <= control.tol * np.maximum(1.0, t)
        out[active[done]] = new[done]
        tau2[active] = new
        active = active[~done]
        if active.size == 0:
            break
    return out


def _bfisher(method: str, Y, V, X, tau2, control) -> np.ndarray:
    """Fisher scoring for ML/REML/EB on all rows at once; rows leave the batch once converged."""
    k, p = X.shape
    XX = _outer_rows(X)
    tau2 = tau2.copy()
    out = np.full(tau2.shape, np.nan)
    active = np.arange(tau2.shape[0])
    for _ in range(control.maxiter):
        y, v, t = Y[active], V[active], tau2[active]
        W = 1.0 / (v + t[:, None])
        Ainv, _, R, h = _bwls(y, W, X, XX)
        if method == "ML":
            step = ((W * R) ** 2).sum(1) - W.sum(1)
            step /= (W**2).sum(1)
        elif method == "REML":
            trP, trPP = _traces(W, XX, Ainv, h)
            step = (((W * R) ** 2).sum(1) - trP) / trPP
        else:  # EB
            step = ((W * R**2).sum(1) * k / (k - p) - k) / W.sum(1)
        new = np.maximum(0.0, t + step)
        done = np.abs(new - t) <= control.threshold
        out[active[done]] = new[done]
        tau2[active] = new
        active = active[~done]
        if active.size == 0:
            break
    if method in ("ML", "REML"):
        out = _ll0check(method, Y, V, X, XX, out, control)
    return out


def _loglik(method: str, Y, V, X, XX, tau2) -> np.ndarray:
    """ML or REML log-likelihood at tau2 per row, without the constant 2 pi terms (they cancel below)."""
    B, p = Y.shape[0], X.shape[1]
    W = 1.0 / (V + tau2[:, None])
    _, _, R, _ = _bwls(Y, W, X, XX)
    ll = -0.5 * np.log(V + tau2[:, None]).sum(1) - 0.5 * (W * R**2).sum(1)
    if method == "REML":
        ll -= 0.5 * np.linalg.slogdet((W @ XX).reshape(B, p, p))[1]
    return ll


def _ll0check(method: str, Y, V, X, XX, tau2, control) -> np.ndarray:
    """metafor's ``ll0check``: when Fisher scoring stopped at tau2 > 0 but the (restricted) likelihood at
    tau2 = 0 is higher by more than ``tol``, metafor sets tau2 = 0 (warning "Fisher scoring algorithm may
    have gotten stuck at a local maximum")."""
    rows = np.flatnonzero(np.isfinite(tau2) & (tau2 > control.threshold))
    if rows.size == 0:
        return tau2
    ll = _loglik(method, Y[rows], V[rows], X, XX, tau2[rows])
    ll0 = _loglik(method, Y[rows], V[rows], X, XX, np.zeros(rows.size))
    out = tau2.copy()
    out[rows[ll0 - ll > control.tol]] = 0.0
    return out


def _stats_batched(res: RMAResult, Y: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficient statistics (B, p), QM (B,) and coefficients (B, p) of ``res``'s model refitted to each row
    of (Y, V)."""
    X = res.X
    k, p = X.shape
    tau2 = _btau2(res.method, Y, V, X, res.control)
    ok = np.isfinite(tau2)
    Z = np.full((Y.shape[0], p), np.nan)
    QM = np.full(Y.shape[0], np.nan)
    Bt = np.full((Y.shape[0], p), np.nan)
    if not ok.any():
        return Z, QM, Bt
    Yo, Vo, to = Y[ok], V[ok], tau2[ok]
    W = 1.0 / (Vo + to[:, None])
    Ainv, beta, R, _ = _bwls(Yo, W, X)
    vb = Ainv
    if res.test in ("knha", "adhoc"):
        s2w = (W * R**2).sum(1) / (k - p)
        if res.test == "adhoc":
            s2w = np.maximum(1.0, s2w)
        vb = Ainv * s2w[:, None, None]
    se = np.sqrt(np.einsum("bii->bi", vb))
    Z[ok] = beta / se
    btt = list(res.btt)
    b = beta[:, btt]
    qm = np.einsum("bi,bi->b", b, np.linalg.solve(vb[:, btt][:, :, btt], b[:, :, None])[:, :, 0])
    if res.test in ("knha", "adhoc"):
        qm /= len(btt)
    QM[ok] = qm
    Bt[ok] = beta
    return Z, QM, Bt


def _stats_loop(res: RMAResult, Y: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The slow, obvious reference: one full :meth:`RMAResult.refit` per permutation (failed fits -> NaN)."""
    Z = np.full((Y.shape[0], res.p), np.nan)
    QM = np.full(Y.shape[0], np.nan)
    Bt = np.full((Y.shape[0], res.p), np.nan)
    extra = {"tau2": res.tau2} if res.tau2_fixed else {}
    if res.user_weights is not None:
        extra["weights"] = res.user_weights
    for b in range(Y.shape[0]):
        try:
            r = res.refit(Y[b], V[b], res.X, with_r2=False, btt=res.btt, **extra)
        except _REFIT_ERRORS:
            continue
        Z[b], QM[b], Bt[b] = r.zval, r.QM, r.beta
    return Z, QM, Bt


# --------------------------------------------------------------------------------------------------------
# the permutations
# --------------------------------------------------------------------------------------------------------


def _row_classes(X: np.ndarray) -> np.ndarray:
    """Class label per row: identical rows of X share a label (labels 0..C-1)."""
    _, labels = np.unique(X, axis=0, return_inverse=True)
    return labels.reshape(-1)


def _n_exact(res: RMAResult, classes: np.ndarray | None) -> int:
    if classes is None:
        return 2**res.k
    counts = np.bincount(classes)
    n = math.factorial(res.k)
    for c in counts:
        n //= math.factorial(int(c))
    return n


def _multiset_permutations(classes: np.ndarray) -> np.ndarray:
    """Every distinct arrangement of the class labels (N, k), built breadth-first with numpy."""
    counts0 = np.bincount(classes)
    seqs = np.zeros((1, 0), dtype=np.int32)
    remaining = counts0[None, :].copy()
    for _ in range(classes.size):
        rows, cls = np.nonzero(remaining > 0)
        seqs = np.column_stack([seqs[rows], cls.astype(np.int32)])
        remaining = remaining[rows].copy()
        remaining[np.arange(rows.size), cls] -= 1
    return seqs


def _inverse_from_arrangement(arrangements: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """For each arrangement s (rows of X[pi] have the classes s), the inverse of one such pi.

    Row i of the permuted design is the next unused original row of class s[i]; fitting (y, v, X[pi]) is the
    model fitted to (y[pi^-1], v[pi^-1], X).
    """
    by_class = np.argsort(classes, kind="stable")  # original rows grouped by class, in order
    slots = np.argsort(arrangements, axis=1, kind="stable")  # positions grouped by class, in order
    pi = np.empty_like(arrangements)
    np.put_along_axis(pi, slots, np.broadcast_to(by_class, arrangements.shape), axis=1)
    return np.argsort(pi, axis=1)


def _data_for(res: RMAResult, block: np.ndarray, sign_flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """(Y, V) for a block of permutations: sign vectors (B, k) or inverse row permutations (B, k)."""
    if sign_flip:
        return block * res.yi[None, :], np.broadcast_to(res.vi, block.shape)
    return res.yi[block], res.vi[block]


def permutest(
    res: RMAResult,
    *,
    iter: int | str = 1000,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    exact: bool = False,
    alternative: str = "two.sided",
    p2defn: str = "abs",
    stat: str = "test",
    comptol: float = COMPTOL,
    permci: bool | Sequence[int] = False,
    cialt: str = "one.sided",
    distfac: float = 1.0,
    tol: float = float(np.finfo(float).eps) ** 0.25,
    maxiter: int = 100,
    extend_int: bool = False,
) -> PermutationTest:
    """Permutation test of each coefficient and of the omnibus test (``permutest.rma.uni``).

    For an intercept-only model the signs of the effect sizes are permuted (under H0: mu = 0 each yi is
    symmetric about 0); for a meta-regression the rows of the moderators are shuffled against (yi, vi). Each
    permuted data set is refitted with the model's estimator and test, and the p-value is the share of
    permutations with ``|z_perm| >= |z_obs|`` (``QM_perm >= QM_obs`` for the omnibus test).

    Parameters
    ----------
    res : RMAResult
        The fitted model.
    iter : int or "exact", default 1000
        Number of random permutations (>= 2), or "exact" for all of them. An exact test is also run when it
        needs no more than ``iter`` permutations (2^k sign flips, or k!/prod(n_j!) distinct row orders).
    seed : int, optional
        Seed of numpy's default generator for the random draws (the draws differ from R's).
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch of refits.
    exact : bool, default False
        Run the exact test (the same as ``iter="exact"``).
    alternative : {"two.sided", "less", "greater"}, default "two.sided"
        Direction of the coefficient tests (metafor's ``control=list(alternative=)``).
    p2defn : {"abs", "px2"}, default "abs"
        Two-sided p-value as the share of ``|stat_perm| >= |stat|`` ("abs") or twice the smaller tail ("px2").
    stat : {"test", "coef"}, default "test"
        Compare test statistics or the coefficients themselves.
    comptol : float, default sqrt(eps)
        Tolerance of the comparisons.
    permci : bool or sequence of int, default False
        Permutation-based confidence intervals (all coefficients, or these 0-based ones), found by
        inverting the test with R's ``uniroot`` (metafor's ``permci``; each bound costs many tests).
    cialt, distfac, tol, maxiter, extend_int
        metafor's control settings of the CI search: one- or two-sided inversion ("one.sided" or
        "two.sided"), the width of the initial search interval in units of the distance from the
        estimate to the model-based bound, the root finder's tolerance and iterations, and whether the
        interval may be extended.

    Returns
    -------
    PermutationTest

    Raises
    ------
    InputError
        For an ``iter`` that is not an integer >= 2 or "exact", or an exact test over more than
        MAX_EXACT_PERMUTATIONS permutations.
    TooFewStudiesError
        For a model with no residual degrees of freedom (k = 1).

    References
    ----------
    Follmann & Proschan (1999) doi:10.1111/j.0006-341X.1999.00732.x; Higgins & Thompson (2004)
    doi:10.1002/sim.1752; Viechtbauer W (2010) doi:10.18637/jss.v036.i03.

    Examples
    --------
    >>> from regrow.meta._rma import rma
    >>> res = rma([0.3, 0.5, 0.2, 0.4, 0.6], [0.02, 0.03, 0.02, 0.04, 0.03], method="DL")
    >>> float(permutest(res, iter="exact").pval[0])  # 2 of the 32 sign vectors are as extreme
    0.0625
    """
    if getattr(res, "alpha_coef", None) is not None:
        raise InputError(
            "permutest() of location-scale models is not implemented; it permutes only rma() models "
            "without scale moderators.",
            field="res",
        )
    for name, value, allowed in (("alternative", alternative, ("two.sided", "less", "greater")),
                                 ("p2defn", p2defn, ("abs", "px2")), ("stat", stat, ("test", "coef")),
                                 ("cialt", cialt, ("one.sided", "two.sided"))):  # fmt: skip
        if value not in allowed:
            raise InputError.invalid(name, value, "one of " + ", ".join(allowed))
    if exact:
        iter = "exact"
    if res.k <= res.p:
        raise TooFewStudiesError(f"A permutation test needs more studies than coefficients (k = {res.k}).")
    exact_asked = isinstance(iter, str)
    if exact_asked:
        if iter != "exact":
            raise InputError.invalid("iter", iter, 'an integer >= 2 or "exact"')
        n_iter = 0
    else:
        if isinstance(iter, bool) or not isinstance(iter, int | np.integer) or iter < 2:
            raise InputError.invalid("iter", iter, 'an integer >= 2 or "exact"')
        n_iter = int(iter)
    sign_flip = res.intercept and res.p == 1
    classes = None if sign_flip else _row_classes(res.X)
    n_exact = _n_exact(res, classes)
    exact = exact_asked or n_exact <= n_iter
    if exact and n_exact > MAX_EXACT_PERMUTATIONS:
        raise InputError(
            f"An exact permutation test here needs {n_exact:.4g} refits, more than the "
            f"{MAX_EXACT_PERMUTATIONS} allowed; use a random test (iter=N).",
            field="iter",
            value=iter,
            allowed=f"an integer >= 2, or 'exact' for <= {MAX_EXACT_PERMUTATIONS}",
        )
    total = n_exact if exact else n_iter
    rng = None if exact else np.random.default_rng(seed)

    batched = res.method in _BATCHED and res.user_weights is None and res.weighted and not res.tau2_fixed
    engine = _stats_batched if batched else _stats_loop
    Z = np.empty((total, res.p))
    QM = np.empty(total)
    Bt = np.empty((total, res.p))
    arrangements = _multiset_permutations(classes) if (exact and not sign_flip) else None
    chunk = int(np.clip(CHUNK_WORK // (res.k * res.p * res.p), CHUNK_MIN, CHUNK_MAX))
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        n = stop - start
        if sign_flip:
            if exact:
                bits = (np.arange(start, stop)[:, None] >> np.arange(res.k)[None, :]) & 1
                block = 1.0 - 2.0 * bits
            else:
                block = rng.choice(np.array([-1.0, 1.0]), size=(n, res.k))
        elif exact:
            block = _inverse_from_arrangement(arrangements[start:stop], classes)
        else:
            # a uniform random row order; its inverse is uniform too, so draw the inverse directly
            block = rng.permuted(np.broadcast_to(np.arange(res.k), (n, res.k)), axis=1)
        Y, V = _data_for(res, block, sign_flip)
        Z[start:stop], QM[start:stop], Bt[start:stop] = engine(
            res, np.ascontiguousarray(Y), np.ascontiguousarray(V)
        )
        if progress is not None:
            progress(stop, total)
    if not exact:  # metafor counts the observed data as the first permutation
        Z[0], QM[0], Bt[0] = res.zval, res.QM, res.beta
    failed = ~np.isfinite(QM)
    perm = (Z if stat == "test" else Bt)[~failed]
    obs = np.asarray(res.zval if stat == "test" else res.beta, float)
    pval = _pvalues(perm, obs, alternative, p2defn, comptol)
    QMp = float(np.mean(QM[~failed] >= res.QM - comptol))
    ci_lb, ci_ub = np.asarray(res.ci_lb, float), np.asarray(res.ci_ub, float)
    warnings: list[str] = []
    if permci is not False:
        a = res.alpha
        if 1 / total > a / (1 if cialt == "one.sided" else 2):
            warnings.append(f"Cannot obtain {100 * (1 - a):g}% permutation-based CI; number of permutations "
                            f"({total}) too low.")  # fmt: skip
        else:
            coefs = range(res.p) if permci is True else sorted({int(j) for j in permci})
            if any(j < 0 or j >= res.p for j in coefs):
                raise InputError.invalid("permci", permci, f"True or 0-based coefficients below {res.p}")
            opts = {"iter": "exact" if exact else n_iter, "seed": seed, "p2defn": p2defn, "stat": stat,
                    "comptol": comptol}  # fmt: skip
            ci_lb, ci_ub = np.full(res.p, np.nan), np.full(res.p, np.nan)
            for j in coefs:
                ci_lb[j], ci_ub[j] = _permci(res, j, opts, cialt, distfac, tol, maxiter, extend_int)
    return PermutationTest(
        coef_names=list(res.coef_names),
        zval=np.array(res.zval, float),
        pval=pval,
        QM=float(res.QM),
        QMp=QMp,
        btt=tuple(res.btt),
        exact=bool(exact),
        iterations=int(total),
        n_failed=int(failed.sum()),
        seed=None if exact else seed,
        zval_perm=Z,
        QM_perm=QM,
        beta_perm=Bt,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        alternative=alternative,
        p2defn=p2defn,
        stat=stat,
        warnings=warnings,
    )


def _pvalues(perm: np.ndarray, obs: np.ndarray, alternative: str, p2defn: str, comptol: float) -> np.ndarray:
    """metafor's permutation p-values of each column of ``perm`` against ``obs``."""
    if alternative == "less":
        pval = np.mean(perm <= obs[None, :] + comptol, axis=0)
    elif alternative == "greater":
        pval = np.mean(perm >= obs[None, :] - comptol, axis=0)
    elif p2defn == "abs":
        pval = np.mean(np.abs(perm) >= np.abs(obs)[None, :] - comptol, axis=0)
    else:
        upper = obs > np.median(perm, axis=0)
        pval = np.where(upper, 2 * np.mean(perm >= obs[None, :] - comptol, axis=0),
                        2 * np.mean(perm <= obs[None, :] + comptol, axis=0))  # fmt: skip
    return np.minimum(pval, 1.0)


def _permci(res: RMAResult, j: int, opts: dict, cialt: str, distfac: float, tol: float, maxiter: int,
            extend: bool) -> tuple[float, float]:  # fmt: skip
    """Bounds of the permutation CI of coefficient ``j`` (metafor's ``.permci`` with ``uniroot``)."""
    from regrow.errors import RegrowError
    from regrow.meta._roots import uniroot

    level = res.alpha
    b = float(res.beta[j])

    def diff(val: float, alternative: str) -> float:
        shifted = res.refit(res.yi - val * res.X[:, j], res.vi, res.X, with_r2=False, btt=res.btt,
                            **({"tau2": res.tau2} if res.tau2_fixed else {}))  # fmt: skip
        p = permutest(shifted, alternative=alternative, **opts).pval[j]
        d = p - level / (1 if alternative == "two.sided" else 2)
        return d * 10 if d < 0 else d

    bounds = []
    for side, lo, hi, ext in (("greater", float(res.ci_lb[j]) - distfac * (b - float(res.ci_lb[j])), b, "upX"),
                              ("less", b, float(res.ci_ub[j]) + distfac * (float(res.ci_ub[j]) - b), "downX")):  # fmt: skip
        alt = side if cialt == "one.sided" else "two.sided"
        try:
            bounds.append(uniroot(lambda v, alt=alt: diff(v, alt), lo, hi, extend=ext if extend else "no", tol=tol,
                                  maxiter=maxiter))  # fmt: skip
        except (ValueError, RegrowError):
            bounds.append(float("nan"))
    return bounds[0], bounds[1]
