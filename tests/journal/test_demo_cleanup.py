"""``serve --demo`` leaves nothing in the temporary folder after SIGINT or SIGTERM; stale demo folders go;
``regrow demo`` makes a journal every CLI command can use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from regrow.cli.demo import remove_stale_demos


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_demo_removes_its_folder_on_any_exit(tmp_path, sig):
    # a journal configured in the environment (as after `regrow demo`) is never touched by --demo
    mine = tmp_path / "mine.sqlite"
    env = {**os.environ, "TMPDIR": str(tmp_path), "REGROW_DATABASE_URL": f"sqlite:///{mine}"}
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "regrow", "serve", "--demo", "--demo-months", "1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:  # wait until it serves
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the demo never started serving"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.3)
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("regrow-demo-")]
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("regrow-demo-")] == []
    assert not mine.exists()


def test_stale_demo_folders_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"regrow-demo-{dead.pid}-abc"
    legacy = tmp_path / "regrow-demo-xyz123"  # regrow 0.1 names had no pid
    live = tmp_path / f"regrow-demo-{os.getpid()}-def"
    kept = tmp_path / "regrow-demo-0-ghi"  # made by `regrow demo`, kept until --clean
    for folder in (stale, legacy, live, kept):
        (folder / "photos").mkdir(parents=True)
    removed = remove_stale_demos(tmp_path)
    assert sorted(removed) == sorted([stale, legacy])
    assert live.is_dir() and kept.is_dir()


@pytest.mark.slow
def test_regrow_demo_journal_works_with_every_listing_command(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    made = subprocess.run(
        [sys.executable, "-m", "regrow", "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stderr
    body = json.loads(made.stdout)
    assert body["created"]["photos"] > 0 and Path(body["folder"]).is_dir()
    env.update(REGROW_DATABASE_URL=body["database_url"], REGROW_PHOTOS_DIR=body["photos_dir"])
    for args in (
        ["today"],
        ["progress"],
        ["photo", "list"],
        ["session", "list"],
        ["history"],
        ["plan", "show"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "regrow", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0 and done.stdout.strip(), (args, done.stderr)
    cleaned = subprocess.run(
        [sys.executable, "-m", "regrow", "demo", "--clean"], env=env, capture_output=True, text=True
    )
    assert cleaned.returncode == 0 and not Path(body["folder"]).exists()
