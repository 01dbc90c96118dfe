"""The networks the review fits: which outcomes of which trials form one network, on which scale.

A network joins every trial arm of pattern hair loss (androgenetic alopecia and female pattern hair loss) that
measured the same kind of outcome, whatever the pair of treatments compared. Alopecia areata is an autoimmune
disease with its own comparators (intralesional corticosteroid, cryotherapy), so its trials are not joined with
pattern hair loss; their pairwise results stand on their own.

Kept free of numpy and of the engine so that the evidence file's parser can check a published review's
``network`` against these ids.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COUNT_UNITS",
    "NETWORKS",
    "NETWORK_IDS",
    "PATTERN_HAIR_LOSS",
    "REFERENCE_PREFERENCE",
    "NetworkSpec",
]

#: Conditions networked together (the same disease in men and women).
PATTERN_HAIR_LOSS = ("AGA", "FPHL")
#: Units of a hair count or density: any counting area (an SMD makes them comparable).
COUNT_UNITS = ("hairs/cm2", "hairs/inch2", "hairs/inch_circle", "count_area_unknown", "trichoscan_units")
#: The reference of a network (or of a connected part of it): the first of these present, else the treatment in
#: the most studies. Placebo first, then the standard of care (minoxidil), as in every published network here.
REFERENCE_PREFERENCE = ("placebo", "minoxidil", "mn", "prp")


@dataclass(frozen=True)
class NetworkSpec:
    """One network: the outcomes it admits and the effect measure it is fitted on.

    Attributes
    ----------
    id, title : str
    outcome : str
        The outcome's name; imputation donors (``sd_donors``) of the same outcome name serve its missing SDs.
    measure : {"MD", "SMD", "RR"}
    unit : str
        The analysis unit (``hairs/cm2`` and ``um`` for MD, ``mixed`` for SMD, ``events`` for RR).
    units, value_types : tuple of str
        Outcome units and value types admitted (change scores and end values are never mixed).
    conditions : tuple of str
    small_values : {"bad", "good"}
        ``"bad"``: a larger effect is better (more hair, more responders).
    """

    id: str
    title: str
    outcome: str
    measure: str
    unit: str
    units: tuple[str, ...]
    value_types: tuple[str, ...]
    conditions: tuple[str, ...] = PATTERN_HAIR_LOSS
    small_values: str = "bad"

    @property
    def ratio(self) -> bool:
        return self.measure in ("RR", "OR")


NETWORKS: tuple[NetworkSpec, ...] = (
    NetworkSpec(
        "density_smd",
        "Hair density or count, every counting area (standardised mean difference)",
        "hair density, change from baseline",
        "SMD",
        "mixed",
        COUNT_UNITS,
        ("change",),
    ),
    NetworkSpec(
        "density_md",
        "Hair density in hairs/cm2 (mean difference)",
        "hair density, change from baseline",
        "MD",
        "hairs/cm2",
        ("hairs/cm2", "hairs/inch2", "hairs/inch_circle"),
        ("change",),
    ),
    NetworkSpec(
        "diameter_md",
        "Hair shaft diameter in um (mean difference)",
        "hair shaft diameter, change from baseline",
        "MD",
        "um",
        ("um", "mm"),
        ("change",),
    ),
    NetworkSpec(
        "responders_rr",
        "People rated improved (risk ratio)",
        "proportion rated improved",
        "RR",
        "events",
        ("events",),
        ("proportion",),
    ),
)
NETWORK_IDS = tuple(spec.id for spec in NETWORKS)
