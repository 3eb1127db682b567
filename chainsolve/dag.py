"""Walks over a sympy expression as the DAG it is in memory: each shared part is visited once.

sympy's own walks (``atoms``, ``count_ops``, ``preorder_traversal``) visit a part once per
occurrence, so on a flattened chain of k diamonds (2ᵏ leaves written out) they take 2ᵏ steps.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy


def tree_size(expr: sympy.Basic, limit: int) -> int:
    """The number of nodes of ``expr`` written out as a tree, counted on its DAG (stops past ``limit``)."""
    sizes: dict[sympy.Basic, int] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in sizes:
            continue
        if expanded or not node.args:
            sizes[node] = min(limit + 1, 1 + sum(sizes[arg] for arg in node.args))
            continue
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in sizes)
    return sizes[expr]


def atoms_of(expr: sympy.Basic, *types: type) -> set[sympy.Basic]:
    """The subexpressions of ``expr`` that are instances of ``types`` (``expr.atoms(*types)``).

    >>> x = sympy.Symbol("x")
    >>> sorted(atoms_of(sympy.sin(x) + sympy.cos(sympy.sin(x)), sympy.sin), key=str)
    [sin(x)]
    """
    found: set[sympy.Basic] = set()
    seen: set[sympy.Basic] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, types):
            found.add(node)
        stack.extend(arg for arg in node.args if arg not in seen)
    return found


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
    done: dict[sympy.Basic, sympy.Basic] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        given = stop(node)
        if given is not None:
            done[node] = given
        elif not node.args:
            done[node] = node
        elif not expanded:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in done)
        else:
            done[node] = build(node, tuple(done[arg] for arg in node.args))
    return done[expr]
