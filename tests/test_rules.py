"""Tests for chainsolve.rules: the elementary table and each rule node's eval() against sympy.diff."""

from __future__ import annotations

from typing import Any

import mpmath
import pytest
import sympy

from chainsolve import functions
from chainsolve.functions import BY_CLASS, FUNCTIONS
from chainsolve.numeric import Undefined, evaluate
from chainsolve.plan import plan
from chainsolve.problem import make_symbol
from chainsolve.rules import HOLE, ChainRule, Rule, as_nonzero, walk
from chainsolve.steps import RuleRef
from chainsolve.wording import rule_name

X = make_symbol("x")

x, y, u = make_symbol("x"), make_symbol("y"), make_symbol("u")
f, g = sympy.Function("f"), sympy.Function("g")


def values_agree(left: sympy.Expr, right: sympy.Expr, point: str) -> bool:
    """Both expressions in u have the same value at u = point (40 digits)."""
    with mpmath.workdps(40):
        at = {u: mpmath.mpf(point)}
        return bool(abs(evaluate(left, at) - evaluate(right, at)) < mpmath.mpf(10) ** -30)


@pytest.mark.parametrize("kind", [sympy.sin, sympy.exp, sympy.atan, functions.sigmoid])
def test_elementary_derivative_symbolically(kind: Any) -> None:
    """Where sympy can prove it, the registry's derivative minus sympy.diff simplifies to 0."""
    assert sympy.simplify(BY_CLASS[kind].derivative(u) - sympy.diff(kind(u), u)) == 0


@pytest.mark.parametrize(
    ("kind", "name", "textbook"),
    [
        (sympy.sech, "derivative of sech", -sympy.sech(u) * sympy.tanh(u)),
        (sympy.csch, "derivative of csch", -sympy.csch(u) * sympy.coth(u)),
        (sympy.coth, "derivative of coth", 1 - sympy.coth(u) ** 2),
        (sympy.asinh, "derivative of arcsinh", 1 / sympy.sqrt(u**2 + 1)),
        (sympy.acosh, "derivative of arccosh", 1 / (sympy.sqrt(u - 1) * sympy.sqrt(u + 1))),
        (sympy.atanh, "derivative of arctanh", 1 / (1 - u**2)),
        (sympy.acot, "derivative of arccot", -1 / (1 + u**2)),
        (sympy.asec, "derivative of arcsec", 1 / (sympy.Abs(u) * sympy.sqrt(u**2 - 1))),
        (sympy.acsc, "derivative of arccsc", -1 / (sympy.Abs(u) * sympy.sqrt(u**2 - 1))),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_hyperbolic_and_inverse_rules_are_the_textbook_forms(
    kind: Any, name: str, textbook: sympy.Expr
) -> None:
    """sech … acsc have their textbook derivatives (arccosh's √(u² − 1) split as √(u − 1)·√(u + 1))."""
    assert rule_name(RuleRef(BY_CLASS[kind].rule_id)) == name
    assert BY_CLASS[kind].derivative(u) == textbook


@pytest.mark.parametrize("kind", [sympy.asec, sympy.acsc])
def test_arcsec_rule_uses_abs_on_both_branches(kind: Any) -> None:
    """|u|·√(u² − 1) equals sympy's u²·√(1 − 1/u²) for u < −1 as well, where u·√(u² − 1) would not."""
    rule = BY_CLASS[kind].derivative(u)
    theirs = sympy.diff(kind(u), u)
    for point in ("-1.01", "-2", "-40", "1.01", "40"):
        assert values_agree(rule, theirs, point)
    assert not values_agree(rule.subs(sympy.Abs(u), u), theirs, "-2")


def test_sign_derivative_is_zero_away_from_the_kink() -> None:
    """sign′ is 0 (sympy's DiracDelta is 0 away from 0), and its evaluation agrees."""
    assert BY_CLASS[sympy.sign].derivative(u) == 0
    with pytest.raises(Undefined):
        evaluate(sympy.diff(sympy.sign(u), u), {u: mpmath.mpf(0)})


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_of_the_language_has_a_rule(name: str) -> None:
    """Every function name of the input language, applied to x³ − 2x, is a chain with a known outer rule."""
    inner = x**3 - 2 * x
    tree = plan(FUNCTIONS[name](inner), x)
    assert isinstance(tree, ChainRule)
    assert tree.links[-1].argument == inner
    assert tree.links[0].outer.rule_id != "no_rule"


def _all_rules_agree(tree: Rule) -> None:
    """Every node of ``tree`` evaluates to sympy's derivative of its expression."""
    for node in walk(tree):
        expected = sympy.diff(node.expr, node.var).replace(sympy.DiracDelta, lambda *a: 0)
        assert sympy.simplify(node.eval() - expected) == 0, (node.rule_id, node.expr)


@pytest.mark.parametrize(
    "expr",
    [
        (3 * x**2 + 1) ** 5,
        2 ** (x**2),
        sympy.exp(sympy.cos(x)),
        1 / (x + 1),
        sympy.sqrt(x**2 + 1),
        sympy.log(x**2 + 1),
        functions.softplus(2 * x),
        sympy.sech(x**2),
        sympy.csch(3 * x),
        sympy.coth(x**2 + 1),
        sympy.asinh(x**2),
        sympy.atanh(x / 2),
        sympy.acot(x**2),
        x**x,
        sympy.sin(x) ** sympy.cos(x),
        x * sympy.sqrt(1 - x**2),
        sympy.sin(x) / x,
        sympy.Heaviside(x - 1, 0) * x**2,
        x * y + y**2 * sympy.sin(x),
    ],
)
def test_every_node_eval_equals_sympy_diff(expr: sympy.Expr) -> None:
    """Each node of the planned tree, evaluated, equals sympy.diff of its own expression."""
    _all_rules_agree(plan(expr, x))


def test_chain_link_outer_rule_is_planned_on_the_hole() -> None:
    """A link's outer function is F(HOLE) with its own rule; local(v) is F′ at v."""
    tree = plan(sympy.sin(x**2), x)
    assert isinstance(tree, ChainRule)
    (link,) = tree.links
    assert link.outer.expr == sympy.sin(HOLE) and link.outer.rule_id == "derivative_of_sin"
    assert link.local(y) == sympy.cos(y)
    assert link.function(y) == sympy.sin(y)


def test_abstract_link_is_a_derivative_of_the_unknown() -> None:
    """The link of f(g(x)) gives f′(u) as an unevaluated Derivative in the intermediate variable."""
    tree = plan(f(g(x)), x)
    assert isinstance(tree, ChainRule)
    assert tree.links[0].outer.rule_id == "abstract_function"
    assert tree.links[0].local(u) == sympy.Derivative(f(u), u)


@pytest.mark.parametrize(
    ("expr", "rule_id"),
    [
        (x**2, "power"),
        (sympy.sqrt(x), "square_root"),
        (1 / x, "reciprocal"),
        (2**x, "exponential"),
        (sympy.sin(x), "derivative_of_sin"),
        (f(x), "abstract_function"),
        (f(x, y), "abstract_partial"),
        (sympy.Max(x, 0), "no_rule"),
        (sympy.Integer(3), "constant"),
        (y**2, "constant"),
        (x, "variable"),
        (x**x, "logarithmic"),
        (x + 1, "sum"),
        (3 * x, "constant_multiple"),
        (x * sympy.exp(-x), "product"),
        (sympy.exp(-x) / x, "quotient"),
        (sympy.sin(x**2), "chain"),
    ],
    ids=str,
)
def test_rule_ids_are_stable(expr: sympy.Expr, rule_id: str) -> None:
    """plan chooses the rule by the expression's structure; x·e⁻ˣ is a product, e⁻ˣ/x a quotient."""
    assert plan(expr, x).rule_id == rule_id


def test_shared_subexpression_is_one_node() -> None:
    """sin(A) + cos(A) with A = sin(x) + cos(x) plans A once: the tree is a DAG."""
    inner = sympy.sin(x) + sympy.cos(x)
    tree = plan(sympy.sin(inner) + sympy.cos(inner), x)
    chains = [node for node in walk(tree) if isinstance(node, ChainRule)]
    inners = {id(chain.inner) for chain in chains if chain.inner.expr == inner}
    assert len(inners) == 1


def test_diamond_chain_plan_is_linear() -> None:
    """A flattened chain of 30 diamonds (2³⁰ leaves as a tree) plans as 30 layers of nodes."""
    expr: sympy.Expr = x
    for _ in range(30):
        expr = sympy.sin(expr) + sympy.cos(expr)
    assert len(walk(plan(expr, x))) < 30 * 6


def test_path_sum_rule_is_the_multivariable_chain_rule() -> None:
    """z = x²y, x = cos t, y = eᵗ: the path-sum node over the edge trees equals sympy.diff of z(t)."""
    from chainsolve.derivation import solve_problem
    from chainsolve.parsing import parse_problem
    from chainsolve.rules import PathSumRule

    solution = solve_problem(parse_problem("z = x^2*y; x = cos(t); y = exp(t)", wrt=["t"]))
    tree = solution.derivations[0].rules[("z", "t")]
    assert isinstance(tree, PathSumRule) and tree.rule_id == "path_sum"
    assert len(tree.paths) == 2 and len(tree.edges) == 4
    t = make_symbol("t")
    flat = {make_symbol("x"): sympy.cos(t), make_symbol("y"): sympy.exp(t)}
    expected = sympy.diff(sympy.cos(t) ** 2 * sympy.exp(t), t)
    assert sympy.simplify(tree.eval().xreplace(flat) - expected) == 0


@pytest.mark.parametrize(
    ("argument", "strict", "nonzero"),
    [
        (X**2, True, X),
        (sympy.Abs(X), True, X),
        (sympy.Abs(X) ** 4, True, X),
        (X**2, False, None),
        (X, True, None),
        (sympy.exp(X) + X**2, True, sympy.exp(X) + X**2),
    ],
)
def test_a_positive_condition_on_a_never_negative_argument_is_a_nonzero_one(
    argument: sympy.Expr, strict: bool, nonzero: sympy.Expr | None
) -> None:
    """x² > 0 and |x| > 0 are x ≠ 0; x > 0 and x² ≥ 0 are not non-zero conditions."""
    assert as_nonzero(argument, strict) == nonzero
