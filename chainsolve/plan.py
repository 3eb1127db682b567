"""Choosing the rule: ``plan(expr, var)`` returns the rule tree, dispatched on the expression's type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import sympy
from sympy.core.function import AppliedUndef

from chainsolve.functions import BY_CLASS
from chainsolve.problem import make_symbol
from chainsolve.rules import (
    HOLE,
    AbstractPartialRule,
    AbstractRule,
    ChainRule,
    ConstantMultipleRule,
    ConstantRule,
    ExponentialRule,
    FunctionRule,
    Link,
    LogarithmicRule,
    NoRule,
    PathSumRule,
    PowerRule,
    ProductRule,
    QuotientRule,
    Rule,
    SumRule,
    VariableRule,
)


def plan(expr: sympy.Expr, var: sympy.Symbol, *, typed: bool = False) -> Rule:
    """The rule tree for d(expr)/d(var); equal sub-expressions share one node.

    ``typed``: ``expr`` is a form as typed (unevaluated), whose sums keep the order the terms
    were typed in (an evaluated sum's order is sympy's printing order).

    >>> from chainsolve.problem import make_symbol
    >>> x = make_symbol("x")
    >>> tree = plan(sympy.sin(x**2), x)
    >>> tree.rule_id, tree.eval()
    ('chain', 2*x*cos(x**2))
    """
    return _Planner(var, typed=typed).plan(expr)


def plan_paths(
    target: str,
    wrt: str,
    paths: Sequence[tuple[str, ...]],
    edge_rule: Callable[[str, str], Rule],
) -> PathSumRule:
    """The multivariable chain rule for d(target)/d(wrt): one product per path, summed.

    ``edge_rule(node, input)`` gives the rule tree of one edge's local partial.
    """
    keys = tuple(
        dict.fromkeys((path[i], path[i + 1]) for path in paths for i in range(len(path) - 1))
    )
    edges = tuple(edge_rule(node, source) for node, source in keys)
    return PathSumRule(make_symbol(target), make_symbol(wrt), tuple(paths), keys, edges)


class Outer(NamedTuple):
    """An expression seen as F(argument): F written with :data:`HOLE` for its argument."""

    function: sympy.Expr
    argument: sympy.Expr


def split_outer(expr: sympy.Expr, varies: Callable[[sympy.Expr], bool]) -> Outer | None:
    """The outermost function of ``expr`` and its argument, when ``expr`` is F(g) with g varying.

    >>> from chainsolve.problem import make_symbol
    >>> x = make_symbol("x")
    >>> split_outer(sympy.sin(x**2), lambda e: e.has(x)).argument
    x**2
    """
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        # Unevaluated: sympy would fold (e^c)^HOLE into e^(c·HOLE), an exp of another argument.
        if varies(base) and not varies(exponent):
            return Outer(sympy.Pow(HOLE, exponent, evaluate=False), base)
        if varies(exponent) and not varies(base):
            return Outer(sympy.Pow(base, HOLE, evaluate=False), exponent)
        return None
    if isinstance(expr, AppliedUndef):
        if len(expr.args) == 1:
            return Outer(expr.func(HOLE), expr.args[0])
        return None
    if type(expr) in BY_CLASS and expr.args and varies(expr.args[0]):
        rest = expr.args[1:]
        if (rest and not isinstance(expr, sympy.Heaviside)) or any(varies(r) for r in rest):
            return None
        return Outer(expr.func(HOLE, *rest), expr.args[0])
    return None


class _Planner:
    """One planning pass by one variable, remembering the rule of each sub-expression."""

    def __init__(self, var: sympy.Symbol, *, typed: bool = False) -> None:
        self.var = var
        self.typed = typed
        self._known: dict[sympy.Expr, Rule] = {}
        self._varies: dict[sympy.Expr, bool] = {var: True}

    def varies(self, expr: sympy.Expr) -> bool:
        """Does ``expr`` depend on the variable? (Memoised: sympy's ``has`` walks a DAG as a tree.)"""
        known = self._varies.get(expr)
        if known is None:
            known = any(self.varies(arg) for arg in expr.args)
            self._varies[expr] = known
        return known

    def plan(self, expr: sympy.Expr) -> Rule:
        known = self._known.get(expr)
        if known is None:
            known = self._choose(expr)
            self._known[expr] = known
        return known

    def _choose(self, expr: sympy.Expr) -> Rule:
        var = self.var
        if not self.varies(expr):
            return ConstantRule(expr, var)
        if expr == var:
            return VariableRule(expr, var)
        for kind in type(expr).__mro__:
            chooser = _CHOOSERS.get(kind)
            if chooser is not None:
                return chooser(self, expr)
        return NoRule(expr, var)

    def _sum(self, expr: sympy.Expr) -> Rule:
        terms = expr.args if self.typed else expr.as_ordered_terms()
        return SumRule(expr, self.var, tuple(self.plan(t) for t in terms))

    def _product(self, expr: sympy.Expr) -> Rule:
        var = self.var
        factors = sympy.Mul.make_args(expr)
        constant = sympy.Mul(*(f for f in factors if not self.varies(f)))
        if constant != 1:
            rest = sympy.Mul(*(f for f in factors if self.varies(f)))
            return ConstantMultipleRule(expr, var, constant, self.plan(rest))
        numerator, denominator = _numerator_denominator(expr)
        if denominator != 1 and self.varies(numerator):
            return QuotientRule(expr, var, self.plan(numerator), self.plan(denominator))
        # The factors as typed (f·g for f*g, even where sympy would sort g first).
        factors = expr.args if self.typed else expr.as_ordered_factors()
        first, second = factors[0], sympy.Mul(*factors[1:], evaluate=not self.typed)
        return ProductRule(expr, var, self.plan(first), self.plan(second))

    def _power(self, expr: sympy.Expr) -> Rule:
        base, exponent = expr.args
        if self.varies(base) and self.varies(exponent):
            return LogarithmicRule(expr, self.var, self.plan(base), self.plan(exponent))
        return self._composition(expr)

    def _composition(self, expr: sympy.Expr) -> Rule:
        """F(x) by F's own rule, F(g(x)) by the chain rule (links peeled outermost first)."""
        outer = split_outer(expr, self.varies)
        if outer is None:
            return self._abstract_partial(expr)
        if outer.argument == self.var:
            return _leaf(expr, self.var)
        links: list[Link] = []
        current = expr
        while outer is not None and outer.argument != self.var:
            links.append(Link(outer.argument, _outer_rule(outer.function)))
            current = outer.argument
            outer = split_outer(current, self.varies)
        return ChainRule(expr, self.var, tuple(links), self.plan(current))

    def _abstract_partial(self, expr: sympy.Expr) -> Rule:
        # ∂f/∂x only when x fills exactly one slot: f(x, x) is ∂₁f + ∂₂f, no single partial.
        # A partial derivative of f (∂f/∂u, from an earlier order) is itself differentiated
        # the same way: ∂/∂v ∂f/∂u(u, v) = ∂²f/∂u∂v(u, v).
        function = expr.expr if isinstance(expr, sympy.Derivative) else expr
        if isinstance(function, AppliedUndef) and function.args.count(self.var) == 1:
            others = [a for a in function.args if a != self.var]
            plain = all(v.is_Symbol for v in getattr(expr, "variables", ()))
            if plain and not any(self.varies(a) for a in others):
                return AbstractPartialRule(expr, self.var)
        return NoRule(expr, self.var)


def _numerator_denominator(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """The factors with a negative exponent as a denominator, as typed: x·e⁻ˣ is no quotient."""
    top: list[sympy.Expr] = []
    bottom: list[sympy.Expr] = []
    for factor in sympy.Mul.make_args(expr):
        if isinstance(factor, sympy.Pow) and factor.exp.is_negative:
            bottom.append(factor.base ** (-factor.exp))
        else:
            top.append(factor)
    return sympy.Mul(*top), sympy.Mul(*bottom)


def _leaf(function: sympy.Expr, var: sympy.Symbol) -> Rule:
    """The rule for F(var) itself: a power, an exponential, an elementary or unknown function."""
    if isinstance(function, sympy.Pow):
        base, exponent = function.args
        if base == var:
            return PowerRule(function, var, exponent)
        return ExponentialRule(function, var, base)
    if isinstance(function, AppliedUndef):
        return AbstractRule(function, var)
    return FunctionRule(function, var, type(function))


def _outer_rule(function: sympy.Expr) -> Rule:
    """The rule for a link's outer function F(HOLE) by HOLE."""
    return _leaf(function, HOLE)


_CHOOSERS: dict[type, Callable[[_Planner, sympy.Expr], Rule]] = {
    sympy.Add: _Planner._sum,
    sympy.Mul: _Planner._product,
    sympy.Pow: _Planner._power,
    AppliedUndef: _Planner._composition,
    sympy.Function: _Planner._composition,
    sympy.Derivative: _Planner._abstract_partial,
}
