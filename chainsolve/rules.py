"""The table of elementary derivatives, each with its human name: what to do with the outermost operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy
from sympy.core.function import AppliedUndef

from chainsolve import functions

Derivative = Callable[[sympy.Expr], sympy.Expr]


@dataclass(frozen=True, slots=True)
class ElementaryRule:
    """d/du F(u) = F′(u) for one elementary function F, e.g. "derivative of sin": sin′(u) = cos(u)."""

    name: str
    derivative: Derivative


def _sqrt_one_minus_square(u: sympy.Expr) -> sympy.Expr:
    return sympy.sqrt(1 - u**2)


def _sqrt_square_minus_one(u: sympy.Expr) -> sympy.Expr:
    return sympy.sqrt(u**2 - 1)


def _arcsec_denominator(u: sympy.Expr) -> sympy.Expr:
    # |u|·√(u² − 1): sympy's u²·√(1 − 1/u²) on the real domain |u| > 1, where u²/√(u²) = |u|.
    return sympy.Abs(u) * _sqrt_square_minus_one(u)


#: One rule per function of the input language (sympy class → rule).
ELEMENTARY: dict[Any, ElementaryRule] = {
    sympy.sin: ElementaryRule("derivative of sin", lambda u: sympy.cos(u)),
    sympy.cos: ElementaryRule("derivative of cos", lambda u: -sympy.sin(u)),
    sympy.tan: ElementaryRule("derivative of tan", lambda u: sympy.sec(u) ** 2),
    sympy.sec: ElementaryRule("derivative of sec", lambda u: sympy.sec(u) * sympy.tan(u)),
    sympy.csc: ElementaryRule("derivative of csc", lambda u: -sympy.csc(u) * sympy.cot(u)),
    sympy.cot: ElementaryRule("derivative of cot", lambda u: -(sympy.csc(u) ** 2)),
    sympy.asin: ElementaryRule("derivative of arcsin", lambda u: 1 / _sqrt_one_minus_square(u)),
    sympy.acos: ElementaryRule("derivative of arccos", lambda u: -1 / _sqrt_one_minus_square(u)),
    sympy.atan: ElementaryRule("derivative of arctan", lambda u: 1 / (1 + u**2)),
    sympy.acot: ElementaryRule("derivative of arccot", lambda u: -1 / (1 + u**2)),
    sympy.asec: ElementaryRule("derivative of arcsec", lambda u: 1 / _arcsec_denominator(u)),
    sympy.acsc: ElementaryRule("derivative of arccsc", lambda u: -1 / _arcsec_denominator(u)),
    sympy.sinh: ElementaryRule("derivative of sinh", lambda u: sympy.cosh(u)),
    sympy.cosh: ElementaryRule("derivative of cosh", lambda u: sympy.sinh(u)),
    sympy.tanh: ElementaryRule("derivative of tanh", lambda u: 1 - sympy.tanh(u) ** 2),
    sympy.sech: ElementaryRule("derivative of sech", lambda u: -sympy.sech(u) * sympy.tanh(u)),
    sympy.csch: ElementaryRule("derivative of csch", lambda u: -sympy.csch(u) * sympy.coth(u)),
    sympy.coth: ElementaryRule("derivative of coth", lambda u: 1 - sympy.coth(u) ** 2),
    sympy.asinh: ElementaryRule("derivative of arcsinh", lambda u: 1 / sympy.sqrt(u**2 + 1)),
    # The textbook 1/√(u² − 1), written as sympy does so that it is real exactly where
    # arccosh is (u > 1), not also for u < −1: there a step could not be confirmed.
    sympy.acosh: ElementaryRule(
        "derivative of arccosh", lambda u: 1 / (sympy.sqrt(u - 1) * sympy.sqrt(u + 1))
    ),
    sympy.atanh: ElementaryRule("derivative of arctanh", lambda u: 1 / (1 - u**2)),
    sympy.exp: ElementaryRule("derivative of exp", lambda u: sympy.exp(u)),
    sympy.log: ElementaryRule("derivative of ln", lambda u: 1 / u),
    sympy.Abs: ElementaryRule("derivative of |u| (its sign)", lambda u: sympy.sign(u)),
    functions.sigmoid: ElementaryRule(
        "derivative of sigmoid: σ(1 − σ)",
        lambda u: functions.sigmoid(u) * (1 - functions.sigmoid(u)),
    ),
    functions.relu: ElementaryRule(
        "derivative of relu: 1 where u > 0, else 0", lambda u: sympy.Heaviside(u, 0)
    ),
    functions.softplus: ElementaryRule("derivative of softplus: σ", lambda u: functions.sigmoid(u)),
    # Piecewise constant: the derivative is 0 wherever it exists (sympy's own is a DiracDelta).
    sympy.sign: ElementaryRule("derivative of sign: 0 where u ≠ 0", lambda u: sympy.S.Zero),
}


@dataclass(frozen=True, slots=True)
class Outer:
    """The outermost operation of an expression seen as F(inner): which F, which rule, which inner part.

    ``outer(u)`` rebuilds F with a fresh variable ``u`` in place of ``inner``.
    """

    rule: ElementaryRule
    inner: sympy.Expr
    outer: Callable[[sympy.Expr], sympy.Expr]


def _power_rule(exponent: sympy.Expr) -> ElementaryRule:
    if exponent == sympy.Rational(1, 2):
        name = "square root rule"
    elif exponent == -1:
        name = "power rule (reciprocal)"
    else:
        name = "power rule"
    return ElementaryRule(name, lambda u: exponent * u ** (exponent - 1))


def _abstract_rule(function: type) -> ElementaryRule:
    name = function.__name__

    def derivative(u: sympy.Expr) -> sympy.Expr:
        return sympy.Derivative(function(u), u)

    return ElementaryRule(f"derivative of {name} (an unknown function)", derivative)


def match_outer(expr: Any, wrt: sympy.Symbol) -> Outer | None:
    """The elementary rule for the outermost operation of ``expr`` (as a function of ``wrt``), if any.

    >>> x = sympy.Symbol("x", real=True)
    >>> m = match_outer(sympy.sin(x**2), x)
    >>> m.rule.name, m.inner
    ('derivative of sin', x**2)
    """
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        if not exponent.has(wrt) and base.has(wrt):
            return Outer(_power_rule(exponent), base, lambda u: u**exponent)
        if not base.has(wrt) and exponent.has(wrt):
            if base == sympy.E:
                return Outer(ELEMENTARY[sympy.exp], exponent, sympy.exp)
            rule = ElementaryRule(
                "exponential rule: d/du aᵘ = aᵘ·ln(a)", lambda u: base**u * sympy.log(base)
            )
            return Outer(rule, exponent, lambda u: base**u)
        return None
    if isinstance(expr, AppliedUndef) and len(expr.args) == 1:
        function = expr.func
        return Outer(_abstract_rule(function), expr.args[0], function)
    if isinstance(expr, sympy.Heaviside):
        # Heaviside(u) or Heaviside(u, H(0)): piecewise constant, like sign.
        step = ElementaryRule("derivative of Heaviside: 0 where u ≠ 0", lambda u: sympy.S.Zero)
        rest = expr.args[1:]
        return Outer(step, expr.args[0], lambda u: sympy.Heaviside(u, *rest))
    for kind, rule in ELEMENTARY.items():
        if isinstance(expr, kind) and len(expr.args) == 1:
            argument: sympy.Expr = expr.args[0]
            return Outer(rule, argument, kind)
    return None
