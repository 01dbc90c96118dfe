"""The local web app and its JSON API (FastAPI + Jinja2, server-rendered, no external requests).

Typical use::

    from regrow.web import Settings, create_app
    app = create_app(Settings(database_url="sqlite:///journal.sqlite"))   # then: uvicorn.run(app, ...)

The web layer holds no domain logic: it calls :mod:`regrow.journal`, :mod:`regrow.protocol`,
:mod:`regrow.measure`, :mod:`regrow.progress` and :mod:`regrow.evidence` and shows what they return.
"""

from __future__ import annotations

from ._app import create_app
from ._demo import fill_demo
from ._settings import SETTINGS, Settings

__all__ = ["SETTINGS", "Settings", "create_app", "fill_demo"]
