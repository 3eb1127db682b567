"""Kill and resume: a mixed batch graded whole, then killed twice (SIGKILL) and resumed; same report.

Run: ``python benchmarks/bench_resume.py [ROWS] [--repeat N] [--jobs J] [--seed S]`` (default
2,000 rows, once). Each repeat grades the batch once uninterrupted, then once killed twice at
random rows (SIGKILL of the whole process group: the grading process and its workers) and
resumed to the end; it asserts that the two reports are the same record for record, cell for
cell, except ``seconds`` (the time each row took, which differs between any two runs), and
that the gradebooks are byte-identical. It prints the timings (medians over the repeats).
``tests/test_grade.py`` runs the same with a small batch.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Rows that try to break the grader: code, huge numbers, deep nesting, no answer.
HOSTILE: list[tuple[str, str]] = [
    ("sin(x^2)", "__import__('os').system('touch /tmp/pwned')"),
    ("__import__('os').system('true')", "1"),
    ("sin(x^2)", "9^9^9^9"),
    ("sin(x^2)", "expand((x + 1)^100000)"),
    ("(x+1)^(10^9)", "10^9*(x+1)^(10^9-1)"),
    ("sin(x^2)", "(" * 5000 + "x" + ")" * 5000),
    ("sin(x^2)", ""),
]
#: Rows a spreadsheet or a careless export produces: unreadable answers, formulas, blanks.
MALFORMED: list[tuple[str, str]] = [
    ("exp(3*x)", "3*exp(3*x"),
    ("", "1"),
    ("exp(3*x)", "=3*exp(3*x)"),
    ("exp(3*x)", "@SUM(A1:A9)"),
    ("sin(x^2)", "2x cos(x^2) +"),
    ("log(x", "1/x"),
]
#: The problems of the ordinary rows (the row number makes each answer distinct, so graded).
PROBLEMS = ["sin({k}*x^2)", "exp({k}*x)", "(x^2 + {k})^3", "log(cos({k}*x))"]
#: Options of every run: limits far above what any row needs, so none is cut by the clock.
OPTIONS = ["--timeout", "60", "--memory-mb", "800"]


def batch_rows(count: int) -> list[list[str]]:
    """``count`` rows (id, name, section, problem, answer, derivation): right and wrong answers,
    derivations, repeated and blank ids, malformed and hostile rows, in a fixed order."""
    rows: list[list[str]] = []
    for index in range(count):
        kind = index % 20
        student = f"s{index:05d}"
        k = index % 7 + 2
        if kind == 19:
            problem, answer = HOSTILE[(index // 20) % len(HOSTILE)]
            rows.append([student, "Eve", "C", problem, answer, ""])
        elif kind in (17, 18):
            problem, answer = MALFORMED[(index // 10) % len(MALFORMED)]
            rows.append([student, "Mal", "B", problem, answer, ""])
        elif kind in (15, 16):
            wrong = "" if kind == 15 else f"\n= {index}*x*cos({k}*x^2)"
            derivation = f"dy/dx = cos({k}*x^2) * {2 * k}*x{wrong}"
            rows.append(
                ["" if kind == 16 else student, "Dee", "A", f"sin({k}*x^2)", "", derivation]
            )
        elif kind == 14:
            rows.append([f"s{index - 1:05d}", "Rep", "A", "exp(3*x)", f"{index}*exp(3*x)", ""])
        else:
            problem = PROBLEMS[kind % len(PROBLEMS)].format(k=k)
            right = {0: f"2*{k}*x*cos({k}*x^2)", 1: f"{k}*exp({k}*x)"}.get(kind % len(PROBLEMS))
            answer = right if right and kind < 4 else f"{index}*x + {k}"
            rows.append([student, f"Stu {index}", "A", problem, answer, ""])
    return rows


def write_batch(path: Path, count: int) -> None:
    """The batch of :func:`batch_rows` as a CSV file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "name", "section", "problem", "answer", "derivation"])
        writer.writerows(batch_rows(count))


def grade_command(source: Path, report: Path, jobs: int, *, resume: bool) -> list[str]:
    """The ``chainsolve grade`` command line of one run (gradebook beside the report)."""
    book = report.with_name(report.stem + ".gradebook.csv")
    command = [sys.executable, "-m", "chainsolve", "grade", str(source), "-o", str(report)]
    command += ["--jobs", str(jobs), "--gradebook", str(book), *OPTIONS]
    return [*command, "--resume"] if resume else command


def _records(report: Path) -> int:
    """Complete lines in ``report`` so far (a record with a line break inside counts more)."""
    try:
        return report.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def run_until(command: list[str], report: Path, lines: int | None) -> tuple[int, float]:
    """Run ``command`` in a process group of its own; SIGKILL the whole group once ``report``
    holds ``lines`` lines (None: let it finish). Its exit status and wall seconds."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    end = time.monotonic() + 3600  # only stops a hang
    while process.poll() is None and time.monotonic() < end:
        if lines is not None and _records(report) >= lines:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    status = process.wait()
    with_group_gone(process.pid)
    return status, time.perf_counter() - start


def with_group_gone(group: int) -> None:
    """Wait until no process of ``group`` is left (a worker outliving the kill is a bug)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {group} still run 10 s after their parent ended")


def cells_without_seconds(report: Path) -> list[list[str]]:
    """Every record of ``report`` as its raw cells, the ``seconds`` cell blanked."""
    csv.field_size_limit(10_000_000)
    with report.open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    column = records[0].index("seconds")
    for record in records[1:]:
        record[column] = ""
    return records


@dataclass(frozen=True)
class Outcome:
    """One repeat: the uninterrupted run's seconds, the three interrupted runs', where killed."""

    whole: float
    parts: tuple[float, float, float]
    killed_at: tuple[int, int]
    rows: int
    differing_seconds: int


def kill_twice_and_resume(folder: Path, source: Path, count: int, jobs: int, seed: int) -> Outcome:
    """Grade ``source`` whole, then killed at two random rows and resumed; compare the reports."""
    chosen = random.Random(seed)
    whole = folder / "whole.csv"
    status, whole_seconds = run_until(grade_command(source, whole, jobs, resume=False), whole, None)
    assert status == 0, f"the uninterrupted run exited {status}"
    expected = cells_without_seconds(whole)
    limits = expected[0].index("limit")
    cut = [r for r in expected[1:] if r[limits] in ("timeout", "memory", "crashed")]
    assert not cut, f"{len(cut)} rows ran into a limit: the runs could legitimately differ"
    report = folder / "report.csv"
    first = chosen.randint(2, max(2, count // 2))
    second = chosen.randint(first + 1, max(first + 1, count - 1))
    status, one = run_until(grade_command(source, report, jobs, resume=False), report, first)
    assert status == -signal.SIGKILL, f"the first run ended by itself ({status}) before row {first}"
    resume = grade_command(source, report, jobs, resume=True)
    status, two = run_until(resume, report, second)
    assert status in (-signal.SIGKILL, 0), status
    status, three = run_until(resume, report, None)
    assert status == 0, f"the last resumed run exited {status}"
    got = cells_without_seconds(report)
    assert got == expected, "the resumed report differs from the uninterrupted one"
    whole_book = whole.with_name(whole.stem + ".gradebook.csv").read_bytes()
    assert report.with_name(report.stem + ".gradebook.csv").read_bytes() == whole_book
    seconds = expected[0].index("seconds")
    with whole.open(encoding="utf-8", newline="") as a, report.open(encoding="utf-8") as b:
        pairs = zip(list(csv.reader(a))[1:], list(csv.reader(b))[1:], strict=True)
        differing = sum(1 for x, y in pairs if x[seconds] != y[seconds])
    return Outcome(whole_seconds, (one, two, three), (first, second), len(got) - 1, differing)


def main(argv: list[str] | None = None) -> int:
    """Build the batch, run the repeats, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=14)
    options = parser.parse_args(argv)
    outcomes = []
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        source = folder / "submissions.csv"
        write_batch(source, options.rows)
        for repeat in range(options.repeat):
            run_folder = folder / f"run{repeat}"
            run_folder.mkdir()
            outcome = kill_twice_and_resume(
                run_folder, source, options.rows, options.jobs, options.seed + repeat
            )
            outcomes.append(outcome)
            print(
                f"repeat {repeat + 1}: {outcome.rows} rows; whole {outcome.whole:.1f} s; killed "
                f"at lines {outcome.killed_at[0]} and {outcome.killed_at[1]}: "
                + " + ".join(f"{part:.1f}" for part in outcome.parts)
                + f" = {sum(outcome.parts):.1f} s; reports equal but for seconds "
                f"({outcome.differing_seconds} rows' seconds differ); gradebooks byte-identical",
                flush=True,
            )
    whole = statistics.median(o.whole for o in outcomes)
    interrupted = statistics.median(sum(o.parts) for o in outcomes)
    print(
        f"median of {len(outcomes)}: uninterrupted {whole:.1f} s "
        f"({options.rows / whole:.0f} rows/s), killed twice and resumed {interrupted:.1f} s "
        f"in all, on --jobs {options.jobs}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
