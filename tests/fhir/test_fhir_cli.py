"""``regrow fhir export | import | validate`` through :func:`regrow.cli.main`."""

from __future__ import annotations

import json

from regrow import journal as jr
from regrow.cli import main


def test_cli_round_trip_validate_and_duplicate(source, make_journal, tmp_path, capsys):
    engine, store, me = source
    out = tmp_path / "patient.json"
    source_url = engine.url.render_as_string(hide_password=False)
    export_args = ["--db", source_url, "--photos-dir", str(store.root)]
    assert main(["fhir", "export", "--patient", str(me), "--out", str(out), *export_args, "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["patient"] == me and exported["resources"]["Media"] == 2
    assert out.stat().st_mode & 0o777 == 0o600 and out.stat().st_size == exported["bytes"]

    assert main(["fhir", "validate", str(out), "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["valid"] and checked["fhir_version"] == "4.3.0"
    assert checked["entries"] == sum(exported["resources"].values())

    _, target_store, target_url = make_journal()
    import_args = [str(out), "--db", target_url, "--photos-dir", str(target_store.root)]
    assert main(["fhir", "import", *import_args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["created_person"] and summary["photo_files_written"] == 2

    assert main(["fhir", "import", *import_args]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: ") and f"as patient {summary['person_id']}" in err and "Traceback" not in err
    )

    again = tmp_path / "again.json"
    target_args = ["--db", target_url, "--photos-dir", str(target_store.root)]
    assert (
        main(["fhir", "export", "--patient", str(summary["person_id"]), "--out", str(again), *target_args])
        == 0
    )
    assert "Wrote" in capsys.readouterr().out
    first, second = json.loads(out.read_text()), json.loads(again.read_text())
    assert len(first["entry"]) == len(second["entry"])
    target = jr.open_journal(target_url)
    try:
        with jr.session_scope(target) as s:
            assert len(jr.list_photos(s, person_id=summary["person_id"])) == 2
    finally:
        target.dispose()


def test_cli_refuses_a_broken_file_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:x"}]}')
    assert main(["fhir", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "entry 0" in err
    assert main(["fhir", "validate", str(tmp_path / "missing.json"), "--json"]) == 2
    assert "does not exist" in capsys.readouterr().err
