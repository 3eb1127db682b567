"""Times gradients on deep graphs: backprop vs finite differences vs flattened sympy.diff.

Run: ``python benchmarks/bench_backprop.py [--repeat N] [--budget SECONDS]``. Prints a table of
medians. Backpropagation is one multiply-add per edge, so its time grows linearly in the
number of edges even where the number of paths (2^k for k diamonds) is astronomical.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import mpmath
import sympy

from chainsolve.budget import attempt
from chainsolve.derivation import _flatten
from chainsolve.equivalence import PRECISION
from chainsolve.evaluation import evaluate_at
from chainsolve.graph import Graph, build_graph
from chainsolve.graphcheck import central_difference
from chainsolve.numeric import evaluate
from chainsolve.problem import Definition, Problem, build_problem, make_symbol


def diamonds(count: int) -> list[Definition]:
    """x_i = a_i·b_i with a_i = sin(x_{i−1}), b_i = cos(x_{i−1}) + 2: two paths per diamond."""
    definitions = []
    for i in range(count, 0, -1):
        previous = make_symbol(f"x_{i - 1}")
        definitions.append(Definition(f"x_{i}", make_symbol(f"a_{i}") * make_symbol(f"b_{i}")))
        definitions.append(Definition(f"a_{i}", sympy.sin(previous)))
        definitions.append(Definition(f"b_{i}", sympy.cos(previous) + 2))
    return definitions


def chain(length: int) -> list[Definition]:
    """x_i = tanh(x_{i−1})·(1 + 1/i): ``length`` nodes that neither vanish nor blow up."""
    return [
        Definition(f"x_{i}", sympy.tanh(make_symbol(f"x_{i - 1}")) * (1 + sympy.Rational(1, i)))
        for i in range(length, 0, -1)
    ]


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def flattened_diff(graph: Graph, point: dict[str, mpmath.mpf]) -> object:
    flat = _flatten(graph, graph.target)
    derivative = sympy.diff(flat, make_symbol("x_0"))
    return evaluate(derivative, {make_symbol(k): v for k, v in point.items()})


def row(label: str, problem: Problem, repeat: int, budget: float) -> str:
    graph = build_graph(problem)
    edges = len(graph.edges)
    paths = graph.path_count("x_0")
    point = {"x_0": mpmath.mpf("0.4")}
    backprop = median_seconds(lambda: evaluate_at(problem, graph, None, numeric=True), repeat)
    evaluation = evaluate_at(problem, graph, None, numeric=True)
    with mpmath.workdps(PRECISION):
        finite = median_seconds(lambda: central_difference(graph, "x_0", point), repeat)
        start = time.perf_counter()
        done = attempt(budget, lambda: flattened_diff(graph, point))
        symbolic = time.perf_counter() - start
    symbolic_text = f"{symbolic:9.3f}" if done is not None else f"> {budget:g} s".rjust(9)
    paths_text = (
        f"2^{paths.bit_length() - 1}" if paths > 1 and paths & (paths - 1) == 0 else str(paths)
    )
    return (
        f"{label:<18} {len(graph.nodes):>6} {edges:>6} {paths_text:>7} "
        f"{evaluation.multiply_adds:>8} {backprop:10.3f} {finite:10.3f} {symbolic_text}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument(
        "--budget", type=float, default=5.0, help="seconds for flattened sympy.diff"
    )
    args = parser.parse_args()
    point = {"x_0": sympy.Float("0.4")}
    print(
        f"{'graph':<18} {'nodes':>6} {'edges':>6} {'paths':>7} {'mul-add':>8} "
        f"{'backprop s':>10} {'fin.diff s':>10} {'sympy.diff s':>9}"
    )
    for count in (10, 20, 40, 80):
        problem = build_problem(diamonds(count), source="", point=point)
        print(row(f"{count} diamonds", problem, args.repeat, args.budget), flush=True)
    problem = build_problem(chain(2000), source="", point=point)
    print(row("chain of 2000", problem, args.repeat, args.budget), flush=True)
    print(
        "backprop = evaluate_at (forward pass, backward pass, reference and finite-difference "
        "checks); fin.diff = one central difference (two forward passes); sympy.diff = "
        "differentiate the flattened expression and evaluate it."
    )


if __name__ == "__main__":
    main()
