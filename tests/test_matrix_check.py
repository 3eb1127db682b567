"""Tests for chainsolve.matrix.check: wrong matrix steps are caught entry by entry, large steps are
sampled and say so, exact where expansion is cheap and at random points otherwise."""

from __future__ import annotations

import dataclasses

import pytest
import sympy

from chainsolve.derivation import WrongStepError
from chainsolve.errors import ChainsolveError
from chainsolve.matrix.backprop import Backprop, backprop
from chainsolve.matrix.check import CHECK_LIMITS, check_backprop
from chainsolve.matrix.model import (
    NO_SPAN,
    Adjoint,
    Constant,
    Hadamard,
    MatMul,
    Node,
    Ones,
    ScalarMul,
    Shape,
    Sub,
    SumAll,
    Symbol,
    Transpose,
)
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.shapes import infer_shapes

NETWORK = "a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
NETWORK_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"


def worked(
    text: str = NETWORK, shapes: str = NETWORK_SHAPES, wrt: tuple[str, ...] = ()
) -> Backprop:
    return backprop(infer_shapes(parse_matrix_problem(text, shapes, list(wrt) or None)))


def with_claim(original: Backprop, name: str, claim: Node) -> Backprop:
    """``original`` with the step for ``name`` claiming ``claim`` instead."""
    steps = tuple(
        dataclasses.replace(step, claim=claim) if step.name == name else step
        for step in original.steps
    )
    return dataclasses.replace(original, steps=steps)


def symbol(name: str) -> Symbol:
    return Symbol(name, NO_SPAN)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        # the elementwise factor σ′(a) left out: δ_a = δ_h
        ("a", Adjoint("h")),
        # σ(a) where σ′(a) belongs: δ_a = δ_h ⊙ h
        ("a", Hadamard(Adjoint("h"), symbol("h"), NO_SPAN, NO_SPAN)),
        # the pre-activation where the activation belongs: ∂L/∂W2 = δ_z·aᵀ
        ("W2", MatMul(Adjoint("z"), Transpose(symbol("a"), NO_SPAN), NO_SPAN, NO_SPAN)),
    ],
)
def test_a_wrong_step_is_caught(name: str, wrong: Node) -> None:
    """A claim that differs from sympy.diff in any entry raises under CHAINSOLVE_STRICT_CHECKS."""
    with pytest.raises(WrongStepError):
        check_backprop(with_claim(worked(wrt=("W1", "W2")), name, wrong))


def test_a_wrong_step_is_refused_not_shown_outside_the_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without strict checks, a wrong step makes the solution an error, never a shown step."""
    monkeypatch.delenv("CHAINSOLVE_STRICT_CHECKS", raising=False)
    with pytest.raises(ChainsolveError) as info:
        check_backprop(with_claim(worked(wrt=("W1",)), "a", Adjoint("h")))
    assert info.value.code == "unverified_step"


def test_a_right_solution_is_exact_where_expansion_is_cheap() -> None:
    """The sigmoid network: every step proved by expansion, every entry checked."""
    checked = check_backprop(worked(wrt=("W1", "W2")))
    assert checked.verified
    assert {check.method for check in checked.checks} == {"exact"}
    assert all(check.checked == check.entries for check in checked.checks)


def test_exp_and_log_are_checked_at_random_points() -> None:
    """Softmax and cross-entropy: checked numerically at the configured number of points."""
    checked = check_backprop(
        worked("z = W*x; L = cross_entropy(softmax(z), y)", "W: 3x2, x: 2, y: 3", ("W",))
    )
    assert checked.verified
    assert {check.method for check in checked.checks} == {"numeric"}
    assert {check.points for check in checked.checks} == {CHECK_LIMITS.points}


def test_a_large_step_is_checked_at_a_random_sample_of_entries() -> None:
    """A 7×7 gradient (49 entries) is checked at 36 entries chosen at random, and says so."""
    checked = check_backprop(worked("L = sum(tanh(W*x))", "W: 7x7, x: 7", ("W",)))
    (check,) = checked.checks
    assert (check.checked, check.entries, check.sampled) == (36, 49, True)


def test_a_sampled_check_still_catches_a_wrong_claim() -> None:
    """Sampled or not, a claim wrong in every entry is caught."""
    original = worked("L = sum(tanh(W*x))", "W: 7x7, x: 7", ("W",))
    wrong = MatMul(symbol("x"), Transpose(symbol("x"), NO_SPAN), NO_SPAN, NO_SPAN)
    with pytest.raises(WrongStepError):
        check_backprop(with_claim(original, "W", wrong))


def test_the_sample_is_the_same_every_time() -> None:
    """The sample is seeded by the step: a problem always checks the same entries."""
    first = check_backprop(worked("L = sum(tanh(W*x))", "W: 7x7, x: 7", ("W",)))
    second = check_backprop(worked("L = sum(tanh(W*x))", "W: 7x7, x: 7", ("W",)))
    assert first.checks == second.checks


BROADCAST = "a = W*x + b; L = norm2(a - y)^2"
BROADCAST_SHAPES = "W: 3x2, x: 2, b: 1, y: 3"


@pytest.mark.parametrize(
    "wrong",
    [
        # the sum over the broadcast copies forgotten: ∂L/∂b = δ_a, a 3×1 for a 1×1
        Adjoint("a"),
        # a sum of the wrong thing: ∂L/∂b = sum(a − y), the factor 2 of δ_a lost
        SumAll(Sub(symbol("a"), symbol("y"), NO_SPAN, NO_SPAN), NO_SPAN),
    ],
)
def test_a_wrong_broadcast_gradient_is_caught(wrong: Node) -> None:
    """A broadcast 1×1's gradient without its sum (another shape) or of the wrong sum raises."""
    with pytest.raises(WrongStepError):
        check_backprop(with_claim(worked(BROADCAST, BROADCAST_SHAPES, ("b",)), "b", wrong))


def test_a_claim_of_another_shape_fails_even_when_its_first_entry_agrees() -> None:
    """A 2×1 claim for a 1×1 gradient whose first entry is right is still wrong: shapes first."""
    text, shapes = "L = sum(x + c)", "x: 2, c: 1"
    # ∂L/∂c = 2; the claim 2·𝟙 = (2, 2) starts with it but is a 2×1, not a 1×1.
    two = ScalarMul(Constant(sympy.Integer(2), NO_SPAN), Ones(Shape(2, 1)), NO_SPAN, NO_SPAN)
    with pytest.raises(WrongStepError, match="differs at entries"):
        check_backprop(with_claim(worked(text, shapes, ("c",)), "c", two))
