"""Crash campaign and concurrency (hardening issue, items 2 and 3).

A writer process running every multi-file write path (photo + overlay + sidecar + rows, export, import with
replace, delete everything) is killed with SIGKILL at random moments, many times, on one journal. After each
kill the journal must open, pass ``PRAGMA integrity_check``, hold no row without its file, keep every
acknowledged write, and - once opened as the app opens it - hold no file without its row and no temporary
file. A second test has the CLI and the web app write at once and counts user-visible lock errors (none).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from regrow import journal as jr

WRITER = Path(__file__).with_name("crash_writer.py")


def _replay(ack_log: Path) -> tuple[set[int], set[int], tuple[set[int], set[int]] | None]:
    """The photo and dose ids every acknowledged operation says must exist now, and the photo ids that
    must exist instead (photos, doses) if the operation in flight (begun, not acknowledged) had committed
    before the kill.

    After each kill the campaign appends ``resolved yes|no``: whether the operation that was in flight had
    committed, as the check found; replaying applies it then.
    """
    photos: set[int] = set()
    doses: set[int] = set()
    exports: dict[str, set[int]] = {}
    inflight: tuple[str, str] | None = None
    if not ack_log.exists():
        return photos, doses, None
    for line in ack_log.read_text(encoding="utf-8").splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "begin":
            what, _, name = rest.partition(" ")
            inflight = (what, name) if what in ("import", "deleted", "photo-delete", "undo") else None
            continue
        if kind == "resolved":
            if rest == "yes" and inflight is not None:
                photos, doses = _outcome(inflight, photos, doses, exports)
            inflight = None
            continue
        inflight = None
        if kind == "photo":
            photos.add(int(rest))
        elif kind == "photo-deleted":
            photos.discard(int(rest))
        elif kind == "undone":
            # an undo reverts the newest change, which may have been any of the above: what it brought back
            # or removed is not tracked here, so only later acknowledged writes are expected from now on
            photos, doses = set(), set()
        elif kind == "dose":
            doses.add(int(rest))
        elif kind == "export":
            name, _, tail = rest.partition(" ")
            ids, _, _files = tail.rpartition(" ")
            exports[name] = set(json.loads(ids))
        elif kind == "import":
            photos = set(exports[rest])
            doses = set()  # the export's doses are not tracked; later acknowledged ones are
        elif kind == "deleted":
            photos, doses = set(), set()
    if inflight is None:
        return photos, doses, None
    return photos, doses, _outcome(inflight, photos, doses, exports)


def _outcome(inflight, photos, doses, exports):
    """What must exist if the operation in flight committed before the kill."""
    what, name = inflight
    if what == "import":
        return set(exports[name]), set()
    if what == "photo-delete":
        return photos - {int(name)}, doses
    return set(), set()  # delete everything; an undo (of something not tracked here)


def _check_invariants(url: str, db: Path, photos_dir: Path, ack_log: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = con.execute("SELECT id, file_name, sha256 FROM photo").fetchall()
        dose_ids = {r[0] for r in con.execute("SELECT id FROM adjunct_dose")}
    finally:
        con.close()
    # no row without its files, even before any sweep
    for _, name, sha in rows:
        for file in (photos_dir / name, photos_dir / f"{sha}.overlay.png", photos_dir / f"{sha}.json"):
            assert file.is_file(), f"row without its file: {file.name}"
    # every deleted photo that undo can still restore keeps its files in the trash
    engine = jr.open_journal(url)
    try:
        for sha in jr.recoverable_photos(engine):
            assert list((photos_dir / ".trash").glob(f"{sha}.*")), (
                f"an undoable photo deletion lost its files: {sha}"
            )
    finally:
        engine.dispose()
    expected_photos, expected_doses, pending = _replay(ack_log)
    present = {r[0] for r in rows}
    committed = pending is not None and not (expected_photos <= present and expected_doses <= dose_ids)
    if committed:
        # an operation in flight committed before the kill: its outcome is what must be there
        expected_photos, expected_doses = pending
    with ack_log.open("a", encoding="utf-8") as log:
        log.write(f"resolved {'yes' if committed else 'no'}\n")
    assert expected_photos <= present, f"acknowledged photos lost: {sorted(expected_photos - present)}"
    assert expected_doses <= dose_ids, f"acknowledged doses lost: {sorted(expected_doses - dose_ids)}"
    # opened as the app opens it: no file without its row, no temporary file
    engine = jr.open_journal(url)
    try:
        jr.sweep_photos(engine, jr.PhotoStore(photos_dir))
    finally:
        engine.dispose()
    keep = {name for _, name, _ in rows} | {
        f"{sha}{s}" for _, _, sha in rows for s in (".overlay.png", ".json")
    }
    left = (
        {p.name for p in photos_dir.iterdir()} - keep - {".lock", ".trash"} if photos_dir.is_dir() else set()
    )
    assert left == set(), f"files without rows after start-up: {sorted(left)}"
    engine = jr.open_journal(url)
    try:
        recoverable = jr.recoverable_photos(engine)
    finally:
        engine.dispose()
    trash = (
        {p.name[:64] for p in (photos_dir / ".trash").iterdir()}
        if (photos_dir / ".trash").is_dir()
        else set()
    )
    assert trash <= recoverable, f"trashed files no undo can restore: {sorted(trash - recoverable)}"
    return {"photos": len(present), "doses": len(dose_ids)}


def _campaign(tmp_path: Path, kills: int, seed: int) -> list[dict[str, int]]:
    db = tmp_path / "journal.sqlite"
    url = f"sqlite:///{db}"
    photos_dir = tmp_path / "photos"
    ack_log = tmp_path / "acks.log"
    rng = np.random.default_rng(seed)
    states = []
    for kill in range(kills):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), url, str(photos_dir), str(ack_log), str(seed * 1000 + kill)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = proc.stdout.readline()
            assert line.strip() == "ready", proc.stderr.read()
            time.sleep(float(rng.uniform(0.1, 2.0)))
            assert proc.poll() is None, proc.stderr.read()  # the writer never stops on its own
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        states.append(_check_invariants(url, db, photos_dir, ack_log))
    acks = ack_log.read_text(encoding="utf-8").splitlines()
    assert len(acks) >= kills, "the writer hardly wrote anything: the campaign tested nothing"
    return states


def test_crash_campaign_short(tmp_path):
    states = _campaign(tmp_path, kills=6, seed=1)
    assert any(s["photos"] for s in states)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_crash_campaign_long(tmp_path):
    states = _campaign(tmp_path, kills=60, seed=2)
    assert any(s["photos"] for s in states)


# --- concurrency ------------------------------------------------------------------------------------------

_CLI_LOOP = """
import datetime as dt
import sys
from regrow.cli import main
url, n, tag, k = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
failures = 0
for i in range(n):
    at = (dt.datetime(2023, 1, 1) + dt.timedelta(hours=2 * (k * 300 + i))).isoformat()
    rc = main(["log", "dose", "--kind", "minoxidil", "--at", at, "--notes", f"{tag}-{i}", "--db", url])
    failures += rc != 0
sys.exit(1 if failures else 0)
"""


@contextlib.contextmanager
def web_client(url: str, photos_dir: Path):
    """The web app on the journal at ``url``, driven in-process (requests run on the app's thread pool)."""
    import warnings

    from regrow.web import Settings, create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's TestClient warns at import; the client works
        from starlette.testclient import TestClient

    app = create_app(Settings(database_url=url, photos_dir=photos_dir))
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client
    finally:
        app.state.engine.dispose()


def _cli_and_web_at_once(tmp_path: Path, *, cli_processes: int, web_threads: int, writes_each: int) -> None:
    db = tmp_path / "journal.sqlite"
    url = f"sqlite:///{db}"
    jr.open_journal(url).dispose()
    errors: list[str] = []
    with web_client(url, tmp_path / "photos") as client:
        token = client.get("/api/csrf").json()["csrf_token"]

        def web_writer(tag: str, k: int) -> None:
            for i in range(writes_each):
                at = dt.datetime(2024, 6, 1) + dt.timedelta(hours=2 * (k * 300 + i))
                r = client.post(
                    "/api/doses",
                    json={"kind": "minoxidil", "taken_at": at.isoformat(), "notes": f"{tag}-{i}"},
                    headers={"x-csrf-token": token},
                )
                if r.status_code != 201:
                    errors.append(f"web {r.status_code}: {r.text}")

        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CLI_LOOP, url, str(writes_each), f"cli{k}", str(k)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "error"},
            )
            for k in range(cli_processes)
        ]
        threads = [threading.Thread(target=web_writer, args=(f"web{k}", k)) for k in range(web_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for proc in procs:
            _, err = proc.communicate(timeout=600)
            if proc.returncode != 0 or "locked" in err or "busy" in err:
                errors.append(f"cli rc={proc.returncode}: {err[-500:]}")
    assert errors == []
    con = sqlite3.connect(db)
    try:
        (count,) = con.execute("SELECT COUNT(*) FROM adjunct_dose").fetchone()
    finally:
        con.close()
    assert count == (cli_processes + web_threads) * writes_each


def test_cli_and_web_writing_at_once_never_surface_a_lock_error(tmp_path):
    _cli_and_web_at_once(tmp_path, cli_processes=2, web_threads=2, writes_each=20)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_cli_and_web_writing_at_once_long(tmp_path):
    _cli_and_web_at_once(tmp_path, cli_processes=3, web_threads=4, writes_each=100)
