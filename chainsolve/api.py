"""The Python API: ``solve`` and ``verify`` taking the same options as the command line."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, get_args, overload

from chainsolve.budget import DEFAULT_TIMEOUT, deadline, remaining, stage
from chainsolve.errors import ChainsolveError, OptionError
from chainsolve.steps import Solution

if TYPE_CHECKING:
    import sympy

    from chainsolve.matrix.numeric import MatrixEvaluation
    from chainsolve.matrix.solve import MatrixSolution
    from chainsolve.problem import Problem
    from chainsolve.vanishing import GradientStudy
    from chainsolve.verification import AnswerVerdict, DerivationReport

#: Share of the time left that a verify check may use: past it the verdict is undecided, and
#: the rest of the deadline is left for reporting that verdict.
VERIFY_SHARE = 0.9

#: How much of a solution its renderings show: the outline, every step, every step and its check.
Detail = Literal["brief", "normal", "full"]
#: The graph of a problem: its own definitions, or one node per elementary operation.
GraphStyle = Literal["definitions", "elementary"]
#: At a point: reverse mode (backpropagation) or forward mode (tangents).
Mode = Literal["reverse", "forward"]
#: How problems and answers are read: as whichever they look like, as plain text, as LaTeX.
InputSyntax = Literal["auto", "plain", "latex"]


def _check_choice(option: str, value: object, allowed: Any) -> None:
    """Refuse a value outside a ``Literal`` type's choices with an :class:`OptionError`."""
    choices = get_args(allowed)
    if value not in choices:
        raise OptionError(option, value, choices)


@contextmanager
def _reading(syntax: object) -> Iterator[None]:
    """Parse inside the block as ``syntax`` (``input_syntax=``), refused if not a choice."""
    from chainsolve.parsing import input_syntax

    _check_choice("input_syntax", syntax, InputSyntax)
    with input_syntax(syntax):  # type: ignore[arg-type]
        yield


def _check_type(option: str, value: object, expected: type | tuple[type, ...], wanted: str) -> None:
    """Refuse a value of the wrong type with a :class:`TypeError` naming the argument."""
    if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
        raise TypeError(f"{option} must be {wanted}, not {type(value).__name__}")


def _check_problem(problem: object) -> None:
    _check_type("problem", problem, str, "the problem as text, e.g. 'sin(x^2)'")


def _check_common(wrt: object, at: object, timeout: object) -> None:
    if wrt is not None and not isinstance(wrt, str):
        _check_type("wrt", wrt, Sequence, "a name, 's,t', or a sequence of names")
        for name in wrt:  # type: ignore[attr-defined]
            _check_type("wrt", name, str, "a name, 's,t', or a sequence of names")
    if at is not None and not isinstance(at, str):
        _check_type("at", at, Mapping, "'x=1,y=2' or a mapping of names to values")
    if timeout is not None:
        _check_type("timeout", timeout, (int, float), "a number of seconds or None")


#: A command-line option in a message of shared code, with its value when one follows
#: (``--wrt s,t``, ``--wrt u: …``, ``--at w=1,x=2``); without one it is the word itself.
_CLI_OPTION = re.compile(
    r"--(?P<name>wrt|at|timeout|graph|detail|mode|order)\b(?: (?P<value>[^\s:]+?)(?=:|, | for |$))?"
)


def _as_argument(match: re.Match[str]) -> str:
    value = match["value"]
    return match["name"] if value is None else f'{match["name"]}="{value}"'


@contextmanager
def _api_wording() -> Iterator[None]:
    """Errors raised inside speak of the API's arguments (``wrt="s"``), not of CLI flags (``--wrt s``)."""
    try:
        yield
    except ChainsolveError as error:
        error.message = _CLI_OPTION.sub(_as_argument, error.message)
        if error.hint is not None:
            error.hint = _CLI_OPTION.sub(_as_argument, error.hint)
        error.args = (error.message,)
        raise


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
    if isinstance(at, str) and at.startswith("@"):
        from chainsolve.matrix.point import scalar_point_text

        return parse_point(scalar_point_text(at[1:]))
    if isinstance(at, str):
        return parse_point(at)
    text = ",".join(f"{name}={value}" for name, value in at.items())
    return parse_point(text)


def load_problem(
    problem: str,
    *,
    wrt: str | Sequence[str] | None = None,
    at: str | Mapping[str, Any] | None = None,
    graph: GraphStyle = "definitions",
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Problem:
    """Parse and validate a problem, optionally broken into elementary operations.

    Takes ``problem``, ``wrt``, ``at``, ``graph`` and ``timeout`` as :func:`solve` does.
    Raises :class:`~chainsolve.errors.ParseError` or :class:`~chainsolve.errors.ProblemError`
    for a problem that cannot be read, :class:`~chainsolve.errors.OptionError` for a ``graph``
    not in its choices, and :class:`TypeError` for an argument of the wrong type.
    """
    from chainsolve.parsing import parse_problem

    _check_problem(problem)
    _check_common(wrt, at, timeout)
    _check_choice("graph", graph, GraphStyle)
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
    detail: Detail = "normal",
    graph: GraphStyle = "definitions",
    mode: Mode = "reverse",
    numeric: bool = False,
    order: int = 1,
    implicit: str | None = None,
    rates: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    input_syntax: InputSyntax = "auto",
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

    Parameters:
        problem: an expression (``"sin(x^2)"``) or definitions, target first
            (``"z = x^2*y; x = cos(t); y = exp(t)"``).
        wrt: the variable(s) to differentiate by: ``"t"``, ``"s,t"`` or ``["s", "t"]``;
            inferred when the problem has one input.
        at: a point, ``"w=2,x=3"`` or ``{"w": 2, "x": "1/3"}``: adds the forward and
            backward passes and the gradient there.
        detail: how much the renderings show by default: ``"brief"`` (the outline),
            ``"normal"`` or ``"full"`` (with each step's check).
        graph: ``"definitions"`` (the problem's own) or ``"elementary"`` (one node per operation).
        mode: at a point, ``"reverse"`` (backpropagation) or ``"forward"`` (tangents).
        numeric: at a point, show the values as decimals.
        order: derivatives up to this order (1 to 6), each differentiating the previous result;
            left at 1, the order written in the problem (``d^2/dx^2 …``), another one an error.
        implicit: the name of the dependent variable when ``problem`` is an equation
            (``"x^2 + y^2 = 25"``, ``implicit="y"``): dy/dx by implicit differentiation.
        rates: the known rates (``"dr/dt = 2"``) when ``problem`` is an equation between
            quantities changing in time: the one rate not given.
        timeout: seconds the whole call may take, or ``None``; it only ever aborts the call
            (:class:`~chainsolve.errors.BudgetExceeded`): the derivative and its form are the
            same whatever the timeout and the machine's load.
        input_syntax: ``"latex"`` or ``"plain"`` reads ``problem`` as that; ``"auto"`` (the
            default) reads text with a LaTeX command, group or ``$`` as LaTeX.

    Raises:
        ParseError, ProblemError: the problem cannot be read or is not a valid problem.
        OptionError: ``detail``, ``graph`` or ``mode`` is not one of its choices (also a
            :class:`ValueError`).
        TypeError: an argument of the wrong type (``solve(42)``).
    """
    _check_problem(problem)
    _check_common(wrt, at, timeout)
    _check_options(detail, mode, numeric)
    _check_choice("graph", graph, GraphStyle)
    if rates is not None and (implicit is not None or order != 1):
        from chainsolve import wording
        from chainsolve.errors import ProblemError

        raise ProblemError("rates_options", wording.rates_error_options(), source=problem)
    with _api_wording(), _reading(input_syntax):
        if rates is not None:
            return solve_related_rates(problem, rates, at=at, detail=detail, timeout=timeout)
        if implicit is not None:
            return solve_curve(
                problem,
                implicit,
                wrt=wrt,
                at=at,
                detail=detail,
                order=None if order == 1 else order,
                timeout=timeout,
            )
    with _api_wording(), _reading(input_syntax), deadline(timeout):
        parsed = load_problem(problem, wrt=wrt, at=at, graph=graph, timeout=None)
        return solve_parsed(
            parsed, detail=detail, mode=mode, numeric=numeric, order=order, timeout=None
        )


def solve_matrix(
    problem: str,
    *,
    shapes: str = "",
    wrt: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> MatrixSolution:
    """Solve a problem in vectors and matrices: the backward pass, each step checked entry by entry.

    >>> sol = solve_matrix("a = W*x; L = sum(sigmoid(a))", shapes="x: 2, W: 3x2", wrt="W")
    >>> sol.verified, [step.name for step, _ in sol.steps]
    (True, ['a', 'W'])

    Parameters:
        problem: definitions, the loss last (``"a = W1*x + b1; …; L = 1/2*norm2(z - y)^2"``),
            with shapes declared in it (``"x: 2; W1: 3x2; …"``) or in ``shapes``.
        shapes: ``"x: 2, W1: 3x2, b1: 3"``: a vector of n is n×1, a matrix rows×cols.
        wrt: the inputs to differentiate by (default: every input).
        timeout: seconds the whole call may take, or ``None``.

    Raises:
        ParseError, ProblemError: the problem cannot be read, a shape does not fit, a name
            has no shape.
    """
    _check_problem(problem)
    _check_common(wrt, None, timeout)
    from chainsolve.matrix.solve import solve_matrix as solve_in_matrices

    with _api_wording(), deadline(timeout):
        return solve_in_matrices(problem, shapes, _wrt_names(wrt))


def evaluate_matrix(
    solution: MatrixSolution, at: str, *, timeout: float | None = DEFAULT_TIMEOUT
) -> MatrixEvaluation:
    """A solved matrix problem at a point: the forward pass, each δ and gradient at the point,
    each gradient checked by central differences of the loss written out in its entries.

    >>> sol = solve_matrix("L = dot(w, x) + b", shapes="x: 2, w: 2, b: 1", wrt="w")
    >>> ev = evaluate_matrix(sol, "x=[1, 2], w=[2, -1], b=0.5")
    >>> ev.gradient["w"].nested("exact"), ev.verified
    (['1', '2'], True)

    ``at`` is ``--at``'s text: ``"W=[[0.1, 0.2], [0.3, 0.4]], x=[1, 2], b=0.5"``, or
    ``"@point.json"`` for a JSON object mapping each input to a number or nested lists.
    Raises :class:`~chainsolve.errors.ParseError` or :class:`~chainsolve.errors.ProblemError`
    (one line) for a point that cannot be read, a value of the wrong shape, a missing input,
    or a value outside the domain.
    """
    _check_type("at", at, str, "'x=[1, 2], W=[[…]]' or '@point.json'")
    from chainsolve.matrix.numeric import evaluate_at_point
    from chainsolve.matrix.point import check_point, read_point

    with _api_wording(), deadline(timeout), stage("evaluation"):
        point = read_point(at)
        check_point(point, solution.backprop.shaped.shapes, solution.problem.inputs)
        return evaluate_at_point(solution.checked, point)


def solve_curve(
    equation: str,
    dependent: str,
    *,
    wrt: str | Sequence[str] | None = None,
    at: str | Mapping[str, Any] | None = None,
    detail: str = "normal",
    order: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Solution:
    """d(dependent)/dx on the curve ``equation`` by implicit differentiation, every step checked.

    ``order`` None: the order written before the curve (``d^2y/dx^2, x^2 + y^2 = 25``), else 1.
    """
    from chainsolve.implicit import asked_order, exact, read_curve, solve_implicit

    with deadline(timeout):
        with stage("parse"):
            point = {name: exact(value) for name, value in (_point(at) or {}).items()}
            curve = read_curve(equation, dependent, _wrt_names(wrt), point)
            order = asked_order(curve, order)
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
    from chainsolve.rates import parse_rates, read_moment, solve_rates

    with deadline(timeout):
        with stage("parse"):
            known = parse_rates(rates)
            # A moment typed as text may carry units (r=5cm); a mapping is plain numbers.
            point, units = read_moment(at) if isinstance(at, str) else (_point(at) or {}, {})
        with stage("derivation"):
            return solve_rates(equation, known, point, detail=detail, point_units=units)


def _check_options(detail: object, mode: object, numeric: object) -> None:
    _check_choice("detail", detail, Detail)
    _check_choice("mode", mode, Mode)
    _check_type("numeric", numeric, bool, "True or False")


def solve_parsed(
    problem: Problem,
    *,
    detail: Detail = "normal",
    mode: Mode = "reverse",
    numeric: bool = False,
    order: int = 1,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Solution:
    """Solve an already parsed :class:`~chainsolve.problem.Problem` (options as :func:`solve`)."""
    from chainsolve.higher import solve_higher
    from chainsolve.parsing import asked_order

    _check_options(detail, mode, numeric)
    # order 1 is the default: the order written in the problem (d²/dx²) stands.
    order = asked_order(problem, None if order == 1 else order)
    with deadline(timeout):
        with stage("derivation"):
            solution = solve_higher(problem, order, detail=detail)
        if problem.point:
            from chainsolve.evaluation import evaluate_at
            from chainsolve.graph import evaluation_graph

            with stage("evaluation at the point"):
                graph = evaluation_graph(solution)
                evaluation = evaluate_at(problem, graph, problem.point, numeric=numeric, mode=mode)
            solution = dataclasses.replace(solution, evaluation=evaluation)
    return solution


@overload
def verify(
    problem: str,
    *,
    answer: str,
    derivation: None = None,
    wrt: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    order: int = 1,
    input_syntax: InputSyntax = "auto",
) -> AnswerVerdict: ...


@overload
def verify(
    problem: str,
    *,
    answer: None = None,
    derivation: str,
    wrt: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    order: int = 1,
    input_syntax: InputSyntax = "auto",
) -> DerivationReport: ...


def verify(
    problem: str,
    *,
    answer: str | None = None,
    derivation: str | None = None,
    wrt: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    order: int = 1,
    input_syntax: InputSyntax = "auto",
) -> AnswerVerdict | DerivationReport:
    """Check a final ``answer`` or a line-by-line ``derivation`` against the problem's derivative.

    >>> verify("sin(x^2)", answer="2x*cos(x^2)").correct
    True

    Parameters:
        problem: the problem, as for :func:`solve`.
        answer: a student's final derivative (give this or ``derivation``).
        derivation: a student's derivation, one line per step (give this or ``answer``).
        wrt: the variable the derivative is taken by, when the problem has several inputs.
        timeout: seconds the whole call may take, or ``None``; a check that runs out of it
            gives the verdict ``undecided``.
        order: the order of the derivative the ``answer`` is (2: the second derivative), or
            the order a ``derivation`` must reach (its lines may name theirs: ``y'' = …``);
            left at 1, the order written in the problem (``d^2/dx^2 …``).
        input_syntax: ``"latex"``, ``"plain"`` or ``"auto"``: how the problem, the answer and
            each line of the derivation are read, as for :func:`solve`.

    Returns:
        An :class:`~chainsolve.verification.AnswerVerdict` for an ``answer``, a
        :class:`~chainsolve.verification.DerivationReport` for a ``derivation``: each has
        ``.correct``, ``.verdict``, ``.message``, the ``to_text()``, ``to_markdown()``,
        ``to_latex()``, ``to_html()`` and ``to_json()`` renderings, and displays in Jupyter.

    Raises:
        ValueError: neither or both of ``answer`` and ``derivation``.
        ParseError, ProblemError: the problem cannot be read, or ``wrt`` is not one of its inputs.
        TypeError: an argument of the wrong type.
    """
    _check_problem(problem)
    _check_common(wrt, None, timeout)
    if (answer is None) == (derivation is None):
        raise ValueError("give exactly one of answer= or derivation=")
    given, name = (answer, "answer") if answer is not None else (derivation, "derivation")
    _check_type(name, given, str, "text")
    with _api_wording(), _reading(input_syntax), deadline(timeout):
        parsed = load_problem(problem, wrt=wrt, timeout=None)
        return check_parsed(parsed, answer=answer, derivation=derivation, order=order)


def check_curve(
    equation: str,
    dependent: str,
    answer: str,
    *,
    wrt: str | Sequence[str] | None = None,
    order: int | None = None,
) -> AnswerVerdict:
    """A student's d(dependent)/dx (of ``order``) on the curve ``equation``, modulo the equation.

    ``order`` None: the order written before the curve (``d^2y/dx^2, x^2 + y^2 = 25``), else 1.
    """
    from chainsolve.implicit import asked_order, read_curve
    from chainsolve.implicit_verify import verify_implicit

    with _api_wording():
        curve = read_curve(equation, dependent, _wrt_names(wrt), {})
        return verify_implicit(curve, answer, asked_order(curve, order))


def check_rates(
    equation: str, rates: str, answer: str, *, at: str | Mapping[str, Any] | None = None
) -> AnswerVerdict:
    """A student's value of the one unknown rate of ``equation``, checked; slips named."""
    from chainsolve.rates import parse_rates, read_moment, verify_rates

    with _api_wording():
        point, units = read_moment(at) if isinstance(at, str) else (_point(at) or {}, {})
        return verify_rates(equation, parse_rates(rates), point, answer, point_units=units)


def check_parsed(
    problem: Problem, *, answer: str | None, derivation: str | None, order: int = 1
) -> AnswerVerdict | DerivationReport:
    """Check an answer or a derivation of a parsed problem within the deadline in force.

    The check gets :data:`VERIFY_SHARE` of the time left: running out of it gives an
    ``undecided`` verdict, and the rest is left to report that verdict.
    """
    from chainsolve.parsing import asked_order
    from chainsolve.verification import verify_answer, verify_derivation

    order = asked_order(problem, None if order == 1 else order)
    left = remaining()
    share = None if left is None else max(left * VERIFY_SHARE, 1e-3)
    if answer is not None:
        return verify_answer(problem, answer, timeout=share, order=order)
    return verify_derivation(problem, derivation or "", timeout=share, order=order)


def gradients(
    *,
    depth: int = 20,
    activations: str | Sequence[str] | None = None,
    at: str | Mapping[str, Any] | None = None,
    width: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> GradientStudy:
    """The deep chain h₀ = x, hₖ = act(w·hₖ₋₁ + b), L = h_depth, with each activation, layer by layer.

    >>> study = gradients(depth=20, activations="sigmoid,relu")
    >>> [profile.trend for profile in study.profiles]
    ['shrinks', 'stays']

    Parameters:
        depth: the number of layers, 1 to 200.
        activations: ``"sigmoid,tanh,relu"`` (the default), any of these and ``softplus``.
        at: the input x, weight w and bias b (``"x=1/2,w=2"``; defaults x = 1/2, w = 1, b = 0).
        width: the matrix form, every layer a vector of this many units (1 to 16), W = w
            times a fixed matrix; ``None`` (the default) for the scalar chain.
        timeout: seconds the call may take, or ``None``.

    Returns a :class:`~chainsolve.vanishing.GradientStudy`; :func:`chainsolve.gradview.render_gradients`
    renders it.

    Raises:
        ChainsolveError: a depth out of range, an unknown activation or a value that is not a
            real number (``ParseError`` for one that cannot be read).
        TypeError: an argument of the wrong type.
    """
    from chainsolve.vanishing import gradient_study

    _check_type("depth", depth, int, "a whole number of layers")
    if width is not None:
        _check_type("width", width, int, "a whole number of units")
    _check_common(None, at, timeout)
    with _api_wording(), deadline(timeout), stage("gradients"):
        return gradient_study(depth, activations, _point(at), width)
