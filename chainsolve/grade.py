"""Batch grading: submissions checked in parallel worker processes under time and memory limits."""

from __future__ import annotations

import contextlib
import csv
import heapq
import io
import json
import multiprocessing
import os
import sys
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

if TYPE_CHECKING:
    from chainsolve.rubric import Rubric
    from chainsolve.sheet import Sheet

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
#: Seconds between a waiting worker's checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0
#: Rows of one problem sent to a local worker at a time (small: the report keeps flowing).
CHUNK_ROWS = 8
#: Rows of one problem per Dask task (larger: a task costs a round trip to the scheduler).
DASK_CHUNK_ROWS = 32
#: Rows read ahead of the oldest one not yet sent: chunks group a problem's rows among these.
READ_AHEAD = 2000
#: Verdicts kept to give to later identical answers (oldest dropped first).
SHARED_VERDICTS = 20_000


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
    #: How the row is scored (``grade --sheet``): its row gains the rubric's columns.
    rubric: Rubric | None = None


@dataclass(frozen=True, slots=True)
class GradeSummary:
    """A grading run's outcome: rows in the report, counts per verdict and per mistake."""

    total: int
    correct: int
    by_verdict: Mapping[str, int]
    by_mistake: Mapping[str, int]
    graded: int
    resumed: int
    seconds: float
    output: str | None = None
    jobs: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)

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


def _is_json_lines(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return True
    if suffix == ".csv":
        return False
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                return line.lstrip().startswith("{")
    return False


def iter_submissions(path: str | Path) -> Iterator[Submission]:
    """The submissions of a JSON Lines (``.jsonl``/``.json``) or CSV file, in file order, read lazily.

    A row that cannot be read becomes a submission with ``error`` set: it still gets a row.
    """
    file = Path(path)
    if _is_json_lines(file):
        with file.open(encoding="utf-8") as handle:
            yield from _read_jsonl(handle)
        return
    with file.open(encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            yield _submission(index, row)


def _read_jsonl(lines: Iterable[str]) -> Iterator[Submission]:
    index = 0
    for number, line in enumerate(lines, start=1):
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


def _count_rows(path: str | Path) -> int:
    """How many rows ``path`` holds (a streamed pass, for the progress bar)."""
    return sum(1 for _ in iter_submissions(path))


# -- sharing: one problem solved once, one answer judged once -----------------------------------

#: The part of a submission its verdict depends on: kind, problem, variables, text.
ShareKey = tuple[str, str, str, str]


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def _wrt_names(wrt: str) -> list[str] | None:
    return [name.strip() for name in wrt.split(",") if name.strip()] or None


def share_key(submission: Submission) -> ShareKey:
    """What identical answers have in common: spaces collapsed, a derivation's lines kept apart.

    Line breaks are kept because a derivation's verdict names line numbers.
    """
    if submission.answer is not None:
        kind, text = "answer", _collapsed(submission.answer)
    else:
        lines = (submission.derivation or "").splitlines()
        kind, text = "derivation", "\n".join(_collapsed(line) for line in lines)
    return (kind, _collapsed(submission.problem), ",".join(_wrt_names(submission.wrt) or []), text)


def _problem_key(submission: Submission) -> tuple[str, str]:
    return (_collapsed(submission.problem), ",".join(_wrt_names(submission.wrt) or []))


def _same_text(a: Submission, b: Submission) -> bool:
    return (a.problem, a.wrt, a.answer, a.derivation) == (b.problem, b.wrt, b.answer, b.derivation)


def _shareable(row: Mapping[str, Any], original: Submission, other: Submission) -> bool:
    """Whether ``other`` gets ``original``'s verdict without being graded itself.

    A row cut short by a limit is not a verdict on the text; an ``invalid`` row's message
    points at a column of the text as typed, so only a byte-identical text shares it.
    """
    if row.get("limit") or _scoring(original) != _scoring(other):
        return False
    return row.get("verdict") != "invalid" or _same_text(original, other)


def _shared_row(row: Mapping[str, Any], submission: Submission) -> dict[str, Any]:
    shared = dict(row)
    shared["id"] = submission.id
    shared["seconds"] = 0.0
    return shared if submission.rubric is None else _rubric_row(submission.rubric, shared)


def _scoring(submission: Submission) -> Rubric | None:
    """How a row is scored, without its labels: rows scored alike share a verdict."""
    return None if submission.rubric is None else submission.rubric.unlabelled()


# -- grading one submission (in a worker) -------------------------------------------------------


def died_row(task: Submission, seconds: float) -> tuple[int, dict[str, Any]]:
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
    row = {
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
    return row if submission.rubric is None else _rubric_row(submission.rubric, row)


def _rubric_row(rubric: Rubric, row: dict[str, Any]) -> dict[str, Any]:
    from chainsolve.rubric import label_row

    return label_row(row, rubric)


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

            problem = parse_problem(submission.problem, wrt=_wrt_names(submission.wrt))
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
    row = _row(
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
    if submission.rubric is None:
        return row
    from chainsolve.rubric import score_row

    # The rubric gets what is left of the row's time: the parent kills a worker past it.
    left = None if timeout is None else max(timeout - (time.monotonic() - start), 1e-3)
    lines = data.get("lines") or ()
    return score_row(
        row, submission.rubric, problem=problem, answer=submission.answer, lines=lines, timeout=left
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


def _worker_main(
    connection: Connection, timeout: float | None, memory_mb: int | None, share: bool
) -> None:
    """Grade chunks of submissions, sending each row back as soon as it is graded."""
    from chainsolve.verification import forget_solved_problems

    _limit_memory(memory_mb)
    sys.setrecursionlimit(4000)
    parent = os.getppid()
    while True:
        # Other processes forked from the parent hold its end of this pipe too, so its death
        # is not an end of file here: a worker whose parent is gone stops by itself.
        if not connection.poll(PARENT_CHECK_SECONDS):
            if os.getppid() != parent:
                return
            continue
        try:
            chunk = connection.recv()
        except EOFError:
            return
        if chunk is None:
            return
        for submission in chunk:
            if not share:
                forget_solved_problems()
            row = grade_submission(submission, timeout)
            connection.send((submission.index, row))
            if row["limit"] == "memory":
                return  # a worker that hit its limit may be fragmented: the parent starts a fresh one


# -- the pool -----------------------------------------------------------------------------------


class Feed(Protocol):
    """Where a pool takes its chunks from and hands the rows of a chunk cut short back to."""

    def next_chunk(self) -> list[Submission] | None:
        """Submissions of one problem to grade next, or None when none is ready."""

    def give_back(self, submissions: Iterable[Submission]) -> None:
        """Submissions sent but not graded (their worker was lost): to be sent again."""


def _import_grading_modules() -> None:
    """Import sympy and the checks once, before forking, rather than in every worker."""
    import chainsolve.api
    import chainsolve.parsing
    import chainsolve.verification  # noqa: F401


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    #: The rows of its chunk not reported yet; the first is the one being graded.
    chunk: deque[Submission] = field(default_factory=deque)
    #: When the row being graded started.
    started: float = 0.0


class Pool:
    """Worker processes fed one chunk at a time; one that hangs past a row's deadline or dies is
    replaced, the row it was on reported, and the rest of its chunk handed back to the feed."""

    def __init__(
        self, jobs: int, timeout: float | None, memory_mb: int | None, share: bool = True
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        # fork shares the already imported sympy with the workers: much faster start-up.
        self.context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        if "fork" in methods:
            _import_grading_modules()
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.share = share
        self.workers = [self._start() for _ in range(jobs)]

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_worker_main,
            args=(child, self.timeout, self.memory_mb, self.share),
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _replace(self, worker: _Worker, feed: Feed) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(1)
        worker.connection.close()
        feed.give_back(worker.chunk)
        self.workers[self.workers.index(worker)] = self._start()

    def _send(self, worker: _Worker, feed: Feed) -> None:
        chunk = feed.next_chunk()
        if not chunk:
            return
        worker.chunk = deque(chunk)
        worker.started = time.monotonic()
        try:
            worker.connection.send(chunk)
        except (BrokenPipeError, OSError):
            self._replace(worker, feed)

    def run(self, feed: Feed) -> Iterator[tuple[int, dict[str, Any]]]:
        """Grade what ``feed`` gives until it has nothing more; yields ``(index, row)`` as rows
        finish (not in order). The caller may add to ``feed`` between two rows."""
        while True:
            for worker in self.workers:
                if not worker.chunk:
                    self._send(worker, feed)
            active = [w for w in self.workers if w.chunk]
            if not active:
                return
            ready = wait(
                [w.connection for w in active] + [w.process.sentinel for w in active],
                timeout=self._wait_seconds(active),
            )
            for worker in active:
                yield from self._collect(worker, ready, feed)

    def _collect(
        self, worker: _Worker, ready: list[Any], feed: Feed
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        now = time.monotonic()
        task = worker.chunk[0]
        if worker.connection in ready or worker.connection.poll():
            try:
                index, row = worker.connection.recv()
            except (EOFError, OSError):
                worker.chunk.popleft()
                self._replace(worker, feed)
                yield died_row(task, now - worker.started)
                return
            worker.chunk.popleft()
            worker.started = now
            if row.get("limit") == "memory" or not worker.process.is_alive():
                self._replace(worker, feed)
            yield index, row
        elif not worker.process.is_alive():
            worker.chunk.popleft()
            self._replace(worker, feed)
            yield died_row(task, now - worker.started)
        elif self.timeout is not None and now - worker.started > self.timeout + KILL_GRACE:
            worker.chunk.popleft()
            self._replace(worker, feed)
            message = f"time limit of {self.timeout:g} s reached (the worker was stopped)"
            yield (
                task.index,
                _row(task, "undecided", message, limit="timeout", seconds=now - worker.started),
            )

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


def _csv_row(row: Mapping[str, Any], columns: tuple[str, ...] = COLUMNS) -> dict[str, Any]:
    flat = dict(row)
    flat["mistakes"] = ";".join(row.get("mistakes") or [])
    counterexample = row.get("counterexample")
    flat["counterexample"] = json.dumps(counterexample) if counterexample else ""
    flat["correct"] = "true" if _truthy(row.get("correct")) else "false"
    flat["first_wrong_line"] = (
        "" if row.get("first_wrong_line") is None else row["first_wrong_line"]
    )
    return {key: flat.get(key, "") for key in columns}


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

    def __init__(
        self, stream: TextIO, report_format: ReportFormat, columns: tuple[str, ...] = COLUMNS
    ) -> None:
        self.stream = stream
        self.format = report_format
        self.columns = columns
        self.csv: csv.DictWriter[str] | None = None
        if report_format == "csv":
            self.csv = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
            self.csv.writeheader()

    def write(self, row: Mapping[str, Any]) -> None:
        if self.format == "csv":
            assert self.csv is not None
            self.csv.writerow(_csv_row(row, self.columns))
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


class _Report:
    """Rows written in input order as soon as every earlier row is known; counts for the summary."""

    def __init__(self, writer: _Writer, bar: _Progress) -> None:
        self.writer = writer
        self.bar = bar
        self.waiting: dict[int, Mapping[str, Any]] = {}
        self.written = 0
        self.correct = 0
        self.by_verdict: Counter[str] = Counter()
        self.by_mistake: Counter[str] = Counter()

    def add(self, index: int, row: Mapping[str, Any]) -> None:
        self.waiting[index] = row
        self.bar.step()
        while self.written in self.waiting:
            done = self.waiting.pop(self.written)
            self.writer.write(done)
            self.by_verdict[str(done.get("verdict"))] += 1
            self.by_mistake.update(done.get("mistakes") or [])
            self.correct += _truthy(done.get("correct"))
            self.written += 1


class Batch:
    """The submissions of one run, read at most ``read_ahead`` rows ahead of the report, and
    sent in chunks of one problem.

    Rows kept from an earlier run, unreadable rows and answers already judged go straight to
    the report; of identical answers (see :func:`share_key`) only the first is sent, the
    others wait for its verdict. A chunk starts with the oldest row not yet sent, so that the
    report keeps flowing, and takes more rows of that problem from the window.
    """

    def __init__(
        self,
        submissions: Iterator[Submission],
        report: _Report,
        *,
        kept: Mapping[str, Mapping[str, Any]],
        share: bool,
        chunk_rows: int,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        self.source = submissions
        self.report = report
        self.kept = kept
        self.share = share
        self.chunk_rows = max(1, chunk_rows)
        self.read_ahead = read_ahead
        self.resumed = 0
        self.read = 0
        #: Rows sent to a worker (the others were kept, unreadable or shared a verdict).
        self.judged_rows = 0
        #: Rows to send by index, their indices oldest first, and by problem (both lazily
        #: cleaned: an index no longer in ``unsent`` was sent with another chunk).
        self.unsent: dict[int, Submission] = {}
        self.oldest: list[int] = []
        self.by_problem: dict[tuple[str, str], deque[int]] = {}
        #: Sent rows whose verdict others wait for, and the rows waiting.
        self.sent: dict[int, ShareKey] = {}
        self.waiters: dict[ShareKey, list[Submission]] = {}
        self.originals: dict[ShareKey, Submission] = {}
        #: Verdicts already given, by key, with the submission they were given for (bounded).
        self.judged: OrderedDict[ShareKey, tuple[Submission, Mapping[str, Any]]] = OrderedDict()

    # -- reading ahead

    def _fill(self) -> None:
        # Bounded by the rows not yet written, not the rows not yet sent: answers that wait
        # for a verdict are not sent, and must not let the whole input in behind a slow row.
        while self.read - self.report.written < self.read_ahead:
            submission = next(self.source, None)
            if submission is None:
                return
            self.read += 1
            self._take(submission)

    def _take(self, submission: Submission) -> None:
        if submission.id in self.kept:
            self.resumed += 1
            self.report.add(submission.index, self.kept[submission.id])
        elif submission.error is not None:
            self.report.add(submission.index, _row(submission, "invalid", submission.error))
        elif not self.share:
            self._queue(submission)
        else:
            self._take_shared(submission)

    def _take_shared(self, submission: Submission) -> None:
        key = share_key(submission)
        judged = self.judged.get(key)
        if judged is not None and _shareable(judged[1], judged[0], submission):
            self.report.add(submission.index, _shared_row(judged[1], submission))
        elif key in self.waiters:
            self.waiters[key].append(submission)
        elif judged is not None:
            self._queue(submission)  # its verdict is its own: graded alone
        else:
            self.waiters[key] = []
            self.originals[key] = submission
            self.sent[submission.index] = key
            self._queue(submission)

    def _queue(self, submission: Submission) -> None:
        self.unsent[submission.index] = submission
        heapq.heappush(self.oldest, submission.index)
        self.by_problem.setdefault(_problem_key(submission), deque()).append(submission.index)

    # -- the pool's side

    def has_work(self) -> bool:
        """Whether any row is left to send (reading ahead to know)."""
        self._fill()
        return bool(self.unsent)

    def next_chunk(self) -> list[Submission] | None:
        """The oldest row not yet sent and more of its problem, up to ``chunk_rows``."""
        self._fill()
        while self.oldest and self.oldest[0] not in self.unsent:
            heapq.heappop(self.oldest)
        if not self.oldest:
            return None
        first = self.unsent.pop(heapq.heappop(self.oldest))
        chunk = [first]
        key = _problem_key(first)
        group = self.by_problem.get(key, deque())
        while group and len(chunk) < self.chunk_rows:
            index = group.popleft()
            if index in self.unsent:
                chunk.append(self.unsent.pop(index))
        if not group:
            self.by_problem.pop(key, None)
        self.judged_rows += len(chunk)
        return chunk

    def give_back(self, submissions: Iterable[Submission]) -> None:
        """Rows sent but never graded: queued again."""
        for submission in submissions:
            self._queue(submission)

    def graded(self, index: int, row: Mapping[str, Any]) -> None:
        """A row came back: reported, and given to the rows waiting for the same verdict."""
        self.report.add(index, row)
        key = self.sent.pop(index, None)
        if key is None:
            return
        original = self.originals.pop(key)
        self.judged[key] = (original, row)
        if len(self.judged) > SHARED_VERDICTS:
            self.judged.popitem(last=False)
        for waiter in self.waiters.pop(key):
            if _shareable(row, original, waiter):
                self.report.add(waiter.index, _shared_row(row, waiter))
            else:
                self._queue(waiter)  # the verdict was not on the text: graded on its own


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
    share: bool = True,
    scheduler: str | None = None,
    chunk_rows: int | None = None,
    sheet: Sheet | None = None,
) -> GradeSummary:
    """Grade every submission of ``path`` and write the report to ``output`` (stdout when None).

    ``jobs`` worker processes (default: the number of cores), or the workers of the Dask
    cluster at ``scheduler`` (``tcp://host:8786``), each grade one submission at a time
    under ``timeout`` seconds and ``memory_mb`` MiB; a submission that exceeds them becomes
    an ``undecided`` row with ``limit`` set. Rows come out in input order, written as soon
    as every earlier row is known; the input is read a window at a time. With ``resume``,
    rows whose id is already in ``output`` are kept, not graded again. With ``share``
    (the default) a worker solves each problem once and identical answers are judged once;
    the report is the same without (only the ``seconds`` column differs). ``chunk_rows``
    rows of one problem go to a worker at a time (default :data:`CHUNK_ROWS`, on Dask
    :data:`DASK_CHUNK_ROWS`). With ``sheet``, each row's ``problem`` is a problem id of
    the sheet, graded in the row's student's variant and scored by the problem's rubric.
    ``report_format`` ``markdown`` writes the summary instead of rows; ``summary_path``
    also writes it next to a CSV or JSON Lines report.
    """
    start = time.monotonic()
    kept = (
        read_report(output) if resume and output is not None and report_format != "markdown" else {}
    )
    # Reach the cluster before the report is opened: an unreachable one leaves it untouched.
    cluster = None
    if scheduler is not None:
        from chainsolve.dask_grading import connect

        cluster = connect(scheduler)
    workers = max(1, jobs or os.cpu_count() or 1)
    enabled = progress and sys.stderr.isatty()
    bar = _Progress(_count_rows(path) if enabled else 0, enabled)
    stream: TextIO = sys.stdout if output is None else open(output, "w", encoding="utf-8")  # noqa: SIM115
    report = _Report(_Writer(stream, report_format, _columns(sheet)), bar)
    try:
        batch = Batch(
            _submissions(path, sheet),
            report,
            kept=kept,
            share=share,
            chunk_rows=chunk_rows or (CHUNK_ROWS if cluster is None else DASK_CHUNK_ROWS),
        )
        if cluster is None:
            _grade_locally(batch, workers, timeout, memory_mb, share)
        else:
            from chainsolve.dask_grading import grade_on_cluster

            workers = grade_on_cluster(batch, cluster, timeout, memory_mb, share)
        summary = GradeSummary(
            report.written,
            report.correct,
            dict(report.by_verdict),
            dict(report.by_mistake),
            report.written - batch.resumed,
            batch.resumed,
            time.monotonic() - start,
            None if output is None else str(output),
            workers,
            {"judged": batch.judged_rows},
        )
        if report_format == "markdown":
            stream.write(summary.to_markdown())
        if summary_path is not None:
            Path(summary_path).write_text(summary.to_markdown(), encoding="utf-8")
    finally:
        bar.close()
        if output is not None:
            stream.close()
        if cluster is not None:
            cluster.close()
    return summary


def _columns(sheet: Sheet | None) -> tuple[str, ...]:
    from chainsolve.rubric import RUBRIC_COLUMNS

    return COLUMNS if sheet is None else COLUMNS + RUBRIC_COLUMNS


def _submissions(path: str | Path, sheet: Sheet | None) -> Iterator[Submission]:
    from chainsolve.variants import sheet_submissions

    submissions = iter_submissions(path)
    return submissions if sheet is None else sheet_submissions(submissions, sheet)


def _grade_locally(
    batch: Batch, workers: int, timeout: float | None, memory_mb: int | None, share: bool
) -> None:
    """Grade ``batch`` on ``workers`` processes of this machine."""
    if batch.has_work():
        pool = Pool(workers, timeout, memory_mb, share)
        try:
            for index, row in pool.run(batch):
                batch.graded(index, row)
        finally:
            pool.close()
