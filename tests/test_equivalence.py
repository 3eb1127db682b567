"""Tests for chainsolve.equivalence: numeric disproof, budgeted proof, partial-domain agreement."""

from __future__ import annotations

import sympy

from chainsolve.equivalence import compare, concrete_functions, symbolic_zero
from chainsolve.functions import sigmoid
from chainsolve.problem import make_symbol

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
    start = time.monotonic()
    symbolic_zero(hard * sympy.exp(hard), 0.2)
    assert time.monotonic() - start < 3


def test_dropped_path_with_abstract_functions_is_not_equal() -> None:
    """Abstract f, g replaced by concrete functions expose a dropped term of a chain-rule sum."""
    f, g, h = sympy.Function("f"), sympy.Function("g"), sympy.Function("h")
    full = sympy.diff(f(g(t), h(t)), t)
    dropped = full.args[0]
    assert compare(full, dropped).verdict == "not_equal"
    assert compare(full, full.args[1] + full.args[0]).verdict == "equal"
    assert not concrete_functions(full, 1).atoms(sympy.core.function.AppliedUndef)
