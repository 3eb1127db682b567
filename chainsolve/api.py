"""The Python API: ``solve`` and ``verify`` taking the same options as the command line."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chainsolve.budget import DEFAULT_TIMEOUT, deadline, remaining, stage
from chainsolve.steps import Solution

if TYPE_CHECKING:
    import sympy

    from chainsolve.problem import Problem

#: Share of the time left that a verify check may use: past it the verdict is undecided, and
#: the rest of the deadline is left for reporting that verdict.
VERIFY_SHARE = 0.9


def _wrt_names(wrt: str | Sequence[str] | None) -> tuple[str, ...] | None:
    from chainsolve.parsing import parse_wrt

    if wrt is None:
        return None
    if isinstance(wrt, str):
        return parse_wrt(wrt)
    return tuple(wrt)


def _point(at: str | Mapping[str, Any] | None) -> dict[str, sympy.Expr] | None:
    from chainsolve.parsing import parse_point

    if at is None:
        return None
    if isinstance(at, str):
        return parse_point(at)
    text = ",".join(f"{name}={value}" for name, value in at.items())
    return parse_point(text)


def load_problem(
    problem: str,
    *,
    wrt: str | Sequence[str] | None = None,
    at: str | Mapping[str, Any] | None = None,
    graph: str = "definitions",
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Problem:
    """Parse and validate a problem, optionally broken into elementary operations (``graph="elementary"``).

    ``timeout`` (seconds, or ``None``) bounds the call; a value outside (0, 86400] is refused.
    """
    from chainsolve.parsing import parse_problem

    with deadline(timeout), stage("parse"):
        parsed = parse_problem(problem, wrt=_wrt_names(wrt), point=_point(at))
        if graph == "elementary":
            from chainsolve.decompose import elementary_problem

            parsed = elementary_problem(parsed)
    return parsed


def solve(
    problem: str,
    *,
    wrt: str | Sequence[str] | None = None,
    at: str | Mapping[str, Any] | None = None,
    detail: str = "normal",
    graph: str = "definitions",
    mode: str = "reverse",
    numeric: bool = False,
    order: int = 1,
    implicit: str | None = None,
    rates: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Solution:
    """Solve a problem step by step, every step checked (``order`` > 1: up to that derivative).

    With ``implicit="y"`` the problem is an equation (``x^2 + y^2 = 25``) and the answer is
    dy/dx by implicit differentiation (with ``at``: the slope and tangent line there).
    With ``rates="dr/dt = 2"`` it is an equation between quantities changing in time and the
    answer is the one rate not given (with ``at``: its value at that moment).

    >>> sol = solve("sin(x^2)")
    >>> sol.derivatives
    {'x': 2*x*cos(x**2)}
    >>> sol.verified
    True

    ``timeout`` bounds the whole call and only ever aborts it (:class:`BudgetExceeded`): the
    derivative and its form are the same whatever the timeout and the machine's load.
    """
    if rates is not None and (implicit is not None or order != 1):
        from chainsolve import wording
        from chainsolve.errors import ProblemError

        raise ProblemError("rates_options", wording.rates_error_options(), source=problem)
    if rates is not None:
        return solve_related_rates(problem, rates, at=at, detail=detail, timeout=timeout)
    if implicit is not None:
        return solve_curve(
            problem, implicit, wrt=wrt, at=at, detail=detail, order=order, timeout=timeout
        )
    with deadline(timeout):
        parsed = load_problem(problem, wrt=wrt, at=at, graph=graph, timeout=None)
        return solve_parsed(
            parsed, detail=detail, mode=mode, numeric=numeric, order=order, timeout=None
        )


def solve_curve(
    equation: str,
    dependent: str,
    *,
    wrt: str | Sequence[str] | None = None,
    at: str | Mapping[str, Any] | None = None,
    detail: str = "normal",
    order: int = 1,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Solution:
    """d(dependent)/dx on the curve ``equation`` by implicit differentiation, every step checked."""
    from chainsolve.implicit import exact, read_curve, solve_implicit

    with deadline(timeout):
        with stage("parse"):
            point = {name: exact(value) for name, value in (_point(at) or {}).items()}
            curve = read_curve(equation, dependent, _wrt_names(wrt), point)
        with stage("derivation"):
            return solve_implicit(curve, point=point, detail=detail, order=order)


def solve_related_rates(
    equation: str,
    rates: str,
    *,
    at: str | Mapping[str, Any] | None = None,
    detail: str = "normal",
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Solution:
    """The one unknown rate of ``equation`` given the other ``rates`` (``"dr/dt = 2"``), every step checked."""
    from chainsolve.rates import parse_rates, solve_rates

    with deadline(timeout):
        with stage("parse"):
            known = parse_rates(rates)
            point = _point(at) or {}
        with stage("derivation"):
            return solve_rates(equation, known, point, detail=detail)


def solve_parsed(
    problem: Problem,
    *,
    detail: str = "normal",
    mode: str = "reverse",
    numeric: bool = False,
    order: int = 1,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Solution:
    """Solve an already parsed :class:`~chainsolve.problem.Problem`."""
    from chainsolve.higher import solve_higher

    with deadline(timeout):
        with stage("derivation"):
            solution = solve_higher(problem, order, detail=detail)
        if problem.point:
            from chainsolve.evaluation import evaluate_at
            from chainsolve.graph import build_graph

            with stage("evaluation at the point"):
                graph = solution.graph if solution.graph is not None else build_graph(problem)
                evaluation = evaluate_at(problem, graph, problem.point, numeric=numeric, mode=mode)  # type: ignore[arg-type]
            solution = dataclasses.replace(solution, evaluation=evaluation)
    return solution


def verify(
    problem: str,
    *,
    answer: str | None = None,
    derivation: str | None = None,
    wrt: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Any:
    """Check a final ``answer`` or a line-by-line ``derivation`` against the problem's derivative.

    The result has ``.correct`` (bool) and renders with ``chainsolve.verification.render_verdict``.
    ``timeout`` bounds the whole call; a check that runs out of it is ``undecided``.
    """
    if (answer is None) == (derivation is None):
        raise ValueError("give exactly one of answer= or derivation=")
    with deadline(timeout):
        parsed = load_problem(problem, wrt=wrt, timeout=None)
        return check_parsed(parsed, answer=answer, derivation=derivation)


def check_parsed(problem: Problem, *, answer: str | None, derivation: str | None) -> Any:
    """Check an answer or a derivation of a parsed problem within the deadline in force.

    The check gets :data:`VERIFY_SHARE` of the time left: running out of it gives an
    ``undecided`` verdict, and the rest is left to report that verdict.
    """
    from chainsolve.verification import verify_answer, verify_derivation

    left = remaining()
    share = None if left is None else max(left * VERIFY_SHARE, 1e-3)
    if answer is not None:
        return verify_answer(problem, answer, timeout=share)
    return verify_derivation(problem, derivation or "", timeout=share)
