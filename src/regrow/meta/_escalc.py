"""Study-level effect sizes and sampling variances, matching R metafor 3.8-1 ``escalc``.

Public surface (exported by :mod:`regrow.evidence`): :func:`escalc`, :func:`escalc_frame`,
:class:`EffectSizes` and :data:`ESCALC_MEASURES`. The formulas live in ``_escalc_measures.py`` and the
boundary checks in ``_escalc_input.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from regrow.errors import DataFileError, InputError

from ._escalc_input import ARGUMENT_NAMES, to_float_array
from ._escalc_measures import MEASURES, MeasureSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ESCALC_MEASURES", "ESCALC_TO", "EffectSizes", "escalc", "escalc_frame"]

#: Supported measures (metafor names) and what they estimate.
ESCALC_MEASURES: dict[str, str] = {name: spec.description for name, spec in MEASURES.items()}
#: Allowed values of ``to`` (where the continuity correction ``add`` goes).
ESCALC_TO = ("only0", "all", "if0all", "none")


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effect sizes from :func:`escalc` (arrays are read-only).

    Attributes
    ----------
    measure : str
        The metafor measure name (``"SMD"``, ``"OR"``, ...).
    yi : numpy.ndarray
        Effect size per study, on the analysis scale (log scale for OR/RR/ROM/IRR, Fisher z for ZCOR);
        NaN where it cannot be computed.
    vi : numpy.ndarray
        Sampling variance of ``yi``; NaN where it cannot be computed.
    complete : numpy.ndarray of bool
        True where both ``yi`` and ``vi`` are finite, i.e. the study can enter a model.
    ni : numpy.ndarray
        Unadjusted total sample size per study (metafor's ``attr(yi, "ni")``; total person-time for
        IRR/IRD/IR/IRLN).
    reasons : tuple of str
        Why each study is incomplete (``""`` for complete studies).
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    complete: np.ndarray
    ni: np.ndarray
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "complete", "ni"):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.yi.shape[0])

    @property
    def sei(self) -> np.ndarray:
        """Standard errors ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    @property
    def incomplete_rows(self) -> list[int]:
        """0-based indices of the studies without a usable ``yi``/``vi``."""
        return [int(i) for i in np.flatnonzero(~self.complete)]

    def summary(self, level: float = 95.0, transf: Any = None) -> dict[str, np.ndarray]:
        """Per-study standard errors, z tests and confidence intervals (metafor's ``summary.escalc``).

        Parameters
        ----------
        level : float, default 95
            Confidence level in percent.
        transf : str or callable, optional
            Back-transformation of ``yi`` and the bounds (a ``transf.*`` name or a function).

        Returns
        -------
        dict
            ``yi``, ``vi``, ``sei``, ``zi``, ``pval``, ``ci_lb``, ``ci_ub`` (arrays).
        """
        from regrow.meta._dist import norm_ppf, norm_sf
        from regrow.meta._rma_result import alpha_of
        from regrow.meta._transf import resolve_transf

        crit = float(norm_ppf(1 - alpha_of(level) / 2))
        sei = self.sei
        with np.errstate(invalid="ignore", divide="ignore"):
            zi = self.yi / sei
        out = {
            "yi": self.yi.copy(),
            "vi": self.vi.copy(),
            "sei": sei,
            "zi": zi,
            "pval": 2 * norm_sf(np.abs(zi)),
            "ci_lb": self.yi - crit * sei,
            "ci_ub": self.yi + crit * sei,
        }
        func = resolve_transf(transf)
        if func is not None:
            for key in ("yi", "ci_lb", "ci_ub"):
                out[key] = np.asarray(func(out[key]), dtype=float)
            out["ci_lb"], out["ci_ub"] = (
                np.fmin(out["ci_lb"], out["ci_ub"]),
                np.fmax(out["ci_lb"], out["ci_ub"]),
            )
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``yi``, ``vi``, ``sei``, ``ni``, ``complete``, ``reason``.

        Returns
        -------
        pandas.DataFrame
            A new frame (the arrays are copied).
        """
        import pandas as pd

        return pd.DataFrame(
            {
                "yi": self.yi.copy(),
                "vi": self.vi.copy(),
                "sei": self.sei,
                "ni": self.ni.copy(),
                "complete": self.complete.copy(),
                "reason": list(self.reasons),
            }
        )


def _check_options(measure: Any, add: Any, to: Any, drop00: Any, vtype: Any) -> tuple[MeasureSpec, float]:
    if not isinstance(measure, str) or measure not in MEASURES:
        raise InputError.invalid("measure", measure, "one of " + ", ".join(MEASURES))
    spec = MEASURES[measure]
    if to not in ESCALC_TO:
        raise InputError.invalid("to", to, "one of " + ", ".join(ESCALC_TO))
    if not isinstance(drop00, bool | np.bool_):
        raise InputError.invalid("drop00", drop00, "True or False")
    if vtype not in spec.vtypes:
        raise InputError.invalid("vtype", vtype, f"one of {', '.join(spec.vtypes)} for measure {measure}")
    if add is None:
        add = spec.default_add
    if isinstance(add, bool) or not isinstance(add, int | float | np.integer | np.floating):
        raise InputError.invalid("add", add, "a number >= 0")
    add = float(add)
    if not np.isfinite(add) or add < 0:
        raise InputError.invalid("add", add, "a finite number >= 0")
    return spec, add


def _describe_required(spec: MeasureSpec) -> str:
    return ", ".join(alts[0] + "".join(f" (or {alt})" for alt in alts[1:]) for alts in spec.required)


def escalc(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    m1i: Any = None,
    m2i: Any = None,
    sd1i: Any = None,
    sd2i: Any = None,
    xi: Any = None,
    mi: Any = None,
    ri: Any = None,
    ti: Any = None,
    sdi: Any = None,
    r2i: Any = None,
    ni: Any = None,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    subset: Any = None,
    include: Any = None,
) -> EffectSizes:
    """Compute study-level effect sizes and sampling variances as metafor 3.8-1 ``escalc`` does.

    Argument names and meanings are metafor's. Missing cells (``None``/NaN) give NaN ``yi``/``vi`` for
    that study, as metafor's NA propagation does; they are flagged in ``complete`` and ``reasons``.

    Measures and their formulas (``n = n1i + n2i``; ``c(m)`` the exact Hedges correction
    ``exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))``; ``sp`` the pooled SD):

    * ``OR``  log odds ratio ``log(ai di / (bi ci))``, ``vi = 1/ai + 1/bi + 1/ci + 1/di``.
    * ``RR``  log risk ratio ``log(p1/p2)``, ``vi = 1/ai - 1/n1 + 1/ci - 1/n2``.
    * ``RD``  risk difference ``p1 - p2``, ``vi = p1(1-p1)/n1 + p2(1-p2)/n2`` (``UB``: divide by n-1).
      Zero cells (OR/RR/RD, PR/PLO, IRR...): ``add`` is added to every cell of the studies with a zero
      cell (``to="only0"``), to all studies (``"all"``), to all studies if any has a zero (``"if0all"``)
      or never (``"none"``); ``drop00=True`` drops studies with no events (or only events) in both groups.
    * ``MD``  ``m1i - m2i``, ``vi = sd1i²/n1i + sd2i²/n2i`` (``HO``: pooled SD).
    * ``SMD`` Hedges' g ``c(n-2) (m1i - m2i)/sp``; ``vi = 1/n1i + 1/n2i + g²/(2n)`` (``LS``), or
      ``1/n1i + 1/n2i + (1 - (m-2)/(m c(m)²)) g²`` (``UB``, m = n - 2).
    * ``ROM`` ``log(m1i/m2i)``, ``vi = sd1i²/(n1i m1i²) + sd2i²/(n2i m2i²)`` (means must be > 0).
    * ``ZCOR`` ``atanh(ri)``, ``vi = 1/(ni-3)``; ``COR`` ``ri``, ``vi = (1-ri²)²/(ni-1)``
      (metafor gives no variance for ni <= 4).
    * ``PR`` ``xi/ni``; ``PLO`` ``log(xi/mi)``, ``vi = 1/xi + 1/mi``; ``PFT`` Freeman-Tukey
      ``(asin sqrt(xi/(ni+1)) + asin sqrt((xi+1)/(ni+1)))/2``, ``vi = 1/(4ni+2)`` (``mi = ni - xi``).
    * ``IRR`` ``log((x1i/t1i)/(x2i/t2i))``, ``vi = 1/x1i + 1/x2i``; ``IRD`` rate difference;
      ``IR``/``IRLN`` a single rate (raw/log).
    * Paired designs, one group measured twice (``m1i``/``sd1i`` occasion 1, ``m2i``/``sd2i`` occasion
      2, ``ri`` their correlation): ``MC`` ``m1i - m2i``, ``vi = (sd1i² + sd2i² - 2 ri sd1i sd2i)/ni``;
      ``SMCC`` ``c(ni-1)(m1i - m2i)/sd_d`` with the change-score SD ``sd_d``, ``vi = 1/ni + y²/(2ni)``;
      ``SMCR`` ``c(ni-1)(m1i - m2i)/sd1i`` (``sd2i`` not needed), ``vi = 2(1-ri)/ni + y²/(2ni)``.

    Parameters
    ----------
    measure : str
        One of :data:`ESCALC_MEASURES`: every measure of metafor 3.8-1 but "GEN". Besides those listed
        above: 2x2 tables ``PETO``, ``AS``, ``PHI``, ``YUQ``, ``YUY``, ``RTET``, ``PBIT``, ``OR2D``,
        ``OR2DL``, ``OR2DN``; matched pairs ``MPRD``, ``MPRR``, ``MPOR``, ``MPORC``, ``MPPETO``, ``MPORM``;
        ``IRSD``; two groups ``SMDH``, ``SMD1``, ``SMD1H``, ``RPB``, ``RBIS``, ``D2OR``, ``D2ORL``, ``D2ORN``,
        ``CVR``, ``VR``; correlations ``UCOR``, ``PCOR``, ``ZPCOR``, ``SPCOR``; one group ``PLN``, ``PAS``,
        ``IRS``, ``IRFT``, ``MN``, ``MNLN``, ``CVLN``, ``SDLN``, ``SMN``; paired ``SMCRH``, ``ROMC``,
        ``CVRC``, ``VRC``; Cronbach's alpha ``ARAW``, ``AHW``, ``ABT``; ``REH``. The formulas are
        metafor's (see the modules ``_escalc_tables``, ``_escalc_moments`` and ``_escalc_other``).
    ai, bi, ci, di : array-like, optional
        2x2 cells: events / non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``).
    n1i, n2i : array-like, optional
        Group sizes (2x2 tables, where they replace ``bi``/``di``; two-group means).
    x1i, x2i, t1i, t2i : array-like, optional
        Events and person-time per group (IRR, IRD).
    m1i, m2i, sd1i, sd2i : array-like, optional
        Means and SDs: group 1 / group 2 (MD, SMD, ROM) or occasion 1 / occasion 2 (MC, SMCC, SMCR).
    xi, mi : array-like, optional
        Events and non-events (PR, PLO, PFT; ``mi = ni - xi`` when omitted); ``xi`` also for IR/IRLN.
    ri : array-like, optional
        Correlation coefficient (COR/ZCOR), or the pre-post correlation (MC, SMCC, SMCR), in [-1, 1].
    ti : array-like, optional
        Person-time (IR, IRLN, IRS, IRFT), or a t statistic (PCOR family; SMD, as an alternative to means).
    sdi : array-like, optional
        Standard deviation of one group (MN, MNLN, CVLN, SDLN, SMN).
    r2i : array-like, optional
        R^2 of the regression model (SPCOR).
    ni : array-like, optional
        Sample size (COR, ZCOR, PR family, paired designs).
    add : float, optional
        Continuity correction for zero cells; default metafor's: 1/2, but 0 for PFT.
    to : {"only0", "all", "if0all", "none"}
        Which studies get ``add``.
    drop00 : bool
        Drop studies with no events (or only events) in both groups (2x2 and IRR/IRD).
    vtype : str
        Variance estimator: ``"LS"`` large-sample (default) for every measure; ``"UB"`` unbiased for
        MD, SMD, RD, PR; ``"HO"`` homoscedastic for MD, ROM; ``"AV"`` averaged for SMD, RD, PR, PLO, COR;
        ``"LS2"`` for SMD, SMDH, SMCC, SMCR; ``"ST"``/``"CS"`` for PHI and RPB; ``"AVHO"`` for ROM.
    subset : sequence of int or bool, optional
        The studies to compute (0-based rows or a mask); only those are returned.
    include : sequence of int or bool, optional
        The studies to compute (rows of the data as given, before ``subset``); the others are returned with
        missing ``yi``/``vi``.

    Returns
    -------
    EffectSizes
        ``yi``, ``vi``, ``complete``, ``ni`` and ``reasons`` per study.

    Raises
    ------
    InputError
        Unknown measure/``to``/``vtype``; a required argument missing (the message lists the required
        ones); arguments of different lengths; a non-numeric or infinite cell; a negative count or SD;
        a sample size < 1; an event count above its group size (proportion outside [0, 1]); ``ri``
        outside [-1, 1]; non-positive person-time or (ROM) means. Row errors name the argument, the
        0-based row index and the value, and carry it in ``exc.row``.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
        doi:10.18637/jss.v036.i03 (``escalc``, metafor 3.8-1 ``R/escalc.r``)
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis. Wiley.
    Hedges LV (1981). J Educ Stat 6(2):107-128. doi:10.3102/10769986006002107
    Becker BJ (1988). Br J Math Stat Psychol 41:257-278. doi:10.1111/j.2044-8317.1988.tb00901.x
    Morris SB (2008). Organ Res Methods 11(2):364-386. doi:10.1177/1094428106291059
    """
    spec, add_value = _check_options(measure, add, to, drop00, vtype)
    given = {
        name: value
        for name, value in zip(
            ARGUMENT_NAMES,
            (
                ai,
                bi,
                ci,
                di,
                n1i,
                n2i,
                x1i,
                x2i,
                t1i,
                t2i,
                m1i,
                m2i,
                sd1i,
                sd2i,
                xi,
                mi,
                ri,
                ti,
                sdi,
                r2i,
                ni,
            ),
            strict=True,
        )
        if value is not None
    }
    missing = [alts for alts in spec.required if not any(a in given for a in alts)]
    if missing:
        lacking = ", ".join(" or ".join(alts) for alts in missing)
        raise InputError(
            f"Measure {measure} needs {_describe_required(spec)}; missing: {lacking}.",
            field=missing[0][0],
            allowed=_describe_required(spec),
        )
    used = [next(a for a in alts if a in given) for alts in spec.required]
    arrays = {name: to_float_array(name, value) for name, value in given.items()}
    lengths = {name: arr.shape[0] for name, arr in arrays.items()}
    odd = [name for name, n in lengths.items() if n != lengths[used[0]]]
    if odd:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise InputError(
            f"The arguments have different lengths ({detail}); {odd[0]} has {lengths[odd[0]]} values but "
            f"{used[0]} has {lengths[used[0]]}. Give one value per study for each.",
            field=odd[0],
            value=lengths[odd[0]],
        )
    # the measure functions only see what they use (e.g. bi wins over n1i, as in metafor)
    inputs = {name: arrays[name] for name in used}
    extras = spec.optional + (("n1i", "n2i") if spec.uses_add and "ai" in used else ())
    for extra in extras:  # group sizes are checked against the event counts; SMD takes di/ti
        if extra in arrays and extra not in inputs:
            inputs[extra] = arrays[extra]
    k_all = lengths[used[0]]
    included = None if include is None else _rows(include, k_all, "include")  # rows of the data as given
    if subset is not None:
        keep = _rows(subset, k_all, "subset")
        inputs = {name: arr[keep] for name, arr in inputs.items()}
        arrays = {name: arr[keep] for name, arr in arrays.items()}
        included = None if included is None else included[keep]
    raw = spec.compute(inputs, measure=measure, add=add_value, to=to, drop00=bool(drop00), vtype=vtype)

    yi, vi = np.asarray(raw.yi, dtype=np.float64).copy(), np.asarray(raw.vi, dtype=np.float64).copy()
    # metafor's clean-up: +-Inf or NaN in yi or vi -> both NA; negative vi -> NA
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi[bad] = np.nan
    vi[bad] = np.nan
    with np.errstate(invalid="ignore"):
        vi[vi < 0] = np.nan
    notes = dict(raw.notes)
    if included is not None:
        left_out = ~included
        yi[left_out] = np.nan
        vi[left_out] = np.nan
        notes = {"not in include": left_out, **notes}
    complete = np.isfinite(yi) & np.isfinite(vi)
    reasons = _reasons(complete, {name: arrays[name] for name in used}, notes)
    return EffectSizes(measure=measure, yi=yi, vi=vi, complete=complete, ni=raw.ni, reasons=reasons)


def _rows(selection: Any, k: int, name: str) -> np.ndarray:
    """A boolean mask from a mask or from 0-based row numbers (metafor's ``subset``/``include``)."""
    arr = np.asarray(selection)
    if arr.dtype == bool:
        if arr.shape != (k,):
            raise InputError(f"{name} has {arr.size} flags for {k} studies.", field=name)
        return arr
    idx = arr.astype(int).reshape(-1)
    if np.any((idx < 0) | (idx >= k)):
        raise InputError.invalid(name, arr.tolist(), f"0-based row numbers in [0, {k - 1}]")
    mask = np.zeros(k, dtype=bool)
    mask[idx] = True
    return mask


def _reasons(complete: np.ndarray, used: Mapping[str, np.ndarray], notes: Mapping[str, np.ndarray]) -> tuple:
    out = []
    for i, ok in enumerate(complete):
        if ok:
            out.append("")
            continue
        missing = [name for name, arr in used.items() if np.isnan(arr[i])]
        if missing:
            out.append("missing value in " + ", ".join(missing))
            continue
        why = next((text for text, mask in notes.items() if bool(mask[i])), None)
        out.append(why or "yi or vi is not finite for these values")
    return tuple(out)


def escalc_frame(
    df: pd.DataFrame,
    measure: str,
    columns: Mapping[str, str],
    *,
    path: str | None = None,
    var_names: tuple[str, ...] = ("yi", "vi"),
    add_measure: bool = False,
    replace: bool = True,
    append: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Apply :func:`escalc` to a table and return a copy with ``yi`` and ``vi`` appended.

    As metafor's ``escalc(..., data=)``: ``var_names`` names the two new columns (a third name, default
    ``"measure"``, holds the measure when ``add_measure``); with ``replace=False`` only missing values of
    existing columns are filled; ``include`` leaves the other rows as they were; ``subset`` keeps only those
    rows. The frame's ``attrs`` remember the effect-size columns (``yi_names``, ``vi_names``, newest first)
    and, per column, the measure and the sample sizes (``attrs["escalc"][name]``).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per study.
    measure : str
        The escalc measure (see :func:`escalc`).
    columns : mapping of str to str
        metafor argument name -> column name, e.g. ``{"ai": "tpos", "bi": "tneg", ...}``.
    path : str, optional
        File the table came from, named in error messages.
    **options
        ``add``, ``to``, ``drop00``, ``vtype`` as in :func:`escalc`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with columns ``yi`` and ``vi`` (replacing existing ones, as metafor does).

    Raises
    ------
    InputError
        An unknown argument name in ``columns``, or a bad option/measure.
    DataFileError
        A mapped column is missing, a cell is not numeric, or a value is out of range; the message names
        the column and the 1-based data row.
    """
    unknown_options = sorted(set(options) - {"add", "to", "drop00", "vtype", "subset", "include"})
    if unknown_options:
        raise InputError.invalid(
            "option", unknown_options[0], "one of add, to, drop00, vtype, subset, include"
        )
    # measure and options first, so that a typo there is not reported as a data problem
    _check_options(
        measure,
        options.get("add"),
        options.get("to", "only0"),
        options.get("drop00", False),
        options.get("vtype", "LS"),
    )
    if len(var_names) not in (2, 3):
        raise InputError.invalid("var_names", var_names, "two or three column names")
    unknown = [arg for arg in columns if arg not in ARGUMENT_NAMES]
    if unknown:
        raise InputError.invalid(
            "columns", unknown[0], "a metafor argument name: " + ", ".join(ARGUMENT_NAMES)
        )
    where = f"{path}: " if path else ""
    values: dict[str, np.ndarray] = {}
    for arg, col in columns.items():
        if col not in df.columns:
            raise DataFileError(
                f"{where}column {col!r} (for {arg}) not found; "
                f"the columns are: {', '.join(map(str, df.columns))}.",
                path=path,
                column=col,
            )
        values[arg] = _numeric_column(df[col], col, arg, where, path)
    try:
        result = escalc(measure, **values, **options)
    except InputError as exc:
        row = getattr(exc, "row", None)
        if row is None or exc.field not in columns:
            raise
        col = columns[exc.field]
        raise DataFileError(
            f"{where}column {col!r} ({exc.field}), data row {row + 1}: value {exc.value!r} is not allowed; "
            f"must be {exc.allowed}.",
            path=path,
            row=row + 1,
            column=col,
        ) from exc
    return _attach(df, result, measure, var_names, add_measure, replace, append, options)


def _attach(df, result, measure, var_names, add_measure, replace, append, options) -> pd.DataFrame:
    """metafor's bookkeeping when escalc writes into a data frame."""
    import pandas as pd

    yname, vname = var_names[0], var_names[1]
    mname = var_names[2] if len(var_names) == 3 else "measure"
    k = result.yi.shape[0]
    include = np.ones(k, dtype=bool)
    if options.get("include") is not None:
        include = _rows(options["include"], k, "include")
    base = (
        df
        if options.get("subset") is None
        else df.iloc[np.flatnonzero(_rows(options["subset"], len(df), "subset"))]
    )
    if not append:
        out = pd.DataFrame(
            {yname: np.where(include, result.yi, np.nan), vname: np.where(include, result.vi, np.nan)}
        )
        if add_measure:
            out[mname] = np.where(include & ~np.isnan(result.yi), measure, "")
        info = {"measure": measure, "ni": np.where(include, result.ni, np.nan)}
        out.attrs = {"yi_names": [yname], "vi_names": [vname], "escalc": {yname: info}}
        return out
    out = base.copy().reset_index(drop=True)
    out.attrs = {
        key: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
        for key, v in base.attrs.items()
    }
    y_replace = np.ones(k, dtype=bool) if replace or yname not in out else out[yname].isna().to_numpy()
    v_replace = np.ones(k, dtype=bool) if replace or vname not in out else out[vname].isna().to_numpy()
    for name, values, mask in (
        (yname, result.yi, include & y_replace),
        (vname, result.vi, include & v_replace),
    ):
        column = out[name].to_numpy(dtype=float).copy() if name in out else np.full(k, np.nan)
        column[mask] = values[mask]
        out[name] = column
    if add_measure:
        if replace or mname not in out:
            m_replace = np.ones(k, dtype=bool)
        else:
            m_replace = (out[mname].isna() | (out[mname] == "")).to_numpy()
        labels = (
            out[mname].fillna("").astype(str).to_numpy().copy()
            if mname in out
            else np.full(k, "", dtype=object)
        )
        labels[~np.isnan(result.yi) & include & m_replace] = measure
        out[mname] = labels
    info_all = dict(out.attrs.get("escalc", {}))
    previous = info_all.get(yname, {})
    ni = np.asarray(previous.get("ni", np.full(k, np.nan)), dtype=float).copy()
    ni[include & y_replace] = result.ni[include & y_replace]
    info_all[yname] = {"measure": measure, "ni": ni}
    out.attrs["escalc"] = info_all
    out.attrs["yi_names"] = [yname, *[n for n in out.attrs.get("yi_names", []) if n != yname and n in out]]
    out.attrs["vi_names"] = [vname, *[n for n in out.attrs.get("vi_names", []) if n != vname and n in out]]
    return out


def _numeric_column(series: pd.Series, col: str, arg: str, where: str, path: str | None) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataFileError(
            f"{where}column {col!r} ({arg}) holds true/false values; it must be numeric.",
            path=path,
            column=col,
        )
    if pd.api.types.is_numeric_dtype(series.dtype):
        arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        cleaned = series.map(lambda v: np.nan if isinstance(v, str) and not v.strip() else v)
        arr = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.isnan(arr) & cleaned.notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise DataFileError(
                f"{where}column {col!r} ({arg}), data row {i + 1}: {series.iloc[i]!r} is not a number.",
                path=path,
                row=i + 1,
                column=col,
            )
    inf = np.flatnonzero(np.isinf(arr))
    if inf.size:
        i = int(inf[0])
        raise DataFileError(
            f"{where}column {col!r} ({arg}), data row {i + 1}: {arr[i]!r} is not a finite number.",
            path=path,
            row=i + 1,
            column=col,
        )
    return arr
