"""Numeric checks through a graph without flattening it: forward values, reverse adjoints, finite differences."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator, Mapping

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


#: Working precisions, in digits, the passes through a graph are tried at in turn: the first
#: whose values the next one confirms is used. sin(e¹⁰⁰) needs 44 digits before its first
#: right one; a chain of squares and exponentials outgrows 40 digits within a few layers.
PASS_DIGITS = (PRECISION, 2 * PRECISION, 4 * PRECISION, 8 * PRECISION, 16 * PRECISION)
#: Agreement asked of a value at one precision and at the next (relative) to be settled.
PASS_AGREEMENT = mpmath.mpf(10) ** -(PRECISION - 10)


def settled_passes(
    graph: Graph, point_at: Callable[[], Mapping[str, mpmath.mpf]]
) -> tuple[int, dict[str, mpmath.mpf], dict[str, mpmath.mpf]] | None:
    """The forward values and adjoints at the first precision of :data:`PASS_DIGITS` whose
    every value the next precision confirms: (digits, values, adjoints), or None when they
    keep moving. ``point_at`` gives the inputs at the precision in force.

    At a fixed 40 digits a right gradient looked wrong, or a wrong value right: the adjoint of
    sin(a₅) with a₅ near 10⁵⁰ is noise there, and so is anything checked against it. The
    precisions are counts: the same point settles alike on any machine. Raises
    :class:`~chainsolve.numeric.Undefined` (or ZeroDivisionError, OverflowError) where the
    graph has no value.
    """
    previous: tuple[int, dict[str, mpmath.mpf], dict[str, mpmath.mpf]] | None = None
    for digits in (*PASS_DIGITS, 2 * PASS_DIGITS[-1]):
        with mpmath.workdps(digits):
            values = forward(graph, point_at())
            adjoints = reverse(graph, values)
        if (
            previous is not None
            and _confirmed(previous[1], values)
            and _confirmed(previous[2], adjoints)
        ):
            return previous
        previous = (digits, values, adjoints)
    return None


def _confirmed(coarse: Mapping[str, mpmath.mpf], fine: Mapping[str, mpmath.mpf]) -> bool:
    return all(
        abs(value - fine[name]) <= PASS_AGREEMENT * max(1, abs(fine[name]))
        for name, value in coarse.items()
    )


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
        #: The precision each sample's values were settled at (:func:`settled_passes`): its
        #: claims are evaluated at it too.
        self.digits: list[int] = []
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
                    settled = settled_passes(graph, functools.partial(dict, point))
                except (Undefined, OverflowError, ZeroDivisionError):
                    continue
                if settled is None:
                    continue  # values that move at every precision check nothing
                digits, values, adjoints = settled
                self.samples.append((point, values, adjoints))
                self.digits.append(digits)
        self._environments = [
            {make_symbol(name): value for name, value in values.items()}
            for _, values, _ in self.samples
        ]

    def check(self, claimed: sympy.Expr, node: str, gradients: Mapping[sympy.Symbol, str]) -> Check:
        """Check ``claimed == ∂target/∂node`` at every sample; ``gradients`` maps adjoint symbols to nodes."""
        if not self.samples:
            return Check("unconfirmed", "no point where the graph is defined was found")
        for index, (_, _, adjoints) in enumerate(self.samples):
            # A lazy view, not a copy: this is called once per node, and copying every
            # value each time would make checking a graph quadratic in its size.
            env = _SampleEnvironment(self._environments[index], adjoints, gradients)
            expected = adjoints[node]
            with mpmath.workdps(self.digits[index]):
                try:
                    value = evaluate(claimed, env)
                except (Undefined, KeyError, OverflowError, ZeroDivisionError):
                    return Check("unconfirmed", "could not be evaluated at a sample point")
                if abs(value - expected) > TOLERANCE * max(1, abs(expected)):
                    return Check(
                        "unconfirmed",
                        f"differs at a sample point: {value} vs {expected}",
                        differs=True,
                    )
        return Check(
            "numeric",
            f"{len(self.samples)} random points through the graph, {max(self.digits)} digits",
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
