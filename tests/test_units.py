"""Tests of chainsolve.units: the unknown quantity's unit inferred from the equation's terms."""

from __future__ import annotations

import pytest
import sympy

from chainsolve.problem import make_symbol
from chainsolve.units import Units, infer, split_unit

V, r, h, A = (make_symbol(name) for name in ("V", "r", "h", "A"))


def _unit_part(term: sympy.Expr) -> sympy.Expr:
    """The units of a term once its quantities are units: the product without its number."""
    expanded = sympy.powsimp(sympy.expand(term))
    return expanded.as_independent(*expanded.free_symbols, as_Add=False)[1]


def _unit(text: str) -> sympy.Expr:
    _, unit = split_unit(f"1 {text}")
    assert unit is not None
    return unit


@pytest.mark.parametrize(
    ("terms", "given", "unknown"),
    [
        ((V, -sympy.pi / 3 * r**2 * h), {"V": "cm^3", "r": "cm"}, h),
        ((V, -4 * sympy.pi / 3 * r**3), {"V": "m^3"}, r),
        ((A, -sympy.pi * r**2), {"A": "ft^2"}, r),
        ((V, -4 * sympy.pi / 3 * r**3), {"r": "cm"}, V),
    ],
)
def test_unknown_unit_is_the_positive_root_sympy_solve_finds(
    terms: tuple[sympy.Expr, ...], given: dict[str, str], unknown: sympy.Symbol
) -> None:
    """infer's unit for the unknown quantity is sympy.solve's one root of the terms' unit equation."""
    units = Units({name: _unit(text) for name, text in given.items()}, None)
    found = infer(terms, units, unknown, "test")
    placeholder = sympy.Symbol("u", positive=True)
    known = {make_symbol(name): unit for name, unit in units.of.items()}
    known[unknown] = placeholder
    left, right = (_unit_part(t.xreplace(known)) for t in terms)
    equation = left - right
    assert sympy.solve(equation, placeholder) == [found]
