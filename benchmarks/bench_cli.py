"""Command-line latency against the import floor (``python -c "import sympy"``), and import costs.

Run: ``python benchmarks/bench_cli.py [--repeat N] [--raw FILE]``. Runs alternate between the
floor and the commands (round-robin), each command's run just after a floor run of its own, so
that drifts of the machine affect both alike; each figure is a median of CPU seconds. The
ratio is the command's median over its floors' median (the target's measure); the paired
ratio, the median of each run's ratio to the floor run just before it, is shown beside it. Target
(issue 13): ``solve "sin(x^2)"`` and each textbook problem of the test sets within 1.2× the
floor. ``importtime`` lists the largest cumulative import costs of ``--version``.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from _common import markdown_table, seconds_text

REPO = Path(__file__).resolve().parent.parent
#: The CLI's own headline problem.
HEADLINE = "sin(x^2)"
HEADLINE_TARGET = 1.2
TEXTBOOK_TARGET = 1.2
#: Representative problems of tests/test_derivation.py (chains, quotients, x^x, activations, graphs).
SINGLE_CHOICE = (
    "(3x^2 + 1)^5",
    "e^(sin(x))",
    "sin(cos(tan(x)))",
    "(2x + 1)^3/(x - 1)^2",
    "x^x",
)
MULTI_CHOICE = (
    "z = x^2*y; x = cos(t); y = exp(t)",
    "L = (w*x + b - y)^2",
    "w = x^2 + y^2 + z^2; x = r*cos(t); y = r*sin(t); z = r",
    "L = 1/2*(z - y)^2; z = W2*h + b2; h = sigmoid(a); a = W1*x + b1",
)


def chainsolve_command() -> list[str]:
    """The ``chainsolve`` console script next to this interpreter, else ``python -m chainsolve``."""
    script = Path(sys.executable).parent / "chainsolve"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "chainsolve"]


def compile_bytecode() -> str:
    """Compile chainsolve's bytecode where it is missing, as ``pip install`` does; says what it did.

    sympy's floor is measured with its ``.pyc`` files. An editable install run with
    ``PYTHONDONTWRITEBYTECODE=1`` never writes chainsolve's, and would pay ~40 ms of compiling
    on every run: that is the checkout's state, not the tool's speed.
    """
    spec = importlib.util.find_spec("chainsolve")
    if spec is None or spec.origin is None:
        return "chainsolve is not importable by this interpreter"
    package = Path(spec.origin).parent
    compileall.compile_dir(str(package), quiet=1)
    return f"bytecode of `{package}` compiled where missing (as `pip install` does)"


def floor_command() -> list[str]:
    return [sys.executable, "-c", "import sympy"]


def _load_test_derivation() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_bench_test_derivation", REPO / "tests" / "test_derivation.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def textbook_problems(limit: int | None = None) -> list[tuple[str, str | None]]:
    """(problem, wrt) pairs of the test sets: every one if ``limit`` is None, else representatives.

    Every problem of SINGLE_VARIABLE and MULTIVARIABLE in tests/test_derivation.py (the target
    is stated for each of them); with a ``limit``, that many of the representatives chosen above.
    """
    tests = _load_test_derivation()
    single: list[str] = list(tests.SINGLE_VARIABLE)
    multi: list[tuple[str, str]] = list(tests.MULTIVARIABLE)
    if limit is None:
        return [(p, None) for p in single] + [(p, w) for p, w in multi]
    chosen: list[tuple[str, str | None]] = [(p, None) for p in SINGLE_CHOICE if p in single]
    wrt_of = dict(multi)
    chosen += [(p, wrt_of[p]) for p in MULTI_CHOICE if p in wrt_of]
    if len(chosen) < 4:  # the lists changed: fall back to evenly spaced entries
        chosen = [(p, None) for p in single[:: max(1, len(single) // 5)][:5]]
        chosen += [(p, w) for p, w in multi[:: max(1, len(multi) // 4)][:4]]
    return chosen[:limit]


def representatives() -> list[tuple[str, str | None]]:
    """The chosen representatives of the textbook set (for per-stage timings)."""
    return textbook_problems(len(SINGLE_CHOICE) + len(MULTI_CHOICE))


def solve_command(problem: str, wrt: str | None) -> list[str]:
    command = [*chainsolve_command(), "solve", problem]
    return [*command, "--wrt", wrt] if wrt else command


def _run(command: Sequence[str]) -> float:
    """Wall seconds of one run of ``command``."""
    return _run_both(command)[0]


def run_cpu(command: Sequence[str]) -> float:
    """CPU seconds (user + system) of one run of ``command``: what other processes do not inflate."""
    return _run_both(command)[1]


def _run_both(command: Sequence[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ``verify`` of a wrong answer exits 1 by design; 2 and above are errors.
    wrong_answer = done.returncode == 1 and "verify" in command
    if done.returncode != 0 and not wrong_answer:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return seconds, cpu


@dataclass(frozen=True)
class LatencyRow:
    label: str
    seconds: float
    floor: float
    target: float
    runs: int
    #: The fastest run and the fastest of its floor runs: on a shared machine other work only
    #: ever adds CPU time (cache and core contention), so their ratio moves less between runs.
    fastest: float = 0.0
    fastest_floor: float = 0.0
    #: Each round's (floor, command) CPU seconds, the floor run just before the command's.
    pairs: tuple[tuple[float, float], ...] = ()

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor

    @property
    def paired_ratio(self) -> float:
        """The median over rounds of each run's ratio to the floor run just before it."""
        if not self.pairs:
            return float("nan")
        return statistics.median(command / floor for floor, command in self.pairs)

    @property
    def fastest_ratio(self) -> float:
        return self.fastest / self.fastest_floor if self.fastest_floor else float("nan")

    @property
    def meets(self) -> bool:
        return self.ratio <= self.target


def interleaved(
    commands: Sequence[tuple[str, list[str], float]],
    repeat: int,
    measure: Callable[[Sequence[str]], float] = _run,
    *,
    paired: bool = False,
) -> list[LatencyRow]:
    """Round-robin runs: the floor, then each command, ``repeat`` rounds; medians and ratios.

    ``measure`` gives the seconds of one run: wall clock by default, or ``run_cpu``. With
    ``paired``, the floor runs again just before every command and each command is compared
    with the median of its own floors: a slow spell of the machine then weighs on both sides
    of its ratio, not on one command's runs only.
    """
    _run(floor_command())  # warm the file cache once, unmeasured
    floor: list[float] = []
    own_floor: list[list[float]] = [[] for _ in commands]
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(max(1, repeat)):
        floor.append(measure(floor_command()))
        for i, (_, command, _) in enumerate(commands):
            if paired:
                own_floor[i].append(measure(floor_command()))
            times[i].append(measure(command))
    base = statistics.median(floor)
    rows = [
        LatencyRow(
            'floor: python -c "import sympy"', base, base, 1.0, len(floor), min(floor), min(floor)
        )
    ]
    for i, ((label, _, target), measured) in enumerate(zip(commands, times, strict=True)):
        floors = own_floor[i] if paired else floor
        rows.append(
            LatencyRow(
                label,
                statistics.median(measured),
                statistics.median(floors),
                target,
                len(measured),
                min(measured),
                min(floors),
                tuple(zip(floors, measured, strict=True)) if paired else (),
            )
        )
    return rows


def latency(
    repeat: int, textbook_limit: int | None = None
) -> tuple[list[LatencyRow], list[LatencyRow]]:
    """The headline command against its own interleaved floor, then the textbook set against another.

    CPU seconds (user + system) of each process, each run paired with a floor run just before
    it: wall time adds the waits of a busy machine, and one floor per round leaves a slow
    spell during one command's runs on that command alone.
    """
    compile_bytecode()
    headline = interleaved(
        [(f'solve "{HEADLINE}"', solve_command(HEADLINE, None), HEADLINE_TARGET)],
        repeat,
        run_cpu,
        paired=True,
    )
    book = [
        (f'solve "{p}"' + (f" --wrt {w}" if w else ""), solve_command(p, w), TEXTBOOK_TARGET)
        for p, w in textbook_problems(textbook_limit)
    ]
    return headline, interleaved(book, repeat, run_cpu, paired=True) if book else []


def latency_summary(rows: Sequence[LatencyRow]) -> str:
    """One line: how many commands meet their target, the median and the worst ratio."""
    measured = [r for r in rows if r.target != 1.0]
    if not measured:
        return ""
    worst = max(measured, key=lambda r: r.ratio)
    median = statistics.median(r.ratio for r in measured)
    meeting = sum(r.meets for r in measured)
    fastest = [r.fastest_ratio for r in measured]
    within = sum(ratio <= r.target for ratio, r in zip(fastest, measured, strict=True))
    text = (
        f"{meeting} of {len(measured)} meet their target; median ratio {median:.2f}×, "
        f"worst {worst.ratio:.2f}× ({worst.label}). Fastest runs: {within} of "
        f"{len(measured)} within their target, median {statistics.median(fastest):.2f}×, "
        f"worst {max(fastest):.2f}×."
    )
    if all(r.pairs for r in measured):
        paired = [r.paired_ratio for r in measured]
        within_paired = sum(ratio <= r.target for ratio, r in zip(paired, measured, strict=True))
        text += (
            f" Paired ratios: {within_paired} of {len(measured)} within their target, median "
            f"{statistics.median(paired):.2f}×, worst {max(paired):.2f}×."
        )
    return text


def latency_table(rows: Sequence[LatencyRow]) -> str:
    body = [
        [
            f"`{r.label}`",
            seconds_text(r.seconds),
            f"{r.ratio:.2f}×",
            f"{r.fastest_ratio:.2f}×",
            f"{r.paired_ratio:.2f}×" if r.pairs else "–",
            "–" if r.target == 1.0 else f"≤ {r.target:g}×",
            "–" if r.target == 1.0 else ("yes" if r.meets else "**NO**"),
            r.runs,
        ]
        for r in rows
    ]
    columns = [
        "command",
        "median",
        "ratio",
        "fastest ratio",
        "paired ratio",
        "target",
        "meets",
        "runs",
    ]
    return markdown_table(columns, body)


@dataclass(frozen=True)
class ImportCost:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def import_costs() -> list[ImportCost]:
    """``python -X importtime -m chainsolve --version``, parsed (one entry per module)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chainsolve", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    costs = []
    for line in done.stderr.splitlines():
        match = pattern.match(line)
        if match:
            own, total, indent, name = match.groups()
            costs.append(ImportCost(name, int(own), int(total), (len(indent) - 1) // 2))
    return costs


def import_report(costs: Sequence[ImportCost], top: int = 10) -> str:
    """Top ``top`` modules by cumulative import time, and the top-level packages' totals."""
    total = sum(c.self_us for c in costs)
    ranked = sorted(costs, key=lambda c: c.cumulative_us, reverse=True)[:top]
    table = markdown_table(
        ["module", "cumulative", "self", "depth"],
        [
            [
                f"`{c.module}`",
                seconds_text(c.cumulative_us / 1e6),
                seconds_text(c.self_us / 1e6),
                c.depth,
            ]
            for c in ranked
        ],
    )
    packages: dict[str, int] = {}
    for c in costs:
        root = c.module.split(".")[0]
        packages[root] = packages.get(root, 0) + c.self_us
    heavy = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:8]
    by_package = ", ".join(f"{name} {seconds_text(us / 1e6)}" for name, us in heavy)
    return (
        f"{len(costs)} modules imported, {seconds_text(total / 1e6)} in total.\n\n{table}\n\n"
        f"Self time summed per top-level package: {by_package}."
    )


def _stages_child(problem: str, wrt: str | None) -> None:
    """In a fresh interpreter: seconds of each stage of ``chainsolve solve``, printed as JSON."""
    marks = [("start", time.perf_counter())]
    import sympy  # noqa: F401

    marks.append(("import sympy", time.perf_counter()))
    from chainsolve.api import load_problem, solve_parsed
    from chainsolve.render import render_solution

    marks.append(("import chainsolve", time.perf_counter()))
    parsed = load_problem(problem, wrt=wrt)
    marks.append(("parse", time.perf_counter()))
    solution = solve_parsed(parsed)
    marks.append(("solve", time.perf_counter()))
    render_solution(solution, "text")
    marks.append(("render", time.perf_counter()))
    print(
        json.dumps({name: marks[i + 1][1] - marks[i][1] for i, (name, _) in enumerate(marks[1:])})
    )


STAGES = ("import sympy", "import chainsolve", "parse", "solve", "render")


def stage_times(problem: str, wrt: str | None, repeat: int = 1) -> dict[str, float]:
    """Median seconds of each stage of one solve in fresh interpreters (cold caches)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stages", problem]
    if wrt:
        command.append(wrt)
    runs = []
    for _ in range(max(1, repeat)):
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(run[name] for run in runs) for name in STAGES}


def stages_table(problems: Sequence[tuple[str, str | None]], repeat: int = 1) -> str:
    """Where the time of each CLI solve goes, stage by stage, in fresh interpreters."""
    body = []
    for problem, wrt in problems:
        times = stage_times(problem, wrt, repeat)
        label = f"`{problem}`" + (f" --wrt {wrt}" if wrt else "")
        body.append([label, *(seconds_text(times[name]) for name in STAGES)])
    return markdown_table(["problem", *STAGES], body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # 11 rounds: the README's figures; with fewer, one run's medians spread more.
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument(
        "--raw", type=Path, metavar="FILE", help="write every run's CPU seconds here (JSON)"
    )
    parser.add_argument("--stages", nargs="+", metavar="PROBLEM [WRT]", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages:
        _stages_child(args.stages[0], args.stages[1] if len(args.stages) > 1 else None)
        return
    headline, book = latency(args.repeat)
    print(latency_table(headline), end="\n\n")
    print(latency_table(book), end="\n\n")
    print(latency_summary(book), end="\n\n")
    if args.raw:
        runs = {r.label: [list(pair) for pair in r.pairs] for r in [*headline, *book] if r.pairs}
        args.raw.write_text(json.dumps(runs, indent=1))
    print(import_report(import_costs()))


if __name__ == "__main__":
    main()
