"""Tests for chainsolve.explain: steps as data, true labels, and no repeated or empty steps."""

from __future__ import annotations

import re

import pytest
import sympy
from sympy.core.function import AppliedUndef

from chainsolve import wording
from chainsolve.check import Checker
from chainsolve.derivation import Namer, solve_problem
from chainsolve.explain import LONG_CHAIN, explain, result_only
from chainsolve.parsing import parse_problem
from chainsolve.plan import plan
from chainsolve.problem import evaluate_typed, make_symbol
from chainsolve.rules import ChainRule, sympy_derivative
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


def test_lagrange_letters_never_clash_with_the_users_functions() -> None:
    """g(x)·h(x²) in Lagrange notation: h′(x²) by its own name, the inner part a fresh letter."""
    from chainsolve.render import render_solution as render

    text = render(solve_problem(parse_problem("g(x)*h(x^2)")), "text", notation="lagrange")
    assert "y′ = g′(x) · h(x²) + g(x) · f′(x)" in text
    assert "f(x) = h(x²)" in text
    assert "f′(x) = h′(x²) · k′(x)" in text
    assert "k(x) = x²" in text
    assert "g(x) =" not in text and "h(x) =" not in text and "g′(x²)" not in text


def test_lagrange_letters_are_defined_in_the_decomposition() -> None:
    """sin(cos(x²)) in Lagrange notation defines f, g, h; Leibniz notation shows no such lines."""
    from chainsolve.render import render_solution as render

    solution = solve_problem(parse_problem("sin(cos(x^2))"))
    lagrange = render(solution, "text", notation="lagrange")
    for line in ("f(u₁) = sin(u₁)", "g(u₂) = cos(u₂)", "h(x) = x²"):
        assert line in lagrange
    assert "y′ = f′(cos(x²)) · g′(x²) · h′(x)" in lagrange
    assert "f(u₁)" not in render(solution, "text")


def test_lagrange_product_quotient_and_constant_multiple_name_their_parts() -> None:
    """Lagrange notation outside chains: (fg)′, (f/g)′ and c·f′ with f, g defined for the parts."""
    from chainsolve.render import render_solution as render

    def lagrange(text: str) -> str:
        return render(solve_problem(parse_problem(text)), "text", notation="lagrange")

    product = lagrange("x^2*sin(x)")
    assert "y′ = f′(x) · sin(x) + x² · g′(x)" in product
    assert "f(x) = x²" in product and "g(x) = sin(x)" in product
    assert "f′(x) = 2x" in product and "g′(x) = cos(x)" in product
    quotient = lagrange("sin(x)/x")
    assert "y′ = (f′(x) · x - sin(x) · g′(x))/x²" in quotient
    assert "f(x) = sin(x)" in quotient and "g(x) = x" in quotient
    multiple = lagrange("3*cos(x) + x^3*exp(x)")
    letter = re.search(r"= 3 · (\w)′\(x\) = 3 · \(-sin\(x\)\)", multiple)
    assert letter is not None and f"{letter[1]}(x) = cos(x)" in multiple
    assert "d/dx" not in product + quotient + multiple and "dy/dx" not in multiple


def test_lagrange_letters_mean_one_function_throughout_the_solution() -> None:
    """sin(x²) + cos(x³): each chain takes letters of its own; a recurring function keeps its letter."""
    from chainsolve.render import render_solution as render

    text = render(solve_problem(parse_problem("sin(x^2) + cos(x^3)")), "text", notation="lagrange")
    definitions = re.findall(r"^\s+(\w)\((\w+)\) = (.+)$", text, flags=re.MULTILINE)
    meaning: dict[str, set[str]] = {}
    for letter, argument, function in definitions:
        meaning.setdefault(letter, set()).add(function.replace(argument, "·"))
    assert len(meaning) == 6 and all(len(functions) == 1 for functions in meaning.values())
    shared = render(
        solve_problem(parse_problem("sin(x^2) * cos(x^2)")), "text", notation="lagrange"
    )
    inner = {
        letter
        for letter, _, function in re.findall(
            r"^\s+(\w)\((\w+)\) = (.+)$", shared, flags=re.MULTILINE
        )
        if function == "x²"
    }
    assert len(inner) == 1


def test_every_lagrange_letter_is_defined_before_the_end_of_its_derivation() -> None:
    """Each f′ printed is defined by then, g(y) = xy too after a decomposition folded for y."""
    from chainsolve.render import render_solution as render

    for text, wrt in (("x^2*sin(y*x)", ["x", "y"]), ("sin(x^2)/(x + cos(x))", ["x"])):
        shown = render(solve_problem(parse_problem(text, wrt=wrt)), "text", notation="lagrange")
        ends = [m.start() for m in re.finditer(r"^\w_\w:$", shown, flags=re.MULTILINE)][1:]
        for end in [*ends, len(shown)]:
            so_far = shown[:end]
            defined = set(re.findall(r"^\s+([a-z])\((\w+)\) = ", so_far, flags=re.MULTILINE))
            used = set(re.findall(r"\b([a-z])′\((\w+)\)", so_far))
            letters = {letter for letter, _ in defined}
            assert used and {letter for letter, _ in used} <= letters, (text, used, defined)
            assert {(f, v) for f, v in used if v in wrt} <= defined, (text, used, defined)


def test_the_sum_rule_lists_the_terms_as_typed() -> None:
    """cos(x²) + x³·sin(x): the sum rule opens with cos first and explains the parts in that order."""
    from chainsolve.render import render_solution as render

    text = render(solve_problem(parse_problem("cos(x^2) + x^3*sin(x)")), "text")
    assert "dy/dx = d/dx(cos(x²)) + d/dx(x³·sin(x))" in text
    assert text.index("cos(x²) = cos(u₁)") < text.index("d/dx(x³·sin(x)) = d/dx(x³)")


def test_lagrange_letters_skip_every_name_of_the_problem() -> None:
    """With f, g, h and k all taken by the problem, a chain's letters are still fresh and distinct."""
    steps = _steps("f(x) + g(x) + h(x) + k(sin(cos(m*x)))", ["x"])
    letters = [str(name.func) for step in steps for name, _ in step.lagrange_definitions]
    assert letters and len(set(letters)) == len(letters)
    assert not {"f", "g", "h", "k", "m", "x"} & set(letters)


def test_shared_note_names_only_what_was_shown() -> None:
    """In brief detail the outer derivatives are not shown, so no note says they were shown above."""
    from chainsolve.render import render_solution as render

    solution = solve_problem(parse_problem("sin(x*y)", wrt=["x", "y"]))
    brief = render(solution, "text", detail="brief")
    assert "decomposition is the same as for x (shown above)" in brief
    assert "outer derivatives" not in brief
    normal = render(solution, "text")
    assert "outer derivatives are the same as for x (shown above)" in normal
    assert "df/du₁ = cos(u₁)" in normal


def test_partial_or_d_on_multivariable_edges_and_links() -> None:
    """∂ only for a quantity with several inputs: ∂z/∂x but dx/dt on edges, df/du₁ · ∂u₁/∂x in a link."""
    from chainsolve.steps import Product

    steps = _steps("z = x^2*y; x = cos(t); y = exp(t)")
    edges = {
        (s.sides[0].of.name, s.sides[0].wrt.name): s.sides[0].partial
        for s in steps
        if s.phrase == "graph_edge" and isinstance(s.sides[0], Leibniz)
    }
    assert edges == {("z", "x"): True, ("z", "y"): True, ("x", "t"): False, ("y", "t"): False}
    total = next(s for s in steps if s.kind == "chain_formula").sides[0]
    assert isinstance(total, Leibniz) and not total.partial  # z depends on t alone
    formula = next(s for s in _steps("sin(x*y)", ["x"]) if s.kind == "chain_formula")
    assert isinstance(formula.sides[1], Product)
    outer, inner = formula.sides[1].factors
    assert isinstance(outer, Leibniz) and isinstance(inner, Leibniz)
    assert (outer.partial, inner.partial) == (False, True)


def test_rule_labels_never_repeat_a_rule() -> None:
    """No step's [label] names a rule twice (one 'held constant', one 'dx/dx = 1')."""
    problems = [
        ("sin(x + y*x + z*x)", ["x"]),
        ("z = sin(x*y*t + x*t + y*t)", ["t"]),
        ("x*y + x*z + x", ["x"]),
        ("L = (w*x + b - y)^2", ["w", "b"]),
    ]
    for text, wrt in problems:
        for step in _steps(text, wrt):
            label = wording.rule_label(step)
            if label is None:
                continue
            names = [ref.id for ref in step.rules]
            assert len(names) == len(set(names)), (text, label)
            assert label.count("held constant") <= 1 and label.count("= 1") <= 1, (text, label)


def _closing(text: str, phrase: str) -> list:  # type: ignore[type-arg]
    return [s for s in _steps(text) if s.phrase == phrase]


def _terms_printed(side: object) -> list[str]:
    from chainsolve.filters import formula_unicode
    from chainsolve.steps import Sum

    assert isinstance(side, Sum)
    return [formula_unicode(term) for term in side.terms]


def test_product_closing_drops_a_tidied_side_that_only_reorders() -> None:
    """x²·sin(x) + cos(x): the product rule ends at 2x · sin(x) + x² · cos(x), no reordered copy."""
    (product,) = _closing("x^2*sin(x) + cos(x)", "product_close")
    assert len(product.sides) == 2
    assert _terms_printed(product.sides[1]) == ["2x · sin(x)", "x² · cos(x)"]
    reference = sympy_derivative(x**2 * sympy.sin(x), x)
    assert sympy.simplify(product.claim.values[-1] - reference) == 0


def test_sum_closing_adds_the_parts_in_the_order_derived() -> None:
    """x²·sin(x) + cos(x): 'Add the parts' reads 2x·sin(x) + x²·cos(x) - sin(x), checked by sympy."""
    (closing,) = _closing("x^2*sin(x) + cos(x)", "sum_add")
    assert len(closing.sides) == 2
    assert _terms_printed(closing.sides[1]) == ["2x·sin(x)", "x²·cos(x)", "-sin(x)"]
    reference = sympy_derivative(x**2 * sympy.sin(x) + sympy.cos(x), x)
    assert sympy.simplify(closing.claim.values[-1] - reference) == 0


def test_product_closing_tidies_a_unit_factor_in_the_order_derived() -> None:
    """x·sin(x): 1 · sin(x) + x · cos(x) is tidied to sin(x) + x·cos(x) (f′g first), checked."""
    (product,) = _closing("x*sin(x)", "product_close")
    assert _terms_printed(product.sides[-1]) == ["sin(x)", "x·cos(x)"]
    reference = sympy_derivative(x * sympy.sin(x), x)
    for value in product.claim.values:
        assert sympy.simplify(value - reference) == 0


def test_sum_closing_keeps_the_order_with_a_product_and_a_quotient() -> None:
    """x²·sin(x)·e^x − x/(x + 1): the sum's closing has the parts in the order derived, one side."""
    (closing,) = _closing("x^2*sin(x)*exp(x) - x/(x+1)", "sum_add")
    assert len(closing.sides) == 2
    printed = _terms_printed(closing.sides[1])
    assert printed[0] == "2x·e^x·sin(x)" and printed[-1] == "-1/(x + 1)²"
    expr = x**2 * sympy.sin(x) * sympy.exp(x) - x / (x + 1)
    assert sympy.simplify(closing.claim.values[-1] - sympy_derivative(expr, x)) == 0


def test_quotient_closing_writes_the_numerator_in_the_order_derived() -> None:
    """x/(cos(x) + 2): the tidied numerator keeps f′g first, cos(x) + 2 + x·sin(x), checked."""
    from chainsolve.filters import formula_unicode

    (quotient,) = _closing("x/(cos(x)+2)", "quotient_close")
    assert formula_unicode(quotient.sides[-1]) == "(cos(x) + 2 + x·sin(x))/(cos(x) + 2)²"
    reference = sympy_derivative(x / (sympy.cos(x) + 2), x)
    for value in quotient.claim.values:
        assert sympy.simplify(value - reference) == 0


def test_quotient_closing_drops_a_tidied_side_that_only_reorders() -> None:
    """x²/sin(x): (2x · sin(x) - x² · cos(x))/sin(x)² is the last side, not written twice."""
    (quotient,) = _closing("x^2/sin(x)", "quotient_close")
    assert len(quotient.sides) == 2


def test_a_closing_line_too_large_to_reorder_is_left_as_sympy_holds_it() -> None:
    """Ordering tidies and expands each term: past IN_ORDER_NODES (a flattened DAG of 2ᵏ leaves)
    the value is kept as it is, so the cost of a closing line does not grow with it written out."""
    from chainsolve.dag import tree_size
    from chainsolve.explain import IN_ORDER_NODES, in_order
    from chainsolve.plan import plan
    from chainsolve.steps import Sum

    x = make_symbol("x")
    inner = x
    for _ in range(9):  # each layer uses the one below twice: 2⁹ leaves written out
        inner = sympy.sin(inner**2) + sympy.cos(2 * inner)
    expr = x**2 * inner
    rule = plan(expr, x)
    value = sympy.diff(expr, x)
    assert in_order(rule, value) is value
    small = plan(x**2 * sympy.sin(x), x)
    assert isinstance(in_order(small, sympy.diff(x**2 * sympy.sin(x), x)), Sum)  # f′g + fg′
    assert tree_size(value, IN_ORDER_NODES) > IN_ORDER_NODES


def _flat_reference(text: str, wrt: str) -> sympy.Expr:
    """sympy.diff of the problem with every definition substituted: the independent oracle."""
    problem = parse_problem(text, wrt=[wrt])
    target = problem.definition(problem.target).expr
    mapping = {make_symbol(d.name): d.expr for d in problem.definitions[1:]}
    while target.free_symbols & mapping.keys():
        target = target.subs(mapping)
    return sympy.diff(target, make_symbol(wrt))


def test_add_the_parts_shows_each_part_as_derived_in_one_side() -> None:
    """(x − 3)² + eˣ: 'Add the parts' reads 2(x − 3) + eˣ, each part as derived, no sympy copy."""
    (closing,) = _closing("(x - 3)^2 + exp(x)", "sum_add")
    assert len(closing.sides) == 2
    assert _terms_printed(closing.sides[1]) == ["2(x - 3)", "e^x"]
    reference = sympy.diff((x - 3) ** 2 + sympy.exp(x), x)
    for value in closing.claim.values:
        assert sympy.simplify(value - reference) == 0


def test_add_the_parts_gives_a_second_side_only_when_clearly_simpler() -> None:
    """(x + 1)² − 2x: the parts 2(x + 1) − 2 then = 2x (fewer terms), and the result agrees."""
    from chainsolve.filters import formula_unicode

    (closing,) = _closing("(x+1)^2 - 2*x", "sum_add")
    assert _terms_printed(closing.sides[1]) == ["2(x + 1)", "-2"]
    assert formula_unicode(closing.sides[2]) == "2x"
    reference = sympy.diff((x + 1) ** 2 - 2 * x, x)
    assert all(sympy.simplify(v - reference) == 0 for v in closing.claim.values)
    solution = solve_problem(parse_problem("(x+1)^2 - 2*x"))
    assert solution.derivations[0].result == 2 * x


def test_graph_substitution_is_tidied_in_the_order_of_the_paths() -> None:
    """two_paths: the substituted side reads -2e^t·sin(t)·cos(t) + e^t·cos(t)², the paths' order."""
    from chainsolve.filters import formula_unicode

    text = "z = x^2*y; x = cos(t); y = exp(t)"
    (step,) = _closing(text, "graph_substitute")
    assert len(step.sides) == 3
    assert formula_unicode(step.sides[2]) == "-2e^t·sin(t)·cos(t) + e^t·cos(t)²"
    reference = _flat_reference(text, "t")
    from chainsolve.explain import formula_value

    assert formula_value(step.sides[2], {}) in step.claim.values  # the side as printed is claimed
    assert all(sympy.simplify(v - reference) == 0 for v in step.claim.values)


def test_graph_substitution_drops_a_side_that_only_reorders() -> None:
    """shared_node: the four path products are the terms; sympy's reordering of them is not shown."""
    text = "z = p*q; p = u + v; q = u*v; u = x^2; v = exp(x)"
    (step,) = _closing(text, "graph_substitute")
    assert len(step.sides) == 2
    reference = _flat_reference(text, "x")
    assert all(sympy.simplify(v - reference) == 0 for v in step.claim.values)


def test_graph_substitution_with_several_variables_never_prints_plus_minus() -> None:
    """--wrt s,t: each substitution and result writes −2(s + t), never + -2(s + t), checked."""
    from chainsolve.render import render_solution

    text = "z = x^2 - y^2; x = s*t; y = s + t"
    solution = solve_problem(parse_problem(text, wrt=["s", "t"]))
    printed = render_solution(solution, "text")
    assert "+ -" not in printed
    assert "∂z/∂s = 2s·t² - 2(s + t)" in printed
    for derivation in solution.derivations:
        reference = _flat_reference(text, derivation.wrt)
        assert sympy.simplify(derivation.result - reference) == 0


def _rendered(text: str, fmt: str, notation: str) -> str:
    from chainsolve.render import render_solution

    return render_solution(solve_problem(parse_problem(text)), fmt, notation=notation)  # type: ignore[arg-type]


def test_lagrange_product_statement_uses_the_steps_own_letters() -> None:
    """g(x)·h(x²): the statement reads (gf)′ = g′f + gf′ with f(x) = h(x²), as the line under it."""
    text = _rendered("g(x)*h(x^2)", "text", "lagrange")
    assert "Product rule: (gf)′ = g′f + gf′" in text
    assert "y′ = g′(x) · h(x²) + g(x) · f′(x)" in text and "f(x) = h(x²)" in text
    assert "(fg)′" not in text


def test_leibniz_statements_use_letters_the_problem_does_not_use() -> None:
    """f(x)·g(x)·h(x) and f(x)/g(x) in Leibniz notation: no statement letter is a user's function."""
    import re

    for problem, used in (("f(x)*g(x)*h(x)", {"f", "g", "h"}), ("f(x)/g(x)", {"f", "g"})):
        text = _rendered(problem, "text", "leibniz")
        statements = re.findall(r"(?:Product|Quotient) rule: \((\w)/?(\w)\)′", text)
        assert statements, text
        assert all(not {a, b} & used for a, b in statements), statements


def test_lagrange_statements_in_every_format() -> None:
    """f(x)/g(x) and g(x)·h(x²) in Lagrange notation: the statement's letters in LaTeX, Markdown
    and HTML are the step's own (the user's f and g; g and the defined f)."""
    for fmt, quotient, product in (
        ("latex", "$(f/g)' = (f'g - fg')/g^{2}$", "$(gf)' = g'f + gf'$"),
        ("markdown", "(f/g)′ = (f′g − fg′)/g²", "(gf)′ = g′f + gf′"),
        ("html", "(f/g)′ = (f′g − fg′)/g²", "(gf)′ = g′f + gf′"),
    ):
        assert quotient in _rendered("f(x)/g(x)", fmt, "lagrange"), fmt
        assert product in _rendered("g(x)*h(x^2)", fmt, "lagrange"), fmt


def test_logarithmic_statement_names_base_and_exponent_by_their_letters() -> None:
    """x^sin(x) in Lagrange: g(x) = x is the base and f(x) = sin(x) the exponent, so ln y = f·ln g."""
    text = _rendered("x^sin(x)", "text", "lagrange")
    assert "ln y = f·ln g" in text and "Multiply back by gᶠ" in text
    assert "g(x) = x" in text and "f(x) = sin(x)" in text
    assert "ln y = g·ln f" in _rendered("x^sin(x)", "text", "leibniz")


def test_graph_substitution_of_unknown_functions_drops_a_reordered_copy() -> None:
    """f(g(t), h(t)): ∂₁f(…) · g′(t) + ∂₂f(…) · h′(t) is not repeated as g′(t)·∂₁f(…) + …"""
    text = "z = f(x, y); x = g(t); y = h(t)"
    (step,) = _closing(text, "graph_substitute")
    assert len(step.sides) == 2
    t, a, b = make_symbol("t"), sympy.Dummy("a"), sympy.Dummy("b")
    choices = {"f": sympy.Lambda((a, b), a**2 * sympy.sin(b)), "g": sympy.Lambda(a, a**3)}
    choices["h"] = sympy.Lambda(a, sympy.exp(a))

    def concrete(expr: sympy.Expr) -> sympy.Expr:
        """The expression with f, g, h chosen, so that sympy can compare the partials."""
        functions = {applied.func for applied in expr.atoms(AppliedUndef)}
        for function in functions:
            expr = expr.replace(function, choices[function.__name__])
        return expr.doit()

    reference = sympy.diff((t**3) ** 2 * sympy.sin(sympy.exp(t)), t)
    assert all(sympy.simplify(concrete(v) - reference) == 0 for v in step.claim.values)


def test_statements_with_a_users_multi_letter_function_keep_the_letters_apart() -> None:
    """loss(x)·g(x) and loss(x)^g(x) in Lagrange: (loss·g)′ = loss′·g + loss·g′ (the factors as
    typed), ln y = g·ln(loss)."""
    assert "Product rule: (loss·g)′ = loss′·g + loss·g′" in _rendered(
        "loss(x)*g(x)", "text", "lagrange"
    )
    assert "Product rule: (g·loss)′ = g′·loss + g·loss′" in _rendered(
        "g(x)*loss(x)", "text", "lagrange"
    )
    text = _rendered("loss(x)^g(x)", "text", "lagrange")
    assert "ln y = g·ln(loss)" in text and "Multiply back by lossᵍ" in text


#: Single expressions of every rule kind, a shared part, an unknown function, a typed form,
#: each with the variables it is differentiated by.
RESULT_ONLY_PROBLEMS = (
    ("sin(x^2)", ["x"]),
    ("x*exp(-x)", ["x"]),
    ("exp(-x)/x", ["x"]),
    ("x^sin(x)", ["x"]),
    ("abs(x)^3", ["x"]),
    ("tanh(x^3)", ["x"]),
    ("sigmoid(w*x + b)", ["w", "x", "b"]),
    ("exp(sin(sqrt(1+x^4)))^3", ["x"]),
    ("log(exp(x)) + exp(log(x))", ["x"]),
    ("sin(sin(x)+cos(x)) + cos(sin(x)+cos(x))", ["x"]),
    ("exp(-0.5*x^2)/sqrt(2*pi)", ["x"]),
    ("g(x)*h(x^2)", ["x"]),
    ("(a - y)^2/2 + 3*a*y", ["a", "y"]),
)


@pytest.mark.parametrize(("text", "wrt"), RESULT_ONLY_PROBLEMS)
@pytest.mark.parametrize("depth", [0, 1])
def test_result_only_is_explains_result(text: str, wrt: list[str], depth: int) -> None:
    """result_only gives the very expression explain derives (top or inner node), with no step."""
    problem = parse_problem(text, wrt=wrt)
    definition = problem.definitions[0]
    for name in wrt:
        tree = plan(definition.typed, make_symbol(name), typed=True)
        label = make_symbol(problem.target)
        names = problem.names | problem.function_names
        full = explain(tree, Namer(names), label=label, partial=True, depth=depth)
        alone = result_only(tree, Namer(names), label=label, partial=True, depth=depth)
        assert (alone.result, alone.in_terms_of_inputs, alone.steps) == (full.result, True, ())


def test_result_only_leaves_a_long_chain_in_its_intermediates() -> None:
    """A long chain at the top stays in its intermediate variables, exactly as explain leaves it."""
    expr = x
    for _ in range(LONG_CHAIN + 2):  # the innermost sin(x) is the chain's inner part, not a link
        expr = sympy.sin(expr)
    tree = plan(expr, x)
    assert isinstance(tree, ChainRule) and len(tree.links) > LONG_CHAIN
    full = explain(tree, Namer({"x", "y"}), label=y, partial=False)
    alone = result_only(tree, Namer({"x", "y"}), label=y, partial=False)
    assert not alone.in_terms_of_inputs and alone.result == full.result
