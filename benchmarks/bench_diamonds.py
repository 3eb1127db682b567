"""A chain of k diamonds written as one flattened expression: solve CPU time by k (issue 13).

Run: ``python benchmarks/bench_diamonds.py [--repeat N] [--limit S] [--source DIR]``. Each k
is solved in a fresh interpreter (no cache carried over), ``repeat`` times; the figure is the
median CPU time (``time.process_time``) of ``solve_parsed``, parsing excluded. ``--source``
runs the chainsolve package found in another checkout (``--source /work/main``: the figures
before a change). A size whose first run takes longer than ``--limit`` CPU seconds (or whose
process exceeds 10× that) is not repeated; sizes after it are skipped.

u₀ = x, uᵢ = sin(uᵢ₋₁²) + cos(2uᵢ₋₁): each layer uses the one below twice, so the expression
has 2ᵏ leaves written out and about 6k parts as the DAG it is in memory.

Measured 2026-12-02 on the project's two shared cores (medians of 3, CPU seconds; "before"
is main at 8decf05 with ``--source /work/main --limit 10``, "after" the branch ``linear``):

| k  | steps | before | after |
|----|-------|--------|-------|
| 5  | 107   | 0.43   | 0.40  |
| 8  | 176   | 1.57   | 0.50  |
| 10 | 222   | 10.25  | 0.70  |
| 15 | 337   | skipped (k = 10 took > 10 s) | 0.71 |
| 20 | 452   | skipped | 1.53 |

Fitted log-log exponent against k: before 4.3 (exponential: about ×2 per diamond), after 0.9.

Session 6 (``--source`` main at 4af17d6 against the branch ``perfcore``, one run each,
interleaved, medians of 3 but k = 20 (one); the machine was loaded about 2×): k = 5 / 8 /
10 / 15 / 20 took 0.78 / 1.35 / 1.86 / 7.08 / 138 s before and 0.55 / 0.82 / 0.73 / 1.57 /
2.36 s after (exponent 3.5 → 1.1). The regression came with the Lagrange letters: each part
a rule named was rebuilt with its argument replaced (``xreplace``), which made sympy
evaluate every deep part again; parts are now numbered by shape (``dag.Shapes``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import loglog_slope, markdown_table, slope_text

HERE = Path(__file__).resolve().parent
SIZES = (5, 8, 10, 15, 20)


def flattened_diamonds(count: int) -> object:
    """The problem y = u_count, each uᵢ = sin(uᵢ₋₁²) + cos(2uᵢ₋₁) substituted, u₀ = x."""
    import sympy

    from chainsolve.problem import Definition, build_problem, make_symbol

    expr: sympy.Expr = make_symbol("x")
    for _ in range(count):
        expr = sympy.sin(expr**2) + sympy.cos(2 * expr)
    return build_problem([Definition("y", expr)], source="")


def _child(count: int, repeat: int, limit: float) -> None:
    """In a fresh interpreter: the median CPU seconds and the steps of solving ``count`` diamonds."""
    from sympy.core.cache import clear_cache

    import chainsolve
    from chainsolve.api import load_problem, solve_parsed

    solve_parsed(load_problem("sin(x^2)"))  # first-call costs (lazy imports) stay out
    problem = flattened_diamonds(count)
    times: list[float] = []
    steps = 0
    for _ in range(repeat):
        clear_cache()
        start = time.process_time()
        solution = solve_parsed(problem, timeout=None)  # type: ignore[arg-type]
        times.append(time.process_time() - start)
        steps = len(solution.steps)
        if times[0] > limit:
            break
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "steps": steps,
                "package": str(Path(chainsolve.__file__).parent),
            }
        )
    )


def measure(count: int, repeat: int, limit: float, source: str | None) -> dict[str, object] | None:
    """The child's figures for one size, or None when its process ran past 10× ``limit``."""
    env = dict(os.environ)
    if source:
        env["PYTHONPATH"] = source + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, str(HERE / "bench_diamonds.py"), "--child", str(count)]
    command += ["--repeat", str(repeat), "--limit", str(limit)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=10 * limit, check=True, env=env
        )
    except subprocess.TimeoutExpired:
        return None
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(repeat: int, limit: float, source: str | None) -> str:
    """The Markdown table of every size, and the fitted exponent."""
    rows: list[list[object]] = []
    sizes: list[int] = []
    seconds: list[float | None] = []
    package = ""
    for count in SIZES:
        if seconds and (seconds[-1] is None or seconds[-1] > limit):
            rows.append([count, "–", "skipped"])
            continue
        figures = measure(count, repeat, limit, source)
        value = None if figures is None else float(figures["seconds"])  # type: ignore[arg-type]
        sizes.append(count)
        seconds.append(value)
        if figures is not None:
            package = str(figures["package"])
        shown = f"> {10 * limit:g}" if value is None else f"{value:.2f}"
        rows.append([count, "–" if figures is None else figures["steps"], shown])
    table = markdown_table(["k", "steps", "solve (CPU s, median)"], rows)
    fit = slope_text(loglog_slope(sizes, seconds))
    return f"chainsolve from {package}\n\n{table}\n\nFitted log-log exponent against k: {fit}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=float, default=20.0)
    parser.add_argument("--source", help="a checkout whose chainsolve package is measured")
    parser.add_argument("--child", type=int, metavar="K")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.repeat, args.limit)
        return
    print(report(args.repeat, args.limit, args.source))


if __name__ == "__main__":
    main()
