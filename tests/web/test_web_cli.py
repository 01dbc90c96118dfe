"""``regrow serve``: options, safe defaults (127.0.0.1), --demo on a throwaway journal."""

from __future__ import annotations

import pytest

from regrow.cli import main


@pytest.fixture
def captured(monkeypatch):
    """Replace uvicorn.run: record what would be served instead of serving it."""
    import gc

    import uvicorn

    calls = []
    threshold = gc.get_threshold()
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    yield calls
    gc.unfreeze()  # serve tunes the collector for a long-lived server; undo it for the rest of the tests
    gc.set_threshold(*threshold)


def test_serve_help_lists_every_option(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--db",
        "--demo",
        "--open",
        "--no-open",
        "--max-upload-mb",
        "--photos-dir",
    ):
        assert option in out


def test_serve_binds_to_loopback_by_default(captured, tmp_path, capsys):
    assert main(["serve", "--db", f"sqlite:///{tmp_path / 'j.sqlite'}", "--port", "8123"]) == 0
    app, kw = captured[0]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8123
    assert app.state.settings.host == "127.0.0.1"
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


def test_serve_warns_when_visible_on_the_network(captured, tmp_path, capsys):
    assert main(["serve", "--db", f"sqlite:///{tmp_path / 'j.sqlite'}", "--host", "0.0.0.0"]) == 0
    assert "anyone on your network" in capsys.readouterr().err


def test_serve_demo_uses_a_throwaway_journal(captured, monkeypatch, capsys):
    import regrow.web

    filled = []
    monkeypatch.setattr(regrow.web, "fill_demo", lambda app, **kw: filled.append(app) or {"sessions": 14})
    monkeypatch.delenv("REGROW_DATABASE_URL", raising=False)
    assert main(["serve", "--demo"]) == 0
    app, _ = captured[0]
    assert filled == [app]
    assert "regrow-demo-" in app.state.settings.database_url
    assert "Demo: 14 sessions" in capsys.readouterr().out


def test_serve_bad_options_exit_2(capsys, tmp_path):
    assert main(["serve", "--db", f"sqlite:///{tmp_path / 'j.sqlite'}", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb" in capsys.readouterr().err
    assert main(["serve", "--db", "mysql://nope", "--port", "1"]) == 2


def test_public_names_and_settings_validation():
    import regrow.web
    from regrow.errors import InputError
    from regrow.web import SETTINGS, Settings

    assert regrow.web.__all__ == ["SETTINGS", "Settings", "create_app", "fill_demo"]
    assert {name for name, _, _ in SETTINGS} == set(Settings.__dataclass_fields__)
    with pytest.raises(InputError, match="port"):
        Settings(port=70000)
    with pytest.raises(InputError, match="max_upload_bytes"):
        Settings(max_upload_bytes=10)
    assert Settings().hosts() == ["127.0.0.1", "::1", "[::1]", "localhost"]
    assert Settings(host="0.0.0.0").hosts() == ["*"]
