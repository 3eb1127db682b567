"""Times gradients on deep graphs: backprop vs finite differences vs flattened sympy.diff.

Run: ``python benchmarks/bench_backprop.py [--repeat N] [--budget SECONDS]``. Prints a table of
medians. Backpropagation is one multiply-add per edge, so its time grows linearly in the
number of edges even where the number of paths (2^k for k diamonds) is astronomical.
``benchmarks/run.py`` runs the same measurement (``measure``) as part of the whole suite.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import mpmath
import sympy
from _common import median_seconds

from chainsolve.budget import attempt
from chainsolve.derivation import _flatten
from chainsolve.equivalence import PRECISION
from chainsolve.evaluation import evaluate_at
from chainsolve.graph import Graph, build_graph
from chainsolve.graphcheck import central_difference
from chainsolve.numeric import evaluate
from chainsolve.problem import Definition, Problem, build_problem, make_symbol

__all__ = ["BackpropRow", "chain", "diamonds", "measure", "median_seconds", "point_problem"]


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


def point_problem(definitions: list[Definition]) -> Problem:
    """The problem of ``definitions`` at the point x_0 = 0.4."""
    return build_problem(definitions, source="", point={"x_0": sympy.Float("0.4")})


def flattened_diff(graph: Graph, point: dict[str, mpmath.mpf]) -> object:
    flat = _flatten(graph, graph.target)
    derivative = sympy.diff(flat, make_symbol("x_0"))
    return evaluate(derivative, {make_symbol(k): v for k, v in point.items()})


@dataclass(frozen=True)
class BackpropRow:
    """One graph's gradient at a point: sizes and median seconds of each method."""

    label: str
    nodes: int
    edges: int
    paths: int
    multiply_adds: int
    backprop: float
    finite_difference: float
    #: Seconds for flattened sympy.diff + evaluation, None when it exceeded ``budget``.
    symbolic: float | None
    budget: float
    verified: bool

    @property
    def paths_text(self) -> str:
        paths = self.paths
        if paths > 1 and paths & (paths - 1) == 0:
            return f"2^{paths.bit_length() - 1}"
        return str(paths)


def measure(label: str, problem: Problem, repeat: int, budget: float) -> BackpropRow:
    """Median seconds of ``evaluate_at`` and of one central difference; flattened sympy.diff once."""
    graph = build_graph(problem)
    point = {"x_0": mpmath.mpf("0.4")}
    evaluation = evaluate_at(problem, graph, None, numeric=True)
    backprop = median_seconds(lambda: evaluate_at(problem, graph, None, numeric=True), repeat)
    with mpmath.workdps(PRECISION):
        finite = median_seconds(lambda: central_difference(graph, "x_0", point), repeat)
        symbolic: float | None = None
        if budget > 0:
            start = time.perf_counter()
            done = attempt(budget, lambda: flattened_diff(graph, point))
            symbolic = time.perf_counter() - start if done is not None else None
    return BackpropRow(
        label,
        len(graph.nodes),
        len(graph.edges),
        graph.path_count("x_0"),
        evaluation.multiply_adds,
        backprop,
        finite,
        symbolic,
        budget,
        evaluation.verified,
    )


def row(label: str, problem: Problem, repeat: int, budget: float) -> str:
    result = measure(label, problem, repeat, budget)
    symbolic_text = (
        f"{result.symbolic:9.3f}" if result.symbolic is not None else f"> {budget:g} s".rjust(9)
    )
    return (
        f"{label:<18} {result.nodes:>6} {result.edges:>6} {result.paths_text:>7} "
        f"{result.multiply_adds:>8} {result.backprop:10.3f} {result.finite_difference:10.3f} "
        f"{symbolic_text}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument(
        "--budget", type=float, default=5.0, help="seconds for flattened sympy.diff"
    )
    args = parser.parse_args()
    print(
        f"{'graph':<18} {'nodes':>6} {'edges':>6} {'paths':>7} {'mul-add':>8} "
        f"{'backprop s':>10} {'fin.diff s':>10} {'sympy.diff s':>9}"
    )
    for count in (10, 20, 40, 80):
        problem = point_problem(diamonds(count))
        print(row(f"{count} diamonds", problem, args.repeat, args.budget), flush=True)
    problem = point_problem(chain(2000))
    print(row("chain of 2000", problem, args.repeat, args.budget), flush=True)
    print(
        "backprop = evaluate_at (forward pass, backward pass, reference and finite-difference "
        "checks); fin.diff = one central difference (two forward passes); sympy.diff = "
        "differentiate the flattened expression and evaluate it."
    )


if __name__ == "__main__":
    main()
