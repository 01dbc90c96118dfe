"""``regrow evidence --export-r DIR``: the data and an R script with which metafor reproduces every estimate.

The folder gets:

* ``effects.csv``: every study effect of the pairwise review (``effect_id``, comparison, study, ``yi``, ``vi``
  on the analysis scale, log for ratios, at full precision, and the numeric moderators);
* ``pools.csv``: every pooled set of effects (main analysis, without imputed studies, leave-one-out, subgroups,
  meta-regressions), naming its effects;
* ``networks.csv``, ``network_contrasts.csv`` and ``network_V_<network>_<part>.csv``: each fitted part of each
  network, its study contrasts (each study against its first arm in the network order, as fitted) and their
  sampling covariance matrix;
* ``regrow_results.csv``: regrow's numbers, one ``key,value`` row each;
* ``reproduce.R``: refits everything with metafor, writes ``metafor_results.csv`` with the same keys and prints
  the largest relative difference.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from scipy.linalg import block_diag

from regrow.evidence._review import SUBGROUP_MIN_PER_LEVEL, pool

__all__ = ["export_r", "regrow_numbers"]

_MODERATORS = ("needle_length_mm", "interval_days", "duration_weeks")


def _effect_ids(r) -> list[str]:
    return [f"{r.comparison.id}#{i + 1}" for i in range(len(r.effects))]


def _pooled_values(key: str, p) -> dict[str, float]:
    out = {f"{key}/estimate": p.estimate, f"{key}/se": p.se, f"{key}/ci_lb": p.ci_lb, f"{key}/ci_ub": p.ci_ub}
    if p.k >= 2:
        out.update(
            {f"{key}/pi_lb": p.pi_lb, f"{key}/pi_ub": p.pi_ub, f"{key}/tau2": p.tau2, f"{key}/I2": p.I2}
        )
    return out


def _pools(results) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Every pooled set of the pairwise review, and regrow's numbers for it."""
    pools: list[dict[str, Any]] = []
    values: dict[str, float] = {}

    def add(pool_id: str, r, members: list[int], kind: str, p, moderator: str = "") -> None:
        ids = _effect_ids(r)
        pools.append(
            {
                "pool_id": pool_id,
                "comparison": r.comparison.id,
                "kind": kind,
                "moderator": moderator,
                "effects": ";".join(ids[i] for i in members),
            }
        )
        if p is not None:
            values.update(_pooled_values(f"pairwise/{pool_id}", p))

    for r in results:
        cid = r.comparison.id
        effects = list(r.effects)
        if not effects:
            continue
        add(f"{cid}/main", r, list(range(len(effects))), "main", r.pooled)
        clean = [i for i, e in enumerate(effects) if not e.is_imputed]
        if r.imputed_studies and clean:
            add(f"{cid}/without_imputed", r, clean, "without_imputed", r.sensitivity)
        for i, (sid, p) in enumerate(r.leave_one_out):
            add(
                f"{cid}/leave_out_{i + 1}_{sid}",
                r,
                [j for j in range(len(effects)) if j != i],
                "leave_one_out",
                p,
            )
        for m in r.moderators:
            name = m["moderator"]
            with_value = [i for i, e in enumerate(effects) if e.moderators.get(name) is not None]
            if "slope" in m:
                pools.append(
                    {
                        "pool_id": f"{cid}/metareg_{name}",
                        "comparison": cid,
                        "kind": "metareg",
                        "moderator": name,
                        "effects": ";".join(_effect_ids(r)[i] for i in with_value),
                    }
                )
                values.update(
                    {
                        f"pairwise/{cid}/metareg_{name}/slope": m["slope"],
                        f"pairwise/{cid}/metareg_{name}/slope_ci_lb": m["ci_lb"],
                        f"pairwise/{cid}/metareg_{name}/slope_ci_ub": m["ci_ub"],
                        f"pairwise/{cid}/metareg_{name}/slope_pval": m["p"],
                    }
                )
            elif "subgroups" in m:
                groups: dict[str, list[int]] = {}
                for i in with_value:
                    groups.setdefault(str(effects[i].moderators[name]), []).append(i)
                for level, members in groups.items():
                    if len(members) >= SUBGROUP_MIN_PER_LEVEL:
                        add(
                            f"{cid}/subgroup_{name}_{level}",
                            r,
                            members,
                            "subgroup",
                            pool([effects[i] for i in members]),
                            name,
                        )
    return pools, values


def _network_parts(networks) -> tuple[list[dict], list[dict], dict[str, np.ndarray], dict[str, float]]:
    index, contrasts, matrices, values = [], [], {}, {}
    for nr in networks:
        for part, comp in enumerate(nr.components, 1):
            if comp.result is None:
                continue
            net = comp.result.data
            v_file = f"network_V_{nr.spec.id}_{part}.csv"
            index.append(
                {
                    "network": nr.spec.id,
                    "part": part,
                    "measure": nr.spec.measure,
                    "reference": comp.reference,
                    "treatments": ";".join(comp.treatments),
                    "small_values": nr.spec.small_values,
                    "V_file": v_file,
                }
            )
            for s, a, b, y in zip(net.study, net.treat1, net.treat2, net.yi, strict=True):
                contrasts.append(
                    {
                        "network": nr.spec.id,
                        "part": part,
                        "study": s,
                        "treat1": a,
                        "treat2": b,
                        "yi": repr(float(y)),
                    }
                )
            matrices[v_file] = block_diag(*net.V_blocks)
            values.update(_network_values(f"network/{nr.spec.id}/{part}", comp))
    return index, contrasts, matrices, values


def _network_values(key: str, comp) -> dict[str, float]:
    out = {f"{key}/tau2": comp.tau2}
    eff = comp.effects
    for i, t in enumerate(comp.treatments):
        for name in ("estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            out[f"{key}/effect/{t}/{name}"] = float(getattr(eff, name)[i])
        if i > 0:
            out[f"{key}/predict/{t}/pi_lb"] = float(eff.pi_lb[i])
            out[f"{key}/predict/{t}/pi_ub"] = float(eff.pi_ub[i])
    lg = comp.league
    for i, a in enumerate(comp.treatments):
        for j, b in enumerate(comp.treatments):
            if i != j:
                out[f"{key}/league/{a}/{b}/estimate"] = float(lg.estimate[i, j])
                out[f"{key}/league/{a}/{b}/se"] = float(lg.se[i, j])
        out[f"{key}/pscore/{a}"] = float(comp.ranking.pscore[i])
    dbt = comp.design_by_treatment
    if dbt is not None:
        out.update({f"{key}/dbt/QM": dbt.QM, f"{key}/dbt/df": float(dbt.df), f"{key}/dbt/pval": dbt.pval})
    for row in comp.node_split:
        k = f"{key}/split/{row.treat1}/{row.treat2}"
        out.update(
            {
                f"{k}/direct": row.direct,
                f"{k}/indirect": row.indirect,
                f"{k}/diff": row.diff,
                f"{k}/diff_se": row.diff_se,
                f"{k}/pval": row.pval,
            }
        )
    return out


def regrow_numbers(full) -> dict[str, float]:
    """Every number that ``reproduce.R`` refits, keyed as in ``regrow_results.csv`` (analysis scale)."""
    _, values = _pools(full.results)
    values.update(_network_parts(full.networks)[3])
    return values


def _write(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def export_r(full, out_dir: str | Path) -> Path:
    """Write the data, regrow's numbers and ``reproduce.R`` into ``out_dir``.

    Parameters
    ----------
    full : FullReview
    out_dir : str or Path
        Created when missing.

    Returns
    -------
    Path
        The path of ``reproduce.R``.
    """
    from regrow.evidence._export_r_script import R_SCRIPT

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    effects = []
    for r in full.results:
        for eid, e in zip(_effect_ids(r), r.effects, strict=True):
            row = {
                "effect_id": eid,
                "comparison": r.comparison.id,
                "study_id": e.study_id,
                "measure": e.measure,
                "yi": repr(float(e.yi)),
                "vi": repr(float(e.vi)),
                "imputed": e.is_imputed,
            }
            row.update({m: ("" if e.moderators.get(m) is None else e.moderators[m]) for m in _MODERATORS})
            effects.append(row)
    _write(
        out / "effects.csv",
        effects,
        ["effect_id", "comparison", "study_id", "measure", "yi", "vi", "imputed", *_MODERATORS],
    )
    pools, values = _pools(full.results)
    _write(out / "pools.csv", pools, ["pool_id", "comparison", "kind", "moderator", "effects"])
    index, contrasts, matrices, net_values = _network_parts(full.networks)
    values.update(net_values)
    _write(
        out / "networks.csv",
        index,
        ["network", "part", "measure", "reference", "treatments", "small_values", "V_file"],
    )
    _write(out / "network_contrasts.csv", contrasts, ["network", "part", "study", "treat1", "treat2", "yi"])
    for name, V in matrices.items():
        with open(out / name, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows([[repr(float(x)) for x in row] for row in V])
    _write(
        out / "regrow_results.csv",
        [{"key": k, "value": repr(float(v))} for k, v in values.items()],
        ["key", "value"],
    )
    script = out / "reproduce.R"
    script.write_text(R_SCRIPT, encoding="utf-8")
    return script
