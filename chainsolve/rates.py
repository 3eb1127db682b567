"""Related rates: every variable of an equation a function of time, differentiated, known rates put in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy

from chainsolve import wording
from chainsolve.derivation import WrongStepError, tidy
from chainsolve.errors import ProblemError
from chainsolve.implicit import (
    SIDE_NAMES,
    StandInChecker,
    StandIns,
    differentiate_side,
    exact,
    is_zero,
    lowest_terms,
    polynomial_roots,
)
from chainsolve.problem import Problem, make_symbol
from chainsolve.record import record
from chainsolve.steps import Check, Derivation, Leibniz, Note, Product, Solution, Step
from chainsolve.units import Unit, Units, infer, merged, split_unit, unit_text, with_unit

if TYPE_CHECKING:
    from chainsolve.mistakes import MistakeMatch
    from chainsolve.verification import AnswerVerdict

#: One known rate: an optional "name:" label, then dNAME/dTIME = VALUE.
_RATE = re.compile(r"^\s*(?:\w+\s*:)?\s*d\s*(\w+)\s*/\s*d\s*(\w+)\s*=\s*(\S.*?)\s*$")


@record
class Rates:
    """The known rates of change: each variable's name mapped to its value, and the time variable."""

    time: sympy.Symbol
    known: Mapping[str, sympy.Expr]
    #: The rate asked for when written ``dh/dt = ?`` (else the one rate not given).
    asked: str | None = None
    #: The units the rates were given in (``dr/dt = 2 cm/s``: r's rate in cm/s), if any.
    units: Mapping[str, sympy.Expr] = field(default_factory=lambda: MappingProxyType({}))


def parse_rates(text: str) -> Rates:
    """Read ``--rates "dr/dt = 2"`` (several separated by ``,`` or ``;``; a ``name:`` label is allowed).

    The values are read by the point reader (numbers and constant expressions only).
    """
    from chainsolve.parsing import parse_point

    known: dict[str, sympy.Expr] = {}
    units: dict[str, sympy.Expr] = {}
    asked: list[str] = []
    times: set[str] = set()
    for item in re.split(r"[;,]", text):
        if not item.strip():
            continue
        match = _RATE.match(item)
        if match is None:
            raise ProblemError(
                "bad_rates",
                wording.rates_error_syntax(item.strip()),
                source=text,
                hint=wording.rates_hint_syntax(),
            )
        name, time, value = match.groups()
        if name in known or name in asked:
            raise ProblemError("bad_rates", wording.rates_error_twice(name), source=text)
        times.add(time)
        if value == "?":
            asked.append(name)
            continue
        number, unit = split_unit(value)
        known[name] = exact(parse_point(f"{name}={number}")[name])
        if unit is not None:
            units[name] = unit
    if len(times) != 1:
        raise ProblemError(
            "bad_rates",
            wording.rates_error_time(sorted(times)),
            source=text,
            hint=wording.rates_hint_syntax(),
        )
    if len(asked) > 1:
        raise ProblemError("bad_rates", wording.rates_error_unknowns(asked), source=text)
    return Rates(
        make_symbol(times.pop()),
        MappingProxyType(known),
        asked[0] if asked else None,
        MappingProxyType(units),
    )


def read_moment(text: str) -> tuple[dict[str, sympy.Expr], dict[str, sympy.Expr]]:
    """``--at "r=5cm, h=2"``: the values (read by the point reader) and the units given with them."""
    from chainsolve.parsing import parse_point

    values: dict[str, sympy.Expr] = {}
    units: dict[str, sympy.Expr] = {}
    for item in text.split(","):
        name, equals, value = item.partition("=")
        number, unit = split_unit(value) if equals else (value, None)
        values.update(parse_point(f"{name}{equals}{number}"))
        if unit is not None:
            units[name.strip()] = unit
    return values, units


@record
class _Setting:
    """The equation with every variable a function of time."""

    source: str
    lhs: sympy.Expr
    rhs: sympy.Expr
    time: sympy.Symbol
    variables: tuple[sympy.Symbol, ...]

    def function(self, variable: sympy.Symbol) -> sympy.Expr:
        return sympy.Function(variable.name, real=True)(self.time)

    def in_time(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with each variable v written v(t)."""
        return expr.xreplace({v: self.function(v) for v in self.variables})

    def rate(self, variable: sympy.Symbol) -> sympy.Expr:
        """dv/dt as sympy writes it, Derivative(v(t), t)."""
        return sympy.Derivative(self.function(variable), self.time)


def solve_rates(
    text: str,
    rates: Rates,
    point: Mapping[str, sympy.Expr],
    *,
    detail: str = "normal",
    point_units: Mapping[str, sympy.Expr] | None = None,
) -> Solution:
    """The unknown rate, step by step: differentiate by time, put in the known rates and values, solve."""
    system = read_system(text)
    lhs, rhs = system.lhs, system.rhs
    variables = tuple(sorted((lhs - rhs).free_symbols, key=lambda s: s.name))
    setting = _Setting(text, lhs, rhs, rates.time, variables)
    unknown = _unknown(setting, rates)
    steps: list[Step] = [*system.steps]
    sides = (setting.in_time(lhs), setting.in_time(rhs))
    steps.append(
        Step(
            "rule",
            "rates_both_sides",
            (Leibniz(sides[0], rates.time), Leibniz(sides[1], rates.time)),
            words=(("time", rates.time.name),),
        )
    )
    derivatives = []
    reserved: frozenset[str] = frozenset()
    stand_ins = StandIns(rates.time, {v: setting.function(v) for v in variables})
    checker = StandInChecker(stand_ins)
    for name, side in zip(SIDE_NAMES, sides, strict=True):
        side_steps, derivative, names = differentiate_side(
            text, rates.time, name, side, reserved, checker
        )
        steps.extend(side_steps)
        derivatives.append(derivative)
        reserved |= names
    needed = _needed(setting, derivatives)
    values, value_steps = _values_at(setting, point, needed)
    steps.extend(value_steps)
    substituted, coefficient, rest = _substitute(setting, rates, values, unknown, derivatives)
    steps.append(substituted)
    result = _solved(setting, unknown, coefficient, rest)
    if system.constraints:
        # From the equation as typed, each constraint differentiated too: this proves the
        # result from the problem itself, which the substituted equation's partials would
        # only prove again.
        _check_by_differentiating(system, rates, values, unknown, result, stand_ins)
    else:
        # F_v: the sides' partials, which their steps' checks asked sympy for already.
        partials = {
            v: stand_ins.derivative(lhs, v) - stand_ins.derivative(rhs, v) for v in variables
        }
        _check(partials, rates, values, unknown, result)
    total = Leibniz(unknown, rates.time)
    steps.append(
        Step(
            "simplify",
            "rates_solve",
            (total, result),
            check=Check("symbolic", wording.rates_check_result()),
            words=(("unknown", unknown.name), ("time", rates.time.name)),
        )
    )
    given = merged(rates.units, point_units or {}, text)
    unit_steps = _with_units(system, given, unknown, total, result, text) if given else []
    steps.extend(unit_steps)
    problem = Problem(
        source=text,
        definitions=(),
        target=unknown.name,
        inputs=tuple(v.name for v in variables),
        wrt=(rates.time.name,),
        point=MappingProxyType({v.name: values[v] for v in values}),
    )
    derivation = Derivation(rates.time.name, total, tuple(steps), result)
    notes = tuple(
        Note("rates_units", (f"d{unknown.name}/d{rates.time.name}", dict(step.words)["unit"]))
        for step in unit_steps
    )
    return Solution(problem=problem, derivations=(derivation,), notes=notes, detail=detail)


def _unknown(setting: _Setting, rates: Rates) -> sympy.Symbol:
    """The one variable whose rate is not given."""
    names = {v.name for v in setting.variables}
    if setting.time.name in names:
        raise ProblemError(
            "rates_time_in_equation",
            wording.rates_error_time_used(setting.time.name),
            source=setting.source,
        )
    strangers = sorted(set(rates.known) - names)
    if strangers:
        raise ProblemError(
            "bad_rates", wording.rates_error_not_in_equation(strangers), source=setting.source
        )
    unknown = [v for v in setting.variables if v.name not in rates.known]
    if rates.asked is not None and [v.name for v in unknown] != [rates.asked]:
        raise ProblemError(
            "rates_unknowns",
            wording.rates_error_asked(rates.asked, [v.name for v in unknown]),
            source=setting.source,
        )
    if len(unknown) != 1:
        raise ProblemError(
            "rates_unknowns",
            wording.rates_error_unknowns([v.name for v in unknown]),
            source=setting.source,
        )
    return unknown[0]


def _needed(setting: _Setting, derivatives: list[sympy.Expr]) -> set[sympy.Symbol]:
    """The variables whose values the differentiated equation still uses (rates aside)."""
    rates_hidden = (derivatives[0] - derivatives[1]).replace(
        lambda e: isinstance(e, sympy.Derivative), lambda e: sympy.Integer(1)
    )
    return {v for v in setting.variables if rates_hidden.has(setting.function(v))}


def _values_at(
    setting: _Setting, point: Mapping[str, sympy.Expr], needed: set[sympy.Symbol]
) -> tuple[dict[sympy.Symbol, sympy.Expr], list[Step]]:
    """The variables' values at the moment: given, or the one still needed found from the equation."""
    if not point:
        return {}, []
    by_name = {v.name: v for v in setting.variables}
    strangers = sorted(set(point) - set(by_name))
    if strangers:
        raise ProblemError(
            "rates_point", wording.rates_error_not_in_equation(strangers), source=setting.source
        )
    values = {by_name[name]: exact(value) for name, value in point.items()}
    missing = [v for v in setting.variables if v not in values]
    f = setting.lhs - setting.rhs
    if not missing:
        if not is_zero(f.xreplace(values)):
            raise ProblemError(
                "point_not_on_curve", wording.rates_error_inconsistent(), source=setting.source
            )
        return values, []
    if not needed & set(missing):
        return values, []
    if len(missing) > 1:
        raise ProblemError(
            "rates_point",
            wording.rates_error_missing_values([v.name for v in missing]),
            source=setting.source,
        )
    variable = missing[0]
    roots = [r for r in _roots(f.xreplace(values), variable) if r.is_real]
    positive = [r for r in roots if r.is_positive]
    chosen = positive if positive else roots
    if len(chosen) != 1:
        raise ProblemError(
            "rates_point",
            wording.rates_error_ambiguous_value(variable.name, [str(r) for r in roots]),
            source=setting.source,
        )
    values[variable] = chosen[0]
    step = Step(
        "simplify",
        "rates_value_from_equation",
        (variable, chosen[0]),
        check=Check("symbolic", wording.rates_check_value()),
        words=(("name", variable.name),),
    )
    return values, [step]


def _roots(expr: sympy.Expr, variable: sympy.Symbol) -> list[sympy.Expr]:
    """The roots of ``expr`` = 0 in ``variable``, in sympy.solve's order: a polynomial's by
    sympy.roots (a tenth of solve's cost) when it finds them all, sympy.solve otherwise."""
    found = polynomial_roots(expr, variable)
    return list(sympy.solve(expr, variable)) if found is None else found


def _substitute(
    setting: _Setting,
    rates: Rates,
    values: Mapping[sympy.Symbol, sympy.Expr],
    unknown: sympy.Symbol,
    derivatives: list[sympy.Expr],
) -> tuple[Step, sympy.Expr, sympy.Expr]:
    """The differentiated equation with the known rates and values put in, as c·du/dt = −rest."""
    known = {
        setting.rate(v): rates.known[v.name] for v in setting.variables if v.name in rates.known
    }
    rate = setting.rate(unknown)
    # The unknown rate is held aside while values go in: u(t) → u₀ must not turn du/dt into 0.
    held = sympy.Dummy("rate")
    at_moment = {setting.function(v): value for v, value in values.items()}
    with_rates = (derivatives[0] - derivatives[1]).xreplace(known).xreplace({rate: held})
    difference = with_rates.xreplace(at_moment).xreplace({held: rate})
    expanded = sympy.expand(difference)
    coefficient = sympy.factor_terms(expanded.coeff(rate))
    rest = sympy.factor_terms(expanded - sympy.expand(coefficient * rate))
    if rest.has(rate) or sympy.expand(coefficient * rate + rest - difference) != 0:
        raise WrongStepError(f"d{unknown}/dt does not appear linearly in {difference}")
    shown = (rate, -rest) if coefficient == 1 else (Product((rate, coefficient)), -rest)
    step = Step(
        "substitute",
        "rates_substitute",
        shown,
        check=Check("symbolic", wording.implicit_check_collect()),
        words=(("unknown", unknown.name), ("time", setting.time.name)),
    )
    return step, coefficient, rest


def _solved(
    setting: _Setting, unknown: sympy.Symbol, coefficient: sympy.Expr, rest: sympy.Expr
) -> sympy.Expr:
    plain = {setting.function(v): v for v in setting.variables}
    if is_zero(coefficient):
        raise ProblemError(
            "rates_no_solution",
            wording.rates_error_no_solution(unknown.name),
            source=setting.source,
        )
    tidied, _ = tidy(lowest_terms((-rest / coefficient).xreplace(plain)))
    return tidied


def _check(
    partials: Mapping[sympy.Symbol, sympy.Expr],
    rates: Rates,
    values: Mapping[sympy.Symbol, sympy.Expr],
    unknown: sympy.Symbol,
    result: sympy.Expr,
) -> None:
    """The unknown rate against −Σ F_v·v′ / F_u from the equation's partial derivatives alone."""
    # subs, not xreplace: F_r of an unknown f is Derivative(f(r), r), whose r a number cannot
    # replace (subs writes f′(1) as Subs(…)).
    reference = _reference(partials, rates.known, unknown).subs(values)
    if not is_zero(result - reference):
        raise WrongStepError(f"d{unknown}/dt = {result} differs from {reference}")


def _partials(setting: _Setting) -> dict[sympy.Symbol, sympy.Expr]:
    """F_v for each variable v of the equation F = lhs − rhs = 0 (sympy's derivatives)."""
    f = setting.lhs - setting.rhs
    return {v: sympy.diff(f, v) for v in setting.variables}


def _reference(
    partials: Mapping[sympy.Symbol, sympy.Expr],
    known: Mapping[str, sympy.Expr],
    unknown: sympy.Symbol,
) -> sympy.Expr:
    """du/dt = −Σ F_v·v′ / F_u in the variables, from the equation's partial derivatives alone."""
    given = sum(
        (partial * known[v.name] for v, partial in partials.items() if v != unknown),
        sympy.Integer(0),
    )
    return -given / partials[unknown]


def verify_rates(
    text: str,
    rates: Rates,
    point: Mapping[str, sympy.Expr],
    answer_text: str,
    *,
    point_units: Mapping[str, sympy.Expr] | None = None,
) -> AnswerVerdict:
    """A student's value of the unknown rate, checked; the classic slips named.

    The truth is −Σ F_v·v′ / F_u at the moment (the equation's partial derivatives, not the
    worked solution). A wrong answer is matched against: the rate left in the variables
    (values not put in), and each given rate used wrongly (left out, or the variable's
    value used as its rate).
    """
    # Loaded here, not with the module: solving a rates problem needs no mistake catalogue.
    from chainsolve import mistakes
    from chainsolve.parsing import parse_expression
    from chainsolve.verification import AnswerVerdict, Grounds

    solution = solve_rates(text, rates, point, point_units=point_units)
    truth = solution.derivations[0].result
    # An answer may carry a unit (200pi cm^3/s): it must be the rate's own unit.
    number_text, answer_unit = split_unit(answer_text.rsplit("=", 1)[-1])
    expected_unit = _unit_found(solution)
    system = read_system(text)
    lhs, rhs = system.lhs, system.rhs
    variables = tuple(sorted((lhs - rhs).free_symbols, key=lambda s: s.name))
    setting = _Setting(text, lhs, rhs, rates.time, variables)
    unknown = _unknown(setting, rates)
    values = {make_symbol(name): value for name, value in solution.problem.point.items()}
    answer = exact(parse_expression(number_text))
    right = is_zero(answer - truth)
    matched: tuple[MistakeMatch, ...] = ()
    if right and answer_unit is not None and expected_unit is not None:
        if not is_zero(answer_unit - expected_unit):
            right = False
            detail = wording.rates_wrong_unit_detail(unit_text(expected_unit))
            matched = (mistakes.match("rates_wrong_unit", detail),)
    elif not right:
        matched = tuple(
            mistakes.match(mistake_id, detail)
            for mistake_id, detail, wrong in _rate_slips(setting, rates, unknown, values)
            if is_zero(answer - wrong)
        )
    return AnswerVerdict(
        solution.problem,
        rates.time.name,
        answer_text,
        answer,
        truth,
        "equivalent" if right else "not_equivalent",
        Grounds(),
        None,
        "",
        matched,
        "symbolic",
        unit=None if expected_unit is None else Unit(expected_unit),
        answer_unit=None if answer_unit is None else Unit(answer_unit),
    )


def _unit_found(solution: Solution) -> sympy.Expr | None:
    """The unit the worked solution gave the rate (its "With units" step), if any."""
    for step in solution.derivations[0].steps:
        if step.phrase == "rates_units":
            shown = step.sides[1]
            assert isinstance(shown, Product)
            unit = shown.factors[1]
            assert isinstance(unit, Unit)
            return unit.unit
    return None


def _rate_slips(
    setting: _Setting,
    rates: Rates,
    unknown: sympy.Symbol,
    values: Mapping[sympy.Symbol, sympy.Expr],
) -> list[tuple[str, str, sympy.Expr]]:
    """The unknown rate as each classic slip gives it: (mistake id, where, value)."""
    partials = _partials(setting)
    slips = [("rates_not_substituted", "", _reference(partials, rates.known, unknown))]
    for name in rates.known:
        variable = make_symbol(name)
        for wrong in (sympy.Integer(1), values.get(variable)):
            if wrong is None or wrong == rates.known[name]:
                continue
            known = {**rates.known, name: wrong}
            value = _reference(partials, known, unknown).subs(values)
            slips.append(("rates_wrong_rate", wording.rates_wrong_rate_detail(name, wrong), value))
    return slips


@record
class _System:
    """The equation to differentiate, after each constraint ``r = h/2`` was put into it."""

    lhs: sympy.Expr
    rhs: sympy.Expr
    #: The equation as typed, before the constraints were put in.
    original: tuple[sympy.Expr, sympy.Expr]
    constraints: tuple[tuple[sympy.Symbol, sympy.Expr], ...]
    steps: tuple[Step, ...]


def read_system(text: str) -> _System:
    """``V = pi/3*r^2*h; r = h/2``: the first equation, each later one a constraint put into it.

    A constraint names one quantity (``r``) by the others; substituting it leaves an equation
    in fewer quantities, whose rates the chain rule then relates (the cone: V in h alone).
    """
    from chainsolve.parsing import parse_equation

    first, *rest = [piece for piece in text.split(";") if piece.strip()] or [text]
    lhs, rhs = parse_equation(first)
    original = (lhs, rhs)
    constraints: list[tuple[sympy.Symbol, sympy.Expr]] = []
    steps: list[Step] = []
    for piece in rest:
        name, value = parse_equation(piece)
        if not isinstance(name, sympy.Symbol) or value.has(name):
            raise ProblemError(
                "rates_constraint", wording.rates_error_constraint(piece.strip()), source=text
            )
        if not (lhs - rhs).has(name):
            raise ProblemError(
                "rates_constraint",
                wording.rates_error_not_in_equation([name.name]),
                source=text,
            )
        lhs, rhs = lhs.xreplace({name: value}), rhs.xreplace({name: value})
        constraints.append((name, value))
        steps.append(
            Step(
                "substitute",
                "rates_constraint",
                (_shown_side(lhs), _shown_side(rhs)),
                check=Check("symbolic", wording.rates_check_constraint()),
                words=(("name", name.name), ("value", _plain(value))),
            )
        )
    return _System(lhs, rhs, original, tuple(constraints), tuple(steps))


def _shown_side(side: sympy.Expr) -> sympy.Expr:
    """A side after substitution in its expanded polynomial form when that is shorter (πh³/12)."""
    expanded = sympy.expand(side)
    return expanded if sympy.count_ops(expanded) < sympy.count_ops(side) else side


def _plain(value: sympy.Expr) -> str:
    from chainsolve.filters import unicode_expr

    return unicode_expr(value)


def _check_by_differentiating(
    system: _System,
    rates: Rates,
    values: Mapping[sympy.Symbol, sympy.Expr],
    unknown: sympy.Symbol,
    result: sympy.Expr,
    stand_ins: StandIns,
) -> None:
    """The unknown rate again by the other route: the equation as typed and each constraint
    differentiated (r′ = g′(h)·h′), the linear system in the rates solved.

    The partials are sympy's, through ``stand_ins`` (which remembers those the steps asked for).
    """
    partial = stand_ins.derivative
    lhs, rhs = system.original
    quantities = sorted((lhs - rhs).free_symbols, key=lambda s: s.name)
    rate = {q: sympy.Dummy(f"d{q.name}") for q in quantities}
    equations = [sum((partial(lhs - rhs, q) * rate[q] for q in quantities), sympy.Integer(0))]
    moment = dict(values)
    for name, value in system.constraints:
        inside = sorted(value.free_symbols, key=lambda s: s.name)
        moment[name] = value.xreplace(moment)
        equations.append(
            rate[name] - sum((partial(value, q) * rate[q] for q in inside), sympy.Integer(0))
        )
    for name, known in rates.known.items():
        equations.append(rate[make_symbol(name)] - known)
    unknowns = list(rate.values())
    # The system is linear in the rates: linsolve (a fifth of sympy.solve's cost) solves it.
    solved = sympy.linsolve([e.xreplace(moment) for e in equations], unknowns)
    place = unknowns.index(rate[unknown])
    found = [s[place] for s in solved if not s[place].has(*unknowns)]
    if len(found) != 1 or not is_zero(found[0] - result.xreplace(moment)):
        raise WrongStepError(f"d{unknown}/dt = {result} differs from the constraint route {found}")


def _with_units(
    system: _System,
    given: Units,
    unknown: sympy.Symbol,
    total: Leibniz,
    result: sympy.Expr,
    source: str,
) -> list[Step]:
    """The rate with its unit (dV/dt = 200π cm³/s): the unknown's unit from the equation's
    terms, divided by the time unit; nothing when the units given do not decide it."""
    terms = (*sympy.Add.make_args(system.lhs), *sympy.Add.make_args(-system.rhs))
    unit = infer(terms, given, unknown, source)
    if unit is None or given.time is None:
        return []
    rate_unit = unit / given.time
    return [
        Step(
            "simplify",
            "rates_units",
            (total, with_unit(result, rate_unit)),
            check=Check("symbolic", wording.rates_check_units()),
            words=(("unit", unit_text(rate_unit)),),
        )
    ]
