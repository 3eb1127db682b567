"""The figures issue 13 asks for: an ML loss in process, diamonds and deep ``--at`` by size, the examples on the CLI.

Run: ``python benchmarks/bench_issue13.py [--repeat N]``. In-process figures are CPU time
(``time.process_time``), medians of cold runs (sympy's cache cleared before each, as in a
fresh CLI process), so that other processes on the machine do not count. The CLI figures are
CPU-time medians of each process, every run paired with a run of the ``python -c "import
sympy"`` floor just before it.

Targets: the ML loss at most 0.3 s of work; a chain of k diamonds, written as one flattened
expression, linear in k (fitted log-log exponent near 1); ``--at`` on a deep composition
linear in its depth; every worked example of ``examples/single`` and
``examples/multivariable`` at most 1.2× the floor.

``--against REV`` measures only the worked examples, each as it runs at git revision ``REV``
(exported to a temporary folder) and as it runs in this checkout, interleaved with the
floor: the before/after ratios of a change. Each row gives the median ratio the target is
judged by and the ratio of the fastest runs, which a busy machine moves less.

Also a subprocess entry point: ``--child at-depth DEPTH AT`` (a deep composition needs a
raised recursion limit past depth ~150).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bench_cli
from _common import loglog_slope, markdown_table, seconds_text, slope_text

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

#: The ML loss of issue 13 and its target in CPU seconds.
LOSS = "L = (sigmoid(w2*tanh(w1*x + b1) + b2) - y)^2"
LOSS_WRT = "w1,b1,w2,b2"
LOSS_TARGET = 0.3
#: The CLI target for the worked examples, as a multiple of the import floor.
EXAMPLE_TARGET = 1.2
#: The folders whose ``*.cmd`` files are the textbook problems of the test sets.
EXAMPLE_KINDS = ("single", "multivariable")
#: The three functions a deep composition cycles through.
DEEP_FUNCTIONS = ("sin", "cos", "exp")


def cpu_median(work: Callable[[], object], repeat: int) -> float:
    """The median CPU seconds of ``repeat`` cold calls of ``work`` (sympy's cache cleared first)."""
    from sympy.core.cache import clear_cache

    times = []
    for _ in range(max(1, repeat)):
        clear_cache()
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times)


def loss_seconds(repeat: int) -> float:
    """CPU seconds of ``solve_parsed`` on the ML loss (parsing excluded)."""
    from chainsolve.api import load_problem, solve_parsed

    problem = load_problem(LOSS, wrt=LOSS_WRT)
    solve_parsed(load_problem("sin(x^2)"))  # first-call costs (lazy imports) stay out
    return cpu_median(lambda: solve_parsed(problem, timeout=None), repeat)


@dataclass(frozen=True)
class SizeRow:
    """One size of a family: CPU seconds (None past the limit) and the number of steps."""

    size: int
    seconds: float | None
    steps: int | None
    note: str = ""


def flattened_diamonds(count: int) -> object:
    """The chain of ``count`` diamonds substituted into one expression (2^count leaves as a tree)."""
    import bench_scaling

    from chainsolve.problem import Definition, build_problem

    expr, _ = bench_scaling.flattened("diamonds", count)
    return build_problem([Definition("y", expr)], source="")


def diamond_row(count: int, repeat: int, limit: float) -> SizeRow:
    """CPU seconds and steps of ``solve_parsed`` on one flattened diamond chain."""
    from chainsolve.api import solve_parsed

    problem = flattened_diamonds(count)
    solutions = []

    def solve() -> None:
        solutions.append(solve_parsed(problem, timeout=None))  # type: ignore[arg-type]

    first = cpu_median(solve, 1)
    # The first run tells whether more are affordable; the median is of all of them.
    more = [cpu_median(solve, 1) for _ in range(repeat - 1)] if first < limit else []
    return SizeRow(count, statistics.median([first, *more]), len(solutions[0].steps))


def diamond_rows(counts: Sequence[int], repeat: int, limit: float) -> list[SizeRow]:
    """Flattened diamond chains by size; sizes past one over ``limit`` are skipped."""
    rows: list[SizeRow] = []
    for count in sorted(counts):
        if rows and (rows[-1].seconds is None or rows[-1].seconds > limit):
            rows.append(SizeRow(count, None, None, f"skipped (the size before took > {limit:g} s)"))
            continue
        rows.append(diamond_row(count, repeat, limit))
    return rows


def deep_expression(depth: int) -> object:
    """sin, cos, exp nested ``depth`` deep around x, built unevaluated (past the parser's limit)."""
    import sympy

    from chainsolve.problem import make_symbol

    expr: sympy.Expr = make_symbol("x")
    for level in range(depth):
        function = getattr(sympy, DEEP_FUNCTIONS[level % len(DEEP_FUNCTIONS)])
        expr = function(expr, evaluate=False)
    return expr


def _child_at_depth(depth: int, at: bool, repeat: int) -> None:
    """In a fresh interpreter with a raised recursion limit: CPU seconds of one deep solve."""
    import resource

    import sympy

    from chainsolve.api import load_problem, solve_parsed
    from chainsolve.problem import Definition, build_problem

    resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    sys.setrecursionlimit(1_000_000)
    point = {"x": sympy.Rational(1, 3)} if at else None
    problem = build_problem([Definition("y", deep_expression(depth))], source="", point=point)  # type: ignore[arg-type]
    solve_parsed(load_problem("sin(x^2)", at="x=1" if at else None))
    seconds = cpu_median(lambda: solve_parsed(problem, timeout=None), repeat)
    print(json.dumps({"seconds": seconds}))


def at_depth_seconds(depth: int, at: bool, repeat: int, limit: float) -> float | None:
    """CPU seconds of a deep composition solved with or without ``--at`` (None past ``limit``)."""
    command = [sys.executable, str(HERE / "bench_issue13.py"), "--child", "at-depth"]
    command += [str(depth), "at" if at else "no-at", str(repeat)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=True)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError):
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def at_depth_table(depths: Sequence[int], repeat: int, limit: float) -> str:
    """Deep compositions with and without ``--at``: seconds, ratio, fitted exponents."""
    plain = [at_depth_seconds(d, False, repeat, limit) for d in depths]
    at = [at_depth_seconds(d, True, repeat, limit) for d in depths]
    body = [
        [
            depth,
            seconds_text(p),
            seconds_text(a) if a is not None else f"> {limit:g} s",
            f"{a / p:.1f}×" if a is not None and p else "–",
        ]
        for depth, p, a in zip(depths, plain, at, strict=True)
    ]
    table = markdown_table(["depth", "without --at", "with --at x=1/3", "ratio"], body)
    fits = (
        f"without {slope_text(loglog_slope(depths, plain))}, "
        f"with --at {slope_text(loglog_slope(depths, at))}"
    )
    return f"{table}\n\nFitted log-log exponent against depth (1 = linear): {fits}."


def example_commands(root: Path = REPO / "examples") -> list[tuple[str, list[str]]]:
    """(label, chainsolve arguments) of every line of the worked examples' ``*.cmd`` files."""
    commands = []
    for kind in EXAMPLE_KINDS:
        for path in sorted((root / kind).glob("*.cmd")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    commands.append((f"{kind}/{path.stem}: {line.strip()}", shlex.split(line)))
    return commands


def example_latency(repeat: int, limit: int | None = None) -> list[bench_cli.LatencyRow]:
    """Every worked example as a CLI subprocess, each run paired with a floor run, in CPU time.

    CPU seconds (user + system) of each process: on a machine shared with other work, wall
    time adds the waits of both the floor and the command and squeezes their ratio towards 1.
    Each command's ratio is against the floor runs made just before its own runs.
    """
    bench_cli.compile_bytecode()
    chosen = example_commands()[:limit] if limit is not None else example_commands()
    runs = [
        (label, [*bench_cli.chainsolve_command(), *args], EXAMPLE_TARGET) for label, args in chosen
    ]
    return bench_cli.interleaved(runs, repeat, bench_cli.run_cpu, paired=True)


def export_revision(revision: str, folder: Path) -> Path:
    """The tree of git ``revision`` written into ``folder`` (``git archive``, no checkout)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True
    )
    path = folder / "archive.tar"
    path.write_bytes(archive.stdout)
    with tarfile.open(path) as tar:
        tar.extractall(folder / "tree", filter="data")
    # Compiled once here, as bench_cli compiles this checkout: no run pays for bytecode.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder / "tree")], check=True)
    return folder / "tree"


def before_after(
    revision: str, repeat: int, limit: int | None = None
) -> list[bench_cli.LatencyRow]:
    """Every worked example at ``revision`` and in this checkout, interleaved with the floor.

    Both run as ``python -P -m chainsolve`` with their tree on ``PYTHONPATH`` (``-P``: not
    the current folder first, which may be this checkout); CPU time, each run paired with a
    floor run just before it.
    """
    chosen = example_commands()[:limit] if limit is not None else example_commands()
    bench_cli.compile_bytecode()  # as the exported tree is compiled: neither side compiles
    with tempfile.TemporaryDirectory() as scratch:
        base = export_revision(revision, Path(scratch))
        runs = []
        for label, args in chosen:
            for name, tree in ((revision, base), ("now", REPO)):
                python = [sys.executable, "-P", "-m", "chainsolve"]
                command = ["env", f"PYTHONPATH={tree}", *python, *args]
                runs.append((f"{name} {label}", command, EXAMPLE_TARGET))
        # Paired: a floor run just before each command's run, so that a slow or fast spell of
        # the machine weighs on both sides of that command's ratio.
        return bench_cli.interleaved(runs, repeat, bench_cli.run_cpu, paired=True)


def before_after_summary(revision: str, rows: Sequence[bench_cli.LatencyRow]) -> str:
    """Each tree's summary line, and in how many examples this checkout was the faster."""
    before = [r for r in rows if r.label.startswith(f"{revision} ")]
    after = [r for r in rows if r.label.startswith("now ")]
    pairs = list(zip(before, after, strict=True))
    by_median = sum(a.seconds < b.seconds for b, a in pairs)
    by_fastest = sum(a.fastest < b.fastest for b, a in pairs)
    return "\n".join(
        [
            f"{revision}: {bench_cli.latency_summary(before)}",
            f"now: {bench_cli.latency_summary(after)}",
            f"now faster in {by_median} of {len(pairs)} by median, {by_fastest} by fastest run.",
        ]
    )


def report(
    repeat: int,
    cli_repeat: int,
    diamonds: Sequence[int],
    depths: Sequence[int],
    examples: int | None,
    limit: float,
) -> str:
    """The Markdown section of the issue-13 figures."""
    loss = loss_seconds(repeat)
    rows = diamond_rows(diamonds, repeat, limit)
    counts = [r.size for r in rows]
    diamond_table = markdown_table(
        ["k", "steps", "solve (CPU)", "note"],
        [
            [r.size, "–" if r.steps is None else r.steps, seconds_text(r.seconds), r.note]
            for r in rows
        ],
    )
    diamond_fit = slope_text(loglog_slope(counts, [r.seconds for r in rows]))
    latency = example_latency(cli_repeat, examples)
    return "\n".join(
        [
            "## 5. Issue 13 figures",
            "",
            f"`{LOSS} --wrt {LOSS_WRT}`: {seconds_text(loss)} of CPU time in process "
            f"(target ≤ {LOSS_TARGET:g} s: {'met' if loss <= LOSS_TARGET else '**not met**'}).",
            "",
            "### Chain of k diamonds written as one flattened expression",
            "",
            diamond_table,
            "",
            f"Fitted log-log exponent against k (1 = linear): {diamond_fit}.",
            "",
            "### `--at` on a deep composition (sin, cos, exp cycled; CPU time)",
            "",
            at_depth_table(depths, repeat, 10 * limit),
            "",
            "### Worked examples end to end on the CLI (CPU time of each process)",
            "",
            "Each ratio is against the median of the floor runs made just before that command's"
            " own runs (the floor row shows the median of all rounds).",
            "",
            bench_cli.latency_table(latency),
            "",
            bench_cli.latency_summary(latency),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, metavar=("KIND", "DEPTH", "AT", "REPEAT"))
    parser.add_argument("--against", metavar="REV", help="before/after of the examples only")
    args = parser.parse_args()
    if args.against:
        rows = before_after(args.against, max(5, args.repeat))
        print(bench_cli.latency_table(rows))
        print()
        print(before_after_summary(args.against, rows))
        return
    if args.child:
        _, depth, at, repeat = args.child
        _child_at_depth(int(depth), at == "at", int(repeat))
        return
    print(report(args.repeat, max(7, args.repeat), (5, 8, 10), (25, 50, 100, 200), None, 30.0))


if __name__ == "__main__":
    main()
