"""Batch grading: submissions checked in parallel worker processes under time and memory limits."""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import heapq
import io
import itertools
import json
import math
import multiprocessing
import os
import stat
import sys
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

if TYPE_CHECKING:
    from chainsolve.parsing import Syntax
    from chainsolve.rubric import Rubric
    from chainsolve.sheet import Sheet

from chainsolve.errors import ChainsolveError
from chainsolve.record import record
from chainsolve.wording import VERDICT_LABELS

ReportFormat = Literal["csv", "jsonl", "markdown"]

#: Columns of the CSV report, in order (the JSON Lines report has the same keys).
COLUMNS = (
    "row",
    "id",
    "problem",
    "verdict",
    "correct",
    "mistakes",
    "message",
    "counterexample",
    "first_wrong_line",
    "limit",
    "attempt",
    "answer",
    "expected",
    "seconds",
)
#: Verdicts a report row may hold (a row with another one is not a report's: graded again).
VERDICTS = frozenset({*VERDICT_LABELS, "invalid"})
#: Limits after which a row is graded once more on ``--resume``.
RETRIED_LIMITS = frozenset({"crashed", "timeout"})
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


@record
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
    #: The input's other columns (name, email, section, ...), carried into the report.
    extra: tuple[tuple[str, str], ...] = ()
    #: 2 when the row is graded again on ``--resume`` after a crash or a timeout.
    attempt: int = 1

    @property
    def key(self) -> tuple[int, str]:
        """What a report row is matched on: row number and id (ids may repeat or be blank)."""
        return (self.index + 1, self.id)

    #: How the row is scored (``grade --sheet``): its row gains the rubric's columns.
    rubric: Rubric | None = None
    #: From the sheet: the problem is an equation and the answer d(implicit)/dx.
    implicit: str = ""
    #: From the sheet: the order of the derivative the answer is.
    order: int = 1
    #: How the row's text is read (``grade --input``): it travels with the row, so that every
    #: worker reads it the same way, in a local process or on a Dask cluster's machine.
    input_syntax: Syntax = "auto"


@record
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
    #: Per problem (in the order first met): its rows, correct rows, scores and mistakes.
    by_problem: Mapping[str, ProblemTally] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """A Markdown summary: totals, counts per verdict, per mistake and per problem."""
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
        if self.by_problem:
            lines += [
                "| problem | rows | correct | mean score | mistakes |",
                "|---|---:|---:|---:|---|",
                *(tally.markdown_row(name) for name, tally in self.by_problem.items()),
                "",
            ]
        return "\n".join(lines)


@dataclass
class ProblemTally:
    """One problem's part of a run: rows, correct rows, rubric scores and named mistakes."""

    rows: int = 0
    correct: int = 0
    #: Rows scored by a rubric, the sum of their scores and of their points.
    scored: int = 0
    score: float = 0.0
    points: float = 0.0
    mistakes: Counter[str] = field(default_factory=Counter)

    def add(self, row: Mapping[str, Any]) -> None:
        """Count ``row`` (after any override)."""
        self.rows += 1
        self.correct += _truthy(row.get("correct"))
        self.mistakes.update(row.get("mistakes") or [])
        score, points = _points(row.get("score")), _points(row.get("points"))
        if score is not None and points is not None:
            self.scored += 1
            self.score += score
            self.points += points

    def markdown_row(self, name: str) -> str:
        """``| name | rows | correct | mean score / mean points | mistakes by count |``."""
        mean = (
            f"{_cell_number(self.score / self.scored)} / {_cell_number(self.points / self.scored)}"
            if self.scored
            else "–"
        )
        ranked = sorted(self.mistakes.items(), key=lambda item: (-item[1], item[0]))
        mistakes = ", ".join(f"`{mistake}` {count}" for mistake, count in ranked) or "–"
        label = name.replace("|", "\\|") or "(none)"
        return f"| {label} | {self.rows} | {self.correct} | {mean} | {mistakes} |"


# -- reading submissions ------------------------------------------------------------------------

#: Largest input file read (bytes): a device or a runaway export is refused, not read forever.
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: Longest cell or JSON line (characters): a longer one makes its own row invalid.
MAX_FIELD_CHARS = 1_000_000
#: Bytes decoded at a time while the encoding is checked.
_BLOCK = 1 << 20
#: Header names (lower case, spaces as ``_``) a submission's columns are known by.
ID_COLUMNS = ("id", "student_id", "submission", "student")
KNOWN_COLUMNS = ("problem", "wrt", "answer", "derivation")
#: Delimiters a CSV header is tried with (Excel writes ``;`` where ``,`` is the decimal mark).
DELIMITERS = (",", ";", "\t", "|")


class BatchInputError(ChainsolveError):
    """A batch that cannot be graded as given: one clear line for the user (CLI exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__("batch_input", message)


def note(text: str) -> None:
    """A one-line note for the person running the batch (stderr: the report may be stdout)."""
    sys.stderr.write(f"chainsolve: note: {text}\n")
    sys.stderr.flush()


@record
class InputFormat:
    """How a submissions file is read: JSON Lines or CSV, its encoding and CSV delimiter."""

    json_lines: bool
    encoding: str
    delimiter: str = ","


def _normal_header(name: str) -> str:
    return "_".join(name.strip().lower().split())


def _field(row: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip() != "":
            return str(value)
    return None


def _extra_columns(
    row: Mapping[str, Any], normal: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    """The columns of an input row that are not a submission's own (name, email, section, ...);
    ``normal`` is the row by normalised header."""
    used = {ID_COLUMNS[0], *KNOWN_COLUMNS}
    identifier = next((name for name in ID_COLUMNS if _field(normal, name) is not None), None)
    if identifier is not None:
        used.add(identifier)
    return tuple(
        (str(name), "" if value is None else str(value))
        for name, value in row.items()
        if _normal_header(str(name)) not in used and not isinstance(value, dict | list)
    )


def _submission(index: int, row: Mapping[str, Any], error: str | None = None) -> Submission:
    normal = {_normal_header(str(name)): value for name, value in row.items()}
    identifier = _field(normal, *ID_COLUMNS) or ""
    problem = _field(normal, "problem")
    answer = _field(normal, "answer")
    derivation = _field(normal, "derivation")
    if error is None and problem is None:
        error = "the row has no problem"
    elif error is None and answer is None and derivation is None:
        error = "the row has neither an answer nor a derivation"
    return Submission(
        index,
        identifier.strip(),
        problem or "",
        _field(normal, "wrt") or "",
        answer,
        derivation,
        error,
        extra=_extra_columns(row, normal),
    )


def _check_file(file: Path) -> int:
    """The size of ``file``; a FIFO, a device or a file too large is refused."""
    try:
        status = file.stat()
    except OSError as error:
        raise BatchInputError(f"cannot read {file}: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise BatchInputError(
            f"{file} is not a regular file (a pipe or a device?): save the submissions to a file"
        )
    if status.st_size > MAX_INPUT_BYTES:
        raise BatchInputError(
            f"{file} has {status.st_size:,} bytes, more than the {MAX_INPUT_BYTES:,} read at "
            "most: split the batch"
        )
    return status.st_size


def _first_bad_byte(file: Path, encoding: str) -> tuple[int, int] | None:
    """The position and value of the first byte ``encoding`` cannot decode, None when none."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with file.open("rb") as handle:
        while block := handle.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                return offset + error.start, block[error.start]
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return offset + error.start, 0
    return None


def detect_encoding(file: Path) -> str:
    """``utf-8-sig`` (UTF-8 with or without Excel's byte-order mark), else Windows-1252 with a
    note saying so; a file neither decodes is refused, naming the first bad byte."""
    bad = _first_bad_byte(file, "utf-8-sig")
    if bad is None:
        return "utf-8-sig"
    position, value = bad
    if _first_bad_byte(file, "cp1252") is None:
        note(
            f"{file} is not UTF-8 (byte 0x{value:02X} at position {position}): "
            "read as Windows-1252 (cp1252); save it as 'CSV UTF-8' to be sure"
        )
        return "cp1252"
    raise BatchInputError(
        f"{file} is neither UTF-8 nor Windows-1252: byte 0x{value:02X} at position {position} "
        "cannot be read; save it as 'CSV UTF-8'"
    )


def _looks_like_json_lines(file: Path, encoding: str) -> bool:
    suffix = file.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return True
    if suffix in (".csv", ".tsv", ".txt"):
        return False
    with file.open(encoding=encoding) as handle:
        for line in _bounded_lines(handle):
            if line.strip():
                return line.lstrip().startswith("{")
    return False


def _delimiter(header: str) -> str:
    """The delimiter of a CSV file, from its header line: the candidate it holds most of.

    The header decides, not a sample of rows: answers and derivations are full of commas.
    """
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def _check_header(file: Path, header: list[str]) -> None:
    names = {_normal_header(name) for name in header}
    missing = [] if "problem" in names else ["problem"]
    if not names & {"answer", "derivation"}:
        missing.append("answer or derivation")
    if missing:
        found = ", ".join(repr(name.strip()) for name in header) or "none"
        raise BatchInputError(
            f"{file} has no column {' and no column '.join(missing)} (found: {found}); "
            "expected columns: id, problem, wrt (optional), answer or derivation, "
            "and any others (name, email, section) to carry into the report"
        )


def input_format(path: str | Path, *, submissions: bool = True) -> InputFormat:
    """How ``path`` is read; a file that cannot be graded as given raises :class:`BatchInputError`.

    CSV files are also read through once here, so that an unbalanced quote (which would merge
    every later row into one cell) is an error naming its line before anything is graded.
    """
    file = Path(path)
    _check_file(file)
    encoding = detect_encoding(file)
    if _looks_like_json_lines(file, encoding):
        return InputFormat(True, encoding)
    with file.open(encoding=encoding, newline="") as handle:
        first = handle.readline(MAX_FIELD_CHARS)
    delimiter = _delimiter(first)
    found = InputFormat(False, encoding, delimiter)
    with file.open(encoding=encoding, newline="") as handle:
        records = _csv_records(handle, delimiter)
        header = next(records, None)
        if submissions:
            _check_header(file, header[1] if header is not None and header[2] is None else [])
        for _ in records:
            pass
    return found


def _csv_records(handle: TextIO, delimiter: str) -> Iterator[tuple[int, list[str], str | None]]:
    """``(first line, cells, error)`` of each CSV record; an unclosed quote raises."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    line = 1
    with _field_limit(MAX_FIELD_CHARS):
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield line, [], _record_error(handle, line, str(error))
            else:
                yield line, cells, None
            line = reader.line_num + 1


def _record_error(handle: TextIO, line: int, error: str) -> str:
    """What is wrong with the CSV record starting at ``line``; an unclosed quote raises."""
    if "field limit" in error:
        return f"line {line} has a cell longer than {MAX_FIELD_CHARS:,} characters"
    if "unexpected end of data" in error:
        raise BatchInputError(
            f"{getattr(handle, 'name', 'the input')} line {line}: a quote opened in this row "
            "is never closed (every later row would merge into it); close or remove it"
        )
    return f"line {line} is not valid CSV ({error})"


@contextlib.contextmanager
def _field_limit(chars: int) -> Iterator[None]:
    """csv's cell length limit set to ``chars`` for a while (it is process-wide)."""
    before = csv.field_size_limit(chars)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _bounded_lines(handle: TextIO) -> Iterator[str]:
    """The lines of ``handle``, each at most :data:`MAX_FIELD_CHARS` long (the rest skipped)."""
    while line := handle.readline(MAX_FIELD_CHARS):
        if not line.endswith("\n") and len(line) == MAX_FIELD_CHARS:
            while (rest := handle.readline(MAX_FIELD_CHARS)) and not rest.endswith("\n"):
                pass
            yield "\x00too long\x00"
            continue
        yield line


def iter_submissions(path: str | Path, found: InputFormat | None = None) -> Iterator[Submission]:
    """The submissions of a JSON Lines (``.jsonl``/``.json``) or CSV file, in file order, read lazily.

    A row that cannot be read becomes a submission with ``error`` set: it still gets a row.
    """
    file = Path(path)
    found = found or input_format(file)
    if found.json_lines:
        with file.open(encoding=found.encoding) as handle:
            yield from _read_jsonl(_bounded_lines(handle))
        return
    with file.open(encoding=found.encoding, newline="") as handle:
        records = _csv_records(handle, found.delimiter)
        first = next(records, None)
        header = [name.strip() for name in first[1]] if first is not None else []
        for index, (line, cells, error) in enumerate(records):
            row = dict(zip(header, cells, strict=False))
            error = error or _shape_error(line, row, len(cells), len(header), found.delimiter)
            yield _submission(index, row, error)


def _shape_error(
    line: int, row: Mapping[str, str], cells: int, columns: int, delimiter: str
) -> str | None:
    """Why a CSV record is not one row (too many or few cells, or rows merged by a stray
    quote), or None when it is."""
    if cells != columns:
        return (
            f"line {line} has {cells} cells where the header has {columns} "
            "(a stray quote or delimiter?)"
        )
    for name, cell in row.items():
        if _normal_header(name) == "derivation":
            continue  # a derivation spans lines by design
        for later in cell.splitlines()[1:]:
            if columns > 1 and later.count(delimiter) >= columns - 1:
                return (
                    f"line {line}: the {name} cell holds a line that looks like another row "
                    "(a quote left open?)"
                )
    return None


def _read_jsonl(lines: Iterable[str]) -> Iterator[Submission]:
    index = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line == "\x00too long\x00":
            yield Submission(
                index,
                f"line{number}",
                "",
                error=f"line {number} is longer than {MAX_FIELD_CHARS:,} characters",
            )
            index += 1
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


def _count_rows(path: str | Path, found: InputFormat) -> int:
    """How many rows ``path`` holds (a streamed pass, for the progress bar)."""
    return sum(1 for _ in iter_submissions(path, found))


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
    shared.update(_identity(submission))
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
    expected: str = "",
    seconds: float = 0.0,
) -> dict[str, Any]:
    row = {
        **_identity(submission),
        "verdict": verdict,
        "correct": correct,
        "mistakes": list(mistakes),
        "message": message,
        "counterexample": counterexample,
        "first_wrong_line": first_wrong_line,
        "limit": limit,
        "expected": expected,
        "seconds": round(seconds, 3),
    }
    return row if submission.rubric is None else _rubric_row(submission.rubric, row)


def _rubric_row(rubric: Rubric, row: dict[str, Any]) -> dict[str, Any]:
    from chainsolve.rubric import label_row

    return label_row(row, rubric)


def _identity(submission: Submission) -> dict[str, Any]:
    """The columns of a report row that come from the submission itself."""
    return {
        "row": submission.index + 1,
        "id": submission.id,
        "problem": submission.problem,
        "attempt": submission.attempt,
        "answer": submission.answer if submission.answer is not None else submission.derivation,
        "extra": dict(submission.extra),
    }


def _check_implicit(submission: Submission) -> Any:
    """A sheet's implicit problem (implicit = "y"): the answer checked modulo the equation."""
    from chainsolve.api import check_curve
    from chainsolve.errors import ProblemError

    if submission.answer is None:
        raise ProblemError(
            "implicit_answer_only", "an implicit problem is graded from its answer column"
        )
    return check_curve(
        submission.problem,
        submission.implicit,
        submission.answer,
        wrt=submission.wrt or None,
        order=None if submission.order == 1 else submission.order,
    )


def _is_matrix(submission: Submission) -> bool:
    """A problem with declared shapes (``x: 2; W: 3x2; …``) is graded in matrices."""
    from chainsolve.matrix.statements import has_declarations

    return has_declarations(submission.problem)


def _check_matrix(submission: Submission) -> Any:
    """A matrix answer (``delta_a*x'``) judged entry by entry, its matrix mistakes named."""
    from chainsolve import wording
    from chainsolve.errors import ProblemError
    from chainsolve.verification import verify_matrix

    if submission.answer is None:
        raise ProblemError("matrix_answer_only", wording.grade_matrix_answer_only())
    names = _wrt_names(submission.wrt) or ()
    if len(names) > 1:
        raise ProblemError("matrix_wrt", wording.grade_matrix_one_gradient(names))
    return verify_matrix(submission.problem, "", names[0] if names else None, submission.answer)


def _verdict_data(report: Any) -> dict[str, Any]:
    """The JSON of a verdict, scalar or matrix (a matrix verdict has its own dict)."""
    from chainsolve.matrix.mistakes import MatrixVerdict, matrix_verdict_to_dict
    from chainsolve.verification import verdict_to_dict

    if isinstance(report, MatrixVerdict):
        return matrix_verdict_to_dict(report)
    return verdict_to_dict(report)


def grade_submission(submission: Submission, timeout: float | None) -> dict[str, Any]:
    """The report row of one submission; never raises (bad input is an ``invalid`` row)."""
    from chainsolve.api import check_parsed
    from chainsolve.budget import stage
    from chainsolve.errors import BudgetExceeded, ChainsolveError

    start = time.monotonic()
    if submission.error is not None:
        return _row(submission, "invalid", submission.error)
    from chainsolve.parsing import input_syntax, parse_problem

    try:
        with stage("grading", timeout), input_syntax(submission.input_syntax):
            report: Any
            problem: Any = None  # an implicit problem has no parsed Problem for the rubric
            if submission.implicit:
                report = _check_implicit(submission)
            elif _is_matrix(submission):
                report = _check_matrix(submission)
            else:
                problem = parse_problem(submission.problem, wrt=_wrt_names(submission.wrt))
                report = check_parsed(
                    problem,
                    answer=submission.answer,
                    derivation=submission.derivation,
                    order=submission.order,
                )
            data = _verdict_data(report)
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
    except Exception as error:
        return _row(
            submission,
            "undecided",
            f"chainsolve failed on this row ({type(error).__name__}); please report it",
            limit="crashed",
            seconds=time.monotonic() - start,
        )
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
        expected=data.get("expected") or "",
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
    connection: Connection,
    timeout: float | None,
    memory_mb: int | None,
    share: bool,
    parent: int,
) -> None:
    """Grade chunks of submissions, sending each row back as soon as it is graded.

    ``parent`` is the pid of the grading process, taken there: a worker reading its own
    parent pid after start-up would read init's when the parent has already died.
    """
    from chainsolve.verification import forget_solved_problems

    _limit_memory(memory_mb)
    sys.setrecursionlimit(4000)
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
            args=(child, self.timeout, self.memory_mb, self.share, os.getpid()),
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

#: First characters a spreadsheet takes as the start of a formula (and the quote that escapes).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def neutralised(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` before ``= + - @`` (and ``'``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def restored(value: str) -> str:
    """The text :func:`neutralised` was given."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS):
        return value[1:]
    return value


def _csv_row(row: Mapping[str, Any], extra_names: Iterable[str]) -> dict[str, Any]:
    flat = dict(row)
    flat["mistakes"] = ";".join(row.get("mistakes") or [])
    counterexample = row.get("counterexample")
    flat["counterexample"] = json.dumps(counterexample) if counterexample else ""
    flat["correct"] = "true" if _truthy(row.get("correct")) else "false"
    flat["first_wrong_line"] = (
        "" if row.get("first_wrong_line") is None else row["first_wrong_line"]
    )
    extra = row.get("extra") or {}
    cells = {key: flat.get(key, "") for key in COLUMNS}
    # A column after COLUMNS is the rubric's (top level, grade --sheet) or the input's own.
    cells.update(
        {name: flat[name] if name in flat else extra.get(name, "") for name in extra_names}
    )
    return {key: neutralised("" if value is None else value) for key, value in cells.items()}


def report_columns(extra_names: Iterable[str]) -> list[str]:
    """The CSV report's header: :data:`COLUMNS`, then the input's other columns."""
    return [*COLUMNS, *(name for name in extra_names if name not in COLUMNS)]


def _from_csv(cells: Mapping[str, str]) -> dict[str, Any]:
    """A report row from its CSV cells; ValueError when a cell is not what the report writes."""
    row: dict[str, Any] = {key: restored(cells.get(key) or "") for key in COLUMNS}
    row["row"] = int(row["row"])
    row["attempt"] = int(row["attempt"] or 1)
    row["correct"] = _truthy(row["correct"])
    row["mistakes"] = [m for m in row["mistakes"].split(";") if m]
    row["counterexample"] = json.loads(row["counterexample"]) if row["counterexample"] else None
    row["first_wrong_line"] = int(row["first_wrong_line"]) if row["first_wrong_line"] else None
    row["seconds"] = float(row["seconds"] or 0)
    from chainsolve.rubric import RUBRIC_COLUMNS

    # The rubric's columns (grade --sheet) belong to the row; the others to the input.
    row.update({key: restored(cells[key] or "") for key in RUBRIC_COLUMNS if key in cells})
    row["extra"] = {
        key: restored(value or "")
        for key, value in cells.items()
        if key not in COLUMNS and key not in RUBRIC_COLUMNS
    }
    return row


def _valid(row: Mapping[str, Any]) -> bool:
    return (
        row.get("verdict") in VERDICTS
        and isinstance(row.get("row"), int)
        and isinstance(row.get("id"), str)
    )


def _csv_report_rows(file: Path, text: str) -> Iterator[dict[str, Any]]:
    if (",".join(COLUMNS) + "\n").startswith(text):
        return  # killed before its header was written whole: nothing to keep
    reader = csv.reader(io.StringIO(text), strict=True)
    header = next(reader, None)
    if header is None or header[: len(COLUMNS)] != list(COLUMNS):
        raise BatchInputError(
            f"{file} is not a chainsolve report of this version (its header differs): "
            "give a new --output, or grade without --resume to replace it"
        )
    records: list[list[str]] = []
    # A report cell holds at most an input cell and a message about it.
    with _field_limit(4 * MAX_FIELD_CHARS), contextlib.suppress(csv.Error):
        records.extend(reader)  # stops at a record cut inside a quoted cell: graded again
    if records and not text.endswith("\n"):
        records.pop()  # the last record was cut short: graded again
    for cells in records:
        with contextlib.suppress(ValueError, TypeError):
            yield _from_csv(dict(zip(header, cells, strict=False)))


def _jsonl_report_rows(text: str) -> Iterator[dict[str, Any]]:
    lines = text.split("\n")
    for line in lines[:-1]:  # the part after the last line break was cut short
        with contextlib.suppress(ValueError):
            row = json.loads(line)
            if isinstance(row, dict):
                yield row


def read_report(
    path: str | Path, report_format: ReportFormat | None = None
) -> dict[tuple[int, str], dict[str, Any]]:
    """The rows of an existing CSV or JSON Lines report, by row number and id (for ``--resume``).

    A row cut short by an interrupted run, or one that is not what a report holds, is left
    out (graded again); a file that is not a report at all raises :class:`BatchInputError`.
    """
    file = Path(path)
    if not file.exists():
        return {}
    _check_file(file)
    try:
        with file.open(encoding="utf-8", newline="") as handle:  # cells keep their "\r\n"
            text = handle.read()
    except UnicodeDecodeError as error:
        raise BatchInputError(
            f"{file} is not a chainsolve report (byte {error.start} is not UTF-8): "
            "give a new --output, or grade without --resume to replace it"
        ) from None
    rows = (
        _csv_report_rows(file, text)
        if format_for(file, report_format) == "csv"
        else _jsonl_report_rows(text)
    )
    return {(row["row"], row["id"]): row for row in rows if _valid(row)}


def _report_format(path: str | Path) -> ReportFormat:
    """The report format an output file's extension asks for (CSV when it names none)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".md", ".markdown"):
        return "markdown"
    return "csv"


def format_for(path: str | Path | None, requested: ReportFormat | None) -> ReportFormat:
    """``requested``, else the format ``path``'s extension names, else CSV."""
    if requested is not None:
        return requested
    return "csv" if path is None else _report_format(path)


class _Writer:
    """Writes rows in input order as soon as every earlier row is known, flushing each one."""

    def __init__(
        self, stream: TextIO, report_format: ReportFormat, extra_names: Iterable[str] = ()
    ) -> None:
        self.stream = stream
        self.format = report_format
        self.extra_names = [name for name in extra_names if name not in COLUMNS]
        self.csv: csv.DictWriter[str] | None = None
        if report_format == "csv":
            self.csv = csv.DictWriter(
                stream, fieldnames=report_columns(self.extra_names), lineterminator="\n"
            )
            self.csv.writeheader()

    def write(self, row: Mapping[str, Any]) -> None:
        if self.format == "csv":
            assert self.csv is not None
            self.csv.writerow(_csv_row(row, self.extra_names))
        elif self.format == "jsonl":
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            return  # Markdown: the summary is written at the end
        self.stream.flush()


def needs_review(row: Mapping[str, Any]) -> bool:
    """Whether a person should look at ``row``: undecided, crashed, invalid or cut by a limit."""
    return row.get("verdict") in ("undecided", "invalid") or row.get("limit") not in (
        "",
        None,
        "override",
    )


#: The columns of an overrides file: which row, and what the instructor decided.
OVERRIDE_COLUMNS = ("id", "problem", "verdict", "correct", "score", "feedback")


def read_overrides(path: str | Path) -> dict[tuple[str, str], dict[str, str]]:
    """An instructor's decisions by (id, problem); problem "" applies to every row of the id."""
    found = input_format(path, submissions=False)
    decisions: dict[tuple[str, str], dict[str, str]] = {}
    file = Path(path)
    with file.open(encoding=found.encoding, newline="") as handle:
        records = _csv_records(handle, found.delimiter)
        first = next(records, None)
        header = [_normal_header(name) for name in first[1]] if first is not None else []
        if "id" not in header:
            raise BatchInputError(
                f"{file} has no column id; expected columns: {', '.join(OVERRIDE_COLUMNS)}"
            )
        for line, cells, _ in records:
            cell = dict(zip(header, cells, strict=False))
            decision = {
                key: cell[key].strip() for key in OVERRIDE_COLUMNS[2:] if cell.get(key, "").strip()
            }
            if "score" in decision and _points(decision["score"]) is None:
                raise BatchInputError(
                    f"{file} line {line}: the score {decision['score']!r} is not a number of "
                    "points (0 or more)"
                )
            decisions[(cell["id"].strip(), _collapsed(cell.get("problem", "")))] = decision
    return decisions


def _points(value: Any) -> float | None:
    """``value`` as a number of points (0 or more), or None (blank, or not such a number)."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _decision(
    row: Mapping[str, Any], decisions: Mapping[tuple[str, str], Mapping[str, str]]
) -> Mapping[str, str] | None:
    """The instructor's decision for ``row``: by its id, or (``grade --sheet``) its student."""
    problem = _collapsed(str(row.get("problem") or ""))
    names = [str(row["id"])]
    if row.get("student"):
        names.append(str(row["student"]))
    for name in names:
        for key in ((name, problem), (name, "")):
            if key in decisions:
                return decisions[key]
    return None


def overridden(
    row: Mapping[str, Any], decisions: Mapping[tuple[str, str], Mapping[str, str]]
) -> Mapping[str, Any]:
    """``row`` with the instructor's decision for it applied (``limit`` ``override`` says so).

    A row scored by a rubric (``grade --sheet``) takes the decision's ``score``; without one,
    a decision on the verdict gives all its points when it makes the row correct, none when
    not, and a decision on the feedback alone keeps the score.
    """
    decision = _decision(row, decisions)
    if decision is None:
        return row
    changed = dict(row)
    if "verdict" in decision:
        changed["verdict"] = decision["verdict"]
    if "correct" in decision:
        changed["correct"] = _truthy(decision["correct"])
    elif "verdict" in decision:
        changed["correct"] = decision["verdict"] == "equivalent"
    if "feedback" in decision:
        changed["message"] = decision["feedback"]
    if "points" in changed:
        changed.update(_decided_score(changed, decision))
    changed["limit"] = "override"
    return changed


def _decided_score(row: Mapping[str, Any], decision: Mapping[str, str]) -> dict[str, Any]:
    """A rubric row's ``score`` and ``feedback`` after the instructor's decision."""
    decided: dict[str, Any] = {}
    if "score" in decision:
        decided["score"] = _points(decision["score"])
    elif "verdict" in decision or "correct" in decision:
        decided["score"] = (_points(row.get("points")) or 0.0) if _truthy(row["correct"]) else 0.0
    if "feedback" in decision:
        decided["feedback"] = decision["feedback"]
    return decided


class Gradebook:
    """One row per student, one column per problem (its score), and the total.

    A problem's cell is the row's score: with ``grade --sheet`` the rubric's score in points
    (partial credit, anticipated answers, required form and overrides included; blank while
    the row waits for hand review), otherwise 1 correct and 0 not; of repeated rows the best
    counts. The leading columns are those of a Canvas gradebook export (Canvas matches
    students on ``SIS User ID`` or ``SIS Login ID`` and takes every other column as an
    assignment, except its read-only ``Final Points``); Moodle's CSV import maps any of them
    to a user.
    """

    HEAD = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
    TOTAL = "Final Points"

    def __init__(self) -> None:
        self.problems: dict[str, None] = {}
        self.students: dict[str, dict[str, Any]] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        """Credit ``row``'s student for its problem (the best of repeated rows counts)."""
        student_id = _student_of(row)
        column = _collapsed(str(row.get("problem") or ""))
        if not student_id or not column:
            return  # no student or no problem to credit: the review queue lists the row
        extra = {_normal_header(k): v for k, v in (row.get("extra") or {}).items()}
        student = self.students.setdefault(
            student_id,
            {
                "Student": extra.get("name") or student_id,
                "ID": "",
                "SIS User ID": student_id,
                "SIS Login ID": extra.get("email") or student_id,
                "Section": extra.get("section", ""),
                "scores": {},
            },
        )
        self.problems.setdefault(column, None)
        score = _gradebook_score(row)
        best = student["scores"].get(column)
        if best is None or (score is not None and score > best):
            student["scores"][column] = score

    def write(self, path: str | Path) -> None:
        """The gradebook as CSV (cells neutralised like the report's)."""
        problems = list(self.problems)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([neutralised(c) for c in (*self.HEAD, *problems, self.TOTAL)])
            for student in self.students.values():
                scores = student["scores"]
                total = sum(score for score in scores.values() if score is not None)
                writer.writerow(
                    [neutralised(student[c]) for c in self.HEAD]
                    + [_cell_number(scores.get(p)) for p in problems]
                    + [_cell_number(total)]
                )


def _student_of(row: Mapping[str, Any]) -> str:
    """The student a row credits: a rubric's student (``grade --sheet``), else the row's id."""
    return str(row["student"] if "student" in row else row.get("id") or "")


def _gradebook_score(row: Mapping[str, Any]) -> float | None:
    """A row's points: its rubric score (None: not scored yet), else 1 correct and 0 not."""
    if "points" in row:
        return _points(row.get("score"))
    return 1.0 if _truthy(row.get("correct")) else 0.0


def _cell_number(value: float | None) -> str:
    """A number of points as a gradebook cell: ``2``, ``1.5``, or blank for none."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(round(value, 4))


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

    def __init__(
        self,
        writer: _Writer,
        bar: _Progress,
        *,
        review: _Writer | None = None,
        decisions: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
        gradebook: Gradebook | None = None,
    ) -> None:
        self.writer = writer
        self.bar = bar
        self.review = review
        self.decisions = decisions or {}
        self.gradebook = gradebook
        self.waiting: dict[int, Mapping[str, Any]] = {}
        self.written = 0
        self.correct = 0
        self.by_verdict: Counter[str] = Counter()
        self.by_mistake: Counter[str] = Counter()
        self.by_problem: dict[str, ProblemTally] = {}

    def add(self, index: int, row: Mapping[str, Any]) -> None:
        self.waiting[index] = row
        self.bar.step()
        while self.written in self.waiting:
            done = overridden(self.waiting.pop(self.written), self.decisions)
            self.writer.write(done)
            if self.review is not None and needs_review(done):
                self.review.write(done)
            if self.gradebook is not None:
                self.gradebook.add(done)
            self.by_verdict[str(done.get("verdict"))] += 1
            self.by_mistake.update(done.get("mistakes") or [])
            problem = _collapsed(str(done.get("problem") or ""))
            self.by_problem.setdefault(problem, ProblemTally()).add(done)
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
        kept: Mapping[tuple[int, str], Mapping[str, Any]],
        share: bool,
        chunk_rows: int,
        read_ahead: int = READ_AHEAD,
        retry: bool = True,
    ) -> None:
        self.source = submissions
        self.report = report
        self.kept = kept
        self.retry = retry
        #: Rows graded again on resume (their last run crashed or ran out of time).
        self.retried = 0
        #: Hashes of (id, problem) seen, and the ids seen twice for one problem (for a warning).
        self.seen: set[int] = set()
        self.repeated_ids: set[str] = set()
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

    def _kept_row(self, submission: Submission) -> Mapping[str, Any] | None:
        """The earlier run's row for ``submission`` when it still holds (same row, id, answer)."""
        row = self.kept.get(submission.key)
        if row is None or (row.get("answer") or "") != (_identity(submission)["answer"] or ""):
            return None
        return row

    def _take(self, submission: Submission) -> None:
        if submission.id:
            pair = hash((submission.id, _collapsed(submission.problem)))
            if pair in self.seen:
                self.repeated_ids.add(submission.id)
            self.seen.add(pair)
        kept = self._kept_row(submission)
        if kept is not None and self.retry and _retried(kept):
            self.retried += 1
            submission = dataclasses.replace(submission, attempt=int(kept.get("attempt") or 1) + 1)
            kept = None
        if kept is not None:
            self.resumed += 1
            row = {**kept, **_identity(submission), "attempt": kept.get("attempt", 1)}
            if submission.rubric is not None:
                row = _rubric_row(submission.rubric, row)  # the problem id, not the variant
            self.report.add(submission.index, row)
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


def _retried(row: Mapping[str, Any]) -> bool:
    """Whether a kept row is graded once more: it crashed or ran out of time, the first time."""
    return row.get("limit") in RETRIED_LIMITS and int(row.get("attempt") or 1) < 2


def grade_file(
    path: str | Path,
    *,
    jobs: int | None = None,
    output: str | Path | None = None,
    report_format: ReportFormat | None = None,
    resume: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    progress: bool = True,
    summary_path: str | Path | None = None,
    share: bool = True,
    scheduler: str | None = None,
    chunk_rows: int | None = None,
    retry: bool = True,
    review_path: str | Path | None = None,
    overrides_path: str | Path | None = None,
    gradebook_path: str | Path | None = None,
    sheet: Sheet | None = None,
    input_syntax: Syntax = "auto",
) -> GradeSummary:
    """Grade every submission of ``path`` and write the report to ``output`` (stdout when None).

    ``jobs`` worker processes (default: the number of cores), or the workers of the Dask
    cluster at ``scheduler`` (``tcp://host:8786``), each grade one submission at a time
    under ``timeout`` seconds and ``memory_mb`` MiB; a submission that exceeds them becomes
    an ``undecided`` row with ``limit`` set. Rows come out in input order, written as soon
    as every earlier row is known; the input is read a window at a time. With ``resume``,
    rows already in ``output`` (same row number, id and answer) are kept, not graded again,
    except rows that crashed or ran out of time, graded once more unless ``retry`` is False.
    With ``share`` (the default) a worker solves each problem once and identical answers are
    judged once; the report is the same without (only the ``seconds`` column differs).
    ``chunk_rows`` rows of one problem go to a worker at a time (default :data:`CHUNK_ROWS`,
    on Dask :data:`DASK_CHUNK_ROWS`).
    ``report_format`` (default: from ``output``'s extension) ``markdown`` writes the summary
    instead of rows; ``summary_path`` also writes it next to a CSV or JSON Lines report.
    ``review_path`` gets the rows a person should look at (:func:`needs_review`),
    ``overrides_path`` (CSV: :data:`OVERRIDE_COLUMNS`) an instructor's decisions applied to
    the report, ``gradebook_path`` one row per student (:class:`Gradebook`).
    ``input_syntax`` (``--input``) is how every row's text is read, on whichever worker.
    With ``sheet``, each row's ``problem`` is a problem id of the sheet, graded in the row's
    student's variant and scored by the problem's rubric (its columns follow
    :data:`COLUMNS`).
    Input that cannot be graded as given raises :class:`BatchInputError`.
    """
    start = time.monotonic()
    report_format = format_for(output, report_format)
    _check_outputs(path, output, resume, review_path, gradebook_path, summary_path)
    found = input_format(path)
    decisions = read_overrides(overrides_path) if overrides_path is not None else {}
    kept = (
        read_report(output, report_format)
        if resume and output is not None and report_format != "markdown"
        else {}
    )
    # Reach the cluster before the report is opened: an unreachable one leaves it untouched.
    cluster = None
    if scheduler is not None:
        from chainsolve.dask_grading import connect

        cluster = connect(scheduler)
    workers = max(1, jobs or os.cpu_count() or 1)
    enabled = progress and sys.stderr.isatty()
    bar = _Progress(_count_rows(path, found) if enabled else 0, enabled)
    submissions = _submissions(iter_submissions(path, found), sheet)
    if input_syntax != "auto":
        submissions = (dataclasses.replace(s, input_syntax=input_syntax) for s in submissions)
    first = next(submissions, None)
    extra_names = (
        [*_rubric_columns(sheet), *(name for name, _ in first.extra)] if first is not None else []
    )
    if first is not None:
        submissions = itertools.chain([first], submissions)
    with contextlib.ExitStack() as files:
        stream: TextIO = (
            sys.stdout
            if output is None
            else files.enter_context(open(output, "w", encoding="utf-8", newline=""))
        )
        review = None
        if review_path is not None:
            review_stream = files.enter_context(
                open(review_path, "w", encoding="utf-8", newline="")
            )
            review = _Writer(review_stream, format_for(review_path, None), extra_names)
        gradebook = Gradebook() if gradebook_path is not None else None
        report = _Report(
            _Writer(stream, report_format, extra_names),
            bar,
            review=review,
            decisions=decisions,
            gradebook=gradebook,
        )
        try:
            batch = Batch(
                submissions,
                report,
                kept=kept,
                share=share,
                chunk_rows=chunk_rows or (CHUNK_ROWS if cluster is None else DASK_CHUNK_ROWS),
                retry=retry,
            )
            if cluster is None:
                _grade_locally(batch, workers, timeout, memory_mb, share)
            else:
                from chainsolve.dask_grading import grade_on_cluster

                workers = grade_on_cluster(batch, cluster, timeout, memory_mb, share)
        finally:
            bar.close()
            if cluster is not None:
                cluster.close()
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
            {"judged": batch.judged_rows, "retried": batch.retried},
            report.by_problem,
        )
        if report_format == "markdown":
            stream.write(summary.to_markdown())
        if summary_path is not None:
            Path(summary_path).write_text(summary.to_markdown(), encoding="utf-8")
        if gradebook is not None and gradebook_path is not None:
            gradebook.write(gradebook_path)
    _warn_duplicates(batch.repeated_ids)
    return summary


def _warn_duplicates(ids: Iterable[str]) -> None:
    """One line naming the ids that answer one problem more than once."""
    repeated = sorted(ids)
    if repeated:
        shown = ", ".join(repeated[:5]) + (", ..." if len(repeated) > 5 else "")
        note(
            f"{len(repeated)} id{'s' if len(repeated) != 1 else ''} answer the same problem "
            f"more than once ({shown}): each row is graded and reported on its own"
        )


def _check_outputs(
    path: str | Path,
    output: str | Path | None,
    resume: bool,
    *others: str | Path | None,
) -> None:
    """Refuse a run that would overwrite its input or write where it cannot, before grading."""
    if resume and output is None:
        raise BatchInputError("--resume needs --output: the report to resume is read from it")
    source = Path(path).resolve()
    for target in (output, *others):
        if target is None:
            continue
        file = Path(target)
        if file.resolve() == source:
            raise BatchInputError(
                f"{target} is the submissions file: writing there would destroy it; "
                "choose another file"
            )
        if not file.resolve().parent.is_dir():
            raise BatchInputError(f"the folder of {target} does not exist: create it first")
        if file.is_dir():
            raise BatchInputError(f"{target} is a folder: give a file name")


def _rubric_columns(sheet: Sheet | None) -> tuple[str, ...]:
    """The rubric's report columns (``grade --sheet``) after :data:`COLUMNS`, or none."""
    if sheet is None:
        return ()
    from chainsolve.rubric import RUBRIC_COLUMNS

    return tuple(name for name in RUBRIC_COLUMNS if name not in COLUMNS)


def _submissions(submissions: Iterator[Submission], sheet: Sheet | None) -> Iterator[Submission]:
    """The rows, each in its student's variant and with its rubric when a sheet is given."""
    if sheet is None:
        return submissions
    from chainsolve.variants import sheet_submissions

    return sheet_submissions(submissions, sheet)


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
