"""The review's answer for the report: the main comparison's verdict and certainty, worded as the web
Evidence page words them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ._wording import first_sentence, plain_text

__all__ = ["evidence_summary"]

_CACHE: dict[tuple[str, float], dict[str, Any]] = {}
_LOCK = threading.Lock()


def _key(evidence_file: str | Path | None) -> tuple[str, float]:
    if evidence_file is None:
        return ("", 0.0)
    path = Path(evidence_file)
    try:
        return (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        return (str(path), -1.0)  # load_data names the missing file


def evidence_summary(evidence_file: str | Path | None = None) -> dict[str, Any]:
    """The question, the review's one-sentence answer and its main comparison (the one the progress model
    takes its expected change from: micro-needling + minoxidil vs minoxidil alone, hair density).

    Parameters
    ----------
    evidence_file : str or Path, optional
        Evidence YAML; default: the bundled review. Reviewed once per file version (cached).

    Returns
    -------
    dict
        ``question``, ``answer`` (first sentence), ``comparison`` (``id``, ``title``, ``verdict``,
        ``certainty``, ``k``, ``n_participants``, ``estimate``, ``ci_lb``, ``ci_ub``, ``scale``, ``measure``)
        and ``data_version``; ``comparison`` is None and ``error`` says why when the data lack it.

    Raises
    ------
    DataFileError
        The evidence file cannot be read.
    """
    key = _key(evidence_file)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    from regrow.evidence import comparison_dict, load_data, overall_summary, review
    from regrow.evidence._expected import EXPECTED_COMPARISON

    data = load_data(evidence_file)
    results = review(data)
    summary = overall_summary(results)
    main = next((r for r in results if r.comparison.id == EXPECTED_COMPARISON), None)
    body: dict[str, Any] = {
        "question": summary["question"],
        "answer": first_sentence(plain_text(summary["answer"]))[0],
        "data_version": data.data_version,
        "comparison": None,
    }
    if main is None:
        body["error"] = f"the evidence data have no comparison {EXPECTED_COMPARISON!r}."
    else:
        c = comparison_dict(main)
        body["comparison"] = {
            "id": EXPECTED_COMPARISON,
            "title": c["title"],
            "outcome": plain_text(c.get("outcome")),
            "verdict": plain_text(c["verdict"]),
            "certainty": c["certainty"],
            "k": c["k"],
            "n_participants": c["n_participants"],
            "estimate": c["estimate"],
            "ci_lb": c["ci_lb"],
            "ci_ub": c["ci_ub"],
            "measure": c["measure"],
            "scale": plain_text(c.get("scale")),
        }
    with _LOCK:
        _CACHE[key] = body
    return body
