"""Tests for chainsolve.rules: the elementary derivative table and matching the outermost operation."""

from __future__ import annotations

from typing import Any

import mpmath
import pytest
import sympy

from chainsolve import functions
from chainsolve.functions import FUNCTIONS
from chainsolve.numeric import Undefined, evaluate
from chainsolve.problem import make_symbol
from chainsolve.rules import ELEMENTARY, match_outer

x, y, u = make_symbol("x"), make_symbol("y"), make_symbol("u")
f, g = sympy.Function("f"), sympy.Function("g")

#: Points inside each function's real domain, away from kinks and poles.
DEFAULT_POINTS = ("0.3", "0.7", "-0.4", "1.9")
POINTS: dict[Any, tuple[str, ...]] = {
    sympy.log: ("0.3", "0.7", "1.9"),
    sympy.asin: ("0.3", "0.7", "-0.4"),
    sympy.acos: ("0.3", "0.7", "-0.4"),
    sympy.acosh: ("1.3", "1.9", "3.5"),
    sympy.atanh: ("0.3", "0.7", "-0.4"),
    sympy.asec: ("1.3", "1.9", "-1.2", "-3.5"),
    sympy.acsc: ("1.3", "1.9", "-1.2", "-3.5"),
}


def values_agree(left: sympy.Expr, right: sympy.Expr, point: str) -> bool:
    """Both expressions in u have the same value at u = point (40 digits)."""
    with mpmath.workdps(40):
        at = {u: mpmath.mpf(point)}
        return bool(abs(evaluate(left, at) - evaluate(right, at)) < mpmath.mpf(10) ** -30)


@pytest.mark.parametrize("kind", list(ELEMENTARY), ids=lambda kind: kind.__name__)
def test_elementary_derivative_equals_sympy_diff(kind: Any) -> None:
    """Each table entry's derivative equals sympy.diff of its function (at several points)."""
    rule = ELEMENTARY[kind]
    ours = rule.derivative(u)
    theirs = sympy.diff(kind(u), u)
    assert rule.name.startswith("derivative of")
    for point in POINTS.get(kind, DEFAULT_POINTS):
        assert values_agree(ours, theirs, point), (kind, point, ours, theirs)


@pytest.mark.parametrize("kind", [sympy.sin, sympy.exp, sympy.atan, functions.sigmoid])
def test_elementary_derivative_symbolically(kind: Any) -> None:
    """Where sympy can prove it, the table entry minus sympy.diff simplifies to 0."""
    assert sympy.simplify(ELEMENTARY[kind].derivative(u) - sympy.diff(kind(u), u)) == 0


@pytest.mark.parametrize(
    ("kind", "name", "textbook"),
    [
        (sympy.sech, "derivative of sech", -sympy.sech(u) * sympy.tanh(u)),
        (sympy.csch, "derivative of csch", -sympy.csch(u) * sympy.coth(u)),
        (sympy.coth, "derivative of coth", 1 - sympy.coth(u) ** 2),
        (sympy.asinh, "derivative of arcsinh", 1 / sympy.sqrt(u**2 + 1)),
        (sympy.acosh, "derivative of arccosh", 1 / (sympy.sqrt(u - 1) * sympy.sqrt(u + 1))),
        (sympy.atanh, "derivative of arctanh", 1 / (1 - u**2)),
        (sympy.acot, "derivative of arccot", -1 / (1 + u**2)),
        (sympy.asec, "derivative of arcsec", 1 / (sympy.Abs(u) * sympy.sqrt(u**2 - 1))),
        (sympy.acsc, "derivative of arccsc", -1 / (sympy.Abs(u) * sympy.sqrt(u**2 - 1))),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_hyperbolic_and_inverse_rules_are_the_textbook_forms(
    kind: Any, name: str, textbook: sympy.Expr
) -> None:
    """sech … acsc have their textbook derivatives (arccosh's √(u² − 1) split as √(u − 1)·√(u + 1))."""
    assert ELEMENTARY[kind].name == name
    assert ELEMENTARY[kind].derivative(u) == textbook


@pytest.mark.parametrize("kind", [sympy.asec, sympy.acsc])
def test_arcsec_rule_uses_abs_on_both_branches(kind: Any) -> None:
    """|u|·√(u² − 1) equals sympy's u²·√(1 − 1/u²) for u < −1 as well, where u·√(u² − 1) would not."""
    rule = ELEMENTARY[kind].derivative(u)
    theirs = sympy.diff(kind(u), u)
    for point in ("-1.01", "-2", "-40", "1.01", "40"):
        assert values_agree(rule, theirs, point)
    assert not values_agree(rule.subs(sympy.Abs(u), u), theirs, "-2")


def test_sign_derivative_is_zero_away_from_the_kink() -> None:
    """sign′ is 0 (sympy's DiracDelta is 0 away from 0), and its evaluation agrees."""
    assert ELEMENTARY[sympy.sign].derivative(u) == 0
    with pytest.raises(Undefined):
        evaluate(sympy.diff(sympy.sign(u), u), {u: mpmath.mpf(0)})


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_of_the_language_has_a_rule(name: str) -> None:
    """Every function name of the input language, applied to x³ − 2x, matches a rule."""
    inner = x**3 - 2 * x
    matched = match_outer(FUNCTIONS[name](inner), x)
    assert matched is not None
    assert matched.inner == inner


@pytest.mark.parametrize(
    ("expr", "name", "inner"),
    [
        (x**2, "power rule", x),
        ((3 * x**2 + 1) ** 5, "power rule", 3 * x**2 + 1),
        (sympy.sqrt(x + 1), "square root rule", x + 1),
        (1 / (x + 1), "power rule (reciprocal)", x + 1),
        (2 ** (x**2), "exponential rule: d/du aᵘ = aᵘ·ln(a)", x**2),
        (sympy.exp(x**2), "derivative of exp", x**2),
        (sympy.E ** sympy.sin(x), "derivative of exp", sympy.sin(x)),
        (f(g(x)), "derivative of f (an unknown function)", g(x)),
        (sympy.sin(x**2), "derivative of sin", x**2),
        (sympy.Heaviside(x - 1, 0), "derivative of Heaviside: 0 where u ≠ 0", x - 1),
    ],
)
def test_match_outer(expr: sympy.Expr, name: str, inner: sympy.Expr) -> None:
    """match_outer names the outer rule and the inner part, and rebuilds the outer function."""
    matched = match_outer(expr, x)
    assert matched is not None
    assert matched.rule.name == name
    assert matched.inner == inner
    assert matched.outer(inner) == expr


@pytest.mark.parametrize(
    "expr",
    [
        (3 * x**2 + 1) ** 5,
        2 ** (x**2),
        sympy.exp(sympy.cos(x)),
        1 / (x + 1),
        sympy.sqrt(x**2 + 1),
        sympy.log(x**2 + 1),
        functions.softplus(2 * x),
        sympy.sech(x**2),
        sympy.csch(3 * x),
        sympy.coth(x**2 + 1),
        sympy.asinh(x**2),
        sympy.atanh(x / 2),
        sympy.acot(x**2),
    ],
)
def test_rule_and_inner_give_the_chain_rule(expr: sympy.Expr) -> None:
    """F′(inner) · inner′ from the matched rule equals sympy's derivative of the whole."""
    matched = match_outer(expr, x)
    assert matched is not None
    chained = matched.rule.derivative(matched.inner) * sympy.diff(matched.inner, x)
    assert sympy.simplify(chained - sympy.diff(expr, x)) == 0


def test_abstract_rule_is_a_derivative_of_the_unknown() -> None:
    """The rule for f(g(x)) gives f′(u) as an unevaluated Derivative."""
    matched = match_outer(f(g(x)), x)
    assert matched is not None
    assert matched.rule.derivative(u) == sympy.Derivative(f(u), u)


@pytest.mark.parametrize(
    "expr",
    [x, x + 1, x * y, sympy.Integer(3), x**x, sympy.Max(x, 0), y**2, f(x, y)],
    ids=str,
)
def test_non_compositions_match_nothing(expr: sympy.Expr) -> None:
    """Sums, products, constants, x^x, Max, powers without x and multi-argument calls: None."""
    assert match_outer(expr, x) is None
