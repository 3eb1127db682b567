"""Numeric checks through a graph without flattening it: forward values, reverse adjoints, finite differences."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

import mpmath
import sympy

from chainsolve.equivalence import MAGNITUDES, PRECISION
from chainsolve.graph import Graph
from chainsolve.numeric import Undefined, evaluate
from chainsolve.problem import make_symbol
from chainsolve.steps import Check

#: Agreement asked of a claimed gradient and the reference at each sample point.
TOLERANCE = mpmath.mpf(10) ** -12


def forward(graph: Graph, point: Mapping[str, mpmath.mpf]) -> dict[str, mpmath.mpf]:
    """Every node's value at ``point`` (input name → value), in one pass over the topological order."""
    values: dict[str, mpmath.mpf] = dict(point)
    env: dict[sympy.Symbol, mpmath.mpf] = {make_symbol(k): v for k, v in point.items()}
    for node in graph.nodes:
        if node.expr is not None:
            values[node.name] = evaluate(node.expr, env)
            env[make_symbol(node.name)] = values[node.name]
    return values


def reverse(graph: Graph, values: Mapping[str, mpmath.mpf]) -> dict[str, mpmath.mpf]:
    """Every node's adjoint ∂target/∂node at a point: one multiply-add per edge (backpropagation)."""
    env = {make_symbol(k): v for k, v in values.items()}
    adjoint: dict[str, mpmath.mpf] = {node.name: mpmath.mpf(0) for node in graph.nodes}
    adjoint[graph.target] = mpmath.mpf(1)
    for node in reversed(graph.nodes):
        upstream = adjoint[node.name]
        if upstream == 0:
            continue
        for edge in graph.inputs_of(node.name):
            adjoint[edge.source] += upstream * evaluate(edge.local_partial, env)
    return adjoint


#: Agreement asked of two finite differences with different steps before either is trusted,
#: relative: well inside :data:`TOLERANCE`, so that a settled estimate decides a comparison.
SETTLED = mpmath.mpf(10) ** -16
#: Working precisions, in digits, a finite difference is tried at in turn until it settles.
DIFFERENCE_DIGITS = (PRECISION, 2 * PRECISION, 4 * PRECISION)


def central_difference(graph: Graph, name: str, point: Mapping[str, mpmath.mpf]) -> mpmath.mpf:
    """(f(x + h) − f(x − h)) / 2h with h = 10^(−d/3) at d digits (the step that balances the
    quotient's truncation and rounding errors), an estimate independent of any derivative
    rule, returned only once it has settled: a step 10⁴ times smaller agrees with it.

    One step alone is no oracle: where f turns faster than h resolves (sin of a value near
    10¹⁰, whose slope is 10³⁹) the quotient is noise, and a right gradient would look wrong.
    Unsettled, the precision doubles (:data:`DIFFERENCE_DIGITS`); still unsettled, the
    estimate is refused (:class:`~chainsolve.numeric.Undefined`), never guessed. The
    precisions are fixed counts: the same input decides the same way on any machine.
    """
    for digits in DIFFERENCE_DIGITS:
        with mpmath.workdps(digits):
            estimate = _difference(graph, name, point, digits, digits // 3)
            finer = _difference(graph, name, point, digits, digits // 3 + 4)
            if abs(estimate - finer) <= SETTLED * max(1, abs(estimate)):
                return estimate
    raise Undefined(
        f"the finite difference in {name} did not settle at up to {DIFFERENCE_DIGITS[-1]} digits"
    )


def _difference(
    graph: Graph, name: str, point: Mapping[str, mpmath.mpf], digits: int, places: int
) -> mpmath.mpf:
    """(f(x + h) − f(x − h)) / 2h with h = 10^(−places), at ``digits`` digits."""
    step = mpmath.mpf(10) ** -places
    if abs(point[name]) * mpmath.mpf(10) ** -(digits - 12) > step:
        # x ± h would keep fewer than 12 digits of h (at x = 10^1000, x + h == x): the
        # estimate would be noise, 0 at worst, and a right gradient would look wrong.
        raise Undefined(f"{name} is too large for a finite difference at {digits} digits")
    up = dict(point)
    down = dict(point)
    up[name] = point[name] + step
    down[name] = point[name] - step
    return (forward(graph, up)[graph.target] - forward(graph, down)[graph.target]) / (2 * step)


class _SampleEnvironment(Mapping[sympy.Symbol, mpmath.mpf]):
    """Node values by symbol, plus the adjoint symbols ``grad_u`` resolved to ∂target/∂u."""

    def __init__(
        self,
        values: Mapping[sympy.Symbol, mpmath.mpf],
        adjoints: Mapping[str, mpmath.mpf],
        gradients: Mapping[sympy.Symbol, str],
    ) -> None:
        self._values = values
        self._adjoints = adjoints
        self._gradients = gradients

    def __getitem__(self, symbol: sympy.Symbol) -> mpmath.mpf:
        node = self._gradients.get(symbol)
        if node is not None:
            return self._adjoints[node]
        return self._values[symbol]

    def __iter__(self) -> Iterator[sympy.Symbol]:
        yield from self._values
        yield from self._gradients

    def __len__(self) -> int:
        return len(self._values) + len(self._gradients)


class GraphSampler:
    """Random points of a graph with forward values and adjoints, to check claims in linear time."""

    def __init__(
        self, graph: Graph, inputs: tuple[str, ...], *, points: int = 3, seed: int = 7
    ) -> None:
        self.graph = graph
        self.samples: list[
            tuple[dict[str, mpmath.mpf], dict[str, mpmath.mpf], dict[str, mpmath.mpf]]
        ] = []
        rng = random.Random(seed)
        with mpmath.workdps(PRECISION):
            for _ in range(points * 8):
                if len(self.samples) >= points:
                    break
                point = {
                    name: mpmath.mpf(
                        rng.choice(MAGNITUDES) * (1 + rng.random() / 3) * rng.choice((-1, 1))
                    )
                    for name in inputs
                }
                try:
                    values = forward(graph, point)
                    adjoints = reverse(graph, values)
                except (Undefined, OverflowError, ZeroDivisionError):
                    continue
                self.samples.append((point, values, adjoints))
        self._environments = [
            {make_symbol(name): value for name, value in values.items()}
            for _, values, _ in self.samples
        ]

    def check(self, claimed: sympy.Expr, node: str, gradients: Mapping[sympy.Symbol, str]) -> Check:
        """Check ``claimed == ∂target/∂node`` at every sample; ``gradients`` maps adjoint symbols to nodes."""
        if not self.samples:
            return Check("unconfirmed", "no point where the graph is defined was found")
        with mpmath.workdps(PRECISION):
            for index, (_, _, adjoints) in enumerate(self.samples):
                # A lazy view, not a copy: this is called once per node, and copying every
                # value each time would make checking a graph quadratic in its size.
                env = _SampleEnvironment(self._environments[index], adjoints, gradients)
                try:
                    value = evaluate(claimed, env)
                except (Undefined, KeyError, OverflowError, ZeroDivisionError):
                    return Check("unconfirmed", "could not be evaluated at a sample point")
                expected = adjoints[node]
                if abs(value - expected) > TOLERANCE * max(1, abs(expected)):
                    return Check(
                        "unconfirmed",
                        f"differs at a sample point: {value} vs {expected}",
                        differs=True,
                    )
        return Check(
            "numeric", f"{len(self.samples)} random points through the graph, {PRECISION} digits"
        )

    def check_against_finite_difference(self, name: str) -> Check:
        """Check the reverse-accumulated gradient of ``name`` against central finite differences.

        A point where the difference does not settle (:func:`central_difference`) decides
        nothing: only a settled estimate can find a difference.
        """
        if not self.samples:
            return Check("unconfirmed", "no point where the graph is defined was found")
        settled = 0
        with mpmath.workdps(PRECISION):
            for point, _, adjoints in self.samples:
                try:
                    estimate = central_difference(self.graph, name, point)
                except (Undefined, OverflowError, ZeroDivisionError):
                    continue
                if abs(estimate - adjoints[name]) > TOLERANCE * max(1, abs(estimate)):
                    return Check(
                        "unconfirmed", "disagrees with a central finite difference", differs=True
                    )
                settled += 1
        if not settled:
            return Check("unconfirmed", "no finite difference settled at the sample points")
        return Check("numeric", f"matches central finite differences at {settled} points")
