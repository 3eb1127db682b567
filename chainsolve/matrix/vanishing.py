"""The deep chain in matrix form, hₖ = act(W·hₖ₋₁ + b) of a declared width: ‖δₖ‖ per layer.

The backward pass is the matrix core's (:func:`chainsolve.matrix.backprop.backprop` of the
chain written as a matrix problem: δ_aₖ = δ_hₖ ⊙ act′(aₖ), δ_hₖ₋₁ = Wᵀ·δ_aₖ); this module only
evaluates its steps at the point, entry by entry, at :data:`~chainsolve.vanishing.WORKING_DIGITS`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import sympy

from chainsolve import wording
from chainsolve.errors import ChainsolveError
from chainsolve.matrix.backprop import Backprop, backprop
from chainsolve.matrix.model import (
    Add,
    Adjoint,
    Apply,
    Hadamard,
    MatMul,
    Node,
    Ones,
    Prime,
    SumAll,
    Symbol,
    Transpose,
)
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.printing import adjoint_text, show
from chainsolve.matrix.shapes import infer_shapes
from chainsolve.vanishing import ACTIVATIONS, WORKING_DIGITS, Layer, Profile, Real, Value

__all__ = ["MAX_WIDTH", "MAX_WORK", "chain_problem", "matrix_profile", "spectral_norm", "weights"]

#: The widest layer, and the most work (depth × width²: the entries of W met on the way back).
MAX_WIDTH = 16
MAX_WORK = 200 * 8 * 8
#: The weights' entries: whole hundredths in [−1, 1], drawn by a generator of this seed.
WEIGHT_SEED = "chainsolve-gradients"


def check_width(width: int, depth: int) -> int:
    """The width itself when it is between 1 and :data:`MAX_WIDTH` and the work is bounded."""
    if not 1 <= width <= MAX_WIDTH:
        raise ChainsolveError("bad_width", wording.gradients_error_width(width, MAX_WIDTH))
    if depth * width * width > MAX_WORK:
        raise ChainsolveError("too_much_work", wording.gradients_error_work(depth, width, MAX_WORK))
    return width


def weights(width: int, w: sympy.Expr) -> sympy.Matrix:
    """W = w·M, M of whole hundredths in [−1, 1] from a seeded generator: the same every run."""
    draw = random.Random(f"{WEIGHT_SEED}-{width}")
    return sympy.Matrix(width, width, lambda i, j: w * sympy.Rational(draw.randint(-100, 100), 100))


def chain_problem(depth: int, activation: str) -> str:
    """The chain as the matrix core reads it: a1 = W*x + b; h1 = act(a1); …; L = sum(hₙ)."""
    lines = []
    previous = "x"
    for k in range(1, depth + 1):
        lines += [f"a{k} = W*{previous} + b", f"h{k} = {activation}(a{k})"]
        previous = f"h{k}"
    return "; ".join([*lines, f"L = sum({previous})"])


def spectral_norm(matrix: sympy.Matrix) -> Real:
    """‖W‖₂, the largest singular value: no layer scales δ by more than it times max act′."""
    with mpmath.workdps(WORKING_DIGITS):
        entries = mpmath.matrix(
            [[_mpf(matrix[i, j]) for j in range(matrix.cols)] for i in range(matrix.rows)]
        )
        return max(mpmath.svd_r(entries, compute_uv=False))


def _mpf(value: sympy.Expr) -> Real:
    return mpmath.mpf(sympy.Float(value, WORKING_DIGITS + 10)._to_mpmath(mpmath.mp.prec))


def _norm(matrix: Any) -> Value:
    return Value(mpmath.norm(matrix, 2), None)


def _largest(matrix: Any) -> Value:
    return Value(max(matrix[i, 0] for i in range(matrix.rows)), None)


def _backward(depth: int, activation: str, width: int) -> Backprop:
    problem = parse_matrix_problem(
        chain_problem(depth, activation), f"x: {width}, W: {width}x{width}, b: {width}", ["x"]
    )
    return backprop(infer_shapes(problem))


class _Numbers:
    """The nodes of the chain's forward definitions and backward steps, at the point (mpmath).

    Only the operations the chain is made of (``W*h + b``, act, sum, and the core's Wᵀ·δ,
    δ ⊙ act′, 𝟙) are known: evaluating the core's own nodes keeps its backward pass, and
    mpmath keeps 200 layers fast (sympy's exact matrices are what the tests compare with).
    """

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names
        self.adjoints: dict[str, Any] = {}

    def of(self, node: Node) -> Any:
        if isinstance(node, Symbol):
            return self.names[node.name]
        if isinstance(node, Adjoint):
            return self.adjoints[node.name]
        if isinstance(node, Ones):
            return mpmath.ones(node.shape.rows, node.shape.cols)
        if isinstance(node, MatMul):
            return self.of(node.left) * self.of(node.right)
        if isinstance(node, Transpose):
            return self.of(node.operand).T
        if isinstance(node, Add):
            return self.of(node.left) + self.of(node.right)
        if isinstance(node, Hadamard):
            left, right = self.of(node.left), self.of(node.right)
            return mpmath.matrix([[left[i, 0] * right[i, 0]] for i in range(left.rows)])
        if isinstance(node, Apply):
            return self.entrywise(node.operand, lambda a: _value(node.function, a))
        if isinstance(node, Prime):
            return self.entrywise(node.operand, lambda a: _slope(node.function, a))
        if isinstance(node, SumAll):
            return mpmath.matrix([[mpmath.fsum(self.of(node.operand))]])
        raise AssertionError(f"the deep chain has no {type(node).__name__}")

    def entrywise(self, operand: Node, function: Callable[[Any], Any]) -> Any:
        values = self.of(operand)
        return mpmath.matrix([[function(values[i, 0])] for i in range(values.rows)])


def _value(function: str, a: Any) -> Any:
    return ACTIVATIONS[function].spec.mpmath(a)


def _slope(function: str, a: Any) -> Any:
    return ACTIVATIONS[function].slope(a, _value(function, a))


def matrix_profile(
    activation: str, depth: int, width: int, point: Mapping[str, sympy.Expr]
) -> Profile:
    """‖δₖ‖ = ‖∂L/∂hₖ‖ of every layer, the factor ‖δₖ₋₁‖/‖δₖ‖ and the largest act′(aₖ)."""
    worked = _backward(depth, activation, width)
    with mpmath.workdps(WORKING_DIGITS):
        weight = weights(width, point["w"])
        numbers = _Numbers(
            {
                "x": mpmath.matrix([[_mpf(point["x"])] for _ in range(width)]),
                "W": mpmath.matrix(
                    [[_mpf(weight[i, j]) for j in range(width)] for i in range(width)]
                ),
                "b": mpmath.matrix([[_mpf(point["b"])] for _ in range(width)]),
            }
        )
        for name, node, _ in worked.forward:
            numbers.names[name] = numbers.of(node)
        for step in worked.steps:
            numbers.adjoints[step.name] = numbers.of(step.claim)
        adjoints = numbers.adjoints
        deltas = [_norm(adjoints["x"])] + [_norm(adjoints[f"h{k}"]) for k in range(1, depth + 1)]
        layers = [Layer(0, None, _norm(numbers.names["x"]), None, None, deltas[0])]
        for k in range(1, depth + 1):
            slope = _largest(numbers.of(_slope_node(worked, k)))
            after = deltas[k].decimal
            ratio = deltas[k - 1].decimal / after if after else mpmath.mpf(0)
            output = _norm(numbers.names[f"h{k}"])
            preactivation = numbers.names[f"a{k}"]
            # relu′(0) = 0 (the registry's convention) matters where an entry of aₖ is 0.
            at_kink = bool(ACTIVATIONS[activation].spec.kink) and any(
                preactivation[i, 0] == 0 for i in range(width)
            )
            factor = Value(ratio, None)
            layers.append(Layer(k, None, output, slope, factor, deltas[k], at_kink))
    return Profile(activation, tuple(layers), _step_lines(worked, depth))


def _slope_node(worked: Backprop, k: int) -> Node:
    """act′(aₖ): the act′ factor of the core's step δ_aₖ = δ_hₖ ⊙ act′(aₖ)."""
    step = next(s for s in worked.steps if s.name == f"a{k}")
    return next(node for node, _ in step.factors if isinstance(node, Prime))


def _step_lines(worked: Backprop, depth: int) -> tuple[str, ...]:
    """The core's two steps of the last layer, as printed: δ_aₙ = δ_hₙ ⊙ σ′(aₙ), δ_hₙ₋₁ = Wᵀ·δ_aₙ."""
    wanted = [f"a{depth}", f"h{depth - 1}" if depth > 1 else "x"]
    lines = []
    for step in worked.steps:
        if step.name in wanted:
            left = adjoint_text(step.name) if step.kind == "delta" else "∂L/∂x"
            lines.append(f"{left} = {show(step.claim)}")
    return tuple(lines)
