"""Pages that explain and compare: before/after of a site (``/compare``) and the help pages (``/docs``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from regrow.errors import NotFoundError

from ._app import render
from ._compare_view import AlignedCache, compare_view
from ._security import verify_csrf

__all__ = ["HELP_TOPICS", "router"]

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

#: Help pages: (slug, title, the page it explains). Each is ``templates/docs/<slug>.html``.
HELP_TOPICS = (
    ("start", "Getting started", "Today"),
    ("photos", "How to take a good scalp photo", "Photos"),
    ("compare", "Before and after", "Compare"),
    ("verdicts", "What the verdicts mean", "Progress"),
    ("safety", "Safety findings and holds", "Today, Plan and Log"),
    ("evidence", "How to read the evidence", "Evidence"),
    ("privacy", "Privacy: where your data lives", "Data"),
)
_ALIGNED = AlignedCache()


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise NotFoundError(f"No photo '{value}'; choose the photos from the lists.")
    return int(value)


@router.get("/compare")
def compare_page(request: Request) -> Response:
    view = compare_view(
        request.app.state.service,
        site=request.query_params.get("site") or None,
        a=_int(request, "a"),
        b=_int(request, "b"),
    )
    alignment = None
    if view["a"] is not None and view["a"]["id"] != view["b"]["id"]:
        _, alignment = _ALIGNED.get(request.app.state.service, view["a"]["id"], view["b"]["id"], "image")
    return render(
        request,
        "compare.html",
        "compare",
        view=view,
        alignment=alignment,
        detections=request.query_params.get("detections") == "on",
    )


@router.get("/compare/aligned.png")
async def compare_aligned(request: Request) -> Response:
    a, b = _int(request, "a"), _int(request, "b")
    if a is None or b is None:
        raise NotFoundError("Give two photos: ?a=ID&b=ID.")
    png, _ = await run_in_threadpool(
        _ALIGNED.get, request.app.state.service, a, b, request.query_params.get("layer", "image")
    )
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=3600"})


@router.get("/docs")
def docs_index(request: Request) -> Response:
    return render(request, "docs/index.html", "docs", topics=HELP_TOPICS)


@router.get("/docs/{topic}")
def docs_topic(request: Request, topic: str) -> Response:
    titles = {slug: title for slug, title, _ in HELP_TOPICS}
    if topic not in titles:
        raise NotFoundError(f"No help page '{topic}'; the help pages are listed at /docs.")
    return render(request, f"docs/{topic}.html", "docs", topics=HELP_TOPICS, title=titles[topic], topic=topic)
