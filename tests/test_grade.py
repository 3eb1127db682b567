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


def test_workers_stop_when_the_grading_process_is_killed(tmp_path: Path) -> None:
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
        "os.kill(os.getpid(), signal.SIGKILL)\n"
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
