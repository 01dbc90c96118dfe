"""Maximising the (restricted) likelihood over the variance parameters.

Quasi-Newton (BFGS with the analytic gradient) from metafor's starting values, then Newton steps with a
Hessian from central differences of the analytic gradient, so that the optimum is found to about machine
precision rather than to the optimiser's stopping rule. Parameters on the boundary (a variance shrinking to
0, a correlation running to +/-1) are left to BFGS, as in metafor.
"""

from __future__ import annotations

import numpy as np

from regrow.errors import ConvergenceError, EstimationError
from regrow.meta._mv_lik import Evaluation, MarginalModel

__all__ = ["maximise"]

#: Largest BFGS iteration count before giving up.
MAX_ITER = 2000
#: A free parameter is polished by Newton steps unless it is this close to the edge of its transformed range.
_EDGE = 15.0
#: Gradient norm (in the transformed parameters) accepted as a stationary point.
GRAD_TOL = 1e-5


def maximise(model: MarginalModel, psi0: np.ndarray, *, what: str = "the variance components") -> np.ndarray:
    """The free transformed parameters that maximise the model's log-likelihood.

    Raises
    ------
    ConvergenceError
        When no stationary point is reached (the message names the parameters).
    EstimationError
        When the marginal covariance matrix is not positive definite at the starting values.
    """
    from scipy import optimize

    if model.n_free == 0:
        return np.zeros(0)
    scale = {"value": None}

    def objective(psi: np.ndarray):
        ev = model.evaluate(psi)
        if ev is None or not np.isfinite(ev.ll):
            # outside the positive-definite region: a wall the line search backs away from
            return 1e300, np.zeros_like(psi)
        if scale["value"] is None:
            scale["value"] = max(1.0, abs(ev.ll))
        return -ev.ll / scale["value"], -ev.grad / scale["value"]

    start = model.evaluate(psi0, gradient=False)
    if start is None:
        raise EstimationError(
            f"The marginal variance-covariance matrix is not positive definite at the starting values of {what} "
            f"({not_pd_where(model, psi0)}); check V there."
        )
    result = optimize.minimize(
        objective,
        psi0,
        jac=True,
        method="BFGS",
        options={"maxiter": MAX_ITER, "gtol": 1e-10, "norm": np.inf},
    )
    psi = np.asarray(result.x, dtype=float)
    psi = _newton_polish(model, psi)
    final = model.evaluate(psi)
    if final is None or not np.isfinite(final.ll):
        raise ConvergenceError(f"The optimiser for {what} left the positive-definite region.")
    interior = np.abs(psi) < _EDGE
    grad = np.abs(final.grad[interior]) / max(1.0, abs(final.ll))
    if grad.size and grad.max() > GRAD_TOL:
        raise ConvergenceError(
            f"The likelihood maximisation for {what} did not converge after {result.nit} iterations "
            f"(largest scaled gradient {grad.max():.2g}); try fixing a component or simplifying the random "
            "effects structure."
        )
    return psi


def not_pd_where(model: MarginalModel, psi: np.ndarray) -> str:
    """Which rows make the marginal covariance singular, for error messages."""
    rows = model.failing_rows(psi)
    if rows.size == 0:
        return "the moderators' weighted cross-product X'WX is singular"
    shown = ", ".join(str(int(r) + 1) for r in rows[:8]) + (", ..." if rows.size > 8 else "")
    zero = [int(r) + 1 for r in rows if model.blocks.groups and _row_variance(model, r) <= 0]
    note = f"; row {zero[0]} has a sampling variance of 0 and nothing else adds variance" if zero else ""
    return f"row{'s' if rows.size > 1 else ''} {shown}{note}"


def _row_variance(model: MarginalModel, row: int) -> float:
    for grp in model.blocks.groups:
        hit = np.argwhere(grp.rows == row)
        if hit.size:
            b, pos = hit[0]
            return float(grp.V[b, pos, pos])
    return float("nan")


def _newton_polish(model: MarginalModel, psi: np.ndarray, *, steps: int = 20) -> np.ndarray:
    """Newton iterations on the interior parameters with a finite-difference Hessian of the gradient."""
    current = model.evaluate(psi)
    if current is None:
        return psi
    for _ in range(steps):
        free = np.flatnonzero(np.abs(psi) < _EDGE)
        if free.size == 0:
            break
        hess = _hessian(model, psi, free)
        if hess is None:
            break
        g = current.grad[free]
        try:
            evals = np.linalg.eigvalsh(hess)
        except np.linalg.LinAlgError:
            break
        if not np.all(evals < 0):  # not at a local maximum in these directions: leave it to BFGS
            break
        step = -np.linalg.solve(hess, g)
        accepted = False
        for shrink in (1.0, 0.5, 0.25, 0.125):
            trial = psi.copy()
            trial[free] += shrink * step
            ev = model.evaluate(trial)
            if ev is not None and ev.ll >= current.ll - 1e-12 * max(1.0, abs(current.ll)):
                psi, current, accepted = trial, ev, True
                break
        if not accepted or np.max(np.abs(step)) < 1e-10:
            break
    return psi


def _hessian(model: MarginalModel, psi: np.ndarray, free: np.ndarray, h: float = 1e-5) -> np.ndarray | None:
    n = free.size
    hess = np.empty((n, n))
    for col, j in enumerate(free):
        up, down = psi.copy(), psi.copy()
        up[j] += h
        down[j] -= h
        e_up: Evaluation | None = model.evaluate(up)
        e_down = model.evaluate(down)
        if e_up is None or e_down is None:
            return None
        hess[:, col] = (e_up.grad[free] - e_down.grad[free]) / (2 * h)
    return (hess + hess.T) / 2
