"""Tests for chainsolve.grade: parallel grading with limits, input order, resume, summaries."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainsolve.grade import Batch, Submission, grade_file, iter_submissions, read_report

#: A realistic mix: right answers, common mistakes, derivations, bad input.
NORMAL = [
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x^2)"},
    {"problem": "exp(3*x)", "answer": "3*exp(3*x)"},
    {"problem": "(x^2 + 1)^3", "answer": "3*(x^2+1)^3*2*x"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "2*x*y*(-sin(t))"},
    {"problem": "log(cos(x))", "answer": "-tan(x)"},
    {"problem": "sin(x*t)", "wrt": "t", "answer": "x*cos(x*t)"},
    {"problem": "sin(x^2)", "derivation": "dy/dx = cos(x^2)*2*x\n= x*cos(x^2)\n= cos(x^2)*x"},
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2"},
]
#: Rows meant to hurt: code injection, number bombs, huge expansions, junk.
HOSTILE = [
    {"problem": "sin(x^2)", "answer": "__import__('os').system('touch /tmp/pwned')"},
    {"problem": "__import__('os').system('true')", "answer": "1"},
    {"problem": "sin(x^2)", "answer": "9^9^9^9"},
    {"problem": "sin(x^2)", "answer": "expand((x + 1)^100000)"},
    {"problem": "(x+1)^(10^9)", "answer": "10^9*(x+1)^(10^9-1)"},
    {"problem": "sin(x^2)", "answer": "(" * 5000 + "x" + ")" * 5000},
    {"problem": "sin(x^2)"},
]


def write_rows(path: Path, count: int) -> list[dict[str, str]]:
    """``count`` JSON Lines rows cycling through the normal mix, a hostile row every 25."""
    rows = []
    for index in range(count):
        pool = HOSTILE if index % 25 == 24 else NORMAL
        row = {"id": f"s{index:03d}", **pool[index % len(pool)]}
        rows.append(row)
    path.write_text(
        "\n".join(json.dumps(r) for r in rows) + "\nthis line is not json\n", encoding="utf-8"
    )
    return rows


def test_two_hundred_rows_with_hostile_ones_are_all_accounted_for(tmp_path: Path) -> None:
    """210 rows (hostile ones included) each get exactly one report row, in input order."""
    source = tmp_path / "subs.jsonl"
    rows = write_rows(source, 210)
    output = tmp_path / "report.csv"
    summary = grade_file(
        source,
        jobs=2,
        output=output,
        report_format="csv",
        resume=False,
        timeout=10,  # 3 s let the first row, which solves its problem, run out under heavy load
        memory_mb=400,
        progress=False,
    )
    with output.open(encoding="utf-8") as handle:
        report = list(csv.DictReader(handle))
    assert [r["id"] for r in report] == [r["id"] for r in rows] + ["line211"]
    assert summary.total == 211 and sum(summary.by_verdict.values()) == 211
    by_id = {r["id"]: r for r in report}
    assert by_id["s000"]["verdict"] == "equivalent" and by_id["s000"]["correct"] == "true"
    assert by_id["s001"]["mistakes"] == "missing_inner_derivative"
    assert by_id["s008"]["verdict"] == "invalid"
    assert by_id["s024"]["verdict"] == "invalid"  # code injection is only text that does not parse
    assert not Path("/tmp/pwned").exists()
    assert by_id["line211"]["verdict"] == "invalid"
    assert summary.by_mistake.get("missing_path", 0) > 0


def test_timeout_row_does_not_stop_the_rest(tmp_path: Path) -> None:
    """A pathological row becomes undecided with a limit; the rows after it are still graded."""
    source = tmp_path / "subs.jsonl"
    rows = [
        {"id": "slow", "problem": "sin(x^2)", "answer": "expand((x + 1)^100000)"},
        {"id": "ok", "problem": "sin(x^2)", "answer": "2*x*cos(x^2)"},
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    summary = grade_file(
        source,
        jobs=1,
        output=tmp_path / "r.jsonl",
        report_format="jsonl",
        resume=False,
        timeout=1,
        memory_mb=400,
        progress=False,
    )
    assert summary.total == 2
    slow, ok = read_report(tmp_path / "r.jsonl").values()
    assert slow["verdict"] in ("undecided", "invalid")
    if slow["verdict"] == "undecided":
        assert slow["limit"] in ("timeout", "memory", "crashed")
    assert ok["verdict"] == "equivalent"


def test_resume_skips_rows_already_in_the_report(tmp_path: Path) -> None:
    """A re-run with resume keeps earlier rows and grades only the missing ones."""
    source = tmp_path / "subs.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "problem", "wrt", "answer"])
        writer.writeheader()
        for index in range(6):
            writer.writerow(
                {
                    "id": f"r{index}",
                    "problem": "sin(x^2)",
                    "wrt": "x",
                    "answer": "2*x*cos(x^2)" if index % 2 else "cos(x^2)",
                }
            )
    output = tmp_path / "report.jsonl"
    lines = [
        json.dumps(
            {
                "row": 1,
                "id": "r0",
                "answer": "cos(x^2)",
                "verdict": "not_equivalent",
                "correct": False,
                "mistakes": ["x"],
                "message": "kept",
                "counterexample": None,
                "first_wrong_line": None,
                "limit": "",
                "seconds": 0,
            }
        )
    ]
    output.write_text("\n".join(lines) + "\n{cut short", encoding="utf-8")
    summary = grade_file(
        source,
        jobs=1,
        output=output,
        report_format="jsonl",
        resume=True,
        timeout=10,
        memory_mb=None,
        progress=False,
    )
    assert (summary.resumed, summary.graded, summary.total) == (1, 5, 6)
    kept = read_report(output)
    assert list(kept) == [(i + 1, f"r{i}") for i in range(6)]
    assert kept[(1, "r0")]["message"] == "kept"


def test_markdown_summary_counts_verdicts_and_mistakes(tmp_path: Path) -> None:
    """The Markdown report counts rows per verdict and per mistake."""
    source = tmp_path / "subs.jsonl"
    write_rows(source, 9)
    output = tmp_path / "summary.md"
    grade_file(
        source,
        jobs=1,
        output=output,
        report_format="markdown",
        resume=False,
        timeout=10,
        memory_mb=None,
        progress=False,
    )
    text = output.read_text(encoding="utf-8")
    assert "| equivalent |" in text and "`missing_inner_derivative`" in text


def test_rows_without_problem_or_answer_are_invalid(tmp_path: Path) -> None:
    """Reading keeps rows it cannot use, marked with an error, so none disappears."""
    source = tmp_path / "subs.jsonl"
    source.write_text('{"id": "a", "problem": "x"}\n[1, 2]\n{"answer": "1"}\n', encoding="utf-8")
    errors = [s.error for s in iter_submissions(source)]
    assert all(errors) and len(errors) == 3


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_report_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    """CSV and JSON Lines reports are read back with the same ids, verdicts and mistakes."""
    source = tmp_path / "subs.jsonl"
    write_rows(source, 3)
    output = tmp_path / f"report.{fmt}"
    summary = grade_file(
        source,
        jobs=1,
        output=output,
        report_format=fmt,
        resume=False,  # type: ignore[arg-type]
        timeout=10,
        memory_mb=None,
        progress=False,
    )
    back = read_report(output)
    assert [key[1] for key in back] == ["s000", "s001", "s002", "line4"] and summary.total == 4
    assert back[(1, "s000")]["verdict"] == "equivalent"
    assert back[(2, "s001")]["mistakes"] == ["missing_inner_derivative"]


#: Answers of one class: the same texts typed with different spacing, and a derivation twice.
SHARED = [
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "  2 * x *  cos(x^2) "},
    {"problem": "sin( x^2 )", "answer": "2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos( x^2 )"},
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2"},
    {"problem": "sin(x^2)", "answer": "2*x*cos( x^2"},
    {"problem": "sin(x^2)", "derivation": "= cos(x^2)*2*x\n= x*cos(x^2)"},
    {"problem": "sin(x^2)", "derivation": "=  cos(x^2)*2*x\n\n= x*cos(x^2) "},
    {"problem": "exp(3*x)", "answer": "3*exp(3*x)"},
    {"problem": "sin(x*t)", "wrt": "t", "answer": "x*cos(x*t)"},
    {"problem": "sin(x*t)", "wrt": " t", "answer": "x * cos(x*t)"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "-2*x*y*sin(t)"},
    {"problem": "z = f(x, y); x = g(t); y = h(t)", "answer": "f_x*g_t + f_y*h_t"},
    {"problem": "sin(x^2)", "answer": "q*cos(x^2)"},
    {"answer": "1"},
]


def _report_without_seconds(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("seconds")
    return rows


def test_shared_verdicts_give_the_same_report_as_grading_every_row(tmp_path: Path) -> None:
    """Solving each problem once and judging identical answers once changes no report cell but
    ``seconds``: a mixed batch graded with and without sharing gives the same rows."""
    source = tmp_path / "subs.jsonl"
    rows = [{"id": f"r{i}", **SHARED[i % len(SHARED)]} for i in range(2 * len(SHARED))]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    reports = {}
    for share in (True, False):
        output = tmp_path / f"share-{share}.csv"
        summary = grade_file(
            source, jobs=2, output=output, timeout=20, memory_mb=None, progress=False, share=share
        )
        assert summary.total == len(rows)
        reports[share] = _report_without_seconds(output)
        if share:
            # 16 kinds, of which a third repeat another's text but for spaces; 1 has no problem.
            assert summary.extra["judged"] < len(SHARED)
    assert reports[True] == reports[False]
    assert [r["id"] for r in reports[True]] == [r["id"] for r in rows]


def test_identical_answers_are_judged_once(tmp_path: Path) -> None:
    """Thirty rows of two answers, spaced differently, send two rows to the workers."""
    source = tmp_path / "subs.jsonl"
    answers = ["2 * x * cos(x^2)", " 2  *  x * cos(x^2)", "cos(x^2)", "cos(x^2)  "]
    rows = [{"id": f"r{i}", "problem": "sin(x^2)", "answer": answers[i % 4]} for i in range(30)]
    source.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    output = tmp_path / "r.jsonl"
    summary = grade_file(
        source, jobs=2, output=output, report_format="jsonl", memory_mb=None, progress=False
    )
    assert summary.extra["judged"] == 2
    assert summary.by_verdict == {"equivalent": 16, "not_equivalent": 14}
    report = read_report(output)
    assert [key[1] for key in report] == [r["id"] for r in rows]
    assert report[(4, "r3")]["mistakes"] == ["missing_inner_derivative"]


def _submissions(problems: list[str]) -> list[Submission]:
    return [Submission(i, f"s{i}", p, answer="1") for i, p in enumerate(problems)]


class _Sink:
    def __init__(self) -> None:
        self.rows: dict[int, object] = {}
        self.written = 0

    def add(self, index: int, row: object) -> None:
        self.rows[index] = row


def test_chunks_hold_one_problem_and_start_with_the_oldest_row() -> None:
    """A chunk is the oldest unsent row and later rows of its problem, at most chunk_rows."""
    problems = ["sin(x)", "cos(x)", "sin(x)", "exp(x)", "sin(x)", "cos(x)", "sin(x)"]
    rows = _submissions(problems)
    batch = Batch(iter(rows), _Sink(), kept={}, share=False, chunk_rows=3)  # type: ignore[arg-type]
    chunks = []
    while (chunk := batch.next_chunk()) is not None:
        chunks.append([s.index for s in chunk])
    assert chunks == [[0, 2, 4], [1, 5], [3], [6]]


def test_input_is_read_a_window_ahead_not_whole() -> None:
    """The batch reads at most read_ahead rows beyond the report: the input streams."""
    read = []

    def source() -> Iterator[Submission]:
        for submission in _submissions(["sin(x)", "cos(x)"] * 500):
            read.append(submission.index)
            yield submission

    batch = Batch(source(), _Sink(), kept={}, share=False, chunk_rows=4, read_ahead=10)  # type: ignore[arg-type]
    first = batch.next_chunk()
    assert first is not None and [s.index for s in first] == [0, 2, 4, 6]
    assert len(read) <= 10


def test_answers_waiting_for_a_verdict_do_not_pull_in_the_whole_input() -> None:
    """Identical answers behind one being graded count towards the read-ahead window."""
    read = []

    def source() -> Iterator[Submission]:
        for index in range(1000):
            read.append(index)
            yield Submission(index, f"s{index}", "sin(x)", answer="cos(x)")

    batch = Batch(source(), _Sink(), kept={}, share=True, chunk_rows=4, read_ahead=10)  # type: ignore[arg-type]
    first = batch.next_chunk()
    assert first is not None and [s.index for s in first] == [0]
    assert batch.next_chunk() is None and len(read) == 10


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_workers_stop_when_the_grading_process_is_killed(tmp_path: Path, signal_name: str) -> None:
    """A pool's workers exit by themselves once the process that started them is killed."""
    import os
    import subprocess
    import sys
    import time

    script = (
        "import os, signal\n"
        "from chainsolve.grade import Pool\n"
        "pool = Pool(2, 5, None)\n"
        "print(' '.join(str(w.process.pid) for w in pool.workers), flush=True)\n"
        f"os.kill(os.getpid(), signal.{signal_name})\n"
    )
    # The orphaned workers hold its stdout: without the fix this times out.
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return (
            Path(f"/proc/{pid}/stat").exists()
            and ") Z " not in Path(f"/proc/{pid}/stat").read_text()
        )

    end = time.monotonic() + 60  # only stops a hang; the workers check every second
    while any(alive(pid) for pid in pids) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


#: Answers to sin(x^2) meeting every path of a comparison: proof, counterexample, part, mistake.
ANSWERS = ["2*x*cos(x^2)", "cos(x^2)", "x*cos(x^2)", "2*abs(x)*cos(x^2)", "-2*x*cos(x^2)"]


def _verdicts(answers: list[str]) -> list[dict[str, Any]]:
    from chainsolve.parsing import parse_problem
    from chainsolve.verification import forget_solved_problems, verdict_to_dict, verify_answer

    forget_solved_problems()
    problem = parse_problem("sin(x^2)")
    return [verdict_to_dict(verify_answer(problem, a, timeout=60)) for a in answers]


def test_the_truth_is_sampled_once_per_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later answer to a solved problem evaluates only itself at the sample points (the
    truth's values are the problem's), and every verdict is the one computed without that."""
    from chainsolve import equivalence, verification
    from chainsolve.parsing import parse_problem

    shared = _verdicts(ANSWERS)
    context = verification._context(parse_problem("sin(x^2)"), None)
    evaluated: list[object] = []
    value = equivalence._value
    monkeypatch.setattr(equivalence, "_value", lambda e, p: evaluated.append(e) or value(e, p))
    verification.verify_answer(parse_problem("sin(x^2)"), "3*x*cos(x^2)", timeout=60)
    assert evaluated and context.expected not in evaluated
    monkeypatch.undo()

    compare = equivalence.compare

    def without_memo(*args: Any, **options: Any) -> Any:
        return compare(*args, **{**options, "memo": None})

    monkeypatch.setattr(equivalence, "compare", without_memo)
    assert _verdicts(ANSWERS) == shared


# -- batches that lose nothing (issue 14) -------------------------------------------------------


def _grade(source: Path, output: Path, **options: Any) -> Any:
    """One worker, generous limits: what the tests below vary is the input and the resume."""
    settings: dict[str, Any] = {"jobs": 1, "timeout": 30, "memory_mb": None, "progress": False}
    return grade_file(source, output=output, **{**settings, **options})


def _write_csv(path: Path, header: list[str], rows: list[list[str]], **options: Any) -> None:
    with path.open("w", newline="", encoding=options.pop("encoding", "utf-8")) as handle:
        writer = csv.writer(handle, lineterminator="\n", **options)
        writer.writerow(header)
        writer.writerows(rows)


def _csv_report(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(10_000_000)  # reports may hold long answers
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _cli(*args: str) -> Any:
    from click.testing import CliRunner

    from chainsolve.cli import main

    return CliRunner().invoke(main, ["grade", *args, "--jobs", "1"])


def _is_derivative(problem: str, expected: str) -> bool:
    """Whether ``expected`` is d/dx of ``problem`` (both our own test text), by sympy.diff."""
    import sympy

    x = sympy.Symbol("x")
    truth = sympy.diff(sympy.sympify(problem.replace("^", "**")), x)
    return sympy.simplify(truth - sympy.sympify(expected.replace("^", "**"))) == 0


def _resume_report(path: Path, report: Path, **options: Any) -> list[dict[str, str]]:
    _grade(path, report, resume=True, **options)
    rows = _csv_report(report)
    for row in rows:
        row.pop("seconds")
    return rows


def test_crashed_and_timed_out_rows_are_graded_again_once_on_resume(tmp_path: Path) -> None:
    """On --resume a crashed or timed-out row is graded once more; a second failure, or
    ``retry=False``, keeps it as it is."""
    source = tmp_path / "subs.csv"
    answers = [["a", "sin(x^2)", "2*x*cos(x^2)"], ["b", "sin(x^2)", "cos(x^2)"]]
    _write_csv(source, ["id", "problem", "answer"], answers)
    report = tmp_path / "report.csv"
    _grade(source, report)
    rows = _csv_report(report)
    rows[0].update(verdict="undecided", correct="false", limit="crashed", mistakes="")
    rows[1].update(verdict="undecided", correct="false", limit="timeout", mistakes="", attempt="2")
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    broken = report.read_text(encoding="utf-8")
    _grade(source, report, resume=True, retry=False)
    assert report.read_text(encoding="utf-8").replace("\r", "") == broken
    summary = _grade(source, report, resume=True)
    again = _csv_report(report)
    assert summary.extra["retried"] == 1
    assert (again[0]["verdict"], again[0]["attempt"], again[0]["limit"]) == ("equivalent", "2", "")
    assert (again[1]["verdict"], again[1]["limit"]) == ("undecided", "timeout")


def test_duplicate_and_blank_ids_keep_their_own_verdicts_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows are matched on row number and id: a repeated id or a blank id never takes another
    row's verdict on --resume, and an id answering a problem twice is named in one warning."""
    source = tmp_path / "subs.csv"
    rows = [
        ["a", "sin(x^2)", "2*x*cos(x^2)"],
        ["a", "sin(x^2)", "cos(x^2)"],
        ["1", "exp(3*x)", "exp(3*x)"],
        ["", "exp(3*x)", "3*exp(3*x)"],
    ]
    _write_csv(source, ["id", "problem", "answer"], rows)
    report = tmp_path / "report.csv"
    _grade(source, report)
    whole = report.read_text(encoding="utf-8")
    first_two = "".join(whole.splitlines(keepends=True)[:3])
    report.write_text(first_two, encoding="utf-8")
    capsys.readouterr()
    resumed = _resume_report(source, report)
    assert [r["correct"] for r in resumed] == ["true", "false", "false", "true"]
    assert [r["id"] for r in resumed] == ["a", "a", "1", ""]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "more than once" in line]
    assert len(warnings) == 1 and "(a)" in warnings[0]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_report_cut_mid_row_is_regraded_on_resume(tmp_path: Path, suffix: str) -> None:
    """A report cut anywhere inside its last row (even leaving a verdict-like prefix) gets
    that row graded again on --resume: the result is the uninterrupted report."""
    source = tmp_path / "subs.jsonl"
    write_rows(source, 4)
    report = tmp_path / f"report.{suffix}"
    _grade(source, report)
    whole = report.read_bytes()
    last_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    for cut in (last_start + 5, (last_start + len(whole)) // 2, len(whole) - 1):
        report.write_bytes(whole[:cut])
        summary = _grade(source, report, resume=True)
        assert summary.graded == 1, cut
        assert _without_seconds(report) == _without_seconds_text(whole.decode(), suffix)


def _without_seconds(report: Path) -> list[dict[str, Any]]:
    return _without_seconds_text(report.read_text(encoding="utf-8"), report.suffix[1:])


def _without_seconds_text(text: str, suffix: str) -> list[dict[str, Any]]:
    import io

    rows: list[dict[str, Any]]
    if suffix == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = [json.loads(line) for line in text.splitlines() if line]
    for row in rows:
        row.pop("seconds")
    return rows


def test_a_byte_order_mark_keeps_the_ids(tmp_path: Path) -> None:
    """Excel's 'CSV UTF-8' (a byte-order mark before the header) keeps the id column."""
    source = tmp_path / "subs.csv"
    _write_csv(source, ["id", "problem", "answer"], [["s1", "sin(x^2)", "2*x*cos(x^2)"]])
    source.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    report = tmp_path / "report.csv"
    _grade(source, report)
    assert [(r["id"], r["verdict"]) for r in _csv_report(report)] == [("s1", "equivalent")]


def test_a_windows_1252_file_is_read_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cp1252 file (an accented name) is read as cp1252 and the note says so and where."""
    source = tmp_path / "subs.csv"
    rows = [["s1", "Zoë", "sin(x^2)", "2*x*cos(x^2)"]]
    _write_csv(source, ["id", "name", "problem", "answer"], rows, encoding="cp1252")
    report = tmp_path / "report.csv"
    _grade(source, report)
    assert [(r["name"], r["verdict"]) for r in _csv_report(report)] == [("Zoë", "equivalent")]
    assert "0xEB at position" in capsys.readouterr().err


def test_a_file_neither_utf8_nor_cp1252_is_a_clear_error(tmp_path: Path) -> None:
    """A byte neither encoding has is one error line naming the byte and its position, exit 2."""
    source = tmp_path / "subs.csv"
    source.write_bytes(b"id,problem,answer\ns1,sin(x^2),2*x\x81\n")
    result = _cli(str(source), "-o", str(tmp_path / "r.csv"))
    assert result.exit_code == 2 and "0x81 at position 33" in result.output
    assert "Traceback" not in result.output


def test_headers_any_case_and_semicolons_are_read(tmp_path: Path) -> None:
    """Capitalised, padded headers and a ';'-separated file grade like a plain CSV file."""
    source = tmp_path / "subs.csv"
    header = [" ID ", "Problem", "Answer ", "Section"]
    _write_csv(source, header, [["s1", "sin(x^2)", "2*x*cos(x^2)", "B"]], delimiter=";")
    report = tmp_path / "report.csv"
    _grade(source, report)
    rows = _csv_report(report)
    assert [(r["id"], r["verdict"], r["Section"]) for r in rows] == [("s1", "equivalent", "B")]
    _write_csv(source, ["Student ID", "Name", "PROBLEM", "derivation"], [["s2", "Bo", "x", "= 1"]])
    _grade(source, report)
    rows = _csv_report(report)
    assert [(r["id"], r["Name"], r["verdict"]) for r in rows] == [("s2", "Bo", "equivalent")]
    assert "Student ID" not in rows[0]


def test_a_windows_line_break_in_a_cell_is_kept_on_resume(tmp_path: Path) -> None:
    """A derivation typed with \r\n line breaks is matched on --resume, not graded again."""
    source = tmp_path / "subs.csv"
    derivation = "= cos(x^2)*2*x\r\n= 2*x*cos(x^2)"
    _write_csv(source, ["id", "problem", "derivation"], [["s1", "sin(x^2)", derivation]])
    report = tmp_path / "report.csv"
    _grade(source, report)
    assert _grade(source, report, resume=True).resumed == 1


def test_missing_columns_are_a_clear_error_listing_the_expected_ones(tmp_path: Path) -> None:
    """A file without a problem or answer column stops before grading, naming what is expected."""
    source = tmp_path / "subs.csv"
    _write_csv(source, ["student", "question", "response"], [["s1", "sin(x)", "cos(x)"]])
    result = _cli(str(source))
    assert result.exit_code == 2 and "expected columns: id, problem" in result.output


def test_an_unbalanced_quote_is_an_error_with_its_line(tmp_path: Path) -> None:
    """An opened quote never closed is an error naming its line, not rows merged in silence."""
    source = tmp_path / "subs.csv"
    source.write_text(
        'id,problem,answer\ns1,sin(x),cos(x)\ns2,sin(x),"cos(x)\ns3,sin(x),cos(x)\n',
        encoding="utf-8",
    )
    result = _cli(str(source), "-o", str(tmp_path / "r.csv"))
    assert result.exit_code == 2 and "line 3" in result.output and "quote" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_rows_merged_by_a_quote_closed_later_are_flagged(tmp_path: Path) -> None:
    """A quote opened in one row and closed in a later one makes that record an invalid row
    naming its line (the review queue lists it), never a silent merge; a derivation's line
    breaks are left alone."""
    source = tmp_path / "subs.csv"
    source.write_text(
        'id,problem,answer,derivation\ns1,sin(x),"cos(x)\ns2,sin(x),cos(x),"\ns3,x,,"= 1\n= 1"\n',
        encoding="utf-8",
    )
    report = tmp_path / "r.csv"
    _grade(source, report)
    rows = _csv_report(report)
    assert [(r["id"], r["verdict"]) for r in rows] == [("s1", "invalid"), ("s3", "equivalent")]
    assert "line 2" in rows[0]["message"] and "quote" in rows[0]["message"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-o", "missing/report.csv"], "does not exist"),
        (["--resume"], "--resume needs --output"),
        (["-o", "SOURCE"], "is the submissions file"),
    ],
)
def test_outputs_that_cannot_work_are_refused_before_grading(
    tmp_path: Path, options: list[str], message: str
) -> None:
    """A missing output folder, --resume without --output and -o onto the input: exit 2."""
    source = tmp_path / "subs.csv"
    _write_csv(source, ["id", "problem", "answer"], [["s1", "sin(x)", "cos(x)"]])
    before = source.read_bytes()
    paths = {"SOURCE": str(source), "missing/report.csv": str(tmp_path / "missing/report.csv")}
    result = _cli(str(source), *(paths.get(option, option) for option in options))
    assert result.exit_code == 2 and message in result.output
    assert source.read_bytes() == before


def test_formula_cells_are_neutralised_and_read_back_on_resume(tmp_path: Path) -> None:
    """Cells starting with = + - @ get a leading quote in the CSV report; --resume reads the
    text back as it was, so a kept row is written the same way again."""
    source = tmp_path / "subs.csv"
    rows = [
        ["=HYPERLINK(1)", "log(cos(x))", "-tan(x)", "@me"],
        ["+1", "sin(x^2)", "'=2*x*cos(x^2)", "-"],
    ]
    _write_csv(source, ["id", "problem", "answer", "email"], rows)
    report = tmp_path / "report.csv"
    _grade(source, report)
    first = report.read_text(encoding="utf-8")
    cells = [c for r in _csv_report(report) for c in (r["id"], r["answer"], r["email"])]
    assert cells == ["'=HYPERLINK(1)", "'-tan(x)", "'@me", "'+1", "''=2*x*cos(x^2)", "'-"]
    assert _grade(source, report, resume=True).resumed == 2
    assert report.read_text(encoding="utf-8") == first


@pytest.mark.parametrize(("suffix", "start"), [("jsonl", '{"row": 1'), ("md", "# Grading")])
def test_the_report_format_follows_the_output_extension(
    tmp_path: Path, suffix: str, start: str
) -> None:
    """-o report.jsonl writes JSON Lines and -o report.md Markdown; --format overrides."""
    source = tmp_path / "subs.csv"
    _write_csv(source, ["id", "problem", "answer"], [["s1", "sin(x)", "cos(x)"]])
    output = tmp_path / f"report.{suffix}"
    assert _cli(str(source), "-o", str(output)).exit_code == 0
    assert output.read_text(encoding="utf-8").startswith(start)
    assert _cli(str(source), "-o", str(output), "--format", "csv").exit_code == 0
    assert output.read_text(encoding="utf-8").startswith("row,id,problem,verdict")


def test_an_oversized_cell_or_line_is_one_invalid_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell over the field limit (CSV) or an over-long line (JSON Lines) makes its own row
    invalid; the rows around it are graded."""
    from chainsolve import grade

    monkeypatch.setattr(grade, "MAX_FIELD_CHARS", 200)
    long = "x+" * 150 + "x"
    source = tmp_path / "subs.csv"
    rows = [["s1", "sin(x)", long], ["s2", "sin(x)", "cos(x)"]]
    _write_csv(source, ["id", "problem", "answer"], rows)
    report = tmp_path / "report.csv"
    _grade(source, report)
    assert [r["verdict"] for r in _csv_report(report)] == ["invalid", "equivalent"]
    lines = tmp_path / "subs.jsonl"
    lines.write_text(
        json.dumps({"id": "s1", "problem": "sin(x)", "answer": long})
        + "\n"
        + json.dumps({"id": "s2", "problem": "sin(x)", "answer": "cos(x)"})
        + "\n",
        encoding="utf-8",
    )
    _grade(lines, report)
    assert [r["verdict"] for r in _csv_report(report)] == ["invalid", "equivalent"]


def test_a_field_over_the_csv_module_default_limit_is_read(tmp_path: Path) -> None:
    """A cell longer than csv's default 131,072 characters does not abort the run."""
    source = tmp_path / "subs.csv"
    rows = [["s1", "sin(x)", "x" * 140_000], ["s2", "sin(x)", "cos(x)"]]
    _write_csv(source, ["id", "problem", "answer"], rows)
    report = tmp_path / "report.csv"
    _grade(source, report)
    assert [r["id"] for r in _csv_report(report)] == ["s1", "s2"]
    assert _csv_report(report)[1]["verdict"] == "equivalent"


def test_a_corrupted_report_on_resume_is_a_clear_error_or_regraded_rows(tmp_path: Path) -> None:
    """A file that is not a report stops --resume with one line (exit 2, file untouched); a
    report row with a corrupted cell is graded again."""
    source = tmp_path / "subs.csv"
    rows = [["s1", "sin(x)", "cos(x)"], ["s2", "sin(x)", "sin(x)"]]
    _write_csv(source, ["id", "problem", "answer"], rows)
    report = tmp_path / "report.csv"
    report.write_bytes(b"\x00\xff garbage\n")
    result = _cli(str(source), "-o", str(report), "--resume")
    assert result.exit_code == 2 and "is not a chainsolve report" in result.output
    assert report.read_bytes() == b"\x00\xff garbage\n"
    for killed_early in ("", "row,id,prob"):  # killed before the header was written whole
        report.write_text(killed_early, encoding="utf-8")
        assert _grade(source, report, resume=True).graded == 2
    _grade(source, report)
    good = _without_seconds(report)
    text = report.read_text(encoding="utf-8").replace("not_equivalent", "not_equiv")
    report.write_text(text, encoding="utf-8")
    assert _grade(source, report, resume=True).graded == 1
    assert _without_seconds(report) == good


def test_a_row_that_crashes_chainsolve_is_a_row_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """An unexpected exception while grading one row makes that row undecided (limit crashed);
    no traceback is printed and the next row is graded."""
    import chainsolve.api

    check = chainsolve.api.check_parsed

    def crashing(problem: Any, **options: Any) -> Any:
        if options.get("answer") == "boom":
            raise ZeroDivisionError("a bug")
        return check(problem, **options)

    monkeypatch.setattr(chainsolve.api, "check_parsed", crashing)  # workers are forked
    source = tmp_path / "subs.csv"
    _write_csv(source, ["id", "problem", "answer"], [["s1", "x", "boom"], ["s2", "x", "1"]])
    report = tmp_path / "report.csv"
    _grade(source, report)
    rows = _csv_report(report)
    assert [(r["verdict"], r["limit"]) for r in rows] == [
        ("undecided", "crashed"),
        ("equivalent", ""),
    ]
    assert "ZeroDivisionError" in rows[0]["message"]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_is_refused_not_read_forever(tmp_path: Path, kind: str) -> None:
    """A FIFO (which would block) or /dev/zero (endless) as input: one error line, exit 2."""
    import os

    if kind == "fifo":
        source = tmp_path / "subs.csv"
        os.mkfifo(source)
    else:
        source = Path("/dev/zero")
    result = _cli(str(source), "-o", str(tmp_path / "r.csv"))
    assert result.exit_code == 2 and "not a regular file" in result.output


def test_no_gradable_row_exits_non_zero(tmp_path: Path) -> None:
    """A batch where every row is invalid still writes its report but exits 2."""
    source = tmp_path / "subs.csv"
    _write_csv(source, ["id", "problem", "answer"], [["s1", "", "1"], ["s2", "sin(x", "1"]])
    report = tmp_path / "r.csv"
    result = _cli(str(source), "-o", str(report))
    assert result.exit_code == 2 and "no row could be graded" in result.output
    assert len(_csv_report(report)) == 2


def test_the_report_carries_the_answer_the_expected_answer_and_extra_columns(
    tmp_path: Path,
) -> None:
    """Each row shows the answer as read, the expected derivative (checked with sympy.diff)
    and the input's other columns (name, email, section), in CSV and in JSON Lines."""
    source = tmp_path / "subs.csv"
    header = ["id", "name", "email", "section", "problem", "answer"]
    rows = [
        ["s1", "Ada", "ada@example.org", "A", "sin(x^2)", "cos(x^2)"],
        ["s2", "Bo", "bo@example.org", "B", "exp(3*x)", "3*exp(3*x)"],
    ]
    _write_csv(source, header, rows)
    report = tmp_path / "report.csv"
    _grade(source, report)
    for row, given in zip(_csv_report(report), rows, strict=True):
        assert (row["name"], row["email"], row["section"]) == tuple(given[1:4])
        assert row["answer"] == given[5] and _is_derivative(given[4], row["expected"])
    lines = tmp_path / "report.jsonl"
    _grade(source, lines)
    first = json.loads(lines.read_text(encoding="utf-8").splitlines()[0])
    assert first["extra"] == {"name": "Ada", "email": "ada@example.org", "section": "A"}


def test_review_queue_overrides_and_gradebook(tmp_path: Path) -> None:
    """--review lists undecided and invalid rows; --overrides applies the instructor's verdict
    and survives --resume; --gradebook has one row per student, a column per problem, a total."""
    source = tmp_path / "subs.csv"
    header = ["id", "name", "email", "section", "problem", "answer"]
    rows = [
        ["s1", "Ada", "ada@example.org", "A", "sin(x^2)", "2*x*cos(x^2)"],
        ["s1", "Ada", "ada@example.org", "A", "exp(3*x)", "3*exp(3*x)"],
        ["s2", "Bo", "bo@example.org", "B", "sin(x^2)", "2*x*cos(x^2"],
        ["s2", "Bo", "bo@example.org", "B", "exp(3*x)", "exp(3*x)"],
        ["", "Cy", "cy@example.org", "B", "exp(3*x)", "3*exp(3*x)"],
        ["s2", "Bo", "bo@example.org", "B", "", "1"],
    ]
    _write_csv(source, header, rows)
    overrides = tmp_path / "overrides.csv"
    _write_csv(
        overrides,
        ["id", "problem", "verdict", "feedback"],
        [["s2", "exp(3*x)", "equivalent", "Accepted after review"]],
    )
    report, review, book = tmp_path / "r.csv", tmp_path / "review.csv", tmp_path / "book.csv"
    options = {"review_path": review, "overrides_path": overrides, "gradebook_path": book}
    _grade(source, report, **options)
    assert [(r["row"], r["verdict"]) for r in _csv_report(review)] == [
        ("3", "invalid"),
        ("6", "invalid"),
    ]
    for run in range(2):
        graded = _csv_report(report)
        assert graded[3]["verdict"] == "equivalent" and graded[3]["correct"] == "true", run
        assert (graded[3]["message"], graded[3]["limit"]) == ("Accepted after review", "override")
        _grade(source, report, resume=True, **options)
    gradebook = _csv_report(book)
    assert list(gradebook[0]) == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "sin(x^2)",
        "exp(3*x)",
        "Final Points",
    ]
    columns = ("Student", "SIS User ID", "SIS Login ID", "sin(x^2)", "exp(3*x)", "Final Points")
    assert [tuple(r[c] for c in columns) for r in gradebook] == [
        ("Ada", "s1", "ada@example.org", "1", "1", "2"),
        ("Bo", "s2", "bo@example.org", "0", "1", "1"),
    ]


def _bench_resume() -> Any:
    """benchmarks/bench_resume.py as a module (benchmarks/ is not a package)."""
    import importlib.util
    import sys

    if "bench_resume" in sys.modules:
        return sys.modules["bench_resume"]
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_resume.py"
    spec = importlib.util.spec_from_file_location("bench_resume", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_resume"] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_killed_twice_and_resumed_gives_the_uninterrupted_report(tmp_path: Path) -> None:
    """A mixed batch (answers, derivations, repeated and blank ids, malformed and hostile rows)
    killed twice at random rows (SIGKILL of the process group) and resumed ends with the
    uninterrupted run's report, cell for cell but the seconds, and the same gradebook bytes."""
    bench = _bench_resume()
    source = tmp_path / "subs.csv"
    bench.write_batch(source, 120)
    outcome = bench.kill_twice_and_resume(tmp_path, source, 120, 1, 14)
    assert outcome.rows == 120
