"""LaTeX Leibniz fractions: orders (d^2/dx^2, ∂^2 z/∂y ∂x) and names (\\mathrm{loss}, w_1) read as meant."""

from __future__ import annotations

import pytest
import sympy
from click.testing import CliRunner

import chainsolve
from chainsolve.cli import main
from chainsolve.derivation import flatten_definitions
from chainsolve.errors import ParseError
from chainsolve.latex_input import translate
from chainsolve.parsing import parse_expression, parse_problem
from chainsolve.problem import make_symbol

x, y, t = (make_symbol(name) for name in "xyt")


def _read(text: str) -> sympy.Expr:
    """The target of ``text`` as read, every definition put in."""
    problem = parse_problem(text)
    return flatten_definitions(problem)[make_symbol(problem.target)]


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# What each input must mean: the expression (in sympy, written by the test), the variables in
# the order they differentiate, and the order.
_SECOND_DERIVATIVES = [
    (r"\frac{\partial^2}{\partial x^2}(x^3 y)", x**3 * y, ("x",), 2),
    (r"\frac{\partial^{2}}{\partial x^{2}}\left(x^3 y\right)", x**3 * y, ("x",), 2),
    (r"\frac{\partial^2 z}{\partial x^2} = x^3 y", x**3 * y, ("x",), 2),
    (r"\frac{\partial^2 z}{\partial y \partial x} = x^3 y^2", x**3 * y**2, ("x", "y"), 2),
    (r"\frac{\partial^2 z}{\partial x\,\partial y} = x^3 y^2", x**3 * y**2, ("y", "x"), 2),
    (r"\frac{d^2 y}{dx^2} = \sin(x^2)", sympy.sin(x**2), ("x",), 2),
    (r"\dfrac{d^{2}y}{dx^{2}} = e^{3x}", sympy.exp(3 * x), ("x",), 2),
    (r"\frac{d^2}{dx^2} x^3", x**3, ("x",), 2),
    (r"\frac{d^2}{dt^2}\left(t^4 - t\right)", t**4 - t, ("t",), 2),
    (r"\frac{d^3}{dx^3} \cos(x)", sympy.cos(x), ("x",), 3),
]


@pytest.mark.parametrize(("text", "expr", "wrt", "order"), _SECOND_DERIVATIVES)
def test_second_derivatives_in_latex_read_with_their_order_and_variables(
    text: str, expr: sympy.Expr, wrt: tuple[str, ...], order: int
) -> None:
    """\\frac{d^2 y}{dx^2} = E, \\frac{\\partial^2}{\\partial x^2}(E), ∂²z/∂y∂x: E, its variables, its order."""
    problem = parse_problem(text)
    assert (problem.wrt, problem.order) == (wrt, order)
    assert sympy.simplify(_read(text) - expr) == 0


@pytest.mark.parametrize(("text", "expr", "wrt", "order"), _SECOND_DERIVATIVES)
def test_second_derivatives_in_latex_solve_to_sympys_derivative(
    text: str, expr: sympy.Expr, wrt: tuple[str, ...], order: int
) -> None:
    """Solved as if --order (and --wrt) had been given: the last result is sympy's derivative."""
    by = [make_symbol(name) for name in wrt] * (order if len(wrt) == 1 else 1)
    solution = chainsolve.solve(text)
    assert len(solution.derivations) >= 2
    assert sympy.simplify(solution.derivations[-1].result - sympy.diff(expr, *by)) == 0


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        (r"\frac{\partial^2 z}{\partial y \partial x} = x^3 y^2 + \sin(x y)", "x", "y"),
        (r"\frac{\partial^2 z}{\partial x \partial y} = x^3 y^2 + \sin(x y)", "y", "x"),
    ],
)
def test_mixed_partial_is_taken_in_the_order_written(text: str, first: str, second: str) -> None:
    """∂²z/∂y∂x is ∂/∂y(∂z/∂x): x first, then y, and the steps say so under that name."""
    code, out, err = _cli("solve", text, "--input", "latex")
    assert code == 0, err
    assert f"Result: ∂²z/∂{second}∂{first} = " in out
    assert f"differentiate ∂z/∂{first} found above with respect to {second}" in out
    solution = chainsolve.solve(text)
    assert solution.derivations[0].steps[-1].sides[0].wrt == make_symbol(first)  # type: ignore[union-attr]
    expected = sympy.diff(x**3 * y**2 + sympy.sin(x * y), make_symbol(first), make_symbol(second))
    assert sympy.simplify(solution.derivations[-1].result - expected) == 0


@pytest.mark.parametrize(
    ("latex", "target", "wrt", "plain"),
    [
        (
            r"\frac{\partial \mathrm{loss}}{\partial w_1} = (w_1 x - y)^2",
            "loss",
            "w_1",
            "(w_1*x - y)^2",
        ),
        (r"\frac{\partial L_1}{\partial w_{12}} = w_{12}^2 x", "L_1", "w_12", "w_12^2*x"),
        (r"\frac{\partial \theta}{\partial t} = t^2 \sin(t)", "theta", "t", "t^2*sin(t)"),
        (
            r"\frac{\partial \operatorname{cost}}{\partial \theta_1} = \theta_1^2",
            "cost",
            "theta_1",
            "theta_1^2",
        ),
        (r"\frac{dy_1}{dx} = x^3", "y_1", "x", "x^3"),
        (r"\frac{d\theta}{dt} = \cos(t)", "theta", "t", "cos(t)"),
        (r"\frac{d}{d\lambda} \lambda^2", None, "lamda", "lamda^2"),
    ],
)
def test_names_inside_leibniz_fractions_are_the_names_of_the_rest_of_the_input(
    latex: str, target: str | None, wrt: str, plain: str
) -> None:
    """\\partial \\mathrm{loss}, \\partial L_1, \\partial w_1, \\partial \\theta, dy_1: the plain grammar's names."""
    problem = parse_problem(latex)
    assert problem.wrt == (wrt,)
    if target is not None:
        assert problem.target == target
    assert sympy.simplify(_read(latex) - parse_expression(plain)) == 0
    assert make_symbol(wrt) in _read(latex).free_symbols


def test_loss_by_a_subscripted_weight_solves_to_sympys_derivative() -> None:
    """The issue's example: ∂loss/∂w_1 of (w_1 x − y)² is sympy's 2x(w_1 x − y), exit 0."""
    text = r"\frac{\partial \mathrm{loss}}{\partial w_1} = (w_1 x - y)^2"
    code, out, err = _cli("solve", text, "--input", "latex")
    assert code == 0, err
    assert "Result: ∂loss/∂w₁ = " in out
    w_1 = make_symbol("w_1")
    result = chainsolve.solve(text).derivations[0].result
    assert sympy.simplify(result - sympy.diff((w_1 * x - y) ** 2, w_1)) == 0


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (r"\frac{d}{x}", "((d)/(x))"),
        (r"\frac{dx}{y}", "((d*x)/(y))"),
        (r"\frac{d^2}{dx^2} x^3", "d^2/dx^2 x^3"),
        (r"\frac{\partial^2 f}{\partial x \partial y}(x, y)", "∂^2 f/∂x ∂y(x,y)"),
    ],
)
def test_leibniz_translation_leaves_quotients_alone(text: str, plain: str) -> None:
    """Only d or ∂ over d or ∂ and a name is Leibniz's operator; the order is no factor (no 2·x³)."""
    translated, _, _ = translate(text, text, 0)
    assert translated.replace(" ", "") == plain.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"\frac{d^3}{dx^2} x^4", "the order above is 3 and the order below is 2"),
        (r"\frac{\partial^2}{\partial x} (x y)", "the order above is 2 and the order below is 1"),
        (r"\frac{\partial^3 z}{\partial x \partial y^2} = x y", "two variables, of order 2"),
        (r"\frac{\partial^2 z}{\partial x \partial y \partial t} = x y t", "order above is 2"),
        (r"\frac{d^2}{dx\,dy} x y", "an ordinary derivative is taken by one variable"),
    ],
)
def test_leibniz_orders_that_disagree_are_one_error_with_a_caret(text: str, message: str) -> None:
    """d³ over dx², a mixed partial of order 3, d over dx dy: one error, its caret on the \\frac."""
    with pytest.raises(ParseError) as raised:
        parse_problem(text)
    assert message in raised.value.message
    span = raised.value.span
    assert span is not None and span.start == text.index(r"\frac")
    code, _, err = _cli("solve", text, "--input", "latex")
    assert code == 2
    assert err.count("error:") == 1 and "^" in err


_F = sympy.Function("f", real=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\frac{\partial^2 f}{\partial x^2}(x, y)", sympy.Derivative(_F(x, y), x, x)),
        (r"\frac{\partial^2 f}{\partial x \partial y}(x, y)", sympy.Derivative(_F(x, y), x, y)),
        (r"\frac{\partial^{2} f}{\partial y^{2}}(x, y)", sympy.Derivative(_F(x, y), y, y)),
    ],
)
def test_second_partials_of_unknown_functions_read_in_latex(
    text: str, expected: sympy.Expr
) -> None:
    """\\frac{\\partial^2 f}{\\partial x^2}(x, y) is ∂²f/∂x²(x, y), as printed (it was an error)."""
    read = parse_expression(text).doit()
    assert read.func == sympy.Derivative and sympy.simplify(read - expected.doit()) == 0


def test_second_partial_of_an_unknown_function_verifies_in_latex() -> None:
    """verify "f(x, y)" --wrt x --order 2 --answer '\\frac{\\partial^2 f}{\\partial x^2}(x, y)'."""
    answer = r"\frac{\partial^2 f}{\partial x^2}(x, y)"
    assert _cli("verify", "f(x, y)", "--wrt", "x", "--order", "2", "--answer", answer)[0] == 0
    mixed = r"\frac{\partial^2 f}{\partial x \partial y}(x, y)"
    assert _cli("verify", "f(x, y)", "--wrt", "x", "--order", "2", "--answer", mixed)[0] == 1
