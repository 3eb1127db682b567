"""Tests for chainsolve.dask_grading: the same report on a local Dask cluster, a lost worker too."""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainsolve.grade import grade_file

if os.environ.get("CHAINSOLVE_REQUIRE_TOOLS") != "1":
    pytest.importorskip("distributed", reason="Dask's distributed scheduler is not installed")

#: A small class: right answers, a named mistake, a derivation, bad input, a graph problem.
ROWS = [
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x^2)"},
    {"problem": "exp(3*x)", "answer": "3*exp(3*x)"},
    {"problem": "(x^2 + 1)^3", "answer": "3*(x^2+1)^2"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "-2*x*y*sin(t)"},
    {"problem": "log(cos(x))", "answer": "-tan(x)"},
    {"problem": "sin(x^2)", "derivation": "= cos(x^2)*2*x\n= x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2"},
    {"answer": "1"},
]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[Any]:
    """A two-worker cluster on this machine (localhost only); workers may start sandboxes."""
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        # Not the default client: grading must find the cluster from the address alone.
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def _write(path: Path, count: int) -> list[str]:
    rows = [{"id": f"s{i:03d}", **ROWS[i % len(ROWS)]} for i in range(count)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return [r["id"] for r in rows]


def _without_seconds(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("seconds")
    return rows


def _grade(source: Path, output: Path, **options: Any) -> Any:
    return grade_file(source, output=output, timeout=30, memory_mb=600, progress=False, **options)


def test_cluster_report_is_the_local_report(scheduler: Any, tmp_path: Path) -> None:
    """Grading on the cluster gives the local run's report, row for row, in input order."""
    source = tmp_path / "subs.jsonl"
    ids = _write(source, 27)
    _grade(source, tmp_path / "local.csv", jobs=1)
    summary = _grade(
        source, tmp_path / "dask.csv", scheduler=scheduler.scheduler.address, chunk_rows=4
    )
    local, remote = (
        _without_seconds(tmp_path / "local.csv"),
        _without_seconds(tmp_path / "dask.csv"),
    )
    assert [r["id"] for r in remote] == ids
    assert remote == local
    assert summary.jobs == 2 and summary.total == 27


def _kill_a_busy_worker(client: Any, output: Path, killed: list[int]) -> None:
    """Once the report has a row, SIGKILL a worker that is running a task."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if output.exists() and output.read_text(encoding="utf-8").count("\n") >= 2:
            break
        time.sleep(0.05)
    while time.monotonic() < deadline and not killed:
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.05)


def test_a_worker_lost_midway_has_its_rows_regraded(scheduler: Any, tmp_path: Path) -> None:
    """A worker killed mid-run: its chunk runs again elsewhere; no row is lost or doubled, and
    the report is still the local one."""
    source = tmp_path / "subs.jsonl"
    ids = _write(source, 36)
    _grade(source, tmp_path / "local.csv", jobs=1, share=False)
    output = tmp_path / "dask.csv"
    killed: list[int] = []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(scheduler, output, killed))
    killer.start()
    try:
        _grade(source, output, scheduler=scheduler.scheduler.address, chunk_rows=3, share=False)
    finally:
        killer.join()
        # The nanny restarts the killed worker: let it join before the cluster is shut down.
        scheduler.wait_for_workers(2, timeout=120)
    remote = _without_seconds(output)
    assert [r["id"] for r in remote] == ids
    assert remote == _without_seconds(tmp_path / "local.csv")
    assert killed, "no worker was busy to be killed"


def test_an_unreachable_scheduler_is_one_clear_error_and_leaves_the_report(
    tmp_path: Path,
) -> None:
    """A bad scheduler address is a ChainsolveError before the report is opened: --resume's
    earlier report is not overwritten."""
    from chainsolve.errors import ChainsolveError

    source = tmp_path / "subs.jsonl"
    _write(source, 2)
    output = tmp_path / "report.jsonl"
    output.write_text('{"id": "s000", "verdict": "equivalent"}\n', encoding="utf-8")
    with pytest.raises(ChainsolveError, match="could not reach the Dask scheduler"):
        grade_file(source, output=output, report_format="jsonl", resume=True, scheduler="nowhere")
    assert output.read_text(encoding="utf-8") == '{"id": "s000", "verdict": "equivalent"}\n'
