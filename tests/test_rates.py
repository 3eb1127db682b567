"""Tests for chainsolve.rates: related rates checked against explicit functions of time differentiated by sympy."""

from __future__ import annotations

import json

import pytest
import sympy
from click.testing import CliRunner

import chainsolve
from chainsolve.api import check_rates
from chainsolve.cli import main
from chainsolve.errors import ProblemError
from chainsolve.problem import make_symbol
from chainsolve.wording import note_text

t = sympy.Symbol("t", real=True)
x = sympy.Symbol("x", real=True)


def _cone_height() -> sympy.Expr:
    """h(t) from V = πh³/12 with V = 8π/3 + 2t (so h = 4 at t = 0)."""
    return sympy.cbrt(12 * (sympy.Rational(16, 3) * sympy.pi + 2 * t) / sympy.pi)


#: (equation, rates, at, the unknown quantity as an explicit function of t built from the
#: known quantities moving at their rates from their values at t = 0, the expected rate).
CASES: list[tuple[str, str, str, sympy.Expr, sympy.Expr]] = [
    ("V = 4/3*pi*r^3", "r: dr/dt = 2", "r=5", sympy.pi * 4 / 3 * (5 + 2 * t) ** 3, 200 * sympy.pi),
    ("x^2 + y^2 = 10^2", "dx/dt = 1", "x=6", sympy.sqrt(100 - (6 + t) ** 2), sympy.Rational(-3, 4)),
    (
        "s^2 = x^2 + y^2",
        "dx/dt = -50, dy/dt = -60",
        "x=0.3,y=0.4",
        sympy.sqrt((sympy.Rational(3, 10) - 50 * t) ** 2 + (sympy.Rational(2, 5) - 60 * t) ** 2),
        -78,
    ),
    ("V = pi/3*(h/2)^2*h", "dV/dt = 2", "h=4", _cone_height(), 1 / (2 * sympy.pi)),
    ("A = pi*r^2", "dr/dt = 3", "r=10", sympy.pi * (10 + 3 * t) ** 2, 60 * sympy.pi),
    ("A = s^2", "dA/dt = 8", "s=2", sympy.sqrt(4 + 8 * t), 2),
    ("y = x^3", "dx/dt = 4", "x=2", (2 + 4 * t) ** 3, 48),
    ("x*y = 12", "dx/dt = 2", "x=3", 12 / (3 + 2 * t), sympy.Rational(-8, 3)),
    # An unknown function: its derivative at the moment is f′(1), not a crash on d/d1.
    (
        "V = f(r)",
        "dr/dt = 2",
        "r=1",
        sympy.Function("f", real=True)(1 + 2 * t),
        2 * sympy.Subs(sympy.Derivative(sympy.Function("f", real=True)(x), x), x, 1),
    ),
]


@pytest.mark.parametrize(
    ("equation", "rates", "at", "unknown", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_rate_equals_derivative_of_explicit_motion(
    equation: str, rates: str, at: str, unknown: sympy.Expr, expected: sympy.Expr
) -> None:
    """The unknown rate equals sympy.diff of the unknown written explicitly in t, at t = 0."""
    solution = chainsolve.solve(equation, rates=rates, at=at)
    result = solution.derivatives["t"]
    oracle = sympy.diff(unknown, t).subs(t, 0)
    assert sympy.simplify(result - oracle) == 0
    assert sympy.simplify(result - expected) == 0
    assert solution.verified


def test_sphere_without_a_moment_gives_the_rate_formula() -> None:
    """Without --at, dV/dt = 8πr² (with dr/dt = 2), in terms of the radius."""
    r = sympy.Symbol("r", real=True)
    solution = chainsolve.solve("V = 4/3*pi*r^3", rates="dr/dt = 2")
    assert sympy.simplify(solution.derivatives["t"] - 8 * sympy.pi * r**2) == 0


def test_chain_rule_on_each_variable_is_shown() -> None:
    """d/dt(y(t)²) = 2y(t)·y′(t) is a step, and the ladder's height y = 8 is found from the equation."""
    text = chainsolve.solve("x^2 + y^2 = 10^2", rates="dx/dt = 1", at="x=6").to_text()
    assert "d/dt(y(t)²) = 2y(t) · y′(t)" in text
    assert "y = 8" in text
    assert "dy/dt = -3/4" in text


@pytest.mark.parametrize(
    ("rates", "at", "code"),
    [
        ("dr/dt = 2, dV/dt = 3", None, "rates_unknowns"),
        ("dq/dt = 2", None, "bad_rates"),
        ("r is 2", None, "bad_rates"),
        ("dr/dt = 2, dV/ds = 1", None, "bad_rates"),
        ("dr/dt = 2", "r=5,V=1", "point_not_on_curve"),
    ],
)
def test_bad_rates_are_refused(rates: str, at: str | None, code: str) -> None:
    """Unreadable rates, no unknown left, a foreign name or inconsistent values: a ProblemError."""
    with pytest.raises(ProblemError) as raised:
        chainsolve.solve("V = 4/3*pi*r^3", rates=rates, at=at)
    assert raised.value.code == code


def test_cli_rates_and_json() -> None:
    """The CLI prints dV/dt = 200π; JSON has derivatives.t and the unknown as problem.target."""
    args = ["solve", "V = 4/3*pi*r^3", "--rates", "r: dr/dt = 2", "--at", "r=5"]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert "dV/dt = 200π" in text.output
    data = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).output)
    assert data["derivatives"] == {"t": "200*pi"}
    assert data["problem"]["target"] == "V"


def test_cli_bad_rate_is_one_line_exit_two() -> None:
    """An unreadable --rates is one error line and exit 2."""
    result = CliRunner().invoke(main, ["solve", "V = 4/3*pi*r^3", "--rates", "r is 2"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# -- verify --rates --answer -------------------------------------------------------------------


def _sphere_rate() -> sympy.Expr:
    """dV/dt for V = 4/3·π·r³, dr/dt = 2, r = 5, by sympy with r a function of t (the oracle)."""
    t = sympy.Symbol("t")
    radius = sympy.Function("r")(t)
    volume = sympy.Rational(4, 3) * sympy.pi * radius**3
    rate = sympy.diff(volume, t).subs(sympy.Derivative(radius, t), 2)
    return rate.subs(radius, 5)


@pytest.mark.parametrize(
    ("answer", "verdict", "mistake"),
    [
        ("200*pi", "equivalent", None),
        ("8*pi*r^2", "not_equivalent", "rates_not_substituted"),
        ("100*pi", "not_equivalent", "rates_wrong_rate"),
        ("500*pi", "not_equivalent", "rates_wrong_rate"),
    ],
)
def test_verify_rates_judges_the_sphere(answer: str, verdict: str, mistake: str | None) -> None:
    """verify --rates: 200π (sympy's dV/dt) is right; values not put in, or dr/dt wrong, named."""
    from chainsolve.parsing import parse_expression

    right = sympy.simplify(parse_expression(answer) - _sphere_rate()) == 0
    assert right == (verdict == "equivalent")
    result = CliRunner().invoke(
        main,
        [
            *("verify", "V = 4/3*pi*r^3", "--rates", "dr/dt = 2", "--at", "r=5"),
            *("--answer", answer, "--format", "json"),
        ],
    )
    assert result.exit_code == (0 if right else 1), result.output
    data = json.loads(result.output)
    assert data["verdict"] == verdict
    assert data["mistakes"] == ([] if mistake is None else [mistake])


def test_verify_rates_ladder_value_found_from_the_equation() -> None:
    """The ladder: -3/4 right (y = 8 found from the equation), -x/y named as values not put in."""
    right = check_rates("x^2 + y^2 = 10^2", "dx/dt = 1", "-3/4", at="x=6")
    assert right.verdict == "equivalent"
    general = check_rates("x^2 + y^2 = 10^2", "dx/dt = 1", "-x/y", at="x=6")
    assert general.mistake_ids == ["rates_not_substituted"]


# -- a constraint given as a second equation (the cone, r = h/2) -------------------------------


def test_cone_with_a_constraint_equals_the_explicit_height() -> None:
    """V = π/3·r²·h with r = h/2, dV/dt = 9, h = 6: dh/dt = sympy.diff of h(t) written explicitly."""
    height = sympy.cbrt(12 * (18 * sympy.pi + 9 * t) / sympy.pi)  # V(0) = π·6³/12 = 18π
    assert sympy.simplify(height.subs(t, 0) - 6) == 0
    oracle = sympy.diff(height, t).subs(t, 0)
    solution = chainsolve.solve(
        "V = pi/3*r^2*h; r = h/2", rates="h: dh/dt = ?; V: dV/dt = 9", at="h=6"
    )
    assert solution.verified
    assert sympy.simplify(solution.derivatives["t"] - oracle) == 0
    first = solution.derivations[0].steps[0]
    assert first.phrase == "rates_constraint"
    assert sympy.simplify(first.sides[1] - sympy.pi * make_symbol("h") ** 3 / 12) == 0


def test_cone_constraint_in_every_format() -> None:
    """The constraint step is worded in text, Markdown, LaTeX, HTML and JSON."""
    solution = chainsolve.solve("V = pi/3*r^2*h; r = h/2", rates="dV/dt = 9", at="h=6")
    assert "Put r = h/2 into the equation" in solution.to_text()
    assert "Put r = h/2 into the equation" in solution.to_markdown()
    assert "Put r = h/2 into the equation" in solution.to_html()
    assert r"\frac{\pi h^{3}}{12}" in solution.to_latex()
    data = json.loads(solution.to_json())
    assert data["derivatives"]["t"] == "1/pi"


@pytest.mark.parametrize(
    ("problem", "rates", "code"),
    [
        ("V = pi/3*r^2*h; r^2 = h", "dV/dt = 9", "rates_constraint"),
        ("V = pi/3*r^2*h; w = h/2", "dV/dt = 9", "rates_constraint"),
        ("V = pi/3*r^2*h; r = h/2", "dh/dt = ?; dV/dt = 9; dr/dt = 1", "bad_rates"),
        ("V = pi/3*r^2*h; r = h/2", "h: dh/dt = ?", "rates_unknowns"),
    ],
)
def test_bad_constraints_and_asked_rates_are_one_clear_error(
    problem: str, rates: str, code: str
) -> None:
    """A constraint that names no quantity, or a rate asked that is given: a ProblemError, one line."""
    with pytest.raises(ProblemError) as raised:
        chainsolve.solve(problem, rates=rates, at="h=6")
    assert raised.value.code == code


# -- units -------------------------------------------------------------------------------------


def _unit_step(solution: chainsolve.Solution) -> tuple[sympy.Expr, sympy.Expr] | None:
    """The value and the unit of the "With units" step, or None when there is none."""
    from chainsolve.steps import Product

    for step in solution.derivations[0].steps:
        if step.phrase == "rates_units":
            shown = step.sides[1]
            assert isinstance(shown, Product)
            value, unit = shown.factors
            return value, unit.unit  # type: ignore[union-attr]
    return None


cm, s_, ft, minute = (sympy.Symbol(n, positive=True) for n in ("cm", "s", "ft", "min"))


@pytest.mark.parametrize(
    ("problem", "rates", "at", "value", "unit"),
    [
        ("V = 4/3*pi*r^3", "r: dr/dt = 2 cm/s", "r=5cm", 200 * sympy.pi, cm**3 / s_),
        ("x^2 + y^2 = 10^2", "dx/dt = 1 ft/s", "x=6 ft", sympy.Rational(-3, 4), ft / s_),
        ("V = pi/3*r^2*h; r = h/2", "dV/dt = 9 cm^3/min", "h=6cm", 1 / sympy.pi, cm / minute),
        ("A = pi*r^2", "dr/dt = 3 cm/s", "r=10", 60 * sympy.pi, cm**2 / s_),
    ],
)
def test_units_are_carried_to_the_answer(
    problem: str, rates: str, at: str, value: sympy.Expr, unit: sympy.Expr
) -> None:
    """The rate found carries its unit: the unknown's unit from the equation over the time unit."""
    solution = chainsolve.solve(problem, rates=rates, at=at)
    assert solution.verified
    found = _unit_step(solution)
    assert found is not None
    assert sympy.simplify(found[0] - value) == 0
    assert sympy.simplify(found[1] - unit) == 0
    assert any("is in" in note for note in map(note_text, solution.notes))


def test_sphere_with_units_reads_200_pi_cm3_per_s_in_every_format() -> None:
    """dV/dt = 200π · cm³/s in text and HTML, \\mathrm{cm}^{3}/\\mathrm{s} in LaTeX, a note in JSON."""
    solution = chainsolve.solve("V = 4/3*pi*r^3", rates="r: dr/dt = 2 cm/s", at="r=5cm")
    assert "dV/dt = 200π · cm³/s" in solution.to_text()
    assert "cm³/s" in solution.to_markdown()
    assert r"\mathrm{cm}^{3}/\mathrm{s}" in solution.to_latex()
    assert "cm³/s" in solution.to_html()
    assert "dV/dt is in cm³/s (from the units given)." in json.loads(solution.to_json())["notes"]


def test_without_units_there_is_no_unit_step() -> None:
    """Rates and values given as plain numbers: no unit step, no note (units are absent)."""
    solution = chainsolve.solve("V = 4/3*pi*r^3", rates="dr/dt = 2", at="r=5")
    assert _unit_step(solution) is None
    assert solution.notes == ()


@pytest.mark.parametrize(
    ("problem", "rates", "at"),
    [
        ("V = 4/3*pi*r^3", "dr/dt = 2 cm/s", "r=5m"),
        ("x^2 + y = 10", "dx/dt = 1 ft/s", "x=3 ft, y=1 ft"),
        ("s^2 = x^2 + y^2", "dx/dt = 1 m/s, dy/dt = 2 m/min", "x=3,y=4"),
    ],
)
def test_unit_mismatch_is_one_clear_error(problem: str, rates: str, at: str) -> None:
    """Two units for one quantity, terms in different units, two time units: exit 2, one line."""
    result = CliRunner().invoke(main, ["solve", problem, "--rates", rates, "--at", at])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    with pytest.raises(ProblemError) as raised:
        chainsolve.solve(problem, rates=rates, at=at)
    assert raised.value.code == "units_mismatch"


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("5cm", "5", cm),
        ("2 cm/s", "2", cm / s_),
        ("9 cm^3/min", "9", cm**3 / minute),
        ("9 cm³/min", "9", cm**3 / minute),
        ("2pi", "2pi", None),
        ("3*x", "3*x", None),
        ("-3/4 ft/s", "-3/4", ft / s_),
    ],
)
def test_unit_grammar_reads_known_units_only(
    text: str, value: str, unit: sympy.Expr | None
) -> None:
    """The unit grammar splits a trailing known unit off a value and leaves anything else alone."""
    from chainsolve.units import split_unit

    assert split_unit(text) == (value, unit)


@pytest.mark.parametrize(
    ("answer", "correct", "mistakes"),
    [
        ("200pi cm^3/s", True, []),
        ("200pi", True, []),
        ("200pi cm^2/s", False, ["rates_wrong_unit"]),
    ],
)
def test_verify_rates_answer_with_a_unit(answer: str, correct: bool, mistakes: list[str]) -> None:
    """An answer may carry its unit: the right one (cm³/s) passes, another is named the wrong unit."""
    verdict = check_rates("V = 4/3*pi*r^3", "dr/dt = 2 cm/s", answer, at="r=5cm")
    assert verdict.correct == correct
    assert verdict.mistake_ids == mistakes
    assert sympy.simplify(verdict.answer - _sphere_rate()) == 0


_SPHERE = ("V = 4/3*pi*r^3", "--rates", "r: dr/dt = 2 cm/s", "--at", "r=5cm")


@pytest.mark.parametrize(
    ("fmt", "answer", "shown"),
    [
        ("text", "200*pi", "Answer: 200π (no unit given, read as 200π cm³/s)"),
        ("text", "200*pi cm^3/s", "Answer: 200π cm³/s\n"),
        ("text", "200*pi cm^2/s", "Answer: 200π cm²/s\n"),
        (
            "markdown",
            "200*pi",
            r"Answer: $200 \pi$ (no unit given, read as $200 \pi\,\mathrm{cm}^{3}/\mathrm{s}$)",
        ),
        ("markdown", "200*pi cm^3/s", r"Answer: $200 \pi\,\mathrm{cm}^{3}/\mathrm{s}$"),
        (
            "latex",
            "200*pi",
            r"Answer: $200 \pi$ (no unit given, read as $200 \pi\,\mathrm{cm}^{3}/\mathrm{s}$)",
        ),
        ("latex", "200*pi cm^2/s", r"Answer: $200 \pi\,\mathrm{cm}^{2}/\mathrm{s}$"),
        ("html", "200*pi", "(no unit given, read as <math"),
        ("html", "200*pi cm^3/s", "<mtext> cm&#179;/s</mtext></math></p>"),
    ],
)
def test_verify_rates_answer_line_shows_the_unit_in_every_format(
    fmt: str, answer: str, shown: str
) -> None:
    """The Answer line shows the answer's unit, or how a bare number is read (cm³/s)."""
    result = CliRunner().invoke(main, ["verify", *_SPHERE, "--answer", answer, "--format", fmt])
    assert shown in result.stdout


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_verify_rates_expected_rate_carries_its_unit(fmt: str) -> None:
    """A wrong unit: the expected rate is shown with the rate's own unit (200π cm³/s)."""
    result = CliRunner().invoke(
        main, ["verify", *_SPHERE, "--answer", "200pi cm^2/s", "--format", fmt]
    )
    assert result.exit_code == 1
    expected = result.stdout.split("Expected: ", 1)[1].splitlines()[0]
    unit = {"text": "cm³/s", "html": "cm&#179;/s"}.get(fmt, r"\mathrm{cm}^{3}/\mathrm{s}")
    assert unit in expected


@pytest.mark.parametrize(
    ("rates", "at", "answer", "unit"),
    [
        ("r: dr/dt = 2 cm/s", "r=5cm", "200pi", {"expected": "cm^3/s", "answer": None}),
        ("r: dr/dt = 2 cm/s", "r=5cm", "200pi cm^2/s", {"expected": "cm^3/s", "answer": "cm^2/s"}),
        ("dr/dt = 2", "r=5", "200pi cm^3/s", {"expected": None, "answer": "cm^3/s"}),
        ("dr/dt = 2", "r=5", "200pi", None),
    ],
)
def test_verify_rates_json_has_both_units(
    rates: str, at: str, answer: str, unit: dict[str, str | None] | None
) -> None:
    """JSON `unit`: the problem's unit and the answer's, in the input language (absent: none)."""
    args = ["verify", "V = 4/3*pi*r^3", "--rates", rates, "--at", at, "--answer", answer]
    data = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert {k: v for k, v in data.get("unit", {}).items() if k != "note"} == (unit or {})
    verdict = check_rates("V = 4/3*pi*r^3", rates, answer, at=at)
    assert sympy.simplify(verdict.answer - _sphere_rate()) == 0


def test_verify_rates_unit_without_units_in_the_problem_is_not_checked() -> None:
    """Units on the answer only: the number is checked, and the line says the unit is not."""
    args = ["verify", "V = 4/3*pi*r^3", "--rates", "dr/dt = 2", "--at", "r=5"]
    result = CliRunner().invoke(main, [*args, "--answer", "200pi cm^3/s"])
    assert result.exit_code == 0
    assert "Answer: 200π cm³/s (the problem gives no units: this unit is not checked)" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("answer", "mistake"),
    [("-9/2", "rates_wrong_rate"), ("-3/4 ft^2/s", "rates_wrong_unit")],
)
def test_verify_rates_ladder_slips(answer: str, mistake: str) -> None:
    """The ladder (dy/dt = -3/4 ft/s by sympy): dx/dt taken as x = 6, or the unit ft²/s, named."""
    t_ = sympy.Symbol("t")
    height = sympy.sqrt(100 - (6 + t_) ** 2)
    assert sympy.diff(height, t_).subs(t_, 0) == sympy.Rational(-3, 4)
    verdict = check_rates("x^2 + y^2 = 10^2", "dx/dt = 1 ft/s", answer, at="x=6 ft")
    assert verdict.mistake_ids == [mistake]


@pytest.mark.parametrize(
    "expr",
    [
        make_symbol("y") ** 2 - 64,
        make_symbol("y") ** 3 - 6 * make_symbol("y") ** 2 + 11 * make_symbol("y") - 6,
        4 * make_symbol("y") ** 2 - 3,
        sympy.pi * make_symbol("y") ** 2 / 3 - 9,
        make_symbol("y") ** 2 + 1,
        make_symbol("y") ** 3 - 2,
        sympy.sqrt(make_symbol("y")) - 3,
    ],
)
def test_values_from_the_equation_are_sympy_solves_roots_in_its_order(expr: sympy.Expr) -> None:
    """The roots a missing value is chosen from are sympy.solve's, in sympy.solve's order."""
    from chainsolve.rates import _roots

    y = make_symbol("y")
    assert [r for r in _roots(expr, y) if r.is_real] == [
        r for r in sympy.solve(expr, y) if r.is_real
    ]


def test_constraint_route_refuses_a_wrong_rate() -> None:
    """The second route (the cone's constraint differentiated, the linear system solved) catches a wrong dh/dt."""
    from chainsolve.derivation import WrongStepError
    from chainsolve.implicit import StandIns
    from chainsolve.rates import _check_by_differentiating, parse_rates, read_system

    h = make_symbol("h")
    system = read_system("V = pi/3*r^2*h; r = h/2")
    rates = parse_rates("h: dh/dt = ?; V: dV/dt = 9")
    _check_by_differentiating(
        system, rates, {h: sympy.Integer(6)}, h, 1 / sympy.pi, StandIns(t, {})
    )
    with pytest.raises(WrongStepError):
        _check_by_differentiating(
            system, rates, {h: sympy.Integer(6)}, h, 2 / sympy.pi, StandIns(t, {})
        )


def test_constrained_rate_is_checked_once_from_the_equation_as_typed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A constrained problem's rate is checked by the constraint route alone; a wrong one raises."""
    from chainsolve import rates
    from chainsolve.derivation import WrongStepError

    def substituted_route(*args: object) -> None:
        raise AssertionError("the substituted equation's partials prove nothing more")

    monkeypatch.setattr(rates, "_check", substituted_route)
    cone = ("V = pi/3*r^2*h; r = h/2", rates.parse_rates("h: dh/dt = ?; V: dV/dt = 9"))
    moment = {"h": sympy.Integer(6)}
    assert rates.solve_rates(*cone, moment).derivations[0].result == 1 / sympy.pi
    monkeypatch.setattr(rates, "_solved", lambda *args: 2 / sympy.pi)
    with pytest.raises(WrongStepError):
        rates.solve_rates(*cone, moment)


@pytest.mark.parametrize(
    ("equation", "rates", "at"), [c[:3] for c in CASES], ids=[c[0] for c in CASES]
)
def test_stand_in_checks_agree_with_sympy_diff_of_the_functions_of_time(
    equation: str, rates: str, at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking the steps with V, h standing in for V(t), h(t) gives every step the check that
    sympy.diff of the functions of t gives it."""
    from chainsolve import rates as module
    from chainsolve.check import Checker

    def checks() -> list[tuple[str, str, str]]:
        solution = chainsolve.solve(equation, rates=rates, at=at)
        steps = solution.derivations[0].steps
        return [(s.phrase, s.check.status, s.check.detail) for s in steps]

    stand_in = checks()
    monkeypatch.setattr(module, "StandInChecker", lambda stand_ins: Checker())
    assert stand_in == checks()


def test_a_rates_solve_loads_no_mistake_catalogue() -> None:
    """solve --rates loads no chainsolve.mistakes (only verify --rates names slips)."""
    from tests.fresh import loads_module

    script = (
        "from chainsolve import api\n"
        "solution = api.solve_related_rates('V = 4/3*pi*r^3', 'dr/dt = 2', at='r=5')\n"
        "assert solution.derivations[0].result != 0\n"
    )
    assert not loads_module(script, "chainsolve.mistakes")
