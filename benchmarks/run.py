"""The whole benchmark suite in one command: a Markdown report of medians.

Run: ``python benchmarks/run.py [--quick] [--repeat N] [--output PATH]``. Prints the report
and writes it to ``benchmarks/results/latest.md`` (git-ignored). Sections:

1. CLI latency as a ratio of the ``import sympy`` floor (interleaved runs), import costs.
2. Graph scaling of ``solve_problem``: chains of diamonds and deep compositions, time per
   edge, peak memory, output size, fitted log-log exponents, ``sympy.diff`` alongside.
3. Gradients at a point on graphs of thousands of nodes: ``evaluate_at`` vs finite differences.
4. Throughput of ``verify_answer`` and of ``grade_file`` on 1 and 2 jobs.
5. The figures of issue 13: an ML loss in process, flattened diamonds and deep ``--at`` by
   size (CPU time), every worked example on the CLI as a ratio of the floor.

The full run takes under ~10 minutes, ``--quick`` under ~2.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bench_backprop  # noqa: E402
import bench_cli  # noqa: E402
import bench_grade  # noqa: E402
import bench_issue13  # noqa: E402
import bench_scaling  # noqa: E402
from _common import markdown_table, seconds_text  # noqa: E402

SECTIONS = ("cli", "scaling", "point", "throughput", "issue13")


@dataclass(frozen=True)
class Config:
    """Sizes and repetitions of one run of the suite."""

    name: str
    repeat: int  # in-process medians
    cli_repeat: int  # interleaved CLI runs of each command
    textbook_limit: int | None  # textbook problems timed on the CLI (None: every one)
    diamonds: tuple[int, ...]
    depths: tuple[int, ...]
    diff_limit: float  # seconds for sympy.diff of a flattened expression (subprocess)
    raised_limit: float  # seconds for solve_problem past the recursion limit (subprocess)
    point_diamonds: int
    point_chain: int
    point_budget: float  # seconds for in-process flattened sympy.diff at a point
    grade_rows: int
    grade_jobs: tuple[int, ...]
    verify_passes: int
    issue_diamonds: tuple[int, ...]  # flattened diamond chains (issue 13)
    issue_depths: tuple[int, ...]  # deep compositions with and without --at (issue 13)
    issue_examples: int | None  # worked examples timed on the CLI (None: every one)
    issue_limit: float  # CPU seconds past which a larger size is skipped


FULL = Config(
    "full", 3, 7, None, (10, 20, 40, 80), (50, 100, 200, 500, 1000), 10.0, 30.0,
    80, 2000, 10.0, 3000, (1, 2), 5, (5, 8, 10), (25, 50, 100, 200), None, 30.0,
)  # fmt: skip
QUICK = Config(
    "quick", 1, 3, 3, (10, 20), (50, 100), 10.0, 10.0, 20, 500, 2.0, 45, (1, 2), 1,
    (3, 5), (25, 50), 4, 5.0,
)  # fmt: skip
#: For the smoke test: every function runs, on the tiniest sizes, in seconds.
TINY = Config(
    "tiny", 1, 1, 1, (1, 2), (3, 6), 5.0, 5.0, 2, 20, 1.0, 4, (1,), 1, (1, 2), (3, 6), 1, 5.0,
)  # fmt: skip


def _burn(count: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(count):
        total += i * i
    return time.perf_counter() - start


def parallel_speedup(count: int = 2_000_000) -> float:
    """Throughput of two processes burning pure Python against one: ~2 on two real cores."""
    import multiprocessing

    alone = _burn(count)
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(2) as pool:
        start = time.perf_counter()
        pool.map(_burn, [count, count])
        together = time.perf_counter() - start
    return 2 * alone / together


def machine_header(config: Config) -> str:
    """Where and when the figures were taken."""
    import sympy

    import chainsolve

    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# chainsolve benchmarks ({config.name})",
        "",
        f"- date: {now}; chainsolve {chainsolve.__version__}"
        + (f" at {commit} (plus uncommitted changes, if any)" if commit else ""),
        f"- machine: {platform.platform()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or 'processor unknown'}); two processes "
        f"run pure Python {parallel_speedup():.2f}× as fast as one (2.0 = two real cores)",
        f"- Python {platform.python_version()} ({sys.executable}), sympy {sympy.__version__}",
        f"- in-process figures are medians of {config.repeat} run(s); CLI figures medians of "
        f"{config.cli_repeat} interleaved run(s)",
    ]
    return "\n".join(lines)


def cli_section(config: Config, log: Callable[[str], None]) -> str:
    log("CLI latency …")
    bytecode = bench_cli.compile_bytecode()
    headline, book = bench_cli.latency(config.cli_repeat, config.textbook_limit)
    command = " ".join(bench_cli.chainsolve_command())
    parts = [
        "## 1. CLI latency vs the import floor",
        "",
        f'Command: `{command}`; floor: `{sys.executable} -c "import sympy"`. Runs alternate '
        "round-robin with the floor; the textbook set has its own interleaved floor; "
        f"{bytecode}.",
        "",
        bench_cli.latency_table(headline),
        "",
        bench_cli.latency_table(book),
        "",
        bench_cli.latency_summary(book),
        "",
        "### Where the time goes: stages of one solve in a fresh interpreter",
        "",
        bench_cli.stages_table(
            [(bench_cli.HEADLINE, None), *bench_cli.representatives()][
                : (config.textbook_limit or 99) + 1
            ],
            config.repeat,
        ),
        "",
        "### Import costs: `python -X importtime -m chainsolve --version`",
        "",
        bench_cli.import_report(bench_cli.import_costs()),
    ]
    return "\n".join(parts)


def scaling_section(config: Config, log: Callable[[str], None]) -> str:
    parts = [
        "## 2. Graph scaling of `solve_problem`",
        "",
        "Median of cold runs (sympy's cache cleared before each, as in a fresh CLI process); "
        "peak memory is `tracemalloc`'s peak during one more run; `render` is the text and "
        "JSON renderings together; `sympy.diff (flattened)` runs in a fresh interpreter "
        f"under {config.diff_limit:g} s. A size past one that timed out is skipped.",
    ]
    families = (
        (
            "diamonds",
            config.diamonds,
            "Chain of diamonds, target first: `a_k = sin(b_k) + cos(c_k); b_k = a_{k-1}^2; "
            "c_k = 2*a_{k-1}`, `a_0 = x` (3k + 1 nodes, 4k edges, 2^k paths).",
        ),
        (
            "deep",
            config.depths,
            "Deep composition `y = sin(sin(…sin(x)…))`, one definition built with sympy "
            "(the parser stops at nesting 100); nodes = operations of the tree, edges = "
            "depth. A `RecursionError` at Python's default limit is re-run in a subprocess "
            f"with the limit and the C stack raised (`raised limit`, under {config.raised_limit:g} s).",
        ),
    )
    for family, sizes, description in families:
        log(f"scaling: {family} {sizes} …")
        bench_scaling.warm_up(family)
        rows = bench_scaling.measure_family(
            family,
            sizes,
            config.repeat,
            config.diff_limit,
            config.raised_limit,
            progress=log,
        )
        parts += ["", f"### {family}", "", description, "", bench_scaling.family_table(rows)]
    return "\n".join(parts)


def point_section(config: Config, log: Callable[[str], None]) -> str:
    log("at a point …")
    graphs = [
        (f"{config.point_diamonds} diamonds", bench_backprop.diamonds(config.point_diamonds)),
        (f"chain of {config.point_chain}", bench_backprop.chain(config.point_chain)),
    ]
    # Warm up the evaluation code paths once (lazy imports, caches) before measuring.
    bench_backprop.measure("warm-up", bench_backprop.point_problem(bench_backprop.chain(3)), 1, 0)
    rows = []
    for label, definitions in graphs:
        problem = bench_backprop.point_problem(definitions)
        result = bench_backprop.measure(label, problem, config.repeat, config.point_budget)
        log(f"  {label}: {seconds_text(result.backprop)}")
        rows.append(
            [
                label,
                result.nodes,
                result.edges,
                result.paths_text,
                result.multiply_adds,
                seconds_text(result.backprop),
                seconds_text(result.backprop / result.edges),
                seconds_text(result.finite_difference),
                f"{result.backprop / result.finite_difference:.1f}×",
                seconds_text(result.symbolic)
                if result.symbolic is not None
                else f"> {result.budget:g} s",
                "yes" if result.verified else "NO",
            ]
        )
    table = markdown_table(
        [
            "graph",
            "nodes",
            "edges",
            "paths",
            "mul-adds",
            "evaluate_at",
            "per edge",
            "central diff.",
            "ratio",
            "flattened sympy.diff",
            "verified",
        ],
        rows,
    )
    return "\n".join(
        [
            "## 3. Gradient at a point (x_0 = 0.4, `numeric=True`)",
            "",
            "`evaluate_at` = forward pass, backward pass and its checks (reference and "
            "finite difference); `central diff.` = one central difference (two forward "
            "passes), the cheapest independent estimate; `flattened sympy.diff` = "
            "differentiate the substituted expression and evaluate it, in process under "
            f"{config.point_budget:g} s. Graphs from `bench_backprop.py`.",
            "",
            table,
        ]
    )


def throughput_section(config: Config, log: Callable[[str], None]) -> str:
    log("verify and grade throughput …")
    verify = bench_grade.verify_throughput(config.verify_passes)
    grades = bench_grade.grade_throughput(config.grade_rows, config.grade_jobs, config.repeat)
    verify_table = markdown_table(
        ["answers", "cold pass", "warm passes (median)", "passes"],
        [
            [
                verify.answers,
                f"{verify.cold_per_second:.1f}/s",
                f"{verify.warm_per_second:.1f}/s",
                verify.passes,
            ]
        ],
    )
    grade_table = markdown_table(
        ["jobs", "submissions", "seconds", "per second", "CPU per row", "runs"],
        [
            [
                g.jobs,
                g.rows,
                f"{g.seconds:.2f}",
                f"{g.per_second:.1f}/s",
                f"{1000 * g.cpu_per_row:.2f} ms",
                g.runs,
            ]
            for g in grades
        ],
    )
    return "\n".join(
        [
            "## 4. verify and grade throughput",
            "",
            f"`verify_answer` on the {verify.answers} answer rows of `bench_grade.MIX` "
            "(problems parsed beforehand, timeout 10 s); the cold pass starts on an empty "
            "sympy cache, warm passes repeat the same answers (cache hits).",
            "",
            verify_table,
            "",
            f"`grade_file` on the first {config.grade_rows} submissions of "
            f"`bench_grade.class_rows` ({len(bench_grade.CLASS)} problems per student: right "
            "answers in several forms, named mistakes, derivations, unreadable rows), "
            "CSV report, in a fresh interpreter each run (worker start-up included); CPU "
            "counts the parent and its workers. The order of job counts alternates per run.",
            "",
            grade_table,
        ]
    )


def issue13_section(config: Config, log: Callable[[str], None]) -> str:
    log("issue 13 figures …")
    return bench_issue13.report(
        config.repeat,
        config.cli_repeat,
        config.issue_diamonds,
        config.issue_depths,
        config.issue_examples,
        config.issue_limit,
    )


RUNNERS: dict[str, Callable[[Config, Callable[[str], None]], str]] = {
    "cli": cli_section,
    "scaling": scaling_section,
    "point": point_section,
    "throughput": throughput_section,
    "issue13": issue13_section,
}


def run_suite(
    config: Config,
    sections: Sequence[str] = SECTIONS,
    log: Callable[[str], None] | None = None,
) -> str:
    """Run the chosen sections and return the Markdown report."""
    say = log or (lambda message: None)
    start = time.perf_counter()
    parts = [machine_header(config)]
    timings = []
    for name in sections:
        began = time.perf_counter()
        try:
            parts.append(RUNNERS[name](config, say))
        except Exception as error:  # one broken section must not hide the others
            say(f"section {name} failed: {error!r}")
            parts.append(f"## {name}\n\n**The section failed**: `{error!r}`")
        timings.append(f"{name} {seconds_text(time.perf_counter() - began)}")
    parts.append(
        f"Suite took {seconds_text(time.perf_counter() - start)} ({', '.join(timings)}). "
        f"Reproduce: `python benchmarks/run.py{' --quick' if config.name == 'quick' else ''}`."
    )
    return "\n\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs and sizes (~2 min)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # smoke test
    parser.add_argument("--repeat", type=int, help="runs per in-process median (CLI: max(7, N))")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "latest.md", help="report file"
    )
    args = parser.parse_args(argv)
    config = TINY if args.tiny else QUICK if args.quick else FULL
    if args.repeat:
        config = dataclasses.replace(
            config,
            repeat=args.repeat,
            cli_repeat=args.repeat if config is not FULL else max(7, args.repeat),
        )
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    report = run_suite(config, sections, log=lambda m: print(m, file=sys.stderr, flush=True))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(report)
    print(f"(written to {args.output})", file=sys.stderr)


if __name__ == "__main__":
    main()
