"""Everything the review computes, once: pairwise results, networks, published comparison, claims, PRISMA
counts, provenance and the issue's targets (what ``--json``, ``--html`` and ``--export-r`` share)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regrow.evidence._review import ComparisonResult, review
from regrow.evidence._trials import EvidenceData

__all__ = ["FullReview", "full_review"]


@dataclass(frozen=True)
class FullReview:
    """The whole review of one evidence file."""

    data: EvidenceData
    results: list[ComparisonResult]
    networks: list[Any]
    screening: Any
    prisma: Any
    published: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    provenance: list[dict[str, Any]]
    coverage: dict[str, Any]
    targets: list[dict[str, Any]]

    @property
    def pooled_study_ids(self) -> set[str]:
        """Studies that give at least one pooled effect (pairwise or network)."""
        return {e.study_id for r in self.results for e in r.effects} | {
            s.study_id for n in self.networks for s in n.studies
        }


def full_review(
    data: EvidenceData, results: list[ComparisonResult] | None = None, *, screening=None
) -> FullReview:
    """Run the pairwise review and the networks, and everything built on them.

    Parameters
    ----------
    data : EvidenceData
    results : list of ComparisonResult, optional
        The pairwise results when already computed (:func:`regrow.evidence.review`).
    screening : ScreeningLog, optional
        Default: the bundled screening log.

    Returns
    -------
    FullReview
    """
    from regrow.evidence._claims import claim_verdicts
    from regrow.evidence._network_review import network_reviews
    from regrow.evidence._provenance import provenance_coverage, provenance_rows
    from regrow.evidence._published import compare_published
    from regrow.evidence._screening import load_screening, prisma_counts
    from regrow.evidence._targets import review_targets

    results = review(data) if results is None else results
    screening = load_screening() if screening is None else screening
    networks = network_reviews(data)
    rows = provenance_rows(data, results, networks)
    coverage = provenance_coverage(rows)
    pooled = {e.study_id for r in results for e in r.effects} | {
        s.study_id for n in networks for s in n.studies
    }
    return FullReview(
        data=data,
        results=results,
        networks=networks,
        screening=screening,
        prisma=prisma_counts(screening, pooled_study_ids=pooled),
        published=compare_published(data, results, networks, screening),
        claims=claim_verdicts(data, results, networks),
        provenance=rows,
        coverage=coverage,
        targets=review_targets(data, results, networks, screening, coverage),
    )
