"""Graph scaling of the derivation: chains of diamonds and deep compositions, next to sympy.diff.

Run: ``python benchmarks/bench_scaling.py [--repeat N]``. For each size: ``solve_problem``
time (median, sympy's cache cleared before each run, as in a fresh CLI process), peak
memory (``tracemalloc``), the length of the text and JSON renderings, and ``sympy.diff`` of
the flattened expression in a subprocess under a time limit. Time per edge should stay
roughly constant; the fitted log-log exponent should be close to 1.

Also a subprocess entry point: ``--child sympy-diff|solve-raised FAMILY SIZE``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sympy
from _common import (
    bytes_text,
    loglog_slope,
    markdown_table,
    median_seconds,
    peak_memory,
    seconds_text,
    slope_text,
)
from sympy.core.cache import clear_cache

from chainsolve.derivation import solve_problem
from chainsolve.problem import Definition, Problem, build_problem, make_symbol

HERE = Path(__file__).resolve().parent


def diamond_chain(count: int) -> list[Definition]:
    """a_k = sin(b_k) + cos(c_k); b_k = a_{k−1}²; c_k = 2·a_{k−1}, target first; a_0 is x.

    ``count`` diamonds: 3·count + 1 nodes, 4·count edges, 2^count paths.
    """
    definitions = []
    for i in range(count, 0, -1):
        previous = make_symbol(f"a_{i - 1}") if i > 1 else make_symbol("x")
        b, c = make_symbol(f"b_{i}"), make_symbol(f"c_{i}")
        definitions.append(Definition(f"a_{i}", sympy.sin(b) + sympy.cos(c)))
        definitions.append(Definition(f"b_{i}", previous**2))
        definitions.append(Definition(f"c_{i}", 2 * previous))
    return definitions


def deep_composition(depth: int) -> list[Definition]:
    """One definition y = sin(sin(…sin(x)…)), ``depth`` deep (past the parser's nesting limit)."""
    expr: sympy.Expr = make_symbol("x")
    for _ in range(depth):
        # Unevaluated: sin's automatic simplification asks assumptions recursively, which alone
        # exceeds Python's recursion limit past depth ~450 (the tree is the same either way).
        expr = sympy.sin(expr, evaluate=False)
    return [Definition("y", expr)]


FAMILIES: dict[str, Callable[[int], list[Definition]]] = {
    "diamonds": diamond_chain,
    "deep": deep_composition,
}


def family_problem(family: str, size: int) -> Problem:
    """The problem of one family at one size."""
    return build_problem(FAMILIES[family](size), source="")


def flattened(family: str, size: int) -> tuple[sympy.Expr, sympy.Symbol]:
    """The fully substituted target expression and the variable to differentiate by."""
    from chainsolve.derivation import _flatten
    from chainsolve.graph import build_graph

    definitions = FAMILIES[family](size)
    if len(definitions) == 1:  # no build_problem: sympy.diff alone is what is measured
        return definitions[0].expr, make_symbol("x")
    problem = family_problem(family, size)
    return _flatten(build_graph(problem), problem.target), make_symbol(problem.wrt[0])


def graph_size(problem: Problem) -> tuple[int, int]:
    """(nodes, edges) of the dependency graph; for one expression, (operations, depth) proxies."""
    if problem.is_single_expression:
        return graph_size_of_expression(problem.definitions[0].expr)
    from chainsolve.graph import build_graph

    graph = build_graph(problem)
    return len(graph.nodes), len(graph.edges)


def graph_size_of_expression(expr: sympy.Expr) -> tuple[int, int]:
    """(operations, operations − 1) of one expression tree, counted without recursion."""
    count, stack = 0, [expr]
    while stack:
        count += 1
        stack.extend(stack.pop().args)
    return count, count - 1


# -- subprocess children -----------------------------------------------------------------------


def _child(kind: str, family: str, size: int) -> None:
    if kind == "sympy-diff":
        expr, wrt = flattened(family, size)
        start = time.perf_counter()
        try:
            sympy.diff(expr, wrt)
        except RecursionError:
            print(json.dumps({"error": "RecursionError", "seconds": time.perf_counter() - start}))
            return
        print(json.dumps({"seconds": time.perf_counter() - start}))
        return
    if kind == "solve-raised":
        import resource

        # Past Python's default recursion limit: a large C stack so deep sympy trees do not crash.
        resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        sys.setrecursionlimit(1_000_000)
        problem = family_problem(family, size)
        start = time.perf_counter()
        solve_problem(problem)
        print(json.dumps({"seconds": time.perf_counter() - start}))
        return
    raise SystemExit(f"unknown child {kind!r}")


@dataclass(frozen=True)
class ChildResult:
    """What a subprocess measured: seconds, or why it has none (timeout, error, skipped)."""

    seconds: float | None
    status: str  # "ok" | "timeout" | "RecursionError" | "skipped" | "failed"
    limit: float

    def text(self) -> str:
        if self.status == "ok":
            return seconds_text(self.seconds)
        if self.status == "timeout":
            return f"> {self.limit:g} s"
        if self.status == "skipped":
            return f"> {self.limit:g} s (skipped)"
        return self.status


def run_child(kind: str, family: str, size: int, limit: float) -> ChildResult:
    """Run one child measurement in a fresh interpreter under a wall-clock ``limit``."""
    command = [sys.executable, str(HERE / "bench_scaling.py"), "--child", kind, family, str(size)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return ChildResult(None, "timeout", limit)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        status = "RecursionError" if "RecursionError" in last else f"failed: {last[:60]}"
        return ChildResult(None, status, limit)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in data:
        return ChildResult(None, str(data["error"]), limit)
    return ChildResult(float(data["seconds"]), "ok", limit)


# -- measurement -------------------------------------------------------------------------------


@dataclass
class ScalingRow:
    """One size of one family."""

    family: str
    size: int
    nodes: int
    edges: int
    paths: int
    seconds: float | None = None
    error: str | None = None
    peak_bytes: int | None = None
    render_seconds: float | None = None
    render_error: str | None = None
    text_chars: int | None = None
    json_chars: int | None = None
    verified: bool | None = None
    raised: ChildResult | None = None
    sympy_diff: ChildResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def best_seconds(self) -> float | None:
        """In-process seconds, or those measured with a raised recursion limit."""
        if self.seconds is not None:
            return self.seconds
        if self.raised is not None and self.raised.status == "ok":
            return self.raised.seconds
        return None


def _solve_cold(problem: Problem) -> object:
    clear_cache()
    return solve_problem(problem)


def measure(
    family: str,
    size: int,
    repeat: int,
    diff_limit: float,
    raised_limit: float,
    skip_diff: bool = False,
    skip_raised: bool = False,
) -> ScalingRow:
    """Time, memory and output size of ``solve_problem`` on one size of one family."""
    from chainsolve.render import render_solution

    definitions = FAMILIES[family](size)
    if len(definitions) == 1:
        nodes, edges = graph_size_of_expression(definitions[0].expr)
        paths = 1
    else:
        problem = family_problem(family, size)
        nodes, edges = graph_size(problem)
        from chainsolve.graph import build_graph

        paths = build_graph(problem).path_count(problem.wrt[0])
    row = ScalingRow(family, size, nodes, edges, paths)
    solution = None
    try:
        problem = build_problem(definitions, source="")
    except RecursionError:
        row.error = "RecursionError in build_problem"
    else:
        try:
            # The first run also tells how many more are affordable.
            solution, first = _timed_cold(problem)
        except RecursionError:
            row.error = "RecursionError"
    if solution is not None:
        more = repeat - 1 if first < 5 else 0
        times = [first] + [median_seconds(lambda: _solve_cold(problem), 1) for _ in range(more)]
        row.seconds = sorted(times)[len(times) // 2]
        clear_cache()
        _, row.peak_bytes = peak_memory(lambda: solve_problem(problem))
        row.verified = bool(solution.verified)  # type: ignore[attr-defined]
        start = time.perf_counter()
        try:
            text = render_solution(solution, "text")  # type: ignore[arg-type]
            data = render_solution(solution, "json")  # type: ignore[arg-type]
        except RecursionError:
            # sympy's printers recurse ~6 frames per level: past depth ~150 the default
            # limit is too small to print the problem (the CLI's parser stops at depth 100).
            row.render_error = "RecursionError"
        else:
            row.render_seconds = time.perf_counter() - start
            row.text_chars, row.json_chars = len(text), len(data)
    elif skip_raised:
        row.raised = ChildResult(None, "skipped", raised_limit)
    else:
        row.raised = run_child("solve-raised", family, size, raised_limit)
    if skip_diff:
        row.sympy_diff = ChildResult(None, "skipped", diff_limit)
    else:
        row.sympy_diff = run_child("sympy-diff", family, size, diff_limit)
    return row


def _timed_cold(problem: Problem) -> tuple[object, float]:
    clear_cache()
    start = time.perf_counter()
    solution = solve_problem(problem)
    return solution, time.perf_counter() - start


def warm_up(family: str) -> None:
    """Solve a tiny problem of ``family`` once: lazy imports and first-call costs stay out of the figures."""
    solve_problem(family_problem(family, 2))


def measure_family(
    family: str,
    sizes: Sequence[int],
    repeat: int,
    diff_limit: float = 10.0,
    raised_limit: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> list[ScalingRow]:
    """Every size of a family, smallest first; a size past one that timed out is skipped."""
    rows: list[ScalingRow] = []
    diff_gave_up = raised_gave_up = False
    for size in sorted(sizes):
        row = measure(family, size, repeat, diff_limit, raised_limit, diff_gave_up, raised_gave_up)
        diff_gave_up |= row.sympy_diff is not None and row.sympy_diff.status in {
            "timeout",
            "skipped",
        }
        raised_gave_up |= row.raised is not None and row.raised.status in {"timeout", "skipped"}
        rows.append(row)
        if progress is not None:
            progress(f"  {family} {size}: {seconds_text(row.best_seconds)}")
    return rows


def family_table(rows: Sequence[ScalingRow]) -> str:
    """The Markdown table of one family, with per-edge figures and fitted exponents."""
    headers = [
        "size",
        "nodes",
        "edges",
        "paths",
        "solve_problem",
        "per edge",
        "peak mem",
        "text chars",
        "JSON chars",
        "render",
        "sympy.diff (flattened)",
        "verified",
    ]
    body = []
    for r in rows:
        if r.seconds is not None:
            solve = seconds_text(r.seconds)
        else:
            extra = f"; raised limit: {r.raised.text()}" if r.raised is not None else ""
            solve = f"{r.error}{extra}"
        best = r.best_seconds
        per_edge = seconds_text(best / r.edges) if best is not None and r.edges else "–"
        paths = (
            f"2^{r.paths.bit_length() - 1}"
            if r.paths > 1 and not r.paths & (r.paths - 1)
            else str(r.paths)
        )
        body.append(
            [
                r.size,
                r.nodes,
                r.edges,
                paths,
                solve,
                per_edge,
                bytes_text(r.peak_bytes),
                "–" if r.text_chars is None else r.text_chars,
                "–" if r.json_chars is None else r.json_chars,
                r.render_error or seconds_text(r.render_seconds),
                r.sympy_diff.text() if r.sympy_diff is not None else "–",
                "–" if r.verified is None else ("yes" if r.verified else "NO"),
            ]
        )
    table = markdown_table(headers, body)
    edges = [r.edges for r in rows]
    fits = {
        "time": loglog_slope(edges, [r.best_seconds for r in rows]),
        "peak memory": loglog_slope(edges, [r.peak_bytes for r in rows]),
        "text chars": loglog_slope(edges, [r.text_chars for r in rows]),
        "JSON chars": loglog_slope(edges, [r.json_chars for r in rows]),
    }
    fitted = ", ".join(f"{k} {slope_text(v)}" for k, v in fits.items())
    return f"{table}\n\nFitted log-log exponent against edges (1 = linear): {fitted}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FAMILY", "SIZE"))
    args = parser.parse_args()
    if args.child:
        kind, family, size = args.child
        _child(kind, family, int(size))
        return
    for family, sizes in (("diamonds", (10, 20, 40, 80)), ("deep", (50, 100, 200, 500, 1000))):
        rows = measure_family(family, sizes, args.repeat, progress=print)
        print(f"\n{family}\n\n{family_table(rows)}\n", flush=True)


if __name__ == "__main__":
    main()
