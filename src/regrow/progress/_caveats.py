"""Caveats: the reasons to read a progress result with care, each in plain words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from regrow.progress import _constants as K
from regrow.progress._types import Caveat, ExpectedResponse, Observation, TreatmentContext

__all__ = ["series_caveats", "site_rename_caveats"]

# Sources of the caveat texts: /work/shared/research/clinical-notes.md sections 5.1-5.5 (Kunz 2009 seasonality,
# Price 1999 fade after stopping, Yonsei phototrichogram CVs, the split-scalp design).
_UNCONTROLLED = Caveat(
    "uncontrolled",
    "A before/after comparison on one person cannot separate micro-needling from minoxidil or finasteride, "
    "the season or regression to the mean; a split-scalp self-experiment (one side treated) can.",
)


def _autumn_months(hemisphere: str) -> tuple[int, ...]:
    north = K.AUTUMN_SHED_MONTHS_NORTH
    return north if hemisphere == "north" else tuple((m + 6 - 1) % 12 + 1 for m in north)


def series_caveats(
    obs_lists: Sequence[Sequence[Observation]],
    visit_dates: Sequence[dt.date],
    start: dt.date,
    ctx: TreatmentContext,
    expected: ExpectedResponse | None,
) -> list[Caveat]:
    """The caveats that apply to these measurements and this treatment context.

    Parameters
    ----------
    obs_lists : sequence of sequences of Observation
        The images of each site in the series.
    visit_dates : sequence of datetime.date
        The visit dates (one per site-visit).
    start : datetime.date
        Treatment start.
    ctx : TreatmentContext
        Minoxidil start, adherence, last session, hemisphere.
    expected : ExpectedResponse or None
        The trial-expected change, when the evidence review provided one.

    Returns
    -------
    list of Caveat
    """
    out: list[Caveat] = []
    obs = [o for lst in obs_lists for o in lst]
    last = max(visit_dates)
    if ctx.minoxidil_start is not None:
        weeks = [(d - ctx.minoxidil_start).days / 7.0 for d in visit_dates]
        lo, hi = K.MINOXIDIL_SHED_WEEKS
        if any(lo <= w <= hi for w in weeks):
            out.append(
                Caveat(
                    "minoxidil_shedding",
                    "Some measurements fall 2-8 weeks after starting minoxidil, when extra shedding "
                    "is common "
                    "and settles by 3-4 months (consumer and clinical summaries of minoxidil shedding).",
                )
            )
    autumn = _autumn_months(ctx.hemisphere)
    in_autumn = sorted({d.isoformat() for d in visit_dates if d.month in autumn})
    if in_autumn:
        out.append(
            Caveat(
                "autumn_shedding",
                f"Measurements on {', '.join(in_autumn[:4])}{' ...' if len(in_autumn) > 4 else ''} "
                "fall in the "
                "autumn shedding season (telogen peaks in July, shedding in October-November in the northern "
                "hemisphere; Kunz et al. 2009, 823 women); a dip then may be seasonal.",
            )
        )
    flagged = [o for o in obs if o.quality_flags]
    if flagged:
        flags = sorted({f for o in flagged for f in o.quality_flags})
        out.append(
            Caveat(
                "image_quality",
                f"{len(flagged)} of {len(obs)} images have quality problems ({', '.join(flags)}); "
                "their counts "
                "are less reliable.",
            )
        )
    if ctx.adherence is not None and ctx.adherence < K.LOW_ADHERENCE_FRACTION:
        out.append(
            Caveat(
                "low_adherence",
                f"Only {100 * ctx.adherence:.0f}% of the planned sessions were done; a weak result "
                "may reflect "
                "the missed sessions rather than the treatment.",
            )
        )
    for lst in obs_lists:
        devices = {o.device for o in lst if o.device}
        calib = {round(o.um_per_px, 3) for o in lst if o.um_per_px}
        if len(devices) > 1 or len(calib) > 1:
            site = lst[0].site if lst else "?"
            what = []
            if len(devices) > 1:
                what.append(f"devices {', '.join(sorted(devices))}")
            if len(calib) > 1:
                what.append(f"calibrations {', '.join(f'{c:g}' for c in sorted(calib))} um/px")
            out.append(
                Caveat(
                    "changed_device",
                    f"Site {site!r} was measured with different {' and '.join(what)}; a change of camera or "
                    "calibration shifts counts by itself.",
                )
            )
    if any(o.density_per_cm2 == 0 for o in obs):
        out.append(
            Caveat(
                "zero_counts",
                "Some images counted no hairs at all; check that they were measurable (focus, light, area).",
            )
        )
    if ctx.last_session is not None and (last - ctx.last_session).days > 8 * 7:
        out.append(
            Caveat(
                "treatment_paused",
                f"No session since {ctx.last_session.isoformat()}; gains from minoxidil were lost within "
                f"{K.STOPPED_FADE_WEEKS:.0f} weeks of stopping (Price et al. 1999, PMID 10534633), and micro-"
                "needling benefits may fade without ongoing treatment.",
            )
        )
    per_visit: dict[tuple[str, dt.date], int] = {}
    for o in obs:
        per_visit[(o.site, o.measured_on)] = per_visit.get((o.site, o.measured_on), 0) + 1
    if per_visit and max(per_visit.values()) == 1:
        out.append(
            Caveat(
                "no_replicates",
                "One image per visit: the measurement noise is taken from published repeatability "
                "(CV 2.6-9.8% in two-point "
                "phototrichograms), not from your own images. Two or three images per visit "
                "sharpen the answer.",
            )
        )
    if expected is None:
        out.append(
            Caveat(
                "no_expected",
                "No trial-expected response was available from the evidence review, so none is shown.",
            )
        )
    out.append(_UNCONTROLLED)
    return out


def site_rename_caveats(by_site: Mapping[str, Sequence[Observation]]) -> dict[str, list[Caveat]]:
    """Flag pairs of sites where one stops before the other begins: possibly one site renamed.

    Returns
    -------
    dict
        Site name -> caveats for that site.
    """
    spans = {
        s: (min(o.measured_on for o in obs), max(o.measured_on for o in obs)) for s, obs in by_site.items()
    }
    out: dict[str, list[Caveat]] = {}
    names = sorted(spans, key=lambda s: spans[s][0])
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if spans[a][1] < spans[b][0]:
                msg = (
                    f"Site {a!r} has no measurements after {spans[a][1].isoformat()} and site {b!r} "
                    "none before "
                    f"{spans[b][0].isoformat()}. If {b!r} is {a!r} renamed, analyse them together with "
                    f"--alias '{a}={b}'."
                )
                c = Caveat("possible_rename", msg)
                out.setdefault(a, []).append(c)
                out.setdefault(b, []).append(c)
    return out
