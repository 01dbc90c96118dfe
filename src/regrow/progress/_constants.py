"""Clinical and statistical constants of the progress model, each with its source.

Sources are summarised in ``../shared/research/clinical-notes.md`` (section numbers given below); the
primary references are cited where the notes name them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AUTUMN_SHED_MONTHS_NORTH",
    "BASELINE_GRACE_DAYS",
    "DECISION_WEEKS",
    "LOW_ADHERENCE_FRACTION",
    "MDC_Z",
    "MINOXIDIL_SHED_WEEKS",
    "MIN_VISITS",
    "MIN_WEEKS_FOR_VERDICT",
    "NATURAL_HISTORY",
    "PERCEPTIBLE_CHANGE_PCT",
    "REPEATABILITY_CV",
    "REPEATABILITY_CV_RANGE",
    "REPEATABILITY_PRIOR_DF",
    "STOPPED_FADE_WEEKS",
    "VISIT_RATIO_PRIOR_SCALE",
    "NaturalHistory",
]

#: Trials read out at 12 weeks at the earliest; judge no earlier (clinical-notes 1.1 "Design implications"
#: and 5.1: "Don't judge before about 12 weeks; trials read out at 12 weeks"). Also the issue's rule.
MIN_WEEKS_FOR_VERDICT = 12.0

#: "24 weeks or more for a real decision" (clinical-notes 1.1, design implications: trials ran 12-24 weeks).
#: Before this a flat result is called ``inconclusive``, not ``not_responding``.
DECISION_WEEKS = 24.0

#: Fewer distinct visit days than this is ``too_early`` (issue 6: "before 12 weeks, or fewer than 3 visits").
MIN_VISITS = 3

#: A visit up to this many days after the treatment start still counts as baseline. A design choice, not a
#: clinical constant: visible results take about 4 months (clinical-notes 5.1), so one week cannot show one.
BASELINE_GRACE_DAYS = 7

#: Minoxidil "dread shed": about 2-8 weeks after starting, settling by 3-4 months (clinical-notes 5.1;
#: secondary sources droracle.ai / perfecthairhealth.com, marked [AI-SUM/CONSUMER] there).
MINOXIDIL_SHED_WEEKS = (2.0, 8.0)

#: Telogen peaks in July, so most shedding is expected in October-November (Kunz et al. 2009, 823 women,
#: via a vendor summary; clinical-notes 5.1). Southern hemisphere: shifted by six months.
AUTUMN_SHED_MONTHS_NORTH = (10, 11)

#: Minoxidil gains were lost within 24 weeks of stopping (Price 1999, https://pubmed.ncbi.nlm.nih.gov/10534633/;
#: clinical-notes 5.2). Used to flag a stop in treatment as a reason for decline.
STOPPED_FADE_WEEKS = 24.0

#: Smallest density difference dermatologists perceive: 43.36 hairs/cm2 or 22.66% (100 of 120 dermatologists,
#: Canfield HairMetrix photos); patients: 22.78% (clinical-notes 5.4). Used as the "visible change" bar and as
#: the smallest response worth having when calling ``not_responding``.
PERCEPTIBLE_CHANGE_PCT = 22.66

#: Test-retest coefficient of variation of one target-area density measurement: two-point phototrichogram,
#: intra-investigator CV 2.6-9.8% (Yonsei; clinical-notes 2.4, 5.1, 5.3). The prior centre is the middle of
#: that range; its spread (see REPEATABILITY_PRIOR_DF) covers the range and a worse phone camera.
REPEATABILITY_CV_RANGE = (0.026, 0.098)
REPEATABILITY_CV = 0.06

#: Degrees of freedom of the scaled-inverse-chi-square prior on the measurement variance. With 4 df the
#: prior's central 90% for the CV runs from about 3.9% to 14% around a 6% scale: it covers the published
#: 2.6-9.8% range with room for worse home equipment. A modelling choice (no source gives a prior).
REPEATABILITY_PRIOR_DF = 4.0

#: Scale of the half-Cauchy prior on r = tau / sigma, the between-visit SD (relocation, hair length,
#: short-term biology) relative to the per-image measurement SD. A modelling choice (weakly informative,
#: Gelman 2006, doi:10.1214/06-BA117A): replicates on one day cannot see between-visit variation, so the
#: model never treats them as independent visits.
VISIT_RATIO_PRIOR_SCALE = 0.5

#: Minimal detectable change at 95%: MDC95 = 1.96 * sqrt(2) * SEM (clinical-notes 5.3; Jacobson & Truax 1991,
#: doi:10.1037/0022-006X.59.1.12).
MDC_Z = 1.96

#: Below this share of planned sessions done, a result is flagged "low adherence". A product convention (the
#: 80% bar is common in trials' per-protocol definitions), not a clinical constant from the notes.
LOW_ADHERENCE_FRACTION = 0.8


@dataclass(frozen=True)
class NaturalHistory:
    """Change in target-area hair density in a placebo or vehicle arm (hairs/cm2, mean and SD across people).

    Attributes
    ----------
    label : str
        Trial and arm.
    sex : str
        ``"male"`` or ``"female"``.
    weeks : float
        Trial duration in weeks.
    mean_change_per_cm2, sd_change_per_cm2 : float
        Mean and between-person SD of the change from baseline (hairs/cm2).
    n : int
        People analysed.
    source : str
        Where the numbers come from.
    """

    label: str
    sex: str
    weeks: float
    mean_change_per_cm2: float
    sd_change_per_cm2: float
    n: int
    source: str


#: Placebo/vehicle arms with a mean and SD (clinical-notes 5.2, table from PMC6691938 T0002/T0003).
#: Berger 2003 (-0.58, 26 weeks) has no SD and is not used for bands.
NATURAL_HISTORY: tuple[NaturalHistory, ...] = (
    NaturalHistory(
        "Olsen 2007, 5% minoxidil foam trial, vehicle arm",
        "male",
        16.0,
        4.7,
        19.7,
        172,
        "Olsen 2007 via https://pmc.ncbi.nlm.nih.gov/articles/PMC6691938/table/T0002",
    ),
    NaturalHistory(
        "Olsen 2002, 5% vs 2% minoxidil solution trial, placebo arm",
        "male",
        48.0,
        3.9,
        21.7,
        78,
        "Olsen 2002 via https://pmc.ncbi.nlm.nih.gov/articles/PMC6691938/table/T0002",
    ),
    NaturalHistory(
        "Lucky 2004, 5% vs 2% minoxidil in women, placebo arm",
        "female",
        48.0,
        9.4,
        14.6,
        51,
        "Lucky 2004 via https://pmc.ncbi.nlm.nih.gov/articles/PMC6691938/table/T0003",
    ),
)
