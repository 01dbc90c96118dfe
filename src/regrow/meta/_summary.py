"""A plain-text summary of a fitted model, laid out like metafor's ``print.rma.uni``."""

from __future__ import annotations

import numpy as np

from regrow.meta._rma import RMAResult

__all__ = ["format_pval", "format_summary"]


def format_pval(p: float, digits: int = 4) -> str:
    """Format a p-value as metafor does: ``<.0001`` below the display precision, else fixed digits."""
    floor = 10.0**-digits
    if not np.isfinite(p):
        return "NA"
    if p < floor:
        return f"<.{'0' * (digits - 1)}1"
    return f"{p:.{digits}f}".replace("0.", ".", 1) if p < 1 else f"{p:.{digits}f}"


def _stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


def format_summary(res: RMAResult, *, digits: int = 4, pval_perm: np.ndarray | None = None) -> str:
    """Render the model as text: heterogeneity, tests and a coefficient table.

    Parameters
    ----------
    res : RMAResult
    digits : int, default 4
    pval_perm : ndarray, optional
        Permutation p-values per coefficient, shown as an extra column.

    Returns
    -------
    str
        Several lines, laid out like metafor's ``print.rma.uni``.
    """
    f = f"{{:.{digits}f}}"
    lines: list[str] = []
    kind = "Mixed-Effects" if res.p > int(res.intercept) else "Random-Effects"
    if res.is_random:
        lines.append(f"{kind} Model (k = {res.k}; tau^2 estimator: {res.method})")
    else:
        lines.append(f"Fixed-Effects {'with Moderators ' if res.p > 1 else ''}Model (k = {res.k})")
    lines.append("")
    resid = "residual " if res.p > int(res.intercept) else ""
    labelled: list[tuple[str, str]] = []
    if res.is_random:
        se = f" (SE = {f.format(res.se_tau2)})" if np.isfinite(res.se_tau2) else ""
        labelled += [
            (f"tau^2 (estimated amount of {resid or 'total '}heterogeneity):", f"{f.format(res.tau2)}{se}"),
            ("tau (square root of estimated tau^2 value):", f.format(res.tau)),
        ]
    if resid:
        labelled += [
            ("I^2 (residual heterogeneity / unaccounted variability):", f"{res.I2:.2f}%"),
            ("H^2 (unaccounted variability / sampling variability):", f"{res.H2:.2f}"),
        ]
    else:
        labelled += [
            ("I^2 (total heterogeneity / total variability):", f"{res.I2:.2f}%"),
            ("H^2 (total variability / sampling variability):", f"{res.H2:.2f}"),
        ]
    if res.R2 is not None:
        labelled.append(("R^2 (amount of heterogeneity accounted for):", f"{res.R2:.2f}%"))
    width = max(len(label) for label, _ in labelled)
    lines += [f"{label.ljust(width)} {value}" for label, value in labelled]
    lines += [
        "",
        f"Test for {'Residual ' if resid else ''}Heterogeneity:",
        f"QE(df = {res.k - res.p}) = {f.format(res.QE)}, p-val {_p_phrase(res.QEp, digits)}",
    ]
    if res.p > int(res.intercept):
        coefs = ",".join(str(j + 1) for j in res.btt)
        if res.ddf is None:
            stat = f"QM(df = {res.QMdf[0]}) = {f.format(res.QM)}"
        else:
            stat = f"F(df1 = {res.QMdf[0]}, df2 = {res.QMdf[1]}) = {f.format(res.QM)}"
        lines += [
            "",
            f"Test of Moderators (coefficient{'s' if len(res.btt) > 1 else ''} {coefs}):",
            f"{stat}, p-val {_p_phrase(res.QMp, digits)}",
        ]
    lines += ["", "Model Results:", ""]
    stat_name = "zval" if res.ddf is None else "tval"
    header = ["", "estimate", "se", stat_name, "pval"]
    if pval_perm is not None:
        header.append("pval_perm")
    header += ["ci.lb", "ci.ub", ""]
    rows = []
    for j, name in enumerate(res.coef_names):
        row = [
            name,
            f.format(res.beta[j]),
            f.format(res.se[j]),
            f.format(res.zval[j]),
            format_pval(res.pval[j], digits),
        ]
        if pval_perm is not None:
            row.append(format_pval(pval_perm[j], digits))
        row += [
            f.format(res.ci_lb[j]),
            f.format(res.ci_ub[j]),
            _stars(res.pval[j] if pval_perm is None else pval_perm[j]),
        ]
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        cells = [str(r[0]).ljust(widths[0])] + [
            str(c).rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)
        ]
        lines.append("  ".join([*cells, str(r[-1])]).rstrip())
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    if res.p == int(res.intercept) and res.intercept:
        pred = res.predict()
        lines += [
            "",
            f"Pooled estimate {f.format(pred.pred[0])} [{res.level:g}% CI "
            f"{f.format(pred.ci_lb[0])}, {f.format(pred.ci_ub[0])}]",
        ]
        if pred.pi_lb is not None:
            lines[-1] += f"; prediction interval {f.format(pred.pi_lb[0])} to {f.format(pred.pi_ub[0])}"
    for warning in res.warnings:
        lines.append(f"Warning: {warning}")
    return "\n".join(lines)


def _p_phrase(p: float, digits: int) -> str:
    text = format_pval(p, digits)
    return text.replace("<", "< ") if text.startswith("<") else f"= {text}"
