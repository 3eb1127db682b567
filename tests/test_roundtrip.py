"""What chainsolve prints reads back as what it stands for: names, text equations, JSON strings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sympy.core.function import AppliedUndef

import chainsolve
from chainsolve.budget import stage
from chainsolve.derivation import solve_problem
from chainsolve.equivalence import numeric_comparison
from chainsolve.errors import ChainsolveError
from chainsolve.filters import definition_unicode, formula_unicode, name_latex, unicode_name
from chainsolve.functions import FUNCTIONS
from chainsolve.parsing import parse_expression, parse_problem
from chainsolve.problem import Problem, make_symbol
from chainsolve.render import render_solution
from chainsolve.steps import Formula, Leibniz, Neg, Product, Quotient, Solution, Sum
from chainsolve.verification import verify_answer
from tests.strategies import (
    FUZZ_EXAMPLES,
    abstract_definition_systems,
    definition_systems,
    repeatable,
    single_variable_problems,
)

#: Half the fuzz tests' examples (100 in the light profile), scaled by the same knob.
EXAMPLES = max(1, FUZZ_EXAMPLES // 2)
#: A definition system takes seconds to solve: a tenth as many of them.
GRAPH_EXAMPLES = max(1, EXAMPLES // 10)

roundtrip = repeatable(EXAMPLES)
roundtrip_graphs = settings(roundtrip, max_examples=GRAPH_EXAMPLES)

#: chainsolve's functions that sympy does not have: a reader passes them to sympify.
CHAINSOLVE_FUNCTIONS = ("sigmoid", "relu", "softplus")

# --- helpers --------------------------------------------------------------------------------


def _value(formula: Formula) -> sympy.Expr | None:
    """The expression a step formula stands for; ``None`` when it holds a Leibniz symbol."""
    if isinstance(formula, sympy.Expr):
        return formula
    if isinstance(formula, Leibniz):
        return None
    if isinstance(formula, Neg):
        inner = _value(formula.operand)
        return None if inner is None else -inner
    if isinstance(formula, Quotient):
        top, bottom = _value(formula.numerator), _value(formula.denominator)
        return None if top is None or bottom is None else top / bottom
    parts = [_value(part) for part in (formula.factors if isinstance(formula, Product) else ())]
    if isinstance(formula, Sum):
        parts = [_value(term) for term in formula.terms]
    if any(part is None for part in parts):
        return None
    return sympy.Mul(*parts) if isinstance(formula, Product) else sympy.Add(*parts)


def _printed_expressions(solution: Solution) -> Iterator[tuple[str, sympy.Expr]]:
    """Each expression of the text output as printed, with the expression it stands for."""
    for step in solution.steps:
        for side in step.sides:
            value = _value(side)
            if value is not None:
                yield formula_unicode(side), value
        for name, expr in step.definitions:
            yield definition_unicode(name, expr).split(" = ", 1)[1], expr


def _agree(written: sympy.Expr, meant: sympy.Expr) -> bool:
    """Equal as trees, or at random points (abstract functions replaced by concrete ones)."""
    if written == meant:
        return True
    return numeric_comparison(written, meant).verdict != "not_equal"


def _sympy_reading(text: str, like: sympy.Expr) -> sympy.Expr:
    """``text`` read by sympy itself, names declared as chainsolve's (real variables, functions)."""
    names: dict[str, object] = {s.name: s for s in like.free_symbols}
    names |= {str(a.func): a.func for a in like.atoms(AppliedUndef)}
    names |= {name: FUNCTIONS[name] for name in CHAINSOLVE_FUNCTIONS}
    return sympy.sympify(text, locals=names)


def _flat_target(problem: Problem) -> sympy.Expr:
    full: dict[sympy.Symbol, sympy.Expr] = {}
    for definition in reversed(problem.definitions):
        full[make_symbol(definition.name)] = definition.expr.xreplace(full)
    return full[make_symbol(problem.target)]


def _solve_or_skip(text: str) -> Solution:
    try:
        problem = parse_problem(text, wrt=("s", "t") if "=" in text else None)
    except ChainsolveError:
        assume(False)
        raise AssertionError("unreachable") from None
    assume(bool(problem.inputs))
    flat = _flat_target(problem)
    # Open elsewhere (see test_fuzz.tame): huge rationals, 0^x, f^g with both varying.
    assume(all(abs(n.p) < 10**4 and n.q < 10**4 for n in flat.atoms(sympy.Rational)))
    assume(not any(p.base == 0 for p in flat.atoms(sympy.Pow)))
    assume(not any(p.base.free_symbols and p.exp.free_symbols for p in flat.atoms(sympy.Pow)))
    with stage("derivation", 120):  # stops a hang only: a loaded CI machine is slow
        return solve_problem(problem)


def _check_text_reads_back(solution: Solution) -> int:
    """Every expression of the text output reads back through the parser as what it stands for."""
    checked = 0
    for printed, meant in _printed_expressions(solution):
        back = parse_expression(printed)
        assert _agree(back, meant), (solution.problem.source, printed, back, meant)
        checked += 1
    return checked


def _json_strings(data: dict[str, object]) -> Iterator[str]:
    problem = data["problem"]
    assert isinstance(problem, dict)
    yield from (d["expr"] for d in problem["definitions"])
    yield from problem["point"].values()
    graph = data["graph"]
    if isinstance(graph, dict):
        yield from (n["expr"] for n in graph["nodes"] if n["expr"] is not None)
        yield from (e["local_partial"] for e in graph["edges"])


def _check_json_reads_back(solution: Solution) -> None:
    """Every JSON expression reads back with both parsers; derivatives equal sympy.diff's."""
    data = json.loads(render_solution(solution, "json"))
    flat = _flat_target(solution.problem)
    for wrt, written in data["derivatives"].items():
        truth = sympy.diff(flat, make_symbol(wrt))
        for back in (parse_expression(written), _sympy_reading(written, flat)):
            assert _agree(back, truth), (solution.problem.source, wrt, written, truth)
    for written in _json_strings(data):
        ours = parse_expression(written)
        assert _agree(_sympy_reading(written, ours), ours), (solution.problem.source, written)


# --- the guard rail: random problems --------------------------------------------------------


@roundtrip
@given(single_variable_problems())
def test_text_and_json_of_an_expression_read_back(text: str) -> None:
    """Every text equation and JSON string of a random expression's solution reads back to its value."""
    solution = _solve_or_skip(text)
    assert _check_text_reads_back(solution)
    _check_json_reads_back(solution)


@roundtrip_graphs
@given(st.one_of(definition_systems(), abstract_definition_systems()))
def test_text_and_json_of_a_definition_system_read_back(text: str) -> None:
    """The same for random definition systems, unknown functions f(v, t) included."""
    solution = _solve_or_skip(text)
    _check_text_reads_back(solution)
    _check_json_reads_back(solution)


# --- the cases of issue 12 ------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["atan(exp(x))", "acsc(exp(x))", "exp(x)^2 + sin(exp(x)^3)"])
def test_powers_of_exponentials_read_back(problem: str) -> None:
    """atan(exp(x)) printed 1/(e^x² + 1) (that is e^(x²)) beside a ✓: every line now reads back."""
    solution = chainsolve.solve(problem)
    assert _check_text_reads_back(solution) >= 3
    _check_json_reads_back(solution)


def test_unknown_functions_at_a_point_read_back_and_verify() -> None:
    """z = f(x, y); x = g(t); y = h(t): text and JSON read back, and verify accepts both answers."""
    solution = chainsolve.solve("z = f(x, y); x = g(t); y = h(t)")
    _check_text_reads_back(solution)
    _check_json_reads_back(solution)
    problem = solution.problem
    for answer in (
        formula_unicode(solution.derivations[0].result),
        json.loads(render_solution(solution, "json"))["derivatives"]["t"],
    ):
        assert verify_answer(problem, answer, timeout=30).correct, answer


@pytest.mark.parametrize(
    ("problem", "wrt"),
    [
        ("z = f(x, t); x = g(t)", "t"),
        ("z = f(x, t); x = t^2", "t"),
        ("z = f(x, y, t); x = cos(t); y = sin(t)", "t"),
        ("z = f(x, s); x = s*t", "s,t"),
    ],
)
def test_direct_and_indirect_dependence_reads_back(problem: str, wrt: str) -> None:
    """f(x, t) with x = g(t): the JSON and text derivative equal sympy.diff's and read back."""
    solution = chainsolve.solve(problem, wrt=wrt)
    _check_json_reads_back(solution)
    _check_text_reads_back(solution)


@pytest.mark.parametrize("user_name", ["u1", "u_1", "u₁", "v1", "u2"])
def test_generated_names_differ_from_the_users_as_printed(user_name: str) -> None:
    """sin(cos(u1^2)): no generated name prints like the user's u1 in text or LaTeX (it was circular)."""
    problem = parse_problem(f"sin(cos({user_name}^2))")
    solution = solve_problem(problem)
    (user,) = problem.inputs
    assert solution.intermediates
    for name in solution.intermediates:
        assert unicode_name(name) != unicode_name(user)
        assert name_latex(name) != name_latex(user)
    latex = render_solution(solution, "latex")
    assert rf"{name_latex(user)} &= \cos" not in latex
    _check_text_reads_back(solution)


@pytest.mark.parametrize(
    "text",
    ["-(y*log(p) + (1 - y)*log(1 - p))", "-(x + sin(x))*2", "-(x^2 - 3x)", "-(x - 1)/(x + 1)"],
)
def test_a_typed_minus_before_a_sum_reads_back_from_latex(text: str) -> None:
    """-(a + b) as typed prints -\\left(a + b\\right) in LaTeX (it printed -a + b, another number)."""
    from chainsolve.filters import latex_expr
    from chainsolve.parsing import input_syntax

    problem = parse_problem(f"L = {text}", wrt=["x"] if "x" in text else ["y"])
    typed, expr = problem.definitions[0].typed, problem.definitions[0].expr
    printed = latex_expr(typed).replace(r"\mathopen{}", "")
    with input_syntax("latex"):
        read = parse_expression(printed)
    assert sympy.expand(read - expr) == 0
