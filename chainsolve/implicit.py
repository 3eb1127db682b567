"""Implicit differentiation: both sides of a curve's equation differentiated, then solved for dy/dx."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy
from sympy.core.sorting import default_sort_key

from chainsolve import wording
from chainsolve.check import Checker, combine_checks
from chainsolve.derivation import WrongStepError, solve_problem, tidy
from chainsolve.equivalence import check_claim
from chainsolve.errors import ChainsolveError, ProblemError, Span
from chainsolve.problem import Definition, Problem, evaluate_typed, make_symbol
from chainsolve.record import record
from chainsolve.rules import sympy_derivative
from chainsolve.steps import (
    NO_CLAIM,
    Check,
    Derivation,
    Leibniz,
    Product,
    Solution,
    Step,
    map_formula,
)

if TYPE_CHECKING:
    from chainsolve.steps import Formula

#: The name each side of the equation is solved under (never shown: its steps are relabelled).
SIDE_NAMES = ("implicit_lhs", "implicit_rhs")


@record
class Curve:
    """An equation ``lhs = rhs`` in which ``dependent`` is a function of ``wrt``."""

    source: str
    lhs: sympy.Expr
    rhs: sympy.Expr
    dependent: sympy.Symbol
    wrt: sympy.Symbol
    #: The order of a Leibniz operator written before the equation (2 for
    #: ``\frac{d^2y}{dx^2}, x^2 + y^2 = 25``), as if ``--order`` were given, and where it is.
    order: int = 1
    order_span: Span | None = None

    @property
    def function(self) -> sympy.Expr:
        """The dependent variable as a function, y(x)."""
        return sympy.Function(self.dependent.name, real=True)(self.wrt)

    def as_function(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with y written y(x)."""
        return expr.xreplace({self.dependent: self.function})

    def as_symbol(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` (free of y′(x)) with y(x) written y again."""
        return expr.xreplace({self.function: self.dependent})

    def stand_ins(self) -> StandIns:
        """y standing in for y(x) and p for y′(x) (:class:`StandIns`)."""
        return StandIns(self.wrt, {self.dependent: self.function})

    @property
    def implicit_function(self) -> sympy.Expr:
        """F(x, y) = lhs − rhs: the curve is F = 0."""
        return self.lhs - self.rhs


def exact(value: sympy.Expr) -> sympy.Expr:
    """A decimal as the fraction it was typed as (0.3 is 3/10): slopes and rates come out exact."""
    return sympy.nsimplify(value, rational=True) if value.has(sympy.Float) else value


#: Points at which :func:`is_zero` evaluates an expression before asking sympy.simplify.
ZERO_PROBES = 3


def is_zero(expr: sympy.Expr) -> bool:
    """Is ``expr`` identically 0 (for the values its symbols' assumptions allow)?

    Its numerator over one denominator, expanded, decides for a rational function with
    rational coefficients (0 or not, as a polynomial) and proves 0 for many other forms (a
    fifth of ``cancel``'s cost); a value clearly not 0 at a point settles the rest without
    ``sympy.simplify``, which is asked only otherwise (its first call imports sympy.physics:
    0.2 s of CPU).
    """
    return settled_zero(expr, decided_zero(expr))


def settled_zero(expr: sympy.Expr, decided: bool | None) -> bool:
    """:func:`is_zero` of ``expr`` when :func:`decided_zero` already gave ``decided`` for it:
    sympy.simplify settles only what the cheap tests left undecided."""
    return bool(sympy.simplify(expr) == 0) if decided is None else decided


def decided_zero(expr: sympy.Expr) -> bool | None:
    """:func:`is_zero` without sympy.simplify: True when ``expr`` is identically 0, False when
    it is not (a rational function's numerator, or a value at a point, says so), None when
    neither is shown."""
    if expr == 0:
        return True
    numerator, _ = expr.as_numer_denom()
    if sympy.expand(numerator) == 0:
        return True
    if rational_with_exact_constants(expr) or _nonzero_somewhere(expr):
        return False
    return None


def rational_with_exact_constants(expr: sympy.Expr) -> bool:
    """Built from symbols, rationals, π and e by sums, products and integer powers alone?

    Then the expanded numerator is 0 exactly when ``expr`` is. A radical such as √2 (or
    √(3 + 2√2) = 1 + √2) has an algebra of its own that expanding does not know.
    """
    return all(
        isinstance(node, (sympy.Symbol, sympy.Rational, sympy.Add, sympy.Mul))
        or node in (sympy.pi, sympy.E)
        or (isinstance(node, sympy.Pow) and node.exp.is_Integer)
        for node in sympy.preorder_traversal(expr)
    )


def lowest_terms(expr: sympy.Expr) -> sympy.Expr:
    """sympy.cancel's result: ``expr`` in lowest terms over one denominator.

    A number times powers of symbols and of constants such as π (−x/y, 200π, 1/π) is in
    lowest terms already, as sympy merges equal bases, and cancel hands it back unchanged:
    it is not asked (~3 ms a call, 2–6 ms more when it is a command's first polynomial work).
    """
    if all(_monomial_factor(factor) for factor in sympy.Mul.make_args(expr)):
        return expr
    return sympy.cancel(expr)


def polynomial_roots(expr: sympy.Expr, variable: sympy.Symbol) -> list[sympy.Expr] | None:
    """The roots of the polynomial ``expr`` = 0 in ``variable``, ordered as sympy.solve orders
    them (by default_sort_key), when sympy.roots finds them all (a tenth of solve's cost);
    None otherwise (not a polynomial in ``variable``, or roots it cannot write)."""
    if not expr.is_polynomial(variable):
        return None
    poly = sympy.Poly(expr, variable)
    found = sympy.roots(poly)
    if poly.degree() > 0 and sum(found.values()) == poly.degree():
        return sorted(found, key=default_sort_key)
    return None


def _monomial_factor(factor: sympy.Expr) -> bool:
    if isinstance(factor, sympy.Pow):
        return isinstance(factor.base, _MONOMIAL_BASES) and isinstance(factor.exp, sympy.Integer)
    return isinstance(factor, (sympy.Rational, *_MONOMIAL_BASES))


#: The bases of a monomial cancel leaves alone: symbols, and constants such as π (a generator
#: to cancel, as a symbol is).
_MONOMIAL_BASES = (sympy.Symbol, sympy.NumberSymbol)


def _nonzero_somewhere(expr: sympy.Expr) -> bool:
    """Does ``expr`` take a value clearly not 0 (|v| > 10⁻²⁰ at 50 digits) at a seeded point?"""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if any(s.is_integer or s.is_nonpositive for s in symbols):
        return False  # the probes below are positive fractions
    rng = random.Random(13)
    for _ in range(ZERO_PROBES):
        # Between 1/3 and 3 and positive: allowed whatever a symbol assumes (real, positive).
        point = {s: sympy.Rational(rng.randint(34, 300), 100) for s in symbols}
        try:
            value = complex(expr.evalf(50, subs=point))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if abs(value) > 1e-20 and abs(value) != float("inf"):
            return True
    return False


def read_curve(
    text: str, dependent: str, wrt: tuple[str, ...] | None, point: Mapping[str, sympy.Expr]
) -> Curve:
    """The curve of ``text``, with ``dependent`` a function of the one other variable (or ``wrt``).

    ``text`` may open with the derivative asked for, then a comma: ``d^2y/dx^2, x^2 + y^2 = 25``
    (``\frac{d^2y}{dx^2}, …`` in LaTeX) asks for the order and variable it names.
    """
    from chainsolve.parsing import parse_equation

    operator, equation = _written_operator(text)
    if operator is not None:
        wrt = _operator_variable(text, operator, dependent, wrt)
    lhs, rhs = parse_equation(equation)
    y = make_symbol(dependent)
    names = sorted(s.name for s in (lhs - rhs).free_symbols if s != y)
    if y not in (lhs - rhs).free_symbols:
        raise ProblemError(
            "implicit_without_dependent",
            wording.implicit_error_no_dependent(dependent),
            source=text,
        )
    # Given --wrt, the other names are constants of the curve (r in x² + y² = r²).
    chosen = list(wrt) if wrt else names
    if len(chosen) != 1 or chosen[0] not in names:
        raise ProblemError(
            "implicit_variables", wording.implicit_error_variables(dependent, names), source=text
        )
    curve = Curve(text, lhs, rhs, y, make_symbol(chosen[0]))
    if operator is not None:
        curve = dataclasses.replace(curve, order=operator.order, order_span=operator.order_span)
    _check_point(curve, point)
    return curve


def _written_operator(text: str) -> tuple[Problem | None, str]:
    """The derivative written before the curve and a comma (``d^2y/dx^2, x^2 + y^2 = 25``), and
    the equation after it; (None, ``text``) when ``text`` does not open with one.

    The operator is read by the problem reader as the left side of ``d^2y/dx^2 = 0``: with
    nothing to differentiate, a variable it names can only come from the operator.
    """
    from chainsolve.parsing import parse_problem

    head, comma, equation = text.partition(",")
    if not comma or "=" in head:
        return None, text
    try:
        written = parse_problem(f"{head} = 0")
    except ChainsolveError:
        return None, text
    if written.inputs or len(written.wrt) != 1:
        return None, text
    return written, equation


def _operator_variable(
    text: str, operator: Problem, dependent: str, wrt: tuple[str, ...] | None
) -> tuple[str, ...]:
    """The variable the written derivative is by: its name must be ``dependent``, its variable
    the one ``--wrt`` gives (if given)."""
    if operator.target != dependent:
        raise ProblemError(
            "implicit_operator",
            wording.implicit_error_operator(operator.target, dependent),
            source=text,
        )
    if wrt and tuple(wrt) != operator.wrt:
        raise ProblemError(
            "wrt_conflict",
            wording.implicit_error_operator_wrt(operator.wrt[0], ", ".join(wrt)),
            source=text,
        )
    return operator.wrt


def asked_order(curve: Curve, option: int | None) -> int:
    """The order asked for: the one written before the curve (``d^2y/dx^2, …``) or ``option``
    (``--order``, when given); the two disagreeing is the error it is for any problem."""
    from chainsolve.parsing import asked_order as problem_order

    written = dataclasses.replace(
        curve_problem(curve), order=curve.order, order_span=curve.order_span
    )
    return problem_order(written, option)


def curve_problem(curve: Curve, point: Mapping[str, sympy.Expr] | None = None) -> Problem:
    """The problem a solution or verdict about ``curve`` reports: y of x, at ``point`` if given."""
    return Problem(
        source=curve.source,
        definitions=(),
        target=curve.dependent.name,
        inputs=(curve.wrt.name, curve.dependent.name),
        wrt=(curve.wrt.name,),
        point=MappingProxyType(dict(point or {})),
    )


def _check_point(curve: Curve, point: Mapping[str, sympy.Expr]) -> None:
    if not point:
        return
    wanted = {curve.wrt.name, curve.dependent.name}
    if set(point) != wanted:
        raise ProblemError(
            "implicit_point",
            wording.implicit_error_point_names(sorted(wanted)),
            source=curve.source,
        )
    # xreplace, not subs: numbers for symbols is all this needs, at a third of the cost.
    gap = curve.implicit_function.xreplace(_values(curve, point))
    if not is_zero(gap):
        raise ProblemError(
            "point_not_on_curve",
            wording.implicit_error_off_curve(_point_text(curve, point), gap),
            source=curve.source,
            hint=wording.implicit_hint_off_curve(),
        )


def _values(curve: Curve, point: Mapping[str, sympy.Expr]) -> dict[sympy.Symbol, sympy.Expr]:
    return {curve.wrt: point[curve.wrt.name], curve.dependent: point[curve.dependent.name]}


def _point_text(curve: Curve, point: Mapping[str, sympy.Expr]) -> str:
    return f"{curve.wrt.name}={point[curve.wrt.name]}, {curve.dependent.name}={point[curve.dependent.name]}"


def solve_implicit(
    curve: Curve,
    *,
    point: Mapping[str, sympy.Expr] | None = None,
    detail: str = "normal",
    order: int = 1,
) -> Solution:
    """dy/dx on the curve, step by step: both sides differentiated, collected, solved, checked.

    ``order`` > 1 differentiates each result implicitly again, substitutes dy/dx and, for a
    polynomial curve, shortens with the curve's equation (x² + y² = 25 gives −25/y³).
    """
    x, y = curve.wrt, curve.dependent
    stand_ins = curve.stand_ins()
    # F_x and F_y, computed once: the slope's oracle and the point's tests all use them. Each is
    # its sides' partials (sympy's derivative of a difference is the difference of theirs),
    # which the sides' checks ask for too.
    partials = (
        stand_ins.derivative(curve.lhs, x) - stand_ins.derivative(curve.rhs, x),
        stand_ins.derivative(curve.lhs, y) - stand_ins.derivative(curve.rhs, y),
    )
    dy = Leibniz(y, x, lagrange=(y.name, None))
    sides = (curve.as_function(curve.lhs), curve.as_function(curve.rhs))
    opening = Step(
        "rule",
        "implicit_both_sides",
        (Leibniz(sides[0], x), Leibniz(sides[1], x)),
        words=_words(curve),
    )
    steps: list[Step] = [opening]
    reserved: frozenset[str] = frozenset()
    derivatives = []
    checker = StandInChecker(stand_ins)
    for name, side in zip(SIDE_NAMES, sides, strict=True):
        side_steps, derivative, names = differentiate_side(
            curve.source, x, name, side, reserved, checker
        )
        steps.extend(side_steps)
        derivatives.append(derivative)
        reserved |= names
    collected, coefficient, rest = _collect(curve, stand_ins, derivatives[0] - derivatives[1])
    steps.append(collected)
    result = _solved(curve, coefficient, rest)
    steps.append(
        Step(
            "simplify",
            "implicit_solve",
            (dy, result),
            check=_check_result(curve, result, partials),
            words=_words(curve),
        )
    )
    if point:
        steps.extend(_at_point(curve, result, point, dy, partials))
    derivations = [Derivation(x.name, dy, tuple(steps), result)]
    oracles = implicit_derivatives(curve, partials, order, stand_ins.derivative)
    for k in range(2, order + 1):
        oracle = oracles[k - 1]
        derivation, names = _higher(
            curve, k, derivations[-1].result, result, reserved, oracle, checker
        )
        derivations.append(_with_value_at(curve, derivation, point, oracle))
        reserved |= names
    problem = curve_problem(curve, point)
    return Solution(problem=problem, derivations=tuple(derivations), detail=detail)


def implicit_derivatives(
    curve: Curve,
    partials: tuple[sympy.Expr, sympy.Expr],
    order: int,
    derivative: Callable[[sympy.Expr, sympy.Symbol], sympy.Expr] = sympy.diff,
) -> list[sympy.Expr]:
    """dy/dx, d²y/dx², … up to ``order`` on the curve, from sympy's partial derivatives of F alone.

    dy/dx = −F_x/F_y (``partials``: F_x, F_y); each next order is the total derivative of the
    one before, ∂/∂x + y′·∂/∂y, in lowest terms. This is what sympy's idiff computes (tests
    compare the two), without its ``factor_terms`` and its unknown function y(x).
    ``derivative`` is sympy's (:meth:`StandIns.derivative` remembers those the checks share).

    The last order is only compared with results: a rational function with exact constants
    is left as the sum it is, since :func:`is_zero` puts a difference over one denominator
    and decides by expanding its numerator, in lowest terms or not (a cancel costs ~4 ms).
    """
    x, y = curve.wrt, curve.dependent
    slope = -partials[0] / partials[1]
    found = [slope]
    for k in range(2, order + 1):
        total = derivative(found[-1], x) + derivative(found[-1], y) * slope
        last = k == order and rational_with_exact_constants(total)
        # In lowest terms: the next order, and sympy.simplify's comparisons, stay small.
        found.append(total if last else lowest_terms(total))
    return found


def _higher(
    curve: Curve,
    order: int,
    previous: sympy.Expr,
    slope: sympy.Expr,
    reserved: frozenset[str],
    oracle: sympy.Expr,
    checker: Checker | None = None,
) -> tuple[Derivation, frozenset[str]]:
    """dⁿy/dxⁿ: the result of order n − 1 differentiated implicitly, dy/dx substituted, checked
    against ``oracle``, the derivative of order n from F's partials (:func:`implicit_derivatives`).

    ``checker`` is the solution's (its sympy derivatives shared); a lone call makes its own.
    """
    x, y = curve.wrt, curve.dependent
    total = Leibniz(y, x, lagrange=(y.name, None), order=order)
    words = (*_words(curve), ("order", str(order)), ("previous", str(order - 1)))
    shown = curve.as_function(previous)
    opening = Step("rule", "implicit_higher", (total, Leibniz(shown, x)), words=words)
    side_steps, derivative, names = differentiate_side(
        curve.source,
        x,
        SIDE_NAMES[0],
        shown,
        reserved,
        checker or StandInChecker(curve.stand_ins()),
    )
    function_slope = sympy.Derivative(curve.function, x)
    substituted = derivative.xreplace({function_slope: curve.as_function(slope)})
    value = lowest_terms(curve.as_symbol(substituted))
    if not equal_on_curve(curve, value, oracle):
        raise WrongStepError(f"d^{order}y/dx^{order} = {value} differs from {oracle}")
    check = Check("symbolic", wording.implicit_check_higher())
    steps = [opening, *side_steps]
    steps.append(
        Step("substitute", "implicit_substitute_slope", (total, value), check=check, words=words)
    )
    shorter = on_the_curve(curve, value)
    if shorter is not None:
        on_curve = Check("symbolic", wording.implicit_check_on_curve())
        steps.append(
            Step("simplify", "implicit_use_curve", (total, shorter), check=on_curve, words=words)
        )
        value = shorter
    return Derivation(x.name, total, tuple(steps), value), names


def on_the_curve(curve: Curve, value: sympy.Expr) -> sympy.Expr | None:
    """A shorter form of ``value`` equal to it wherever the (polynomial) curve's equation holds.

    ``value`` is in lowest terms (:func:`lowest_terms`, as each caller has it already).
    """
    f = curve.implicit_function
    x, y = curve.wrt, curve.dependent
    if not (f.is_polynomial(x, y) and value.is_rational_function(x, y)):
        return None
    numerator, denominator = sympy.fraction(value)
    polynomial = sympy.expand(f)
    (quotient,), remainder = sympy.reduced(sympy.expand(numerator), [polynomial], x, y)
    shorter = sympy.factor(remainder / denominator)
    if sympy.count_ops(shorter) >= sympy.count_ops(value):
        return None
    # numerator = quotient·F + remainder and shorter·denominator = remainder, each proved by
    # expanding: then shorter = value − quotient·F/denominator, equal wherever F = 0.
    certified = (
        sympy.expand(numerator - quotient * polynomial - remainder) == 0
        and sympy.expand(shorter * denominator - remainder) == 0
    )
    if not (certified or equal_on_curve(curve, shorter, value)):
        raise WrongStepError(f"{shorter} does not equal {value} on the curve")
    return shorter


def equal_on_curve(curve: Curve, value: sympy.Expr, reference: sympy.Expr) -> bool:
    """True when the two are equal, or (polynomial curve) their difference's numerator is a multiple of F."""
    return is_zero(value - reference) or equal_modulo_curve(curve, value - reference)


def equal_modulo_curve(curve: Curve, difference: sympy.Expr) -> bool:
    """Is ``difference`` 0 wherever the polynomial curve's equation holds: its numerator in
    lowest terms a multiple of F (False for a curve or difference that is not rational)?

    Over any denominator the numerator is that one times the common factor, so a multiple of
    F too: when it is not, the lowest terms (a cancel: 5–10 ms a slip compared) are not needed.
    """
    f = curve.implicit_function
    x, y = curve.wrt, curve.dependent
    if not f.is_polynomial(x, y):
        return False
    polynomial = sympy.expand(f)
    if difference.is_rational_function(x, y):
        numerator, _ = difference.as_numer_denom()
        if not _multiple_of(numerator, polynomial, x, y):
            return False
    difference = sympy.cancel(difference)
    if not difference.is_rational_function(x, y):
        return False
    gap, _ = sympy.fraction(difference)
    return _multiple_of(gap, polynomial, x, y)


def _multiple_of(
    numerator: sympy.Expr, polynomial: sympy.Expr, x: sympy.Symbol, y: sympy.Symbol
) -> bool:
    """Is the polynomial ``numerator`` a multiple of ``polynomial`` (remainder 0 dividing by it)?"""
    _, remainder = sympy.reduced(sympy.expand(numerator), [polynomial], x, y)
    return bool(remainder == 0)


def _with_value_at(
    curve: Curve,
    derivation: Derivation,
    point: Mapping[str, sympy.Expr] | None,
    oracle: sympy.Expr,
) -> Derivation:
    """The derivation with, at a point, one more step: the derivative's value there, checked
    against ``oracle`` (the derivative of the derivation's order from F's partials) there."""
    if not point:
        return derivation
    values = _values(curve, point)
    value = sympy.simplify(derivation.result.xreplace(values))
    words = (*_words(curve), ("point", _point_text(curve, point)))
    check = Check("symbolic", wording.implicit_check_higher())
    if not is_zero(oracle.xreplace(values) - value):
        raise WrongStepError(f"value {value} at the point differs from the oracle's")
    step = Step(
        "simplify", "implicit_value_at", (derivation.derivative, value), check=check, words=words
    )
    return dataclasses.replace(derivation, steps=(*derivation.steps, step))


def _words(curve: Curve) -> tuple[tuple[str, str], ...]:
    return (("dependent", curve.dependent.name), ("wrt", curve.wrt.name))


class StandIns:
    """Plain symbols standing in for unknown functions of ``var`` and their first derivatives:
    y for y(x) and p for y′(x), as sympy's idiff works (V, h for V(t), h(t) in related rates).

    sympy asks its assumptions of every Derivative(y(x), x), and of every product with y(x),
    that it builds: its derivatives and expansions of the plain forms are the same expressions
    at about half the cost. An identity of the plain forms holds for every function y (x, y
    and p take any values independently).
    """

    def __init__(self, var: sympy.Symbol, functions: Mapping[sympy.Symbol, sympy.Expr]) -> None:
        self.var = var
        #: Each symbol's derivative stands for the function's: y → p.
        self.slopes = {symbol: sympy.Dummy(f"d{symbol.name}") for symbol in functions}
        self._plain: dict[sympy.Expr, sympy.Expr] = {
            sympy.Derivative(function, var): self.slopes[symbol]
            for symbol, function in functions.items()
        }
        self._plain.update({function: symbol for symbol, function in functions.items()})
        self._back = {plain: written for written, plain in self._plain.items()}
        self._symbols = frozenset(functions)
        #: Derivatives by (form, symbol): a typed form and its evaluated form each a key.
        self._derivatives: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] = {}
        #: Plain forms already found: a step's subject is often the next step's value.
        self._plain_forms: dict[sympy.Expr, sympy.Expr | None] = {}

    def plain(self, expr: sympy.Expr) -> sympy.Expr | None:
        """``expr`` with each function a symbol and each first derivative p; None when another
        derivative (a y″(x), an unknown f′(y(x))) would lose its meaning so, or when the symbol
        y itself is there already (y and y(x) would become one)."""
        if expr in self._plain_forms:
            return self._plain_forms[expr]
        found = None
        if self._symbols.isdisjoint(expr.free_symbols) and all(
            d in self._plain for d in expr.atoms(sympy.Derivative, sympy.Subs)
        ):
            found = expr.xreplace(self._plain)
        self._plain_forms[expr] = found
        return found

    def back(self, plain: sympy.Expr) -> sympy.Expr:
        """A plain form written with the functions again: y(x) and y′(x)."""
        return plain.xreplace(self._back)

    def derivative(self, plain: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr:
        """sympy's derivative of a plain form by one symbol, each computed once (a side's
        partials serve its steps' checks and the curve's F_x, F_y).

        A sum is differentiated term by term, as sympy does it (``Add._eval_derivative``), and
        a rational multiple c·g as c times g's derivative (sympy's product rule skips the
        constant factor, and c multiplies each term out): the parts' derivatives are then
        known for the steps about them (the sum rule's terms, the constant multiple's g).
        """
        known = self._derivatives.get((plain, symbol))
        if known is None:
            # sympy's own quick exit: by a symbol the form does not hold, its derivative is 0
            # (a side free of t in related rates), without evaluating or differentiating it.
            # Asked of whole forms only: of each term too, it costs more than it saves.
            known = self._derivatives[plain, symbol] = (
                sympy.S.Zero
                if not plain.has_free(symbol)
                else self._of_evaluated(evaluate_typed(plain), symbol)
            )
        return known

    def _of_evaluated(self, evaluated: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr:
        """:meth:`derivative` of an evaluated form (its terms and factors are evaluated too)."""
        key = (evaluated, symbol)
        known = self._derivatives.get(key)
        if known is None:
            coefficient, factor = evaluated.as_coeff_Mul(rational=True)
            if isinstance(evaluated, sympy.Add):
                known = sympy.Add(*(self._of_evaluated(term, symbol) for term in evaluated.args))
            elif isinstance(evaluated, sympy.Mul) and coefficient != 1:
                known = coefficient * self._of_evaluated(factor, symbol)
            else:
                known = sympy_derivative(evaluated, symbol)
            self._derivatives[key] = known
        return known

    def total(self, plain: sympy.Expr) -> sympy.Expr:
        """d/dvar of a plain form whose symbols stand for functions: ∂/∂var + Σ ∂/∂y·p."""
        return self.derivative(plain, self.var) + sympy.Add(
            *(
                self.derivative(plain, symbol) * slope
                for symbol, slope in self.slopes.items()
                if plain.has(symbol)
            )
        )


class StandInChecker(Checker):
    """Checks the steps about unknown functions of one variable on their plain forms
    (:class:`StandIns`): sympy's derivative of a subject S(x, y(x)) is ∂S/∂x + ∂S/∂y·p there.

    A claim proved so holds for every function y; anything short of a proof is judged on the
    functions themselves, as any other step.
    """

    def __init__(self, stand_ins: StandIns) -> None:
        super().__init__()
        self.stand_ins = stand_ins
        self._totals: dict[sympy.Expr, sympy.Expr] = {}

    def check(self, step: Step) -> Step:
        """``step`` with its claim checked (unchanged when it makes none or was checked already)."""
        claim = step.claim
        if claim is None or step.check is not NO_CLAIM or claim.var != self.stand_ins.var:
            return super().check(step)
        subject = self.stand_ins.plain(claim.subject)
        values = [self.stand_ins.plain(value) for value in claim.values]
        if subject is None or not values or None in values:
            return super().check(step)
        reference = self._totals.get(subject)
        if reference is None:
            reference = self._totals[subject] = self.stand_ins.total(subject)
        checked = combine_checks(check_claim(v, reference) for v in values if v is not None)
        if checked.status != "symbolic":
            return super().check(step)
        return dataclasses.replace(step, check=checked)


def differentiate_side(
    source: str,
    x: sympy.Symbol,
    name: str,
    side: sympy.Expr,
    reserved: frozenset[str],
    checker: Checker | None = None,
) -> tuple[list[Step], sympy.Expr, frozenset[str]]:
    """The steps differentiating one side of an equation (unknowns written y(x)) by ``x``, nested
    one level, that side's derivative, and the intermediate names they took.

    ``name`` is the side's stand-in target, replaced in the steps by the side itself;
    ``checker`` is shared by the sides (a :class:`StandInChecker` for y(x)).
    """
    problem = Problem(
        source=source,
        definitions=(Definition(name, side),),
        target=name,
        inputs=(x.name,),
        wrt=(x.name,),
    )
    solved = solve_problem(problem, reserved=reserved, checker=checker)
    derivation = solved.derivations[0]
    label = derivation.derivative.of
    shown = Leibniz(side, x)
    steps = [
        dataclasses.replace(
            step,
            depth=step.depth + 1,
            sides=tuple(_relabel(s, label, shown) for s in step.sides),
            definitions=tuple((side if n == label else n, v) for n, v in step.definitions),
        )
        for step in derivation.steps
    ]
    return steps, derivation.result, frozenset(solved.intermediates)


def _relabel(formula: Formula, label: sympy.Expr, shown: Leibniz) -> Formula:
    """``formula`` with the side's stand-in name replaced by the side itself: d/dx(x² + y²)."""

    def derivative(leibniz: Leibniz) -> Formula:
        if leibniz.of != label:
            return leibniz
        return dataclasses.replace(leibniz, of=shown.of, lagrange=None)

    return map_formula(formula, derivative, lambda e: e.xreplace({label: shown.of}))


def _collect(
    curve: Curve, stand_ins: StandIns, difference: sympy.Expr
) -> tuple[Step, sympy.Expr, sympy.Expr]:
    """dy/dx·B = −A from A + B·dy/dx = 0 (both sides' derivatives moved to one side).

    Collected on the plain form (y and p for y(x) and y′(x)) unless something else of y
    remains there (f′(y(x)) of an unknown f); the sides as printed are proved on it.
    """
    derivative = sympy.Derivative(curve.function, curve.wrt)
    plain = stand_ins.plain(difference)
    written: Callable[[sympy.Expr], sympy.Expr] = _as_is if plain is None else stand_ins.back
    found_in: Callable[[sympy.Expr], sympy.Expr | None] = (
        _as_is if plain is None else stand_ins.plain
    )
    form, slope = (
        (difference, derivative) if plain is None else (plain, stand_ins.slopes[curve.dependent])
    )
    expanded = sympy.expand(form)
    linear = expanded.coeff(slope)
    # Factored once written with y(x): writing a factored 3(y² − 2x) back would multiply it out.
    coefficient = sympy.factor_terms(written(linear))
    rest = sympy.factor_terms(written(expanded - sympy.expand(linear * slope)))
    shown_coefficient, shown_rest = found_in(coefficient), found_in(rest)
    proven = (
        shown_coefficient is not None
        and shown_rest is not None
        and shown_rest.has(slope) is False
        and sympy.expand(shown_coefficient * slope + shown_rest - form) == 0
    )
    if not proven:
        raise WrongStepError(f"dy/dx does not appear linearly in {difference}")
    step = Step(
        "rule",
        "implicit_collect",
        (Product((derivative, coefficient)), -rest),
        check=Check("symbolic", wording.implicit_check_collect()),
        words=_words(curve),
    )
    return step, coefficient, rest


def _as_is(expr: sympy.Expr) -> sympy.Expr:
    return expr


def _solved(curve: Curve, coefficient: sympy.Expr, rest: sympy.Expr) -> sympy.Expr:
    """dy/dx = −A/B with y(x) written y, in its tidy form."""
    if curve.as_symbol(coefficient) == 0:
        raise ProblemError(
            "implicit_no_slope", wording.implicit_error_no_slope(), source=curve.source
        )
    raw = lowest_terms(curve.as_symbol(-rest / coefficient))
    tidied, _ = tidy(raw)
    return tidied


def _check_result(
    curve: Curve, result: sympy.Expr, partials: tuple[sympy.Expr, sympy.Expr]
) -> Check:
    """dy/dx against −F_x/F_y (``partials``: F_x, F_y), computed from the equation alone.

    sympy's idiff of order 1 is this same quotient (it solves F_x + F_y·y′ = 0 for y′), so
    asking it too would prove nothing more; the higher orders are its total derivatives
    (:func:`implicit_derivatives`).
    """
    reference = -partials[0] / partials[1]
    if not is_zero(result - reference):
        raise WrongStepError(f"dy/dx = {result} differs from {reference}")
    return Check("symbolic", wording.implicit_check_result())


def _at_point(
    curve: Curve,
    result: sympy.Expr,
    point: Mapping[str, sympy.Expr],
    dy: Leibniz,
    partials: tuple[sympy.Expr, sympy.Expr],
) -> list[Step]:
    """The slope at the point and the tangent line there (``partials``: F_x, F_y)."""
    values = _values(curve, point)
    denominator = partials[1].xreplace(values)
    if is_zero(denominator):
        numerator = partials[0].xreplace(values)
        singular = is_zero(numerator)
        raise ProblemError(
            "implicit_singular_point" if singular else "implicit_vertical_tangent",
            (wording.implicit_error_singular if singular else wording.implicit_error_vertical)(
                _point_text(curve, point)
            ),
            source=curve.source,
        )
    slope = sympy.simplify(result.xreplace(values))
    reference = (-partials[0] / partials[1]).xreplace(values)
    if not is_zero(slope - reference):
        raise WrongStepError(f"slope {slope} differs from {reference}")
    x0, y0 = values[curve.wrt], values[curve.dependent]
    tangent = sympy.expand(y0 + slope * (curve.wrt - x0))
    through_point = is_zero(tangent.xreplace({curve.wrt: x0}) - y0)
    if not through_point or not is_zero(sympy.diff(tangent, curve.wrt) - slope):
        raise WrongStepError(
            f"tangent {tangent} is not the line of slope {slope} through the point"
        )
    words = (*_words(curve), ("point", _point_text(curve, point)))
    point_slope = y0 + sympy.Mul(slope, curve.wrt - x0, evaluate=False)
    # At the origin the point-slope form is already the line: it is written once.
    line = (
        (curve.dependent, tangent)
        if x0 == 0 and y0 == 0
        else (curve.dependent, point_slope, tangent)
    )
    return [
        Step(
            "simplify",
            "implicit_slope",
            (dy, slope),
            check=Check("symbolic", wording.implicit_check_slope()),
            words=words,
        ),
        Step(
            "simplify",
            "implicit_tangent",
            line,
            check=Check("symbolic", wording.implicit_check_tangent()),
            words=words,
        ),
    ]
