"""Tests for chainsolve.functions: sigmoid, relu and softplus as sympy functions, and the whitelist."""

from __future__ import annotations

import mpmath
import pytest
import sympy

from chainsolve.functions import (
    CONSTANTS,
    FUNCTION_ARITIES,
    FUNCTIONS,
    MPMATH_IMPLEMENTATIONS,
    relu,
    sigmoid,
    softplus,
)
from chainsolve.problem import make_symbol

x = make_symbol("x")
positive = sympy.Symbol("p", positive=True)
negative = sympy.Symbol("n", negative=True)


# --- derivatives ----------------------------------------------------------------------------


def test_sigmoid_derivative() -> None:
    """σ′ = σ(1 − σ), and it equals the derivative of 1/(1 + e^(−x))."""
    derivative = sympy.diff(sigmoid(x), x)
    assert derivative == sigmoid(x) * (1 - sigmoid(x))
    exp_form = sympy.diff(1 / (1 + sympy.exp(-x)), x)
    assert sympy.simplify(derivative.rewrite(sympy.exp) - exp_form) == 0


def test_relu_derivative_is_heaviside_zero_at_the_kink() -> None:
    """relu′ = Heaviside(x, 0): 0 at the kink x = 0, 1 to the right."""
    derivative = sympy.diff(relu(x), x)
    assert derivative == sympy.Heaviside(x, 0)
    assert derivative.subs(x, 0) == 0
    assert derivative.subs(x, 2) == 1


def test_softplus_derivative_is_sigmoid() -> None:
    """softplus′ = σ, which equals the derivative of ln(1 + e^x)."""
    assert sympy.diff(softplus(x), x) == sigmoid(x)
    log_form = sympy.diff(sympy.log(1 + sympy.exp(x)), x)
    assert sympy.simplify(sigmoid(x).rewrite(sympy.exp) - log_form) == 0


def test_chain_rule_through_activations() -> None:
    """The functions compose with sympy's chain rule: d/dx σ(x²) = σ(x²)(1 − σ(x²))·2x."""
    assert sympy.diff(sigmoid(x**2), x) == 2 * x * sigmoid(x**2) * (1 - sigmoid(x**2))


# --- values ---------------------------------------------------------------------------------


def test_exact_values() -> None:
    """σ(0) = 1/2 and softplus(0) = ln 2 exactly; other symbolic arguments stay unevaluated."""
    assert sigmoid(0) == sympy.Rational(1, 2)
    assert softplus(0) == sympy.log(2)
    assert isinstance(sigmoid(x), sigmoid) and isinstance(softplus(1), softplus)


def test_relu_values() -> None:
    """relu(3) = 3, relu(−3) = 0, relu of a positive symbol is itself, of a negative 0."""
    assert relu(3) == 3
    assert relu(-3) == 0
    assert relu(sympy.Float("-1.5")) == 0
    assert relu(positive) == positive
    assert relu(negative) == 0
    assert isinstance(relu(x), relu)


def test_float_arguments_evaluate() -> None:
    """A Float argument gives a Float value: σ(2.0) ≈ 0.8808, softplus(1.0) ≈ 1.3133."""
    assert float(sigmoid(sympy.Float(2.0))) == pytest.approx(0.8807970779778823)
    assert float(softplus(sympy.Float(1.0))) == pytest.approx(1.3132616875182228)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (sigmoid(1), 1 / (1 + mpmath.exp(-1))),
        (softplus(2), mpmath.log(1 + mpmath.exp(2))),
        (relu(x).subs(x, sympy.Rational(-1, 2)), 0),
    ],
)
def test_evalf(expr: sympy.Expr, expected: float) -> None:
    """evalf/N gives the numeric value."""
    assert float(sympy.N(expr, 30)) == pytest.approx(float(expected), rel=1e-15)


def test_assumptions() -> None:
    """On real arguments: σ and softplus are real and positive, relu real and non-negative."""
    assert sigmoid(x).is_real and sigmoid(x).is_positive
    assert softplus(x).is_real and softplus(x).is_positive
    assert relu(x).is_real and relu(x).is_nonnegative


# --- rewrites -------------------------------------------------------------------------------


def test_rewrites() -> None:
    """σ rewrites as 1/(1 + e^(−x)), relu as Max(0, x) or a Piecewise, softplus as ln(1 + e^x)."""
    assert sigmoid(x).rewrite(sympy.exp) == 1 / (1 + sympy.exp(-x))
    assert relu(x).rewrite(sympy.Max) == sympy.Max(0, x)
    assert relu(x).rewrite(sympy.Piecewise) == sympy.Piecewise((x, x > 0), (0, True))
    assert softplus(x).rewrite(sympy.exp) == sympy.log(1 + sympy.exp(x))
    assert softplus(x).rewrite(sympy.log) == sympy.log(1 + sympy.exp(x))


# --- LaTeX ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "latex"),
    [
        (sigmoid(x), r"\sigma\left(x\right)"),
        (sigmoid(x) ** 2, r"\sigma\left(x\right)^{2}"),
        (relu(x), r"\operatorname{relu}\left(x\right)"),
        (relu(x) ** 3, r"\operatorname{relu}\left(x\right)^{3}"),
        (softplus(x**2), r"\operatorname{softplus}\left(x^{2}\right)"),
        (softplus(x) ** 2, r"\operatorname{softplus}\left(x\right)^{2}"),
    ],
)
def test_latex(expr: sympy.Expr, latex: str) -> None:
    """LaTeX writes σ(…), \\operatorname{relu}(…) and \\operatorname{softplus}(…), powers outside."""
    assert sympy.latex(expr) == latex


# --- the whitelist --------------------------------------------------------------------------


def test_whitelist() -> None:
    """The input language's names map to sympy constructors; e and pi are the constants."""
    assert FUNCTIONS["ln"] is FUNCTIONS["log"] is sympy.log
    assert FUNCTIONS["arcsin"] is FUNCTIONS["asin"] is sympy.asin
    assert FUNCTIONS["sigmoid"] is sigmoid
    assert {"e": sympy.E, "pi": sympy.pi} == CONSTANTS
    assert FUNCTION_ARITIES["Heaviside"] == (1, 2)
    assert all(name in FUNCTIONS for name in FUNCTION_ARITIES)


@pytest.mark.parametrize(
    ("function", "names"),
    [
        (sympy.sech, ("sech",)),
        (sympy.csch, ("csch",)),
        (sympy.coth, ("coth",)),
        (sympy.asinh, ("asinh", "arcsinh", "arsinh")),
        (sympy.acosh, ("acosh", "arccosh", "arcosh")),
        (sympy.atanh, ("atanh", "arctanh", "artanh")),
        (sympy.acot, ("acot", "arccot")),
        (sympy.asec, ("asec", "arcsec")),
        (sympy.acsc, ("acsc", "arccsc")),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_whitelist_has_hyperbolic_and_inverse_functions(
    function: type, names: tuple[str, ...]
) -> None:
    """Every spelling of sech … acsc maps to sympy's class, and sympy's str() name is one of them."""
    assert all(FUNCTIONS[name] is function for name in names)
    # JSON derivatives are sympy's str(): its spelling must read back.
    assert str(function(x)).split("(")[0] in FUNCTIONS


def test_mpmath_implementations_for_lambdify() -> None:
    """lambdify with MPMATH_IMPLEMENTATIONS evaluates the activations like sympy.N does."""
    expr = sigmoid(x) + softplus(x) + relu(x) + sympy.Heaviside(x - 2, 0)
    function = sympy.lambdify(x, expr, modules=[MPMATH_IMPLEMENTATIONS, "mpmath"])
    for value in (-1.5, 0.0, 2.0, 3.0):
        reference = sympy.N(expr.subs(x, sympy.Float(value)), 20)
        assert float(function(mpmath.mpf(value))) == pytest.approx(float(reference), rel=1e-12)


def test_closest_function_suggests_what_a_misspelled_name_meant() -> None:
    """cosine → cos, arcsine → arcsin, sqroot → sqrt; one- and two-letter names are left alone."""
    from chainsolve.functions import closest_function

    assert closest_function("cosine") == "cos"
    assert closest_function("arcsine") == "arcsin"
    assert closest_function("Sinh") == "sinh"
    assert closest_function("sqroot") == "sqrt"
    assert closest_function("f") is None and closest_function("fg") is None
    assert closest_function("velocity") is None
