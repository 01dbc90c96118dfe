"""``regrow measure --dask``: a day's images measured on a Dask cluster and stored in the journal.

Fast cases run the cluster in this process (``processes=False``); the CLI case and the dying worker use real
worker processes. The journal cases run on SQLite and PostgreSQL (the journal tests' fixtures).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import distributed  # the `clinic` extra, part of the `test` extra: missing, it fails (never skipped)
import pytest
from PIL import Image

from regrow import _day_batch as day_batch
from regrow import _photos
from regrow import journal as jr
from regrow.cli import main
from regrow.errors import DataFileError, DuplicateError, InputError, MissingExtraError, NotFoundError
from regrow.measure import synthesize
from regrow.measure._dask import TaskOutcome, dask_client, run_on_dask

UM_PER_PX = 5.5
SMALL = {"shape": (400, 520), "um_per_px": UM_PER_PX, "unit_density_per_cm2": 90.0}
DAY = "2026-11-30"


def _image(path: Path, seed: int) -> Path:
    Image.fromarray(synthesize(**SMALL, seed=seed).image).save(path, quality=92)
    return path


def _day(tmp_path: Path, patients: list[int], *, per_patient: int = 2, corrupt: bool = True) -> Path:
    """Synthetic images of each patient's vertex (distinct seeds) and, optionally, one corrupt file."""
    rows = ["file,patient,site,taken_at,um_per_px"]
    folder = tmp_path / "day"
    folder.mkdir()
    seed = 10
    for patient in patients:
        for _ in range(per_patient):
            seed += 1
            _image(folder / f"p{patient}-{seed}.jpg", seed)
            rows.append(f"p{patient}-{seed}.jpg,{patient},Vertex,{DAY}T09:30,{UM_PER_PX}")
    if corrupt:
        (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
        rows.append(f"corrupt.jpg,{patients[0]},vertex,{DAY}T09:40,{UM_PER_PX}")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return manifest


def _journal_with_patients(url: str, n: int) -> tuple[object, list[int]]:
    engine = jr.open_journal(url)
    with jr.session_scope(engine) as session:
        ids = [jr.get_or_create_default_person(session).id]
        ids += [jr.create_person(session, display_name=f"patient {i}").id for i in range(1, n)]
    return engine, ids


def _state(engine, store: jr.PhotoStore) -> tuple[list[tuple], list[tuple], set[str]]:
    """Photo rows, measurement rows (photo, count) and the photo files, to compare runs."""
    with jr.session_scope(engine) as session:
        photos = sorted(
            (p.person_id, p.site, p.sha256, p.file_name)
            for pid in _people(session)
            for p in jr.list_photos(session, person_id=pid)
        )
        measurements = sorted(
            (m.person_id, m.photo_id, m.hair_count, m.source)
            for pid in _people(session)
            for m in jr.list_measurements(session, person_id=pid)
        )
    files = {p.name for p in store.root.glob("*") if len(p.stem) == 64 and p.suffix != ".json"}
    for _, _, sha, _ in photos:  # each photo keeps its overlay and its summary
        assert store.overlay_path(sha).is_file() and store.sidecar_path(sha).is_file()
    return photos, measurements, files


def _people(session) -> list[int]:
    from sqlalchemy import select

    return list(session.scalars(select(jr.Person.id)))


@pytest.fixture(scope="module")
def client():
    """A cluster of two worker threads in this process (fast; the measurement is the same code)."""
    with dask_client(workers=2, processes=False) as c:
        yield c


# --- the batch, on SQLite and PostgreSQL -----------------------------------------------------------------


def test_a_day_with_one_corrupt_image_stores_the_others_and_a_rerun_stores_nothing(db_url, tmp_path, client):
    engine, (a, b) = _journal_with_patients(db_url, 2)
    store = jr.PhotoStore(tmp_path / "photos")
    try:
        images = day_batch.read_manifest(_day(tmp_path, [a, b]))
        seen = []
        report = day_batch.measure_day(engine, store, images, client=client, on_item=seen.append)
        assert [i.status for i in report.items] == ["measured"] * 4 + ["failed"]
        assert len(seen) == 5 and {i.row for i in seen} == {2, 3, 4, 5, 6}
        bad = report.items[-1]
        assert bad.file.endswith("corrupt.jpg") and "readable image" in bad.message
        assert (report.count("measured"), report.count("skipped"), report.count("failed")) == (4, 0, 1)
        photos, measurements, files = _state(engine, store)
        assert len(photos) == 4 and len(measurements) == 4 and len(files) == 4
        assert {p[0] for p in photos} == {a, b} and {p[1] for p in photos} == {"vertex"}  # canonical site
        assert files == {p[3] for p in photos}  # every file has its row and every row its file
        # each measurement is the existing pipeline's count of its image, linked to its photo
        by_photo = {i.photo_id: i for i in report.items if i.status == "measured"}
        with jr.session_scope(engine) as session:
            for pid in (a, b):
                for m in jr.list_measurements(session, person_id=pid):
                    item = by_photo[m.photo_id]
                    assert (m.hair_count, m.id, m.source) == (item.hair_count, item.measurement_id, "image")
                    assert m.taken_at.isoformat() == f"{DAY}T09:30:00"
        again = day_batch.measure_day(engine, store, images, client=client)
        assert [i.status for i in again.items] == ["skipped"] * 4 + ["failed"]
        assert {i.message for i in again.items[:4]} == {"already measured"}
        assert [i.photo_id for i in again.items[:4]] == [i.photo_id for i in report.items[:4]]
        assert _state(engine, store) == (photos, measurements, files)
    finally:
        engine.dispose()


def test_a_rerun_after_a_partial_run_measures_only_what_is_missing(db_url, tmp_path, client):
    engine, (a,) = _journal_with_patients(db_url, 1)
    store = jr.PhotoStore(tmp_path / "photos")
    try:
        images = day_batch.read_manifest(_day(tmp_path, [a], per_patient=3, corrupt=False))
        # the first image was stored earlier the way `regrow journal photo add` stores it
        first = images[0]
        _photos.store_photo(
            engine,
            store,
            first.path.read_bytes(),
            person_id=a,
            suffix=".jpg",
            original_name=first.path.name,
            site="vertex",
            taken_at=first.taken_at,
            um_per_px=UM_PER_PX,
        )
        report = day_batch.measure_day(engine, store, images, client=client)
        assert [i.status for i in report.items] == ["skipped", "measured", "measured"]
        assert report.items[0].photo_id is not None and report.items[0].measurement_id is None
        photos, measurements, _ = _state(engine, store)
        assert len(photos) == 3 and len(measurements) == 3
    finally:
        engine.dispose()


def test_the_same_image_twice_in_one_manifest_is_stored_once(db_url, tmp_path, client):
    engine, (a,) = _journal_with_patients(db_url, 1)
    store = jr.PhotoStore(tmp_path / "photos")
    try:
        img = _image(tmp_path / "x.jpg", 5)
        manifest = tmp_path / "m.csv"
        manifest.write_text(f"file,patient,site,taken_at\n{img},{a},vertex,{DAY}\n{img},{a},vertex,{DAY}\n")
        images = day_batch.read_manifest(manifest, um_per_px=UM_PER_PX)
        report = day_batch.measure_day(engine, store, images, client=client)
        assert sorted(i.status for i in report.items) == ["measured", "skipped"]
        assert len(_state(engine, store)[0]) == 1
    finally:
        engine.dispose()


def test_unknown_patients_stop_the_batch_before_any_work(db_url, tmp_path, client):
    engine, (a,) = _journal_with_patients(db_url, 1)
    store = jr.PhotoStore(tmp_path / "photos")
    try:
        images = day_batch.read_manifest(_day(tmp_path, [a, 41, 42], per_patient=1, corrupt=False))
        with pytest.raises(NotFoundError, match=r"Unknown patient id\(s\) 41 \(row 3\); 42 \(row 4\)"):
            day_batch.measure_day(engine, store, images, client=client)
        assert _state(engine, store) == ([], [], set())
    finally:
        engine.dispose()


def test_a_site_close_to_one_in_use_stops_the_batch_unless_confirmed(tmp_path, client):
    engine, (a,) = _journal_with_patients(f"sqlite:///{tmp_path / 'j.sqlite'}", 1)
    store = jr.PhotoStore(tmp_path / "photos")
    try:
        img = _image(tmp_path / "x.jpg", 7)
        manifest = tmp_path / "m.csv"
        manifest.write_text(f"file,patient,site,taken_at,um_per_px\n{img},{a},vertx,{DAY},{UM_PER_PX}\n")
        images = day_batch.read_manifest(manifest)
        with pytest.raises(DuplicateError, match="'vertx' is new but very close to 'vertex'"):
            day_batch.measure_day(engine, store, images, client=client)
        assert _state(engine, store)[0] == []
        report = day_batch.measure_day(engine, store, images, client=client, new_site=True)
        assert [i.status for i in report.items] == ["measured"]
    finally:
        engine.dispose()


# --- input checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "file,patient,site\nx.jpg,1,vertex\n",
            r"missing column\(s\) taken_at; the columns are file, patient",
        ),
        ("file,patient,site,taken_at,zoom\n", r"unknown column\(s\) zoom"),
        ("file,patient,site,taken_at\nx.jpg,abc,vertex,2026-11-30\n", r"row 2, column 'patient': invalid"),
        (
            "file,patient,site,taken_at\nx.jpg,1,vertex,2026-11-30\nx.jpg,0,vertex,2026-11-30\n",
            r"row 3, column 'patient'",
        ),
        (
            "file,patient,site,taken_at\nx.jpg,1,vertex,30/11/2026\n",
            r"row 2, column 'taken_at': invalid .*ISO 8601",
        ),
        ("file,patient,site,taken_at\nx.jpg,1,,2026-11-30\n", r"row 2, column 'site': missing site"),
        (
            "file,patient,site,taken_at,um_per_px\nx.jpg,1,vertex,2026-11-30,wide\n",
            r"row 2, column 'um_per_px'",
        ),
        (
            "file,patient,site,taken_at,device\nx.jpg,1,vertex,2026-11-30,no-such-scope\n",
            r"row 2: .*no-such-scope",
        ),
        ("file,patient,site,taken_at\nx.jpg,1,vertex,2026-11-30,extra\n", r"row 2: more cells than columns"),
        ("file,patient,site,taken_at\n", r"no image rows"),
    ],
)
def test_a_bad_manifest_names_the_row_the_column_and_what_is_allowed(tmp_path, text, message):
    _image(tmp_path / "x.jpg", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=message):
        day_batch.read_manifest(manifest, um_per_px=None if "um_per_px" in text else UM_PER_PX)


def test_missing_image_files_and_no_calibration_are_refused_before_any_work(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "file,patient,site,taken_at\ngone.jpg,1,vertex,2026-11-30\nnotes.txt,1,vertex,2026-11-30\n"
    )
    with pytest.raises(
        DataFileError, match=r"2 image file\(s\).*row 2: .*gone.jpg: no such file; row 3: notes.txt"
    ):
        day_batch.read_manifest(manifest, um_per_px=UM_PER_PX)
    with pytest.raises(DataFileError, match="row 2: no calibration"):
        day_batch.read_manifest(manifest)
    with pytest.raises(DataFileError, match="no such file"):
        day_batch.read_manifest(tmp_path / "absent.csv")


def test_a_day_folder_is_read_as_day_patient_site_images(tmp_path):
    day = tmp_path / "2026-11-30"
    for patient, site, seed in [(1, "vertex", 1), (1, "crown", 2), (2, "frontal", 3)]:
        (day / str(patient) / site).mkdir(parents=True, exist_ok=True)
        _image(day / str(patient) / site / f"{seed}.jpg", seed)
    images = day_batch.scan_day_folder(day, device="fdu-70x")
    assert [(i.patient, i.site, i.path.name, i.device) for i in images] == [
        (1, "vertex", "2.jpg", "fdu-70x"),  # "crown" is a synonym of vertex
        (1, "vertex", "1.jpg", "fdu-70x"),
        (2, "frontal", "3.jpg", "fdu-70x"),
    ]
    assert {i.taken_at.isoformat() for i in images} == {"2026-11-30T00:00:00"}
    (day / "anna").mkdir()
    with pytest.raises(InputError, match="anna: not a patient-id folder"):
        day_batch.scan_day_folder(day, device="fdu-70x")
    other = tmp_path / "monday"
    other.mkdir()
    with pytest.raises(InputError, match="--date"):
        day_batch.scan_day_folder(other, device="fdu-70x")


# --- the orchestration ------------------------------------------------------------------------------------


def _flaky(flag: str, value: int) -> int:
    """Raise once (while ``flag`` exists, which it removes), then return ``value``."""
    if os.path.exists(flag):
        os.unlink(flag)
        raise OSError("transient failure")
    return value


def test_a_task_that_raises_is_retried_and_without_retries_its_error_comes_back(tmp_path, client):
    flag = tmp_path / "fail-once"
    flag.touch()
    out = list(run_on_dask(client, _flaky, [("a", (str(flag), 1)), ("b", (str(flag), 2))], retries=1))
    assert sorted((o.task_id, o.result, o.error) for o in out) == [("a", 1, None), ("b", 2, None)]
    flag.touch()
    out = list(run_on_dask(client, _flaky, [("a", (str(flag), 1))], retries=0, in_flight=1))
    assert len(out) == 1 and isinstance(out[0], TaskOutcome)
    assert isinstance(out[0].error, OSError) and "transient failure" in str(out[0].error)
    with pytest.raises(InputError, match="retries"):
        list(run_on_dask(client, _flaky, [], retries=-1))


def test_without_distributed_the_error_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'regrow\[clinic\]'"), dask_client(workers=1):
        pass


def test_an_unreachable_scheduler_is_one_clear_error(monkeypatch):
    monkeypatch.setattr("regrow.measure._dask.CONNECT_TIMEOUT_S", 0.5)
    expected = r"--scheduler 'tcp://127\.0\.0\.1:9'.*running Dask scheduler"
    with pytest.raises(InputError, match=expected), dask_client(scheduler="tcp://127.0.0.1:9"):
        pass


# --- the command line (real worker processes) -------------------------------------------------------------


def test_the_command_measures_a_day_writes_the_report_and_exits_2_for_the_failure(
    tmp_path, capsys, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    engine, (a, b) = _journal_with_patients(url, 2)
    engine.dispose()
    manifest = _day(tmp_path, [a, b], per_patient=1)
    args = ["measure", "--dask", "--manifest", str(manifest), "--workers", "1", "--db", url]
    args += ["--photos-dir", str(tmp_path / "photos"), "--report", str(tmp_path / "report.csv")]
    assert main(args) == 2
    out = capsys.readouterr()
    assert "3 images: 2 measured, 0 skipped (already measured), 1 failed" in out.out
    assert "error: " in out.err and "corrupt.jpg (row 4)" in out.err
    rows = (tmp_path / "report.csv").read_text().splitlines()
    assert rows[0].startswith("row,file,patient,site,taken_at,status,message,photo_id,measurement_id")
    assert [r.split(",")[5] for r in rows[1:]] == ["measured", "measured", "failed"]
    # the re-run on a cluster in this process (quicker; the first run used real worker processes)
    monkeypatch.setattr("regrow.measure._dask.dask_client", functools.partial(dask_client, processes=False))
    assert main([*args[:-2], "--report", str(tmp_path / "again.json"), "--json"]) == 2
    body = json.loads(capsys.readouterr().out)
    assert (body["measured"], body["skipped"], body["failed"], body["images"]) == (0, 2, 1, 3)
    assert json.loads((tmp_path / "again.json").read_text())["items"] == body["items"]


def test_the_command_runs_on_an_existing_scheduler_and_reads_a_day_folder(tmp_path, capsys, client):
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    engine, (a,) = _journal_with_patients(url, 1)
    engine.dispose()
    day = tmp_path / DAY
    (day / str(a) / "vertex").mkdir(parents=True)
    for seed in (3, 4):
        _image(day / str(a) / "vertex" / f"{seed}.jpg", seed)
    args = ["measure", "--dask", "--day", str(day), "--um-per-px", str(UM_PER_PX), "--json"]
    args += ["--scheduler", client.scheduler.address, "--db", url, "--photos-dir", str(tmp_path / "photos")]
    assert main(args) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["measured"], body["failed"], body["scheduler"]) == (2, 0, client.scheduler.address)
    assert [i["taken_at"] for i in body["items"]] == [f"{DAY}T00:00:00"] * 2


def test_dask_is_imported_only_by_the_dask_batch():
    import subprocess

    code = (
        "import sys; from regrow.cli import main; main(['measure', '--help']); "
        "print(sorted({k.split('.')[0] for k in sys.modules} & {'dask', 'distributed'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def test_the_command_refuses_bad_option_combinations(tmp_path, capsys):
    manifest = _day(tmp_path, [1], per_patient=1, corrupt=False)
    assert main(["measure", "--dask", "--workers", "1"]) == 2
    assert "exactly one of --manifest FILE or --day DIR" in capsys.readouterr().err
    args = ["measure", "--dask", "--manifest", str(manifest), "--scheduler", "tcp://127.0.0.1:9"]
    assert main([*args, "--workers", "2"]) == 2
    assert "left out with --scheduler" in capsys.readouterr().err
    assert main(["measure", "--dask", "--manifest", str(manifest), "--report", str(tmp_path)]) == 2
    assert "--report" in capsys.readouterr().err


# --- a worker that dies mid-batch ----------------------------------------------------------------------------


class DieOnce(distributed.WorkerPlugin):
    """Kill the worker process (``os._exit``) when it starts a task while the flag file exists (once)."""

    def __init__(self, flag: str):
        self.flag = flag

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and os.path.exists(self.flag):
            os.unlink(self.flag)
            os._exit(1)


@pytest.mark.slow
def test_a_worker_that_dies_mid_batch_costs_a_rerun_not_an_image(tmp_path):
    engine, (a, b) = _journal_with_patients(f"sqlite:///{tmp_path / 'j.sqlite'}", 2)
    store = jr.PhotoStore(tmp_path / "photos")
    flag = tmp_path / "die"
    flag.touch()
    try:
        images = day_batch.read_manifest(_day(tmp_path, [a, b], per_patient=3, corrupt=False))
        with dask_client(workers=2) as c:
            c.register_plugin(DieOnce(str(flag)))
            report = day_batch.measure_day(engine, store, images, client=c, in_flight=2)
        assert not flag.exists()  # a worker did die
        assert [i.status for i in report.items] == ["measured"] * 6
        photos, measurements, files = _state(engine, store)
        assert len(photos) == len(measurements) == len(files) == 6
        assert files == {p[3] for p in photos}
    finally:
        engine.dispose()


def test_workers_with_other_software_versions_are_refused_before_any_work(client):
    day_batch.check_workers(client)  # the same installation: accepted

    class OtherPillow:
        def run(self, function):
            return {"tcp://10.0.0.7:4000": {**function(), "Pillow": "9.0.0"}}

    with pytest.raises(InputError, match=r"worker tcp://10.0.0.7:4000 has Pillow 9.0.0 \(this client "):
        day_batch.check_workers(OtherPillow())


@pytest.mark.slow
def test_an_image_whose_worker_always_dies_is_reported_and_the_rest_is_stored(tmp_path):
    import dask

    engine, (a,) = _journal_with_patients(f"sqlite:///{tmp_path / 'j.sqlite'}", 1)
    store = jr.PhotoStore(tmp_path / "photos")
    flag = tmp_path / "die"
    flag.touch()
    try:
        images = day_batch.read_manifest(_day(tmp_path, [a], per_patient=3, corrupt=False))
        # no second chance after a death (Dask's default is 3), so the first image counts as a killer
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}), dask_client(workers=1) as c:
            c.register_plugin(DieOnce(str(flag)))
            report = day_batch.measure_day(engine, store, images, client=c, in_flight=1)
        assert [i.status for i in report.items] == ["failed", "measured", "measured"]
        assert "every worker that ran it died (KilledWorker)" in report.items[0].message
        photos, measurements, files = _state(engine, store)
        assert len(photos) == len(measurements) == len(files) == 2
    finally:
        engine.dispose()
