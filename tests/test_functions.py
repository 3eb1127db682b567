"""Tests for chainsolve.functions: the registry (every entry complete and consistent) and the activations."""

from __future__ import annotations

import html

import mpmath
import pytest
import sympy

from chainsolve.decompose import operation_of
from chainsolve.filters import latex_expr, mathml_expr, unicode_expr
from chainsolve.functions import (
    BY_CLASS,
    CONSTANTS,
    FUNCTION_ARITIES,
    FUNCTIONS,
    SPECS,
    FunctionSpec,
    family_forms,
    relu,
    sigmoid,
    softplus,
)
from chainsolve.parsing import parse_expression
from chainsolve.problem import make_symbol
from chainsolve.steps import RuleRef
from chainsolve.wording import rule_name

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


def test_closest_function_suggests_what_a_misspelled_name_meant() -> None:
    """cosine → cos, arcsine → arcsin, sqroot → sqrt; one- and two-letter names are left alone."""
    from chainsolve.functions import closest_function

    assert closest_function("cosine") == "cos"
    assert closest_function("arcsine") == "arcsin"
    assert closest_function("Sinh") == "sinh"
    assert closest_function("sqroot") == "sqrt"
    assert closest_function("f") is None and closest_function("fg") is None
    assert closest_function("velocity") is None


# --- the registry: every entry complete and consistent ----------------------------------------

#: Real numbers to try each function at: none is 0, ±1 or a pole, where domains end and kinks are.
SAMPLES = ("-2.7", "-1.3", "-0.6", "0.3", "0.8", "1.7", "3.1")
DIGITS = 30
real_u = sympy.Symbol("u", real=True)


def spec_id(spec: FunctionSpec) -> str:
    """The test id of one registry entry."""
    return spec.name


def inside(spec: FunctionSpec) -> list[str]:
    """The sample points in the function's real domain (at least two, or the domain is too small)."""
    points = [p for p in SAMPLES if spec.defined_at(mpmath.mpf(p))]
    assert len(points) >= 2, spec.name
    return points


def sympy_value(expr: sympy.Expr, point: str) -> sympy.Expr:
    """sympy's own value of an expression in u at u = point, to DIGITS digits (the oracle)."""
    return sympy.N(expr.subs(real_u, sympy.Float(point, DIGITS + 10)), DIGITS)


def close(a: sympy.Expr | float, b: sympy.Expr | float) -> bool:
    """Equal to DIGITS − 5 significant digits."""
    return bool(abs(a - b) <= sympy.Float(10) ** (5 - DIGITS) * max(1, abs(b)))


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_derivative_equals_sympy_diff_in_the_domain(spec: FunctionSpec) -> None:
    """Each entry's derivative equals sympy.diff of its function at points of its real domain."""
    ours = spec.derivative(real_u)
    theirs = sympy.diff(spec.sympy_class(real_u), real_u)
    theirs = theirs.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)  # 0 away from the jump
    for point in inside(spec):
        assert close(sympy_value(ours, point), sympy_value(theirs, point)), (spec.name, point)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_mpmath_value_matches_sympy_evalf(spec: FunctionSpec) -> None:
    """Each entry's mpmath evaluation equals sympy's evalf of the function in its domain."""
    with mpmath.workdps(DIGITS + 10):
        for point in inside(spec):
            ours = spec.mpmath(mpmath.mpf(point))
            assert close(sympy.Float(ours, DIGITS), sympy_value(spec.sympy_class(real_u), point))


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_domain_is_where_sympy_gives_a_real_value(spec: FunctionSpec) -> None:
    """The real domain holds a sample point exactly when sympy's value there is real and finite."""
    for point in SAMPLES:
        value = sympy_value(spec.sympy_class(real_u), point)
        real = bool(value.is_real and value.is_finite)
        assert spec.defined_at(mpmath.mpf(point)) == real, (spec.name, point, value)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_parser_reads_every_name_and_alias(spec: FunctionSpec) -> None:
    """Every spelling of the function parses to its sympy class, with each arity it takes."""
    for name in spec.names:
        for arity in spec.arities:
            args = ", ".join(["x", "0"][:arity])
            parsed = parse_expression(f"{name}({args})")
            assert isinstance(parsed, spec.sympy_class), (name, parsed)
            assert FUNCTION_ARITIES[name] == spec.arities


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_every_printer_prints_it(spec: FunctionSpec) -> None:
    """Text reads back as the same function; LaTeX and MathML show its registry names."""
    applied = spec.sympy_class(x)
    assert parse_expression(unicode_expr(applied)) == applied
    assert latex_expr(applied).startswith(spec.latex_name)
    assert spec.printed_name in html.unescape(mathml_expr(applied))


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_rule_id_has_wording_and_the_graph_a_label(spec: FunctionSpec) -> None:
    """The derivative's rule id has its human name, and a graph node of the function its label."""
    assert spec.rule_id.startswith("derivative_of_")
    assert rule_name(RuleRef(spec.rule_id)) == spec.human_rule_name
    assert spec.human_rule_name.startswith("derivative of")
    assert operation_of(spec.sympy_class(x)) == spec.graph_label != ""


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_kink_convention_exactly_where_the_derivative_jumps_at_zero(spec: FunctionSpec) -> None:
    """A kink convention is given exactly for the functions whose difference quotients at 0 disagree."""
    with mpmath.workdps(40):
        try:
            at_zero = spec.mpmath(mpmath.mpf(0)) if spec.defined_at(mpmath.mpf(0)) else None
        except ZeroDivisionError:  # a pole (cot, csc, coth, csch)
            at_zero = None
        if at_zero is None:
            assert not spec.kink
            return
        h = mpmath.mpf(10) ** -20
        right = (spec.mpmath(h) - at_zero) / h
        left = (at_zero - spec.mpmath(-h)) / h
        smooth = abs(right - left) < mpmath.mpf(10) ** -10 and abs(right) < 10**10
    assert bool(spec.kink) == (not smooth), spec.name


@pytest.mark.parametrize("family", ["circular", "hyperbolic"])
def test_sin_cos_forms_equal_the_functions(family: str) -> None:
    """Each trigonometric (hyperbolic) form in sin and cos (sinh and cosh) equals its function."""
    s, c = (sympy.sinh, sympy.cosh) if family == "hyperbolic" else (sympy.sin, sympy.cos)
    forms = family_forms(family)  # type: ignore[arg-type]
    assert len(forms) == 6
    for function, form in forms.items():
        for point in ("0.3", "1.7", "-2.7"):
            expected = sympy_value(function(real_u), point)
            assert close(sympy_value(form(s(real_u), c(real_u)), point), expected)


def test_names_and_classes_are_unique() -> None:
    """No spelling names two functions or a constant, and each sympy class has one entry."""
    names = [name for spec in SPECS for name in spec.names]
    assert len(names) == len(set(names))
    assert not set(names) & set(CONSTANTS)
    assert len(BY_CLASS) == len(SPECS)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.rewrites_to_exp], ids=spec_id)
def test_exp_rewrites_leave_the_function(spec: FunctionSpec) -> None:
    """A function marked as rewritable with exp is gone from its rewrite, and equal to it."""
    rewritten = spec.sympy_class(real_u).rewrite(sympy.exp)
    assert not rewritten.has(spec.sympy_class)
    for point in SAMPLES:
        assert close(sympy_value(rewritten, point), sympy_value(spec.sympy_class(real_u), point))


@pytest.mark.parametrize(
    ("answer", "mistake"),
    [
        ("2*exp(-x^4)/sqrt(pi)", "missing_inner_derivative"),
        ("4x*exp(-x^2)/sqrt(pi)", "outer_at_wrong_argument"),
        ("-4x*exp(-x^4)/sqrt(pi)", "sign_error"),
    ],
)
def test_a_function_added_as_one_entry_has_its_mistakes_named(answer: str, mistake: str) -> None:
    """erf, one registry entry, gets the chain rule's mistakes: erf(x²) without g′, at x, negated."""
    import chainsolve

    result = chainsolve.verify("erf(x^2)", answer=answer)
    assert not result.correct
    assert mistake in {m.id for m in result.mistakes}


def test_readme_lists_every_function_name() -> None:
    """The README's input language names every spelling the parser accepts."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    words = {word for span in readme.split("`")[1::2] for word in span.split()}
    assert set(FUNCTIONS) <= words, sorted(set(FUNCTIONS) - words)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.wrong_derivatives(real_u)], ids=spec_id)
def test_wrong_derivatives_are_known_mistakes_and_wrong(spec: FunctionSpec) -> None:
    """Each entry's slips name a known mistake and differ from its derivative in the domain."""
    from chainsolve.mistakes import MISTAKES

    right = spec.derivative(real_u)
    for mistake, wrong in spec.wrong_derivatives(real_u):
        assert mistake in MISTAKES
        assert any(not close(sympy_value(wrong, p), sympy_value(right, p)) for p in inside(spec)), (
            spec.name,
            mistake,
        )


def test_exp_differentiated_as_a_power_is_named() -> None:
    """e^(x²) answered x²·e^(x² − 1)·2x (exp's slip in the registry) is the power rule misapplied."""
    import chainsolve

    result = chainsolve.verify("exp(x^2)", answer="x^2*exp(x^2 - 1)*2x")
    assert not result.correct
    assert "power_rule_error" in {m.id for m in result.mistakes}


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_evaluation_outside_the_domain_says_where_it_is_real(spec: FunctionSpec) -> None:
    """chainsolve's evaluator gives sympy's value in the domain, and outside it names the domain."""
    from chainsolve.numeric import Undefined, evaluate

    applied = spec.sympy_class(real_u)
    with mpmath.workdps(DIGITS + 10):
        for point in SAMPLES:
            at = {real_u: mpmath.mpf(point)}
            if spec.defined_at(at[real_u]):
                value = sympy.Float(evaluate(applied, at), DIGITS)
                assert close(value, sympy_value(applied, point)), (spec.name, point)
            else:
                with pytest.raises(Undefined, match=spec.domain_text.replace("|", r"\|")):
                    evaluate(applied, at)
