"""Checking a network for inconsistency between direct and indirect evidence.

* Design-by-treatment interaction (Higgins et al. 2012, doi:10.1002/jrsm.1044; White et al. 2012,
  doi:10.1002/jrsm.1045): every design (set of treatments compared in a study) gets its own effect for each of
  its contrasts; the Wald test of those extra parameters, with tau^2 re-estimated under the inconsistency
  model, is a global test of consistency.
* Node splitting (Dias et al. 2010, doi:10.1002/sim.3767; van Valkenhoef et al. 2016,
  doi:10.1002/jrsm.1167): for each comparison A vs B with direct evidence, the studies comparing A and B
  are expressed against A and their B-vs-A contrasts get a separate parameter omega. The model then
  estimates the indirect effect d_B - d_A from the rest of the network, the direct one as d_B - d_A + omega,
  and omega is their difference (z test). Comparisons without indirect evidence (omega not estimable) are
  skipped.
* Random inconsistency effects (Law et al. 2016, doi:10.1186/s12874-016-0184-5): a second random term
  ``~ comp | design`` with correlation 1/2, whose variance gamma^2 measures inconsistency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv import MVResult
from regrow.meta._mv_dist import chi2_sf, crit_value, p_two_sided
from regrow.meta._network import NetworkResult, _check_treatment, contrast_matrix, fit_contrasts

__all__ = ["DesignByTreatment", "NodeSplit", "design_by_treatment", "node_split", "random_inconsistency"]


@dataclass(frozen=True)
class DesignByTreatment:
    """Global test of inconsistency: ``QM`` on ``df`` degrees of freedom (chi-square)."""

    QM: float
    df: int
    pval: float
    tau2: float
    designs: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class NodeSplit:
    """Direct and indirect estimates of ``treat1`` minus ``treat2`` and their difference."""

    treat1: str
    treat2: str
    n_studies: int
    direct: float
    direct_se: float
    indirect: float
    indirect_se: float
    network: float
    network_se: float
    diff: float
    diff_se: float
    zval: float
    pval: float
    diff_ci_lb: float
    diff_ci_ub: float
    tau2: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _designs(result: NetworkResult) -> list[str]:
    net = result.data
    by_study = {s: net.design(s, result.treatments) for s in net.arms}
    return [by_study[s] for s in net.study]


def design_by_treatment(result: NetworkResult) -> DesignByTreatment:
    """Design-by-treatment interaction test of a fitted network.

    Returns
    -------
    DesignByTreatment

    Raises
    ------
    InputError
        When no design adds a parameter (every contrast has only one source of evidence, so consistency
        cannot be tested).
    """
    net = result.data
    designs = _designs(result)
    X = contrast_matrix(net, result.treatments)
    keys = [f"{d}|{a}|{b}" for d, a, b in zip(designs, net.treat1, net.treat2, strict=True)]
    unique = list(dict.fromkeys(keys))
    X_inc = np.column_stack([[1.0 if k == u else 0.0 for k in keys] for u in unique])
    full = np.column_stack([X, X_inc])
    names = list(result.treatments[1:]) + [f"inc{j + 1}" for j in range(len(unique))]
    from regrow.meta._mv import _drop_redundant

    kept, kept_names, _ = _drop_redundant(full, names)
    inc = [j for j, n in enumerate(kept_names) if n.startswith("inc")]
    if not inc:
        raise InputError(
            "The network has no loop or multi-design comparison, so there is no inconsistency to test.",
            field="network",
        )
    fit = fit_contrasts(net, kept, kept_names, heterogeneity=result.heterogeneity, method=result.fit.method,
                        level=result.fit.level)  # fmt: skip
    b = fit.beta[inc]
    QM = float(b @ np.linalg.solve(fit.vb[np.ix_(inc, inc)], b))
    tau2 = float(fit.tau2[0]) if fit.tau2 is not None else 0.0
    return DesignByTreatment(QM, len(inc), float(chi2_sf(QM, len(inc))), tau2, sorted(set(designs)))


def node_split(result: NetworkResult, pairs: Sequence[tuple[str, str]] | None = None) -> list[NodeSplit]:
    """Split each comparison with direct evidence into its direct and indirect estimates.

    Parameters
    ----------
    result : NetworkResult
    pairs : sequence of (treat1, treat2), optional
        Comparisons to split (estimates are treat1 minus treat2); by default every pair of treatments
        compared directly in some study, taken in the network order.

    Returns
    -------
    list of NodeSplit
        One per split comparison (those without indirect evidence are left out).

    Raises
    ------
    InputError
        For an unknown treatment or a requested pair without direct evidence.
    """
    net = result.data
    order = result.treatments
    pos = {t: i for i, t in enumerate(order)}
    if pairs is None:
        todo = []
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                if any(a in arms and b in arms for arms in net.arms.values()):
                    todo.append((b, a))
        requested = False
    else:
        todo = []
        for t1, t2 in pairs:
            _check_treatment(t1, order, "treatment")
            _check_treatment(t2, order, "treatment")
            if not any(t1 in arms and t2 in arms for arms in net.arms.values()):
                raise InputError(f"No study compares {t1!r} with {t2!r} directly.", field="pairs")
            todo.append((t1, t2))
        requested = True
    out = []
    for t1, t2 in todo:
        # express each study holding both arms against the one earlier in the network order (as A)
        a, b = (t2, t1) if pos[t2] < pos[t1] else (t1, t2)
        studies = [s for s, arms in net.arms.items() if a in arms and b in arms]
        split_net = net.rebased({s: a for s in studies})
        X = contrast_matrix(split_net, order)
        omega = np.array(
            [1.0 if (x == b and y == a and s in studies) else 0.0
             for s, x, y in zip(split_net.study, split_net.treat1, split_net.treat2, strict=True)]
        )  # fmt: skip
        Xo = np.column_stack([X, omega])
        if np.linalg.matrix_rank(Xo) < Xo.shape[1]:
            if requested:
                raise InputError(f"{t1!r} vs {t2!r} has no indirect evidence to compare with.", field="pairs")
            continue
        fit = fit_contrasts(split_net, Xo, [*order[1:], "omega"], heterogeneity=result.heterogeneity,
                            method=result.fit.method, level=result.fit.level)  # fmt: skip
        out.append(_split_row(result, fit, t1, t2, a, b, len(studies)))
    return out


def _lincomb(fit: MVResult, x: np.ndarray) -> tuple[float, float]:
    return float(x @ fit.beta), float(np.sqrt(x @ fit.vb @ x))


def _split_row(result: NetworkResult, fit: MVResult, t1, t2, a, b, n_studies) -> NodeSplit:
    order = result.treatments
    others = list(order[1:])
    sign = 1.0 if (t1, t2) == (b, a) else -1.0  # estimates are t1 minus t2; the model's omega is b minus a
    x = np.array([(t == b) - (t == a) for t in others] + [0.0], dtype=float)
    indirect, ind_se = _lincomb(fit, sign * x)
    x_dir = x.copy()
    x_dir[-1] = 1.0
    direct, dir_se = _lincomb(fit, sign * x_dir)
    diff, diff_se = sign * fit.beta[-1], float(fit.se[-1])
    b_full, vb_full = result._full()
    i, j = order.index(t1), order.index(t2)
    net_est = float(b_full[i] - b_full[j])
    net_se = float(np.sqrt(vb_full[i, i] + vb_full[j, j] - 2 * vb_full[i, j]))
    crit = crit_value(fit.alpha)
    z = float(diff / diff_se)
    return NodeSplit(
        treat1=t1,
        treat2=t2,
        n_studies=n_studies,
        direct=direct,
        direct_se=dir_se,
        indirect=indirect,
        indirect_se=ind_se,
        network=net_est,
        network_se=net_se,
        diff=float(diff),
        diff_se=diff_se,
        zval=z,
        pval=float(p_two_sided(z)),
        diff_ci_lb=float(diff - crit * diff_se),
        diff_ci_ub=float(diff + crit * diff_se),
        tau2=float(fit.tau2[0]) if fit.tau2 is not None else 0.0,
    )


def random_inconsistency(result: NetworkResult) -> MVResult:
    """The random inconsistency effects model: ``random = [~ comp | study, ~ comp | design]`` (rho = phi = 1/2).

    Its ``gamma2`` is the inconsistency variance (0 under consistency).

    Returns
    -------
    MVResult

    Raises
    ------
    InputError
        For a fixed-effect network (there is no heterogeneity model to extend).
    """
    if result.heterogeneity == "fixed":
        raise InputError(
            "The random inconsistency model extends the random-effects network; refit with heterogeneity='common'.",
            field="heterogeneity",
        )
    net = result.data
    X = contrast_matrix(net, result.treatments)
    return fit_contrasts(net, X, list(result.treatments[1:]), heterogeneity="common", method=result.fit.method,
                         level=result.fit.level, extra_random=["~ comp | design"], design=_designs(result))  # fmt: skip
