"""Tests for chainsolve.higher: derivatives of order 2 and 3, each checked against sympy.diff(expr, x, n)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import sympy
from click.testing import CliRunner

import chainsolve
from chainsolve.cli import main
from chainsolve.errors import ProblemError
from chainsolve.explain import formula_value
from chainsolve.filters import formula_latex, formula_mathml, formula_unicode
from chainsolve.higher import MAX_ORDER
from chainsolve.problem import make_symbol
from chainsolve.steps import Leibniz

x = make_symbol("x")
y = make_symbol("y")

#: Each problem as the user types it, and the same function built directly in sympy (the oracle's input).
PROBLEMS: list[tuple[str, Callable[[], sympy.Expr]]] = [
    ("sin(x^2)", lambda: sympy.sin(x**2)),
    ("cos(3*x)", lambda: sympy.cos(3 * x)),
    ("exp(x^2)", lambda: sympy.exp(x**2)),
    ("exp(exp(x))", lambda: sympy.exp(sympy.exp(x))),
    ("(x^2 + 1)^5", lambda: (x**2 + 1) ** 5),
    ("ln(x^2 + 1)", lambda: sympy.log(x**2 + 1)),
    ("sqrt(1 + x^2)", lambda: sympy.sqrt(1 + x**2)),
    ("x*sin(x)", lambda: x * sympy.sin(x)),
    ("tan(x)", lambda: sympy.tan(x)),
    ("1/(1 + x^2)", lambda: 1 / (1 + x**2)),
    ("atan(2*x)", lambda: sympy.atan(2 * x)),
    ("x^2*exp(-x)", lambda: x**2 * sympy.exp(-x)),
    ("sin(x)^3", lambda: sympy.sin(x) ** 3),
    ("ln(cos(x))", lambda: sympy.log(sympy.cos(x))),
    ("x/(x + 1)", lambda: x / (x + 1)),
    ("x^4 - 3*x^2 + 2", lambda: x**4 - 3 * x**2 + 2),
    ("2^x", lambda: 2**x),
    ("sinh(x^2)", lambda: sympy.sinh(x**2)),
]


@pytest.mark.parametrize(("text", "build"), PROBLEMS, ids=[p[0] for p in PROBLEMS])
@pytest.mark.parametrize("order", [2, 3])
def test_each_order_equals_sympy_diff(
    text: str, build: Callable[[], sympy.Expr], order: int
) -> None:
    """Every order's result equals sympy.diff(expr, x, k) of the function built independently."""
    solution = chainsolve.solve(text, order=order)
    assert solution.verified
    assert [d.derivative.order for d in solution.derivations] == list(range(1, order + 1))
    for k, derivation in enumerate(solution.derivations, start=1):
        assert sympy.simplify(derivation.result - sympy.diff(build(), x, k)) == 0


def test_sin_x_squared_second_derivative_is_textbook_form() -> None:
    """d²/dx² sin(x²) = 2cos(x²) − 4x²·sin(x²): where the chain and product rules meet."""
    solution = chainsolve.solve("sin(x^2)", order=2)
    assert solution.derivatives["x"] == 2 * sympy.cos(x**2) - 4 * x**2 * sympy.sin(x**2)
    rules = {step.rule_id for step in solution.derivations[1].steps}
    assert {"product", "chain"} <= rules


def test_each_order_differentiates_the_previous_result() -> None:
    """Order k opens with d^k y/dx^k = d/dx(result of order k − 1)."""
    solution = chainsolve.solve("exp(x^2)", order=3)
    for lower, higher in zip(solution.derivations, solution.derivations[1:], strict=False):
        opening = higher.steps[0]
        assert opening.phrase == "higher_order"
        assert opening.sides[1] == Leibniz(lower.result, x)


def test_intermediate_names_differ_between_orders() -> None:
    """Order 2's intermediates take a fresh letter, so u₁ never means two things."""
    solution = chainsolve.solve("sin(x^2)", order=2)
    names = {str(name) for name in solution.intermediates}
    assert names == {"u_1", "v_1"}
    assert solution.intermediates["v_1"] == x**2


def test_order_one_is_the_plain_solution() -> None:
    """order=1 is exactly the ordinary solution."""
    assert (
        chainsolve.solve("sin(x^2)", order=1).derivatives
        == chainsolve.solve("sin(x^2)").derivatives
    )


def test_multivariable_with_wrt_gives_the_pure_partial() -> None:
    """With several inputs and --wrt x, order 2 is ∂²z/∂x², equal to sympy.diff(expr, x, 2)."""
    solution = chainsolve.solve("z = sin(x*y)", wrt="x", order=2)
    assert sympy.simplify(solution.derivatives["x"] - sympy.diff(sympy.sin(x * y), x, 2)) == 0
    assert solution.derivations[1].derivative.partial


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"at": "x=1"}, "higher_order_at_point"),
        ({"wrt": "x,y", "problem": "z = x*y", "order": 3}, "higher_order_unsupported"),
        ({"wrt": "x,y", "problem": "z = f(u); u = g(w); w = x*y"}, "mixed_unsupported"),
        ({"order": 0}, "order_out_of_range"),
        ({"order": MAX_ORDER + 1}, "order_out_of_range"),
    ],
)
def test_unsupported_requests_are_refused_clearly(kwargs: dict[str, object], code: str) -> None:
    """--order above 1 with --at, several variables, or out of range: a ProblemError."""
    options: dict[str, object] = {"problem": "sin(x^2)", "order": 2, **kwargs}
    problem = str(options.pop("problem"))
    with pytest.raises(ProblemError) as raised:
        chainsolve.solve(problem, **options)  # type: ignore[arg-type]
    assert raised.value.code == code


def test_cli_order_two_prints_leibniz_second_derivative() -> None:
    """`solve "sin(x^2)" --order 2` prints d²y/dx² = … and exits 0."""
    result = CliRunner().invoke(main, ["solve", "sin(x^2)", "--order", "2"])
    assert result.exit_code == 0, result.output
    assert "d²y/dx² = 2cos(x²) - 4x²·sin(x²)" in result.output


def test_cli_order_with_at_is_one_line_exit_two() -> None:
    """--order 2 with --at is refused with one line and exit 2, never a traceback."""
    result = CliRunner().invoke(main, ["solve", "sin(x^2)", "--order", "2", "--at", "x=1"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_json_lists_each_order() -> None:
    """JSON's derivatives_by_order holds every order; derivatives holds the highest."""
    data = json.loads(chainsolve.solve("x^3", order=3).to_json())
    assert data["derivatives_by_order"] == {"1": "3*x**2", "2": "6*x", "3": "6"}
    assert data["derivatives"] == {"x": "6"}
    assert "derivatives_by_order" not in json.loads(chainsolve.solve("x^3").to_json())


def test_second_derivative_symbol_in_every_notation() -> None:
    """Order 2 prints d²y/dx², \\frac{d^{2} y}{dx^{2}}, MathML msup, and y″ in Lagrange notation."""
    second = Leibniz(y, x, lagrange=("y", None), order=2)
    assert formula_unicode(second) == "d²y/dx²"
    assert formula_latex(second) == r"\frac{d^{2} y}{dx^{2}}"
    assert "<msup>" in formula_mathml(second)
    assert formula_unicode(second, "lagrange") == "y″"


def test_top_level_chain_of_order_two_names_the_first_derivative() -> None:
    """asin(x) order 2: the decomposition reads y' = 1/√u₁ and the link dy'/du₁, never y = …."""
    text = chainsolve.solve("asin(x)", order=2).to_text()
    assert "y' = 1/√u₁" in text
    assert "d²y/dx² = dy'/du₁ · du₁/dx" in text
    assert "y = 1/√u₁" not in text


f = sympy.Function("f")
u_, v_ = make_symbol("u"), make_symbol("v")

#: Mixed partials: the problem as typed, and the flattened function built directly in sympy.
MIXED: list[tuple[str, Callable[[], sympy.Expr]]] = [
    ("z = x^2*y^3 + sin(x*y)", lambda: x**2 * y**3 + sympy.sin(x * y)),
    ("z = exp(x*y^2)", lambda: sympy.exp(x * y**2)),
    ("z = x/(x + y)", lambda: x / (x + y)),
    ("z = ln(x^2 + y^2)", lambda: sympy.log(x**2 + y**2)),
    ("z = u^2*v; u = x*y; v = x + y", lambda: (x * y) ** 2 * (x + y)),
    ("z = sin(u)*cos(v); u = x - y; v = x*y", lambda: sympy.sin(x - y) * sympy.cos(x * y)),
]


@pytest.mark.parametrize(("text", "build"), MIXED, ids=[p[0] for p in MIXED])
def test_mixed_partial_equals_sympy_diff(text: str, build: Callable[[], sympy.Expr]) -> None:
    """--wrt x,y --order 2: ∂²z/∂y∂x equals sympy.diff(z, x, y) of the function built directly."""
    solution = chainsolve.solve(text, wrt="x,y", order=2)
    assert solution.verified
    assert sympy.simplify(solution.derivatives["x,y"] - sympy.diff(build(), x, y)) == 0
    mixed = solution.derivations[-1].derivative
    assert (mixed.wrt, mixed.mixed) == (y, (x,))


def _known(*args: sympy.Expr) -> sympy.Expr:
    """The concrete function every unknown function becomes: one of one or of two arguments."""
    if len(args) == 1:
        (a,) = args
        return sympy.sin(a) * sympy.exp(a) + a**3
    a, b = args
    return sympy.sin(a) * sympy.exp(2 * b) + a**3 * b**2


def _concrete(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every unknown function made :func:`_known`, every derivative and Subs done.

    Inside ``Subs(Derivative(f(ξ, …), ξ), ξ, a)`` the arguments are plain (dummy) symbols,
    so f(ξ, …) can be replaced by a concrete expression before ``doit`` differentiates it.
    """
    from sympy.core.function import AppliedUndef

    known = expr.replace(lambda e: isinstance(e, AppliedUndef), lambda e: _known(*e.args))
    return known.doit()


def test_mixed_partial_without_an_unknown_function_collects_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an unknown f of two slots, the f_uu collecting pass (its diffs and collect) is not run."""
    import chainsolve.mixed

    collected: list[sympy.Expr] = []
    monkeypatch.setattr(chainsolve.mixed, "_canonical", lambda e: collected.append(e) or e)
    solution = chainsolve.solve("z = x^2*y^3 + sin(x*y)", wrt="x,y", order=2)
    assert solution.verified
    assert not collected
    oracle = sympy.diff(x**2 * y**3 + sympy.sin(x * y), x, y)
    assert sympy.expand(solution.derivatives["x,y"] - oracle) == 0


@pytest.mark.parametrize(
    ("text", "wrt", "order"),
    [("z = x^2*y^3 + sin(x*y)", "x,y", 2), ("sin(x^2)", None, 3)],
)
def test_each_order_and_the_oracle_differentiate_a_subject_once(
    monkeypatch: pytest.MonkeyPatch, text: str, wrt: str | None, order: int
) -> None:
    """One checker serves every order and the oracle: no sympy.diff of the same subject twice."""
    import chainsolve.check

    differentiated: list[tuple[sympy.Expr, sympy.Symbol]] = []
    derivative = chainsolve.check.sympy_derivative

    def counted(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
        differentiated.append((expr, var))
        return derivative(expr, var)

    monkeypatch.setattr(chainsolve.check, "sympy_derivative", counted)
    solution = chainsolve.solve(text, wrt=wrt, order=order)
    assert solution.verified
    assert len(differentiated) == len(set(differentiated))


#: Counts sympy's differentiations of a Subs by y, with sympy's cache off (a cache hit would
#: hide a second differentiation): once for sympy.diff(∂z/∂x, y), then for the mixed partial.
_SUBS_BY_Y = """
import sympy, chainsolve
from chainsolve.problem import make_symbol
x, y = make_symbol("x"), make_symbol("y")
subs_derivative = sympy.Subs._eval_derivative
by_y = []
def counted(self, s):
    by_y.append(s == y)
    return subs_derivative(self, s)
sympy.Subs._eval_derivative = counted
f = sympy.Function("f", real=True)
sympy.diff(sympy.diff(f(x*y, x + y), x), y)
once = sum(by_y)
by_y.clear()
solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
print(solution.verified, once, sum(by_y))
"""


def test_abstract_mixed_partial_steps_and_oracle_share_sympys_one_second_derivative() -> None:
    """∂z_x/∂y's steps are checked against sympy's own ∂/∂y of its ∂z/∂x, computed once with the oracle's."""
    env = {**os.environ, "SYMPY_USE_CACHE": "no"}
    ran = subprocess.run(
        [sys.executable, "-c", _SUBS_BY_Y],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env=env,
    )
    verified, once, counted = ran.stdout.split()
    assert verified == "True"
    assert int(once) > 0
    assert int(counted) == int(once)


def test_abstract_mixed_partial_equals_sympy_diff_of_f_of_xy_and_x_plus_y() -> None:
    """z = f(u, v), u = xy, v = x + y: ∂²z/∂y∂x equals sympy.diff(f(xy, x + y), x, y) for a concrete f."""
    solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
    assert solution.verified
    result = solution.derivatives["x,y"]
    oracle = sympy.diff(_known(x * y, x + y), x, y)
    assert not _concrete(result).has(f)
    assert sympy.simplify(_concrete(result) - oracle) == 0


def test_abstract_mixed_partial_is_written_with_f_uu_f_uv_f_vv() -> None:
    """The last step collects by f's partials: x·y·f_uu + (x + y)·f_uv + f_u + f_vv at (u, v)."""
    solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
    last = solution.derivations[-1].steps[-1]
    assert last.phrase == "mixed_subscripts"
    named = {
        name: sympy.Function(name, real=True)(u_, v_) for name in ("f_uu", "f_uv", "f_vv", "f_u")
    }
    expected = x * y * named["f_uu"] + (x + y) * named["f_uv"] + named["f_u"] + named["f_vv"]
    assert sympy.expand(formula_value(last.sides[1], {}) - expected) == 0
    text = solution.to_text()
    assert "∂²z/∂y∂x = x·y·fᵤᵤ(u, v) + (x + y)·fᵤᵥ(u, v)" in text
    assert "f_{uv}" in solution.to_latex()
    assert "<msub><mi>f</mi><mi>uv</mi></msub>" in solution.to_html()


def test_abstract_mixed_partial_is_simplified_by_its_collecting_step_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With f's partials collected, the second graph's result is not tidied first (only ∂z/∂x, ∂z/∂y are)."""
    import chainsolve.derivation

    tidied: list[sympy.Expr] = []
    tidy = chainsolve.derivation.tidy

    def counted(expr: sympy.Expr, seconds: float | None = None) -> tuple[sympy.Expr, bool]:
        tidied.append(expr)
        return tidy(expr, seconds)

    monkeypatch.setattr(chainsolve.derivation, "tidy", counted)
    solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
    assert solution.verified
    assert solution.derivations[-1].steps[-1].phrase == "mixed_subscripts"
    assert len(tidied) == 2
    assert not any(d.derivative_count > 1 for e in tidied for d in e.atoms(sympy.Derivative))


def test_abstract_mixed_partial_second_graph_tries_no_textbook_rewrite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With f's partials collected, no textbook rewrite is tried on the second graph's result."""
    import chainsolve.derivation

    rewritten: list[sympy.Expr] = []
    textbook_form = chainsolve.derivation.textbook_form

    def recorded(result: sympy.Expr, *args: object, **kwargs: object) -> object:
        if kwargs.get("rewrite", True):
            rewritten.append(result)
        return textbook_form(result, *args, **kwargs)

    monkeypatch.setattr(chainsolve.derivation, "textbook_form", recorded)
    solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
    assert solution.verified
    assert len(rewritten) == 2
    assert not any(d.derivative_count > 1 for e in rewritten for d in e.atoms(sympy.Derivative))


def test_abstract_mixed_partial_of_the_polar_exam_shape_needs_no_simplify(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """f(x² − y², 2xy): ∂z/∂x in the intermediates is proved equal by expanding, not sympy.simplify."""
    import chainsolve.mixed

    def refused(expr: sympy.Expr) -> sympy.Expr:
        raise AssertionError(f"simplify({expr})")

    monkeypatch.setattr(chainsolve.mixed.sympy, "simplify", refused)
    solution = chainsolve.solve("z = f(u, v); u = x^2 - y^2; v = 2*x*y", wrt="x,y", order=2)
    assert solution.verified
    oracle = sympy.diff(_known(x**2 - y**2, 2 * x * y), x, y)
    assert sympy.expand(_concrete(solution.derivatives["x,y"]) - oracle) == 0


@pytest.mark.parametrize(
    "text",
    [
        "z = f(u, v); u = x*y; v = x + y",
        "z = f(u, v); u = x^2 - y^2; v = 2*x*y",
        "z = f(u, v); u = x/y; v = exp(x*y)",
    ],
)
def test_mixed_collecting_groups_as_sympy_collect_does(text: str) -> None:
    """The collecting step's grouping by f's partials is exactly sympy.collect's for these sums."""
    import chainsolve.mixed as mixed
    from chainsolve.parsing import parse_problem

    problem = parse_problem(text, wrt=("x", "y"))
    first = chainsolve.solve(text, wrt="x,y").derivations[0].result
    inner = mixed._in_intermediates(problem, x, first)
    collecting = mixed._collecting(problem, inner, y)
    assert collecting is not None
    in_intermediates, partials = collecting
    expanded = sympy.expand(in_intermediates)
    grouped = mixed._collected(expanded, partials)
    assert grouped == sympy.collect(expanded, partials, evaluate=True)
    assert sympy.expand(grouped - in_intermediates) == 0


def test_abstract_mixed_partial_steps_apply_the_chain_rule_to_f_u() -> None:
    """∂/∂u of ∂f/∂u(u, v) is a partial derivative of f (an edge of the second graph), not sympy's."""
    solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
    rules = {ref.id for step in solution.derivations[-1].steps for ref in step.rules}
    assert "abstract_partial" in rules
    assert "no_rule" not in rules


def test_mixed_partial_symbol_in_every_format() -> None:
    """∂²z/∂y∂x in text, LaTeX (\\partial y \\partial x), MathML and JSON (derivatives["x,y"])."""
    mixed = Leibniz(make_symbol("z"), y, partial=True, mixed=(x,))
    assert formula_unicode(mixed) == "∂²z/∂y∂x"
    assert formula_latex(mixed) == r"\frac{\partial^{2} z}{\partial y \partial x}"
    assert "<mn>2</mn>" in formula_mathml(mixed)
    data = json.loads(chainsolve.solve("z = x^2*y^3", wrt="x,y", order=2).to_json())
    assert data["derivatives"]["x,y"] == "6*x*y**2"


def test_cli_mixed_partial_exits_zero() -> None:
    """`solve "z = f(u, v); u = x*y; v = x + y" --wrt x,y --order 2` prints ∂²z/∂y∂x and exits 0."""
    result = CliRunner().invoke(
        main, ["solve", "z = f(u, v); u = x*y; v = x + y", "--wrt", "x,y", "--order", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "Result: ∂²z/∂y∂x" in result.output


@pytest.mark.parametrize(
    ("text", "build"),
    [
        ("sin(x^2)", lambda: sympy.sin(x**2)),
        ("exp(x^2)", lambda: sympy.exp(x**2)),
        ("x*ln(x)", lambda: x * sympy.log(x)),
    ],
)
@pytest.mark.parametrize("order", [2, 3])
def test_verify_order_accepts_sympy_nth_derivative(
    text: str, build: Callable[[], sympy.Expr], order: int
) -> None:
    """verify --order n accepts sympy.diff(f, x, n) written out, and rejects the order below."""
    from chainsolve.verification import verify_answer

    problem = chainsolve.load_problem(text)
    right = verify_answer(problem, str(sympy.diff(build(), x, order)), order=order)
    assert right.verdict == "equivalent"
    lower = verify_answer(problem, str(sympy.diff(build(), x, order - 1)), order=order)
    assert lower.verdict == "not_equivalent"
    assert lower.mistake_ids[0] == "previous_order"


def test_verify_order_two_names_a_slip_in_the_second_differentiation() -> None:
    """2cos(x²) − 2x·sin(x²) for sin(x²)″: the inner derivative of cos(x²) missing, named."""
    result = CliRunner().invoke(
        main,
        [
            "verify",
            "sin(x^2)",
            "--order",
            "2",
            "--answer",
            "2cos(x^2) - 2x*sin(x^2)",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert "missing_inner_derivative" in data["mistakes"]
    assert "d²y/dx²" in data["message"]


def test_the_mixed_result_line_reads_by_fs_partials_coefficient_first() -> None:
    """Result: ∂²z/∂y∂x = x·y·f_uu + (x + y)·f_uv + f_u + f_vv, with f_u and u, v defined."""
    solution = chainsolve.solve("z = f(u, v); u = x*y; v = x + y", wrt="x,y", order=2)
    text = solution.to_text()
    line = "Result: ∂²z/∂y∂x = x·y·fᵤᵤ(u, v) + (x + y)·fᵤᵥ(u, v) + fᵤ(u, v) + fᵥᵥ(u, v)"
    assert line in text
    assert "fᵤ = ∂f/∂u, fᵤᵥ = ∂²f/∂u∂v" in text and "u = x·y; v = x + y" in text
    mixed = solution.derivations[-1]
    assert (
        "Subs(Derivative(f(xi_1, xi_2), xi_1, xi_2)"
        in json.loads(solution.to_json())["derivatives"]["x,y"]
    )
    assert mixed.written != mixed.result


@pytest.mark.parametrize(
    ("text", "build"),
    [
        ("z = f(x*y)", lambda: f(x * y)),
        ("z = f(u); u = x*y", lambda: f(x * y)),
        ("z = g(x)*h(y)", lambda: sympy.Function("g")(x) * sympy.Function("h")(y)),
    ],
)
def test_abstract_mixed_partials_of_one_argument_functions(
    text: str, build: Callable[[], sympy.Expr]
) -> None:
    """f(xy): ∂²z/∂y∂x = xy·f″(xy) + f′(xy), equal to sympy.diff; no subscript step for f′′."""
    solution = chainsolve.solve(text, wrt="x,y", order=2)
    assert solution.verified
    oracle = sympy.diff(_concrete(build()), x, y)
    assert sympy.simplify(_concrete(solution.derivatives["x,y"]) - oracle) == 0
    assert all(s.phrase != "mixed_subscripts" for s in solution.derivations[-1].steps)


def test_mixed_partial_at_a_point_is_refused_clearly() -> None:
    """--wrt x,y --order 2 with --at: one ProblemError (higher_order_at_point), never a wrong value."""
    with pytest.raises(ProblemError) as raised:
        chainsolve.solve("z = x*y", wrt="x,y", order=2, at="x=1,y=2")
    assert raised.value.code == "higher_order_at_point"


#: Problems with intermediate variables, and the same function flattened in sympy (the oracle).
GRAPHS: list[tuple[str, dict[str, str], Callable[[], sympy.Expr]]] = [
    ("z = u^2; u = sin(x)", {}, lambda: sympy.sin(x) ** 2),
    ("y = exp(u)*v; u = x^2; v = cos(x)", {}, lambda: sympy.exp(x**2) * sympy.cos(x)),
    ("z = u*y + u^2; u = x*y", {"wrt": "x"}, lambda: x * y**2 + (x * y) ** 2),
    (
        "y = u_1^2*v_1; u_1 = sin(x^2); v_1 = exp(x)",
        {},
        lambda: sympy.sin(x**2) ** 2 * sympy.exp(x),
    ),
]


@pytest.mark.parametrize(("text", "options", "build"), GRAPHS, ids=[g[0] for g in GRAPHS])
@pytest.mark.parametrize("order", [2, 3])
def test_intermediates_each_order_equals_sympy_diff_of_flattened(
    text: str, options: dict[str, str], build: Callable[[], sympy.Expr], order: int
) -> None:
    """With intermediate variables, order k equals sympy.diff of the flattened problem k times."""
    solution = chainsolve.solve(text, order=order, **options)  # type: ignore[arg-type]
    assert solution.verified
    assert [d.derivative.order for d in solution.derivations] == list(range(1, order + 1))
    for k, derivation in enumerate(solution.derivations, start=1):
        assert sympy.simplify(derivation.result - sympy.diff(build(), x, k)) == 0


def test_intermediates_order_two_starts_from_order_one_in_the_input() -> None:
    """Order 2 of z = u²; u = sin x differentiates order 1 written in x (u substituted back)."""
    solution = chainsolve.solve("z = u^2; u = sin(x)", order=2)
    opening = solution.derivations[1].steps[0]
    assert opening.sides[1] == Leibniz(solution.derivations[0].result, x)
    assert solution.derivations[0].result.free_symbols == {x}


def test_intermediates_of_later_orders_never_take_the_problems_names() -> None:
    """A later order's intermediates never reuse a name the problem defines (u_1 stays sin x²)."""
    solution = chainsolve.solve("y = u_1^2*v_1; u_1 = sin(x^2); v_1 = exp(x)", order=2)
    assert not {"u_1", "v_1"} & {str(name) for name in solution.intermediates}


def test_written_second_derivative_of_a_graph_problem_is_solved() -> None:
    """`solve "d^2y/dx^2 = u^2; u = sin(x)"` prints d²y/dx² = 2cos(2x) (sympy.diff of sin²x twice)."""
    result = CliRunner().invoke(main, ["solve", "d^2y/dx^2 = u^2; u = sin(x)"])
    assert result.exit_code == 0, result.output
    assert sympy.simplify(sympy.diff(sympy.sin(x) ** 2, x, 2) - 2 * sympy.cos(2 * x)) == 0
    assert "Result: d²y/dx² = 2cos(2x)" in result.output


@pytest.mark.parametrize("fmt", ["json", "latex", "markdown", "html"])
def test_intermediates_higher_order_renders_in_every_format(fmt: str) -> None:
    """Order 2 of a problem with intermediates renders in every format, exit 0."""
    result = CliRunner().invoke(
        main, ["solve", "z = u^2; u = sin(x)", "--order", "2", "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    if fmt == "json":
        payload = json.loads(result.output)
        assert (
            sympy.simplify(
                sympy.sympify(payload["derivatives"]["x"], locals={"x": x})
                - sympy.diff(sympy.sin(x) ** 2, x, 2)
            )
            == 0
        )


def test_several_variables_refusal_names_the_option_typed() -> None:
    """--order 3 with --wrt x,y is refused in one line that names --order 3 and both variables."""
    result = CliRunner().invoke(main, ["solve", "z = u*y; u = x^2", "--wrt", "x,y", "--order", "3"])
    assert result.exit_code == 2
    assert "error: --order 3 needs one variable to differentiate by, not 2 (x, y)" in result.output
    assert "Traceback" not in result.output


def test_verify_answer_of_order_two_with_intermediates() -> None:
    """verify --order 2 of z = u²; u = sin x: 2cos(2x) is right, sin(2x) is the order below."""
    right = chainsolve.verify("z = u^2; u = sin(x)", answer="2cos(2x)", order=2)
    assert right.verdict == "equivalent"
    wrong = chainsolve.verify("z = u^2; u = sin(x)", answer="sin(2x)", order=2)
    assert wrong.verdict == "not_equivalent"
    assert wrong.mistakes[0].id == "previous_order"


@pytest.mark.parametrize("command", ["solve", "verify"])
def test_order_of_a_matrix_problem_is_refused_in_one_line(command: str) -> None:
    """--order 2 of a problem with shapes is refused (exit 2), not silently solved at order 1."""
    extra = ["--answer", "2*x"] if command == "verify" else []
    result = CliRunner().invoke(main, [command, "x: 2; L = sum(x.*x)", "--order", "2", *extra])
    assert result.exit_code == 2
    assert "error: --order 2 is not available for vectors and matrices" in result.output


def test_refusal_of_a_written_order_names_the_operator_with_its_span() -> None:
    """An order written in the problem (d^2z/dx^2) is what the refusal names, with its caret span."""
    import dataclasses

    from chainsolve.higher import solve_higher
    from chainsolve.parsing import parse_problem

    written = parse_problem("d^2z/dx^2 = x*y*w")
    problem = dataclasses.replace(written, wrt=("x", "y", "w"))
    with pytest.raises(ProblemError) as raised:
        solve_higher(problem, 2)
    assert raised.value.message.startswith("d^2z/dx^2 needs one variable")
    assert raised.value.span == written.order_span


def test_a_solve_loads_no_mistake_catalogue() -> None:
    """solve "sin(x^2)" (orders 1 and 2) loads no chainsolve.mistakes: only verify needs wrong answers."""
    from tests.fresh import loads_module

    script = (
        "from chainsolve import api, render\n"
        "for order in (1, 2):\n"
        "    solution = api.solve('sin(x^2)', order=order)\n"
        "    assert 'Result' in render.render_solution(solution, 'text')\n"
    )
    assert not loads_module(script, "chainsolve.mistakes")
    assert loads_module("from chainsolve import verification", "chainsolve.mistakes")
