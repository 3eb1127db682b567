"""Grading throughput: a 300-student, 10-problem class on 1 and 2 worker processes, and memory.

Run: ``python benchmarks/bench_grade.py [STUDENTS] [--memory ROWS...]``, or
``python benchmarks/bench_grade.py --dask ROWS [--alone]`` for a run on a local Dask cluster. ``benchmarks/run.py``
runs the same measurements (``grade_throughput``, ``verify_throughput``) in the whole suite.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
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


#: The class's problems: right answers in several forms, named mistakes, derivations.
CLASS: list[tuple[str, list[str], list[str], list[str]]] = [
    (
        "sin(x^2)",
        ["2*x*cos(x^2)", "cos(x^2)*2*x", "2x cos(x^2)", "2*x*cos(x**2)"],
        ["cos(x^2)", "cos(2*x)", "-2*x*cos(x^2)"],
        ["dy/dx = cos(x^2)*2*x\n= 2*x*cos(x^2)", "= cos(x^2)*2*x\n= x*cos(x^2)"],
    ),
    (
        "exp(3*x^2 + 1)",
        ["6*x*exp(3*x^2 + 1)", "exp(3*x^2+1)*6*x", "6x e^(3x^2+1)"],
        ["exp(3*x^2 + 1)", "3*x^2*exp(3*x^2)", "6*x"],
        ["dy/dx = exp(3*x^2+1)*(6*x)\n= 6*x*exp(3*x^2+1)"],
    ),
    (
        "(x^2 + 1)^3",
        ["6*x*(x^2 + 1)^2", "3*(x^2+1)^2*2*x", "6*x^5 + 12*x^3 + 6*x"],
        ["3*(x^2 + 1)^2", "3*(2*x)^2", "6*x*(x^2+1)^3"],
        ["dy/dx = 3*(x^2+1)^2 * 2*x\n= 6*x*(x^2+1)^2"],
    ),
    (
        "log(cos(x))",
        ["-tan(x)", "-sin(x)/cos(x)", "(1/cos(x))*(-sin(x))"],
        ["1/cos(x)", "tan(x)", "-sin(x)"],
        [],
    ),
    (
        "sqrt(1 + sin(x))",
        ["cos(x)/(2*sqrt(1 + sin(x)))", "cos(x)*(1+sin(x))^(-1/2)/2"],
        ["1/(2*sqrt(1+sin(x)))", "cos(x)/sqrt(1+sin(x))"],
        [],
    ),
    (
        "sigmoid(2*x)",
        ["2*sigmoid(2*x)*(1 - sigmoid(2*x))", "2*exp(-2*x)/(1+exp(-2*x))^2"],
        ["sigmoid(2*x)*(1-sigmoid(2*x))"],
        [],
    ),
    (
        "tan(x^3)",
        ["3*x^2/cos(x^3)^2", "3*x^2*(1+tan(x^3)^2)", "3x^2 sec(x^3)^2"],
        ["1/cos(x^3)^2", "3*x^2*tan(x^3)"],
        ["= sec(x^3)^2 * 3*x^2"],
    ),
    (
        "cos(exp(x))",
        ["-exp(x)*sin(exp(x))", "-sin(e^x)*e^x"],
        ["-sin(exp(x))", "exp(x)*sin(exp(x))"],
        [],
    ),
    (
        "z = x^2*y; x = cos(t); y = exp(t)",
        ["-2*x*y*sin(t) + x^2*exp(t)", "2*x*y*(-sin(t)) + x^2*y"],
        ["-2*x*y*sin(t)", "x^2*exp(t)"],
        [],
    ),
    (
        "x^2*sin(3*x)",
        ["2*x*sin(3*x) + 3*x^2*cos(3*x)", "x*(2*sin(3*x)+3*x*cos(3*x))"],
        ["6*x*cos(3*x)", "2*x*sin(3*x) + x^2*cos(3*x)"],
        [],
    ),
]


def class_rows(students: int, seed: int = 19) -> Iterator[dict[str, str]]:
    """Each student's submission to each problem, drawn deterministically: 55 % a right answer
    (one of several forms), 30 % a named mistake, 8 % a derivation, 4 % a right answer spaced
    oddly, 3 % an unreadable one."""
    rng = random.Random(seed)
    for student in range(students):
        for number, (problem, right, wrong, derivations) in enumerate(CLASS):
            roll = rng.random()
            row = {"id": f"st{student:05d}-p{number}", "problem": problem}
            if roll < 0.55:
                row["answer"] = rng.choice(right)
            elif roll < 0.85:
                row["answer"] = rng.choice(wrong)
            elif roll < 0.93 and derivations:
                row["derivation"] = rng.choice(derivations)
            elif roll < 0.97:
                row["answer"] = "  " + rng.choice(right).replace("*", " * ") + " "
            else:
                row["answer"] = rng.choice(right) + ")"
            yield row


@dataclass(frozen=True)
class GradeRow:
    """``grade_file`` on ``rows`` submissions with ``jobs`` workers: median seconds over runs."""

    jobs: int
    rows: int
    seconds: float
    runs: int
    #: Median CPU seconds of the parent and its workers together (independent of the load).
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu_per_row(self) -> float:
        return self.cpu_seconds / self.rows


@dataclass(frozen=True)
class VerifyRow:
    """``verify_answer`` over the answer rows of ``MIX``: first (cold) pass and warm passes."""

    answers: int
    cold_per_second: float
    warm_per_second: float
    passes: int


@dataclass(frozen=True)
class MemoryRow:
    """Peak resident memory of a ``grade_file`` run over ``rows`` rows (parent; largest worker)."""

    rows: int
    parent_bytes: int
    worker_bytes: int
    seconds: float


def _write_submissions(folder: Path, rows: int) -> Path:
    """The first ``rows`` submissions of a class (ten problems per student)."""
    source = folder / f"class{rows}.jsonl"
    students = -(-rows // len(CLASS))
    lines = [json.dumps(row) for row in itertools.islice(class_rows(students), rows)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _peak_bytes() -> tuple[int, int]:
    """Peak resident set of this process and of its largest finished child (Linux: KiB)."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    )


def _grade_once(source: Path, folder: Path, jobs: int, rows: int) -> tuple[float, float]:
    """Wall and CPU seconds of one ``grade_file`` run (workers' CPU included)."""
    cpu = _cpu_seconds()
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
    return seconds, _cpu_seconds() - cpu


def _grade_in_fresh_interpreter(
    source: Path, folder: Path, jobs: int, rows: int
) -> tuple[float, float, int, int]:
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
    wall, cpu, parent, worker = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu), int(parent), int(worker)


def grade_throughput(
    rows: int = 3000, jobs: Sequence[int] = (1, 2), repeat: int = 1
) -> list[GradeRow]:
    """Median seconds of ``grade_file`` on ``rows`` rows of a class, per job count; the order of
    job counts alternates per run.

    Each run is in a fresh interpreter (the time counts ``grade_file`` only, worker start-up
    included), so that the workers do not inherit a warm cache from the caller.
    """
    times: dict[int, list[float]] = {j: [] for j in jobs}
    cpu: dict[int, list[float]] = {j: [] for j in jobs}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = _write_submissions(folder, rows)
        for run in range(max(1, repeat)):
            order = list(jobs) if run % 2 == 0 else list(reversed(jobs))
            for j in order:
                wall, seconds, _, _ = _grade_in_fresh_interpreter(source, folder, j, rows)
                times[j].append(wall)
                cpu[j].append(seconds)
    return [
        GradeRow(j, rows, statistics.median(times[j]), len(times[j]), statistics.median(cpu[j]))
        for j in jobs
    ]


def grade_memory(sizes: Sequence[int] = (2000, 20_000), jobs: int = 2) -> list[MemoryRow]:
    """Peak resident memory of grading ``sizes`` rows of a class: flat when the input streams."""
    found = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for rows in sizes:
            source = _write_submissions(folder, rows)
            wall, _, parent, worker = _grade_in_fresh_interpreter(source, folder, jobs, rows)
            found.append(MemoryRow(rows, parent, worker, wall))
    return found


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


@dataclass(frozen=True)
class ClusterRow:
    """One ``grade_file --scheduler`` run on a local Dask cluster."""

    rows: int
    workers: int
    share: bool
    seconds: float
    judged: int
    client_cpu_seconds: float
    client_peak_bytes: int
    report_bytes: int

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds


def cluster_run(rows: int, workers: int = 2, share: bool = True) -> ClusterRow:
    """Grade ``rows`` rows of a class on a ``LocalCluster`` of ``workers`` single-thread workers
    (the cluster's start-up not counted); the client's CPU and peak memory."""
    import dask
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = _write_submissions(folder, rows)
        output = folder / "report.csv"
        with (
            dask.config.set({"distributed.worker.daemon": False}),
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
        ):
            own = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            summary = grade_file(
                source,
                output=output,
                scheduler=cluster.scheduler_address,
                timeout=10,
                memory_mb=1024,
                progress=False,
                share=share,
            )
            seconds = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_SELF)
        assert summary.total == rows
        return ClusterRow(
            rows,
            workers,
            share,
            seconds,
            int(summary.extra["judged"]),
            after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime,
            after.ru_maxrss * 1024,
            output.stat().st_size,
        )


def main(students: int = 300, repeat: int = 3, memory: Sequence[int] = ()) -> None:
    """Print submissions per second and CPU per row for 1 and 2 jobs, and peak memory."""
    rows = students * len(CLASS)
    print(f"{students} students x {len(CLASS)} problems = {rows} submissions, {repeat} runs")
    print(f"{'jobs':>4}  {'seconds':>8}  {'per second':>10}  {'CPU s':>6}  {'CPU ms/row':>10}")
    for r in grade_throughput(rows, (1, 2), repeat):
        print(
            f"{r.jobs:>4}  {r.seconds:>8.2f}  {r.per_second:>10.1f}  {r.cpu_seconds:>6.2f}  "
            f"{1000 * r.cpu_per_row:>10.3f}"
        )
    for m in grade_memory(memory) if memory else ():
        print(
            f"{m.rows} rows: peak RSS parent {m.parent_bytes / 2**20:.0f} MiB, "
            f"largest worker {m.worker_bytes / 2**20:.0f} MiB, {m.seconds:.1f} s"
        )


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--dask":
        found = cluster_run(int(sys.argv[2]), share=len(sys.argv) == 3)
        print(found, f"{found.per_second:.1f} rows/s")
    elif len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, path, where, job_count, row_count = sys.argv
        wall, cpu = _grade_once(Path(path), Path(where), int(job_count), int(row_count))
        parent, worker = _peak_bytes()
        print(wall, cpu, parent, worker)
    else:
        arguments = sys.argv[1:]
        sizes = (
            [int(a) for a in arguments[arguments.index("--memory") + 1 :]]
            if ("--memory" in arguments)
            else []
        )
        head = arguments[: arguments.index("--memory")] if "--memory" in arguments else arguments
        main(int(head[0]) if head else 300, memory=sizes)
