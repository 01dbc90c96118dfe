"""A journal writer for the crash campaign: runs every multi-file write path in a loop until it is killed.

Usage: ``python crash_writer.py DATABASE_URL PHOTOS_DIR ACK_LOG SEED``. It opens the journal as the app
does (migrate, sweep the photo folder), prints ``ready`` and then, forever, picks one of: store a photo
(file + overlay + sidecar + photo and measurement rows), export an archive, import the latest archive with
``replace`` (files + every row), delete everything (rows, then files, then VACUUM), delete one photo (files
to the trash, rows and history), undo the newest change (files back from the trash, rows, history), or log
a dose. After each
operation commits it appends an acknowledgement line to ``ACK_LOG`` (fsync'ed), which the test replays to
know what must have survived the kill; operations that replace or delete rows first log ``begin ...``, so the
test knows which outcome the operation in flight may have committed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def _ack(log, line: str) -> None:
    log.write(line + "\n")
    log.flush()
    os.fsync(log.fileno())


def _image(rng: np.random.Generator) -> bytes:
    from regrow.measure import synthesize

    synth = synthesize(
        shape=(96, 128), um_per_px=8.0, unit_density_per_cm2=60.0, seed=int(rng.integers(1 << 30))
    )
    buffer = io.BytesIO()
    Image.fromarray(synth.image).save(buffer, format="PNG")
    return buffer.getvalue()


def main(url: str, photos: str, ack_path: str, seed: int) -> None:
    from regrow import _edits, _photos
    from regrow import journal as jr
    from regrow.errors import NotFoundError

    rng = np.random.default_rng(seed)
    engine = jr.open_journal(url)
    store = jr.PhotoStore(photos)
    jr.sweep_photos(engine, store)
    with jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session).id
    exports = Path(ack_path).with_suffix(".exports")
    exports.mkdir(exist_ok=True)
    latest = None
    first = _image(rng)  # import and warm up the measurement before the kill window opens
    with open(ack_path, "a", encoding="utf-8") as log:
        print("ready", flush=True)
        step = 0
        while True:
            step += 1
            roll = rng.random()
            if roll < 0.55:
                _ack(log, "begin photo")
                stored = _photos.store_photo(
                    engine,
                    store,
                    first if step == 1 else _image(rng),
                    person_id=me,
                    suffix=".png",
                    original_name=f"img-{seed}-{step}.png",
                    site="vertex",
                    taken_at=f"2025-01-{1 + step % 28:02d}T10:00",
                    um_per_px=8.0,
                )
                _ack(log, f"photo {stored['photo']['id']}")
            elif roll < 0.70:
                target = exports / f"e-{seed}-{step}.zip"
                summary = jr.export_archive(engine, store, target)
                latest = target
                with jr.session_scope(engine) as session:
                    ids = sorted(p["id"] for p in jr.snapshot(session)["photo"])
                _ack(log, f"export {target.name} {json.dumps(ids)} {summary.photo_files}")
            elif roll < 0.82 and latest is not None:
                _ack(log, f"begin import {latest.name}")
                jr.import_journal(engine, store, latest, replace=True)
                _ack(log, f"import {latest.name}")
            elif roll < 0.90:
                _ack(log, "begin deleted")
                jr.delete_everything(engine, store, person_id=me)
                with jr.session_scope(engine) as session:
                    me = jr.get_or_create_default_person(session).id
                _ack(log, "deleted")
            elif roll < 0.93:
                with jr.session_scope(engine) as session:
                    photos = [p.id for p in jr.list_photos(session, person_id=me)]
                if photos:
                    victim = photos[int(rng.integers(len(photos)))]
                    _ack(log, f"begin photo-delete {victim}")
                    _edits.delete(engine, store, person_id=me, kind="photo", row_id=victim)
                    _ack(log, f"photo-deleted {victim}")
            elif roll < 0.96:
                _ack(log, "begin undo")
                try:
                    result = _edits.undo(engine, store, person_id=me)
                except NotFoundError:
                    _ack(log, "undo nothing")
                else:
                    restored = [
                        c["row_id"] for c in result["undone"]["changes"] if c["table_name"] == "photo"
                    ]
                    _ack(log, f"undone {json.dumps(restored)}")
            else:
                with jr.session_scope(engine) as session:
                    at = dt.datetime(2015, 1, 1) + dt.timedelta(hours=2 * ((seed % 1000) * 500 + step))
                    dose = jr.add_dose(session, person_id=me, kind="minoxidil", taken_at=at)
                    dose_id = dose.id
                _ack(log, f"dose {dose_id}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
