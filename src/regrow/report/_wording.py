"""Words for the report: the journal's codes as a clinician reads them (the web pages' wording, reused)."""

from __future__ import annotations

from regrow.web._wording import VERDICT_LABELS, first_sentence, plain_text, verdict_sentence

__all__ = [
    "DIAGNOSIS_WORDS",
    "GRADE_SCALE_WORDS",
    "SEVERITY_WORDS",
    "VERDICT_LABELS",
    "first_sentence",
    "plain_text",
    "verdict_sentence",
]

#: The journal's diagnosis codes (:data:`regrow.journal.DIAGNOSES`) in words.
DIAGNOSIS_WORDS = {
    "AGA": "Androgenetic alopecia (AGA)",
    "FPHL": "Female pattern hair loss (FPHL)",
    "alopecia_areata": "Alopecia areata",
    "other": "Other",
}
#: The journal's grade scales (:data:`regrow.journal.GRADE_SCALES`) by their usual names.
GRADE_SCALE_WORDS = {
    "norwood_hamilton": "Norwood-Hamilton",
    "ludwig": "Ludwig",
    "sinclair": "Sinclair",
    "basp": "BASP",
}
#: Safety finding severities as the web pages label them.
SEVERITY_WORDS = {"stop": "Stop", "caution": "Caution", "info": "Note"}
