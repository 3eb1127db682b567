"""Higher derivatives: each order differentiates the previous result with the same rule tree."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy

from chainsolve import wording
from chainsolve.check import Checker
from chainsolve.derivation import WrongStepError, flatten_definitions, solve_problem
from chainsolve.errors import ProblemError
from chainsolve.problem import Definition, make_symbol
from chainsolve.steps import Claim, Derivation, Leibniz, Solution, Step, map_formula

if TYPE_CHECKING:
    from chainsolve.problem import Problem
    from chainsolve.steps import Formula

#: The highest order asked for on the command line (each order is a whole worked solution).
MAX_ORDER = 6


def solve_higher(problem: Problem, order: int, *, detail: str = "normal") -> Solution:
    """The worked solution of the ``order``-th derivative, one derivation per order, all checked.

    Order k differentiates the result of order k − 1 (planned and explained like any
    expression; a problem's intermediates substituted back, so it is written in x) and its
    result is checked against ``sympy.diff(flattened, x, k)``.
    """
    if not 1 <= order <= MAX_ORDER:
        raise ProblemError(
            "order_out_of_range", wording.note_order_out_of_range(MAX_ORDER), source=problem.source
        )
    if order == 2 and len(problem.wrt) == 2:
        from chainsolve.mixed import solve_mixed

        if problem.point:
            raise ProblemError(
                "higher_order_at_point", wording.note_higher_order_at_point(), source=problem.source
            )
        return solve_mixed(problem, detail=detail)
    # One checker for every order and the oracle: each sympy.diff of a subject is done once.
    checker = Checker()
    first = solve_problem(problem, detail=detail, checker=checker)
    if order == 1:
        return first
    _refuse_unsupported(problem, order)
    wrt = problem.symbol(problem.wrt[0])
    flat = flatten_definitions(problem)
    expr = flat[make_symbol(problem.target)]
    derivations = [first.derivations[0]]
    intermediates = dict(first.intermediates)
    notes = list(first.notes)
    for k in range(2, order + 1):
        # Order 1 of a problem with intermediates may end in them: order 2 starts from x alone.
        previous = derivations[-1].result.xreplace(flat)
        again = dataclasses.replace(problem, definitions=(Definition(problem.target, previous),))
        # the problem's own names (u of u = sin x) stay its own in every order
        reserved = frozenset(intermediates) | problem.names
        solved = solve_problem(again, detail=detail, reserved=reserved, checker=checker)
        derivation = _of_order(solved.derivations[0], k, previous)
        _check_against_oracle(checker, expr, wrt, k, derivation.result)
        derivations.append(derivation)
        intermediates.update(solved.intermediates)
        notes.extend(note for note in solved.notes if note not in notes)
    return Solution(
        problem=problem,
        derivations=tuple(derivations),
        notes=tuple(notes),
        intermediates=MappingProxyType(intermediates),
        detail=detail,
    )


def _refuse_unsupported(problem: Problem, order: int) -> None:
    if len(problem.wrt) != 1:
        raise ProblemError(
            "higher_order_unsupported",
            wording.note_higher_order_needs_one_variable(_asked_as(problem, order), problem.wrt),
            source=problem.source,
            span=problem.order_span,
        )
    if problem.point:
        raise ProblemError(
            "higher_order_at_point", wording.note_higher_order_at_point(), source=problem.source
        )


def _asked_as(problem: Problem, order: int) -> str:
    """How the user asked for the order: the operator written in the problem, or ``--order n``."""
    span = problem.order_span
    if span is None:
        return f"--order {order}"
    return problem.source[span.start : span.end]


def _of_order(derivation: Derivation, order: int, previous: sympy.Expr) -> Derivation:
    """A derivation of ``previous`` relabelled as order ``order``: dy/dx becomes dⁿy/dxⁿ.

    Where the steps name the differentiated expression itself (a decomposition ``y = …``,
    a chain link dy/du₁) it is the derivative of order n − 1, written y′, y″, ….
    """
    total = dataclasses.replace(derivation.derivative, order=order)
    named = _named(total.of, order - 1)
    opening = Step(
        "rule",
        "higher_order",
        (total, Leibniz(previous, total.wrt)),
        words=(("order", str(order)), ("previous", str(order - 1))),
    )
    steps = tuple(
        dataclasses.replace(
            step,
            sides=tuple(_relabel(side, total, named) for side in step.sides),
            definitions=tuple(
                (named if name == total.of else name, value) for name, value in step.definitions
            ),
        )
        for step in derivation.steps
    )
    return dataclasses.replace(derivation, derivative=total, steps=(opening, *steps))


def _relabel(formula: Formula, total: Leibniz, named: sympy.Symbol) -> Formula:
    """``formula`` with d(target)/dx read as the n-th derivative and d(target)/du as d(named)/du."""

    def derivative(leibniz: Leibniz) -> Formula:
        if leibniz.of != total.of:
            return leibniz
        if leibniz.wrt == total.wrt:
            return dataclasses.replace(leibniz, order=total.order)
        return dataclasses.replace(leibniz, of=named)

    return map_formula(formula, derivative, lambda e: e.xreplace({total.of: named}))


def _named(target: sympy.Expr, order: int) -> sympy.Symbol:
    """The derivative of ``order`` as one symbol, y' or y'' (ASCII primes: LaTeX reads them too)."""
    return sympy.Symbol(f"{target}{chr(39) * order}", real=True)


def _check_against_oracle(
    checker: Checker, expr: sympy.Expr, wrt: sympy.Symbol, order: int, result: sympy.Expr
) -> None:
    """Raise when ``result`` is not sympy's own ``order``-th derivative of ``expr`` (the independent oracle)."""
    oracle_step = Step(
        "simplify",
        "result",
        (result,),
        claim=Claim(sympy.diff(expr, wrt, order - 1), wrt, (result,)),
    )
    checked = checker.check(oracle_step)
    if checked.check.differs:
        raise WrongStepError(f"derivative of order {order} differs from sympy.diff: {result}")
