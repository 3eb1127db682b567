"""Tests for chainsolve.plan: which rule is chosen, from the expression's structure alone."""

from __future__ import annotations

import pytest
import sympy

from chainsolve.equivalence import check_claim
from chainsolve.parsing import parse_problem
from chainsolve.plan import plan, split_outer
from chainsolve.problem import make_symbol
from chainsolve.rules import (
    HOLE,
    ChainRule,
    ConstantMultipleRule,
    NoRule,
    ProductRule,
    QuotientRule,
    SumRule,
    sympy_derivative,
    walk,
)

x, y = make_symbol("x"), make_symbol("y")
f = sympy.Function("f")


def test_plan_is_pure() -> None:
    """Two plans of the same expression are equal in structure and value, and share nothing."""
    expr = sympy.sin(x**2) * sympy.exp(3 * x)
    first, second = plan(expr, x), plan(expr, x)
    assert first is not second
    assert [n.rule_id for n in walk(first)] == [n.rule_id for n in walk(second)]
    assert first.eval() == second.eval()


def test_chain_peels_every_link_outermost_first() -> None:
    """sin(cos(tan(x))) is one chain with links sin, cos and the inner part tan(x)."""
    tree = plan(sympy.sin(sympy.cos(sympy.tan(x))), x)
    assert isinstance(tree, ChainRule)
    assert [link.outer.rule_id for link in tree.links] == ["derivative_of_sin", "derivative_of_cos"]
    assert tree.inner.rule_id == "derivative_of_tan"
    assert tree.levels() == (sympy.sin(sympy.cos(sympy.tan(x))), sympy.cos(sympy.tan(x)))


def test_constant_factor_with_other_variables_is_held_constant() -> None:
    """∂/∂x of 3y·sin(x): the factor 3y is a constant multiple of the varying part."""
    tree = plan(3 * y * sympy.sin(x), x)
    assert isinstance(tree, ConstantMultipleRule)
    assert tree.constant == 3 * y
    assert tree.rest.expr == sympy.sin(x)


def test_product_and_quotient_follow_the_written_structure() -> None:
    """x·e⁻ˣ is a product (not the quotient x/eˣ); sin(x)/x is a quotient of sin(x) by x."""
    assert isinstance(plan(x * sympy.exp(-x), x), ProductRule)
    quotient = plan(sympy.sin(x) / x, x)
    assert isinstance(quotient, QuotientRule)
    assert (quotient.numerator.expr, quotient.denominator.expr) == (sympy.sin(x), x)


def test_a_typed_product_is_differentiated_in_the_order_typed() -> None:
    """cos(x)^2*sin(3x): f = cos(x)², g = sin(3x), as typed (sympy sorts sin(3x) first)."""
    typed = parse_problem("cos(x)^2*sin(3x)").definitions[0].typed
    tree = plan(typed, x, typed=True)
    assert isinstance(tree, ProductRule)
    assert (tree.first.expr, tree.second.expr) == (sympy.cos(x) ** 2, sympy.sin(3 * x))
    truth = sympy.diff(sympy.cos(x) ** 2 * sympy.sin(3 * x), x)
    assert check_claim(tree.eval(), truth).status == "symbolic"


def test_sum_keeps_every_term_in_order() -> None:
    """A sum plans one part per term, in sympy's printing order."""
    expr = x**2 + sympy.sin(x) + 7
    tree = plan(expr, x)
    assert isinstance(tree, SumRule)
    assert [t.expr for t in tree.terms] == list(expr.as_ordered_terms())


def test_unknown_structure_is_an_honest_no_rule() -> None:
    """besselj(0, x) and f(x, x) have no step-by-step rule: a NoRule node whose eval is sympy's."""
    for expr in (sympy.besselj(0, x), f(x, x)):
        tree = plan(expr, x)
        assert isinstance(tree, NoRule)
        assert tree.eval() == sympy.diff(expr, x)


def test_split_outer_writes_the_outer_function_with_a_hole() -> None:
    """F(g) splits into F(HOLE) and g; a power with varying base into HOLE^n and the base."""
    varies = lambda e: e.has(x)  # noqa: E731
    assert split_outer(sympy.exp(x**2), varies) == (sympy.exp(HOLE), x**2)
    assert split_outer((x + 1) ** 3, varies) == (HOLE**3, x + 1)
    assert split_outer(2 ** sympy.sin(x), varies) == (2**HOLE, sympy.sin(x))
    assert split_outer(x**x, varies) is None
    assert split_outer(sympy.Heaviside(x, x), varies) is None


def test_shared_parts_are_planned_once_in_a_deep_dag() -> None:
    """Planning a 40-layer diamond (2⁴⁰ leaves as a tree) visits each layer once."""
    expr: sympy.Expr = x
    for _ in range(40):
        expr = sympy.sin(expr) + sympy.cos(expr)
    assert len(walk(plan(expr, x))) <= 40 * 5 + 1


def _typed(text: str) -> sympy.Expr:
    return parse_problem(text).definitions[0].typed


TYPED_PROBLEMS = (
    "abs(x)^3",
    "sqrt(x^2)",
    "exp(sin(sqrt(1+x^4)))^3",
    "log(exp(x)) + exp(log(x))",
    "exp(-0.5*x^2)/sqrt(2*pi)",
    "x*exp(-x)",
    "exp(-x)/x",
    "x - 3*sin(x)/4 + 1/(x^2+1) - (x+1)/(2x)",
    "1/sqrt(x) + 2*3*x^2 - (-x)",
)


@pytest.mark.parametrize("text", TYPED_PROBLEMS)
def test_every_node_of_a_typed_plan_equals_sympy_diff(text: str) -> None:
    """Planned from the typed form, every node's eval() equals sympy.diff of its evaluated expr."""
    for node in walk(plan(_typed(text), x)):
        check = check_claim(node.eval(), sympy_derivative(node.expr, x))
        assert check.verified and not check.differs, (text, node.rule_id, check)


def test_typed_powers_of_functions_are_chains_not_products() -> None:
    """|x|³ is the power rule on |x| by the chain rule (not x²·|x| by the product rule)."""
    tree = plan(_typed("abs(x)^3"), x)
    assert isinstance(tree, ChainRule)
    assert [link.outer.rule_id for link in tree.links] == ["power"]
    assert tree.inner.rule_id == "derivative_of_abs"
    root = plan(_typed("sqrt(x^2)"), x)
    assert isinstance(root, ChainRule) and root.links[0].outer.rule_id == "square_root"
    cube = plan(_typed("exp(sin(x))^3"), x)
    assert isinstance(cube, ChainRule)
    assert [link.outer.rule_id for link in cube.links] == ["power", "derivative_of_exp"]


def test_typed_division_by_a_constant_is_a_constant_multiple() -> None:
    """e^(−x²/2)/√(2π) takes out the constant 1/√(2π) as typed; only a varying denominator is a quotient."""
    tree = plan(_typed("exp(-0.5*x^2)/sqrt(2*pi)"), x)
    assert isinstance(tree, ConstantMultipleRule)
    root = sympy.Pow(2 * sympy.pi, sympy.S.Half, evaluate=False)
    assert tree.constant == sympy.Pow(root, -1, evaluate=False)
    assert tree.rest.expr == sympy.exp(-(x**2) / 2)
    assert isinstance(plan(_typed("x*exp(-x)"), x), ProductRule)
    quotient = plan(_typed("exp(-x)/x"), x)
    assert isinstance(quotient, QuotientRule)
    assert (quotient.numerator.expr, quotient.denominator.expr) == (sympy.exp(-x), x)
    negated = plan(_typed("-sin(x)"), x)
    assert isinstance(negated, ConstantMultipleRule) and negated.constant == -1


def test_a_typed_sum_keeps_the_order_it_was_typed_in() -> None:
    """cos(x) + x² - 3x·sin(x) as typed: the sum rule's terms stay cos first, sympy's form sorts."""
    typed = parse_problem("cos(x) + x^2 - 3*x*sin(x)").definitions[0].typed
    x = make_symbol("x")
    terms = [term.expr for term in plan(typed, x, typed=True).terms]  # type: ignore[attr-defined]
    assert terms == [sympy.cos(x), x**2, -3 * x * sympy.sin(x)]
    assert sympy.Add(*(t.eval() for t in plan(typed, x, typed=True).terms)) == sympy.diff(  # type: ignore[attr-defined]
        typed.doit(), x
    )
    evaluated = [term.expr for term in plan(typed.doit(), x).terms]  # type: ignore[attr-defined]
    assert evaluated == list(typed.doit().as_ordered_terms())
