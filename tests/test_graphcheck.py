"""Tests for chainsolve.graphcheck: finite differences are trusted only once they settle."""

from __future__ import annotations

import mpmath
import pytest
import sympy

from chainsolve.api import load_problem, solve_parsed
from chainsolve.graph import build_graph
from chainsolve.graphcheck import _difference, central_difference, forward, reverse
from chainsolve.numeric import Undefined

x = sympy.Symbol("x")


def _graph(source: str):  # type: ignore[no-untyped-def]
    return build_graph(load_problem(source, wrt="x"))


def test_a_fast_turning_function_gets_its_settled_difference_not_a_one_step_guess() -> None:
    """sin(10¹²x²) turns faster than a step of 10⁻¹³ resolves at 40 digits: that one quotient is
    1% off; the settled estimate agrees with sympy's derivative, evaluated at 60 digits."""
    graph = _graph("f = sin(u); u = 1000000000000*x^2")
    point = {"x": mpmath.mpf("1.25")}  # exact in binary: the reference is at the same point
    reference = sympy.diff(sympy.sin(10**12 * x**2), x).subs(x, sympy.Rational(5, 4))
    with mpmath.workdps(40):
        truth = mpmath.mpf(str(sympy.N(reference, 60)))
        one_step = _difference(graph, "x", point, 40, 40 // 3)
        settled = central_difference(graph, "x", point)
        adjoint = reverse(graph, forward(graph, point))["x"]
        assert abs(one_step - truth) > mpmath.mpf(10) ** -3 * abs(truth)
        assert abs(settled - truth) < mpmath.mpf(10) ** -20 * abs(truth)
        assert abs(adjoint - truth) < mpmath.mpf(10) ** -20 * abs(truth)


def test_a_difference_that_never_settles_is_refused_not_guessed() -> None:
    """sin(10⁶⁰x²) cannot be resolved by any step at up to 160 digits: Undefined, no estimate."""
    graph = _graph("f = sin(u); u = 10^60*x^2")
    with mpmath.workdps(40), pytest.raises(Undefined, match="did not settle"):
        central_difference(graph, "x", {"x": mpmath.mpf("1.25")})


def test_a_smooth_function_settles_at_the_first_precision() -> None:
    """x³ + eˣ: the estimate is the derivative to far within the checks' tolerance."""
    graph = _graph("f = u + v; u = x^3; v = exp(x)")
    with mpmath.workdps(40):
        estimate = central_difference(graph, "x", {"x": mpmath.mpf("0.75")})
        truth = 3 * mpmath.mpf("0.75") ** 2 + mpmath.exp(mpmath.mpf("0.75"))
        assert abs(estimate - truth) < mpmath.mpf(10) ** -20


def test_backpropagation_through_fast_turning_diamonds_is_not_called_wrong() -> None:
    """Five sin diamonds (32 paths, accumulated): at x ≈ 2.76 the gradient is ~7·10³⁹, which a
    one-step difference at 40 digits missed, so a right derivation was replaced by sympy's with
    "a bug in chainsolve". Now its finite-difference check settles and agrees."""
    layers = ["f = c5"]
    for k in range(5, 1, -1):
        layers += [f"c{k} = a{k}*b{k}", f"a{k} = sin(c{k - 1})", f"b{k} = c{k - 1}^2"]
    layers += ["c1 = a1 + b1", "a1 = exp(x)", "b1 = x^2"]
    solution = solve_parsed(load_problem("; ".join(layers), wrt="x"))
    (derivation,) = solution.derivations
    assert not any(note.kind == "wrong_step" for note in solution.notes)
    (check,) = [s.check for s in derivation.steps if s.phrase == "graph_backprop_check"]
    assert check.status == "numeric" and not check.differs


def test_passes_are_settled_at_the_precision_their_values_need() -> None:
    """sin(eˣ) at x = 100: 40 digits leave the angle wrong, 80 are confirmed by 160; the adjoint
    there is e¹⁰⁰·cos(e¹⁰⁰), as sympy evaluates it at 200 digits."""
    from chainsolve.graphcheck import settled_passes

    graph = _graph("y = sin(u); u = exp(x)")
    digits, _, adjoints = settled_passes(graph, lambda: {"x": mpmath.mpf(100)})  # type: ignore[misc]
    truth = sympy.N(sympy.exp(100) * sympy.cos(sympy.exp(100)), 60)
    assert digits == 80
    with mpmath.workdps(60):
        error = abs(adjoints["x"] - mpmath.mpf(str(truth)))
        assert error < mpmath.mpf(10) ** -20 * abs(adjoints["x"])
