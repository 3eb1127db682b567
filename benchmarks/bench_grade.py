"""Grading throughput: submissions per second on 1 and 2 worker processes for a realistic mix.

Run: ``python benchmarks/bench_grade.py [ROWS]``. ``benchmarks/run.py`` runs the same
measurements (``grade_throughput``, ``verify_throughput``) as part of the whole suite.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chainsolve.grade import grade_file

#: A class's worth of submissions: mostly right, common slips, a few derivations and bad rows.
MIX = [
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x)*2*x"},
    {"problem": "exp(3*x^2 + 1)", "answer": "6*x*exp(3*x^2 + 1)"},
    {"problem": "(x^2 + 1)^3", "answer": "6*x*(x^2 + 1)^2"},
    {"problem": "(x^2 + 1)^3", "answer": "3*(x^2 + 1)^2"},
    {"problem": "log(cos(x))", "answer": "-tan(x)"},
    {"problem": "sqrt(1 + sin(x))", "answer": "cos(x)/(2*sqrt(1 + sin(x)))"},
    {"problem": "sigmoid(2*x)", "answer": "2*sigmoid(2*x)*(1 - sigmoid(2*x))"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "-2*x*y*sin(t) + x^2*exp(t)"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "-2*x*y*sin(t)"},
    {"problem": "z = f(x, y); x = g(t); y = h(t)", "answer": "f_x*g_t + f_y*h_t"},
    {"problem": "sin(x^2)", "derivation": "dy/dx = cos(x^2)*2*x\n= 2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "derivation": "= cos(x^2)*2*x\n= x*cos(x^2)\n= cos(x^2)*x"},
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2"},
]


@dataclass(frozen=True)
class GradeRow:
    """``grade_file`` on ``rows`` submissions with ``jobs`` workers: median seconds over runs."""

    jobs: int
    rows: int
    seconds: float
    runs: int

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds


@dataclass(frozen=True)
class VerifyRow:
    """``verify_answer`` over the answer rows of ``MIX``: first (cold) pass and warm passes."""

    answers: int
    cold_per_second: float
    warm_per_second: float
    passes: int


def _write_submissions(folder: Path, rows: int) -> Path:
    source = folder / "subs.jsonl"
    lines = [json.dumps({"id": f"s{i}", **MIX[i % len(MIX)]}) for i in range(rows)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source


def _grade_once(source: Path, folder: Path, jobs: int, rows: int) -> float:
    start = time.perf_counter()
    summary = grade_file(
        source,
        jobs=jobs,
        output=folder / f"r{jobs}.csv",
        report_format="csv",
        resume=False,
        timeout=10,
        memory_mb=1024,
        progress=False,
    )
    seconds = time.perf_counter() - start
    assert summary.total == rows
    return seconds


def _grade_in_fresh_interpreter(source: Path, folder: Path, jobs: int, rows: int) -> float:
    """Seconds of ``grade_file`` in a new interpreter: workers fork from a parent with a cold
    sympy cache and without the suite's imports, as under ``chainsolve grade``."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(source),
        str(folder),
        str(jobs),
        str(rows),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def grade_throughput(
    rows: int = 150, jobs: Sequence[int] = (1, 2), repeat: int = 1
) -> list[GradeRow]:
    """Median seconds of ``grade_file`` per job count; the order of job counts alternates per run.

    Each run is in a fresh interpreter (the time counts ``grade_file`` only, worker start-up
    included), so that the workers do not inherit a warm cache from the caller.
    """
    times: dict[int, list[float]] = {j: [] for j in jobs}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = _write_submissions(folder, rows)
        for run in range(max(1, repeat)):
            order = list(jobs) if run % 2 == 0 else list(reversed(jobs))
            for j in order:
                times[j].append(_grade_in_fresh_interpreter(source, folder, j, rows))
    return [GradeRow(j, rows, statistics.median(times[j]), len(times[j])) for j in jobs]


def verify_throughput(passes: int = 3) -> VerifyRow:
    """Answers checked per second by ``verify_answer`` on the answer rows of ``MIX``.

    Problems are parsed once outside the timing; an unreadable answer counts (it raises
    ``ParseError`` quickly, as in real grading). The first pass runs on sympy's cold cache.
    """
    from chainsolve.errors import ChainsolveError
    from chainsolve.parsing import parse_problem
    from chainsolve.verification import verify_answer

    items = [(parse_problem(row["problem"]), row["answer"]) for row in MIX if "answer" in row]

    def one_pass() -> float:
        start = time.perf_counter()
        for problem, answer in items:
            with contextlib.suppress(ChainsolveError):
                verify_answer(problem, answer, timeout=10)
        return time.perf_counter() - start

    from sympy.core.cache import clear_cache

    clear_cache()
    cold = one_pass()
    warm = statistics.median(one_pass() for _ in range(max(1, passes)))
    return VerifyRow(len(items), len(items) / cold, len(items) / warm, max(1, passes))


def main(rows: int = 150) -> None:
    """Print a table of submissions per second for 1 and 2 jobs."""
    print(f"{rows} submissions, {len(MIX)} kinds")
    print(f"{'jobs':>4}  {'seconds':>8}  {'per second':>10}")
    for result in grade_throughput(rows):
        print(f"{result.jobs:>4}  {result.seconds:>8.2f}  {result.per_second:>10.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, path, where, job_count, row_count = sys.argv
        print(_grade_once(Path(path), Path(where), int(job_count), int(row_count)))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
