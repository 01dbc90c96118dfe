"""Backup and restore of a clinic-sized journal: time and size, against the backend's own tool.

Builds a journal of ``--patients`` people, each with measurements, sessions, notes, history rows and
``--photos-per-patient`` photo files of ``--photo-kb`` random (incompressible, like JPEG) bytes, then times
``regrow.journal.backup_journal`` and ``restore_journal`` (into a new, empty database and photo folder) and
prints the sizes. The peer is the backend's own copy of the rows alone: SQLite's online backup API into a
file, or ``pg_dump -Fc`` for PostgreSQL (``--db postgresql+psycopg://...`` of an EMPTY database you own).

    python benchmarks/bench_backup.py [--patients 200] [--photos-per-patient 5] [--photo-kb 150] [--db URL --restore-db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path


def build(url: str, photos: Path, patients: int, per_patient: int, photo_kb: int) -> tuple[int, int]:
    """Fill the journal; return (rows, photo files)."""
    from sqlalchemy import insert

    import regrow.journal as jr

    engine = jr.open_journal(url)
    store = jr.PhotoStore(photos)
    tables = jr.Base.metadata.tables
    when = dt.datetime(2025, 1, 1, 9, 0)
    rows = {name: [] for name in ("person", "device", "measurement", "note", "change", "photo")}
    files = 0
    with store.writing():
        for p in range(1, patients + 1):
            rows["person"].append(
                {"id": p, "display_name": f"Patient {p}", "is_default": False, "created_at": when}
            )
            rows["device"].append(
                {
                    "id": p,
                    "person_id": p,
                    "name": "pen",
                    "kind": "pen",
                    "needle_length_mm": 0.5,
                    "use_count": 0,
                    "created_at": when,
                }
            )
            for k in range(per_patient):
                name = store.put(os.urandom(photo_kb * 1024), ".jpg")
                files += 1
                rows["photo"].append(
                    {
                        "id": (p - 1) * per_patient + k + 1,
                        "person_id": p,
                        "taken_at": when,
                        "site": "vertex",
                        "file_name": name,
                        "sha256": name[:64],
                        "width": 640,
                        "height": 480,
                        "created_at": when,
                    }
                )
            for k in range(24):
                at = when + dt.timedelta(days=14 * k)
                rows["measurement"].append(
                    {
                        "person_id": p,
                        "taken_at": at,
                        "site": "vertex",
                        "hair_count": 150 + k,
                        "area_cm2": 1.0,
                        "density_per_cm2": 150.0 + k,
                        "source": "manual",
                        "quality_flags": [],
                        "replicate": 0,
                        "created_at": at,
                        "count_source": "manual",
                        "manual_count": 150 + k,
                    }
                )
                rows["note"].append(
                    {"person_id": p, "written_at": at, "text": f"Visit {k}: no side effects."}
                )
                rows["change"].append(
                    {
                        "person_id": p,
                        "group_id": f"{p:08d}{k:08d}",
                        "at": at,
                        "interface": "web",
                        "action": "create",
                        "table_name": "note",
                        "row_id": k,
                        "old": None,
                        "new": {"text": f"Visit {k}"},
                    }
                )
        with engine.begin() as connection:
            for name, batch in rows.items():
                connection.execute(insert(tables[name]), batch)
    engine.dispose()
    return sum(len(b) for b in rows.values()), files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--photos-per-patient", type=int, default=5)
    parser.add_argument("--photo-kb", type=int, default=150)
    parser.add_argument("--db", help="an EMPTY PostgreSQL database (default: SQLite in a temporary folder)")
    parser.add_argument("--restore-db", help="with --db: another EMPTY PostgreSQL database to restore into")
    args = parser.parse_args()

    import regrow.journal as jr

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.db or f"sqlite:///{folder / 'clinic.sqlite'}"
        t0 = time.perf_counter()
        rows, files = build(url, folder / "photos", args.patients, args.photos_per_patient, args.photo_kb)
        print(
            f"journal: {rows} rows, {files} photo files of {args.photo_kb} KB (built in {time.perf_counter() - t0:.1f} s)"
        )

        engine = jr.make_engine(url)
        t0 = time.perf_counter()
        summary = jr.backup_journal(engine, jr.PhotoStore(folder / "photos"), folder / "backup.zip")
        backup_s = time.perf_counter() - t0
        engine.dispose()
        photo_mb = files * args.photo_kb / 1024
        print(
            f"regrow backup:  {backup_s:6.2f} s, {summary.size_bytes / 1e6:7.1f} MB (photos {photo_mb * 1.048576:.1f} MB)"
        )

        if args.db is None:
            target = f"sqlite:///{folder / 'restored.sqlite'}"
            t0 = time.perf_counter()
            with (
                sqlite3.connect(folder / "clinic.sqlite") as src,
                sqlite3.connect(folder / "peer.sqlite") as dst,
            ):
                src.backup(dst)
            peer_s, peer_bytes, peer = (
                time.perf_counter() - t0,
                (folder / "peer.sqlite").stat().st_size,
                "sqlite3 backup API",
            )
        else:
            target = args.restore_db
            dump = shutil.which("pg_dump")
            t0 = time.perf_counter()
            from sqlalchemy.engine import make_url

            parsed = make_url(args.db)
            subprocess.run(
                [
                    dump,
                    "-Fc",
                    "-h",
                    parsed.host or "localhost",
                    "-p",
                    str(parsed.port or 5432),
                    "-U",
                    parsed.username,
                    "-f",
                    str(folder / "peer.dump"),
                    parsed.database,
                ],
                check=True,
            )
            peer_s, peer_bytes, peer = (
                time.perf_counter() - t0,
                (folder / "peer.dump").stat().st_size,
                "pg_dump -Fc",
            )
        print(f"{peer} (rows only): {peer_s:6.2f} s, {peer_bytes / 1e6:7.1f} MB")

        if target is not None:
            engine = jr.make_engine(target)
            t0 = time.perf_counter()
            jr.restore_journal(engine, jr.PhotoStore(folder / "restored-photos"), summary.path)
            print(
                f"regrow restore: {time.perf_counter() - t0:6.2f} s (verify + one transaction + photo files)"
            )
            engine.dispose()
        t0 = time.perf_counter()
        jr.verify_backup(summary.path)
        print(f"regrow restore --check: {time.perf_counter() - t0:6.2f} s")


if __name__ == "__main__":
    main()
