"""Tests for chainsolve.unknowns: an unknown function's parts held as symbols, weighed as themselves."""

from __future__ import annotations

import pytest
import sympy

from chainsolve.problem import make_symbol
from chainsolve.unknowns import Masked

x, y, t = (make_symbol(n) for n in ("x", "y", "t"))
f, g = (sympy.Function(name, real=True) for name in "fg")

EXPRESSIONS = [
    sympy.diff(f(x * y, x + y), x),
    sympy.diff(f(g(t), t**2), t),
    (t + 3 * x) * sympy.Derivative(g(x), x) / (2 * sympy.sqrt(g(x))) + 3 * sympy.sqrt(g(x)),
    x**2 + sympy.sin(x),
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_masked_form_counts_the_operations_of_the_original(expr: sympy.Expr) -> None:
    """The masked form weighs as many operations as the expression it stands for."""
    masked = Masked(expr)
    assert not masked.expr.has(sympy.Subs, sympy.Derivative)
    assert masked.ops(masked.expr) == sympy.count_ops(expr)
    assert masked.free_symbols(masked.expr) == expr.free_symbols


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_an_unchanged_masked_form_puts_back_the_original_object(expr: sympy.Expr) -> None:
    """Nothing changed, nothing rebuilt: put_back hands back the very expression masked."""
    masked = Masked(expr)
    assert masked.put_back(masked.expr) is expr


def test_a_factored_sum_stays_factored_when_the_parts_are_put_back() -> None:
    """−(y·∂₁f + ∂₂f) and 7(…)/2 as factor_terms left them: the number is not spread again."""
    expr = -sympy.Rational(7, 2) * sympy.expand(sympy.diff(f(x * y, x + y), x))
    masked = Masked(expr)
    factored = sympy.factor_terms(masked.expr)
    back = masked.put_back(factored)
    assert isinstance(back, sympy.Mul)
    assert back.args[0] == -sympy.Rational(7, 2)
    assert isinstance(back.args[1], sympy.Add)
    assert sympy.expand(back - expr) == 0


def test_a_part_depends_on_its_own_symbols_only() -> None:
    """g(x) depends on x and f(3, 3) on nothing: a rational-function test must know which."""
    depends = Masked(x * g(x) + 1 / x)
    constant = Masked(x * f(3, 3) + 1 / x)
    assert depends.depend_on(depends.expr, x)
    assert not constant.depend_on(constant.expr, x)
