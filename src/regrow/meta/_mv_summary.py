"""Plain-text summaries of :func:`rma_mv` fits (laid out like metafor's ``print.rma.mv``) and of networks."""

from __future__ import annotations

import numpy as np

from regrow.meta._mv import MVResult
from regrow.meta._summary import format_pval

__all__ = ["format_mv_summary", "format_network_summary"]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" if i else f"{{:<{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*header), *(fmt.format(*r) for r in rows)]


def format_mv_summary(res: MVResult, *, digits: int = 4) -> str:
    """Render a multilevel/multivariate model: variance components, tests and coefficients.

    Parameters
    ----------
    res : MVResult
    digits : int, default 4

    Returns
    -------
    str
    """
    f = f"{{:.{digits}f}}"
    method = res.method
    lines = [f"Multivariate Meta-Analysis Model (k = {res.k}; method: {method})", ""]
    fs = res.fit_stats["REML" if method == "REML" else "ML"]
    lines += _table(
        ["logLik", "Deviance", "AIC", "BIC", "AICc"],
        [
            [
                f.format(fs["ll"]),
                f.format(fs["dev"]),
                f.format(fs["AIC"]),
                f.format(fs["BIC"]),
                f.format(fs["AICc"]),
            ]
        ],
    )
    if res.with_random:
        lines += ["", "Variance Components:", ""]
        rows = []
        for name, v, nl, fixed in zip(
            res.s_names, res.sigma2, res.s_nlevels, res.vc_fixed["sigma2"], strict=True
        ):
            rows.append(
                [f"sigma^2 ({name})", f.format(v), f.format(np.sqrt(v)), str(nl), "yes" if fixed else "no"]
            )
        if rows:
            lines += _table(["", "estim", "sqrt", "nlvls", "fixed"], rows)
        for term in res.structured_terms():
            v, r, levels = term["var"], term["cor"], term["levels"]
            vname, rname = ("tau^2", "rho") if term["key"] == "G" else ("gamma^2", "phi")
            lines += [
                "",
                f"outer factor: {term['names'][1]} (nlvls = {term['nlevels'][1]})",
                f"inner factor: {term['names'][0]} (nlvls = {term['nlevels'][0]}; struct = {term['struct']})",
                "",
            ]
            trows = []
            for j in range(v.size):
                label = f"{vname}.{j + 1} ({levels[j]})" if v.size > 1 else vname
                fixed = "yes" if term["var_fixed"][j] else "no"
                trows.append([label, f.format(v[j]), f.format(np.sqrt(v[j])), fixed])
            if term["struct"] not in ("ID", "DIAG"):
                for j in range(r.size):
                    label = rname if r.size == 1 else f"{rname}.{j + 1}"
                    trows.append([label, f.format(r[j]), "", "yes" if term["cor_fixed"][j] else "no"])
            lines += _table(["", "estim", "sqrt", "fixed"], trows)
    lines.append("")
    if np.isfinite(res.QE):
        lines += ["Test for Residual Heterogeneity:", f"QE(df = {res.k - res.p}) = {f.format(res.QE)}, p-val = "
                  f"{format_pval(res.QEp)}", ""]  # fmt: skip
    if res.p > int(res.intercept) or not res.intercept:
        coefs = ",".join(str(j + 1) for j in res.btt)
        if res.QMdf[1] is None:
            lines.append(f"Test of Moderators (coefficients {coefs}):")
            lines.append(f"QM(df = {res.QMdf[0]}) = {f.format(res.QM)}, p-val = {format_pval(res.QMp)}")
        else:
            lines.append(f"Test of Moderators (coefficients {coefs}):")
            lines.append(f"F(df1 = {res.QMdf[0]}, df2 = {res.QMdf[1]:g}) = {f.format(res.QM)}, p-val = "
                         f"{format_pval(res.QMp)}")  # fmt: skip
        lines.append("")
    stat = "tval" if res.test == "t" else "zval"
    rows = [
        [name, f.format(res.beta[j]), f.format(res.se[j]), f.format(res.zval[j]), format_pval(res.pval[j]),
         f.format(res.ci_lb[j]), f.format(res.ci_ub[j])]
        for j, name in enumerate(res.coef_names)
    ]  # fmt: skip
    lines += ["Model Results:", ""]
    lines += _table(["", "estimate", "se", stat, "pval", "ci.lb", "ci.ub"], rows)
    for w in res.warnings:
        lines.append(f"Note: {w}")
    return "\n".join(lines)


def format_network_summary(result, ranking=None, dbt=None, splits=None, *, digits: int = 3) -> str:
    """Render a network meta-analysis: effects against the reference, ranking and consistency checks.

    Parameters
    ----------
    result : NetworkResult
    ranking : NetworkRanking, optional
    dbt : DesignByTreatment, optional
    splits : list of NodeSplit, optional
    digits : int, default 3

    Returns
    -------
    str
    """
    f = f"{{:.{digits}f}}"
    eff = result.effects()
    ratio = result.measure in ("OR", "RR", "ROM")
    tr = np.exp if ratio else (lambda x: x)
    scale = (
        f" (exp: {result.measure})" if ratio else (f" ({result.measure})" if result.measure != "GEN" else "")
    )
    n_st = len(result.data.arms)
    lines = [
        f"Network meta-analysis: {n_st} studies, {len(result.treatments)} treatments, "
        f"{len(result.data.study)} contrasts; heterogeneity: {result.heterogeneity}"
        + (f", tau^2 = {result.tau2:.4f} ({result.fit.method})" if result.heterogeneity == "common" else ""),
        "",
        f"Effects against {result.reference}{scale}:",
    ]
    rows = [
        [t, f.format(tr(eff.estimate[i])), f"[{f.format(tr(eff.ci_lb[i]))}, {f.format(tr(eff.ci_ub[i]))}]",
         f"[{f.format(tr(eff.pi_lb[i]))}, {f.format(tr(eff.pi_ub[i]))}]", format_pval(eff.pval[i])]
        for i, t in enumerate(eff.treatments) if t != result.reference
    ]  # fmt: skip
    lines += _table(["treatment", "estimate", "95% CI", "95% PI", "pval"], rows)
    if ranking is not None:
        better = "larger" if ranking.small_values == "bad" else "smaller"
        lines += [
            "",
            f"Ranking ({better} effects are better; SUCRA from {ranking.n_sim} draws, seed {ranking.seed}):",
        ]
        order = np.argsort(-ranking.pscore, kind="stable")
        rows = [
            [ranking.treatments[i], f.format(ranking.pscore[i]), f.format(ranking.sucra[i]),
             f"{ranking.mean_rank[i]:.2f}", f"{ranking.rank_lb[i]:.0f}-{ranking.rank_ub[i]:.0f}"]
            for i in order
        ]  # fmt: skip
        lines += _table(["treatment", "P-score", "SUCRA", "mean rank", "95% rank"], rows)
    if dbt is not None:
        lines += [
            "",
            f"Design-by-treatment interaction: Q = {dbt.QM:.3f} on {dbt.df} df, p-val = {format_pval(dbt.pval)} "
            f"(tau^2 under inconsistency = {dbt.tau2:.4f})",
        ]
    if splits:
        lines += ["", "Node splitting (direct vs indirect):"]
        rows = [
            [f"{s.treat1} vs {s.treat2}", str(s.n_studies), f.format(tr(s.direct)), f.format(tr(s.indirect)),
             f.format(s.diff), format_pval(s.pval)]
            for s in splits
        ]  # fmt: skip
        lines += _table(["comparison", "studies", "direct", "indirect", "diff", "pval"], rows)
    for w in result.warnings:
        lines.append(f"Note: {w}")
    return "\n".join(lines)
