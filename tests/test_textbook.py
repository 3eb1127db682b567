"""Tests for chainsolve.textbook: results in textbook form, each checked against sympy.diff."""

from __future__ import annotations

import json
import random

import pytest
import sympy
from hypothesis import given, reject

from chainsolve.derivation import solve_problem
from chainsolve.equivalence import compare
from chainsolve.errors import ChainsolveError
from chainsolve.explain import formula_value
from chainsolve.filters import formula_latex, formula_mathml, formula_unicode, unicode_expr
from chainsolve.functions import relu
from chainsolve.parsing import parse_expression, parse_problem
from chainsolve.problem import evaluate_typed, make_symbol
from chainsolve.rules import sympy_derivative
from chainsolve.textbook import kink_conditions, lost_denominators, score, textbook_form
from chainsolve.wording import note_text
from tests.strategies import ANSWER_ONLY, FUZZ_EXAMPLES, UNARY, expressions, repeatable

x, t, r, theta, s = (make_symbol(n) for n in ("x", "t", "r", "theta", "s"))


def _solved(text: str, wrt: list[str] | None = None) -> dict[str, sympy.Expr]:
    solution = solve_problem(parse_problem(text, wrt=wrt))
    return {d.wrt: d.result for d in solution.derivations}


def _notes(text: str, wrt: list[str] | None = None) -> tuple[str, ...]:
    return [note_text(n) for n in solve_problem(parse_problem(text, wrt=wrt)).notes]


@pytest.mark.parametrize(
    ("text", "wrt", "flat", "expected"),
    [
        ("log(abs(x))", "x", sympy.log(sympy.Abs(x)), "1/x"),
        ("log(abs(cos(x)))", "x", sympy.log(sympy.Abs(sympy.cos(x))), "-tan(x)"),
        ("atan(1/x)", "x", sympy.atan(1 / x), "-1/(x² + 1)"),
        ("z = x^y; x = t; y = t", "t", t**t, "t^t·(ln(t) + 1)"),
        (
            "z = x^2 - y^2; x = r*cos(theta); y = r*sin(theta)",
            "theta",
            (r * sympy.cos(theta)) ** 2 - (r * sympy.sin(theta)) ** 2,
            "-2r²·sin(2θ)",
        ),
        (
            "z = x^2 - y^2; x = r*cos(theta); y = r*sin(theta)",
            "r",
            (r * sympy.cos(theta)) ** 2 - (r * sympy.sin(theta)) ** 2,
            "2r·cos(2θ)",
        ),
        ("z = exp(x)*exp(y); x = s^2; y = -t^2", "s", sympy.exp(s**2 - t**2), "2s·e^(s² - t²)"),
    ],
)
def test_results_are_in_textbook_form_and_equal_sympy_diff(
    text: str, wrt: str, flat: sympy.Expr, expected: str
) -> None:
    """log|x| → 1/x, log|cos x| → −tan x, atan(1/x), tᵗ, polar and e^(s² − t²) in textbook form."""
    result = _solved(text, [wrt])[wrt]
    assert unicode_expr(result) == expected
    assert compare(result, sympy.diff(flat, make_symbol(wrt))).verdict == "equal"


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("log(abs(x))", "x ≠ 0"),
        ("log(abs(cos(x)))", "cos(x) ≠ 0"),
        ("atan(1/x)", "x ≠ 0"),
        ("abs(x)", "x ≠ 0"),
        ("sign(x)^2 + x", "x ≠ 0"),
    ],
)
def test_results_state_where_they_hold(text: str, condition: str) -> None:
    """A derivative of a kink (|x|, sign x) or a rewrite that divided a zero away says x ≠ 0."""
    notes = _notes(text)
    assert any(f"holds for {condition}," in note for note in notes)


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("log(exp(x)) + exp(log(x))", "x > 0"),
        ("sqrt(x)^2", "x ≥ 0"),
        ("log(x^2)", "x ≠ 0"),
    ],
)
def test_a_result_simplified_past_the_domain_keeps_its_condition(text: str, condition: str) -> None:
    """A result that no longer shows where the problem is defined (2 from e^(ln x)) says it."""
    solution = solve_problem(parse_problem(text))
    assert any(f"holds for {condition}," in note for note in map(note_text, solution.notes))
    closing = solution.derivations[0].steps[-1]
    assert dict(closing.words)["condition"] == condition


@pytest.mark.parametrize(
    ("text", "kink"),
    [("abs(x)^3", 0), ("sign(x)*x^2", 0), ("abs(x - 1)^2", 1), ("x*abs(x)", 0)],
)
def test_a_kink_where_the_derivative_exists_states_no_condition(text: str, kink: int) -> None:
    """|x|³ is differentiable at 0: no "holds for x ≠ 0", and the result there is the limit of
    the difference quotient (an independent oracle)."""
    solution = solve_problem(parse_problem(text))
    assert not any("holds for" in note for note in map(note_text, solution.notes))
    f = solution.problem.definitions[0].expr
    quotient = (f - f.subs(x, kink)) / (x - kink)
    assert solution.derivations[0].result.subs(x, kink) == sympy.limit(quotient, x, kink)


@pytest.mark.parametrize("text", ["abs(x)", "abs(x)*sin(x)", "abs(sin(x))", "sign(x)*x"])
def test_a_kink_where_the_result_fails_keeps_its_condition(text: str) -> None:
    """|x| has no derivative at 0, x·sin(x)/|x| + cos(x)·|x| is undefined there (its limit is
    stated), |sin x| has many kinks."""
    assert any("holds for" in note for note in _notes(text))


@pytest.mark.parametrize(("text", "kink"), [("abs(x)*sin(x)", 0), ("abs(x - 1)*sin(x - 1)", 1)])
def test_a_formula_undefined_where_the_derivative_exists_states_its_limit(
    text: str, kink: int
) -> None:
    """|x|·sin x: x·sin(x)/|x| + cos(x)·|x| is undefined at 0, but the derivative exists there.

    The note says so, with the value: the limit of the difference quotient (an independent
    oracle). It used to say only "holds for x ≠ 0, where the derivative exists", which told a
    student the derivative did not exist at 0.
    """
    solution = solve_problem(parse_problem(text))
    f = solution.problem.definitions[0].expr
    value = sympy.limit((f - f.subs(x, kink)) / (x - kink), x, kink)
    assert solution.derivations[0].result.subs(x, kink) is sympy.nan
    assert not any("where the derivative exists" in note for note in map(note_text, solution.notes))
    assert (
        f"At x = {kink} the derivative exists as well: it is {unicode_expr(value)}, the "
        "formula's limit there." in " ".join(map(note_text, solution.notes))
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("abs(x)^3", "3x·|x|"), ("x*abs(x)", "2·|x|"), ("sign(x)*x^2", "2·|x|")],
)
def test_abs_and_sign_are_multiplied_out(text: str, expected: str) -> None:
    """3x²·sign(x) is written 3x·|x|, x²/|x| + |x| is 2|x|: equal to sympy's derivative."""
    solution = solve_problem(parse_problem(text))
    result = solution.derivations[0].result
    assert unicode_expr(result) == expected
    flat = solution.problem.definitions[0].expr
    assert compare(result, sympy.diff(flat, x)).verdict == "equal"


def test_a_domain_condition_that_always_holds_is_not_stated() -> None:
    """The logistic loss needs 1 − σ(z) > 0, which always holds: its result states no condition."""
    text = "L = -(y*log(p) + (1 - y)*log(1 - p)); p = sigmoid(z); z = w*x + b"
    assert not any("holds for" in note for note in _notes(text, ["w"]))


def test_a_result_without_a_condition_states_none() -> None:
    """sin(x²) needs no condition: no note and a plain closing step."""
    assert not any("holds for" in note for note in _notes("sin(x^2)"))


def test_the_closing_step_names_the_condition_and_the_rewrite() -> None:
    """The step that writes 1/x for sign(x)/|x| says so, with x ≠ 0, and is checked."""
    (derivation,) = solve_problem(parse_problem("log(abs(x))")).derivations
    last = derivation.steps[-1]
    assert last.phrase == "simplify_for"
    assert dict(last.words)["condition"] == "x ≠ 0"
    assert "sign_over_abs" in [rule.id for rule in last.rules]
    assert last.check.status in ("symbolic", "numeric")


def test_relu_derivative_states_the_indicator_and_its_kink_convention() -> None:
    """relu′ = Heaviside(x, 0) comes with what it means: 1 if x > 0, else 0, and 0 at the kink."""
    notes = " ".join(_notes("relu(x)"))
    assert "1 if x > 0, else 0" in notes
    assert "taken as 0" in notes
    form = textbook_form(sympy.Heaviside(x, 0), relu(x))
    assert form.indicator == (x,)


def test_a_rewrite_is_kept_only_when_it_scores_lower() -> None:
    """2x stays 2x; sin²x·cos x + 1 is not turned into cos 3x (no new angle but a double one)."""
    assert textbook_form(2 * x).expr == 2 * x
    expr = sympy.sin(x) ** 2 * sympy.cos(x) + 1
    assert not textbook_form(expr).expr.has(sympy.cos(3 * x))
    assert score(1 / x) < score(sympy.sign(x) / sympy.Abs(x))


def test_every_rewrite_equals_what_it_replaces() -> None:
    """Each textbook form equals sympy's derivative of the problem wherever both are defined."""
    for problem in (
        sympy.log(sympy.Abs(x)),
        sympy.atan(1 / x),
        sympy.sin(x) ** 2,
        sympy.log(sympy.Abs(sympy.sin(x))),
    ):
        reference = sympy.diff(problem, x)
        form = textbook_form(reference, problem)
        assert compare(form.expr, reference).verdict in ("equal", "equal_on_part")


def test_conditions_come_from_kinks_and_from_denominators_divided_away() -> None:
    """|x|, sign(cos x) give x, cos x; −1/(x²(1 + 1/x²)) → −1/(x² + 1) loses x, not 1 + 1/x²."""
    assert kink_conditions(sympy.Abs(x) + sympy.sign(sympy.cos(x))) == (x, sympy.cos(x))
    before = -1 / (x**2 * (1 + 1 / x**2))
    assert lost_denominators(before, -1 / (x**2 + 1)) == (x,)


def test_a_local_derivative_keeps_its_common_number_outside() -> None:
    """∂z/∂ŷ for z = (ŷ − y)² is shown 2(ŷ - y), and stays factored when substituted."""
    from chainsolve.filters import formula_unicode
    from chainsolve.textbook import common_factor

    y_hat, y = make_symbol("y_hat"), make_symbol("y")
    assert unicode_expr(common_factor(2 * y_hat - 2 * y)) == "2(yₕₐₜ - y)"
    assert common_factor(x + 1) == x + 1
    solution = solve_problem(parse_problem("z = (y_hat - y)^2; y_hat = w*x + b", wrt=["w"]))
    edge = next(s for s in solution.shared_steps if dict(s.words).get("source") == "y_hat")
    assert formula_unicode(edge.sides[1]) == "2(yₕₐₜ - y)"
    (derivation,) = solution.derivations
    substituted = next(s for s in derivation.steps if s.phrase == "graph_substitute")
    assert formula_unicode(substituted.sides[1]) == "2(b + w·x - y) · x"
    w, b = make_symbol("w"), make_symbol("b")
    oracle = sympy.diff((w * x + b - y) ** 2, w)
    assert compare(derivation.result, oracle).verdict == "equal"


def _flat_derivative(text: str, wrt: str) -> sympy.Expr:
    """The oracle: sympy.diff of the problem with every definition put in."""
    problem = parse_problem(text, wrt=[wrt])
    top, *others = problem.definitions
    flat = top.expr
    for definition in others:
        flat = flat.subs(make_symbol(definition.name), definition.expr)
    return sympy.diff(flat, make_symbol(wrt))


@pytest.mark.parametrize(
    ("text", "wrt", "written"),
    [
        ("cos(x^2) + x^3*sin(x)", "x", "-2x·sin(x²) + 3x²·sin(x) + x³·cos(x)"),
        ("(x - 3)^2 + exp(x)", "x", "2(x - 3) + e^x"),
        ("(3 - x)^2 + x", "x", "-2(3 - x) + 1"),
        ("x^3 - 2*x + sin(x)", "x", "3x² - 2 + cos(x)"),
        ("cos(x) + x^2", "x", "-sin(x) + 2x"),
        ("3*(x^2 + x) + sin(x)", "x", "3(2x + 1) + cos(x)"),
        ("z = (x - y)^2; x = t; y = t^2", "t", "2(t - t²)·(1 - 2t)"),
        ("x*(x + 1)^2", "x", "(x + 1)·(3x + 1)"),
        ("log(abs(x)) + x", "x", "1/x + 1"),
        # Four paths through shared nodes: the tidied whole needs at most 60 % of the operations.
        (
            "z = p*q; p = u + v; q = u*v; u = x^2; v = exp(x)",
            "x",
            "x·e^x·(x³ + 4x² + 2x·e^x + 2e^x)",
        ),
    ],
)
def test_results_are_written_as_derived_in_the_order_typed(
    text: str, wrt: str, written: str
) -> None:
    """A sum's result keeps the parts' order and each part as derived; it equals sympy.diff."""
    solution = solve_problem(parse_problem(text, wrt=[wrt]))
    derivation = solution.derivations[0]
    assert formula_unicode(derivation.written) == written
    assert f"Result: {formula_unicode(derivation.derivative)} = {written}" in solution.to_text()
    oracle = _flat_derivative(text, wrt)
    assert compare(formula_value(derivation.written, {}), oracle).verdict == "equal"
    assert compare(derivation.result, oracle).verdict == "equal"


def test_every_format_writes_the_result_in_the_same_order() -> None:
    """Text, LaTeX, MathML and JSON all write cos(x) + x²'s derivative as -sin(x) + 2x."""
    solution = solve_problem(parse_problem("cos(x) + x^2"))
    written = solution.derivations[0].written
    assert formula_latex(written).startswith(r"-\sin")
    mathml = formula_mathml(written)
    assert mathml.index("sin") < mathml.index("<mn>2</mn>")
    data = json.loads(solution.to_json())
    assert data["derivatives"]["x"] == "-sin(x) + 2*x"
    assert data["derivatives_latex"]["x"].startswith(r"-\sin")
    assert sympy.sympify(data["derivatives"]["x"], locals={"x": x}) == -sympy.sin(x) + 2 * x


def test_a_clearly_simpler_whole_form_replaces_the_form_as_derived() -> None:
    """Fewer terms written out wins: the polar x² − y² gives 2r·cos(2θ), not two derived terms."""
    solution = solve_problem(
        parse_problem("z = x^2 - y^2; x = r*cos(theta); y = r*sin(theta)", wrt=["r"])
    )
    derivation = solution.derivations[0]
    assert derivation.shown is None
    assert unicode_expr(derivation.result) == "2r·cos(2θ)"


def test_a_power_of_a_variable_is_not_taken_out_of_the_terms() -> None:
    """x³·cos x + 3x²·sin x share x², but a teacher leaves the product rule's terms as they are."""
    solution = solve_problem(parse_problem("x^3*sin(x)"))
    assert formula_unicode(solution.derivations[0].written) == "3x²·sin(x) + x³·cos(x)"


def _written(text: str) -> tuple[str, sympy.Expr]:
    (derivation,) = solve_problem(parse_problem(text)).derivations
    return formula_unicode(derivation.written), derivation.result


def test_a_typed_constant_stays_in_front_of_the_derivative() -> None:
    """exp(-0.5x²)/√(2π) is written -(x·e^(-x²/2))/√(2π), equal to sympy.diff of the problem."""
    written, result = _written("exp(-0.5*x^2)/sqrt(2*pi)")
    assert written == "-(x·e^(-x²/2))/√(2π)"
    expected = sympy.diff(sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi), x)
    assert sympy.simplify(result - expected) == 0


def test_a_typed_constant_is_kept_only_when_it_prints_shorter() -> None:
    """π·x² and 3sin(x): sympy's form prints no longer than constant · derivative, so it stays."""
    for text, form in (("pi*x^2", "2π·x"), ("3*sin(x)", "3cos(x)")):
        written, result = _written(text)
        assert written == form
        assert unicode_expr(result) == form


def test_a_part_whose_terms_are_all_subtracted_is_written_minus_a_number_times_a_sum() -> None:
    """A path product −2s − 2t is the term −2(s + t): a sum prints '- 2(s + t)', never '+ -2(…)'."""
    from chainsolve.textbook import as_derived

    s, t = sympy.symbols("s t")
    summed = as_derived([2 * s * t**2, -2 * s - 2 * t])
    assert summed is not None
    assert formula_unicode(summed.shown) == "2s·t² - 2(s + t)"
    assert sympy.expand(formula_value(summed.shown, {}) - (2 * s * t**2 - 2 * s - 2 * t)) == 0


def test_the_bracket_left_by_a_common_factor_opens_with_a_positive_term() -> None:
    """dz/dt of z = x²y, x = cos t, y = eᵗ is eᵗ·cos t·(cos t − 2sin t), equal to sympy.diff."""
    text = "z = x^2*y; x = cos(t); y = exp(t)"
    (derivation,) = solve_problem(parse_problem(text)).derivations
    assert formula_unicode(derivation.written) == "e^t·cos(t)·(cos(t) - 2sin(t))"
    oracle = _flat_derivative(text, "t")
    assert compare(formula_value(derivation.written, {}), oracle).verdict == "equal"


def test_the_form_as_derived_is_compared_as_printed() -> None:
    """(x + 1)² − 2x: as derived 2(x + 1) − 2 is longer than 2x as printed, so 2x is the result."""
    solution = solve_problem(parse_problem("(x+1)^2 - 2*x"))
    x = sympy.Symbol("x", real=True)
    (derivation,) = solution.derivations
    assert formula_unicode(derivation.shown or derivation.result) == "2x"
    assert sympy.simplify(derivation.result - sympy.diff((x + 1) ** 2 - 2 * x, x)) == 0


def test_a_problem_without_kinks_is_not_evaluated_for_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a problem with |g| or sign g is taken to its limits (k = 20 flattened diamonds took
    45 s when every problem was evaluated written out for them)."""
    import chainsolve.textbook as textbook

    calls: list[sympy.Expr] = []
    monkeypatch.setattr(textbook, "smooth_kinks", lambda *args: calls.append(args[0]) or ((), ()))
    solve_problem(parse_problem("sin(x)^2*exp(x)"))
    assert calls == []
    solve_problem(parse_problem("abs(x)^3"))
    assert len(calls) == 1


def test_common_factor_takes_a_number_out_of_partials_without_rebuilding_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2y·∂₁f + 2∂₂f becomes 2(y·∂₁f + ∂₂f); factor_terms never walks into a partial or a Subs."""
    from chainsolve.textbook import common_factor

    y = make_symbol("y")
    f = sympy.Function("f", real=True)
    value = sympy.expand(2 * sympy.diff(f(x * y, x + y), x))
    seen: list[sympy.Expr] = []
    factor_terms = sympy.factor_terms
    monkeypatch.setattr(sympy, "factor_terms", lambda e: seen.append(e) or factor_terms(e))
    factored = common_factor(value)
    monkeypatch.undo()
    assert seen
    assert not any(e.has(sympy.Subs, sympy.Derivative) for e in seen)
    assert isinstance(factored, sympy.Mul) and factored.args[0] == 2
    assert factored.atoms(sympy.Subs) == value.atoms(sympy.Subs)
    assert sympy.expand(factored - value) == 0


def _random_expression(rng: random.Random, depth: int) -> sympy.Expr:
    """A random expression of sums, products, powers, exponentials and functions."""
    p = sympy.Symbol("p", positive=True)
    leaves = (x, make_symbol("y"), p, sympy.Integer(2), sympy.Rational(1, 2), sympy.E, sympy.pi)
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(leaves)
    kind = rng.random()
    parts = [_random_expression(rng, depth - 1) for _ in range(rng.randint(2, 3))]
    if kind < 0.25:
        return sympy.Add(*parts)
    if kind < 0.5:
        return sympy.Mul(*parts)
    if kind < 0.7:
        exponent = rng.choice((2, -1, sympy.Rational(1, 2), x, parts[1]))
        return sympy.Pow(parts[0], exponent)
    if kind < 0.8:
        return sympy.exp(parts[0])
    functions = (sympy.sin, sympy.log, sympy.Abs, sympy.sign, sympy.sqrt, sympy.Function("f"))
    return rng.choice(functions)(parts[0])


def test_powers_that_cannot_merge_are_left_to_powsimp_unchanged() -> None:
    """Where _powers_may_merge says no, sympy.powsimp keeps every power (merge_powers skips it)."""
    from chainsolve.textbook import _powers_may_merge

    rng = random.Random(13)
    skipped = 0
    for _ in range(400):
        expr = _random_expression(rng, 3)
        if sympy.count_ops(expr) > 40 or _powers_may_merge(expr):
            continue
        skipped += 1
        merged = sympy.powsimp(expr)
        assert merged.atoms(sympy.Pow, sympy.exp) == expr.atoms(sympy.Pow, sympy.exp), expr
    assert skipped > 50


def test_powers_that_may_merge_are_given_to_powsimp() -> None:
    """One base twice, one exponent twice, or a power that is not plain: powsimp is tried."""
    from chainsolve.textbook import _powers_may_merge

    a, y = make_symbol("a"), make_symbol("y")
    for expr in (
        sympy.Mul(t, t ** (t - 1), evaluate=False),
        sympy.Mul(sympy.exp(x), sympy.exp(y), evaluate=False),
        a**x * sympy.exp(3 * x),
        x**y * a**y,
        sympy.exp(x**2 + x),
        sympy.Pow(2 * x, y, evaluate=False),
        sympy.sin(x) ** (2 * sympy.cos(x)),  # (sin²x)^cos x where sin x ≥ 0
        sympy.sin(x) ** (-x - 1),  # a sum's sign may go into the base
    ):
        assert _powers_may_merge(expr), expr
    assert not _powers_may_merge(2 * x * y**3 + y * sympy.cos(x * y))
    # An exponent that is no sum and has no number in front: sin(x)^cos(x)′ as derived.
    assert not _powers_may_merge(
        (sympy.cos(x) ** 2 / sympy.sin(x) - sympy.log(sympy.sin(x)) * sympy.sin(x))
        * sympy.sin(x) ** sympy.cos(x)
    )
    # Numbers as exponents merge nothing (a quotient rule's result): powsimp is not asked.
    assert not _powers_may_merge(x**2 * y**2)
    assert not _powers_may_merge((2 * x + 1) ** 3 / (x - 1) ** 4)


def test_the_common_factor_rewrite_keeps_an_unknown_functions_argument_as_typed() -> None:
    """x·f(2x + 2y) + x is written x(f(2x + 2y) + 1): the argument is not factored to 2(x + y)."""
    from chainsolve.textbook import _common_factor

    y = make_symbol("y")
    f = sympy.Function("f", real=True)
    factored = _common_factor(x * f(2 * x + 2 * y) + x)
    assert factored == x * (f(2 * x + 2 * y) + 1)
    assert _common_factor(f(2 * x + 2 * y) + x) == f(2 * x + 2 * y) + x


def test_powsimp_skipped_only_where_sympy_would_change_nothing() -> None:
    """textbook.powsimp equals sympy.powsimp on random expressions, and skips it on many."""
    from chainsolve.textbook import powsimp

    rng = random.Random(17)
    skipped = 0
    for _ in range(300):
        expr = _random_expression(rng, 3)
        if sympy.count_ops(expr) > 40:
            continue
        ours = powsimp(expr)
        skipped += ours is expr
        assert ours == sympy.powsimp(expr), expr
    assert skipped > 50
    product = sympy.Mul(2, x + 1, evaluate=False)
    assert powsimp(product) == sympy.powsimp(product) == 2 * x + 2


def test_terms_are_counted_as_expand_writes_them_out() -> None:
    """_term_count counts the terms expand writes, each function value and root one unknown.

    Polynomials with sums, products and powers of them, times function values and roots
    of different arguments; the one difference is stated: parts related by a rule of
    powers other than e^(u+v) = e^u·e^v (x·√x and x^(3/2)) are counted apart, where expand
    combines them.
    """
    from chainsolve.textbook import _term_count

    x, y = make_symbol("x"), make_symbol("y")
    parts = (sympy.exp(x * y), sympy.sin(x + 1), sympy.sqrt(y), 1 / (x + y), sympy.pi)
    rng = random.Random(5)
    for _ in range(100):
        factors = [
            sum((rng.randint(-3, 3) * x**i * y**j for i in range(3) for j in range(2)), x)
            ** rng.randint(1, 3)
            for _ in range(rng.randint(1, 2))
        ]
        factors += rng.sample(parts, rng.randint(0, 2))
        expr = sympy.Mul(*factors) + rng.randint(-2, 2) * sympy.Mul(*factors[:1])
        if not expr.free_symbols:
            continue  # cancelled to a number
        assert _term_count(expr) == len(sympy.Add.make_args(sympy.expand(expr))), expr
    assert _term_count(sympy.S.Zero) == _term_count(x - x) == 1
    assert _term_count(0.5 * x + 1) == 2  # a float coefficient: counted by expand
    exponentials = (sympy.exp(x) + 1) ** 2 - sympy.exp(2 * x)  # e^x·e^x and e^(2x) combine
    assert _term_count(exponentials) == len(sympy.Add.make_args(sympy.expand(exponentials))) == 2
    related = (x + 1) * sympy.sqrt(x) - x ** sympy.Rational(3, 2)
    assert _term_count(related) == 3
    assert len(sympy.Add.make_args(sympy.expand(related))) == 1


@repeatable(FUZZ_EXAMPLES)
@given(expressions(("x", "y"), UNARY + ANSWER_ONLY, max_leaves=7))
def test_a_factored_form_factors_to_itself(text: str) -> None:
    """factored_terms is sympy's factor_terms, part by part, and factor_terms hands back its
    own result unchanged (what lets a factored form be remembered as its own), on random
    expressions and their derivatives."""
    from chainsolve.textbook import factored_terms

    try:
        expr = evaluate_typed(parse_expression(text))
    except ChainsolveError:  # acos(2): not a real number, refused as typed
        reject()
    for form in (expr, sympy_derivative(expr, make_symbol("x"))):
        factored = sympy.factor_terms(form)
        assert factored_terms(form) == factored, form
        assert sympy.factor_terms(factored) == factored, form


def test_a_high_power_of_a_sum_counts_as_one_term() -> None:
    """_term_count writes out no power of a sum above EXPAND_POWER, polynomial or not."""
    from chainsolve.textbook import EXPAND_POWER, _term_count

    x = make_symbol("x")
    assert _term_count((x + 1) ** (EXPAND_POWER + 1)) == 1
    assert _term_count((x + 1) ** (EXPAND_POWER + 1) + x) == 2
    assert _term_count((x + 1) ** 2 + x) == 3
