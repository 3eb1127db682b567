"""An unknown function's values and partials held as plain symbols while the algebra around them is simplified."""

from __future__ import annotations

import functools

import sympy
from sympy.core.function import AppliedUndef

from chainsolve.dag import bottom_up, has_any, operations

#: The node types of an unknown function's value or partial (a partial at a point is a Subs).
UNKNOWN_PARTS = (AppliedUndef, sympy.Derivative, sympy.Subs)


class Masked:
    """``expr`` with each outermost unknown-function part (f(u), ∂f/∂u, ∂₁f(x·y, x + y))
    replaced by a symbol: sympy's moves (factor_terms, powsimp, cancel) then neither rebuild
    the parts (5–10 ms a sum of Subs) nor rewrite the arguments inside them.

    The masked form is weighed as the original: each part counts its own operations
    wherever it occurs, and depends on its own symbols.
    """

    def __init__(self, expr: sympy.Expr) -> None:
        self.original = expr
        self.expr, self._parts = _as_symbols(expr)

    # Weighed only when a move changed something (most leave a sum of partials as it is).
    @functools.cached_property
    def _ops(self) -> dict[sympy.Symbol, int]:
        return {symbol: operations(part) for symbol, part in self._parts.items()}

    @functools.cached_property
    def _free(self) -> dict[sympy.Symbol, set[sympy.Basic]]:
        return {symbol: part.free_symbols for symbol, part in self._parts.items()}

    def ops(self, expr: sympy.Expr) -> int:
        """sympy.count_ops of masked ``expr`` with its parts put back."""
        own = operations(expr)
        if not self._ops:
            return own
        held: set[sympy.Symbol] = expr.free_symbols & self._ops.keys()
        return own + sum(self._ops[s] * int(expr.count(s)) for s in held)

    def free_symbols(self, expr: sympy.Expr) -> set[sympy.Symbol]:
        """The free symbols of masked ``expr`` with its parts put back."""
        own: set[sympy.Symbol] = set(expr.free_symbols)
        held = own & self._free.keys()
        return (own - held).union(*(self._free[s] for s in held))

    def depend_on(self, expr: sympy.Expr, symbol: sympy.Symbol) -> bool:
        """Does a part held in masked ``expr`` depend on ``symbol`` (f(x) on x, not f(3))?"""
        return any(symbol in self._free[s] for s in expr.free_symbols & self._free.keys())

    def put_back(self, expr: sympy.Expr) -> sympy.Expr:
        """Masked ``expr`` with the parts put back (the original itself when it is unchanged)."""
        if expr is self.expr:
            return self.original
        if not self._parts:
            return expr

        def build(node: sympy.Basic, args: tuple[sympy.Basic, ...]) -> sympy.Basic:
            if node.is_Mul and len(args) == 2 and args[0].is_Rational and args[1].is_Add:
                # 7(u + v)/2 or −(u + v) as factor_terms left it: rebuilt plainly, sympy
                # spreads the number over the sum again.
                return sympy.Mul(*args, evaluate=False)
            return node.func(*args)

        result: sympy.Expr = bottom_up(expr, build, self._parts.get)
        return result


def _as_symbols(expr: sympy.Expr) -> tuple[sympy.Expr, dict[sympy.Symbol, sympy.Expr]]:
    """``expr`` with each outermost unknown-function part as a symbol, and each symbol's part."""
    if not has_any(expr, *UNKNOWN_PARTS):
        return expr, {}
    parts: dict[sympy.Expr, sympy.Symbol] = {}
    walk = sympy.preorder_traversal(expr)
    for node in walk:
        if isinstance(node, UNKNOWN_PARTS):
            walk.skip()
            if node not in parts:
                # Named by position, so that the same expression is masked the same way every
                # time (a Dummy's number would depend on what ran before).
                name = f"<unknown part {len(parts)}>"
                real = node.is_real is True
                parts[node] = sympy.Symbol(name, real=True) if real else sympy.Symbol(name)
    return expr.xreplace(parts), {symbol: node for node, symbol in parts.items()}
