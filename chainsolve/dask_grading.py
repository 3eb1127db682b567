"""Grading on a Dask cluster: chunks of one problem as tasks, each graded in a sandbox process."""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from chainsolve.errors import ChainsolveError
from chainsolve.grade import Batch, Pool, Submission, died_row

#: Tasks in flight per worker thread of the cluster: one running and one ready to start.
TASKS_PER_THREAD = 2
#: Times a chunk is sent again when the cluster gives up on it (its workers kept dying).
RETRIES = 2
#: Seconds to wait for the scheduler to answer before giving up.
CONNECT_SECONDS = 10
#: How a worker process is started so that it may start sandbox processes of its own.
WORKER_HINT = (
    "start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False "
    "(for example: DASK_DISTRIBUTED__WORKER__DAEMON=False dask worker tcp://HOST:8786)"
)


class SandboxRefused(RuntimeError):
    """A Dask worker that may not start the sandbox process a row is graded in."""


# -- on a worker --------------------------------------------------------------------------------

#: One sandbox per worker thread, kept between tasks so that it solves each problem once.
_sandboxes = threading.local()


class _ChunkFeed:
    """One task's rows for the sandbox pool; rows of a lost sandbox come back here."""

    def __init__(self, chunk: Iterable[Submission]) -> None:
        self.rows = deque(chunk)

    def next_chunk(self) -> list[Submission] | None:
        chunk = sorted(self.rows, key=lambda submission: submission.index)
        self.rows.clear()
        return chunk or None

    def give_back(self, submissions: Iterable[Submission]) -> None:
        self.rows.extend(submissions)


def _sandbox(timeout: float | None, memory_mb: int | None, share: bool) -> Pool:
    settings = (timeout, memory_mb, share)
    if getattr(_sandboxes, "settings", None) != settings:
        if multiprocessing.current_process().daemon:
            raise SandboxRefused(WORKER_HINT)
        old: Pool | None = getattr(_sandboxes, "pool", None)
        if old is not None:
            old.close()
        _sandboxes.pool = Pool(1, timeout, memory_mb, share)
        _sandboxes.settings = settings
    pool: Pool = _sandboxes.pool
    return pool


def grade_chunk(
    chunk: list[Submission], timeout: float | None, memory_mb: int | None, share: bool
) -> list[tuple[int, dict[str, Any]]]:
    """The rows of ``chunk`` (a Dask task): graded in this worker's sandbox under the limits."""
    feed = _ChunkFeed(chunk)
    return list(_sandbox(timeout, memory_mb, share).run(feed))


# -- on the client ------------------------------------------------------------------------------


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise ChainsolveError(
            "missing_dask",
            "--scheduler needs Dask's distributed scheduler, which is not installed",
            hint='pip install "chainsolve[dask]"',
        ) from error
    return distributed


def connect(address: str) -> Any:
    """A client of the Dask scheduler at ``address`` (``tcp://HOST:8786``), or a clear error."""
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ChainsolveError(
            "no_scheduler",
            f"could not reach the Dask scheduler at {address}: {error}",
            hint="start one with `dask scheduler` and give its address, e.g. tcp://HOST:8786",
        ) from error


def grade_on_cluster(
    batch: Batch, client: Any, timeout: float | None, memory_mb: int | None, share: bool
) -> int:
    """Grade ``batch`` on the Dask cluster of ``client`` (see :func:`connect`); its thread count.

    A few chunks per worker thread are in flight at a time, so that the window of rows read
    ahead stays bounded. A chunk whose worker is lost is run again by the scheduler on
    another worker; only a finished task's rows are reported, so none is lost or doubled.
    """
    threads: int = max(1, sum(client.nthreads().values()))
    running: dict[Any, tuple[list[Submission], int]] = {}
    finished = _distributed().as_completed(loop=client.loop)
    limits = (timeout, memory_mb, share)
    _top_up(client, batch, running, finished, threads * TASKS_PER_THREAD, limits)
    for future in finished:
        chunk, tries = running.pop(future)
        _collect(client, future, chunk, tries, running, finished, batch, limits)
        _top_up(client, batch, running, finished, threads * TASKS_PER_THREAD, limits)
    return threads


def _top_up(
    client: Any,
    batch: Batch,
    running: dict[Any, tuple[list[Submission], int]],
    finished: Any,
    most: int,
    limits: tuple[float | None, int | None, bool],
) -> None:
    while len(running) < most:
        chunk = batch.next_chunk()
        if not chunk:
            return
        future = _submit(client, chunk, *limits)
        running[future] = (chunk, 0)
        finished.add(future)


def _submit(
    client: Any, chunk: list[Submission], timeout: float | None, memory_mb: int | None, share: bool
) -> Any:
    return client.submit(grade_chunk, chunk, timeout, memory_mb, share, pure=False)


def _collect(
    client: Any,
    future: Any,
    chunk: list[Submission],
    tries: int,
    running: dict[Any, tuple[list[Submission], int]],
    finished: Any,
    batch: Batch,
    limits: tuple[float | None, int | None, bool],
) -> None:
    try:
        rows = future.result()
    except SandboxRefused as error:
        raise ChainsolveError(
            "dask_worker_daemon", "a Dask worker may not start sandbox processes", hint=str(error)
        ) from error
    except Exception:  # the scheduler gave up on the chunk (KilledWorker): try again, then report
        if tries < RETRIES:
            again = _submit(client, chunk, *limits)
            running[again] = (chunk, tries + 1)
            finished.add(again)
            return
        rows = [died_row(submission, 0.0) for submission in chunk]
    for index, row in rows:
        batch.graded(index, row)
