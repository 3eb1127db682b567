"""Tests for chainsolve.numeric: the safe mpmath evaluator, its values and where it says Undefined."""

from __future__ import annotations

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from chainsolve.functions import relu, sigmoid, softplus
from chainsolve.numeric import MAX_BITS, Undefined, _bits_may_be_many, evaluate
from chainsolve.problem import make_symbol

x, y = make_symbol("x"), make_symbol("y")
X, Y = sympy.Rational(7, 10), sympy.Rational(-13, 10)


def at(expr: sympy.Expr, **values: str | int) -> mpmath.mpf:
    """evaluate() with values given as decimal strings or integers, at 30 digits."""
    with mpmath.workdps(30):
        return evaluate(expr, {make_symbol(k): mpmath.mpf(v) for k, v in values.items()})


SPREAD = [
    sympy.sin(x) * sympy.cos(y),
    sympy.exp(x**2) / (1 + y**2),
    sympy.log(x) + sympy.sqrt(x),
    sympy.atan(y) + sympy.asin(x) - sympy.acos(x),
    sympy.tanh(y) * sympy.sinh(x) * sympy.cosh(x),
    sympy.sec(x) + sympy.csc(y) + sympy.cot(x) + sympy.tan(y),
    sympy.Abs(y) ** 3 + sympy.sign(y),
    sympy.pi * x + sympy.E - sympy.Rational(3, 7) * y,
    sympy.Float("1.5", 30) * y + 2**x,
    x**y + y**3 - 1 / x,
    sympy.Heaviside(y) + sympy.Max(x, y) - sympy.Min(x, y),
    sympy.sech(y) + sympy.asinh(x) + sympy.atanh(x),
    sympy.csch(y) * sympy.coth(x) + sympy.acosh(1 / x),
    sympy.acot(y) + sympy.asec(y) - sympy.acsc(y) + sympy.acot(x),
    sigmoid(y) + softplus(x),
    sympy.sqrt(2) * sympy.exp(sympy.sin(x * y)) ** 2,
]


@pytest.mark.parametrize("expr", SPREAD, ids=str)
def test_agrees_with_sympy_n(expr: sympy.Expr) -> None:
    """evaluate() at x = 0.7, y = -1.3 agrees with sympy.N to 25 digits."""
    reference = sympy.N(expr.subs({x: X, y: Y}), 30)
    with mpmath.workdps(30):
        ours = evaluate(expr, {x: mpmath.mpf("0.7"), y: mpmath.mpf("-1.3")})
        error = abs(ours - mpmath.mpf(str(reference)))
        assert error < mpmath.mpf(10) ** -25 * max(1, abs(ours))


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        (sympy.log(x), -1),
        (sympy.log(x), 0),
        (sympy.sqrt(x), -4),
        (x ** sympy.Rational(1, 4), -16),
        (1 / x, 0),
        (x**-2, 0),
        (sympy.asin(x), 2),
        (sympy.acos(x), -3),
        (sympy.acosh(x), 0),
        (sympy.atanh(x), 1),
        (sympy.atanh(x), -2),
        (sympy.asec(x), 0),
        (sympy.acsc(x), 0),
        (sympy.coth(x), 0),
        (sympy.csch(x), 0),
        (sympy.exp(x), 100_000),
        (sympy.DiracDelta(x), 0),
    ],
    ids=str,
)
def test_undefined(expr: sympy.Expr, value: int) -> None:
    """No real finite value (log of a non-positive, even roots of negatives, 1/0, asin(2), …)."""
    with pytest.raises(Undefined):
        at(expr, x=value)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        (sympy.acosh(x), "0.999999999999999999999999999999"),
        (sympy.acosh(x), "-1"),
        (sympy.asec(x), "0.999999999999999999999999999999"),
        (sympy.acsc(x), "-0.999999999999999999999999999999"),
        (sympy.asec(x), "0.5"),
    ],
    ids=str,
)
def test_just_outside_the_real_domain_is_undefined(expr: sympy.Expr, value: str) -> None:
    """acosh below 1 and asec, acsc inside (−1, 1) are undefined, even where mpmath's
    imaginary part is small enough to pass for rounding."""
    with pytest.raises(Undefined):
        at(expr, x=value)


@pytest.mark.parametrize(
    ("expr", "value", "expected"),
    [
        (sympy.acot(x), "-1", -sympy.pi / 4),
        (sympy.acot(x), "0", sympy.pi / 2),
        (sympy.asec(x), "-2", 2 * sympy.pi / 3),
        (sympy.acsc(x), "-2", -sympy.pi / 6),
        (sympy.asec(x), "1", sympy.S.Zero),
        (sympy.acosh(x), "1", sympy.S.Zero),
    ],
    ids=str,
)
def test_inverse_functions_take_sympys_real_branch(
    expr: sympy.Expr, value: str, expected: sympy.Expr
) -> None:
    """acot(−1) = −π/4, asec(−2) = 2π/3, acsc(−2) = −π/6: the branches sympy's values use."""
    assert expr.subs(x, sympy.Integer(value)) == expected
    with mpmath.workdps(30):
        assert abs(at(expr, x=value) - mpmath.mpf(str(sympy.N(expected, 30)))) < 1e-25


def test_undefined_is_an_arithmetic_error() -> None:
    """Undefined is an ArithmeticError, so generic numeric handlers catch it."""
    assert issubclass(Undefined, ArithmeticError)


def test_missing_value_is_a_key_error() -> None:
    """A symbol without a value raises KeyError, not Undefined."""
    with pytest.raises(KeyError):
        evaluate(x + y, {x: mpmath.mpf(1)})


@pytest.mark.parametrize(
    ("exponent", "value", "expected"),
    [
        (sympy.Rational(1, 3), -8, -2),
        (sympy.Rational(-1, 3), -8, sympy.Rational(-1, 2)),
        (sympy.Rational(3, 5), -32, -8),
        (sympy.Rational(1, 5), -32, -2),
    ],
)
def test_odd_roots_of_negatives_are_real(
    exponent: sympy.Rational, value: int, expected: sympy.Expr
) -> None:
    """x^(1/3) at -8 is -2, as a student means it (odd roots of negatives are real)."""
    assert at(x**exponent, x=value) == pytest.approx(float(expected), rel=1e-25)


@pytest.mark.parametrize(
    ("exponent", "expected"),
    [(sympy.Rational(2, 3), 4), (sympy.Rational(-2, 3), sympy.Rational(1, 4))],
)
def test_even_power_of_an_odd_root_is_positive(exponent: sympy.Rational, expected: int) -> None:
    """x^(2/3) = (∛x)² at -8 is 4 and x^(-2/3) is 1/4: an even power of a real root."""
    assert at(x**exponent, x=-8) == pytest.approx(float(expected), rel=1e-25)


def test_integer_powers_of_negatives() -> None:
    """Integer exponents of negative bases are ordinary powers, also written as floats."""
    assert at(x**3, x=-2) == -8
    assert at(x ** sympy.Float(2), x=-3) == 9


@pytest.mark.parametrize(
    ("expr", "value", "expected"),
    [
        (sigmoid(x), "0", 0.5),
        (sigmoid(x), "2", 1 / (1 + mpmath.exp(-2))),
        (sigmoid(x), "-800", float(mpmath.exp(-800))),
        (relu(x), "-2", 0.0),
        (relu(x), "3.5", 3.5),
        (relu(x), "0", 0.0),
        (softplus(x), "0", float(mpmath.log(2))),
        (softplus(x), "-50", float(mpmath.log1p(mpmath.exp(-50)))),
        (softplus(x), "100", 100.0),
    ],
)
def test_activation_values(expr: sympy.Expr, value: str, expected: float) -> None:
    """sigmoid, relu and softplus have their textbook values, also far out in the tails."""
    assert float(at(expr, x=value)) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_softplus_tail_keeps_precision() -> None:
    """softplus(40) = 40 + log1p(e^-40) is computed without losing the small part."""
    with mpmath.workdps(30):
        expected = 40 + mpmath.log1p(mpmath.exp(-40))
        assert abs(evaluate(softplus(x), {x: mpmath.mpf(40)}) - expected) < mpmath.mpf(10) ** -28


def test_shared_subexpressions_are_evaluated_once() -> None:
    """A deeply shared DAG (each level squares the one below) evaluates quickly."""
    expr: sympy.Expr = x
    for _ in range(60):
        expr = sympy.sin(expr) + sympy.cos(expr)
    assert -2 < at(expr, x="0.5") < 2


@given(
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False).filter(lambda v: v != 0),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
@settings(max_examples=300, deadline=None)
def test_a_power_skips_its_logarithm_only_when_its_bits_are_surely_few(
    base: float, exponent: float
) -> None:
    """A power's size check without log₂ decides as with it: skipped only far below MAX_BITS."""
    b, e = mpmath.mpf(base), mpmath.mpf(exponent)
    if not _bits_may_be_many(b, e):
        with mpmath.workdps(40):
            assert abs(e * mpmath.log(abs(b), 2)) <= MAX_BITS


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (sympy.Float(1.5) ** sympy.Integer(8) ** 64, "too large to evaluate"),
        (sympy.Rational(1, 3) ** (x * 10**6), "too close to 0 to evaluate"),
    ],
)
def test_astronomical_powers_are_undefined(expr: sympy.Expr, message: str) -> None:
    """1.5^(8^64) and (1/3)^(10⁶·x) at x = 1 have no value the evaluator computes: Undefined."""
    with pytest.raises(Undefined, match=message):
        at(expr, x=1)


@pytest.mark.parametrize(
    "expr", [sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, x * sympy.zoo, sympy.exp(x) + sympy.nan]
)
def test_numbers_without_a_finite_value_are_undefined(expr: sympy.Expr) -> None:
    """nan, zoo, ∞ and −∞ (told apart by identity), alone or inside an expression: Undefined."""
    with pytest.raises(Undefined, match="not a finite number"):
        at(expr, x=1)


@pytest.mark.parametrize(
    "leaf",
    [
        sympy.Integer(3),
        sympy.Rational(-2, 7),
        sympy.Float("1.25", 30),
        sympy.pi,
        sympy.E,
        sympy.EulerGamma,
        sympy.GoldenRatio,
        sympy.S.Half,
    ],
)
def test_a_number_has_its_value_alone_and_inside_a_node(leaf: sympy.Expr) -> None:
    """Every kind of number (a leaf: no arguments) is valued as sympy values it, also under a node."""
    with mpmath.workdps(30):
        expected = mpmath.mpf(sympy.Float(leaf, 30)._mpf_)
        assert abs(at(leaf) - expected) <= mpmath.mpf(10) ** -25
        inside = sympy.Add(x, sympy.Mul(leaf, y, evaluate=False), evaluate=False)
        assert abs(at(inside, x=2, y=3) - (2 + 3 * expected)) <= mpmath.mpf(10) ** -25


def _real_by_mpmath(value: mpmath.mpf) -> str:
    """What _real decides, written with mpmath's own tests: 'ok', 'not finite' or 'too large'."""
    if not mpmath.isfinite(value):
        return "not finite"
    if value and mpmath.mag(value) > MAX_BITS:
        return "too large"
    return "ok"


def test_real_reads_an_mpf_as_mpmath_isfinite_and_mag_do() -> None:
    """_real's test of an mpf's parts refuses exactly what mpmath.isfinite and mpmath.mag refuse."""
    from chainsolve.numeric import _real

    values = [mpmath.mpf(0), mpmath.inf, -mpmath.inf, mpmath.nan, mpmath.mpf(2) ** MAX_BITS]
    values += [mpmath.mpf(2) ** (MAX_BITS - 1), -(mpmath.mpf(2) ** (MAX_BITS + 1))]
    values += [mpmath.mpf(2) ** -(MAX_BITS + 5), mpmath.mpf("1.5"), mpmath.mpf(-3)]
    for value in values:
        try:
            outcome = "ok" if _real(value) is value else "changed"
        except Undefined as error:
            outcome = "not finite" if "finite" in str(error) else "too large"
        assert outcome == _real_by_mpmath(value), value
