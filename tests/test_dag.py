"""Tests of chainsolve.dag: walks that visit each shared part of an expression once."""

from __future__ import annotations

import sympy

from chainsolve.dag import atoms_of, tree_size

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
