"""Running many image tasks on a Dask cluster: connect or start one, submit with retries, collect as they finish.

Pure orchestration: this module knows nothing about images, patients or the journal. The caller gives a
function that runs on the workers (bytes in, a picklable result out) and consumes the results in the client
process as they arrive (:mod:`regrow._day_batch` stores them in the journal). ``dask`` and ``distributed``
are imported only here, only when a batch runs on Dask (the ``clinic`` extra).

Failures, and what happens to each:

- the task raises: Dask reruns it up to ``retries`` more times (:data:`DEFAULT_RETRIES`), then the exception
  comes back to the client for that task alone;
- the worker process running it dies (killed, out of memory, ``os._exit``): the scheduler reruns the task on
  another worker (a local cluster's nanny restarts the dead one); a task that has now been on
  ``distributed.scheduler.allowed-failures + 1`` dying workers (Dask's default 3, so 4 deaths) comes back as
  ``KilledWorker`` instead of being tried again;
- the client never receives half a result: a task's result is its return value, whole, or its exception.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from regrow.errors import InputError, MissingExtraError

__all__ = [
    "DEFAULT_RETRIES",
    "MAX_LOCAL_WORKERS",
    "TaskOutcome",
    "dask_client",
    "local_processes_default",
    "run_on_dask",
]

#: Extra attempts of a task that raised (on top of the first one): ``client.submit(..., retries=2)``.
DEFAULT_RETRIES = 2
#: Largest ``workers`` of a local cluster.
MAX_LOCAL_WORKERS = 64
#: Tasks in flight per worker thread: enough to keep every worker busy while the client stores results,
#: few enough that a day's images are never all held in memory at once.
TASKS_PER_THREAD = 4
#: Seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT_S = 10
#: Images travel inside the task (never scattered: scattered data dies with its worker and cannot be rerun),
#: so a graph of a few large images is expected; warn only above this many bytes (Dask's default is 10 MB).
LARGE_GRAPH_WARNING_BYTES = 256 * 1024 * 1024


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError("dask[distributed]", "clinic") from exc
    return distributed


@contextlib.contextmanager
def dask_client(
    *,
    workers: int = 2,
    scheduler: str | None = None,
    processes: bool = True,
    threads_per_worker: int = 1,
) -> Iterator[Any]:
    """A ``distributed.Client``: on an existing cluster (``scheduler``) or on a new local one.

    Parameters
    ----------
    workers : int
        Worker processes of the local cluster (1-64); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``, ``tls://host:8786``); the TLS settings
        come from Dask's configuration (``distributed.comm.tls.*``, docs/batch.md).
    processes : bool
        Local cluster only: worker processes (True, the default) or threads in this process (tests).
    threads_per_worker : int
        Local cluster only: threads per worker (1: the measurement is single-threaded per image).

    Yields
    ------
    distributed.Client
        Closed (and the local cluster shut down) on exit.

    Notes
    -----
    A local cluster spawns its worker processes, so a script that calls this at module level needs the
    ``if __name__ == "__main__":`` guard (as any ``multiprocessing`` program).

    Raises
    ------
    MissingExtraError
        ``distributed`` is not installed (``pip install 'regrow[clinic]'``).
    InputError
        ``workers`` out of range, or the scheduler cannot be reached.
    """
    distributed = _distributed()
    import dask

    if scheduler is None and (not isinstance(workers, int) or not 1 <= workers <= MAX_LOCAL_WORKERS):
        raise InputError.invalid("--workers", workers, f"an integer in [1, {MAX_LOCAL_WORKERS}]")
    config = {"distributed.admin.large-graph-warning-threshold": LARGE_GRAPH_WARNING_BYTES}
    with dask.config.set(config), contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError.invalid(
                    "--scheduler",
                    scheduler,
                    f"the address of a running Dask scheduler such as tcp://10.0.0.5:8786 ({exc})",
                ) from exc
            stack.callback(client.close)
        else:
            # Each worker process measures one image at a time on one core: no BLAS/OpenMP oversubscription.
            single = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=processes,
                dashboard_address=None,
                # No dashboard; the scheduler's small HTTP server (health, metrics) on a free port of this
                # machine only, never the default 8787 on every interface (taken by another cluster, public).
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.ERROR,
                **({"env": single} if processes else {}),
            )
            stack.callback(cluster.close)
            client = distributed.Client(cluster, set_as_default=False)
            stack.callback(client.close)
        yield client


@dataclass
class TaskOutcome:
    """What came back for one task: its ``result`` or, when every attempt failed, its ``error``."""

    task_id: Hashable
    result: Any = None
    error: BaseException | None = None


def _threads(client: Any) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except (OSError, TimeoutError):
        return 1


def run_on_dask(
    client: Any,
    function: Callable[..., Any],
    tasks: Iterable[tuple[Hashable, tuple[Any, ...]]],
    *,
    retries: int = DEFAULT_RETRIES,
    in_flight: int | None = None,
) -> Iterator[TaskOutcome]:
    """Run ``function(*args)`` for each ``(task_id, args)`` of ``tasks`` on the cluster; yield outcomes as
    they finish.

    At most ``in_flight`` tasks are submitted at a time, and ``tasks`` is consumed lazily, so a generator
    that reads each image's bytes only when its task is submitted keeps memory bounded.

    Parameters
    ----------
    client : distributed.Client
    function : callable
        Runs on the workers; must be importable there (the regrow package installed on every worker).
    tasks : iterable of (hashable, tuple)
        A task id (unique) and the positional arguments of each task.
    retries : int
        Extra attempts of a task that raised (default :data:`DEFAULT_RETRIES`). A dying worker is handled by
        the scheduler, not counted here (module docstring).
    in_flight : int, optional
        Most tasks submitted at once; default :data:`TASKS_PER_THREAD` per worker thread.

    Yields
    ------
    TaskOutcome
        One per task, in completion order.

    Raises
    ------
    InputError
        ``retries`` or ``in_flight`` out of range.
    """
    distributed = _distributed()
    if not isinstance(retries, int) or not 0 <= retries <= 100:
        raise InputError.invalid("retries", retries, "an integer in [0, 100]")
    if in_flight is not None and (not isinstance(in_flight, int) or in_flight < 1):
        raise InputError.invalid("in_flight", in_flight, "a positive integer")
    limit = in_flight or TASKS_PER_THREAD * _threads(client)
    batch = uuid.uuid4().hex[:12]
    source = iter(tasks)
    numbers = itertools.count()
    task_of: dict[str, Hashable] = {}
    pool = distributed.as_completed(loop=client.loop)

    def submit_next() -> bool:
        for task_id, args in source:
            key = f"regrow-{batch}-{next(numbers)}"
            future = client.submit(function, *args, key=key, pure=False, retries=retries)
            task_of[future.key] = task_id
            pool.add(future)
            return True
        return False

    try:
        for _ in range(limit):
            if not submit_next():
                break
        for future in pool:
            task_id = task_of.pop(future.key)
            if future.status == "finished":
                outcome = TaskOutcome(task_id, result=future.result())
            else:
                outcome = TaskOutcome(task_id, error=_exception(future))
            future.release()
            submit_next()
            yield outcome
    finally:
        pool.clear()  # stopped early (the consumer failed): drop the futures, so the scheduler forgets them


def _exception(future: Any) -> BaseException:
    try:
        error = future.exception()
    except Exception as exc:  # cancelled: the scheduler or the cluster went away
        return exc
    return error if error is not None else RuntimeError(f"task {future.key} was {future.status}")


def local_processes_default() -> int:
    """Worker processes of a local cluster when none are asked for: the CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
