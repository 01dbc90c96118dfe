"""The overall verdict, derived from the site verdicts by one stated rule (:data:`VERDICT_RULE`).

The overall answer is never computed independently of the sites: pooling every site can find a small common
change that no single site shows, and a site with too little data (measured for the first time last month)
would then decide the answer for the whole scalp. Instead only sites with enough data count, and the overall
verdict says what they say.
"""

from __future__ import annotations

from collections.abc import Sequence

from regrow.progress._types import SiteProgress, Verdict

__all__ = ["VERDICT_LABELS", "VERDICT_RULE", "combine_site_verdicts"]

#: Plain words for each verdict (as the reason text uses them).
VERDICT_LABELS = {
    Verdict.TOO_EARLY: "too early",
    Verdict.RESPONDING: "responding",
    Verdict.NOT_RESPONDING: "not responding",
    Verdict.INCONCLUSIVE: "inconclusive",
    Verdict.DECLINING: "declining",
}

#: The rule, stated once; the report carries it and docs/progress.md explains it.
VERDICT_RULE = (
    "The overall verdict follows the site verdicts. Only sites with enough data count: a measurement before "
    "the treatment started, at least 3 visits over 12 weeks or more, and a trend that could be estimated; "
    "other sites are listed but cannot change the overall verdict. Among the sites that count: Declining "
    "when at least one is declining and none is responding; Responding when at least one is responding and "
    "none is declining; Inconclusive when one is responding and another declining (the sites disagree); Not "
    "responding when every one is not responding; otherwise Inconclusive. When no site counts: Too early "
    "when any site is too early, else Inconclusive."
)


def _mention(sites: Sequence[SiteProgress]) -> str:
    return ", ".join(f"{s.site!r} ({VERDICT_LABELS[s.verdict]})" for s in sites)


def combine_site_verdicts(sites: Sequence[SiteProgress]) -> tuple[Verdict, str]:
    """The overall verdict and its reason from the site verdicts, by :data:`VERDICT_RULE`.

    Parameters
    ----------
    sites : sequence of SiteProgress
        Every analysed site; ``enough_data`` says which count.

    Returns
    -------
    (Verdict, str)
        The verdict and a reason that names every site once, as ``'name' (its verdict)``, under "Counted"
        or "Not counted (too little data)".

    Examples
    --------
    With no site at all the answer is "too early":

    >>> combine_site_verdicts([])[0].value
    'too_early'
    """
    if not sites:
        return Verdict.TOO_EARLY, "Too early to tell overall: there are no measurements yet."
    counted = [s for s in sites if s.enough_data]
    thin = [s for s in sites if not s.enough_data]
    kinds = {s.verdict for s in counted}
    if not counted:
        if any(s.verdict is Verdict.TOO_EARLY for s in thin):
            verdict, why = Verdict.TOO_EARLY, "Too early to tell overall: no site has enough data yet."
        else:
            verdict, why = (
                Verdict.INCONCLUSIVE,
                "Inconclusive overall: no site has enough data for a verdict.",
            )
    elif Verdict.RESPONDING in kinds and Verdict.DECLINING in kinds:
        verdict, why = (
            Verdict.INCONCLUSIVE,
            "Inconclusive overall: the sites disagree, at least one is responding and another declining.",
        )
    elif Verdict.DECLINING in kinds:
        verdict, why = (
            Verdict.DECLINING,
            "Declining overall: at least one site with enough data is declining and none is responding.",
        )
    elif Verdict.RESPONDING in kinds:
        verdict, why = (
            Verdict.RESPONDING,
            "Responding overall: at least one site with enough data is responding and none is declining.",
        )
    elif kinds == {Verdict.NOT_RESPONDING}:
        verdict, why = (
            Verdict.NOT_RESPONDING,
            "Not responding overall: every site with enough data is not responding.",
        )
    else:
        verdict, why = (
            Verdict.INCONCLUSIVE,
            "Inconclusive overall: no site with enough data shows a clear change.",
        )
    parts = [why]
    if counted:
        parts.append(f"Counted: {_mention(counted)}.")
    if thin:
        parts.append(f"Not counted (too little data): {_mention(thin)}.")
    return verdict, " ".join(parts)
