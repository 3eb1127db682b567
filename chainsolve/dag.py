"""Walks over a sympy expression as the DAG it is in memory: each shared part is visited once.

sympy's own walks (``atoms``, ``count_ops``, ``preorder_traversal``) visit a part once per
occurrence, so on a flattened chain of k diamonds (2ᵏ leaves written out) they take 2ᵏ steps.
The walks here remember parts by identity: comparing two equal parts that are different
objects walks both written out (sympy's ``==`` recurses), which is what they avoid.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

import sympy

_Value = TypeVar("_Value")


def fold(
    expr: sympy.Basic,
    combine: Callable[[sympy.Basic, tuple[_Value, ...]], _Value],
    stop: Callable[[sympy.Basic], _Value | None] = lambda node: None,
) -> _Value:
    """The value of ``expr`` computed innermost first, each shared part once, without recursion.

    ``stop(node)`` may give a node's value outright (its parts are then not visited); any
    other node's value is ``combine(node, its parts' values)`` (a node without parts: ``()``).

    >>> x = sympy.Symbol("x")
    >>> fold(sympy.sin(x) + x, lambda node, sizes: 1 + sum(sizes))
    4
    """
    done: dict[int, _Value] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        given = stop(node)
        if given is not None:
            done[id(node)] = given
        elif expanded or not node.args:
            done[id(node)] = combine(node, tuple(done[id(arg)] for arg in node.args))
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if id(arg) not in done)
    return done[id(expr)]


def tree_size(expr: sympy.Basic, limit: int) -> int:
    """The number of nodes of ``expr`` written out as a tree, counted on its DAG (stops past ``limit``)."""
    return fold(expr, lambda node, sizes: min(limit + 1, 1 + sum(sizes)))


def atoms_of(expr: sympy.Basic, *types: type) -> set[sympy.Basic]:
    """The subexpressions of ``expr`` that are instances of ``types`` (``expr.atoms(*types)``).

    >>> x = sympy.Symbol("x")
    >>> sorted(atoms_of(sympy.sin(x) + sympy.cos(sympy.sin(x)), sympy.sin), key=str)
    [sin(x)]
    """
    return _interned(node for node in distinct_parts(expr) if isinstance(node, types))


def distinct_parts(expr: sympy.Basic) -> Iterator[sympy.Basic]:
    """Every part of ``expr``, ``expr`` included, each object once (by identity, depth first).

    Shared parts are not walked again (a flattened chain of k diamonds repeats its parts 2ᵏ
    times) and never compared (an equality test costs sympy canonical forms of Subs); a
    caller may stop early.
    """
    seen: set[int] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(arg for arg in node.args if id(arg) not in seen)


def bottom_up(
    expr: sympy.Basic,
    build: Callable[[sympy.Basic, tuple[sympy.Basic, ...]], sympy.Basic],
    stop: Callable[[sympy.Basic], sympy.Basic | None] = lambda node: None,
) -> sympy.Basic:
    """``expr`` rebuilt innermost first, each shared part once, without recursion.

    ``stop(node)`` may give a node's result outright (its parts are then not visited); a
    node without parts is kept; any other node is ``build(node, its parts' results)``.

    >>> x = sympy.Symbol("x")
    >>> two = lambda node: sympy.Integer(2) if node == x else None
    >>> bottom_up(sympy.sin(x) + x, lambda node, args: node.func(*args), two)
    sin(2) + 2
    """
    interned: dict[sympy.Basic, sympy.Basic] = {}

    def rebuilt(node: sympy.Basic, args: tuple[sympy.Basic, ...]) -> sympy.Basic:
        if not node.args:
            return node
        built = build(node, args)
        # Equal results become one object, so that comparing them later is cheap.
        return interned.setdefault(built, built)

    return fold(expr, rebuilt, stop)


def _interned(nodes: Iterable[sympy.Basic]) -> set[sympy.Basic]:
    """A set of parts, smallest first, so that equal parts are compared on small ones only."""
    return set(sorted(nodes, key=lambda node: tree_size(node, 64)))


def free_symbols(expr: sympy.Basic) -> set[sympy.Basic]:
    """``expr.free_symbols``, each shared part visited once.

    Where something binds a symbol (a derivative's variable, a ``Subs`` or ``Lambda``), sympy's
    own walk, which knows which symbols are bound, is used.
    """
    if atoms_of(expr, *_BINDING):
        return set(expr.free_symbols)
    return atoms_of(expr, sympy.Symbol)


def has_any(expr: sympy.Basic, *types: type) -> bool:
    """``expr.has(*types)`` for types, each shared part visited once."""
    return bool(atoms_of(expr, *types))


def replace_nodes(
    expr: sympy.Basic, mapping: Mapping[sympy.Basic, sympy.Basic], *, evaluate: bool = True
) -> sympy.Basic:
    """``expr.xreplace(mapping)``, each shared part rebuilt once.

    ``evaluate`` false: each rebuilt node is left as built (2·(b + w·x − y) is not multiplied
    out), node by node: sympy's global ``evaluate(False)`` clears its whole cache at each switch.
    """
    if not mapping:
        return expr

    def build(node: sympy.Basic, args: tuple[sympy.Basic, ...]) -> sympy.Basic:
        if args == node.args:
            return node
        return node.func(*args) if evaluate else node.func(*args, evaluate=False)

    return bottom_up(expr, build, mapping.get)


class Shapes:
    """Numbers for the shapes of functions, the same number for the same shape (a solution's)."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[object, ...], int] = {}
        self._known: dict[tuple[sympy.Basic, sympy.Basic], int] = {}

    def of(self, function: sympy.Basic, argument: sympy.Basic) -> int:
        """The number of the function ``argument ↦ function``: sin(u₁) by u₁ and sin(u₂) by u₂
        share one; the order of a sum's terms or a product's factors does not count.

        Each shared part is visited once: rebuilding ``function`` with a blank for ``argument``
        (``xreplace``) would make sympy evaluate, and ask assumptions of, every new part.

        >>> x, y = sympy.symbols("x y")
        >>> shapes = Shapes()
        >>> shapes.of(sympy.sin(x) + 1, x) == shapes.of(sympy.sin(y) + 1, y)
        True
        >>> shapes.of(sympy.sin(x) + y, x) == shapes.of(sympy.sin(y) + x, x)
        False
        """
        known = self._known.get((function, argument))
        if known is None:
            known = self._known[function, argument] = self._walk(function, argument)
        return known

    def _walk(self, function: sympy.Basic, argument: sympy.Basic) -> int:
        def at_argument(node: sympy.Basic) -> int | None:
            return self._number(("argument",)) if node is argument or node == argument else None

        def number(node: sympy.Basic, parts: tuple[int, ...]) -> int:
            if not node.args:
                return self._number(("atom", node))
            if isinstance(node, (sympy.Add, sympy.Mul)):
                parts = tuple(sorted(parts))
            rest = node._hashable_content()[len(node.args) :]
            return self._number((type(node), rest, parts))

        return fold(function, number, at_argument)

    def _number(self, shape: tuple[object, ...]) -> int:
        return self._numbers.setdefault(shape, len(self._numbers))


def derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """sympy's derivative of ``expr`` by ``var``, each shared part differentiated once.

    ``sympy.diff`` differentiates a shared part once per occurrence (2ᵏ times for a chain of
    k diamonds written out). This applies sympy's own rules node by node — a sum's terms, a
    product's factors, a power's base and exponent, a function's ``fdiff`` for each argument
    — remembering each part's derivative; any other kind of node is handed to ``sympy.diff``
    whole. The result is the expression ``sympy.diff`` returns (a property test compares them
    on random expressions of the language), at a quarter of its cost even on small ones:
    sympy.diff builds a Derivative and asks assumptions at every node.
    """
    free: dict[int, bool] = {}
    done: dict[int, sympy.Expr] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if node is var:
            done[id(node)] = sympy.S.One
            free[id(node)] = False
        elif not node.args or not _differentiable_by_parts(node):
            depends = var in free_symbols(node)
            done[id(node)] = sympy.diff(node, var) if depends else sympy.S.Zero
            free[id(node)] = not depends
        elif not expanded:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if id(arg) not in done)
        else:
            free[id(node)] = all(free[id(arg)] for arg in node.args)
            done[id(node)] = sympy.S.Zero if free[id(node)] else _by_parts(node, done)
    return done[id(expr)]


#: Nodes that bind a symbol: sympy's free_symbols leaves their variables out.
_BINDING = (sympy.Derivative, sympy.Subs, sympy.Lambda, sympy.Integral, sympy.Sum, sympy.Product)


def _differentiable_by_parts(node: sympy.Basic) -> bool:
    """Does :func:`_by_parts` apply sympy's own rule for this kind of node?"""
    from sympy.core.function import AppliedUndef, Function

    if isinstance(node, (sympy.Add, sympy.Mul, sympy.Pow)):
        return True
    return (
        isinstance(node, Function)
        and not isinstance(node, AppliedUndef)
        and type(node)._eval_derivative is Function._eval_derivative
    )


def _by_parts(node: sympy.Basic, done: dict[int, sympy.Expr]) -> sympy.Expr:
    """The derivative of ``node`` from its parts' (``done``), as sympy's ``_eval_derivative`` does."""
    args = list(node.args)
    parts = [done[id(arg)] for arg in args]
    if isinstance(node, sympy.Add):
        return sympy.Add(*parts)
    if isinstance(node, sympy.Mul):
        terms = [
            sympy.Mul(*args[:index], part, *args[index + 1 :])
            for index, part in enumerate(parts)
            if part != 0
        ]
        return sympy.Add(*terms)
    if isinstance(node, sympy.Pow):
        (base, exponent), (d_base, d_exponent) = args, parts
        return node * (d_exponent * sympy.log(base) + d_base * exponent / base)
    terms = [_fdiff(node, index) * part for index, part in enumerate(parts, start=1) if part != 0]
    return sympy.Add(*terms)


def _fdiff(node: sympy.Basic, index: int) -> sympy.Expr:
    """The function's derivative in its ``index``-th argument, with sympy's fallback where it has none."""
    from sympy.core.function import ArgumentIndexError, Function

    try:
        return node.fdiff(index)
    except ArgumentIndexError:
        return Function.fdiff(node, index)


def same(a: sympy.Basic, b: sympy.Basic) -> bool:
    """``a == b`` structurally, each pair of shared parts compared once.

    sympy's ``==`` compares two equal parts that are different objects written out.
    """
    agreed: set[tuple[int, int]] = set()
    stack: list[tuple[sympy.Basic, sympy.Basic]] = [(a, b)]
    while stack:
        left, right = stack.pop()
        if left is right or (id(left), id(right)) in agreed:
            continue
        if type(left) is not type(right) or hash(left) != hash(right):
            return False
        if not left.args or not right.args:
            if left != right:
                return False
        elif (
            len(left.args) != len(right.args)
            or left._hashable_content()[len(left.args) :]
            != right._hashable_content()[len(right.args) :]
        ):
            return False
        else:
            stack.extend(zip(left.args, right.args, strict=True))
        agreed.add((id(left), id(right)))
    return True


#: Expressions whose operations are remembered at most (the least recently asked forgotten).
OPERATION_COUNTS = 4096


@functools.lru_cache(maxsize=OPERATION_COUNTS)
def operations(expr: sympy.Basic) -> int:
    """``sympy.count_ops(expr)``, counted once per expression in the process.

    Tidying, the textbook rewrites, the claim checks and the graph's sizes each ask it of
    the same results (15 of the 40 calls on ``z = exp(x*y)…`` repeat one, 0.1–0.5 ms each).
    """
    return int(sympy.count_ops(expr))
