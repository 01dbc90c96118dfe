"""Turn the report's data into HTML (Jinja2) and the HTML into a PDF (WeasyPrint, the ``clinic`` extra)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from regrow.errors import MissingExtraError

from ._wording import SEVERITY_WORDS

__all__ = ["consult_report_html", "consult_report_pdf", "render_consult_pdf", "render_pdf"]

_HERE = Path(__file__).parent


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(_HERE)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("consult.html")


def _generated_label(data: dict[str, Any]) -> str:
    """The footer's generation time, as UTC when it carries a zone (CSS strings: no quotes or backslashes)."""
    text = str(data.get("generated_at") or "")
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text.replace('"', "").replace("\\", "")
    if when.tzinfo is not None:
        return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")


def consult_report_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (photos embedded as JPEG, charts as inline SVG).

    Parameters
    ----------
    data : dict
        From :func:`regrow.report.consult_report_data`.

    Returns
    -------
    str
    """
    from ._chart import density_chart_svg
    from ._images import photo_pair_images

    photos = [{**pair, "images": photo_pair_images(pair)} for pair in data["photos"]]
    charts = {s["site"]: density_chart_svg(s) for s in data["progress"]["sites"]}
    return _template().render(
        data=data,
        photos=photos,
        charts=charts,
        css=(_HERE / "consult.css").read_text(encoding="utf-8"),
        generated=_generated_label(data),
        severity_words=SEVERITY_WORDS,
    )


def import_weasyprint() -> Any:
    """Import WeasyPrint without letting it change how the rest of regrow reads images.

    WeasyPrint sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` when it is imported
    (weasyprint/images.py). In a server that renders a report, every later upload would then accept a JPEG
    cut short. The report only embeds images regrow has already checked, so the flag is put back.

    Raises
    ------
    MissingExtraError
        WeasyPrint or the Pango library is missing.
    """
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint is there but Pango is not
        raise MissingExtraError("weasyprint (and the Pango library)", "clinic") from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


def _data_only(weasyprint: Any) -> Any:
    """A resource fetcher that loads ``data:`` URIs only: the report embeds everything it shows, so no
    text that reaches the page can make the renderer read a local file or the network."""
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 68 and later
    except ImportError:

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"the report loads embedded data only, not {url[:80]!r}")
            return weasyprint.default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(data: dict[str, Any]) -> tuple[bytes, int]:
    """``(pdf bytes, number of pages)``; see :func:`render_consult_pdf`."""
    weasyprint = import_weasyprint()
    html = consult_report_html(data)
    document = weasyprint.HTML(string=html, base_url=str(_HERE), url_fetcher=_data_only(weasyprint)).render()
    return document.write_pdf(), len(document.pages)


def render_consult_pdf(data: dict[str, Any]) -> bytes:
    """The report of ``data`` (:func:`regrow.report.consult_report_data`) as the bytes of an A4 PDF.

    Raises
    ------
    MissingExtraError
        WeasyPrint (the ``clinic`` extra) is not installed, or the Pango library it needs is missing.
    """
    return render_pdf(data)[0]


def consult_report_pdf(session_or_engine: Any, store: Any, person_id: int, **options: Any) -> bytes:
    """:func:`regrow.report.consult_report_data` then :func:`render_consult_pdf`, in one call.

    Parameters
    ----------
    session_or_engine, store, person_id
        As for :func:`regrow.report.consult_report_data`.
    **options
        ``visit``, ``rules``, ``evidence_file``, ``now``.

    Returns
    -------
    bytes
    """
    from ._data import consult_report_data

    return render_consult_pdf(consult_report_data(session_or_engine, store, person_id, **options))
