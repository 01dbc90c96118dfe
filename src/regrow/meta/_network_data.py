"""Network meta-analysis input: arm-level or contrast-level long data turned into study contrasts with their
sampling covariance matrices.

Each study contributes one row per non-baseline arm: the effect of that arm's treatment minus the study's
baseline treatment (``treat1`` minus ``treat2``). Contrasts of a multi-arm study share the baseline arm, so
they are correlated: their covariance is the sampling variance of the baseline arm (Gleser & Olkin 2009,
in Cooper, Hedges & Valentine (eds.), The Handbook of Research Synthesis and Meta-Analysis, ch. 19).

Arm-level measures (one row per arm):

=========  ==========================  ======================================================
measure    columns                     arm estimate (variance)
=========  ==========================  ======================================================
MD         mean, sd, n                 mean (sd^2 / n)
ROM        mean, sd, n                 log mean (sd^2 / (n mean^2))
OR         events, n                   log odds (1/x + 1/(n - x))
RR         events, n                   log risk (1/x - 1/n)
RD         events, n                   risk (p (1 - p) / n)
=========  ==========================  ======================================================

For OR, RR and RD, ``add`` (default 1/2) is added to the events and non-events of every arm of a study in
which some arm has no events or only events (``to="only0"``), or of every study (``to="all"``), as metafor's
``escalc(add = 1/2, to = "only0")`` and netmeta's ``pairwise`` do; a study whose arms all have no events (or
all have only events) carries no information about relative effects and is dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv_input import data_length
from regrow.meta._mv_terms import column

__all__ = ["ARM_MEASURES", "NetworkData", "network_arms", "network_contrasts"]

#: Arm-level outcome measures and the columns each needs.
ARM_MEASURES = {
    "MD": ("mean", "sd", "n"),
    "ROM": ("mean", "sd", "n"),
    "OR": ("events", "n"),
    "RR": ("events", "n"),
    "RD": ("events", "n"),
}
_ADD_TO = ("only0", "all", "none")


@dataclass(frozen=True)
class NetworkData:
    """Study contrasts of a network, rows of each study consecutive.

    Attributes
    ----------
    measure : str
        The effect measure (``"GEN"`` for contrast-level input of unknown type).
    study, treat1, treat2 : list of str
        Per row: the study and the compared treatments (``yi`` estimates treat1 minus treat2).
    yi : numpy.ndarray
    V_blocks : list of numpy.ndarray
        The sampling covariance matrix of each study's rows, in study order.
    arms : dict of str to list of str
        Each study's treatments, baseline first.
    arm_n : dict of (study, treatment) to float
        Participants per arm, when known (network plot node sizes).
    warnings : list of str
    """

    measure: str
    study: list[str]
    treat1: list[str]
    treat2: list[str]
    yi: np.ndarray
    V_blocks: list[np.ndarray]
    arms: dict[str, list[str]]
    arm_n: dict[tuple[str, str], float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def treatments(self) -> list[str]:
        return sorted({t for ts in self.arms.values() for t in ts})

    @property
    def studies(self) -> list[str]:
        return list(self.arms)

    def design(self, study: str, order: Sequence[str]) -> str:
        """The study's design: its treatments in the network order, joined by ':'."""
        pos = {t: i for i, t in enumerate(order)}
        return ":".join(sorted(self.arms[study], key=pos.__getitem__))

    def study_rows(self) -> dict[str, np.ndarray]:
        out: dict[str, list[int]] = {}
        for i, s in enumerate(self.study):
            out.setdefault(s, []).append(i)
        return {s: np.array(r) for s, r in out.items()}

    def rebased(self, baselines: dict[str, str]) -> NetworkData:
        """The same data with the named studies re-expressed against another of their arms.

        A study's contrasts ``y_t = d_t - d_b`` become ``y_t - y_a`` (and ``-y_a`` for the old baseline
        ``b``) against the new baseline ``a``; the covariance transforms as ``T V T'``.
        """
        rows = self.study_rows()
        study, t1, t2, ys, blocks, arms = [], [], [], [], [], {}
        for s, V in zip(self.arms, self.V_blocks, strict=True):
            r = rows[s]
            old_base = self.arms[s][0]
            others = [self.treat1[i] for i in r]
            y = self.yi[r]
            new_base = baselines.get(s, old_base)
            if new_base not in self.arms[s]:
                raise InputError(f"Study {s!r} has no arm {new_base!r}.", field="baseline")
            if new_base != old_base:
                a = others.index(new_base)
                new_others = [old_base] + [t for t in others if t != new_base]
                T = np.zeros((len(others), len(others)))
                for row, t in enumerate(new_others):
                    if t != old_base:
                        T[row, others.index(t)] = 1.0
                    T[row, a] -= 1.0
                y = T @ y
                V = T @ V @ T.T
                others = new_others
            study.extend([s] * len(others))
            t1.extend(others)
            t2.extend([new_base] * len(others))
            ys.append(y)
            blocks.append(V)
            arms[s] = [new_base, *others]
        return NetworkData(
            measure=self.measure,
            study=study,
            treat1=t1,
            treat2=t2,
            yi=np.concatenate(ys),
            V_blocks=blocks,
            arms=arms,
            arm_n=dict(self.arm_n),
            warnings=list(self.warnings),
        )


def _labels(values, name: str) -> list[str]:
    out = []
    for i, v in enumerate(np.asarray(values, dtype=object).tolist()):
        if v is None or (isinstance(v, float) and v != v) or str(v).strip() == "":
            raise InputError(f"{name} is missing in row {i + 1}.", field=name)
        out.append(str(v).strip())
    return out


def _numbers(values, name: str, k: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric.", field=name) from exc
    if arr.size != k:
        raise InputError(f"{name} has {arr.size} values but there are {k} rows.", field=name)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"{name} is missing or not finite in row {bad[0] + 1}.", field=name)
    return arr


def _resolve(value, data, k: int | None, name: str):
    if isinstance(value, str):
        n = k if k is not None else (data_length(data) or 0)
        return column(data, value, n, what=name)
    return value


def network_arms(
    study,
    treatment,
    *,
    measure: str,
    n,
    mean=None,
    sd=None,
    events=None,
    data=None,
    add: float = 0.5,
    to: str = "only0",
) -> NetworkData:
    """Network data from arm-level rows (one row per study arm).

    Parameters
    ----------
    study, treatment : array-like or str
        Study label and treatment of each arm (or column names in ``data``).
    measure : {"MD", "ROM", "OR", "RR", "RD"}
    n : array-like or str
        Participants per arm.
    mean, sd : array-like or str, optional
        Arm means and standard deviations (MD, ROM).
    events : array-like or str, optional
        Arm event counts (OR, RR, RD).
    data : DataFrame or dict of columns, optional
    add : float, default 0.5
        Continuity correction for binary measures.
    to : {"only0", "all", "none"}, default "only0"
        Which studies get ``add``: those with an arm without events (or with only events), all, or none.

    Returns
    -------
    NetworkData

    Raises
    ------
    InputError
        Unknown measure, missing columns or values, impossible counts (events > n, n <= 0, sd < 0, a mean <= 0
        for ROM), a study with one arm or a treatment twice in one study, a zero variance.
    """
    measure = str(measure).upper()
    if measure not in ARM_MEASURES:
        raise InputError.invalid("measure", measure, "one of " + ", ".join(ARM_MEASURES))
    if to not in _ADD_TO:
        raise InputError.invalid("to", to, "one of " + ", ".join(_ADD_TO))
    s_lab = _labels(_resolve(study, data, None, "study"), "study")
    k = len(s_lab)
    t_lab = _labels(_resolve(treatment, data, k, "treatment"), "treatment")
    if len(t_lab) != k:
        raise InputError(f"treatment has {len(t_lab)} values but study has {k}.", field="treatment")
    nn = _numbers(_resolve(n, data, k, "n"), "n", k)
    bad = np.flatnonzero(nn <= 0)
    if bad.size:
        raise InputError(f"n must be > 0; row {bad[0] + 1} has {nn[bad[0]]:g}.", field="n")
    if measure in ("MD", "ROM"):
        if mean is None or sd is None:
            raise InputError(f"measure {measure} needs mean= and sd= (and n=).", field="mean")
        m = _numbers(_resolve(mean, data, k, "mean"), "mean", k)
        s = _numbers(_resolve(sd, data, k, "sd"), "sd", k)
        bad = np.flatnonzero(s < 0)
        if bad.size:
            raise InputError(f"sd must be >= 0; row {bad[0] + 1} has {s[bad[0]]:g}.", field="sd")
        if measure == "MD":
            est, var = m, s**2 / nn
        else:
            bad = np.flatnonzero(m <= 0)
            if bad.size:
                raise InputError(f"ROM needs means > 0; row {bad[0] + 1} has {m[bad[0]]:g}.", field="mean")
            est, var = np.log(m), s**2 / (nn * m**2)
        groups = _group_arms(s_lab, t_lab)
        warnings: list[str] = []
    else:
        if events is None:
            raise InputError(f"measure {measure} needs events= (and n=).", field="events")
        x = _numbers(_resolve(events, data, k, "events"), "events", k)
        bad = np.flatnonzero((x < 0) | (x > nn))
        if bad.size:
            raise InputError(
                f"events must lie in [0, n]; row {bad[0] + 1} has {x[bad[0]]:g} of {nn[bad[0]]:g}.",
                field="events",
            )
        groups = _group_arms(s_lab, t_lab)
        est, var, warnings, groups = _binary_arms(measure, x, nn, groups, add, to)
    arm_n = {(s_lab[i], t_lab[i]): float(nn[i]) for i in range(k)}
    return _contrasts_from_arms(measure, groups, t_lab, est, var, arm_n, warnings)


def _group_arms(s_lab: list[str], t_lab: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(s_lab):
        groups.setdefault(s, []).append(i)
    for s, rows in groups.items():
        treats = [t_lab[i] for i in rows]
        if len(rows) < 2:
            raise InputError(
                f"Study {s!r} has a single arm ({treats[0]!r}); every study needs two or more.", field="study"
            )
        dup = {t for t in treats if treats.count(t) > 1}
        if dup:
            raise InputError(
                f"Study {s!r} lists treatment {sorted(dup)[0]!r} more than once.", field="treatment"
            )
    return groups


def _binary_arms(measure, x, nn, groups, add, to):
    x = x.astype(float).copy()
    nn = nn.astype(float).copy()
    warnings = []
    kept = {}
    for s, rows in groups.items():
        r = np.array(rows)
        if np.all(x[r] == 0) or np.all(x[r] == nn[r]):
            kind = "no events" if np.all(x[r] == 0) else "only events"
            warnings.append(
                f"Study {s!r} has {kind} in every arm and was left out (it carries no information)."
            )
            continue
        zero = np.any((x[r] == 0) | (x[r] == nn[r]))
        if to == "all" or (to == "only0" and zero):
            x[r] += add
            nn[r] += 2 * add
        kept[s] = rows
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            est, var = np.log(x / (nn - x)), 1 / x + 1 / (nn - x)
        elif measure == "RR":
            est, var = np.log(x / nn), 1 / x - 1 / nn
        else:
            p = x / nn
            est, var = p, p * (1 - p) / nn
    return est, var, warnings, kept


def _contrasts_from_arms(measure, groups, t_lab, est, var, arm_n, warnings) -> NetworkData:
    if not groups:
        raise InputError("No study is left to analyse.", field="study")
    order = sorted({t_lab[i] for rows in groups.values() for i in rows})
    pos = {t: i for i, t in enumerate(order)}
    study, t1, t2, ys, blocks, arms = [], [], [], [], [], {}
    for s, rows in groups.items():
        rows = sorted(rows, key=lambda i: pos[t_lab[i]])
        b, others = rows[0], rows[1:]
        zero = [t_lab[i] for i in rows if not np.isfinite(var[i]) or var[i] <= 0]
        if zero:
            raise InputError(
                f"Study {s!r}: the arm {zero[0]!r} has a sampling variance of 0 or an undefined one (check sd, n and "
                "events).",
                field="study",
            )
        for i in others:
            study.append(s)
            t1.append(t_lab[i])
            t2.append(t_lab[b])
            ys.append(est[i] - est[b])
        V = np.full((len(others), len(others)), var[b])
        V[np.diag_indices(len(others))] += var[others]
        blocks.append(V)
        arms[s] = [t_lab[i] for i in rows]
    return NetworkData(
        measure=measure,
        study=study,
        treat1=t1,
        treat2=t2,
        yi=np.array(ys),
        V_blocks=blocks,
        arms=arms,
        arm_n=arm_n,
        warnings=warnings,
    )


def network_contrasts(
    study,
    treat1,
    treat2,
    yi,
    vi,
    *,
    cov=None,
    data=None,
    measure: str = "GEN",
) -> NetworkData:
    """Network data from contrast-level rows (one row per comparison, ``yi`` = treat1 minus treat2).

    A multi-arm study gives one row per non-baseline arm, all against the same ``treat2`` (its baseline), and
    ``cov``: the covariance of its contrasts, i.e. the sampling variance of the baseline arm (e.g.
    ``sd_b^2 / n_b`` for mean differences, ``1/x_b + 1/(n_b - x_b)`` for log odds ratios).

    Parameters
    ----------
    study, treat1, treat2 : array-like or str
    yi, vi : array-like or str
        Contrast estimates and their sampling variances (> 0).
    cov : array-like or str, optional
        Per row, the covariance with the study's other contrasts (needed for studies with several rows).
    data : DataFrame or dict of columns, optional
    measure : str, default "GEN"
        A label for the effect measure (e.g. "MD", "OR"; ratio measures are on the log scale).

    Returns
    -------
    NetworkData

    Raises
    ------
    InputError
        Missing values, vi <= 0, a study whose rows do not share one baseline or compare a treatment with
        itself, a multi-arm study without ``cov``, or a covariance matrix that is not positive definite.
    """
    s_lab = _labels(_resolve(study, data, None, "study"), "study")
    k = len(s_lab)
    a = _labels(_resolve(treat1, data, k, "treat1"), "treat1")
    b = _labels(_resolve(treat2, data, k, "treat2"), "treat2")
    y = _numbers(_resolve(yi, data, k, "yi"), "yi", k)
    v = _numbers(_resolve(vi, data, k, "vi"), "vi", k)
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise InputError(f"vi must be > 0; row {bad[0] + 1} has {v[bad[0]]:g}.", field="vi")
    c = None if cov is None else _resolve(cov, data, k, "cov")
    if c is not None:
        c = np.asarray(c, dtype=float).reshape(-1)
        if c.size != k:
            raise InputError(f"cov has {c.size} values but there are {k} rows.", field="cov")
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(s_lab):
        groups.setdefault(s, []).append(i)
    study_out, t1, t2, ys, blocks, arms = [], [], [], [], [], {}
    for s, rows in groups.items():
        bases = {b[i] for i in rows}
        if len(bases) != 1:
            raise InputError(
                f"Study {s!r}: its rows compare against different treat2 values ({', '.join(sorted(bases))}); give "
                "every contrast of a multi-arm study against the same baseline arm.",
                field="treat2",
            )
        base = b[rows[0]]
        treats = [a[i] for i in rows]
        if base in treats or len(set(treats)) != len(treats):
            raise InputError(
                f"Study {s!r} compares a treatment with itself or lists it twice.", field="treat1"
            )
        V = np.diag(v[rows])
        if len(rows) > 1:
            if c is None or np.any(~np.isfinite(c[rows])):
                raise InputError(
                    f"Study {s!r} has {len(rows)} contrasts (a multi-arm study): give cov, the variance of its "
                    "baseline arm.",
                    field="cov",
                )
            for x_ in range(len(rows)):
                for y_ in range(len(rows)):
                    if x_ != y_:
                        V[x_, y_] = c[rows[x_]]
            if not np.allclose(V, V.T) or np.linalg.eigvalsh(V)[0] <= 0:
                raise InputError(
                    f"Study {s!r}: the covariance matrix of its contrasts is not positive definite (cov must be "
                    "the same on each of its rows and smaller than every vi).",
                    field="cov",
                )
        study_out.extend([s] * len(rows))
        t1.extend(treats)
        t2.extend([base] * len(rows))
        ys.append(y[rows])
        blocks.append(V)
        arms[s] = [base, *treats]
    return NetworkData(
        measure=str(measure).upper(),
        study=study_out,
        treat1=t1,
        treat2=t2,
        yi=np.concatenate(ys),
        V_blocks=blocks,
        arms=arms,
    )


def connected_components(net: NetworkData) -> list[list[str]]:
    """Groups of treatments linked through studies (one group for a connected network)."""
    parent = {t: t for t in net.treatments}

    def find(t: str) -> str:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for ts in net.arms.values():
        for t in ts[1:]:
            ra, rb = find(ts[0]), find(t)
            if ra != rb:
                parent[rb] = ra
    comps: dict[str, list[str]] = {}
    for t in net.treatments:
        comps.setdefault(find(t), []).append(t)
    return sorted(comps.values(), key=lambda c: (-len(c), c))


def describe(net: NetworkData) -> dict[str, Any]:
    """Counts for reports: studies, arms, treatments and direct comparisons."""
    edges: dict[tuple[str, str], int] = {}
    for ts in net.arms.values():
        for i, a in enumerate(ts):
            for b in ts[i + 1 :]:
                key = tuple(sorted((a, b)))
                edges[key] = edges.get(key, 0) + 1
    return {
        "studies": len(net.arms),
        "arms": sum(len(t) for t in net.arms.values()),
        "contrasts": len(net.study),
        "treatments": net.treatments,
        "multi_arm_studies": sum(len(t) > 2 for t in net.arms.values()),
        "direct_comparisons": {f"{a} vs {b}": n for (a, b), n in sorted(edges.items())},
    }
