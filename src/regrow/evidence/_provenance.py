"""Per-study provenance of every number behind a pooled result: value, status, source URL and location.

The rows cover each outcome that gives a pairwise effect or a network contrast: every reported number of its
two arms (n, means, SDs, CIs, events, baseline and end values), its p-value and correlation, the study-level
numbers an imputation used (the reported total, an arm's randomised size) and one row per imputation, with the
source of its donor SD where there is one.
"""

from __future__ import annotations

from typing import Any

from regrow.evidence._trials import ARM_NUMBER_FIELDS, EvidenceData, Number

__all__ = ["provenance_coverage", "provenance_rows"]


def _row(study, outcome, used_in, arm, field, number: Number) -> dict[str, Any]:
    return {
        "study": study.id,
        "label": study.label,
        "used_in": used_in,
        "outcome": outcome.outcome if outcome is not None else "",
        "arm": arm,
        "field": field,
        "value": number.value,
        "status": number.status,
        "source": number.source,
        "location": number.location,
        "note": number.note,
    }


def _used_outcomes(data: EvidenceData, results, networks) -> dict[tuple[str, int], list[str]]:
    """(study id, outcome index) -> the comparisons and networks whose pooled numbers it feeds."""
    used: dict[tuple[str, int], list[str]] = {}
    studies = {s.id: s for s in data.studies}

    def mark(study_id: str, comparisons: set[str], label: str, *, arms: set[str] | None = None) -> None:
        for i, o in enumerate(studies[study_id].outcomes):
            if o.comparison not in comparisons:
                continue
            if arms is not None and not {o.intervention.arm, o.comparator.arm} <= arms:
                continue
            used.setdefault((study_id, i), [])
            if label not in used[(study_id, i)]:
                used[(study_id, i)].append(label)

    for r in results:
        for e in r.effects:
            mark(e.study_id, {r.comparison.id, *r.comparison.pool_from}, r.comparison.id)
    for nr in networks:
        for s in nr.studies:
            arm_ids = {a.id for a in studies[s.study_id].arms if a.treatment in s.treatments}
            mark(s.study_id, set(s.comparisons), f"network:{nr.spec.id}", arms=arm_ids)
    return used


def _imputation_rows(data: EvidenceData, study, outcome, used_in, texts) -> list[dict[str, Any]]:
    rows = []
    for text in texts:
        donor = next((d for d in data.sd_donors if d.label in text), None)
        if donor is not None:
            number = Number(donor.sd.value, "imputed", text, donor.source, f"SD donor: {donor.label}")
        elif "reported total" in text or "number of people" in text:
            number = Number(None, "imputed", text, study.n_total.source, study.n_total.location)
        elif "randomised" in text:
            arm = next(
                (
                    a
                    for a in study.arms
                    if a.n_randomised.known and f"{int(a.n_randomised.value)} randomised" in text
                ),
                None,
            )
            src = arm.n_randomised if arm is not None else Number(None)
            number = Number(None, "imputed", text, src.source, src.location)
        else:  # a documented rule with no source of its own (r = 0)
            number = Number(None, "imputed", text, None, "rule stated in the review's methods")
        rows.append(_row(study, outcome, used_in, "", "imputation", number))
    return rows


def provenance_rows(data: EvidenceData, results, networks) -> list[dict[str, Any]]:
    """One row per number behind a pooled result (pairwise or network), and one per imputation.

    Returns
    -------
    list of dict
        ``study``, ``label``, ``used_in`` (comparison ids, ``network:<id>``), ``outcome``, ``arm``, ``field``,
        ``value``, ``status``, ``source`` (URL), ``location`` (where in it) and ``note``.
    """
    studies = {s.id: s for s in data.studies}
    imputations: dict[str, list[str]] = {}
    for r in results:
        for e in r.effects:
            imputations.setdefault(e.study_id, []).extend(e.imputed)
    for nr in networks:
        for s in nr.studies:
            imputations.setdefault(s.study_id, []).extend(s.imputed)
    rows: list[dict[str, Any]] = []
    done_imputed: set[str] = set()
    for (sid, i), used_in in sorted(_used_outcomes(data, results, networks).items()):
        study = studies[sid]
        outcome = study.outcomes[i]
        for side in ("intervention", "comparator"):
            arm = getattr(outcome, side)
            label = f"{side} (arm {arm.arm})" if arm.arm else side
            for field in ARM_NUMBER_FIELDS:
                number = getattr(arm, field)
                if number.known:
                    rows.append(_row(study, outcome, ", ".join(used_in), label, field, number))
        for field in ("p_value", "correlation"):
            number = getattr(outcome, field)
            if number.known:
                rows.append(_row(study, outcome, ", ".join(used_in), "", field, number))
        texts = list(dict.fromkeys(imputations.get(sid, [])))
        if texts and sid not in done_imputed:
            done_imputed.add(sid)
            if any("reported total" in t or "number of people" in t for t in texts) and study.n_total.known:
                rows.append(_row(study, None, ", ".join(used_in), "", "n_total", study.n_total))
            for arm in study.arms:
                if arm.n_randomised.known and any(
                    f"{int(arm.n_randomised.value)} randomised" in t for t in texts
                ):
                    rows.append(
                        _row(
                            study, None, ", ".join(used_in), f"arm {arm.id}", "n_randomised", arm.n_randomised
                        )
                    )
            rows.extend(_imputation_rows(data, study, None, ", ".join(used_in), texts))
    return rows


def provenance_coverage(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How many reported numbers behind pooled results carry both a URL and a location.

    Returns
    -------
    dict
        ``numbers`` (reported numbers), ``with_provenance``, ``share`` and ``missing`` (rows without it);
        ``imputations`` counts the imputation rows, which are listed but not counted as reported numbers.
    """
    numbers = [r for r in rows if r["status"] != "imputed"]
    ok = [r for r in numbers if r["source"] and r["location"]]
    return {
        "numbers": len(numbers),
        "with_provenance": len(ok),
        "share": (len(ok) / len(numbers)) if numbers else 1.0,
        "missing": [r for r in numbers if not (r["source"] and r["location"])],
        "imputations": len(rows) - len(numbers),
    }
