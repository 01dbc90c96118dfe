"""Web fixtures: an app on a fresh SQLite journal per test, an in-process client, synthetic scalp images."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regrow.web import Settings, create_app

with warnings.catch_warnings():
    # starlette's TestClient warns at import that it would prefer httpx2; the client itself works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE_URL = "http://127.0.0.1"
#: Image scale of the synthetic test images (um per pixel).
UM_PER_PX = 8.0


@pytest.fixture
def web_settings(tmp_path) -> Settings:
    """Settings on a fresh SQLite journal and photo folder (small upload limit for the limit tests)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'journal.sqlite'}",
        photos_dir=tmp_path / "photos",
        max_upload_bytes=2 * 1024 * 1024,
        max_upload_files=5,
    )


@pytest.fixture
def app(web_settings):
    application = create_app(web_settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    """A browser-like client (cookies kept) on 127.0.0.1."""
    with TestClient(app, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def api(client) -> TestClient:
    """The client with a valid CSRF token in the X-CSRF-Token header."""
    token = client.get("/api/csrf").json()["csrf_token"]
    client.headers["x-csrf-token"] = token
    return client


def page_token(client: TestClient, path: str = "/") -> str:
    """The CSRF token a page embeds in its forms."""
    html = client.get(path).text
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.fixture
def synthetic():
    """A seeded synthetic trichoscopy image with ground truth, as (SyntheticImage, PNG bytes with EXIF GPS)."""
    from regrow.measure import synthesize

    synth = synthesize(shape=(480, 640), um_per_px=UM_PER_PX, unit_density_per_cm2=70.0, seed=7)
    return synth, png_with_gps(synth.image)


def png_with_gps(rgb: np.ndarray, fmt: str = "JPEG") -> bytes:
    """Encode an image with an EXIF block carrying a camera make and GPS coordinates."""
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPSInfo
    buf = io.BytesIO()
    im.save(buf, format=fmt, exif=exif.tobytes(), quality=95)
    return buf.getvalue()


@pytest.fixture
def artifacts_dir() -> Path:
    """``test-artifacts/web`` at the repository root (gitignored) for screenshots."""
    folder = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1 in a thread; yields the base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def app_routes(app) -> list:
    """Every route of the app, those of included routers too (FastAPI lists an included router as one
    entry of ``app.routes``, which would hide its routes from a test)."""

    def walk(routes):
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)
            else:
                yield route

    found = list(walk(app.routes))
    assert len(found) > 60, "the app's routes could not be listed"
    return found
