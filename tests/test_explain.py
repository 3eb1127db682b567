"""Tests for chainsolve.explain: steps as data, true labels, and no repeated or empty steps."""

from __future__ import annotations

import sympy

from chainsolve import wording
from chainsolve.check import Checker
from chainsolve.derivation import Namer, solve_problem
from chainsolve.explain import explain
from chainsolve.parsing import parse_problem
from chainsolve.plan import plan
from chainsolve.problem import evaluate_typed, make_symbol
from chainsolve.rules import sympy_derivative
from chainsolve.steps import Leibniz

x, y = make_symbol("x"), make_symbol("y")


def _steps(text: str, wrt: list[str] | None = None) -> list:  # type: ignore[type-arg]
    return list(solve_problem(parse_problem(text, wrt=wrt)).steps)


def test_every_claim_equals_sympy_diff() -> None:
    """Each step's claim is d(subject)/d(var) by sympy, for a product of chains and a quotient."""
    expr = sympy.sin(3 * x) * sympy.cos(x) ** 2 + sympy.exp(x) / (x + 1)
    explained = explain(plan(expr, x), Namer({"x", "y"}), label=y, partial=False)
    claims = [s.claim for s in explained.steps if s.claim is not None]
    assert len(claims) > 10
    for claim in claims:
        reference = sympy_derivative(claim.subject, claim.var)
        for value in claim.values:
            assert sympy.simplify(value - reference) == 0, claim


def test_checker_confirms_every_step() -> None:
    """The check walker marks every step of a worked chain symbolic or numeric, never unconfirmed."""
    explained = explain(
        plan(sympy.sqrt(1 + sympy.sin(x) ** 2), x), Namer({"x"}), label=y, partial=False
    )
    checked = Checker().check_all(explained.steps)
    assert all(step.verified for step in checked)
    assert any(step.check.status == "symbolic" for step in checked)


def test_chain_links_are_labelled_outer_middle_inner() -> None:
    """sin(cos(tan(x))): the outer link, then a middle link, then the inner part, each named so."""
    phrases = [s.phrase for s in _steps("sin(cos(tan(x)))") if s.kind == "local_derivative"]
    assert phrases == ["chain_outer", "chain_middle", "chain_inner"]
    assert wording.PHRASES["chain_middle"] == "Differentiate the middle function"


def test_inner_summary_has_no_rule_label() -> None:
    """ "So the inner derivative is" restates the sub-steps above it: it claims no rule of its own."""
    steps = _steps("sin(x^2*exp(x))")
    summary = [s for s in steps if s.phrase == "chain_inner_summary"]
    assert summary and all(not s.rules for s in summary)


def test_constant_terms_get_no_sub_steps() -> None:
    """d/dw1 of -y + σ(…) shows no step 'd/dw1(-y) = 0' and no '0 +' in the sum."""
    steps = _steps("L = (sigmoid(w*x + b) - y)^2", ["w"])
    for step in steps:
        assert not (step.sides and step.sides[-1] == 0 and step.kind == "rule")
    texts = [wording.sentence(s) for s in steps]
    assert "Differentiate directly" not in texts


def test_no_step_has_two_identical_sides() -> None:
    """No printed equality is 'a = a' with both sides the same formula."""
    for text in ("(3x^2+1)^5", "x*sin(x)", "sin(x)/x", "x^x", "exp(2x)/(1+exp(2x))"):
        for step in _steps(text):
            sides = step.sides
            assert all(sides[i] != sides[i + 1] for i in range(len(sides) - 1)), (text, step)


def test_repeated_subexpression_is_named_once_and_derived_once() -> None:
    """sin(A) + cos(A) with A = sin(x)·x: one name for A and A's derivative worked out once."""
    steps = _steps("sin(sin(x)*x) + cos(sin(x)*x)")
    names = {
        name
        for s in steps
        for name, value in s.definitions
        if evaluate_typed(value) == sympy.sin(x) * x
    }
    assert len(names) == 1
    assert sum(1 for s in steps if s.phrase == "product_open") == 1
    assert any(s.phrase == "chain_inner_found" for s in steps)


def test_shared_note_only_across_variables() -> None:
    """A single variable never gets 'the same as for x (shown above)'; a second variable does."""
    single = _steps("sin(sin(x)+cos(x)) + cos(sin(x)+cos(x))")
    assert not any(s.phrase == "shared" for s in single)
    two = _steps("L = (w*x + b - y)^2", ["w", "b"])
    assert [dict(s.words)["owner"] for s in two if s.phrase == "shared"] == ["w"]


def test_held_constant_labels_merge() -> None:
    """A one-line sum names 'x, y held constant' once rather than once per term."""
    steps = _steps("z = sin(x*y*t + x*t + y*t)", ["t"])
    labels = [wording.rule_label(s) or "" for s in steps]
    assert not any(label.count("held constant") > 1 for label in labels)


def test_diamond_chain_steps_grow_linearly() -> None:
    """Flattened chains of 4 and 8 diamonds: the step count grows by a constant per layer."""

    def count(k: int) -> int:
        expr = "x"
        for _ in range(k):
            expr = f"sin({expr}) + cos({expr})"
        return len(solve_problem(parse_problem(expr)).steps)

    four, eight = count(4), count(8)
    assert eight - four <= 2 * (four - count(2)) + 4
    assert eight < 150


def test_leibniz_labels_use_d_for_one_input() -> None:
    """A one-input problem writes d, never ∂, in every step."""
    for step in _steps("sin(x^2)"):
        for side in step.sides:
            if isinstance(side, Leibniz):
                assert not side.partial


def test_partial_only_where_the_quantity_has_several_inputs() -> None:
    """a^(sin x) by x: ∂y/∂x = ∂y/∂u₁ · du₁/dx (y = a^u₁ has two inputs, u₁ = sin x one)."""
    steps = _steps("a^(sin(x))", ["x"])
    formula = next(s for s in steps if s.kind == "chain_formula")
    total, product = formula.sides
    assert isinstance(total, Leibniz) and total.partial
    outer, inner = product.factors  # type: ignore[union-attr]
    assert outer.partial and not inner.partial
