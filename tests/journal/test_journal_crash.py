"""A process killed (SIGKILL) in the middle of logging a session leaves the journal consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from regrow import journal as jr


def test_sigkill_mid_session_leaves_session_fully_absent_then_present(db_url, tmp_path, snapshot_at):
    engine = jr.open_journal(db_url)
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s)
        jr.add_device(s, person_id=me.id, name="roller", kind="roller", needle_length_mm=0.5)
    engine.dispose()
    before = snapshot_at(db_url)
    marker = tmp_path / "paused"
    env = {**os.environ, "REGROW_TEST_PAUSE_AT": "add_session:60", "REGROW_TEST_PAUSE_MARKER": str(marker)}
    cmd = [
        sys.executable,
        "-m",
        "regrow",
        "log",
        "session",
        "--device",
        "1",
        "--at",
        "2025-01-06T20:00",
        "--db",
        db_url,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the process never reached the pause point"
            time.sleep(0.05)
        # the session row is flushed inside the open transaction; the device use count is not yet updated
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    after = snapshot_at(db_url)
    assert after == before
    assert after["treatment_session"] == [] and after["device"][0]["use_count"] == 0

    # without the hook the same command stores the session and the device use together
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    final = snapshot_at(db_url)
    assert len(final["treatment_session"]) == 1 and final["device"][0]["use_count"] == 1
