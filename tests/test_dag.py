"""Tests of chainsolve.dag: walks that visit each shared part of an expression once."""

from __future__ import annotations

import mpmath
import sympy
from hypothesis import given, reject

from chainsolve.dag import (
    Shapes,
    atoms_of,
    derivative,
    free_symbols,
    has_any,
    replace_nodes,
    same,
    tree_size,
)
from chainsolve.errors import ChainsolveError
from chainsolve.numeric import evaluate
from chainsolve.parsing import parse_expression
from chainsolve.problem import evaluate_typed, make_symbol
from tests.strategies import ANSWER_ONLY, FUZZ_EXAMPLES, UNARY, expressions, repeatable

x, y = sympy.symbols("x y")


def _diamonds(count: int) -> sympy.Expr:
    """A chain of ``count`` diamonds: each layer uses the one below twice (2^count leaves)."""
    expr: sympy.Expr = x
    for _ in range(count):
        expr = sympy.sin(expr) + sympy.cos(expr)
    return expr


def test_atoms_of_equals_sympys_atoms() -> None:
    """atoms_of finds exactly what sympy's atoms finds, for several types at once."""
    expr = sympy.sin(x * y) + sympy.Abs(sympy.cos(x)) ** 2 + sympy.exp(sympy.sin(x))
    for types in ((sympy.sin,), (sympy.Abs, sympy.exp), (sympy.Symbol,), (sympy.Pow,)):
        assert atoms_of(expr, *types) == expr.atoms(*types)


def test_tree_size_counts_the_written_out_tree_and_stops_at_the_limit() -> None:
    """tree_size of a diamond chain is its written-out size (checked small) and stops past a limit."""
    small = _diamonds(3)
    assert tree_size(small, 10_000) == sum(1 for _ in sympy.preorder_traversal(small))
    assert tree_size(_diamonds(60), 1_000) == 1_001


def test_atoms_of_a_huge_dag_is_found_without_writing_it_out() -> None:
    """On 60 diamonds (2⁶⁰ leaves written out) atoms_of still finds every sine: one per layer."""
    assert len(atoms_of(_diamonds(60), sympy.sin)) == 60


#: Expressions whose derivative covers every kind of node derivative() differentiates by parts
#: (sums, products, powers with varying exponents, functions of one and two arguments) and
#: some it hands to sympy.diff whole (|u|, Max, Heaviside).
DERIVATIVE_CASES = (
    _diamonds(4),
    sympy.sin(x * y) ** (x + 1) * sympy.exp(sympy.cos(x) / (x**2 + 1)),
    sympy.atan2(x, x**2 + 1) + sympy.log(x**2 + 1) * sympy.sqrt(x**2 + 3),
    sympy.Abs(x**2 - 1) * sympy.sin(x) + sympy.Max(x, x**2) + x * sympy.Heaviside(x),
    sympy.Pow(sympy.exp(x), 3, evaluate=False) + sympy.Mul(x, 1 / x, evaluate=False),
)


def test_derivative_equals_sympy_diff() -> None:
    """derivative() is sympy.diff's derivative (the difference simplifies to 0 and vanishes at points)."""
    real_x, real_y = sympy.symbols("x y", real=True)
    for case in DERIVATIVE_CASES:
        expr = case.xreplace({x: real_x, y: real_y})
        for var in (real_x, real_y):
            difference = derivative(expr, var) - sympy.diff(expr.doit(), var)
            assert sympy.simplify(difference) == 0, (expr, var)


@repeatable(FUZZ_EXAMPLES)
@given(expressions(("x", "y"), UNARY + ANSWER_ONLY, max_leaves=8))
def test_derivative_is_the_expression_sympy_diff_returns(text: str) -> None:
    """derivative() returns sympy.diff's very expression (not merely an equal one) on random
    expressions of the language: it stands in for sympy.diff as the oracle of every check."""
    try:
        expr = evaluate_typed(parse_expression(text))
    except ChainsolveError:  # acos(2): not a real number, refused as typed
        reject()
    for var in (make_symbol("x"), make_symbol("y")):
        assert derivative(expr, var) == sympy.diff(expr, var), (text, var)


def test_derivative_of_a_deep_diamond_chain_is_linear_work_and_right() -> None:
    """derivative() of 60 diamonds (2^60 leaves written out) agrees with the chain rule layer by layer."""
    expr = _diamonds(60)
    result = derivative(expr, x)
    point = {x: mpmath.mpf("0.3")}
    with mpmath.workdps(30):
        value, slope = point[x], mpmath.mpf(1)
        for _ in range(60):  # d(sin u + cos u) = (cos u − sin u)·du, with u the layer below
            value, slope = (
                mpmath.sin(value) + mpmath.cos(value),
                (mpmath.cos(value) - mpmath.sin(value)) * slope,
            )
        assert abs(evaluate(result, point) - slope) < mpmath.mpf(10) ** -20 * max(1, abs(slope))
        assert abs(evaluate(expr, point) - value) < mpmath.mpf(10) ** -20


def test_free_symbols_has_any_and_replace_nodes_equal_sympys() -> None:
    """free_symbols, has_any and replace_nodes give what free_symbols, has and xreplace give."""
    t = sympy.Symbol("t")
    bound = sympy.Derivative(sympy.Function("f")(t), t) * x
    for expr in (*DERIVATIVE_CASES, bound):
        assert free_symbols(expr) == expr.free_symbols
        for types in ((sympy.sin,), (sympy.Abs, sympy.Heaviside), (sympy.Derivative,)):
            assert has_any(expr, *types) == expr.has(*types)
        mapping = {x: sympy.cos(y) + 1, y: sympy.Integer(2)}
        assert replace_nodes(expr, mapping) == expr.xreplace(mapping)


def test_same_is_structural_equality() -> None:
    """same() agrees with == on equal and unequal pairs, and on equal parts built separately."""
    assert same(_diamonds(30), _diamonds(30))
    assert not same(_diamonds(30), _diamonds(29))
    assert not same(_diamonds(5) + x, _diamonds(5) + y)
    pairs = [(sympy.Float(2.5), sympy.Float(2.5)), (sympy.Float(2.5), sympy.Rational(5, 2))]
    pairs += [(x + 1, x + 2), (sympy.sin(x), sympy.cos(x)), (x, sympy.Symbol("x", real=True))]
    for a, b in pairs:
        assert same(a, b) == (a == b)


def test_shapes_number_a_function_by_its_shape_whatever_its_argument_is_called() -> None:
    """Shapes.of agrees with comparing xreplace(argument → one blank): sin(u)·2 by u is sin(v)·2 by v."""
    u, v, blank = sympy.symbols("u v blank")
    functions = [
        (sympy.sin(u) * 2, u),
        (2 * sympy.sin(v), v),
        (sympy.sin(u) * 2, v),
        (sympy.cos(u) + y, u),
        (y + sympy.cos(v), v),
        (sympy.cos(u) + u, u),
        (sympy.cos(y) + u, u),
        (sympy.Function("h")(u, y), u),
        (sympy.Function("h")(y, v), v),
    ]
    shapes = Shapes()
    for left, left_argument in functions:
        for right, right_argument in functions:
            alike = left.xreplace({left_argument: blank}) == right.xreplace({right_argument: blank})
            same_number = shapes.of(left, left_argument) == shapes.of(right, right_argument)
            assert same_number == alike, (left, right)


def test_shapes_of_a_huge_dag_number_each_shared_part_once() -> None:
    """Shapes.of a chain of 60 diamonds (2^60 leaves written out) visits its 181 parts, no more."""
    in_y: sympy.Expr = y
    for _ in range(60):
        in_y = sympy.sin(in_y) + sympy.cos(in_y)
    shapes = Shapes()
    first = shapes.of(_diamonds(60), x)
    assert shapes.of(in_y, y) == first
    assert len(shapes._numbers) == 1 + 3 * 60
