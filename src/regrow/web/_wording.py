"""Plain words for the pages: field names, codes and raw values as a person reads them (issue 14, item 5).

The core speaks in identifiers (``pain_0_10``, ``use_count``, ``None``); the pages never show them. These
helpers are Jinja filters and globals registered by :func:`regrow.web.create_app`.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FIELD_WORDS", "VERDICT_LABELS", "first_sentence", "plain_text", "rule_title", "verdict_sentence"]

#: Field names whose plain form is more than the name with spaces (units spelled as people write them).
FIELD_WORDS = {
    "pain_0_10": "pain (0-10)",
    "um_per_px": "scale (µm per pixel)",
    "density_per_cm2": "density (hairs/cm²)",
    "needle_length_mm": "needle length (mm)",
    "area_cm2": "area (cm²)",
    "diameter_um": "diameter (µm)",
    "device_id": "device",
    "hair_count": "hair count",
    "count_area_unknown": "a count without its area",
    "minoxidil_hold_hours": "minoxidil pause (hours)",
    "interval_days": "days between sessions",
    "use_count": "times used",
    "row_id": "entry",
}
#: The progress model's verdict codes as words (:mod:`regrow.progress`).
VERDICT_LABELS = {
    "too_early": "Too early to tell",
    "responding": "Responding",
    "not_responding": "Not responding",
    "inconclusive": "Inconclusive",
    "declining": "Declining",
}
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_RULE_ID = re.compile(r"\b([a-z]+)\.([a-z]+(?:_[a-z]+)*)\b")
_RAW = {"None": "empty", "True": "yes", "False": "no", "nan": "–", "null": "empty"}
_ISO_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?\b")


def _field(match: re.Match[str]) -> str:
    word = match.group(0)
    return FIELD_WORDS.get(word, word.replace("_", " "))


def plain_text(value: Any) -> str:
    """``value`` as text with field names in words, raw ``None``/``True``/``False`` as words, ``cm2`` as
    ``cm²``, statistical shorthand (CI, SD, I2) in words and ISO times with a space.

    >>> plain_text("edited session 3: pain_0_10 None -> 4")
    'edited session 3: pain (0-10) empty -> 4'
    """
    if value is None:
        return "–"
    # a hint for the command line ("(add one with `regrow device add`)") means nothing on a page
    text = re.sub(r"\s*\([^()]*`regrow [^`]*`[^()]*\)", "", str(value))
    text = _SNAKE.sub(_field, text)
    text = re.sub(r"\b(None|True|False|nan|null)\b", lambda m: _RAW[m.group(1)], text)
    text = re.sub(r"\bcm2\b", "cm²", text)
    # statistical shorthand of the evidence texts, in the words the Evidence page explains
    text = re.sub(r"\b(\d+)% CI\b", r"\1% interval", text)
    text = re.sub(r"\bCIs\b", "intervals", text)
    text = re.sub(r"\bCI\b", "interval", text)
    text = re.sub(r"\bSDs\b", "standard deviations", text)
    text = re.sub(r"\bSD\b", "standard deviation", text)
    text = re.sub(r"\bI2\b", "I²", text)
    return _ISO_TIME.sub(r"\1 \2", text)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def first_sentence(text: str | None) -> tuple[str, str]:
    """``(first sentence, the rest)`` of a paragraph, for a summary that fits one screen.

    >>> first_sentence("Possibly, as an add-on. For more, read on.")
    ('Possibly, as an add-on.', 'For more, read on.')
    """
    parts = _SENTENCE_END.split((text or "").strip(), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def rule_title(rules: Any, rule_id: str) -> str:
    """A safety rule as a person reads it: its message (``rule_id`` is never shown)."""
    try:
        return rules[rule_id].message
    except KeyError:
        return plain_text(rule_id.replace(".", ": "))


def verdict_sentence(site: dict[str, Any]) -> str:
    """One sentence for a site of the progress report: its verdict and the interval behind it.

    The verdict is the model's own (``site["verdict"]``, from :func:`regrow.progress.analyse_progress`); this
    only words it. The interval is the modelled change in density with its 95% interval.
    """
    name = site["site"]
    label = VERDICT_LABELS.get(site["verdict"], plain_text(site["verdict"]))
    change = site.get("change_per_cm2") or {}
    estimate, lb, ub = change.get("estimate"), change.get("ci_lb"), change.get("ci_ub")
    sentence = f"{name.capitalize()}: {label.lower()}"
    if estimate is not None and lb is not None and ub is not None:
        sentence += (
            f". Density changed by {estimate:+.0f} hairs/cm² since the start "
            f"(95% interval {lb:+.0f} to {ub:+.0f})"
        )
    return sentence + "."
