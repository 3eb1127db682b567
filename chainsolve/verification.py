"""Checks a student's derivative, one answer or a derivation line by line, and names the mistake."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import sympy
from sympy.core.function import AppliedUndef

from chainsolve import equivalence, mistakes, wording
from chainsolve.budget import stage
from chainsolve.derivation import flatten_definitions, solve_problem, substitute
from chainsolve.display import ReportDisplay
from chainsolve.errors import BudgetExceeded, ChainsolveError, ParseError, ProblemError, Span
from chainsolve.filters import unicode_name
from chainsolve.latex_input import translate
from chainsolve.mistakes import MistakeMatch
from chainsolve.parsing import LIMITS, input_syntax, reads_latex
from chainsolve.problem import Definition, Problem, make_symbol
from chainsolve.record import record
from chainsolve.steps import Derivation, Solution

if TYPE_CHECKING:
    from chainsolve.matrix.mistakes import MatrixVerdict
    from chainsolve.units import Unit

VerdictId = Literal[
    "equivalent", "not_equivalent", "equivalent_on_part", "undecided", "incomplete", "wrong_step"
]
LineStatus = Literal["follows", "does_not_follow", "unreadable", "undecided", "prose", "defines"]
#: Why a line is undecided: the check never reached it, ran out on it, or found no proof.
LineReason = Literal["", "not_started", "out_of_time", "no_proof"]

#: CPU seconds one symbolic proof may take at most: a fixed safety net, so that a verdict never
#: depends on the time left or the machine's load (the deadline only stops the check).
PROOF_SECONDS = 2.0
#: The template of each format, under ``templates/<format>/``.
VERDICT_TEMPLATES: Mapping[str, str] = {
    "text": "verdict.txt.jinja",
    "markdown": "verdict.md.jinja",
    "latex": "verdict.tex.jinja",
    "html": "verdict.html.jinja",
}


@record
class Counterexample:
    """A point where the answer and the derivative are both defined and differ, and the two values.

    ``answer_value`` is None when the answer is undefined there (only the derivative is).
    ``concrete_functions`` is True when abstract functions were replaced to find it.
    """

    point: Mapping[str, float]
    answer_value: float | None
    expected_value: float | None
    concrete_functions: bool = False

    def describe(self) -> str:
        """'x = 0.5' style text for the point."""
        return ", ".join(
            f"{unicode_name(name)} = {_short(value)}" for name, value in self.point.items()
        )

    def values_text(self) -> tuple[str, str]:
        """The two values with just enough digits to tell them apart."""
        return _distinct(self.answer_value, self.expected_value)


@record
class Grounds:
    """What a verdict's message rests on besides the verdict itself (the words are in wording).

    ``timeout`` is set when the check ran out of its time budget (0: no budget was given);
    ``sampled_points`` when numbers agreed but no proof came in time; ``restates`` when the
    answer only restates the problem as d/dx(…); ``unknown_names`` are names the answer uses
    that the problem does not have; for a derivation, ``unreadable`` lists the skipped lines,
    ``first_wrong_mistakes`` what the first wrong line matches, and ``no_line`` says that no
    line could be read at all.
    """

    timeout: float | None = None
    sampled_points: int | None = None
    restates: bool = False
    unknown_names: tuple[str, ...] = ()
    unreadable: tuple[int, ...] = ()
    first_wrong_mistakes: tuple[MistakeMatch, ...] = ()
    no_line: bool = False
    agree_where: str = ""
    #: Derivation lines of words only ("Therefore"), skipped.
    prose: tuple[int, ...] = ()


@record(repr=False)
class AnswerVerdict(ReportDisplay):
    """The check of one answer: verdict, counterexample, matching mistakes and a message."""

    problem: Problem
    wrt: str
    answer_text: str
    answer: sympy.Expr | None
    expected: sympy.Expr | None
    verdict: VerdictId
    grounds: Grounds
    counterexample: Counterexample | None = None
    agree_where: str = ""
    mistakes: tuple[MistakeMatch, ...] = ()
    method: str = ""
    seconds: float = 0.0
    kind: str = field(default="answer", init=False)
    #: The order of the derivative checked (2: the answer is d²y/dx²).
    order: int = 1
    #: The variables differentiated by before ``wrt``: (x,) for the mixed partial ∂²z/∂y∂x.
    mixed: tuple[str, ...] = ()
    #: A related rate's unit as the problem implies it (cm³/s), None without units given.
    unit: Unit | None = None
    #: The unit the answer was written with (200π cm³/s), None for a bare number.
    answer_unit: Unit | None = None

    @property
    def correct(self) -> bool:
        """True only for a proved-equivalent answer with no derivative left to evaluate."""
        return self.verdict == "equivalent"

    @property
    def unit_note(self) -> str:
        """What the answer's unit, or its lack of one, is taken to mean (worded by wording)."""
        return wording.answer_unit_note(self.unit is not None, self.answer_unit is not None)

    @property
    def verdict_label(self) -> str:
        """The verdict in prose."""
        return wording.VERDICT_LABELS[self.verdict]

    @property
    def message(self) -> str:
        """The verdict explained in prose (worded by :mod:`chainsolve.wording`)."""
        return wording.answer_message(self)

    @property
    def mistake_ids(self) -> list[str]:
        """The ids of the matching mistakes."""
        return [m.id for m in self.mistakes]


@record
class LineCheck:
    """One line of a derivation and what became of it.

    ``follows_from`` is the line number it was compared with (0: the problem itself, for
    the first line); ``equals_derivative`` says whether it equals the true derivative
    (None: not decided). ``caret`` holds the line and a caret under a parse error.
    """

    number: int
    text: str
    expr: sympy.Expr | None
    status: LineStatus
    follows_from: int | None = None
    equals_derivative: bool | None = None
    #: Why an undecided line is undecided.
    reason: LineReason = ""
    #: The line still holds a derivative to evaluate (d/dx(…) left in it).
    unevaluated: bool = False
    #: Why an unreadable line could not be read (the parser's message).
    error: str = ""
    caret: tuple[str, str] | None = None
    counterexample: Counterexample | None = None
    #: For a side line, what it is about: the name it defines (``u``) or its left side (``du/dx``).
    claim: str = ""

    @property
    def note(self) -> str:
        """Where the line was compared from and what became of it, in prose (from wording)."""
        return wording.line_note(self)

    @property
    def status_label(self) -> str:
        """The status in prose."""
        return wording.STATUS_LABELS[self.status]

    @property
    def summary(self) -> str:
        """The status and why, as one phrase: 'follows from line 3', 'could not be read: …'."""
        if self.status in ("follows", "does_not_follow"):
            return f"{self.status_label} {self.note}"
        return f"{self.status_label}: {self.note}" if self.note else self.status_label


@record(repr=False)
class DerivationReport(ReportDisplay):
    """A derivation checked line by line: each line's status, the first wrong line, its mistake."""

    problem: Problem
    wrt: str
    expected: sympy.Expr | None
    lines: tuple[LineCheck, ...]
    verdict: VerdictId
    grounds: Grounds
    first_wrong_line: int | None = None
    mistakes: tuple[MistakeMatch, ...] = ()
    counterexample: Counterexample | None = None
    seconds: float = 0.0
    #: The order of the derivative checked (2: the lines end in d²y/dx²).
    order: int = 1
    #: The variables differentiated by before ``wrt``: (x,) for the mixed partial ∂²z/∂y∂x.
    mixed: tuple[str, ...] = ()
    kind: str = field(default="derivation", init=False)

    @property
    def correct(self) -> bool:
        """True when every readable line follows and the last is the derivative, evaluated."""
        return self.verdict == "equivalent"

    @property
    def verdict_label(self) -> str:
        """The verdict of the last line in prose."""
        return wording.VERDICT_LABELS[self.verdict]

    @property
    def message(self) -> str:
        """The whole derivation's verdict in prose (worded by :mod:`chainsolve.wording`)."""
        return wording.derivation_message(self)

    @property
    def mistake_ids(self) -> list[str]:
        """The ids of the mistakes matching the first wrong line."""
        return [m.id for m in self.mistakes]


Report = AnswerVerdict | DerivationReport


# -- the true derivative ------------------------------------------------------------------------


class _Context:
    """What both checks need: the variable, the truth, chainsolve's derivation, the wrong answers.

    ``expected`` is the truth every answer is compared with: ``sympy.diff`` of the flattened
    target, never chainsolve's own derivation; ``shown`` is the form printed as the expected
    answer (chainsolve's, when it agrees with the truth). ``domain`` holds the problem and
    its derivative: answers are compared only where both are real and defined.
    ``samples`` holds the truth's and the domain's values at sample points, shared by every
    answer; ``derivatives`` the derivatives a derivation's lines name (dy/du is dy/dx ÷
    du/dx), each taken once, the truth among them. (A plain class, and the other records
    here named tuples: a dataclass costs a millisecond of every verify's start to create.)
    """

    __slots__ = (
        "_candidates",
        "derivation",
        "derivatives",
        "expected",
        "flat",
        "problem",
        "samples",
        "shown",
        "solution",
        "wrt",
    )

    def __init__(
        self,
        problem: Problem,
        wrt: str,
        solution: Solution,
        derivation: Derivation,
        expected: sympy.Expr,
        shown: sympy.Expr,
        flat: dict[sympy.Symbol, sympy.Expr],
    ) -> None:
        self.problem = problem
        self.wrt = wrt
        self.solution = solution
        self.derivation = derivation
        self.expected = expected
        self.shown = shown
        self.flat = flat
        self._candidates: list[mistakes.Candidate] | None = None
        self.samples: equivalence.ValueMemo = {}
        target = flat[make_symbol(problem.target)]
        self.derivatives: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] = {
            (target, make_symbol(wrt)): expected
        }

    @property
    def has_abstract(self) -> bool:
        return bool(self.expected.atoms(AppliedUndef))

    @property
    def domain(self) -> tuple[sympy.Expr, sympy.Expr]:
        return (self.flat[make_symbol(self.problem.target)], self.expected)

    def diff(self, expr: sympy.Expr, variable: sympy.Symbol) -> sympy.Expr:
        """sympy.diff of ``expr`` by ``variable``, taken once per context."""
        key = (expr, variable)
        if key not in self.derivatives:
            self.derivatives[key] = sympy.diff(expr, variable)
        return self.derivatives[key]

    def candidates(self) -> list[mistakes.Candidate]:
        if self._candidates is None:
            self._candidates = mistakes.candidates(
                self.problem, self.wrt, self.derivation, self.solution.graph
            )
        return self._candidates


def _choose_wrt(problem: Problem, wrt: str | None) -> str:
    if wrt is not None:
        if wrt not in problem.inputs and wrt not in problem.wrt:
            raise ProblemError(
                "unknown_wrt",
                f"--wrt {wrt}: the problem has no input '{wrt}'",
                source=problem.source,
                hint="inputs: " + ", ".join(problem.inputs),
            )
        return wrt
    if len(problem.wrt) != 1:
        raise ProblemError(
            "ambiguous_wrt",
            "an answer is the derivative with respect to one variable; say which with --wrt",
            source=problem.source,
            hint="for example --wrt " + (problem.wrt or problem.inputs or ("x",))[0],
        )
    return problem.wrt[0]


#: Solved problems kept per process: a class's submissions share a handful of problems.
_CONTEXT_CACHE_SIZE = 64
_contexts: dict[tuple[object, ...], _Context] = {}


def _context(problem: Problem, wrt: str | None) -> _Context:
    name = _choose_wrt(problem, wrt)
    key = (problem.definitions, problem.inputs, name)
    cached = _contexts.get(key)
    if cached is None:
        cached = _solve_context(problem, name)
        if len(_contexts) >= _CONTEXT_CACHE_SIZE:
            _contexts.pop(next(iter(_contexts)))
        _contexts[key] = cached
    return cached


def forget_solved_problems() -> None:
    """Drop the problems :func:`_context` keeps solved, so that the next check solves its own."""
    _contexts.clear()


def _solve_context(problem: Problem, name: str) -> _Context:
    if name not in problem.wrt:
        problem = Problem(
            problem.source,
            problem.definitions,
            problem.target,
            problem.inputs,
            (name,),
            problem.point,
            problem.implicit_target,
            problem.normalized_source,
        )
    # A verdict prints the result, never the steps: the result alone, its closing claim (the
    # Expected form) still checked against sympy's derivative, a check _shown reuses.
    solution = solve_problem(problem, detail="normal", steps=False)
    derivation = next(d for d in solution.derivations if d.wrt == name)
    flat = flatten_definitions(problem)
    expected = sympy.diff(flat[make_symbol(problem.target)], make_symbol(name))
    return _Context(
        problem,
        name,
        solution,
        derivation,
        expected,
        _shown(derivation, flat, flat[make_symbol(problem.target)], expected),
        flat,
    )


def _shown(
    derivation: Derivation,
    flat: dict[sympy.Symbol, sympy.Expr],
    target: sympy.Expr,
    expected: sympy.Expr,
) -> sympy.Expr:
    """chainsolve's form of the derivative for display, or the truth where the two differ."""
    if not derivation.in_terms_of_inputs:
        return expected  # a huge graph: its result is written with intermediate names
    derived = substitute(derivation.result, flat)
    if derived == expected:
        return derived  # the same expression: nothing to compare
    # The solution's closing step claimed this very equality against the same oracle.
    proved = equivalence.remembered(derived, expected)
    if proved and equivalence.check_claim(derived, expected).status == "symbolic":
        return derived
    comparison = equivalence.numeric_comparison(derived, expected, domain=(target, expected))
    return derived if comparison.verdict == "equal" else expected


# -- reading the student's expressions ----------------------------------------------------------


def _parse(
    text: str, problem: Problem, *, source: str | None = None, offset: int = 0
) -> sympy.Expr:
    """The student's text as an expression; functions the problem does not have are refused."""
    from chainsolve.parsing import parse_expression  # written alongside; imported when needed

    # The problem's variables multiply a parenthesis, y(x + 1) = y·(x + 1), as in the problem.
    variables = problem.names - problem.function_names
    parsed = parse_expression(text, source=source, offset=offset, variables=variables)
    _refuse_foreign_functions(parsed, problem, text, source=source, offset=offset)
    return parsed


def _refuse_foreign_functions(
    parsed: sympy.Expr, problem: Problem, text: str, *, source: str | None, offset: int
) -> None:
    """A ParseError at the first function name that is neither known nor one of the problem's.

    The problem's unknown functions (``f(x)``) are arbitrary, so an answer may use them;
    any other unknown name (``cosine(x)``, ``sine(x)``) would be compared as a made-up
    function, and the verdict and its counterexample would mean nothing.
    """
    allowed = problem.function_names
    foreign = {a.func.__name__ for a in parsed.atoms(AppliedUndef)} - allowed
    if not foreign:
        return
    from chainsolve.functions import closest_function

    found = [(m.start(), m.group(1)) for m in re.finditer(r"([A-Za-z_]\w*)\s*\(", text)]
    start, name = min(((i, n) for i, n in found if n in foreign), default=(0, sorted(foreign)[0]))
    close = closest_function(name)
    if name in abstract_partials(problem):
        hint = (
            f"write {name} without arguments: it stands for the derivative at the problem's point"
        )
    elif close:
        hint = f"did you mean {close}?"
    elif allowed:
        hint = "the problem's unknown functions are " + ", ".join(sorted(allowed))
    else:
        hint = "see README: the input language for the functions chainsolve knows"
    raise ParseError(
        "unknown_function",
        f"'{name}' is not a function chainsolve knows, nor one of the problem's",
        source=source if source is not None else text,
        span=Span(offset + start, offset + start + len(name)),
        hint=hint,
    )


def abstract_partials(problem: Problem) -> dict[str, sympy.Expr]:
    """The names an answer may use for derivatives of the problem's unknown functions.

    For ``f(x, y)`` in the problem, ``f_x`` (or ``f_1``) is ∂f/∂x and ``f_y`` (``f_2``) is
    ∂f/∂y, both at the arguments f is applied to; for ``g(t)``, ``g_t`` (``g_1``) is g′(t).
    """
    names: dict[str, sympy.Expr] = {}
    for definition in problem.definitions:
        for applied in sorted(definition.expr.atoms(AppliedUndef), key=sympy.default_sort_key):
            function = applied.func
            for index, argument in enumerate(applied.args, start=1):
                # Always ∂ᵢf at the argument (a Subs): Derivative(f(x, t), t) would become the
                # total derivative once x = g(t) is substituted, counting g′·∂₁f twice.
                dummy = sympy.Dummy("a", real=True)
                arguments = [
                    dummy if i == index else a for i, a in enumerate(applied.args, start=1)
                ]
                partial = sympy.Subs(sympy.Derivative(function(*arguments), dummy), dummy, argument)
                if isinstance(argument, sympy.Symbol):
                    names.setdefault(f"{function.__name__}_{argument.name}", partial)
                names.setdefault(f"{function.__name__}_{index}", partial)
    return names


def _exact_floats(expr: sympy.Expr) -> sympy.Expr:
    """Decimals as the exact fractions written (0.1 means 1/10, not the nearest binary number)."""
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sympy.Rational(str(f)) for f in floats})


def _unevaluated(expr: sympy.Expr) -> bool:
    """True when the student's own expression still differentiates a known expression.

    Derivatives of unknown functions (f′(g(t)), ∂₁f(g(t), t), as chainsolve prints them) are
    final answers; the parser reads no other derivative.
    """
    return any(not isinstance(d.expr, AppliedUndef) for d in expr.atoms(sympy.Derivative))


def _in_inputs(ctx: _Context, expr: sympy.Expr) -> sympy.Expr:
    """The student's expression in the problem's inputs: partial and intermediate names replaced."""
    partials = abstract_partials(ctx.problem)
    replace = {
        s: partials[s.name]
        for s in expr.free_symbols
        if s.name in partials and s.name not in ctx.problem.names
    }
    expr = expr.xreplace(replace) if replace else expr
    expr = substitute(_exact_floats(expr), ctx.flat)
    if expr.has(sympy.Derivative):
        expr = expr.doit()
    return expr


def _unknown_names(ctx: _Context, expr: sympy.Expr) -> list[str]:
    partials = abstract_partials(ctx.problem)
    return sorted(
        s.name
        for s in expr.free_symbols
        if s.name not in ctx.problem.names and s.name not in partials
    )


# -- comparing ----------------------------------------------------------------------------------


class _Clock:
    """The time left of a check's budget, shared by its comparisons."""

    def __init__(self, timeout: float | None) -> None:
        self.start = time.monotonic()
        self.timeout = timeout

    def remaining(self) -> float | None:
        if self.timeout is None:
            return None
        return self.timeout - (time.monotonic() - self.start)

    def elapsed(self) -> float:
        return time.monotonic() - self.start


class _Outcome(NamedTuple):
    verdict: VerdictId
    comparison: equivalence.Comparison


def _compare(ctx: _Context, a: sympy.Expr, b: sympy.Expr, clock: _Clock) -> _Outcome:
    """Compare on the problem's domain, merely numeric agreement counting as undecided."""
    comparison = equivalence.compare(
        a, b, proof_seconds=PROOF_SECONDS, domain=ctx.domain, memo=ctx.samples
    )
    verdict: VerdictId
    if comparison.verdict == "equal":
        verdict = "equivalent" if comparison.method == "symbolic" else "undecided"
    elif comparison.verdict == "not_equal":
        verdict = "not_equivalent"
    elif comparison.verdict == "equal_on_part":
        verdict = "equivalent_on_part"
    else:
        verdict = "undecided"
    return _Outcome(verdict, comparison)


def _counterexample(comparison: equivalence.Comparison, abstract: bool) -> Counterexample | None:
    if comparison.counterexample is None:
        return None
    values = comparison.values
    return Counterexample(
        dict(comparison.counterexample),
        values[0] if values else None,
        values[1] if values else None,
        abstract,
    )


# -- one answer ---------------------------------------------------------------------------------


def verify_answer(
    problem: Problem,
    answer_text: str,
    *,
    timeout: float | None = None,
    wrt: str | None = None,
    order: int = 1,
) -> AnswerVerdict:
    """Check one answer for the derivative of ``problem`` (by ``wrt``, or the problem's variable).

    With ``order`` n > 1 the answer is the n-th derivative: checked against sympy's n-th
    derivative, the (n − 1)-th derivative's own slips named, and the (n − 1)-th derivative
    itself named as the answer to the wrong order.

    Raises :class:`ParseError` when the answer cannot be read and :class:`ProblemError` when
    the variable is ambiguous; running out of ``timeout`` gives an ``undecided`` verdict.
    """
    clock = _Clock(timeout)
    # ∂²z/∂y∂x (written, or --wrt x,y --order 2): ∂/∂y of ∂z/∂x.
    mixed = wrt is None and order == 2 and len(problem.wrt) == 2
    if mixed and problem.function_names:
        raise ProblemError(
            "mixed_partial_answer",
            wording.verify_mixed_partial_abstract(),
            source=problem.source,
            span=problem.order_span,
            hint=wording.verify_mixed_partial_abstract_hint(),
        )
    name = problem.wrt[1] if mixed else _choose_wrt(problem, wrt)
    try:
        with stage("verify", timeout):
            if mixed:
                first = problem.wrt[0]
                return _judge_higher(problem, name, order, answer_text, clock, first=first)
            if order > 1:
                return _judge_higher(problem, name, order, answer_text, clock)
            ctx = _context(problem, name)
            return _judge_answer(ctx, answer_text, _read_answer(ctx, answer_text, clock), clock)
    except BudgetExceeded:
        return AnswerVerdict(
            problem,
            name,
            answer_text,
            None,
            None,
            "undecided",
            Grounds(timeout=timeout or 0.0),
            method="timeout",
            seconds=clock.elapsed(),
        )


def _judge_higher(
    problem: Problem, name: str, order: int, text: str, clock: _Clock, first: str | None = None
) -> AnswerVerdict:
    """The answer as the ``order``-th derivative: the (order − 1)-th, by sympy, differentiated once.

    With ``first`` the answer is the mixed partial ∂²z/∂(name)∂(first): ∂z/∂(first), by
    sympy, differentiated by ``name``.
    """
    from chainsolve.higher import MAX_ORDER

    if first is None and not 1 < order <= MAX_ORDER:
        raise ProblemError(
            "order_out_of_range", wording.note_order_out_of_range(MAX_ORDER), source=problem.source
        )
    lower = _order_below(problem, first or name, order, name)
    previous = lower.definitions[0].expr
    ctx = _context(lower, name)
    verdict = _judge_answer(ctx, text, _read_answer(ctx, text, clock), clock)
    mixed = () if first is None else (first,)
    verdict = dataclasses.replace(verdict, problem=problem, order=order, mixed=mixed)
    answer = verdict.answer
    wrong_order = (
        verdict.verdict == "not_equivalent"
        and answer is not None
        and any(
            _is_the_same(answer, lower_one)
            for lower_one in _orders_below(problem, previous, name, first)
        )
    )
    if wrong_order:
        found = mistakes.match("previous_order", wording.mistake_previous_order(order - 1))
        # The answer is the lower order's function itself: "not differentiated" says it again.
        others = tuple(m for m in verdict.mistakes if m.id != "not_differentiated")
        verdict = dataclasses.replace(verdict, mistakes=(found, *others))
    return verdict


def _orders_below(
    problem: Problem, previous: sympy.Expr, name: str, first: str | None
) -> Iterator[sympy.Expr]:
    """The derivatives of the order below, ``previous`` first; each taken only when asked for.

    Of a mixed partial, either first partial is the order below (∂z/∂x or ∂z/∂y).
    """
    yield previous
    if first is not None:
        flat = flatten_definitions(problem)[make_symbol(problem.target)]
        yield sympy.diff(flat, make_symbol(name))


def _is_the_same(answer: sympy.Expr, lower: sympy.Expr) -> bool:
    """Is ``answer`` identically ``lower``? The same expression needs no proof (nor implicit.py)."""
    if answer == lower:
        return True
    from chainsolve.implicit import is_zero  # a higher order's wrong answer only

    return is_zero(answer - lower)


def _order_below(problem: Problem, by: str, order: int, wrt: str) -> Problem:
    """The problem whose first derivative by ``wrt`` is the ``order``-th: sympy's (order − 1)-th by ``by``."""
    flat = flatten_definitions(problem)[make_symbol(problem.target)]
    previous = sympy.diff(flat, make_symbol(by), order - 1)
    return dataclasses.replace(
        problem,
        definitions=(Definition(problem.target, previous),),
        wrt=(wrt,),
        point=MappingProxyType({}),
    )


def _read_answer(ctx: _Context, text: str, clock: _Clock) -> tuple[sympy.Expr, sympy.Expr, bool]:
    """The answer as shown, its value in the inputs, and whether a derivative is left in it.

    ``dy/dx = …``, ``y' = …``, ``f'(x) = …`` and ``d/dx(…) = …`` prefixes are read as in a
    derivation; the last side of ``a = b`` is the answer.
    """
    reader = _Reader(ctx)
    plain = _plain_line(_Line(1, text, text.strip(), len(text) - len(text.lstrip())))
    try:
        with input_syntax("plain"):  # a LaTeX answer is translated already
            reading = _read(reader, plain.line, clock, prose=False)
            if reading.kind != "chain":
                raise ParseError(
                    "not_an_answer",
                    wording.NOT_AN_ANSWER,
                    source=text,
                    span=Span(0, len(text)),
                    hint=wording.NOT_AN_ANSWER_HINT,
                )
            column, side = reading.sides[-1]
            read = reader.expression(side, plain.line.raw, column)
    except ChainsolveError as error:
        plain.locate(error, text)
        raise
    return read.shown, reader.in_inputs(read.value), read.unevaluated


def _judge_answer(
    ctx: _Context, text: str, read: tuple[sympy.Expr, sympy.Expr, bool], clock: _Clock
) -> AnswerVerdict:
    parsed, answer, unevaluated = read
    outcome = _compare(ctx, answer, ctx.expected, clock)
    counterexample = _counterexample(outcome.comparison, ctx.has_abstract)
    matched: tuple[MistakeMatch, ...] = ()
    verdict = outcome.verdict
    if verdict in ("not_equivalent", "equivalent_on_part"):
        matched = mistakes.identify(answer, ctx.expected, ctx.candidates())
    if unevaluated:
        verdict = "incomplete"
        matched = (mistakes.match("unevaluated_derivative"), *matched)
    grounds = Grounds(
        sampled_points=_sampled_points(verdict, outcome),
        agree_where=outcome.comparison.agree_where,
        unknown_names=tuple(_unknown_names(ctx, parsed)),
    )
    return AnswerVerdict(
        ctx.problem,
        ctx.wrt,
        text,
        answer,
        ctx.shown,
        verdict,
        grounds,
        counterexample,
        outcome.comparison.agree_where,
        matched,
        outcome.comparison.method,
        clock.elapsed(),
    )


def _sampled_points(verdict: VerdictId, outcome: _Outcome | None) -> int | None:
    """How many random points agreed, for an undecided verdict that numbers alone support."""
    if verdict == "undecided" and outcome is not None and outcome.comparison.verdict == "equal":
        return int(outcome.comparison.points)
    return None


# -- a derivation, line by line -----------------------------------------------------------------


class _Line(NamedTuple):
    number: int
    raw: str
    text: str
    offset: int


def split_lines(lines_text: str) -> list[_Line]:
    """The lines that hold something: comments and blank lines dropped, each with its column."""
    result: list[_Line] = []
    for number, raw in enumerate(lines_text.splitlines(), start=1):
        text = raw.split("#", 1)[0]
        if not text.strip():
            continue
        offset = len(text) - len(text.lstrip())
        result.append(_Line(number, raw, text.strip(), offset))
    return result


# -- reading a line as students write it ----------------------------------------------------------


class _Pattern:
    """A regular expression compiled on its first use.

    Most answers write no derivative (``cos(x^2)``): the patterns of derivative notation are
    then never used, and compiling them at import cost every verify a few milliseconds.
    """

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def _pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self._pattern().match(text, pos)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._pattern().fullmatch(text)

    def sub(self, replacement: str, text: str) -> str:
        return self._pattern().sub(replacement, text)


#: Words that join lines of a derivation ("so", "therefore"), dropped before the maths.
_CONNECTOR = _Pattern(
    r"^(?:(?:so|thus|hence|therefore|then|and|let|where|since)\b[,:]?|∴|=>|⇒|->|→)\s*", re.I
)
#: Prose ending in a colon before the maths: "Using the chain rule: dy/dx = …".
_LEAD_IN = _Pattern(r"^[A-Za-z][A-Za-z ,'-]*:\s*")
_PROSE = _Pattern(r"^[A-Za-z][A-Za-z\s,;:.!?'()-]*$")
#: Where a line's sides meet: ``a = b = c``, ``a => b``.
_EQUALS = _Pattern(r"=>|⇒|=")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_OPERATOR = _Pattern(rf"(?<![\w'])([d∂])\s*/\s*\1\s*({_NAME})\s*\(")
#: ``d/dx sin(x^2)``: the operator without a bracket applies to the rest of the side.
_BARE_OPERATOR = _Pattern(rf"(?<![\w'])([d∂])\s*/\s*\1\s*({_NAME})\s+(?=[^\s(=])")
_LEIBNIZ = _Pattern(rf"(?<![\w'])([d∂])\s*({_NAME})\s*/\s*\1\s*({_NAME})(?![\w(])")
_PRIME = _Pattern(rf"(?<![\w'′])({_NAME})\s*(['′″‴]+)(?:\s*\(\s*({_NAME})\s*\))?")
#: How many derivatives each prime mark writes (y″ is y′′).
_PRIMES = {"'": 1, "′": 1, "″": 2, "‴": 3}
#: ``d^2y/dx^2``, ``d²/dx²(…)``, ``d^3/dx^3 sin(x)``: an order on the d and on the variable.
_HIGHER = _Pattern(
    rf"(?<![\w'])([d∂])\s*(?:\^\s*(\d)|([²³⁴⁵⁶]))\s*({_NAME})?\s*/\s*\1\s*({_NAME})"
    r"\s*(?:\^\s*(\d)|([²³⁴⁵⁶]))"
)
_SUPERSCRIPT_DIGITS = {"²": 2, "³": 3, "⁴": 4, "⁵": 5, "⁶": 6}
#: ``∂²z/∂y∂x``, ``∂^2/∂y ∂x(…)``: the mixed partial ∂/∂y(∂z/∂x), the variables right to left.
_MIXED = _Pattern(
    rf"(?<![\w'])∂\s*(?:\^\s*2|²)\s*({_NAME})?\s*/\s*∂\s*({_NAME})\s*∂\s*({_NAME})(?![\w])"
)
#: ``z_x``, ``z_xy``, ``z_{xy}``: partials in subscript notation, the variables left to right.
_SUBSCRIPT = _Pattern(r"(?<![\w'])([A-Za-z]\w*?)_(?:\{([A-Za-z]{1,3})\}|([A-Za-z]{1,3}))(?![\w])")
#: ``(x²+1)′`` or ``sin(x)′``: a bracket, perhaps a call, then a prime.
_CALL_PRIME = _Pattern(rf"(?<![\w'])(?:{_NAME})?\s*\(")
#: A derivative is written with one of these (a slash, a subscript, a prime mark): text with
#: none of them holds no derivative, and the patterns above need not be tried on it.
_DERIVATIVE_MARKS = frozenset("/_'′″‴")


def _may_write_derivative(text: str) -> bool:
    """False when ``text`` cannot write a derivative: none of :data:`_DERIVATIVE_MARKS` in it."""
    return not _DERIVATIVE_MARKS.isdisjoint(text)


def _written_order(digit: str) -> int:
    """The order a superscript or a digit after ^ gives (0: none the checker handles)."""
    from chainsolve.higher import MAX_ORDER

    order = _SUPERSCRIPT_DIGITS.get(digit) or int(digit)
    return order if 1 < order <= MAX_ORDER else 0


def _is_prose(text: str, problem: Problem) -> bool:
    """A line of words only ("Using the chain rule:", "Therefore"), none a name or a function."""
    if not _PROSE.match(text):
        return False
    if text.rstrip().endswith(":"):
        return True
    from chainsolve.functions import CONSTANTS, FUNCTIONS

    words = re.findall(r"[A-Za-z_]\w*", text)
    known = problem.names | problem.function_names | {problem.target} | set(CONSTANTS)
    if any(w in known or w in FUNCTIONS for w in words):
        return False
    return any(len(w) > 1 for w in words)  # a lone letter is a name, if not the problem's


def _sides(text: str) -> list[tuple[int, str]]:
    """The sides of ``a = b => c`` outside brackets, each with its column in ``text``."""
    sides: list[tuple[int, str]] = []
    depth, begin, index = 0, 0, 0
    while index < len(text):
        char = text[index]
        depth += char in "([{"
        depth -= char in ")]}"
        match = _EQUALS.match(text, index) if depth == 0 and char in "=⇒" else None
        if match:
            sides.append((begin, text[begin:index]))
            begin = index = match.end()
            continue
        index += 1
    sides.append((begin, text[begin:]))
    return [(begin + len(side) - len(side.lstrip()), side.strip()) for begin, side in sides]


class _Token(NamedTuple):
    """A derivative written in a line (``dy/du``, ``d/dx(…)``, ``(…)′``, ``y′``): its value."""

    start: int
    end: int
    shown: sympy.Expr
    value: sympy.Expr
    order: int = 1


class _Reader:
    """Reads a derivation's lines in the problem's terms; side definitions (``u = x²``) add names.

    ``depth`` is how deep derivatives are nested in the side being read (``d/dx(d/dx(…))``);
    ``second``, of a mixed partial ∂²z/∂y∂x, is y, differentiated by after ``ctx.wrt`` (x).
    """

    __slots__ = ("ctx", "defined", "depth", "second")

    def __init__(self, ctx: _Context, *, second: str | None = None) -> None:
        self.ctx = ctx
        self.defined: dict[str, sympy.Expr] = {}
        self.depth = 0
        self.second = second

    def name_value(self, name: str) -> sympy.Expr | None:
        """A name in the problem's inputs: a side definition, a problem name, or f for the target."""
        problem = self.ctx.problem
        if name in self.defined:
            return self.defined[name]
        if name in problem.names or name == problem.target:
            return self.ctx.flat.get(make_symbol(name), make_symbol(name))
        if name == "f" and name not in problem.function_names:
            return self.ctx.flat[make_symbol(problem.target)]
        return None

    def context(self, order: int) -> _Context:
        """The truth for lines of ``order``: sympy.diff of the problem ``order`` times."""
        if order == 1:
            return self.ctx
        name = self.ctx.wrt
        if self.second is not None:  # ∂/∂(second) of ∂z/∂(name)
            return _context(_order_below(self.ctx.problem, name, 2, self.second), self.second)
        return _context(_order_below(self.ctx.problem, name, order, name), name)

    def derivative(self, of: sympy.Expr | None, by: str) -> sympy.Expr | None:
        """d(of)/d(by) in the inputs; by a name other than an input, by the chain rule through x."""
        variable = self.name_value(by)
        if of is None or variable is None:
            return None
        if isinstance(variable, sympy.Symbol) and by in self.ctx.problem.inputs:
            return self.ctx.diff(of, variable)
        wrt = make_symbol(self.ctx.wrt)
        rate = self.ctx.diff(variable, wrt)
        return None if rate == 0 else self.ctx.diff(of, wrt) / rate

    def tokens(self, text: str, source: str, offset: int) -> list[_Token]:
        """The derivatives written in ``text``, left to right, each with its value."""
        if not _may_write_derivative(text):
            return []
        pairs = _paren_pairs(text)
        found: list[_Token] = []
        index = 0
        while index < len(text):
            token = None
            if text[index] in _TOKEN_STARTS:
                token = self.token_at(text, index, pairs, source, offset)
            if token is None:
                index += 1
                continue
            found.append(token)
            index = token.end
        return found

    def token_at(
        self, text: str, index: int, pairs: dict[int, int], source: str, offset: int
    ) -> _Token | None:
        higher = _HIGHER.match(text, index)
        if higher:
            return self.higher(text, higher, pairs, source, offset)
        mixed = _MIXED.match(text, index)
        if mixed:
            return self.mixed(text, mixed, pairs, source, offset)
        subscript = _SUBSCRIPT.match(text, index)
        if subscript:
            token = self.subscripted(subscript)
            if token is not None:
                return token
        bare = _BARE_OPERATOR.match(text, index)
        if bare:
            inner = self.expression(text[bare.end() :], source, offset + bare.end())
            return self.applied(index, len(text), inner, (bare.group(2),))
        operator = _OPERATOR.match(text, index)
        if operator:
            close = pairs.get(operator.end() - 1)
            if close is None:
                return None
            by = operator.group(2)
            inner = self.expression(text[operator.end() : close], source, offset + operator.end())
            return self.applied(index, close + 1, inner, (by,))
        leibniz = _LEIBNIZ.match(text, index)
        if leibniz and self.name_value(leibniz.group(3)) is not None:
            of, by = leibniz.group(2), leibniz.group(3)
            return self.named(index, leibniz.end(), of, (by,))
        prime = _PRIME.match(text, index)
        if prime and prime.group(1) not in self.ctx.problem.function_names:
            by = prime.group(3) or self.ctx.wrt
            order = sum(_PRIMES[mark] for mark in prime.group(2))
            return self.named(index, prime.end(), prime.group(1), (by,) * order)
        call = _CALL_PRIME.match(text, index)
        close = pairs.get(call.end() - 1) if call else None
        if close is not None and text[close + 1 : close + 2] == "'":
            inner = self.expression(text[index : close + 1], source, offset + index)
            return self.applied(index, close + 2, inner, (self.ctx.wrt,))
        return None

    def higher(
        self, text: str, match: re.Match[str], pairs: dict[int, int], source: str, offset: int
    ) -> _Token | None:
        """``d²y/dx²``, ``d^2/dx^2(…)`` or ``d^2/dx^2 sin(x)``: a derivative of order 2 or more."""
        order = _written_order(match.group(2) or match.group(3))
        if not order or order != _written_order(match.group(6) or match.group(7)):
            return None
        of, by, end = match.group(4), match.group(5), match.end()
        if of is not None:
            if self.name_value(by) is None or re.match(r"[\w(]", text[end : end + 1]):
                return None
            return self.named(match.start(), end, of, (by,) * order)
        return self.operated(text, match, pairs, source, offset, (by,) * order)

    def mixed(
        self, text: str, match: re.Match[str], pairs: dict[int, int], source: str, offset: int
    ) -> _Token | None:
        """``∂²z/∂y∂x`` or ``∂^2/∂y∂x(…)``: ∂/∂y of ∂/∂x, each variable an input."""
        of, outer, inner_by, end = match.group(1), match.group(2), match.group(3), match.end()
        if self.name_value(outer) is None or self.name_value(inner_by) is None:
            return None
        if of is not None:
            if re.match(r"\s*\(", text[end:]):
                return None  # ∂²f/∂x∂y(x, y): a partial of an unknown function, for the parser
            return self.named(match.start(), end, of, (inner_by, outer))
        return self.operated(text, match, pairs, source, offset, (inner_by, outer))

    def operated(
        self,
        text: str,
        match: re.Match[str],
        pairs: dict[int, int],
        source: str,
        offset: int,
        by: tuple[str, ...],
    ) -> _Token | None:
        """An operator ``match`` applied to the bracket after it, or else to the rest of the side."""
        end = match.end()
        opening = end + len(text[end:]) - len(text[end:].lstrip())
        if text[opening : opening + 1] == "(":
            close = pairs.get(opening)
            if close is None:
                return None
            inner = self.expression(text[opening + 1 : close], source, offset + opening + 1)
            return self.applied(match.start(), close + 1, inner, by)
        if opening == len(text):
            return None
        inner = self.expression(text[end:], source, offset + end)
        return self.applied(match.start(), len(text), inner, by)

    def subscripted(self, match: re.Match[str]) -> _Token | None:
        """``z_x``, ``z_xy``: partials of a defined name by one-letter inputs, left to right."""
        partial = self.subscript_partial(match)
        return None if partial is None else self.named(match.start(), match.end(), *partial)

    def subscript_partial(self, match: re.Match[str]) -> tuple[str, tuple[str, ...]] | None:
        """The name and variables of a partial in subscript notation (z, (x, y) for ``z_xy``).

        Only where the whole (``z_xy``) is no name of the problem or of a side definition.
        """
        of, letters = match.group(1), match.group(2) or match.group(3)
        whole = match.group(0)
        if self.name_value(whole) is not None or of in self.ctx.problem.inputs:
            return None
        if self.name_value(of) is None:
            return None
        if any(letter not in self.ctx.problem.inputs for letter in letters):
            return None
        return of, tuple(letters)

    def applied(self, start: int, end: int, inner: _Side, by: tuple[str, ...]) -> _Token:
        """``d/dx(…)``, ``∂²/∂y∂x(…)`` or ``(…)′``: the derivative of an expression by ``by`` in
        turn, evaluated where it can be."""
        shown = sympy.Derivative(inner.shown, *(make_symbol(name) for name in by))
        value: sympy.Expr | None = self.in_inputs(inner.value)
        for name in by:
            value = self.derivative(value, name)
        return _Token(start, end, shown, value if value is not None else shown, len(by))

    def named(self, start: int, end: int, of: str, by: tuple[str, ...]) -> _Token:
        """``dy/du``, ``y′`` or ``z_xy``: the derivative of a name by ``by`` in turn; of an
        unknown name it stays unevaluated."""
        variables = [make_symbol(name) for name in by]
        function = sympy.Function(of)(*dict.fromkeys(variables))
        shown = sympy.Derivative(function, *variables)
        value = self.name_value(of)
        for name in by:
            value = self.derivative(value, name)
        written = f"d{of}/d{by[0]}" if len(set(by)) == 1 else f"{of}_{''.join(by)}"
        unknown = sympy.Symbol(written)
        return _Token(start, end, shown, value if value is not None else unknown, len(by))

    def expression(self, text: str, source: str, offset: int) -> _Side:
        """A side as shown (derivatives kept) and its value (derivatives evaluated).

        Each derivative is read here and stands in the parser's text as a placeholder name of
        the same width, so that the parser's columns stay those of the line.
        """
        self.depth += 1
        if self.depth > LIMITS.max_depth:
            raise ParseError(
                "too_deep",
                wording.DERIVATIVES_TOO_DEEP,
                source=source,
                span=Span(offset, offset + len(text)),
            )
        try:
            tokens = self.tokens(text, source, offset)
        finally:
            self.depth -= 1
        if not tokens:
            parsed = _parse(text, self.ctx.problem, source=source, offset=offset)
            return _Side(parsed, parsed, 0, _unevaluated(parsed))
        letter = _placeholder_letter(text, source, offset)
        written = text
        for number, token in reversed(list(enumerate(tokens))):
            name = f"{letter}{number}".ljust(token.end - token.start)
            written = written[: token.start] + name + written[token.end :]
        parsed = _parse(written, self.ctx.problem, source=source, offset=offset)
        names = {f"{letter}{i}": token for i, token in enumerate(tokens)}
        found = {s: names[s.name] for s in parsed.free_symbols if s.name in names}
        shown = parsed.xreplace({s: t.shown for s, t in found.items()})
        value = parsed.xreplace({s: t.value for s, t in found.items()})
        return _Side(shown, value, len(tokens), True)

    def in_inputs(self, value: sympy.Expr) -> sympy.Expr:
        """A side's value in the problem's inputs: side definitions, then the problem's names."""
        defined = {s: self.defined[s.name] for s in value.free_symbols if s.name in self.defined}
        return _in_inputs(self.ctx, value.xreplace(defined) if defined else value)


class _Side(NamedTuple):
    """One side of a line: as shown, its value, how many derivatives it writes, any left."""

    shown: sympy.Expr
    value: sympy.Expr
    derivatives: int
    unevaluated: bool


#: Characters a derivative may start with: a name (dy/dx, y′, d/dx) or a bracket ((…)′).
_TOKEN_STARTS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_∂(")


def _paren_pairs(text: str) -> dict[int, int]:
    """Each opening bracket's index mapped to its closing bracket's, in one pass."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "(":
            opened.append(index)
        elif char == ")" and opened:
            pairs[opened.pop()] = index
    return pairs


def _placeholder_letter(text: str, source: str, offset: int) -> str:
    """A letter that, followed by digits, is no name in ``text``: the derivatives' stand-ins."""
    used = {name[0] for name in re.findall(r"(?<![\w])[A-Za-z]\d+(?![\w])", text)}
    for letter in "QZWKJVXYBGHMNPRSTLCDEFAIOUqzwkjvxybghmnprstlcdefaiou":
        if letter not in used:
            return letter
    raise ParseError(
        "too_many_names",
        wording.NO_PLACEHOLDER,
        source=source,
        span=Span(offset, offset + len(text)),
    )


def verify_derivation(
    problem: Problem,
    lines_text: str,
    *,
    timeout: float | None = None,
    wrt: str | None = None,
    order: int = 1,
) -> DerivationReport:
    """Check a derivation line by line against the previous line and the true derivative.

    A line whose left side names an order (``y″ = …``, ``d^2/dx^2 sin(x^2) = …``) and the
    lines after it are judged against sympy's derivative of that order; the report is about
    ``order`` or the highest order written, whichever is higher.

    A line that cannot be read is marked (with a caret) and skipped; after a slip, later
    lines are compared with the wrong line, so correct algebra that follows is recognised.
    Raises :class:`ParseError` for a derivation with no lines.
    """
    # ∂²z/∂y∂x (written, or --wrt x,y --order 2): lines of order 1 are about ∂z/∂x, of order 2
    # about ∂/∂y of it.
    mixed = order == 2 and wrt is None and len(problem.wrt) == 2
    if mixed and problem.function_names:
        raise ProblemError(
            "mixed_partial_answer",
            wording.verify_mixed_partial_abstract(),
            source=problem.source,
            span=problem.order_span,
            hint=wording.verify_mixed_partial_abstract_hint(),
        )
    clock = _Clock(timeout)
    lines = split_lines(lines_text)
    if not lines:
        raise ParseError(
            "empty_derivation",
            "the derivation has no lines (only blanks and comments)",
            source=lines_text,
            hint="write one expression per line",
        )
    name = problem.wrt[0] if mixed else _choose_wrt(problem, wrt)
    try:
        with stage("verify", timeout):
            ctx = _context(problem, name)
    except BudgetExceeded:
        checks = tuple(
            LineCheck(line.number, line.raw, None, "undecided", reason="not_started")
            for line in lines
        )
        return DerivationReport(
            problem,
            name,
            None,
            checks,
            "undecided",
            Grounds(timeout=0.0),
            seconds=clock.elapsed(),
        )
    return _judge_derivation(ctx, lines, clock, order, problem.wrt[1] if mixed else None)


class _Reading(NamedTuple):
    """What a line says: prose, a definition, a side claim, or steps of the derivation itself.

    ``claim`` is the left side a side claim or a definition is about (``du/dx``, ``u``) and
    ``against`` its value in the inputs (None for a new name: the line defines it).
    """

    kind: Literal["prose", "chain", "claim"]
    sides: tuple[tuple[int, str], ...]
    claim: str = ""
    against: sympy.Expr | None = None
    #: The order a chain's left side names (y″ = …: 2); None when the line does not say.
    order: int | None = None


def _read(reader: _Reader, line: _Line, clock: _Clock, *, prose: bool = True) -> _Reading:
    """Sort a line: words only, ``u = x²`` (a definition), ``du/dx = 2x`` (a side claim), or steps.

    ``prose``: a line of words is prose (in a derivation; an answer is always maths).
    """
    text, offset = line.text, line.offset
    if len(text) > LIMITS.max_input_chars:
        _parse(text, reader.ctx.problem, source=line.raw, offset=offset)  # refused, in O(1)
    # A lead-in ends in a colon: without one, its pattern need not be tried (nor compiled).
    for pattern in (_LEAD_IN, _CONNECTOR) if ":" in text else (_CONNECTOR,):
        cut = pattern.match(text)
        if cut and text[cut.end() :].strip():
            text, offset = text[cut.end() :], offset + cut.end()
    if prose and _is_prose(text, reader.ctx.problem):
        return _Reading("prose", ())
    sides = [(offset + column, side) for column, side in _sides(text)]
    if len(sides) == 1:
        return _Reading("chain", tuple(sides), order=_written_alone(reader, line, *sides[0]))
    (left_column, left), rest = sides[0], tuple(sides[1:])
    if not left:
        return _Reading("chain", rest)
    if re.fullmatch(_NAME, left) and not _is_partial_name(reader, left):
        return _Reading("claim", rest, left, reader.name_value(left))
    tokens = reader.tokens(left, line.raw, left_column)
    if len(tokens) == 1 and (tokens[0].start, tokens[0].end) == (0, len(left)):
        value = reader.in_inputs(tokens[0].value)
        truth = reader.context(tokens[0].order)
        if _compare(truth, value, truth.expected, clock).verdict == "equivalent":
            return _Reading("chain", rest, order=tokens[0].order)
        return _Reading("claim", rest, "".join(left.split()), value)
    return _Reading("chain", tuple(sides))


def _is_partial_name(reader: _Reader, text: str) -> bool:
    """Is ``text`` (one name) a partial in subscript notation, ``z_x`` or ``z_xy``?"""
    match = _SUBSCRIPT.fullmatch(text)
    return match is not None and reader.subscript_partial(match) is not None


def _written_alone(reader: _Reader, line: _Line, column: int, side: str) -> int | None:
    """The order of a line that is one derivative of order 2 or more (``d^2/dx^2 sin(x^2)``)."""
    if "/" not in side or (not _HIGHER.match(side.lstrip()) and not _MIXED.match(side.lstrip())):
        return None  # a line of order 1, or an expression: it keeps the order above
    tokens = reader.tokens(side, line.raw, column)
    whole = len(tokens) == 1 and (tokens[0].start, tokens[0].end) == (0, len(side.rstrip()))
    return tokens[0].order if whole else None


class _Plain(NamedTuple):
    """A line in the text grammar: a LaTeX line translated, each character mapped to the typed one."""

    line: _Line
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def locate(self, error: ChainsolveError, typed: str) -> None:
        """Point ``error`` into the line as ``typed``: a span in the translation mapped back."""
        span = error.span
        if not self.starts or span is None or error.source != self.line.raw:
            return
        last = len(self.starts) - 1
        start = self.starts[min(span.start, last)]
        end = max(self.ends[min(max(span.end - 1, span.start), last)], start + 1)
        column = start - (typed.rfind("\n", 0, start) + 1) + 1
        error.message = _AT_COLUMN.sub(f" at column {column}", error.message)
        error.args = (error.message,)
        error.source, error.span = typed, Span(start, end)


_AT_COLUMN = _Pattern(r" at column \d+$")


def _plain_line(line: _Line) -> _Plain:
    """``line`` itself, or a LaTeX line (``\\frac{d}{dx}``, ``\\cdot``) in the text grammar."""
    if not reads_latex(line.text):
        return _Plain(line)
    text, starts, ends = translate(line.text, line.raw, line.offset)
    plain = _Line(line.number, text, text.strip(), len(text) - len(text.lstrip()))
    return _Plain(plain, tuple(starts), tuple(ends))


def _judge_derivation(
    ctx: _Context, lines: list[_Line], clock: _Clock, asked: int = 1, second: str | None = None
) -> DerivationReport:
    reader = _Reader(ctx, second=second)
    order, highest, truth_ctx = 1, asked, ctx  # the order of the lines being read, and its truth
    checks: list[LineCheck] = []
    previous: tuple[int, sympy.Expr, bool] | None = None  # (line number, value, equals derivative)
    first_wrong: int | None = None
    first_wrong_mistakes: tuple[MistakeMatch, ...] = ()
    last: _Last | None = None
    for line in lines:
        remaining = clock.remaining()
        if remaining is not None and remaining <= 0:
            checks.append(LineCheck(line.number, line.raw, None, "undecided", reason="out_of_time"))
            continue
        plain: _Plain | None = None
        try:
            with stage("verify", remaining):
                plain = _plain_line(line)
                with input_syntax("plain"):  # a LaTeX line is translated already
                    reading = _read(reader, plain.line, clock)
                    sides = [
                        reader.expression(side, plain.line.raw, column)
                        for column, side in reading.sides
                    ]
        except ChainsolveError as error:
            if plain is not None:
                plain.locate(error, line.raw)
            checks.append(
                LineCheck(
                    line.number,
                    line.raw,
                    None,
                    "unreadable",
                    error=error.message_with_hint(),
                    caret=_caret(error, line),
                )
            )
            continue
        except BudgetExceeded:
            checks.append(LineCheck(line.number, line.raw, None, "undecided", reason="out_of_time"))
            continue
        if reading.kind == "prose":
            checks.append(LineCheck(line.number, line.raw, None, "prose"))
            continue
        if reading.kind == "claim":
            check = _judge_claim(ctx, reader, line, reading, sides, clock)
            checks.append(check)
            if check.status == "does_not_follow" and first_wrong is None:
                first_wrong = line.number
            continue
        if reading.order is not None and reading.order != order:
            # a line of another order starts afresh: it follows from the problem, not the line above
            order, truth_ctx, previous = reading.order, reader.context(reading.order), None
            highest = max(highest, order)
        outcome: LineCheck | None = None
        for side in sides:
            shown, unevaluated = side.shown, side.unevaluated
            # d/dx(…) alone as the first line restates the problem: no step was taken
            restates = side.derivatives == 1 and isinstance(shown, sympy.Derivative) and not checks
            try:
                with stage("verify", clock.remaining()):
                    value = reader.in_inputs(side.value)
                    truth = _compare(truth_ctx, value, truth_ctx.expected, clock)
                    if previous is None:
                        against, source = truth, 0
                    elif previous[2] and truth.verdict == "equivalent":
                        against, source = truth, previous[0]  # both equal the derivative
                    else:
                        compared = _compare(truth_ctx, value, previous[1], clock)
                        against, source = compared, previous[0]
            except BudgetExceeded:
                outcome = LineCheck(line.number, line.raw, shown, "undecided", reason="out_of_time")
                break
            status = _status(against)
            equals = _equals(truth)
            if status == "does_not_follow" and first_wrong is None:
                first_wrong = line.number
                if truth.verdict != "equivalent":
                    first_wrong_mistakes = mistakes.identify(
                        value, truth_ctx.expected, truth_ctx.candidates()
                    )
            check = LineCheck(
                line.number,
                line.raw,
                shown,
                status,
                source,
                equals,
                reason="no_proof" if status == "undecided" else "",
                unevaluated=unevaluated,
                counterexample=_counterexample(against.comparison, ctx.has_abstract),
            )
            if outcome is None:
                outcome = check
            elif outcome.status == "follows":
                # a line of several steps shows its first that does not follow, or the last,
                # compared from where the line began
                source_line = outcome.follows_from if check.status == "follows" else source
                outcome = dataclasses.replace(check, follows_from=source_line)
            previous = (line.number, value, truth.verdict == "equivalent")
            last = _Last(
                truth,
                _counterexample(truth.comparison, ctx.has_abstract),
                unevaluated,
                restates,
                order,
            )
        if outcome is not None:
            checks.append(outcome)
    report_ctx = reader.context(highest)
    summary = _summarise(
        report_ctx, tuple(checks), first_wrong, first_wrong_mistakes, last, clock, highest
    )
    mixed = (ctx.wrt,) if second is not None and highest == 2 else ()
    return dataclasses.replace(summary, problem=ctx.problem, order=highest, mixed=mixed)


def _status(outcome: _Outcome) -> LineStatus:
    if outcome.verdict == "equivalent":
        return "follows"
    return "undecided" if outcome.verdict == "undecided" else "does_not_follow"


def _equals(truth: _Outcome) -> bool | None:
    if truth.verdict == "equivalent":
        return True
    return False if truth.verdict in ("not_equivalent", "equivalent_on_part") else None


def _judge_claim(
    ctx: _Context,
    reader: _Reader,
    line: _Line,
    reading: _Reading,
    sides: list[_Side],
    clock: _Clock,
) -> LineCheck:
    """A side line: ``u = x²`` defines u; ``du/dx = 2x`` or ``y = sin(x²)`` must hold."""
    values = [reader.in_inputs(side.value) for side in sides]
    against = reading.against
    if against is None:
        reader.defined[reading.claim] = values[0]
        if len(values) == 1:
            return LineCheck(line.number, line.raw, None, "defines", claim=reading.claim)
        against, values = values[0], values[1:]
    # a side line is shown as written: its sides alone would read as steps of the derivation
    check = LineCheck(line.number, line.raw, None, "follows", claim=reading.claim)
    for value in values:
        try:
            with stage("verify", clock.remaining()):
                outcome = _compare(ctx, value, against, clock)
        except BudgetExceeded:
            return LineCheck(line.number, line.raw, None, "undecided", reason="out_of_time")
        status = _status(outcome)
        if status != "follows":
            return dataclasses.replace(
                check,
                status=status,
                reason="no_proof" if status == "undecided" else "",
                counterexample=_counterexample(outcome.comparison, ctx.has_abstract),
            )
    return check


class _Last(NamedTuple):
    """The last line that could be read: its comparison with the truth and what it still holds."""

    outcome: _Outcome
    counterexample: Counterexample | None
    unevaluated: bool
    restates: bool
    #: The order of the derivative the line is about (2 after a line y″ = …).
    order: int = 1


def _derivation_verdict(last: _Last, checks: tuple[LineCheck, ...], order: int) -> VerdictId:
    """One verdict for the whole derivation; unreadable lines are skipped, not judged.

    The last readable line decides, except that a derivative left to evaluate (or the problem
    merely restated, or a derivation that stops below ``order``) is incomplete, and a right
    last line after a step that does not follow (or could not be decided) is not a correct
    derivation.
    """
    if last.unevaluated or last.restates or last.order < order:
        return "incomplete"
    if last.outcome.verdict != "equivalent":
        return last.outcome.verdict
    statuses = {c.status for c in checks}
    if "does_not_follow" in statuses:
        return "wrong_step"
    if "undecided" in statuses:
        return "undecided"
    return "equivalent"


def _summarise(
    ctx: _Context,
    checks: tuple[LineCheck, ...],
    first_wrong: int | None,
    first_wrong_mistakes: tuple[MistakeMatch, ...],
    last: _Last | None,
    clock: _Clock,
    order: int = 1,
) -> DerivationReport:
    unreadable = tuple(c.number for c in checks if c.status == "unreadable")
    prose = tuple(c.number for c in checks if c.status == "prose")
    if last is None:
        return DerivationReport(
            ctx.problem,
            ctx.wrt,
            ctx.shown,
            checks,
            "undecided",
            Grounds(unreadable=unreadable, no_line=True, prose=prose),
            seconds=clock.elapsed(),
        )
    verdict = _derivation_verdict(last, checks, order)
    matched = first_wrong_mistakes
    if last.unevaluated or last.restates:
        matched = (mistakes.match("unevaluated_derivative"), *matched)
    elif last.order < order:
        stopped = mistakes.match("previous_order", wording.mistake_previous_order(last.order))
        matched = (stopped, *matched)
    grounds = Grounds(
        sampled_points=_sampled_points(verdict, last.outcome),
        agree_where=last.outcome.comparison.agree_where,
        restates=last.restates,
        unreadable=unreadable,
        first_wrong_mistakes=first_wrong_mistakes,
        prose=prose,
    )
    return DerivationReport(
        ctx.problem,
        ctx.wrt,
        ctx.shown,
        checks,
        verdict,
        grounds,
        first_wrong,
        matched,
        last.counterexample,
        clock.elapsed(),
    )


def _caret(error: ChainsolveError, line: _Line) -> tuple[str, str] | None:
    lines = error.caret_lines()
    if lines is not None:
        return lines
    span = error.span or Span(line.offset, len(line.raw))
    located = ChainsolveError(error.code, error.message, source=line.raw, span=span)
    return located.caret_lines()


# -- output -------------------------------------------------------------------------------------


def _short(value: float) -> str:
    return f"{value:.6g}"


def _distinct(a: float | None, b: float | None) -> tuple[str, str]:
    """Both numbers with the fewest digits (6 to 17) that still show they differ."""
    if a is None or b is None:
        return ("undefined" if a is None else _short(a), "undefined" if b is None else _short(b))
    for digits in range(6, 18):
        left, right = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if left != right:
            return left, right
    return f"{a!r}", f"{b!r}"


def _counterexample_dict(counterexample: Counterexample | None) -> dict[str, Any] | None:
    if counterexample is None:
        return None
    return {
        "point": dict(counterexample.point),
        "answer": counterexample.answer_value,
        "expected": counterexample.expected_value,
        "concrete_functions": counterexample.concrete_functions,
    }


def _expr_text(expr: sympy.Expr | None) -> str | None:
    return None if expr is None else sympy.sstr(expr).replace("**", "^")


def verdict_to_dict(report: Report) -> dict[str, Any]:
    """The JSON form: ``correct``, ``verdict``, ``counterexample``, ``mistakes``, ``message``, …"""
    data: dict[str, Any] = {
        "kind": report.kind,
        "correct": report.correct,
        "verdict": report.verdict,
        "counterexample": _counterexample_dict(report.counterexample),
        "mistakes": report.mistake_ids,
        "message": report.message,
        "mistake_details": [
            {"id": m.id, "title": m.title, "message": m.message, "detail": m.detail}
            for m in report.mistakes
        ],
        "wrt": ",".join((*getattr(report, "mixed", ()), report.wrt)),
        "expected": _expr_text(report.expected),
    }
    if isinstance(report, AnswerVerdict):
        data["answer"] = report.answer_text
        data["agree_where"] = report.agree_where or None
        if report.unit is not None or report.answer_unit is not None:
            data["unit"] = {
                "expected": _unit_text(report.unit),
                "answer": _unit_text(report.answer_unit),
                "note": report.unit_note or None,
            }
    else:
        data["first_wrong_line"] = report.first_wrong_line
        data["lines"] = [
            {
                "line": c.number,
                "text": c.text,
                "status": c.status,
                "follows_from": c.follows_from,
                "equals_derivative": c.equals_derivative,
                "note": c.note,
                "caret": list(c.caret) if c.caret else None,
            }
            for c in report.lines
        ]
    from chainsolve.jsonout import validated  # JSON output only: its schema loads on first use

    return validated(data, "verdict")


def _unit_text(unit: Unit | None) -> str | None:
    """A unit in the input language (cm^3/s), as ``--rates`` and ``--answer`` take it."""
    return None if unit is None else str(unit).replace("**", "^")


def render_verdict(
    report: Report, fmt: str, template_dir: str | Path | None = None, *, fragment: bool = False
) -> str:
    """A verdict or derivation report as text, Markdown, LaTeX, HTML (templates) or JSON.

    LaTeX and HTML are whole documents unless ``fragment`` (the body only, to include).
    """
    if fmt == "json":
        return json.dumps(verdict_to_dict(report), indent=2, ensure_ascii=False) + "\n"
    if fmt not in VERDICT_TEMPLATES:
        raise ValueError(
            f"unknown format {fmt!r}; choose one of json, {', '.join(VERDICT_TEMPLATES)}"
        )
    from chainsolve.render import make_environment

    env = make_environment(fmt, template_dir)
    template = env.get_template(VERDICT_TEMPLATES[fmt])
    return template.render(
        report=report,
        derivative=wording.derivative_name(
            report.problem.target,
            report.wrt,
            getattr(report, "order", 1),
            getattr(report, "mixed", ()),
        ),
        target_name=report.problem.target,
        wrt=report.wrt,
        problem_text=report.problem.source,
        values=report.counterexample.values_text() if report.counterexample else None,
        fragment=fragment,
    )


def verify_matrix(text: str, shapes: str, wrt: str | None, answer: str) -> MatrixVerdict:
    """A matrix answer: the problem solved in matrices, the answer judged entry by entry."""
    from chainsolve.matrix.mistakes import verify_matrix_answer
    from chainsolve.matrix.solve import solve_matrix

    solution = solve_matrix(text, shapes, None if wrt is None else [wrt])
    names = list(solution.backprop.gradients)
    if wrt is None and len(names) != 1:
        raise ProblemError(
            "matrix_wrt", wording.matrix_verify_wrt(names), hint=wording.matrix_verify_wrt_hint()
        )
    with stage("verify"):
        return verify_matrix_answer(solution, wrt or names[0], answer)


#: The template of a matrix verdict in each format.
MATRIX_VERDICT_TEMPLATES = {
    "text": "matrix_verdict.txt.jinja",
    "markdown": "matrix_verdict.md.jinja",
    "latex": "matrix_verdict.tex.jinja",
    "html": "matrix_verdict.html.jinja",
}


def render_matrix_verdict(
    report: MatrixVerdict, fmt: str, template_dir: str | Path | None = None
) -> str:
    """A matrix verdict as text, Markdown, LaTeX, HTML (whole documents) or JSON."""
    if fmt == "json":
        from chainsolve.matrix.mistakes import matrix_verdict_to_dict

        return json.dumps(matrix_verdict_to_dict(report), indent=2, ensure_ascii=False) + "\n"
    if fmt not in MATRIX_VERDICT_TEMPLATES:
        raise ValueError(
            f"unknown format {fmt!r}; choose one of json, {', '.join(MATRIX_VERDICT_TEMPLATES)}"
        )
    from chainsolve.matrix import printing
    from chainsolve.matrix.formats import matrix_prose
    from chainsolve.render import make_environment

    env = make_environment(fmt, template_dir)
    env.filters["matrix_prose"] = matrix_prose
    derivative: str = report.derivative
    if fmt in ("markdown", "latex"):
        derivative = printing.gradient_text(report.target, report.wrt, "latex")
    elif fmt == "html":
        from markupsafe import Markup

        # MathML that chainsolve writes from the problem's names, escaped piece by piece.
        derivative = Markup(printing.gradient_text(report.target, report.wrt, "mathml"))
    return env.get_template(MATRIX_VERDICT_TEMPLATES[fmt]).render(
        report=report, derivative=derivative
    )
