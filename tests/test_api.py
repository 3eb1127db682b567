"""Tests for chainsolve.api: solve and verify from Python, with the command line's options."""

from __future__ import annotations

import json

import pytest
import sympy

import chainsolve
from chainsolve.problem import make_symbol
from chainsolve.verification import AnswerVerdict, DerivationReport

LOSS = "L = (w*x + b - y)^2"
POINT = {"w": 2, "x": 3, "b": 1, "y": 10}

w, x, b, y = (make_symbol(name) for name in "wxby")


def test_solve_single_expression() -> None:
    """`solve("sin(x^2)")` infers x and returns the verified derivative 2x·cos(x²)."""
    solution = chainsolve.solve("sin(x^2)")
    assert solution.derivatives == {"x": 2 * x * sympy.cos(x**2)}
    assert solution.verified


@pytest.mark.parametrize("wrt", ["w,b", ["w", "b"], ("w", "b")])
def test_wrt_as_string_or_sequence(wrt: str | list[str] | tuple[str, ...]) -> None:
    """wrt may be "w,b" or a list/tuple of names; the derivatives come in that order."""
    solution = chainsolve.solve(LOSS, wrt=wrt)
    assert list(solution.derivatives) == ["w", "b"]
    assert sympy.expand(solution.derivatives["w"] - 2 * x * (w * x + b - y)) == 0
    assert sympy.expand(solution.derivatives["b"] - 2 * (w * x + b - y)) == 0


def test_at_as_string_or_mapping_agree() -> None:
    """at="w=2,…" and at={"w": 2, …} give the same evaluation: L = 9, ∂L/∂w = -18."""
    from_text = chainsolve.solve(LOSS, at="w=2,x=3,b=1,y=10")
    from_mapping = chainsolve.solve(LOSS, at=POINT)
    assert from_text.evaluation is not None and from_mapping.evaluation is not None
    assert from_text.evaluation == from_mapping.evaluation
    assert from_mapping.evaluation.value.exact == 9
    values = {name: v.exact for name, v in from_mapping.evaluation.gradient_values.items()}
    assert values == {"w": -18, "x": -12, "b": -6, "y": 6}


def test_at_mapping_accepts_fractions_and_decimals() -> None:
    """Mapping values may be fractions as text, floats and sympy numbers."""
    exact = chainsolve.load_problem("sin(x)", at={"x": sympy.Rational(1, 3)})
    text = chainsolve.load_problem("sin(x)", at={"x": "1/3"})
    decimal = chainsolve.load_problem("sin(x)", at={"x": 0.5})
    assert exact.point == text.point == {"x": sympy.Rational(1, 3)}
    assert float(decimal.point["x"]) == 0.5


def test_at_with_several_inputs_means_the_whole_gradient() -> None:
    """With a point and no wrt, every input is differentiated by."""
    solution = chainsolve.solve(LOSS, at=POINT)
    assert set(solution.derivatives) == {"w", "x", "b", "y"}


def test_elementary_graph_option() -> None:
    """graph="elementary" breaks the problem into one definition per operation."""
    problem = chainsolve.load_problem(LOSS, wrt="w", graph="elementary")
    assert len(problem.definitions) == 4
    assert problem.target == "L"


def test_bad_input_raises_chainsolve_errors() -> None:
    """Unparsable text raises ParseError; a wrt no definition of a graph uses raises ProblemError."""
    with pytest.raises(chainsolve.ParseError):
        chainsolve.solve("sin(x^^2)")
    with pytest.raises(chainsolve.ProblemError):
        chainsolve.solve("z = x*y; y = x^2", wrt="q")


@pytest.mark.parametrize(
    ("method", "marker"),
    [
        ("to_text", "Result: dy/dx = 2x·cos(x²)"),
        ("to_markdown", "# Find $\\frac{dy}{dx}$"),
        ("to_latex", "\\documentclass"),
        ("to_html", "<!DOCTYPE html>"),
        ("_repr_markdown_", "# Find $\\frac{dy}{dx}$"),
    ],
)
def test_solution_renderings(method: str, marker: str) -> None:
    """Solution.to_text/to_markdown/to_latex/to_html/_repr_markdown_ render the solution."""
    rendered = getattr(chainsolve.solve("sin(x^2)"), method)()
    assert marker in rendered


def test_repr_latex_is_a_fragment() -> None:
    """_repr_latex_ (for Jupyter) is the body only, without a document preamble."""
    solution = chainsolve.solve("sin(x^2)")
    fragment = solution._repr_latex_()
    assert "\\documentclass" not in fragment
    assert "\\section*{Find $\\frac{dy}{dx}$}" in fragment
    assert fragment == solution.to_latex(fragment=True)


def test_to_json_schema() -> None:
    """to_json is the documented schema: version, problem, derivatives, steps."""
    data = json.loads(chainsolve.solve("sin(x^2)").to_json())
    assert data["schema_version"] == 1
    assert data["problem"]["inputs"] == ["x"]
    assert data["derivatives"] == {"x": "2*x*cos(x**2)"}
    assert data["steps"] and all("verified" in step for step in data["steps"])


def test_verify_answer() -> None:
    """verify(answer=…) returns an AnswerVerdict: correct for 2x·cos(x²), not for cos(x²)."""
    right = chainsolve.verify("sin(x^2)", answer="2*x*cos(x^2)")
    wrong = chainsolve.verify("sin(x^2)", answer="cos(x^2)")
    assert isinstance(right, AnswerVerdict) and right.correct
    assert isinstance(wrong, AnswerVerdict) and not wrong.correct


def test_verify_derivation() -> None:
    """verify(derivation=…) returns a DerivationReport naming the first wrong line."""
    good = chainsolve.verify("sin(x^2)", derivation="dy/dx = cos(x^2)*2*x\n= 2*x*cos(x^2)\n")
    bad = chainsolve.verify("sin(x^2)", derivation="= cos(x^2)*2*x\n= x*cos(x^2)\n")
    assert isinstance(good, DerivationReport) and good.correct
    assert isinstance(bad, DerivationReport) and not bad.correct
    assert bad.first_wrong_line == 2


def test_verify_with_wrt() -> None:
    """verify takes wrt for a problem with several inputs."""
    assert chainsolve.verify(LOSS, answer="2*(w*x + b - y)", wrt="b").correct


@pytest.mark.parametrize("kwargs", [{}, {"answer": "2*x", "derivation": "= 2*x"}])
def test_verify_needs_exactly_one_of_answer_and_derivation(kwargs: dict[str, str]) -> None:
    """verify() with neither or both of answer=/derivation= raises ValueError."""
    with pytest.raises(ValueError, match="exactly one"):
        chainsolve.verify("x^2", **kwargs)


#: Problems with the hyperbolic and inverse functions, and points inside their real domains.
NEW_FUNCTIONS = [
    ("sech(x^2)", (-1.3, 0.4, 2.0)),
    ("csch(3x)", (-1.3, 0.4, 2.0)),
    ("coth(x^2 + 1)", (-1.3, 0.4, 2.0)),
    ("arcsinh(x^2)", (-1.3, 0.4, 2.0)),
    ("arccosh(2x)", (0.7, 1.3, 4.0)),
    ("artanh(x/2)", (-1.3, 0.4, 1.9)),
    ("arccot(x^2)", (-1.3, 0.4, 2.0)),
    ("arcsec(x^3)", (-1.3, 1.2, 2.0)),
    ("arccsc(2x)", (-1.3, 0.7, 2.0)),
    ("acosh(sin(x) + 2)", (-1.3, 0.4, 2.0)),
    ("asec(x^2 + 1) + acsc(x^2 + 1)", (-1.3, 0.4, 2.0)),
    # erf: added to the language as one registry entry (docs/architecture.md).
    ("erf(x^2)", (-1.3, 0.4, 2.0)),
    ("x*erf(sin(x))", (-1.3, 0.4, 2.0)),
]


@pytest.mark.parametrize(("problem", "points"), NEW_FUNCTIONS, ids=[p for p, _ in NEW_FUNCTIONS])
def test_hyperbolic_and_inverse_functions_solve_to_sympy_diff(
    problem: str, points: tuple[float, ...]
) -> None:
    """sech … acsc are chain-ruled with their own rule, every step verified, the result sympy's."""
    solution = chainsolve.solve(problem)
    assert solution.verified, [(s.phrase, s.check) for s in solution.steps if not s.verified]
    assert not any(r.id.startswith("abstract") for step in solution.steps for r in step.rules)
    result = solution.derivatives["x"]
    reference = sympy.diff(chainsolve.load_problem(problem).definitions[0].expr, x)
    for point in points:
        at = {x: sympy.Float(point, 30)}
        assert abs(sympy.N(result.subs(at) - reference.subs(at), 30)) < 1e-20, point


@pytest.mark.parametrize(
    ("problem", "answer"),
    [
        ("tanh(x)", "sech(x)^2"),
        ("atanh(x)", "1/(1-x^2)"),
        ("coth(x)", "-csch(x)^2"),
        ("sech(x)", "-sech(x)*tanh(x)"),
        ("arcsinh(x)", "1/sqrt(x^2+1)"),
        ("acot(x)", "-1/(1+x^2)"),
        ("arcsec(x)", "1/(abs(x)*sqrt(x^2-1))"),
        ("acsc(x)", "-1/(abs(x)*sqrt(x^2-1))"),
    ],
)
def test_verify_accepts_textbook_answers_with_the_new_functions(problem: str, answer: str) -> None:
    """A correct textbook answer written with sech, csch, … is judged equivalent."""
    verdict = chainsolve.verify(problem, answer=answer)
    assert isinstance(verdict, AnswerVerdict) and verdict.correct


def test_verify_rejects_the_wrong_sign_of_arccot() -> None:
    """d/dx arccot x = −1/(1 + x²): the arctan answer 1/(1 + x²) is not equivalent."""
    assert not chainsolve.verify("acot(x)", answer="1/(1+x^2)").correct


def test_new_functions_in_the_elementary_graph_at_a_point() -> None:
    """sech(w·x) as an elementary graph: a sech node, and ∂L/∂w = −x·sech(wx)·tanh(wx) at the point."""
    solution = chainsolve.solve("L = sech(w*x)", wrt="w", at="w=0.5,x=2", graph="elementary")
    assert solution.verified and solution.evaluation is not None
    assert solution.evaluation.verified
    assert [d.expr.func for d in solution.problem.definitions if not d.expr.is_Mul] == [sympy.sech]
    (gradient,) = solution.evaluation.gradient
    expected = -2 * sympy.sech(1) * sympy.tanh(1)
    assert abs(float(gradient.value.decimal) - float(expected)) < 1e-12


def test_all_names_exist() -> None:
    """Every name in chainsolve.__all__ is an attribute of the package."""
    missing = [name for name in chainsolve.__all__ if not hasattr(chainsolve, name)]
    assert missing == []
    assert {"solve", "verify", "Solution", "ChainsolveError"} <= set(chainsolve.__all__)


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("detail", "huge", ("brief", "normal", "full")),
        ("graph", "tree", ("definitions", "elementary")),
        ("mode", "sideways", ("reverse", "forward")),
    ],
)
def test_option_outside_its_choices_is_refused(
    option: str, value: str, allowed: tuple[str, ...]
) -> None:
    """solve() refuses a detail/graph/mode outside its choices with an OptionError naming both."""
    with pytest.raises(chainsolve.OptionError) as caught:
        chainsolve.solve("sin(x^2)", **{option: value})  # type: ignore[arg-type]
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.option, error.value, error.allowed) == (option, value, allowed)
    assert option in str(error) and all(choice in str(error) for choice in allowed)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: chainsolve.solve(42), "problem"),  # type: ignore[arg-type]
        (lambda: chainsolve.solve("sin(x)", wrt=3), "wrt"),  # type: ignore[arg-type]
        (lambda: chainsolve.solve("sin(x)", at=[1, 2]), "at"),  # type: ignore[arg-type]
        (lambda: chainsolve.solve("sin(x)", numeric="yes"), "numeric"),  # type: ignore[arg-type]
        (lambda: chainsolve.verify(42, answer="1"), "problem"),  # type: ignore[call-overload]
        (lambda: chainsolve.verify("sin(x)", answer=1), "answer"),  # type: ignore[call-overload]
    ],
)
def test_argument_of_the_wrong_type_is_a_clear_type_error(call: object, named: str) -> None:
    """An argument of the wrong type is a TypeError that names the argument (not len() of int)."""
    with pytest.raises(TypeError) as caught:
        call()  # type: ignore[operator]
    assert str(caught.value).startswith(f"{named} must be")


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: chainsolve.solve("x*y"), 'wrt="x"'),
        (lambda: chainsolve.solve("z = x*y; y = x^2", wrt="q"), 'wrt="q"'),
        (lambda: chainsolve.verify("x*y", answer="y"), 'wrt="x"'),
        (lambda: chainsolve.solve("x*y", at="x=1"), 'at="'),
    ],
)
def test_api_errors_speak_of_arguments_not_cli_flags(call: object, argument: str) -> None:
    """Errors raised through the Python API name its arguments (wrt="x"), never a CLI flag (--wrt)."""
    with pytest.raises(chainsolve.ChainsolveError) as caught:
        call()  # type: ignore[operator]
    error = caught.value
    assert "--" not in error.message and "--" not in (error.hint or "")
    assert argument in error.message + " " + (error.hint or "")


def test_cli_errors_still_name_the_flag() -> None:
    """The command line keeps naming its flag (--wrt) for the same mistake."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    result = CliRunner().invoke(main, ["solve", "x*y"])
    assert result.exit_code == 2
    assert "--wrt" in result.output


def test_solution_str_and_repr_are_short() -> None:
    """print(solution) shows the results, repr one line: not the dataclass fields."""
    solution = chainsolve.solve("z = x^2*y; x = cos(t); y = exp(t)")
    assert str(solution) == "dz/dt = " + chainsolve.filters.unicode_expr(solution.derivatives["t"])
    assert repr(solution).startswith("<Solution of 'z = x^2*y; x = cos(t); y = exp(t)': dz/dt = ")
    assert len(repr(solution)) < 200 and "\n" not in repr(solution)


def test_repr_html_is_the_offline_page_body() -> None:
    """_repr_html_ is the page's body (MathML, no scripts or network) with a style scoped to it."""
    solution = chainsolve.solve("z = x^2*y; x = cos(t); y = exp(t)")
    html = solution._repr_html_()
    assert html.startswith("<style>\n@scope (.chainsolve-solution)")
    body = html[html.index("</style>") :]
    assert body.count('<main class="chainsolve-solution">') == 1
    assert "<html" not in html and "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org/", "")
    assert '<div class="equation">' in body and "<math" in body


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [({"answer": "cos(x^2)"}, AnswerVerdict), ({"derivation": "2x*cos(x^2)"}, DerivationReport)],
)
def test_verify_results_display_like_a_solution(kwargs: dict[str, str], kind: type) -> None:
    """verify() results have to_text/markdown/latex/html/json, _repr_html_ (the body) and a short repr."""
    from chainsolve.verification import render_verdict

    report = chainsolve.verify("sin(x^2)", **kwargs)  # type: ignore[call-overload]
    assert isinstance(report, kind)
    for fmt in ("text", "markdown", "latex", "html", "json"):
        assert getattr(report, f"to_{fmt}")() == render_verdict(report, fmt)
    # A notebook shows the verdict's body, not a whole page inside the page.
    assert report._repr_html_() == report.to_html(fragment=True)
    assert "<html" in report.to_html() and "<html" not in report._repr_html_()
    assert json.loads(report.to_json())["verdict"] == report.verdict
    assert repr(report) == (f"<{kind.__name__} of 'sin(x^2)', wrt x: {report.verdict_label}>")
    assert str(report).splitlines() == [f"Verdict: {report.verdict_label}", report.message]


def test_verdict_types_are_exported() -> None:
    """AnswerVerdict and DerivationReport are importable from chainsolve (the verify() types)."""
    assert chainsolve.AnswerVerdict is AnswerVerdict
    assert chainsolve.DerivationReport is DerivationReport


def test_api_functions_document_their_parameters() -> None:
    """help(chainsolve.solve) and help(chainsolve.verify) describe every parameter."""
    import inspect

    for function in (chainsolve.solve, chainsolve.verify):
        doc = inspect.getdoc(function) or ""
        for name in inspect.signature(function).parameters:
            assert f"{name}:" in doc, (function.__name__, name)


def test_notebook_shows_solutions_and_verdicts_as_offline_html() -> None:
    """A notebook run by nbconvert displays solve() and verify() as HTML with MathML, no raw $$."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import chainsolve\nchainsolve.solve('z = x^2*y; x = cos(t); y = exp(t)')"
        ),
        nbformat.v4.new_code_cell("chainsolve.verify('sin(x^2)', answer='cos(x^2)')"),
    ]
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    for cell in notebook.cells:
        (output,) = cell.outputs
        assert "<math" in output["data"]["text/html"]
    page, _ = nbconvert.HTMLExporter(template_name="basic").from_notebook_node(notebook)
    assert page.count('<main class="chainsolve-solution">') == 1
    assert "verdict-report wrong" in page
    assert "$$" not in page and "\\begin{aligned}" not in page
