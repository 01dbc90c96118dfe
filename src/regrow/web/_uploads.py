"""Photos measured in the background: an upload returns at once and one worker measures the images in turn.

Measuring an image takes 1-3 s. ``POST /api/photos?background=true`` checks the form and reads each file
(size, type) before it answers 202 with one job per file; a single worker thread then strips, measures and
stores them in upload order, exactly as the synchronous upload does (:meth:`JournalService.add_photo`).
``GET /api/photos/jobs`` reports each job's state, so any page can show the progress. Jobs live in memory:
those not finished when the server stops are lost (their files were never stored).
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from regrow.errors import RegrowError

from ._context import current_person

__all__ = ["MeasureQueue"]

#: Finished jobs kept for the status view (the newest).
KEEP_FINISHED = 200


class MeasureQueue:
    """Jobs of one app: ``queued`` -> ``measuring`` -> ``done`` (with the stored photo) or ``failed``."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._owners: dict[int, int | None] = {}  # job id -> patient (clinic mode; None in a home journal)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def submit(
        self,
        name: str,
        site: str | None,
        work: Callable[[], dict[str, Any]],
        describe: Callable[[RegrowError], dict[str, Any]],
    ) -> dict[str, Any]:
        """Queue ``work`` (it measures and stores one image; ``describe`` turns its refusal into the error
        body of the API); returns the job as :meth:`jobs` shows it."""
        with self._lock:
            job = {"id": next(self._ids), "name": name, "site": site, "state": "queued"}
            self._owners[job["id"]] = current_person.get()
            self._jobs[job["id"]] = job
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="regrow-measure")
            executor = self._executor
            self._trim()
        # the job runs in a copy of the request's context: in clinic mode it stores for the request's patient
        executor.submit(contextvars.copy_context().run, self._run, job["id"], work, describe)
        return dict(job)

    def _run(
        self,
        job_id: int,
        work: Callable[[], dict[str, Any]],
        describe: Callable[[RegrowError], dict[str, Any]],
    ) -> None:
        self._update(job_id, state="measuring")
        try:
            stored = work()
        except RegrowError as exc:
            self._update(job_id, state="failed", status=exc.http_status, **describe(exc))
        except Exception:  # a job must end; the server log has the traceback
            import logging

            logging.getLogger("regrow.web").exception("measuring %s failed", job_id)
            self._update(
                job_id,
                state="failed",
                status=500,
                error={
                    "code": "error",
                    "message": "Measuring failed; nothing was stored. Try the upload again.",
                },
            )
        else:
            self._update(job_id, state="done", **stored)

    def _update(self, job_id: int, **values: Any) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id].update(values)

    def _trim(self) -> None:
        finished = [i for i, j in self._jobs.items() if j["state"] in ("done", "failed")]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]
            self._owners.pop(job_id, None)

    def jobs(self, ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Every kept job of the request's patient (or those of ``ids``), oldest first."""
        owner = current_person.get()
        with self._lock:
            return [
                dict(j)
                for i, j in self._jobs.items()
                if (ids is None or i in ids) and self._owners.get(i) == owner
            ]

    def pending(self) -> int:
        """How many images of the request's patient wait or are being measured."""
        owner = current_person.get()
        with self._lock:
            return sum(
                1
                for i, j in self._jobs.items()
                if j["state"] in ("queued", "measuring") and self._owners.get(i) == owner
            )

    def shutdown(self) -> None:
        """Finish the jobs in hand and stop the worker."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
