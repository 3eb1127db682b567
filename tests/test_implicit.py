"""Tests for chainsolve.implicit: dy/dx on a curve, checked against −F_x/F_y and sympy's idiff."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

import chainsolve
from chainsolve.api import check_curve
from chainsolve.cli import main
from chainsolve.errors import ChainsolveError, ParseError, ProblemError
from chainsolve.parsing import parse_equation
from chainsolve.problem import make_symbol
from tests.conftest import compile_latex

x, y, r = (make_symbol(name) for name in "xyr")

#: Each curve as typed, and the same F(x, y) = lhs − rhs built directly in sympy (the oracle's input).
CURVES: list[tuple[str, sympy.Expr]] = [
    ("x^2 + y^2 = 25", x**2 + y**2 - 25),
    ("x^3 + y^3 = 6x*y", x**3 + y**3 - 6 * x * y),
    ("x^3 + y^3 = 6*x*y", x**3 + y**3 - 6 * x * y),
    ("sin(x*y) = x + y", sympy.sin(x * y) - x - y),
    ("e^(x*y) = x - y", sympy.exp(x * y) - x + y),
    ("x^2*y + y^3 = 2", x**2 * y + y**3 - 2),
    ("ln(y) = x*y", sympy.log(y) - x * y),
    ("x*y = 1", x * y - 1),
    ("y^2 = x^3 + x", y**2 - x**3 - x),
    ("x^2 - x*y + y^2 = 3", x**2 - x * y + y**2 - 3),
    ("cos(y) = x", sympy.cos(y) - x),
    ("y = sin(x + y)", y - sympy.sin(x + y)),
    ("sqrt(x) + sqrt(y) = 4", sympy.sqrt(x) + sympy.sqrt(y) - 4),
    ("x/y + y/x = 3", x / y + y / x - 3),
    ("tan(x*y) = y", sympy.tan(x * y) - y),
    ("exp(y) = x^2 + y", sympy.exp(y) - x**2 - y),
]


@pytest.mark.parametrize(("text", "f"), CURVES, ids=[c[0] for c in CURVES])
def test_dy_dx_equals_partials_and_idiff(text: str, f: sympy.Expr) -> None:
    """dy/dx equals −F_x/F_y and sympy.idiff of F built independently; every step is confirmed."""
    solution = chainsolve.solve(text, implicit="y")
    result = solution.derivatives["x"]
    assert sympy.simplify(result + sympy.diff(f, x) / sympy.diff(f, y)) == 0
    assert sympy.simplify(result - sympy.idiff(f, y, x)) == 0
    assert solution.verified
    assert not result.atoms(sympy.Derivative)


def test_every_y_term_gets_its_chain_rule() -> None:
    """d/dx(y²) is shown through u = y(x): the inner derivative du/dx = y′(x) is a step."""
    solution = chainsolve.solve("x^2 + y^2 = 25", implicit="y")
    text = solution.to_text()
    assert "d/dx(y(x)²) = 2y(x) · y′(x)" in text
    assert "y′(x) · 2y(x) = -2x" in text
    assert "dy/dx = -x/y" in text
    rules = {rule.id for step in solution.steps for rule in step.rules}
    assert {"chain", "abstract_function"} <= rules


def test_product_rule_on_x_times_y() -> None:
    """x³ + y³ = 6xy: the product rule applies to x·y(x), and the claim is checked with y abstract."""
    solution = chainsolve.solve("x^3 + y^3 = 6*x*y", implicit="y")
    product_steps = [s for s in solution.steps if s.rule_id == "product"]
    assert product_steps and all(s.check.status == "symbolic" for s in product_steps)


def test_slope_and_tangent_at_a_point() -> None:
    """x² + y² = 25 at (3, 4): slope −3/4, tangent y = 25/4 − 3x/4, the slope checked by −F_x/F_y."""
    solution = chainsolve.solve("x^2 + y^2 = 25", implicit="y", at="x=3,y=4")
    slope, tangent = solution.derivations[0].steps[-2:]
    assert slope.sides[-1] == sympy.Rational(-3, 4)
    assert tangent.sides[-1] == sympy.Rational(25, 4) - sympy.Rational(3, 4) * x
    assert solution.verified


def test_folium_tangent_at_three_three() -> None:
    """Folium of Descartes at (3, 3): slope −1, tangent x + y = 6."""
    solution = chainsolve.solve("x^3 + y^3 = 6*x*y", implicit="y", at="x=3,y=3")
    slope, tangent = solution.derivations[0].steps[-2:]
    f = x**3 + y**3 - 6 * x * y
    expected = (-sympy.diff(f, x) / sympy.diff(f, y)).subs({x: 3, y: 3})
    assert slope.sides[-1] == expected == -1
    assert tangent.sides[-1] == 6 - x


@pytest.mark.parametrize(
    ("text", "at", "code"),
    [
        ("x^2 + y^2 = 25", "x=3,y=5", "point_not_on_curve"),
        ("x^2 + y^2 = 25", "x=5,y=0", "implicit_vertical_tangent"),
        ("x^2 + y^2 = 25", "x=3", "implicit_point"),
        ("y^2 = x^2", "x=0,y=0", "implicit_singular_point"),
        ("x^2 + z^2 = 1", None, "implicit_without_dependent"),
        ("x^2 + y^2 = t", None, "implicit_variables"),
    ],
)
def test_bad_curves_and_points_are_refused(text: str, at: str | None, code: str) -> None:
    """A point off the curve, a vertical tangent, a singular point, a missing name: ProblemError."""
    with pytest.raises(ProblemError) as raised:
        chainsolve.solve(text, implicit="y", at=at)
    assert raised.value.code == code


def test_other_names_are_constants_with_wrt() -> None:
    """x² + y² = r² --wrt x: r is a constant, dy/dx = −x/y."""
    solution = chainsolve.solve("x^2 + y^2 = r^2", implicit="y", wrt="x")
    assert solution.derivatives["x"] == -x / y


@pytest.mark.parametrize("text", ["x^2 + y^2", "x = y = 1"])
def test_equation_reader_wants_exactly_one_equals(text: str) -> None:
    """parse_equation refuses text with no '=' or with two, as a ParseError."""
    with pytest.raises(ParseError):
        parse_equation(text)


def test_equation_reader_points_errors_into_the_whole_text() -> None:
    """An error on the right-hand side is reported at its column in the whole equation."""
    with pytest.raises(ChainsolveError) as raised:
        parse_equation("x^2 = 3 +")
    assert raised.value.span is not None and raised.value.span.start >= 6


def test_cli_point_off_curve_is_one_line_exit_two() -> None:
    """`--at x=3,y=5` on x² + y² = 25: exit 2, an error line, no traceback."""
    result = CliRunner().invoke(
        main, ["solve", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=5"]
    )
    assert result.exit_code == 2
    assert "not on the curve" in result.output
    assert "Traceback" not in result.output


def test_cli_slope_in_brief_output() -> None:
    """The brief text output still shows dy/dx, the slope and the tangent line."""
    result = CliRunner().invoke(
        main,
        ["solve", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=4", "--detail", "brief"],
    )
    assert result.exit_code == 0, result.output
    assert "dy/dx = -x/y" in result.output
    assert "dy/dx = -3/4" in result.output
    assert "y = 4 - 3(x - 3)/4 = 25/4 - 3x/4" in result.output


def test_json_of_an_implicit_solution() -> None:
    """JSON: no definitions, target y, derivatives.x = dy/dx, every side step with its claim."""
    data = json.loads(chainsolve.solve("sin(x*y) = x + y", implicit="y").to_json())
    assert data["problem"]["definitions"] == []
    assert data["problem"]["target"] == "y"
    result = sympy.sympify(data["derivatives"]["x"], locals={"x": x, "y": y})
    f = sympy.sin(x * y) - x - y
    assert sympy.simplify(result - sympy.idiff(f, y, x)) == 0
    assert any(step["claim"] for step in data["steps"])
    assert data["verified"] is True


def test_rates_with_implicit_or_order_is_refused() -> None:
    """--rates with --implicit or --order is refused, never silently ignored."""
    with pytest.raises(ProblemError):
        chainsolve.solve("x^2 + y^2 = 25", implicit="y", rates="dx/dt = 1")
    with pytest.raises(ProblemError):
        chainsolve.solve("x^2 + y^2 = 25", order=2, rates="dx/dt = 1")


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_other_formats_show_the_result(fmt: str) -> None:
    """Markdown and HTML render an implicit solution with its verdict."""
    rendered = chainsolve.solve("x^2 + y^2 = 25", implicit="y", at="x=3,y=4").render(fmt)
    assert "25" in rendered and ("verified" in rendered.lower())


def test_latex_compiles(tmp_path: Path) -> None:
    """The LaTeX of an implicit solution with a tangent line compiles with pdflatex."""
    source = chainsolve.solve("e^(x*y) = x - y", implicit="y", at="x=1,y=0").to_latex()
    compile_latex(source, tmp_path, "implicit", timeout=120)


def _equal_on_curve(value: sympy.Expr, reference: sympy.Expr, f: sympy.Expr) -> bool:
    """True when value = reference wherever F = 0 (exactly equal, or differing by a multiple of F)."""
    if sympy.simplify(value - reference) == 0:
        return True
    gap, _ = sympy.fraction(sympy.cancel(value - reference))
    _, remainder = sympy.reduced(sympy.expand(gap), [sympy.expand(f)], x, y)
    return bool(remainder == 0)


SECOND_ORDER = [c for c in CURVES if c[0] not in {"tan(x*y) = y", "x^3 + y^3 = 6x*y"}]


@pytest.mark.parametrize(("text", "f"), SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivative_equals_idiff_on_the_curve(text: str, f: sympy.Expr) -> None:
    """d²y/dx² equals sympy.idiff(F, y, x, 2) of F built independently, on the curve."""
    solution = chainsolve.solve(text, implicit="y", order=2)
    assert [d.derivative.order for d in solution.derivations] == [1, 2]
    assert _equal_on_curve(solution.derivatives["x"], sympy.idiff(f, y, x, 2), f)
    assert solution.verified


def test_circle_second_derivative_uses_the_curve() -> None:
    """x² + y² = 25: d²y/dx² = −25/y³ (shortened with the equation), −25/64 at (3, 4)."""
    solution = chainsolve.solve("x^2 + y^2 = 25", implicit="y", order=2, at="x=3,y=4")
    second = solution.derivations[1]
    assert second.result == -25 / y**3
    phrases = [step.phrase for step in second.steps]
    assert "implicit_substitute_slope" in phrases and "implicit_use_curve" in phrases
    assert second.steps[-1].sides[-1] == sympy.Rational(-25, 64)


def test_folium_second_derivative() -> None:
    """Folium: d²y/dx² = 16xy/(2x − y²)³ on the curve, and the third order equals idiff too."""
    f = x**3 + y**3 - 6 * x * y
    solution = chainsolve.solve("x^3 + y^3 = 6*x*y", implicit="y", order=3)
    second, third = solution.derivations[1].result, solution.derivations[2].result
    assert sympy.simplify(second - 16 * x * y / (2 * x - y**2) ** 3) == 0
    assert _equal_on_curve(third, sympy.idiff(f, y, x, 3), f)


def test_non_polynomial_curve_is_not_shortened() -> None:
    """sin(xy) = x + y has no polynomial equation to shorten with: the substituted form stays."""
    solution = chainsolve.solve("sin(x*y) = x + y", implicit="y", order=2)
    phrases = [step.phrase for step in solution.derivations[1].steps]
    assert "implicit_use_curve" not in phrases


# -- verify --answer on a curve: modulo the curve's equation, branch by branch -------------------


def _independent_slope(equation: str) -> sympy.Expr:
    """dy/dx from sympy's idiff of the equation (the oracle, not chainsolve's derivation)."""
    lhs, rhs = parse_equation(equation)
    return sympy.idiff(lhs - rhs, y, x)


@pytest.mark.parametrize(
    ("equation", "answer"),
    [
        ("x^2 + y^2 = 25", "-x/y"),
        ("x^3 + y^3 = 6*x*y", "(2*y - x^2)/(y^2 - 2*x)"),
        ("x^2*y + y^3 = 2", "-2*x*y/(x^2 + 3*y^2)"),
        ("ln(y) = x*y", "y^2/(1 - x*y)"),
    ],
)
def test_verify_implicit_accepts_the_slope(equation: str, answer: str) -> None:
    """A right dy/dx (equal to sympy's idiff) is judged equivalent, exit 0."""
    from chainsolve.parsing import parse_expression

    assert sympy.simplify(parse_expression(answer) - _independent_slope(equation)) == 0
    result = CliRunner().invoke(main, ["verify", equation, "--implicit", "y", "--answer", answer])
    assert result.exit_code == 0, result.output
    assert "Correct" in result.output


def test_verify_implicit_accepts_an_equal_form_modulo_the_curve() -> None:
    """On x² + y² = 25, -x/y and -x·y/(25 - x²) differ as functions but agree wherever the curve holds."""
    verdict = check_curve("x^2 + y^2 = 25", "y", "-x*y/(25 - x^2)")
    assert verdict.verdict == "equivalent"


def test_verify_implicit_names_the_branch_of_an_answer_in_x_alone() -> None:
    """-x/√(25 − x²) is right on the upper branch only: equivalent_on_part, naming y = √(25 − x²)."""
    verdict = check_curve("x^2 + y^2 = 25", "y", "-x/sqrt(25 - x^2)")
    assert verdict.verdict == "equivalent_on_part"
    assert "y = √(25 - x²)" in verdict.message
    upper = sympy.sqrt(25 - x**2)
    assert sympy.simplify(-x / upper - _independent_slope("x^2 + y^2 = 25").subs(y, upper)) == 0
    lower = check_curve("x^2 + y^2 = 25", "y", "x/sqrt(25 - x^2)")
    assert "y = -√(25 - x²)" in lower.message


@pytest.mark.parametrize(
    ("equation", "answer", "mistake"),
    [
        ("x^3 + y^3 = 6*x*y", "(2*y + 2*x - x^2)/y^2", "implicit_forgot_dydx"),
        ("x^3 + y^3 = 6*x*y", "(2*y - x^2)/y^2", "implicit_y_as_constant"),
        ("x^3 + y^3 = 6*x*y", "x^2/(2 - y^2)", "implicit_product_rule"),
        ("x^2 + y^2 = 25", "x/y", "implicit_sign_moving_terms"),
        ("x^2*y + y^3 = 2", "-(2*x*y + 3*y^2)/x^2", "implicit_forgot_dydx"),
        ("x^2*y + y^3 = 2", "-2*y/x", "implicit_y_as_constant"),
        ("x^2 + x*y + y^2 = 7", "-2*x/(1 + 2*y)", "implicit_product_rule"),
        ("x^3 + y^3 = 6*x*y", "(x^2 + 2*y)/(y^2 - 2*x)", "implicit_sign_moving_terms"),
    ],
)
def test_verify_implicit_names_the_classic_slips(equation: str, answer: str, mistake: str) -> None:
    """A wrong dy/dx (differing from sympy's idiff) that one classic slip produces is named."""
    from chainsolve.parsing import parse_expression

    slope = _independent_slope(equation)
    assert sympy.simplify(parse_expression(answer) - slope) != 0
    result = CliRunner().invoke(
        main, ["verify", equation, "--implicit", "y", "--answer", answer, "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "not_equivalent"
    assert mistake in data["mistakes"]


def test_verify_implicit_with_a_derivation_is_a_usage_error() -> None:
    """--implicit checks an --answer; with --derivation it is refused with exit 2, no traceback."""
    result = CliRunner().invoke(
        main, ["verify", "x^2 + y^2 = 25", "--implicit", "y", "--derivation", "-"], input="x\n"
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_grade_with_a_sheet_grades_implicit_and_second_order_rows(tmp_path: Path) -> None:
    """A sheet row with implicit = "y" is graded modulo the curve; order = 2 as the second derivative."""
    import csv

    from chainsolve.grade import grade_file
    from chainsolve.sheet import load_sheet

    sheet_file = tmp_path / "sheet.toml"
    sheet_file.write_text(
        "title = 'Implicit'\n[[problems]]\nid = 'circle'\nproblem = 'x^2 + y^2 = 25'\nimplicit = 'y'\n"
        "[[problems]]\nid = 'second'\nproblem = 'sin(x^2)'\norder = 2\n",
        encoding="utf-8",
    )
    second = sympy.diff(sympy.sin(x**2), x, 2)
    rows = [
        {"student": "ana", "problem": "circle", "answer": "-x/y"},
        {"student": "ana", "problem": "second", "answer": str(second)},
        {"student": "ben", "problem": "circle", "answer": "x/y"},
        {"student": "ben", "problem": "second", "answer": "2*x*cos(x**2)"},
    ]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = tmp_path / "report.csv"
    grade_file(answers, jobs=1, output=report, progress=False, sheet=load_sheet(sheet_file))
    got = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [r["correct"] for r in got] == ["true", "true", "false", "false"]
    assert "sign error" in got[2]["message"]
    assert "order below" in got[3]["message"]


def test_verify_implicit_second_derivative_modulo_the_curve() -> None:
    """--implicit y --order 2: -25/y³ (sympy's idiff of order 2 on the circle) is right; -x/y is order 1."""
    from chainsolve.parsing import parse_expression

    lhs, rhs = parse_equation("x^2 + y^2 = 25")
    oracle = sympy.idiff(lhs - rhs, y, x, 2)
    difference = sympy.cancel(parse_expression("-25/y^3") - oracle)
    assert sympy.simplify(difference.subs(y, sympy.sqrt(25 - x**2))) == 0
    right = check_curve("x^2 + y^2 = 25", "y", "-25/y^3", order=2)
    assert right.verdict == "equivalent"
    lower = check_curve("x^2 + y^2 = 25", "y", "-x/y", order=2)
    assert lower.mistake_ids == ["previous_order"]
    assert "d²y/dx²" in lower.message


@pytest.mark.parametrize(
    ("problem", "options"),
    [
        ("z = f(u, v); u = x*y; v = x + y", {"wrt": "x,y", "order": 2}),
        ("V = pi/3*r^2*h; r = h/2", {"rates": "dV/dt = 9 cm^3/min", "at": "h=6cm"}),
    ],
)
def test_mixed_partial_and_cone_latex_compile(
    tmp_path: Path, problem: str, options: dict[str, object]
) -> None:
    """The mixed partial (f_{uv}, ∂²z/∂y∂x) and the cone with units compile with pdflatex."""
    source = chainsolve.solve(problem, **options).to_latex()  # type: ignore[arg-type]
    compile_latex(source, tmp_path, "new", timeout=120)


# -- is_zero: the zero test of the curve and rates checks, without sympy.simplify where it can -----

#: Identities and non-identities, each judged by is_zero and (the oracle) by sympy.simplify.
ZERO_CASES = [
    (x**2 - 25) / (x - 5) - (x + 5),
    1 / (1 / x + 1 / y) - x * y / (x + y),
    1 / (x - 1) - 1 / (x + 1) - 2 / (x**2 - 1),
    (x**2 / y**2 + 1) / y - (x**2 + y**2) / y**3 + 1 / (x * y),
    (x**2 - 2) / (x - sympy.sqrt(2)) - (x + sympy.sqrt(2)),
    sympy.sqrt(3 + 2 * sympy.sqrt(2)) - 1 - sympy.sqrt(2),
    sympy.sqrt(3 + 2 * sympy.sqrt(2)) * x - x - sympy.sqrt(2) * x,
    sympy.sqrt(2) * sympy.pi - 200 * sympy.pi,
    sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1,
    sympy.exp(x) * sympy.exp(y) - sympy.exp(x + y),
    sympy.sqrt(25 - x**2) ** 2 + x**2 - 25,
    sympy.pi * x / 3 - x,
    x / y - y / x,
    -x / sympy.sqrt(25 - x**2) - x / sympy.sqrt(25 - x**2),
    sympy.sin(x) ** 2 - sympy.cos(x) ** 2,
    sympy.log(x * y) - sympy.log(x) - sympy.log(y),
]


@pytest.mark.parametrize("expr", ZERO_CASES)
def test_is_zero_agrees_with_simplify(expr: sympy.Expr) -> None:
    """is_zero (cancel, a numeric look, simplify last) gives sympy.simplify's verdict on each case."""
    from chainsolve.implicit import is_zero

    assert is_zero(expr) == (sympy.simplify(expr) == 0)


def test_branches_are_the_roots_with_radicands_expanded() -> None:
    """x² + y² = r² (wrt x) has the branches ±√(r² − x²), the roots sympy.solve finds, radicands expanded."""
    from chainsolve.implicit import read_curve
    from chainsolve.implicit_verify import _branches

    branches = _branches(read_curve("x^2 + y^2 = r^2", "y", ("x",), {}))
    assert branches == (-sympy.sqrt(r**2 - x**2), sympy.sqrt(r**2 - x**2))
    for found, solved in zip(branches, sympy.solve(x**2 + y**2 - r**2, y), strict=True):
        assert sympy.simplify(found - solved) == 0


def test_curve_and_rates_examples_do_not_import_sympy_physics() -> None:
    """The implicit and rates examples prove every step without sympy.simplify's sympy.physics import (0.2 s)."""
    import subprocess
    import sys

    commands = [
        'solve "x^2 + y^2 = 25" --implicit y --at x=3,y=4',
        'verify "x^2 + y^2 = 25" --implicit y --answer "-x/sqrt(25 - x^2)"',
        'solve "x^2 + y^2 = 25" --implicit y --order 2',
        'solve "x^3 + y^3 = 6*x*y" --implicit y --at x=3,y=3',
        'solve "V = pi/3*r^2*h; r = h/2" --rates "h: dh/dt = ?; V: dV/dt = 9 cm^3/min" --at h=6cm',
        'solve "V = 4/3*pi*r^3" --rates "r: dr/dt = 2 cm/s" --at r=5cm',
    ]
    code = (
        "import shlex, sys\n"
        "from chainsolve.cli import main\n"
        f"for command in {commands!r}:\n"
        "    try:\n"
        "        main(shlex.split(command))\n"
        "    except SystemExit:\n"  # a verdict other than "equivalent" exits 1
        "        pass\n"
        "print('physics imported:', 'sympy.physics' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip().endswith("physics imported: False"), done.stdout[-500:]


def test_slope_check_refuses_a_wrong_dy_dx() -> None:
    """The slope's check (−F_x/F_y from sympy's partial derivatives) raises on a wrong dy/dx."""
    from chainsolve.derivation import WrongStepError
    from chainsolve.implicit import _check_result, read_curve

    curve = read_curve("x^3 + y^3 = 6*x*y", "y", None, {})
    f = x**3 + y**3 - 6 * x * y
    partials = (sympy.diff(f, x), sympy.diff(f, y))
    right = sympy.idiff(f, y, x)
    assert _check_result(curve, right, partials).status == "symbolic"
    with pytest.raises(WrongStepError):
        _check_result(curve, (x**2 - 2 * y) / (2 * x + y**2), partials)


# -- the oracle of the higher orders, and the order written before the curve ---------------------


@pytest.mark.parametrize(("text", "f"), SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_implicit_derivatives_equal_sympys_idiff(text: str, f: sympy.Expr) -> None:
    """The oracle of orders 2 and 3 (total derivatives of −F_x/F_y) equals sympy.idiff's."""
    from chainsolve.implicit import implicit_derivatives, read_curve

    curve = read_curve(text, "y", None, {})
    found = implicit_derivatives(curve, (sympy.diff(f, x), sympy.diff(f, y)), 3)
    for order in (2, 3):
        assert sympy.simplify(found[order - 1] - sympy.idiff(f, y, x, order)) == 0


def test_higher_order_check_refuses_a_wrong_second_derivative() -> None:
    """d²y/dx² is checked against the oracle: a wrong one (its sign flipped) raises."""
    from chainsolve.derivation import WrongStepError
    from chainsolve.implicit import _higher, implicit_derivatives, read_curve

    curve = read_curve("x^2 + y^2 = 25", "y", None, {})
    f = curve.implicit_function
    oracle = implicit_derivatives(curve, (sympy.diff(f, x), sympy.diff(f, y)), 2)[1]
    _higher(curve, 2, -x / y, -x / y, frozenset(), oracle)  # the right one passes
    with pytest.raises(WrongStepError):
        _higher(curve, 2, -x / y, -x / y, frozenset(), -oracle)


WRITTEN_ORDER = [
    r"\frac{d^2y}{dx^2}, x^2 + y^2 = 25",
    r"\frac{d^2 y}{dx^2}, x^2 + y^2 = 25",
    "d^2y/dx^2, x^2 + y^2 = 25",
    "d²y/dx², x^2 + y^2 = 25",
]


@pytest.mark.parametrize("text", WRITTEN_ORDER)
def test_order_written_before_the_curve_is_solved(text: str) -> None:
    """d²y/dx² written before the curve and a comma: solved to order 2, = sympy.idiff on the curve."""
    f = x**2 + y**2 - 25
    result = CliRunner().invoke(main, ["solve", text, "--implicit", "y"])
    assert result.exit_code == 0, result.output
    assert "Find dy/dx and d²y/dx²" in result.output
    solution = chainsolve.solve(text, implicit="y")
    assert [d.derivative.order for d in solution.derivations] == [1, 2]
    assert _equal_on_curve(solution.derivations[1].result, sympy.idiff(f, y, x, 2), f)
    agreeing = CliRunner().invoke(main, ["solve", text, "--implicit", "y", "--order", "2"])
    assert agreeing.output == result.output


def test_order_written_before_the_curve_conflicts_with_order_option() -> None:
    """d²y/dx², <curve> with --order 3 (or an explicit --order 1) is the usual order conflict, exit 2."""
    plain = CliRunner().invoke(main, ["solve", r"\frac{d^2 y}{dx^2} = \sin(x^2)", "--order", "3"])
    message = "the problem asks for the derivative of order 2 but --order is 3"
    assert plain.exit_code == 2 and message in plain.output
    text = r"\frac{d^2y}{dx^2}, x^2 + y^2 = 25"
    for order, wrong in (("3", "3"), ("1", "1")):
        result = CliRunner().invoke(main, ["solve", text, "--implicit", "y", "--order", order])
        assert result.exit_code == 2
        assert f"the problem asks for the derivative of order 2 but --order is {wrong}" in (
            result.output
        )
        assert "Traceback" not in result.output
    with pytest.raises(ProblemError, match="order 2 but order is 3"):
        chainsolve.solve(text, implicit="y", order=3)


def test_order_written_before_the_curve_names_the_dependent_and_variable() -> None:
    """A derivative of another name than --implicit, or by another variable than --wrt, is refused."""
    other = CliRunner().invoke(main, ["solve", "d^2z/dx^2, x^2 + y^2 = 25", "--implicit", "y"])
    assert other.exit_code == 2
    assert "a derivative of z but --implicit says y" in other.output
    wrt = ["solve", "d^2y/dx^2, x^2 + y^2 = 25", "--implicit", "y", "--wrt", "t"]
    by = CliRunner().invoke(main, wrt)
    assert by.exit_code == 2 and "a derivative by x but --wrt says t" in by.output


def test_verify_reads_the_order_written_before_the_curve() -> None:
    """verify --implicit: an answer to d²y/dx², <curve> is the second derivative (−25/y³ right)."""
    text = r"\frac{d^2y}{dx^2}, x^2 + y^2 = 25"
    assert check_curve(text, "y", "-25/y^3").verdict == "equivalent"
    assert check_curve(text, "y", "-x/y").mistake_ids == ["previous_order"]
    result = CliRunner().invoke(main, ["verify", text, "--implicit", "y", "--answer", "-25/y^3"])
    assert result.exit_code == 0, result.output


def test_a_curve_with_a_comma_of_its_own_is_read_as_before() -> None:
    """A comma that does not follow a derivative (log(x, 2) + y² = 25) leaves the equation as typed."""
    from chainsolve.implicit import read_curve

    curve = read_curve("log(x, 2) + y^2 = 25", "y", None, {})
    assert (curve.lhs, curve.order, curve.order_span) == (
        sympy.log(x) / sympy.log(2) + y**2,
        1,
        None,
    )
    with pytest.raises(ChainsolveError, match="unexpected ','"):
        read_curve("y, x^2 + y^2 = 25", "y", None, {})


def test_each_result_is_tidied_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A side's result of one term is tidied once, not again as its only derived term."""
    from chainsolve import derivation

    seen: list[sympy.Expr] = []
    tidy = derivation.tidy

    def counted(expr: sympy.Expr, seconds: float | None = None) -> tuple[sympy.Expr, bool]:
        seen.append(expr)
        return tidy(expr, seconds)

    monkeypatch.setattr(derivation, "tidy", counted)
    solution = chainsolve.solve("x^2 + y^2 = 25", implicit="y", order=2)
    assert solution.derivations[1].result == -25 / y**3
    assert len(seen) == len(set(seen)) and len(seen) >= 2


def _check_statuses(solution: chainsolve.Solution) -> list[tuple[str, str]]:
    """Each step's phrase and check, in order (the detail too: "checked numerically at …")."""
    return [
        (step.phrase, f"{step.check.status} {step.check.detail}")
        for derivation in solution.derivations
        for step in derivation.steps
    ]


@pytest.mark.parametrize(
    "text",
    [c[0] for c in CURVES[:8]] + ["f(y) + y = x", "x^2 + y^2 = r^2"],
)
def test_stand_in_checks_agree_with_sympy_diff_of_the_functions(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking the steps on y and p standing in for y(x), y′(x) gives every step the check that
    sympy.diff of the y(x) forms gives it, or a proof where that gave a numeric check (orders 1, 2)."""
    from chainsolve import implicit
    from chainsolve.check import Checker

    curve = implicit.read_curve(text, "y", ("x",), {})
    stand_in = _check_statuses(implicit.solve_implicit(curve, order=2))
    monkeypatch.setattr(implicit, "StandInChecker", lambda stand_ins: Checker())
    on_functions = _check_statuses(implicit.solve_implicit(curve, order=2))
    assert [phrase for phrase, _ in stand_in] == [phrase for phrase, _ in on_functions]
    for (_, mine), (_, sympys) in zip(stand_in, on_functions, strict=True):
        assert mine == sympys or (mine == "symbolic " and sympys.startswith("numeric"))


def test_stand_in_checker_finds_a_wrong_claim_and_leaves_second_derivatives_to_sympy() -> None:
    """A claim that drops the y′(x) factor differs; a claim about y″(x), or one that writes y for
    y(x), is judged on y(x) itself."""
    from chainsolve.implicit import StandInChecker, StandIns
    from chainsolve.steps import Claim, Step

    f = sympy.Function("y", real=True)(x)
    checker = StandInChecker(StandIns(x, {y: f}))

    def checked(subject: sympy.Expr, value: sympy.Expr) -> chainsolve.Check:
        step = Step("rule", "chain", claim=Claim(subject, x, (value,)))
        return checker.check(step).check

    slope = sympy.Derivative(f, x)
    assert checked(f**3, 3 * f**2 * slope).status == "symbolic"
    assert checked(sympy.sin(x * f), sympy.cos(x * f) * (f + x * slope)).status == "symbolic"
    assert checked(f**3, 3 * f**2).differs
    assert checked(slope, sympy.Derivative(f, (x, 2))).status == "symbolic"
    assert checked(slope, 2 * sympy.Derivative(f, (x, 2))).differs
    # The symbol y beside y(x) is another quantity: y² is constant, so 2y·y′(x) is wrong.
    assert checked(f**2, 2 * y * slope).differs


@pytest.mark.parametrize(("text", "f"), CURVES, ids=[c[0] for c in CURVES])
def test_partials_from_the_sides_equal_sympys_partials_of_f(text: str, f: sympy.Expr) -> None:
    """F_x and F_y taken as the sides' partials (shared with their checks) are sympy.diff of F."""
    from chainsolve.implicit import read_curve

    curve = read_curve(text, "y", None, {})
    stand_ins = curve.stand_ins()
    for symbol in (x, y):
        side_partials = stand_ins.derivative(curve.lhs, symbol) - stand_ins.derivative(
            curve.rhs, symbol
        )
        assert sympy.simplify(side_partials - sympy.diff(f, symbol)) == 0


def test_shortening_with_the_curve_is_proved_and_a_wrong_one_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """-(x² + y²)/y³ shortens to -25/y³ on x² + y² = 25 (equal on the upper branch); a shortening
    that is not equal on the curve raises instead of being printed."""
    from chainsolve.derivation import WrongStepError
    from chainsolve.implicit import on_the_curve, read_curve

    curve = read_curve("x^2 + y^2 = 25", "y", None, {})
    value = -(x**2 + y**2) / y**3
    shorter = on_the_curve(curve, value)
    assert shorter == -25 / y**3
    branch = {y: sympy.sqrt(25 - x**2)}
    assert sympy.simplify((shorter - value).xreplace(branch)) == 0
    monkeypatch.setattr(sympy, "factor", lambda e: 2 * e)
    with pytest.raises(WrongStepError):
        on_the_curve(curve, value)


def test_stand_ins_differentiate_a_sum_term_by_term_as_sympy_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sum's (a rational multiple's) derivative is exactly sympy.diff's, and its terms' (its
    factor's) are remembered, not recomputed."""
    from chainsolve import implicit

    stand_ins = implicit.StandIns(x, {y: sympy.Function("y", real=True)(x)})
    sums = [
        x**3 + y**3 - 6 * x * y,
        sympy.sin(x * y) + sympy.exp(y) - x,
        sympy.log(y) + x**2 * y + sympy.sqrt(x),
        -x / y,
        -3 * sympy.sin(x * y) * y + sympy.Rational(1, 2) * (x + y) ** 2,
        sympy.Rational(-2, 3) * (x * y + sympy.exp(x * y)),
        2 * sympy.pi * x * y,
    ]
    for expr in sums:
        for symbol in (x, y):
            assert stand_ins.derivative(expr, symbol) == sympy.diff(expr, symbol)
    asked: list[sympy.Expr] = []
    monkeypatch.setattr(implicit, "sympy_derivative", lambda e, s: asked.append(e))
    assert stand_ins.derivative(x**3, x) == 3 * x**2
    assert stand_ins.derivative(sympy.sin(x * y), y) == x * sympy.cos(x * y)
    assert stand_ins.derivative(x / y, y) == -x / y**2
    assert asked == []


def test_stand_ins_derivative_by_a_symbol_the_form_does_not_hold_asks_sympy_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By a symbol a form does not hold, the derivative is sympy's 0 without evaluating or
    differentiating it (related rates: every side is free of t)."""
    from chainsolve import implicit

    t = make_symbol("t")
    stand_ins = implicit.StandIns(t, {r: sympy.Function("r", real=True)(t)})
    asked: list[sympy.Expr] = []
    differentiate = implicit.sympy_derivative
    monkeypatch.setattr(
        implicit, "sympy_derivative", lambda e, s: asked.append(e) or differentiate(e, s)
    )
    monkeypatch.setattr(implicit, "evaluate_typed", lambda e: asked.append(e) or e)
    cases = [(4 * sympy.pi * r**3 / 3, t), (x + r**2, r), (sympy.sin(x) * r, t), (x**2 + r, x)]
    found = [stand_ins.derivative(expr, symbol) for expr, symbol in cases]
    assert found == [sympy.diff(expr, symbol) for expr, symbol in cases]
    assert found[0] == 0 and found[2] == 0
    # Only x + r² by r and x² + r by x are evaluated and differentiated (term by term).
    assert asked == [x + r**2, *(x + r**2).args, x**2 + r, *(x**2 + r).args]


def test_collecting_proves_the_printed_sides_and_refuses_a_nonlinear_slope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The collect step's printed coefficient and rest are proved against the difference of the
    sides' derivatives: a factoring that changed them raises, as does a squared y′(x)."""
    from chainsolve.derivation import WrongStepError
    from chainsolve.implicit import _collect, read_curve

    curve = read_curve("x^3 + y^3 = 6*x*y", "y", None, {})
    f, slope = curve.function, sympy.Derivative(curve.function, x)
    difference = 3 * x**2 + 3 * f**2 * slope - 6 * f - 6 * x * slope
    _, coefficient, rest = _collect(curve, curve.stand_ins(), difference)
    assert sympy.expand(coefficient * slope + rest - difference) == 0
    assert not rest.has(slope)
    with pytest.raises(WrongStepError):
        _collect(curve, curve.stand_ins(), difference + slope**2)
    monkeypatch.setattr(sympy, "factor_terms", lambda e: 2 * e)
    with pytest.raises(WrongStepError):
        _collect(curve, curve.stand_ins(), difference)


def test_folium_to_order_two_is_proved_step_by_step_not_sampled() -> None:
    """Every step of the folium's d²y/dx² is proved symbolically: on the stand-ins y and p, the
    quotient rule's steps need no numeric sampling (they did on y(x) itself)."""
    solution = chainsolve.api.solve_curve("x^3 + y^3 = 6x*y", "y", order=2)
    statuses = {step.check.status for d in solution.derivations for step in d.steps}
    assert statuses <= {"symbolic", "none"}
    assert "symbolic" in statuses


#: Curves with a point on each (where F_y ≠ 0).
CURVE_POINTS = [
    ("x^2 + y^2 = 25", x**2 + y**2 - 25, {"x": 3, "y": 4}),
    ("x^3 + y^3 = 6*x*y", x**3 + y**3 - 6 * x * y, {"x": 3, "y": 3}),
    ("x^2*y + y^3 = 2", x**2 * y + y**3 - 2, {"x": 1, "y": 1}),
    ("x*y = 1", x * y - 1, {"x": 2, "y": sympy.Rational(1, 2)}),
    ("sqrt(2)*x^2 + y^2 = 3", sympy.sqrt(2) * x**2 + y**2 - 3, {"x": 0, "y": sympy.sqrt(3)}),
    ("e^(x*y) = x - y + 1", sympy.exp(x * y) - x + y - 1, {"x": 0, "y": 0}),
]


@pytest.mark.parametrize(("text", "f", "point"), CURVE_POINTS, ids=[c[0] for c in CURVE_POINTS])
def test_second_derivative_at_a_point_equals_idiff_there(
    text: str, f: sympy.Expr, point: dict[str, sympy.Expr]
) -> None:
    """d²y/dx² at a point of the curve (its last order's oracle left uncancelled) is sympy.idiff's
    value there."""
    solution = chainsolve.api.solve_curve(text, "y", order=2, at=point)
    value = solution.derivations[1].steps[-1].sides[-1]
    expected = sympy.idiff(f, y, x, 2).subs({x: point["x"], y: point["y"]})
    assert sympy.simplify(value - expected) == 0


#: Answers without y on curves with branches: the verdict is fixed by sympy.idiff on each branch.
BRANCH_ANSWERS = [
    ("x^2 + y^2 = 25", "-x/sqrt(25 - x^2)"),
    ("x^2 + y^2 = 25", "x/sqrt(25 - x^2)"),
    ("x^2 + y^2 = 25", "2*x"),
    ("y^2 = x", "1/(2*sqrt(x))"),
    ("y^2 = x", "1/(2*x)"),
    ("y^2 - x^2 = 0", "1"),
    ("y^2 - x^2 = 0", "-1"),
    ("x*y = 1", "-1/x^2"),
    ("x*y = 1", "1/x^2"),
    ("y - x^2 = 0", "2*x"),
]


@pytest.mark.parametrize(("equation", "answer"), BRANCH_ANSWERS)
def test_an_answer_in_x_alone_is_judged_branch_by_branch(equation: str, answer: str) -> None:
    """An answer without y is right on the branches y = g(x) where it equals sympy.idiff there:
    all of them (equivalent), some (equivalent_on_part) or none (not_equivalent)."""
    from chainsolve.parsing import parse_expression

    lhs, rhs = parse_equation(equation)
    slope = sympy.idiff(lhs - rhs, y, x)
    branches = sympy.solve(lhs - rhs, y)
    value = parse_expression(answer)
    right = [g for g in branches if sympy.simplify(value - slope.subs(y, g)) == 0]
    expected = (
        "not_equivalent"
        if not right
        else "equivalent"
        if len(right) == len(branches)
        else "equivalent_on_part"
    )
    assert check_curve(equation, "y", answer).verdict == expected


def test_a_branch_that_differs_settles_it_without_the_test_modulo_the_curve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """-x/√(25 − x²) differs from −x/y on the lower branch, so it cannot equal it wherever
    x² + y² = 25 holds: the costlier test modulo F is not asked."""
    from chainsolve import implicit_verify

    def refused(*_: object) -> bool:
        raise AssertionError("asked modulo the curve")

    monkeypatch.setattr(implicit_verify, "equal_modulo_curve", refused)
    verdict = check_curve("x^2 + y^2 = 25", "y", "-x/sqrt(25 - x^2)")
    assert verdict.verdict == "equivalent_on_part"


def test_the_branches_are_solved_once_for_an_answer_and_its_slips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wrong answer in x alone is compared with each classic slip on the branches too: the
    curve is solved for y once."""
    from chainsolve import implicit_verify

    calls = []

    def counted(solver: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            calls.append(args)
            return solver(*args, **kwargs)

        return call

    implicit_verify._branches.cache_clear()
    # A quadratic curve is solved by sympy.roots (as sympy.solve would), any other by solve.
    monkeypatch.setattr(sympy, "solve", counted(sympy.solve))
    monkeypatch.setattr(sympy, "roots", counted(sympy.roots))
    for curve in ("x^2 + y^2 = 25", "y^2 = x^3 + pi"):
        calls.clear()
        verdict = check_curve(curve, "y", "2*x")
        assert verdict.verdict == "not_equivalent"
        assert len(calls) == 1


def test_stand_ins_find_a_plain_form_and_a_typed_forms_derivative_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subject asked again (a step's value is the next step's subject) is made plain once, and
    a typed form's derivative, once found, is not evaluated again; both stay sympy's."""
    from chainsolve import implicit

    function = sympy.Function("y", real=True)(x)
    stand_ins = implicit.StandIns(x, {y: function})
    written = x**2 * function + sympy.Derivative(function, x)
    plain = stand_ins.plain(written)
    assert plain == x**2 * y + stand_ins.slopes[y]
    assert stand_ins.plain(written) is plain
    assert stand_ins.plain(y * function) is None
    typed = sympy.Mul(3, sympy.Pow(x, 2, evaluate=False), y, evaluate=False)
    assert stand_ins.derivative(typed, x) == sympy.diff(3 * x**2 * y, x)
    evaluated: list[sympy.Expr] = []
    monkeypatch.setattr(implicit, "evaluate_typed", lambda e: evaluated.append(e) or e)
    assert stand_ins.derivative(typed, x) == 6 * x * y
    assert evaluated == []


def test_modulo_the_curve_a_numerator_not_a_multiple_of_f_needs_no_lowest_terms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A difference whose numerator over any denominator is no multiple of F is not 0 on the
    curve (cancel not asked); one whose numerator is, only through a factor it shares with
    its denominator (x·F/(y·F)), is judged in lowest terms: x/y, not 0 on the curve."""
    from chainsolve import implicit

    curve = implicit.read_curve("x^2 + y^2 = 25", "y", None, {})
    f = curve.implicit_function
    shared = sympy.Mul(sympy.expand(x * f), sympy.Pow(sympy.expand(y * f), -1))
    assert not implicit.equal_modulo_curve(curve, shared)
    assert implicit.equal_modulo_curve(curve, sympy.expand(x * f) / y**2)
    cancelled: list[sympy.Expr] = []
    cancel = sympy.cancel
    monkeypatch.setattr(sympy, "cancel", lambda e: cancelled.append(e) or cancel(e))
    assert not implicit.equal_modulo_curve(curve, x / y - y / (x + 1))
    assert cancelled == []


@pytest.mark.parametrize(
    ("equation", "answer"),
    [
        ("x^3 + y^3 = 6*x*y", "x^2/(2 - y^2)"),
        ("x^3 + y^3 = 6*x*y", "(x^2 + 2*y)/(y^2 - 2*x)"),
        ("x^2*y + y^3 = 2", "-2*y/x"),
        ("x^2 + x*y + y^2 = 7", "-(2*x + y)/(2*y)"),
        ("x^2 + y^2 = 25", "-y/x"),
    ],
)
def test_slips_compared_with_a_rational_answer_match_as_in_lowest_terms(
    equation: str, answer: str
) -> None:
    """The slips left over their own denominators match a rational answer in x and y exactly
    as their lowest terms do."""
    from chainsolve.implicit import read_curve
    from chainsolve.implicit_verify import _judge, slips
    from chainsolve.parsing import parse_expression

    curve = read_curve(equation, "y", None, {})
    value = parse_expression(answer)
    as_typed = slips(curve, lowest=False)
    lowest = slips(curve)
    for mistake, candidates in lowest.items():
        judged = [_judge(curve, value, c) for c in candidates]
        assert [_judge(curve, value, c) for c in as_typed[mistake]] == judged
        for left, cancelled in zip(as_typed[mistake], candidates, strict=True):
            assert sympy.cancel(left - cancelled) == 0


def test_lowest_terms_is_cancel_and_leaves_a_monomial_ratio_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """lowest_terms gives sympy.cancel's result; a number times powers of symbols (−x/y), which
    cancel hands back unchanged, is not given to it."""
    from chainsolve.implicit import lowest_terms

    cases = [
        -x / y,
        sympy.Rational(-3, 2) * x**2 / y**3,
        sympy.Integer(7),
        (x + 1) / (x**2 - 1),
        sympy.pi / x,
        (x**2 - 2 * y) / (2 * x - y**2),
        200 * sympy.pi,
        1 / sympy.pi,
        (sympy.pi + x) / sympy.pi,
        sympy.pi * x**2 / (sympy.pi**2 * y),
    ]
    for expr in cases:
        assert sympy.srepr(lowest_terms(expr)) == sympy.srepr(sympy.cancel(expr))
    asked: list[sympy.Expr] = []
    monkeypatch.setattr(sympy, "cancel", lambda e: asked.append(e) or e)
    lowest_terms(-x / y)
    lowest_terms(sympy.Rational(5, 3) * x * y**-2)
    lowest_terms(200 * sympy.pi)
    lowest_terms(-sympy.Rational(9, 4) / sympy.pi**2 * x)
    assert asked == []


def test_lowest_terms_of_monomials_in_symbols_and_constants_is_cancel() -> None:
    """lowest_terms gives sympy.cancel's result on random monomials in symbols, π and other
    constants (the ones it does not give to cancel)."""
    import random

    from chainsolve.implicit import lowest_terms

    t = sympy.Symbol("t", positive=True)
    bases = [x, y, t, sympy.pi, sympy.E, sympy.GoldenRatio, sympy.EulerGamma, sympy.Catalan]
    rng = random.Random(5)
    for _ in range(1500):
        expr = sympy.Rational(rng.randint(-50, 50), rng.randint(1, 12))
        for base in rng.sample(bases, rng.randint(0, 4)):
            expr *= base ** rng.randint(-3, 3)
        assert sympy.srepr(lowest_terms(expr)) == sympy.srepr(sympy.cancel(expr))


def test_branches_of_a_quadratic_curve_are_sympy_solves_without_asking_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A curve quadratic in y with rational coefficients gets sympy.solve's branches (form and
    order, refuted roots dropped) from sympy.roots, solve not asked; other curves go to solve."""
    import random

    from chainsolve import implicit_verify
    from chainsolve.implicit import Curve

    a = make_symbol("a")
    rng = random.Random(7)
    atoms = [x, x**2, x**3, x**4, a, a * x, a**2, sympy.Rational(1, 2), sympy.Rational(-7, 3) * x]
    curves = [x**2 + y**2 - 25, x**2 / 4 + y**2 / 9 - 1, x * y**2 + y - x, x**2 + y**2 + 1]
    for _ in range(120):
        leading = rng.choice([1, -1, 2, 3, x, x + 1, sympy.Rational(1, 4)])
        linear = rng.choice([0, 0, 1, -2, x, 3 * x, a, x**2, sympy.Rational(2, 3)])
        constant = sum(
            (rng.randint(-5, 5) * rng.choice(atoms) for _ in range(rng.randint(0, 3))),
            sympy.Integer(rng.randint(-30, 30)),
        )
        curves.append(sympy.expand(leading * y**2 + linear * y + constant))
    for f in curves:
        curve = Curve(str(f), f, sympy.Integer(0), y, x)
        found = implicit_verify._quadratic_branches(curve)
        assert found is not None
        solved = sympy.solve(f, y, simplify=False)
        assert [sympy.srepr(g) for g in found] == [sympy.srepr(g) for g in solved]
    for f in (x**2 + y**2 - sympy.pi, y**2 + sympy.sin(x), y**3 - x, y * x - 1, 0.5 * y**2 - x):
        assert implicit_verify._quadratic_branches(Curve(str(f), f, 0, y, x)) is None

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("sympy.solve asked")

    monkeypatch.setattr(sympy, "solve", refused)
    circle = Curve("x^2 + y^2 = 36", x**2 + y**2, sympy.Integer(36), y, x)
    assert implicit_verify._branches(circle) == (-sympy.sqrt(36 - x**2), sympy.sqrt(36 - x**2))
