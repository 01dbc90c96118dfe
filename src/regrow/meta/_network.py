"""Network meta-analysis as a contrast-based multivariate model (metafor's network examples).

The study contrasts ``y`` (treat1 minus treat2) are modelled as ``y = X d + u + e`` with ``d`` the effects of
every treatment against the reference, ``X`` holding +1 for treat1 and -1 for treat2, ``e ~ N(0, V)`` and
random effects ``u`` with ``random = ~ comp | study`` and a compound-symmetric structure whose correlation is
fixed at 1/2: one heterogeneity variance tau^2 for every comparison, consistent across multi-arm studies
(Salanti et al. 2008, doi:10.1177/0962280207080643; the dat.hasselblad1998 and dat.senn2013 examples of
metafor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv import MVResult, rma_mv
from regrow.meta._mv_dist import crit_value, p_two_sided
from regrow.meta._network_data import NetworkData, connected_components, describe

__all__ = ["NetworkEffects", "NetworkLeague", "NetworkResult", "network_meta"]

#: Heterogeneity models of :func:`network_meta`.
HETEROGENEITY = ("common", "fixed")
_RATIO = ("OR", "RR", "ROM")


@dataclass(frozen=True)
class NetworkEffects:
    """Every treatment against the reference (the reference itself included with 0)."""

    reference: str
    treatments: list[str]
    estimate: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    measure: str

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, t in enumerate(self.treatments):
            row = {
                "treatment": t,
                "estimate": float(self.estimate[i]),
                "se": float(self.se[i]),
                "ci_lb": float(self.ci_lb[i]),
                "ci_ub": float(self.ci_ub[i]),
                "pi_lb": float(self.pi_lb[i]),
                "pi_ub": float(self.pi_ub[i]),
                "zval": float(self.zval[i]),
                "pval": float(self.pval[i]),
            }
            if self.measure in _RATIO:
                row.update(
                    {
                        f"exp_{key}": float(np.exp(row[key]))
                        for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
                    }
                )
            rows.append(row)
        return {"reference": self.reference, "measure": self.measure, "effects": rows}


@dataclass(frozen=True)
class NetworkLeague:
    """All pairwise effects: ``estimate[i, j]`` is treatment i minus treatment j (on the analysis scale)."""

    treatments: list[str]
    estimate: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pval: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {k: (v if isinstance(v, list) else v.tolist()) for k, v in self.__dict__.items()}

    def table(self, *, digits: int = 2, transf=None) -> list[list[str]]:
        """The league table as text cells: treatments on the diagonal, cell (i, j) the effect of the row
        treatment against the column treatment with its confidence interval (``transf``, e.g. ``np.exp``,
        applied to estimate and bounds)."""
        t = len(self.treatments)
        f = transf or (lambda v: v)
        out = [["" for _ in range(t)] for _ in range(t)]
        for i in range(t):
            for j in range(t):
                if i == j:
                    out[i][j] = self.treatments[i]
                else:
                    out[i][j] = (
                        f"{f(self.estimate[i, j]):.{digits}f} ({f(self.ci_lb[i, j]):.{digits}f}, "
                        f"{f(self.ci_ub[i, j]):.{digits}f})"
                    )
        return out


@dataclass(frozen=True)
class NetworkResult:
    """A fitted network meta-analysis.

    Attributes
    ----------
    data : NetworkData
    fit : MVResult
        The contrast-based model (coefficients: non-reference treatments against the reference).
    treatments : list of str
        The reference first, then the others in sorted order.
    reference : str
    heterogeneity : {"common", "fixed"}
    tau2 : float
        The common between-study variance of every comparison (0 for ``"fixed"``).
    """

    data: NetworkData
    fit: MVResult
    treatments: list[str]
    reference: str
    heterogeneity: str
    tau2: float
    warnings: list[str] = field(default_factory=list)

    @property
    def measure(self) -> str:
        return self.data.measure

    def _full(self) -> tuple[np.ndarray, np.ndarray]:
        """Effects of every treatment against the reference (reference = 0) and their covariance."""
        t = len(self.treatments)
        b = np.zeros(t)
        vb = np.zeros((t, t))
        b[1:] = self.fit.beta
        vb[1:, 1:] = self.fit.vb
        return b, vb

    def effects(self, *, reference: str | None = None, level: float | None = None) -> NetworkEffects:
        """Each treatment against ``reference`` (default: the model's), with CIs and prediction intervals."""
        ref = (
            self.reference if reference is None else _check_treatment(reference, self.treatments, "reference")
        )
        r = self.treatments.index(ref)
        b, vb = self._full()
        L = np.eye(len(b))
        L[:, r] -= 1.0
        est = L @ b
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", L, vb, L), 0.0))
        alpha = self.fit.alpha if level is None else _alpha(level)
        crit = crit_value(alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, est / se, np.nan)
        spread = np.sqrt(se**2 + np.where(np.arange(len(b)) == r, 0.0, self.tau2))
        return NetworkEffects(
            reference=ref,
            treatments=list(self.treatments),
            estimate=est,
            se=se,
            ci_lb=est - crit * se,
            ci_ub=est + crit * se,
            pi_lb=est - crit * spread,
            pi_ub=est + crit * spread,
            zval=z,
            pval=np.asarray(p_two_sided(z), dtype=float),
            measure=self.measure,
        )

    def league(self, *, level: float | None = None) -> NetworkLeague:
        """All pairwise effects (row minus column) with confidence intervals and p-values."""
        b, vb = self._full()
        t = len(b)
        est = b[:, None] - b[None, :]
        var = np.diag(vb)[:, None] + np.diag(vb)[None, :] - 2 * vb
        se = np.sqrt(np.maximum(var, 0.0))
        alpha = self.fit.alpha if level is None else _alpha(level)
        crit = crit_value(alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, est / se, np.nan)
        pval = np.asarray(p_two_sided(z), dtype=float)
        pval[np.diag_indices(t)] = np.nan
        return NetworkLeague(list(self.treatments), est, se, est - crit * se, est + crit * se, pval)

    def rank(self, *, small_values: str = "bad", n_sim: int = 10_000, seed: int | None = 0):
        """P-scores and SUCRA with rank probabilities; see :func:`regrow.meta.network_rank`."""
        from regrow.meta._network_rank import network_rank

        return network_rank(self, small_values=small_values, n_sim=n_sim, seed=seed)

    def design_by_treatment(self):
        """Design-by-treatment interaction test; see :func:`regrow.meta.design_by_treatment`."""
        from regrow.meta._network_consistency import design_by_treatment

        return design_by_treatment(self)

    def node_split(self, pairs: Sequence[tuple[str, str]] | None = None):
        """Direct versus indirect evidence per comparison; see :func:`regrow.meta.node_split`."""
        from regrow.meta._network_consistency import node_split

        return node_split(self, pairs=pairs)

    def random_inconsistency(self):
        """The random inconsistency effects model; see :func:`regrow.meta.random_inconsistency`."""
        from regrow.meta._network_consistency import random_inconsistency

        return random_inconsistency(self)

    def plot(self, **options):
        """The network graph, the reference at the top; see :func:`regrow.meta.plot_network`."""
        from regrow.meta._network_plot import plot_network

        options.setdefault("order", list(self.treatments))
        return plot_network(self.data, **options)

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "reference": self.reference,
            "treatments": list(self.treatments),
            "heterogeneity": self.heterogeneity,
            "tau2": self.tau2,
            "network": describe(self.data),
            "fit": self.fit.to_dict(),
            "effects": self.effects().to_dict()["effects"],
            "warnings": list(self.warnings),
        }


def _alpha(level: float) -> float:
    from regrow.meta._mv_dist import level_alpha

    return level_alpha(level)


def _check_treatment(name: str, treatments: Sequence[str], what: str) -> str:
    if name not in treatments:
        raise InputError(
            f"Unknown {what} {name!r}; the network's treatments are {', '.join(treatments)}.",
            field=what,
            value=name,
        )
    return name


def treatment_order(net: NetworkData, reference: str | None) -> list[str]:
    """The reference first, then the other treatments in sorted order.

    Without a reference, the treatment in the most studies (ties: first in sorted order) is used.
    """
    treatments = net.treatments
    if reference is None:
        counts = {t: sum(t in arms for arms in net.arms.values()) for t in treatments}
        most = max(counts.values())
        reference = next(t for t in treatments if counts[t] == most)
    _check_treatment(reference, treatments, "reference")
    return [reference] + [t for t in treatments if t != reference]


def contrast_matrix(net: NetworkData, order: Sequence[str]) -> np.ndarray:
    """Design matrix: +1 for treat1, -1 for treat2, one column per non-reference treatment."""
    others = list(order[1:])
    X = np.zeros((len(net.study), len(others)))
    col = {t: j for j, t in enumerate(others)}
    for i, (a, b) in enumerate(zip(net.treat1, net.treat2, strict=True)):
        if a in col:
            X[i, col[a]] += 1.0
        if b in col:
            X[i, col[b]] -= 1.0
    return X


def fit_contrasts(net: NetworkData, X: np.ndarray, names: list[str], *, heterogeneity: str, method: str,
                  level: float, extra_random: Sequence[str] = (), design: Sequence[str] | None = None) -> MVResult:  # fmt: skip
    """The contrast-based model on ``net`` with design matrix ``X`` (no intercept)."""
    comp = [f"{a} vs {b}" for a, b in zip(net.treat1, net.treat2, strict=True)]
    data = {"comp": np.array(comp, dtype=object), "study": np.array(net.study, dtype=object)}
    if design is not None:
        data["design"] = np.array(design, dtype=object)
    if heterogeneity == "fixed":
        return rma_mv(net.yi, list(net.V_blocks), mods=X, mod_names=names, intercept=False, method="EE",
                      level=level)  # fmt: skip
    random = ["~ comp | study", *extra_random]
    extra = {"phi": 0.5} if extra_random else {}
    return rma_mv(net.yi, list(net.V_blocks), mods=X, mod_names=names, intercept=False, random=random,
                  struct="CS", rho=0.5, data=data, method=method, level=level, **extra)  # fmt: skip


def network_meta(
    net: NetworkData,
    *,
    reference: str | None = None,
    heterogeneity: str = "common",
    method: str = "REML",
    level: float = 95.0,
) -> NetworkResult:
    """Fit a network meta-analysis to study contrasts (from :func:`network_arms` or :func:`network_contrasts`).

    Parameters
    ----------
    net : NetworkData
    reference : str, optional
        The treatment every effect is expressed against (default: the one in the most studies).
    heterogeneity : {"common", "fixed"}, default "common"
        One between-study variance shared by all comparisons (random effects), or none (fixed effect).
    method : {"REML", "ML"}, default "REML"
    level : float, default 95

    Returns
    -------
    NetworkResult

    Raises
    ------
    InputError
        An unknown reference, an unknown heterogeneity model, or a network that is not connected (naming the
        separate groups of treatments).

    Examples
    --------
    >>> from regrow.meta import network_arms
    >>> net = network_arms(["s1", "s1", "s2", "s2", "s3", "s3"], ["A", "B", "B", "C", "A", "C"],
    ...                    measure="MD", mean=[1.0, 1.6, 1.5, 2.1, 0.9, 2.0], sd=[1.0] * 6, n=[40] * 6)
    >>> res = network_meta(net, reference="A", heterogeneity="fixed")
    >>> [round(float(x), 3) for x in res.effects().estimate]
    [0.0, 0.567, 1.133]
    """
    if heterogeneity not in HETEROGENEITY:
        raise InputError.invalid("heterogeneity", heterogeneity, "'common' or 'fixed'")
    comps = connected_components(net)
    if len(comps) > 1:
        groups = "; ".join("{" + ", ".join(c) + "}" for c in comps)
        raise InputError(
            f"The network is not connected: no study links these groups of treatments: {groups}. Analyse them "
            "separately or add a study that bridges them.",
            field="treatment",
        )
    order = treatment_order(net, reference)
    # each study against its arm that comes first in the network order (the reference where present): the
    # fit does not depend on this choice, but the REML log-likelihood's log|X'X| term does, and this is the
    # parametrisation of metafor's examples (to.wide(..., ref = reference))
    pos = {t: i for i, t in enumerate(order)}
    net = net.rebased({s: min(arms, key=pos.__getitem__) for s, arms in net.arms.items()})
    X = contrast_matrix(net, order)
    fit = fit_contrasts(net, X, order[1:], heterogeneity=heterogeneity, method=method, level=level)
    tau2 = float(fit.tau2[0]) if fit.tau2 is not None else 0.0
    return NetworkResult(
        data=net,
        fit=fit,
        treatments=order,
        reference=order[0],
        heterogeneity=heterogeneity,
        tau2=tau2,
        warnings=list(net.warnings) + list(fit.warnings),
    )
