"""Batch grading: submissions checked in parallel worker processes under time and memory limits."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Literal, TextIO

ReportFormat = Literal["csv", "jsonl", "markdown"]

#: Columns of the CSV report, in order (the JSON Lines report has the same keys).
COLUMNS = (
    "id",
    "verdict",
    "correct",
    "mistakes",
    "message",
    "counterexample",
    "first_wrong_line",
    "limit",
    "seconds",
)
#: Per-submission time limit (seconds) unless the caller gives one.
DEFAULT_TIMEOUT = 10.0
#: Per-submission memory limit (MiB of address space above what a fresh worker already uses).
DEFAULT_MEMORY_MB = 1024
#: Extra wall-clock seconds before a worker that ignores its own time budget is killed.
KILL_GRACE = 2.0


@dataclass(frozen=True, slots=True)
class Submission:
    """One row to grade: an ``answer`` or a ``derivation`` for ``problem`` (``wrt`` may be "")."""

    index: int
    id: str
    problem: str
    wrt: str = ""
    answer: str | None = None
    derivation: str | None = None
    #: Set when the row itself could not be read (bad JSON, no problem, ...).
    error: str | None = None


@dataclass(frozen=True, slots=True)
class GradeSummary:
    """A grading run's outcome: counts per verdict and per mistake, every row in input order."""

    rows: tuple[Mapping[str, Any], ...]
    by_verdict: Mapping[str, int]
    by_mistake: Mapping[str, int]
    graded: int
    resumed: int
    seconds: float
    output: str | None = None
    jobs: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows in the report."""
        return len(self.rows)

    @property
    def correct(self) -> int:
        """Rows graded correct."""
        return sum(1 for row in self.rows if _truthy(row.get("correct")))

    def to_markdown(self) -> str:
        """A Markdown summary: totals, counts per verdict and per mistake."""
        lines = [
            "# Grading summary",
            "",
            f"{self.total} submissions: {self.correct} correct, {self.total - self.correct} not "
            f"({self.graded} graded in this run, {self.resumed} kept from an earlier run; "
            f"{self.seconds:.1f} s on {self.jobs} worker{'s' if self.jobs != 1 else ''}).",
            "",
            "| verdict | count |",
            "|---|---:|",
            *(f"| {verdict} | {count} |" for verdict, count in sorted(self.by_verdict.items())),
            "",
        ]
        if self.by_mistake:
            lines += [
                "| mistake | count |",
                "|---|---:|",
                *(
                    f"| `{mistake}` | {count} |"
                    for mistake, count in sorted(
                        self.by_mistake.items(), key=lambda item: (-item[1], item[0])
                    )
                ),
                "",
            ]
        return "\n".join(lines)


# -- reading submissions ------------------------------------------------------------------------


def _field(row: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip() != "":
            return str(value)
    return None


def _submission(index: int, row: Mapping[str, Any]) -> Submission:
    identifier = _field(row, "id", "submission", "student") or str(index + 1)
    problem = _field(row, "problem")
    answer = _field(row, "answer")
    derivation = _field(row, "derivation")
    error = None
    if problem is None:
        error = "the row has no problem"
    elif answer is None and derivation is None:
        error = "the row has neither an answer nor a derivation"
    return Submission(
        index, identifier, problem or "", _field(row, "wrt") or "", answer, derivation, error
    )


def read_submissions(path: str | Path) -> list[Submission]:
    """The submissions of a JSON Lines (``.jsonl``/``.json``) or CSV file, in file order.

    A row that cannot be read becomes a submission with ``error`` set: it still gets a row.
    """
    text = Path(path).read_text(encoding="utf-8")
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson") or (
        suffix != ".csv" and text.lstrip().startswith("{")
    ):
        return list(_read_jsonl(text))
    return [_submission(index, row) for index, row in enumerate(csv.DictReader(io.StringIO(text)))]


def _read_jsonl(text: str) -> Iterator[Submission]:
    index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            yield Submission(
                index, f"line{number}", "", error=f"line {number} is not valid JSON: {error.msg}"
            )
        else:
            if isinstance(row, dict):
                yield _submission(index, row)
            else:
                yield Submission(
                    index, f"line{number}", "", error=f"line {number} is not a JSON object"
                )
        index += 1


# -- grading one submission (in a worker) -------------------------------------------------------


def _died(task: Submission, seconds: float) -> tuple[int, dict[str, Any]]:
    """The report row of a submission whose worker process died under it."""
    row = _row(
        task,
        "undecided",
        "the worker process died (memory or crash)",
        limit="crashed",
        seconds=seconds,
    )
    return task.index, row


def _row(
    submission: Submission,
    verdict: str,
    message: str,
    *,
    correct: bool = False,
    mistakes: Iterable[str] = (),
    counterexample: Any = None,
    first_wrong_line: int | None = None,
    limit: str = "",
    seconds: float = 0.0,
) -> dict[str, Any]:
    return {
        "id": submission.id,
        "verdict": verdict,
        "correct": correct,
        "mistakes": list(mistakes),
        "message": message,
        "counterexample": counterexample,
        "first_wrong_line": first_wrong_line,
        "limit": limit,
        "seconds": round(seconds, 3),
    }


def grade_submission(submission: Submission, timeout: float | None) -> dict[str, Any]:
    """The report row of one submission; never raises (bad input is an ``invalid`` row)."""
    from chainsolve.api import check_parsed
    from chainsolve.budget import stage
    from chainsolve.errors import BudgetExceeded, ChainsolveError
    from chainsolve.verification import verdict_to_dict

    start = time.monotonic()
    if submission.error is not None:
        return _row(submission, "invalid", submission.error)
    try:
        with stage("grading", timeout):
            from chainsolve.parsing import parse_problem

            wrt = [name.strip() for name in submission.wrt.split(",") if name.strip()] or None
            problem = parse_problem(submission.problem, wrt=wrt)
            report: Any = check_parsed(
                problem, answer=submission.answer, derivation=submission.derivation
            )
    except BudgetExceeded:
        return _row(
            submission,
            "undecided",
            f"time limit of {timeout:g} s reached",
            limit="timeout",
            seconds=time.monotonic() - start,
        )
    except ChainsolveError as error:
        return _row(
            submission, "invalid", error.message_with_hint(), seconds=time.monotonic() - start
        )
    except MemoryError:
        return _row(
            submission,
            "undecided",
            "memory limit reached",
            limit="memory",
            seconds=time.monotonic() - start,
        )
    except RecursionError:
        return _row(
            submission,
            "undecided",
            "the expression is nested too deeply",
            limit="recursion",
            seconds=time.monotonic() - start,
        )
    data = verdict_to_dict(report)
    limit = "timeout" if data["verdict"] == "undecided" and "time budget" in data["message"] else ""
    return _row(
        submission,
        data["verdict"],
        data["message"],
        correct=data["correct"],
        mistakes=data["mistakes"],
        counterexample=data["counterexample"],
        first_wrong_line=data.get("first_wrong_line"),
        limit=limit,
        seconds=time.monotonic() - start,
    )


def _address_space_bytes() -> int:
    """This process's current virtual memory size (Linux), 0 where unknown."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _limit_memory(memory_mb: int | None) -> None:
    if not memory_mb:
        return
    try:
        import resource
    except ImportError:  # not on POSIX: no limit, the wall clock still guards
        return
    # Above what the worker already maps (sympy, forked from the parent), not absolute.
    limit = _address_space_bytes() + memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _worker_main(connection: Connection, timeout: float | None, memory_mb: int | None) -> None:
    _limit_memory(memory_mb)
    sys.setrecursionlimit(4000)
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        submission: Submission = task
        row = grade_submission(submission, timeout)
        connection.send((submission.index, row))
        if row["limit"] == "memory":
            return  # a worker that hit its limit may be fragmented: the parent starts a fresh one


# -- the pool -----------------------------------------------------------------------------------


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    task: Submission | None = None
    started: float = 0.0


class _Pool:
    """Workers fed one task at a time; one that hangs past its deadline or dies is replaced."""

    def __init__(self, jobs: int, timeout: float | None, memory_mb: int | None) -> None:
        methods = multiprocessing.get_all_start_methods()
        # fork shares the already imported sympy with the workers: much faster start-up.
        self.context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.workers = [self._start() for _ in range(jobs)]

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_worker_main, args=(child, self.timeout, self.memory_mb), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(1)
        worker.connection.close()
        self.workers[self.workers.index(worker)] = self._start()

    def run(self, tasks: list[Submission]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Grade ``tasks``; yields ``(index, row)`` as rows finish (not in order)."""
        pending = list(reversed(tasks))
        busy = 0
        while pending or busy:
            for worker in self.workers:
                if worker.task is None and pending:
                    worker.task = pending.pop()
                    worker.started = time.monotonic()
                    try:
                        worker.connection.send(worker.task)
                        busy += 1
                    except (BrokenPipeError, OSError):
                        pending.append(worker.task)
                        worker.task = None
                        self._replace(worker)
            active = [w for w in self.workers if w.task is not None]
            deadline = self._wait_seconds(active)
            ready = wait(
                [w.connection for w in active] + [w.process.sentinel for w in active],
                timeout=deadline,
            )
            now = time.monotonic()
            for worker in list(active):
                task = worker.task
                assert task is not None
                if worker.connection in ready or worker.connection.poll():
                    try:
                        index, row = worker.connection.recv()
                    except (EOFError, OSError):
                        yield _died(task, now - worker.started)
                        worker.task = None
                        busy -= 1
                        self._replace(worker)
                        continue
                    worker.task = None
                    busy -= 1
                    yield index, row
                    if not worker.process.is_alive() or row.get("limit") == "memory":
                        self._replace(worker)
                elif not worker.process.is_alive():
                    yield _died(task, now - worker.started)
                    worker.task = None
                    busy -= 1
                    self._replace(worker)
                elif self.timeout is not None and now - worker.started > self.timeout + KILL_GRACE:
                    yield (
                        task.index,
                        _row(
                            task,
                            "undecided",
                            f"time limit of {self.timeout:g} s reached (the worker was stopped)",
                            limit="timeout",
                            seconds=now - worker.started,
                        ),
                    )
                    worker.task = None
                    busy -= 1
                    self._replace(worker)

    def _wait_seconds(self, active: list[_Worker]) -> float | None:
        if self.timeout is None or not active:
            return None
        now = time.monotonic()
        return max(0.01, min(w.started + self.timeout + KILL_GRACE - now for w in active) + 0.01)

    def close(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.connection.send(None)
        for worker in self.workers:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)
            worker.connection.close()


# -- writing the report -------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _csv_row(row: Mapping[str, Any]) -> dict[str, Any]:
    flat = dict(row)
    flat["mistakes"] = ";".join(row.get("mistakes") or [])
    counterexample = row.get("counterexample")
    flat["counterexample"] = json.dumps(counterexample) if counterexample else ""
    flat["correct"] = "true" if _truthy(row.get("correct")) else "false"
    flat["first_wrong_line"] = (
        "" if row.get("first_wrong_line") is None else row["first_wrong_line"]
    )
    return {key: flat.get(key, "") for key in COLUMNS}


def read_report(path: str | Path) -> dict[str, dict[str, Any]]:
    """The rows of an existing CSV or JSON Lines report, by submission id (for ``--resume``)."""
    file = Path(path)
    if not file.exists():
        return {}
    text = file.read_text(encoding="utf-8")
    rows: dict[str, dict[str, Any]] = {}
    if file.suffix.lower() == ".csv" or text.startswith(",".join(COLUMNS)):
        for row in csv.DictReader(io.StringIO(text)):
            restored: dict[str, Any] = dict(row)
            restored["correct"] = _truthy(row.get("correct"))
            restored["mistakes"] = [m for m in (row.get("mistakes") or "").split(";") if m]
            restored["counterexample"] = (
                json.loads(row["counterexample"]) if row.get("counterexample") else None
            )
            rows[str(row["id"])] = restored
        return rows
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interrupted run: graded again
        if isinstance(row, dict) and "id" in row:
            rows[str(row["id"])] = row
    return rows


class _Writer:
    """Writes rows in input order as soon as every earlier row is known, flushing each one."""

    def __init__(self, stream: TextIO, report_format: ReportFormat) -> None:
        self.stream = stream
        self.format = report_format
        self.csv: csv.DictWriter[str] | None = None
        if report_format == "csv":
            self.csv = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
            self.csv.writeheader()

    def write(self, row: Mapping[str, Any]) -> None:
        if self.format == "csv":
            assert self.csv is not None
            self.csv.writerow(_csv_row(row))
        elif self.format == "jsonl":
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            return  # Markdown: the summary is written at the end
        self.stream.flush()


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled and sys.stderr.isatty()

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(1, self.total))
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def grade_file(
    path: str | Path,
    *,
    jobs: int | None = None,
    output: str | Path | None = None,
    report_format: ReportFormat = "csv",
    resume: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    progress: bool = True,
    summary_path: str | Path | None = None,
) -> GradeSummary:
    """Grade every submission of ``path`` and write the report to ``output`` (stdout when None).

    ``jobs`` worker processes (default: the number of cores) each grade one submission at
    a time under ``timeout`` seconds and ``memory_mb`` MiB; a submission that exceeds them
    becomes an ``undecided`` row with ``limit`` set. Rows come out in input order. With
    ``resume``, rows whose id is already in ``output`` are kept, not graded again.
    ``report_format`` ``markdown`` writes the summary instead of rows; ``summary_path``
    also writes it next to a CSV or JSON Lines report.
    """
    start = time.monotonic()
    submissions = read_submissions(path)
    kept = (
        read_report(output) if resume and output is not None and report_format != "markdown" else {}
    )
    todo = [s for s in submissions if s.id not in kept]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    rows: dict[int, dict[str, Any]] = {s.index: kept[s.id] for s in submissions if s.id in kept}
    stream: TextIO = sys.stdout if output is None else open(output, "w", encoding="utf-8")  # noqa: SIM115
    writer = _Writer(stream, report_format)
    order = [s.index for s in submissions]
    position = 0
    bar = _Progress(len(todo), progress)

    def flush_ready() -> None:
        nonlocal position
        while position < len(order) and order[position] in rows:
            writer.write(rows[order[position]])
            position += 1

    try:
        flush_ready()
        if todo:
            pool = _Pool(workers, timeout, memory_mb)
            try:
                for index, row in pool.run(todo):
                    rows[index] = row
                    bar.step()
                    flush_ready()
            finally:
                pool.close()
        flush_ready()
        ordered = tuple(rows[i] for i in order)
        summary = _summarise(
            ordered, len(todo), len(kept), time.monotonic() - start, output, workers
        )
        if report_format == "markdown":
            stream.write(summary.to_markdown())
        if summary_path is not None:
            Path(summary_path).write_text(summary.to_markdown(), encoding="utf-8")
    finally:
        bar.close()
        if output is not None:
            stream.close()
    return summary


def _summarise(
    rows: tuple[Mapping[str, Any], ...],
    graded: int,
    resumed: int,
    seconds: float,
    output: str | Path | None,
    jobs: int,
) -> GradeSummary:
    verdicts = Counter(str(row.get("verdict")) for row in rows)
    mistakes = Counter(m for row in rows for m in (row.get("mistakes") or []))
    return GradeSummary(
        rows,
        dict(verdicts),
        dict(mistakes),
        graded,
        resumed,
        seconds,
        None if output is None else str(output),
        jobs,
    )
