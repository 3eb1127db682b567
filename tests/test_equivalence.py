"""Tests for chainsolve.equivalence: numeric disproof, budgeted proof, partial-domain agreement."""

from __future__ import annotations

import random

import pytest
import sympy
from hypothesis import given, reject

from chainsolve.equivalence import (
    CIRCULAR,
    HYPERBOLIC,
    abstract_zero,
    as_polynomials,
    check_claim,
    circle_identity,
    compare,
    concrete_all,
    concrete_functions,
    kink_arguments,
    numeric_comparison,
    pythagorean_zero,
    rational_identity,
    symbolic_zero,
)
from chainsolve.errors import ChainsolveError
from chainsolve.functions import sigmoid
from chainsolve.parsing import parse_expression
from chainsolve.problem import evaluate_typed, make_symbol
from tests.strategies import FUZZ_EXAMPLES, UNARY, expressions, repeatable

x, y, t = (make_symbol(n) for n in "xyt")


def test_tan_forms_are_proved_equal() -> None:
    """-tan(x) and -sin(x)/cos(x) are equal by a symbolic proof, not only numerically."""
    result = compare(-sympy.tan(x), -sympy.sin(x) / sympy.cos(x))
    assert (result.verdict, result.method) == ("equal", "symbolic")


def test_sigmoid_derivative_forms_are_proved_equal() -> None:
    """σ(1−σ) equals e^(−x)/(1+e^(−x))²: sigmoid is rewritten with exp for the proof."""
    result = compare(sigmoid(x) * (1 - sigmoid(x)), sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2)
    assert (result.verdict, result.method) == ("equal", "symbolic")


def test_sign_and_quotient_by_abs_are_proved_equal() -> None:
    """sign(x) and x/sqrt(x²) agree wherever both are defined, and that is proved."""
    result = compare(sympy.sign(x), x / sympy.sqrt(x**2))
    assert (result.verdict, result.method) == ("equal", "symbolic")


def test_near_miss_float_is_not_equal() -> None:
    """2x·cos(x²) + 1e-12 is caught at 40 digits, with a counterexample and both values."""
    result = compare(2 * x * sympy.cos(x**2) + sympy.Float("1e-12"), 2 * x * sympy.cos(x**2))
    assert result.verdict == "not_equal"
    assert result.counterexample is not None and result.values is not None
    assert result.values[0] != result.values[1]


def test_sqrt_of_square_equals_x_on_positive_part() -> None:
    """sqrt(x²) vs x agree only for x > 0, and the region is named."""
    result = compare(sympy.sqrt(x**2), x)
    assert result.verdict == "equal_on_part"
    assert result.agree_where == "x > 0"


def test_log_of_product_equals_sum_of_logs_on_part() -> None:
    """log(x·y) vs log(x)+log(y) agree where both are defined; log(x·y) is defined more widely."""
    result = compare(sympy.log(x * y), sympy.log(x) + sympy.log(y))
    assert result.verdict == "equal_on_part"
    assert "x > 0" in result.agree_where and "y > 0" in result.agree_where


def test_different_expressions_are_not_equal() -> None:
    """cos(x²) is not 2x·cos(x²): a point where they differ is given."""
    result = compare(sympy.cos(x**2), 2 * x * sympy.cos(x**2))
    assert result.verdict == "not_equal" and set(result.counterexample or {}) == {"x"}


def test_nowhere_defined_comparison_is_undecided() -> None:
    """With no point where both sides are real there is no verdict but undecided."""
    result = compare(sympy.log(-(x**2) - 1), sympy.sqrt(-(x**2) - 1))
    assert result.verdict == "undecided"


def test_symbolic_zero_gives_up_within_budget() -> None:
    """symbolic_zero returns False (not proved) rather than hang past its budget."""
    import time

    hard = (
        sympy.expand((x + y + 1) ** 40)
        - sympy.expand((x + y + 1) ** 40)
        + sympy.sin(x) ** 2
        + sympy.cos(x) ** 2
        - 1
    )
    start = time.thread_time()  # CPU time: a busy machine must not fail the test
    symbolic_zero(hard * sympy.exp(hard), 0.2)
    assert time.thread_time() - start < 3


def test_dropped_path_with_abstract_functions_is_not_equal() -> None:
    """Abstract f, g replaced by concrete functions expose a dropped term of a chain-rule sum."""
    f, g, h = sympy.Function("f"), sympy.Function("g"), sympy.Function("h")
    full = sympy.diff(f(g(t), h(t)), t)
    dropped = full.args[0]
    assert compare(full, dropped).verdict == "not_equal"
    assert compare(full, full.args[1] + full.args[0]).verdict == "equal"
    assert not concrete_functions(full, 1).atoms(sympy.core.function.AppliedUndef)


def test_rational_identity_proves_quotient_rule_forms() -> None:
    """Two forms of a quotient-rule derivative are proved equal by exact evaluation, not cancel."""
    quotient_rule = (6 * (x - 1) ** 2 * (2 * x + 1) ** 2 - (2 * x - 2) * (2 * x + 1) ** 3) / (
        x - 1
    ) ** 4
    simplified = 2 * (x - 4) * (2 * x + 1) ** 2 / (x - 1) ** 3
    assert rational_identity(quotient_rule - simplified) is True


def test_rational_identity_disproves_near_miss() -> None:
    """A rational difference off by a term that vanishes at x = 0 only is still found non-zero."""
    assert rational_identity((x**2 - 1) / (x - 1) - (x + 1)) is True
    assert rational_identity((x**2 - 1) / (x - 1) - (x + 1) + x**7 / (x**2 + 1)) is False


def test_rational_identity_skips_poles_and_declines_other_expressions() -> None:
    """Points where a denominator vanishes are skipped; sin, several variables, huge degrees: None."""
    assert rational_identity(1 / (x - 1 / x) - x / (x**2 - 1)) is True
    assert rational_identity(sympy.sin(x) - sympy.sin(x) + x - x + sympy.sin(x)) is None
    assert rational_identity(x * y - y * x + x / y) is None
    assert rational_identity(x**500 - 1) is None


def test_pythagorean_identities_are_proved() -> None:
    """sec² = 1 + tan², csc² = 1 + cot², sech² = 1 − tanh² of any angle; a false one is not."""
    u = 2 * x + 1
    assert pythagorean_zero(sympy.sec(u) ** 2 - sympy.tan(u) ** 2 - 1)
    assert pythagorean_zero(sympy.csc(x**3) ** 2 - 1 - sympy.cot(x**3) ** 2)
    assert pythagorean_zero(sympy.sech(x) ** 2 + sympy.tanh(x) ** 2 - 1)
    assert pythagorean_zero(sympy.exp(x) * (sympy.sin(y) ** 2 + sympy.cos(y) ** 2 - 1))
    assert not pythagorean_zero(sympy.sec(x) ** 2 - sympy.tan(x) ** 2)
    assert not pythagorean_zero(sympy.sin(x) ** 2 + sympy.cos(2 * x) ** 2 - 1)
    assert not pythagorean_zero(x**2 - x**2 + 1)


def test_claimed_sec_squared_step_is_symbolic() -> None:
    """d tan(u)/du = sec²(u) against sympy's 1 + tan²(u) is proved, not only checked numerically."""
    u = sympy.Symbol("u_1", real=True)
    check = check_claim(sympy.sec(u) ** 2, sympy.tan(u) ** 2 + 1)
    assert check.status == "symbolic"


def test_false_claims_stay_unconfirmed() -> None:
    """Fast proofs never confirm a wrong step: rational, trigonometric and mixed examples."""
    assert check_claim(2 * x / (x**2 + 1), 2 * x / (x**2 + 1) ** 2).status == "unconfirmed"
    assert check_claim(sympy.sec(x) ** 2, sympy.tan(x) ** 2).status == "unconfirmed"
    assert check_claim(sympy.exp(x) * x, sympy.exp(x) * (x + 1)).status == "unconfirmed"


def test_claim_defined_at_more_points_than_sympys_form_is_confirmed_on_the_common_domain() -> None:
    """−3(1−x)²·((1−x)³)^(a−1)·a vs sympy's −3((1−x)³)^a·a/(1−x): equal wherever both are defined."""
    a = sympy.exp(sympy.Rational(7, 4))
    claimed = -3 * (1 - x) ** 2 * ((1 - x) ** 3) ** (a - 1) * a
    reference = sympy.diff(((1 - x) ** 3) ** a, x)
    check = check_claim(claimed, reference)
    assert check.status == "numeric"
    assert "equal wherever both sides are defined" in check.detail


def test_agreement_at_one_point_gives_no_region() -> None:
    """3x·cos(x³) meets 3x²·cos(x³) at x = 1 only: not equal, never 'equal on part'."""
    truth = 3 * x**2 * sympy.cos(x**3)
    result = compare(3 * x * sympy.cos(x**3), truth, domain=(sympy.sin(x**3), truth))
    assert (result.verdict, result.agree_where) == ("not_equal", "")


def test_region_of_agreement_is_a_stated_sign_condition() -> None:
    """2x against (|x² − 1|)′ agrees exactly where x² > 1, and the region says so."""
    problem = sympy.Abs(x**2 - 1)
    truth = sympy.diff(problem, x)
    result = compare(2 * x, truth, domain=(problem, truth))
    assert (result.verdict, result.agree_where) == ("equal_on_part", "x^2 > 1")


def test_points_are_drawn_from_the_domain_of_the_problem() -> None:
    """Compared on ln's domain, 1/|x| equals 1/x, proved with x known to be positive there."""
    truth = 1 / x
    result = compare(1 / sympy.Abs(x), truth, domain=(sympy.log(x), truth))
    assert (result.verdict, result.method, dict(result.signs)) == ("equal", "symbolic", {x: 1})
    assert compare(1 / sympy.Abs(x), truth).verdict == "equal_on_part"


def test_kinks_are_never_sample_points() -> None:
    """No comparison is made where an argument of |·|, sign or H is zero (x = 1 for |x² − 1|)."""
    truth = 2 * x * sympy.sign(x**2 - 1)
    result = numeric_comparison(2 * x + sympy.Heaviside(x - 1) - 1, truth, domain=(truth,))
    assert kink_arguments([truth]) == [x**2 - 1]
    assert result.counterexample is not None and result.counterexample != {"x": 1.0}


def test_abstract_functions_are_replaced_alike_in_every_expression() -> None:
    """g alone and f(g) with g are given the same concrete g, whatever other names appear."""
    f, g = sympy.Function("f"), sympy.Function("g")
    alone, within = concrete_all((g(t), f(g(t)) - f(g(t)) + g(t)), 0)
    assert alone == within


def test_heaviside_forms_are_proved_equal_away_from_zero() -> None:
    """H(x) and H(x, 0) (relu′) differ only at the kink: proved equal."""
    assert symbolic_zero(sympy.Heaviside(x) - sympy.Heaviside(x, 0), 2.0)


def test_kink_argument_of_one_sign_on_the_domain_is_resolved_for_the_proof() -> None:
    """On ln(x − 5)'s domain x − 5 > 0, so 1/|x − 5| is proved equal to 1/(x − 5)."""
    truth = 1 / (x - 5)
    result = compare(1 / sympy.Abs(x - 5), truth, domain=(sympy.log(x - 5), truth))
    assert (result.verdict, result.method) == ("equal", "symbolic")
    assert result.signs[x - 5] == 1


F, G, H = sympy.Function("f"), sympy.Function("g"), sympy.Function("h")


def _chain_rule_by_hand() -> sympy.Expr:
    """df(g(t), h(t))/dt written the way the derivation writes it: Subs at g(t) and h(t)."""
    a, b = sympy.Dummy("a", real=True), sympy.Dummy("b", real=True)
    return sympy.diff(G(t), t) * sympy.Subs(sympy.diff(F(a, H(t)), a), a, G(t)) + sympy.diff(
        H(t), t
    ) * sympy.Subs(sympy.diff(F(G(t), b), b), b, H(t))


def test_abstract_zero_proves_chain_rule_against_sympy_diff() -> None:
    """The Subs form of the two-path chain rule is proved equal to sympy.diff's Derivative-by-g(t) form."""
    assert abstract_zero(_chain_rule_by_hand() - sympy.diff(F(G(t), H(t)), t))


def test_abstract_zero_proves_mixed_partials_in_either_order() -> None:
    """f_xy and f_yx are the same partial of a smooth f."""
    assert abstract_zero(sympy.Derivative(F(x, y), x, y) - sympy.Derivative(F(x, y), y, x))


def test_abstract_zero_rejects_swapped_partials() -> None:
    """Partials by the first and second argument are different: the swapped chain rule is not proved."""
    a = sympy.Dummy("a", real=True)
    swapped = sympy.diff(G(t), t) * sympy.Subs(sympy.diff(F(G(t), a), a), a, H(t))
    swapped += sympy.diff(H(t), t) * sympy.Subs(sympy.diff(F(a, H(t)), a), a, G(t))
    assert not abstract_zero(swapped - sympy.diff(F(G(t), H(t)), t))


def test_abstract_zero_rejects_wrong_point_or_order() -> None:
    """A partial at another point, or of another order, or a dropped path, is not proved."""
    a = sympy.Dummy("a", real=True)
    at_g = sympy.Subs(sympy.diff(F(a, t), a), a, G(t))
    assert not abstract_zero(at_g - sympy.Subs(sympy.diff(F(a, t), a), a, H(t)))
    assert not abstract_zero(sympy.Derivative(F(x, y), x, x) - sympy.Derivative(F(x, y), x))
    assert not abstract_zero(_chain_rule_by_hand().args[0] - sympy.diff(F(G(t), H(t)), t))


def test_abstract_zero_refuses_a_variable_in_two_arguments() -> None:
    """d/dx f(x, x) is not the partial by the first argument: no structural proof is claimed."""
    a = sympy.Dummy("a", real=True)
    assert not abstract_zero(
        sympy.Derivative(F(x, x), x) - sympy.Subs(sympy.diff(F(a, x), a), a, x)
    )


def test_check_claim_of_abstract_chain_rule_is_symbolic_and_a_wrong_one_differs() -> None:
    """A true abstract chain-rule step is proved symbolically; one path dropped is unconfirmed."""
    reference = sympy.diff(F(G(t), H(t)), t)
    assert check_claim(_chain_rule_by_hand(), reference).status == "symbolic"
    dropped = check_claim(_chain_rule_by_hand().args[0], reference)
    assert (dropped.status, dropped.differs) == ("unconfirmed", True)


def _second_order_by_hand(mixed_order: tuple[int, int]) -> sympy.Expr:
    """d²f(xy, x + y)/dxdy written with Subs, the mixed partial's variables in ``mixed_order``."""
    u, v = sympy.Dummy("u", real=True), sympy.Dummy("v", real=True)
    at = (x * y, x + y)
    mixed = sympy.Derivative(F(u, v), *[(u, v)[i] for i in mixed_order])
    f_uv = sympy.Subs(mixed, (u, v), at)
    f_uu = sympy.Subs(sympy.Derivative(F(u, v), u, u), (u, v), at)
    f_vv = sympy.Subs(sympy.Derivative(F(u, v), v, v), (u, v), at)
    f_u = sympy.Subs(sympy.Derivative(F(u, v), u), (u, v), at)
    return x * (y * f_uu + f_uv) + y * f_uv + f_u + f_vv


def test_abstract_zero_matches_sympy_diff_second_order_in_either_variable_order() -> None:
    """sympy.diff's mixed second derivative of f(xy, x + y) is proved against f_vu and f_uv forms."""
    oracle = sympy.diff(F(x * y, x + y), x, y)
    assert abstract_zero(_second_order_by_hand((1, 0)) - oracle)
    assert abstract_zero(_second_order_by_hand((0, 1)) - oracle)
    assert check_claim(_second_order_by_hand((1, 0)), oracle).status == "symbolic"


def test_abstract_zero_rejects_a_wrong_second_order_term() -> None:
    """f_uv replaced by f_uu in the second derivative of f(xy, x + y) is not proved, and differs."""
    oracle = sympy.diff(F(x * y, x + y), x, y)
    wrong = _second_order_by_hand((0, 0))
    assert not abstract_zero(wrong - oracle)
    assert check_claim(wrong, oracle).differs


def test_a_typed_claim_is_proved_by_cancelling_against_the_evaluated_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A claim as typed (tanh(w·x + b), sum unsorted) cancels against sympy's evaluated form: no proof run."""
    import chainsolve.equivalence as equivalence

    w, b = make_symbol("w"), make_symbol("b")
    typed = sympy.tanh(sympy.Add(w * x, b, evaluate=False))
    claimed = sympy.Mul(x, 1 - typed**2, evaluate=False)
    reference = sympy.diff(sympy.tanh(w * x + b), w)
    assert claimed - reference != 0  # as typed, the difference does not vanish by itself
    monkeypatch.setattr(equivalence, "_proved", lambda *args: pytest.fail("proof attempted"))
    assert check_claim(claimed, reference).status == "symbolic"
    monkeypatch.undo()
    wrong = sympy.Mul(x, 1 + typed**2, evaluate=False)
    assert check_claim(wrong, reference).differs


def test_a_claim_with_sign_and_abs_is_proved_not_only_sampled() -> None:
    """3x²·sign(x) = d/dx |x|³ (sympy: x²·sign(x) + 2x·|x|) is proved; 2x²·sign(x) still differs."""
    x = make_symbol("x")
    reference = sympy.diff(sympy.Abs(x) ** 3, x)
    assert check_claim(3 * x**2 * sympy.sign(x), reference).status == "symbolic"
    wrong = check_claim(2 * x**2 * sympy.sign(x), reference)
    assert wrong.status != "symbolic"
    assert wrong.differs


def test_a_long_claim_that_expands_to_few_terms_is_proved_not_sampled() -> None:
    """The ML loss's chain claim (over 60 operations, 16 terms expanded) is proved symbolically."""
    w1, w2, b1, b2, x, y = (make_symbol(n) for n in ("w1", "w2", "b1", "b2", "x", "y"))
    inner = sympy.tanh(w1 * x + b1)
    s = sigmoid(w2 * inner + b2)
    loss = (s - y) ** 2
    claimed = w2 * x * (1 - inner**2) * (1 - s) * (2 * s - 2 * y) * s
    assert check_claim(claimed, sympy.diff(loss, w1)).status == "symbolic"
    wrong = check_claim(claimed * 2, sympy.diff(loss, w1))
    assert wrong.differs


def test_a_claim_in_unknown_partials_is_proved_without_building_its_difference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mixed partial of f(xy, x + y) by hand is proved against sympy.diff with each side
    masked first: no Subs is added to the other side's, and no numeric comparison runs."""
    import chainsolve.equivalence as equivalence

    oracle = sympy.diff(F(x * y, x + y), x, y)
    claimed = _second_order_by_hand((1, 0))

    def no_numeric(*args: object, **kwargs: object) -> None:
        raise AssertionError("compared numerically")

    monkeypatch.setattr(equivalence, "numeric_comparison", no_numeric)
    monkeypatch.setattr(equivalence, "_evaluated", no_numeric)
    assert equivalence._check_claim(claimed, oracle).status == "symbolic"


def test_a_partial_in_argument_order_is_kept_as_it_is() -> None:
    """∂²f/∂u∂v at (xy, x + y) with u before v is its own argument-order form (not rebuilt);
    ∂²f/∂v∂u is rebuilt, and sympy finds the two equal."""
    from chainsolve.equivalence import _in_argument_order

    u, v = sympy.Dummy("u", real=True), sympy.Dummy("v", real=True)
    ordered = sympy.Subs(sympy.Derivative(F(u, v), u, v), (u, v), (x * y, x + y))
    swapped = sympy.Subs(
        sympy.Derivative(F(u, v), (v, 1), (u, 1), evaluate=False), (u, v), (x * y, x + y)
    )
    assert _in_argument_order(ordered) is ordered
    assert _in_argument_order(swapped) is not swapped
    assert _in_argument_order(swapped) == ordered


def test_circle_identity_proves_pythagorean_identities() -> None:
    """sec² = 1 + tan², csc² = 1 + cot² (the cot(x³) step), and the hyperbolic ones are proved."""
    u = 2 * x + 1
    assert circle_identity(sympy.sec(u) ** 2 - sympy.tan(u) ** 2 - 1) is True
    claim, reference = -3 * x**2 * sympy.csc(x**3) ** 2, 3 * x**2 * (-(sympy.cot(x**3) ** 2) - 1)
    assert circle_identity(claim - reference) is True
    assert circle_identity(sympy.cosh(x) ** 2 - sympy.sinh(x) ** 2 - 1) is True
    assert circle_identity(sympy.sech(x) ** 2 + sympy.tanh(x) ** 2 - 1) is True
    assert circle_identity(sympy.coth(x**2) ** 2 - sympy.csch(x**2) ** 2 - 1) is True
    assert circle_identity(x * y * (sympy.sin(y) ** 2 + sympy.cos(y) ** 2) - x * y) is True
    assert circle_identity(sympy.tan(x) - sympy.sin(x) / sympy.cos(x)) is True


def test_circle_identity_never_proves_a_false_identity() -> None:
    """sin² − cos², tan² − sec², sin(2x) − 2 sin x cos x (angles independent), a sum: not proved."""
    assert circle_identity(sympy.sin(x) ** 2 - sympy.cos(x) ** 2) is False
    assert circle_identity(sympy.tan(x) ** 2 - sympy.sec(x) ** 2) is False
    assert circle_identity(sympy.sin(2 * x) - 2 * sympy.sin(x) * sympy.cos(x)) is False
    assert circle_identity(sympy.sin(2 * x) - 2 * sympy.sin(x)) is False
    assert circle_identity(sympy.sin(x) ** 2 + sympy.cos(2 * x) ** 2 - 1) is False
    assert circle_identity(sympy.cosh(x) ** 2 + sympy.sinh(x) ** 2 - 1) is False
    assert check_claim(sympy.sin(x) ** 2, sympy.cos(x) ** 2).status == "unconfirmed"
    assert check_claim(sympy.sin(2 * x), 2 * sympy.sin(x)).status == "unconfirmed"


def test_circle_identity_skips_points_where_a_denominator_vanishes() -> None:
    """sin x = 4/5 at t = 2, a grid point: it is skipped, and the identity still proved (or not)."""
    pole = 1 / (sympy.sin(x) - sympy.Rational(4, 5))
    assert circle_identity(pole * (sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1)) is True
    assert circle_identity(pole * (sympy.sin(x) ** 2 + sympy.cos(x) ** 2)) is False
    assert circle_identity(pole + 1 / (x - 1 / x) - x / (x**2 - 1)) is False
    assert circle_identity(1 / (sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1)) is None


def test_circle_identity_declines_what_is_not_rational_in_its_angles() -> None:
    """exp, roots, floats, unknown functions, huge degrees or numbers: None, left to other proofs."""
    identity = sympy.sin(y) ** 2 + sympy.cos(y) ** 2 - 1
    assert circle_identity(sympy.exp(x) * identity) is None
    assert circle_identity(sympy.sqrt(x) * identity) is None
    assert circle_identity(sympy.Float("0.5") * identity) is None
    assert circle_identity(sympy.Function("f")(x) * identity) is None
    assert circle_identity(sympy.sin(x) ** 90 - sympy.sin(x) ** 90 * identity) is None
    # Typed, not evaluated (sympy would work the number out): refused before it is computed.
    huge = sympy.Pow(sympy.Pow(2, 10**6, evaluate=False), 10**6, evaluate=False)
    assert circle_identity(sympy.Mul(huge, identity, evaluate=False)) is None


def test_circle_identity_takes_a_typed_angle_as_sympy_writes_it() -> None:
    """A claim's 2x + 1 kept in typed order is the reference's angle 1 + 2x, not another one."""
    typed = sympy.Add(2 * x, 1, evaluate=False)
    difference = sympy.Add(sympy.sec(typed) ** 2, -(sympy.tan(2 * x + 1) ** 2) - 1, evaluate=False)
    assert circle_identity(difference) is True


def test_cot_cube_step_is_proved_without_expanding_or_cancelling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """-3x²csc²(x³) against sympy's 3x²(−cot²(x³) − 1) is symbolic without pythagorean_zero."""
    from chainsolve import equivalence

    monkeypatch.setattr(equivalence, "pythagorean_zero", lambda e: pytest.fail("cancelled"))
    monkeypatch.setattr(equivalence, "_evaluated", lambda e: pytest.fail("difference built"))
    claim = -3 * x**2 * sympy.csc(x**3) ** 2
    check = check_claim(claim, 3 * x**2 * (-(sympy.cot(x**3) ** 2) - 1))
    assert check.status == "symbolic"


def _random_trig_pair(rng: random.Random) -> tuple[sympy.Expr, sympy.Expr]:
    """Two sides built from forms equal by the Pythagorean identities, or one near miss."""
    a = rng.choice([x, 2 * x, x**2 + 1, y, x * y])
    s, c, tan = sympy.sin(a), sympy.cos(a), sympy.tan(a)
    equal = [
        (sympy.sec(a) ** 2, 1 + tan**2),
        (sympy.csc(a) ** 2, 1 + sympy.cot(a) ** 2),
        (s**2, 1 - c**2),
        (tan, s / c),
        (sympy.cosh(a) ** 2, 1 + sympy.sinh(a) ** 2),
        (sympy.sech(a) ** 2, 1 - sympy.tanh(a) ** 2),
        (sympy.coth(a) ** 2, 1 + sympy.csch(a) ** 2),
        (s * sympy.csc(a), sympy.Integer(1)),
    ]
    near = [
        (sympy.sin(2 * a), 2 * s * c),
        (sympy.sec(a) ** 2, tan**2),
        (s**2, c**2 - 1),
        (sympy.cosh(a) ** 2, sympy.sinh(a) ** 2 - 1),
        (c, sympy.cos(-a + 2 * a)),
    ]
    return rng.choice(near if rng.random() < 0.15 else equal)


def test_circle_identity_agrees_with_the_cancelling_proof_on_random_trig_sums(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fuzz: on 300 random trig sums, a proof is also pythagorean_zero's and numerically 0, and a
    refusal is pythagorean_zero's too (both prove the identity with independent angles)."""
    from chainsolve import equivalence

    rng = random.Random(11)
    cases = []
    for _ in range(320):
        left, right = sympy.Integer(0), sympy.Integer(0)
        for _ in range(rng.randint(1, 3)):
            coefficient = rng.choice([1, -1, 2, sympy.Rational(1, 3)]) * rng.choice([1, x, y, x**2])
            factors = [_random_trig_pair(rng) for _ in range(rng.randint(1, 2))]
            left += coefficient * sympy.Mul(*(f for f, _ in factors))
            right += coefficient * sympy.Mul(*(g for _, g in factors))
        if (left - right).has(*CIRCULAR, *HYPERBOLIC):  # else sympy's own evaluation decided
            cases.append((left, right))
    verdicts = [circle_identity(left - right) for left, right in cases]
    monkeypatch.setattr(equivalence, "circle_identity", lambda e: None)  # the cancelling path
    for (left, right), verdict in zip(cases, verdicts, strict=True):
        if verdict is None:
            continue
        assert pythagorean_zero(left - right) is verdict, (left, right)
        if verdict:  # the two sides, not their difference against 0: cosh(x² + 1)² is large
            assert numeric_comparison(left, right, samples=6).verdict == "equal", (left, right)
    assert verdicts.count(True) > 50 and verdicts.count(False) > 20


def test_a_double_angle_step_the_circle_refuses_is_still_proved_later() -> None:
    """2 sin x cos x = sin 2x is no identity of independent angles: expand_trig still proves it."""
    check = check_claim(2 * sympy.sin(x) * sympy.cos(x), sympy.sin(2 * x))
    assert circle_identity(2 * sympy.sin(x) * sympy.cos(x) - sympy.sin(2 * x)) is False
    assert check.status == "symbolic"


def test_an_angle_with_an_unknown_function_is_checked_as_before() -> None:
    """sec²(f(x)) against 1 + tan²(f(x)): the Pythagorean proof is not asked with an unknown
    function, so the step stays numeric, as its printed check says."""
    f = sympy.Function("f")
    assert check_claim(sympy.sec(f(x)) ** 2, sympy.tan(f(x)) ** 2 + 1).status == "numeric"


def test_a_settled_difference_is_still_found() -> None:
    """A real difference holds still as the precision doubles: sin(2u) against 2sin(u)cos(u)
    + 10⁻⁶ with u = e^(eˣ) is not equal, with a counterexample."""
    x = make_symbol("x")
    u = sympy.exp(sympy.exp(x))
    comparison = numeric_comparison(
        sympy.sin(2 * u), 2 * sympy.sin(u) * sympy.cos(u) + sympy.Rational(1, 10**6)
    )
    assert comparison.verdict == "not_equal" and comparison.counterexample is not None


def test_a_value_past_what_is_computed_is_no_difference() -> None:
    """1/cosh(10⁵x²)² against 1 − tanh(10⁵x²)²: at x = 1 the cosh is e^100000, past what is
    computed, while 1 − tanh² rounds to 0. That read as 'defined on one side only', so a right
    Simplify step (four σ/tanh layers, x = 3) was called a bug; such a point now shows nothing."""
    angle = 100000 * x**2
    comparison = numeric_comparison(1 / sympy.cosh(angle) ** 2, 1 - sympy.tanh(angle) ** 2)
    assert comparison.verdict == "equal"


def test_as_polynomials_multiplies_out_with_each_function_value_one_unknown() -> None:
    """Products and integer powers of sums are multiplied out; e^(st), sin u, √y, 1/(x + y)
    and π are each one unknown, so a chain-rule step over them is proved equal exactly."""
    s = make_symbol("s")
    e = sympy.exp(s * t * (s + t))
    claimed, reference = as_polynomials(s * t * e + t * (s + t) * e, (s * t + t * (s + t)) * e)
    assert claimed == reference
    assert len(claimed) == 2
    assert as_polynomials((x + 1) ** 2)[0] == as_polynomials(x**2 + 2 * x + 1)[0]
    parts = sympy.sin(x) * sympy.sqrt(y) / (x + y) * sympy.pi
    assert len(as_polynomials(parts * (x + 1) - parts)[0]) == 1
    # A relation between parts is not used: not proved equal, never called equal.
    pythagoras = as_polynomials(sympy.sin(x) ** 2 + sympy.cos(x) ** 2, sympy.S.One)
    assert pythagoras is not None and pythagoras[0] != pythagoras[1]
    assert as_polynomials(sympy.S.Zero) == ({},)


def test_as_polynomials_takes_equal_arguments_for_one_part_and_exponents_apart() -> None:
    """σ(w·x + b) as typed and sympy's σ(b + w·x) are one unknown (a function of equal
    arguments), as are √(1 + x) and √(x + 1); e^(2x − y) is (e^x)²·(e^y)⁻¹, so e^(2x) against
    e^x·e^x and e^(−x)·e^x against 1 are proved, while e^(x/2) stays a part of its own."""
    w, b = make_symbol("w"), make_symbol("b")
    typed = sigmoid(sympy.Add(w * x, b, evaluate=False))
    claimed, reference = as_polynomials(
        2 * typed * (1 - typed), 2 * sigmoid(b + w * x) * (1 - sigmoid(b + w * x))
    )
    assert claimed == reference
    root = sympy.Pow(sympy.Add(1, x, evaluate=False), sympy.S.Half, evaluate=False)
    assert as_polynomials(root)[0] == as_polynomials(sympy.sqrt(x + 1))[0]
    ex = sympy.exp(x)
    pairs = [
        (sympy.exp(2 * x - y), sympy.Mul(ex, ex, sympy.exp(-y), evaluate=False)),
        (sympy.Mul(sympy.exp(-x), ex, evaluate=False), sympy.S.One),
        (x**2 * sympy.exp(2 * x) + 2 * x * ex, x * ex * (x * ex + 2)),
    ]
    for left, right in pairs:
        polynomials = as_polynomials(left, right)
        assert polynomials is not None and polynomials[0] == polynomials[1], (left, right)
    half = as_polynomials(sympy.Pow(sympy.exp(x / 2), 2, evaluate=False), ex)
    assert half is not None and half[0] != half[1]  # (e^(x/2))² = e^x is not used


def test_as_polynomials_refuses_floats_and_work_past_its_counts() -> None:
    """No float coefficient; no power whose multiplying out takes more products than the count."""
    assert as_polynomials(sympy.Float(0.5) * x + 1) is None
    assert as_polynomials((x - 1) ** 4999) is None  # 5,000 terms, refused before any work
    assert as_polynomials((x + y + 1) ** 200) is None  # terms read off the tree
    assert as_polynomials(x**100_000)[0] == {((0, 100_000),): 1}


@repeatable(FUZZ_EXAMPLES)
@given(expressions(("x", "y"), UNARY, max_leaves=6), expressions(("x", "y"), UNARY, max_leaves=4))
def test_expressions_equal_as_polynomials_are_equal(text: str, other: str) -> None:
    """Soundness: two expressions as_polynomials calls equal differ at no sampled point (a
    and b, a·(b + 1) − a against a·b, which it proves equal unless sympy rewrites a part,
    and a as typed against a evaluated)."""
    try:
        a, b = (evaluate_typed(parse_expression(t)) for t in (text, other))
    except ChainsolveError:  # acos(2): not a real number, refused as typed
        reject()
    typed = parse_expression(text)  # parts as typed: their arguments unsorted, unevaluated
    for left, right in ((a, b), (a * (b + 1) - a, a * b), (typed, a), (typed * b, a * b)):
        polynomials = as_polynomials(left, right)
        if polynomials is not None and polynomials[0] == polynomials[1]:
            # Undecided only where no sampled point is defined (acos(2^|x|) is, at 0 alone).
            verdict = numeric_comparison(left, right).verdict
            assert verdict in {"equal", "equal_on_part", "undecided"}, (left, right)
