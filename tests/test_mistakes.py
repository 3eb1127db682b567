"""Tests for chainsolve.mistakes: each common mistake is recognised from its wrong answer."""

from __future__ import annotations

from collections import Counter

import pytest
import sympy

from chainsolve.derivation import flatten_definitions, solve_problem
from chainsolve.mistakes import MISTAKES, candidates, identify
from chainsolve.problem import Definition, build_problem, make_symbol

x, y, t = (make_symbol(n) for n in "xyt")
f, g, h = sympy.Function("f"), sympy.Function("g"), sympy.Function("h")
sin, cos, exp, sqrt = sympy.sin, sympy.cos, sympy.exp, sympy.sqrt

SINGLE = [Definition("y", sin(x**2))]
CHAIN_T = [Definition("z", x**2 * y), Definition("x", cos(t)), Definition("y", exp(t))]
ABSTRACT = [Definition("z", f(x, y)), Definition("x", g(t)), Definition("y", h(t))]
DIRECT = [Definition("z", x**2 * y), Definition("y", sin(x))]
DIRECT2 = [Definition("z", x * y + x), Definition("y", x**2)]


def mistakes_of(
    definitions: list[Definition], answer: sympy.Expr, wrt: str | None = None
) -> list[str]:
    """The mistake ids identify() names for ``answer`` (given in the problem's own names)."""
    problem = build_problem(definitions, source="", wrt=[wrt] if wrt else None)
    solution = solve_problem(problem)
    derivation = solution.derivations[0]
    flat = flatten_definitions(problem)
    truth = derivation.result.xreplace(flat)
    wrong = candidates(problem, derivation.wrt, derivation, solution.graph)
    return [m.id for m in identify(answer.xreplace(flat), truth, wrong)]


def partial(
    function: sympy.Expr, variable: sympy.Symbol, at: dict[sympy.Symbol, sympy.Expr]
) -> sympy.Expr:
    """∂function/∂variable at the point ``at``, as chainsolve writes it."""
    from chainsolve.derivation import substitute

    return substitute(sympy.Derivative(function, variable), at)


AT = {x: g(t), y: h(t)}
F_X = partial(f(x, y), x, AT)
F_Y = partial(f(x, y), y, AT)
G_T, H_T = sympy.Derivative(g(t), t), sympy.Derivative(h(t), t)

CASES = [
    ("missing_inner_derivative", [Definition("y", sin(x**2))], cos(x**2)),
    ("missing_inner_derivative", [Definition("y", exp(sin(x)))], exp(sin(x))),
    ("missing_inner_derivative", ABSTRACT, F_X + F_Y),
    ("outer_at_wrong_argument", SINGLE, cos(x) * 2 * x),
    ("outer_at_wrong_argument", [Definition("y", (x**2 + 1) ** 3)], 3 * x**2 * 2 * x),
    ("composed_derivatives", SINGLE, cos(2 * x)),
    ("composed_derivatives", [Definition("y", exp(sin(x)))], exp(cos(x))),
    ("missing_path", CHAIN_T, 2 * x * y * (-sin(t))),
    ("missing_path", ABSTRACT, F_X * G_T),
    ("sign_error", [Definition("y", cos(x**2))], 2 * x * sin(x**2)),
    ("sign_error", [Definition("y", 1 / x)], 1 / x**2),
    ("sign_error", [Definition("y", x * cos(x))], cos(x) + x * sin(x)),
    # cosh′ = +sinh, unlike cos: a term with the cos-like minus is named.
    ("sign_error", [Definition("y", sympy.cosh(x) + x**2)], -sympy.sinh(x) + 2 * x),
    ("sign_error", [Definition("y", sympy.acos(x) + x**2)], 1 / sympy.sqrt(1 - x**2) + 2 * x),
    ("constant_factor", SINGLE, 4 * x * cos(x**2)),
    ("constant_factor", [Definition("y", sqrt(x**2 + 1))], x / (2 * sqrt(x**2 + 1))),
    ("power_rule_error", [Definition("y", (x**2 + 1) ** 3)], 3 * (x**2 + 1) ** 3 * 2 * x),
    ("power_rule_error", [Definition("y", x**5)], 5 * x**3),
    ("power_rule_error", [Definition("y", 2**x)], x * 2 ** (x - 1)),
    ("partial_for_total", DIRECT, 2 * x * y),
    ("partial_for_total", DIRECT2, y + 1),
    ("product_rule_error", [Definition("y", x**2 * sin(x))], 2 * x * cos(x)),
    ("product_rule_error", [Definition("y", exp(x) * cos(x))], -exp(x) * sin(x)),
    ("quotient_rule_error", [Definition("y", sin(x) / x)], (x * cos(x) + sin(x)) / x**2),
    (
        "quotient_rule_error",
        [Definition("y", exp(x) / (x + 1))],
        (exp(x) * (x + 1) - exp(x)) / (x + 1),
    ),
    ("not_differentiated", SINGLE, sin(x**2)),
    ("not_differentiated", [Definition("y", exp(x) * x)], exp(x) * x),
    ("wrong_variable", [Definition("y", sin(x * t))], x * cos(x * t)),
    ("wrong_variable", [Definition("y", x**2 * t**3)], 3 * x**2 * t**2),
]


@pytest.mark.parametrize(("mistake", "definitions", "answer"), CASES)
def test_each_mistake_is_named(
    mistake: str, definitions: list[Definition], answer: sympy.Expr
) -> None:
    """A wrong answer made by one common mistake is named by that mistake's id."""
    wrt = "x" if mistake == "wrong_variable" else None
    assert mistake in mistakes_of(definitions, answer, wrt)


def test_every_mistake_id_is_tested_on_two_problems() -> None:
    """Each mistake id (but the verify-level unevaluated_derivative) has two cases or more."""
    # The slips of implicit differentiation, related rates and higher orders are tested on
    # two problems each in tests/test_implicit.py, test_rates.py and test_higher.py.
    elsewhere = ("implicit_", "rates_", "previous_order")
    rule_tree = [m for m in MISTAKES if not m.startswith(elsewhere)]
    counts = {m: sum(1 for case in CASES if case[0] == m) for m in rule_tree}
    assert {m for m, n in counts.items() if n < 2} == {"unevaluated_derivative"}


def test_unrelated_wrong_answer_names_no_mistake() -> None:
    """An answer no known mistake produces gets no invented reason."""
    assert mistakes_of(SINGLE, x**3 + 7) == []


def test_several_matching_mistakes_are_all_named() -> None:
    """sin(2x) → cos(2x) is both a missing inner derivative and a constant factor ½."""
    found = mistakes_of([Definition("y", sin(2 * x))], cos(2 * x))
    assert {"missing_inner_derivative", "constant_factor"} <= set(found)


def test_messages_explain_to_a_student() -> None:
    """Every mistake has a title and a full-sentence explanation."""
    for mistake in MISTAKES.values():
        assert mistake.title and mistake.message.endswith(".")


@pytest.mark.parametrize(
    ("mistake", "answer"),
    [
        ("sign_error", cos(cos(x**2)) * sin(x**2) * 2 * x),
        ("missing_inner_derivative", -cos(cos(x**2)) * sin(x**2)),
        ("outer_at_wrong_argument", -cos(cos(x**2)) * sin(x) * 2 * x),
    ],
)
def test_mistake_in_a_middle_link_is_named(mistake: str, answer: sympy.Expr) -> None:
    """sin(cos(x²)): a slip at the middle link (cos) is found, the outer link and x² done right."""
    assert mistake in mistakes_of([Definition("y", sin(cos(x**2)))], answer)


def test_wrong_variants_come_from_the_rule_tree() -> None:
    """Each candidate differs from the truth and names the node it was made at (one per node kind)."""
    from chainsolve.mistakes import wrong_derivatives
    from chainsolve.plan import plan

    expr = x**2 * sin(3 * x) + exp(x) / (x + 1)
    truth = sympy.diff(expr, x)
    found = wrong_derivatives(plan(expr, x))
    kinds = {c.mistake for c in found}
    assert {"product_rule_error", "quotient_rule_error", "power_rule_error"} <= kinds
    assert {"missing_inner_derivative", "outer_at_wrong_argument", "sign_error"} <= kinds
    for candidate in found:
        assert candidate.site is not None
        assert sympy.simplify(candidate.expr - truth) != 0, candidate


def test_candidates_reuse_the_solution_rule_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mistakes walker reads the trees the solution was explained from; it plans nothing anew."""
    import chainsolve.mistakes as mistakes_module

    for definitions, wrt in ((SINGLE, None), (CHAIN_T, None)):
        problem = build_problem(definitions, source="", wrt=[wrt] if wrt else None)
        solution = solve_problem(problem)
        derivation = solution.derivations[0]
        assert derivation.rules

        def no_planning(*args: object) -> None:
            raise AssertionError("planned again")

        monkeypatch.setattr(mistakes_module, "plan", no_planning)
        assert candidates(problem, derivation.wrt, derivation, solution.graph)
        monkeypatch.undo()


def test_identify_evaluates_a_shared_part_once_per_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """cos t, shared by the answer, the truth and the candidates, is computed once per sample point."""
    from chainsolve import numeric

    problem = build_problem(CHAIN_T, source="")
    solution = solve_problem(problem)
    derivation = solution.derivations[0]
    flat = flatten_definitions(problem)
    wrong = candidates(problem, derivation.wrt, derivation, solution.graph)
    computed: list[sympy.Basic] = []
    real_compute = numeric._compute

    def counting(expr: sympy.Basic, *args: object) -> object:
        computed.append(expr)
        return real_compute(expr, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(numeric, "_compute", counting)
    answer = -2 * exp(t) * sin(t) * cos(t)
    found = identify(answer, derivation.result.xreplace(flat), wrong)
    assert [m.id for m in found] == ["missing_path"]
    # Each cos t object (the truth's, the answer's: sympy may hold two) once at each of
    # identify's six sample points.
    per_object = Counter(id(e) for e in computed if e == cos(t))
    assert per_object and max(per_object.values()) <= 6
