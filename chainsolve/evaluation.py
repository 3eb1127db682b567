"""Values and gradients at a point: forward pass, backward or tangent passes, checks, gates."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

import mpmath
import sympy
from sympy.core.evalf import prec_to_dps

from chainsolve import functions
from chainsolve.budget import attempt
from chainsolve.decompose import operation_of
from chainsolve.derivation import FLATTEN_LIMIT, _flatten, _flattened_size
from chainsolve.equivalence import PRECISION
from chainsolve.errors import ProblemError
from chainsolve.graph import Graph, NodeKind
from chainsolve.graphcheck import PASS_DIGITS, central_difference, reverse, settled_passes
from chainsolve.graphcheck import TOLERANCE as FINITE_DIFFERENCE_TOLERANCE
from chainsolve.numeric import MpFloat, Undefined, evaluate
from chainsolve.problem import Problem, make_symbol
from chainsolve.record import record
from chainsolve.rules import sympy_derivative
from chainsolve.steps import Leibniz, Note
from chainsolve.wording import note_text

Mode = Literal["reverse", "forward"]
CheckStatus = Literal["passed", "failed", "skipped"]
CheckMethod = Literal["exact", "symbolic", "reverse_reference", "finite_difference"]
GateKind = Literal["add", "multiply", "relu", "max", "sigmoid"]

#: An exact value with a numerator or denominator longer than this many digits becomes a decimal.
EXACT_DIGITS = 200
#: An exact non-rational value (σ(7)·(1 − σ(7)), …) past this many operations becomes a decimal.
EXACT_OPS = 40
#: CPU seconds all exact arithmetic of one evaluation may take before everything is redone in
#: decimals (a safety net: EXACT_OPS and EXACT_DIGITS decide for ordinary problems).
EXACT_SECONDS = 2.0
#: CPU seconds for substituting the point exactly into the symbolic derivative of one input.
REFERENCE_SECONDS = 1.0
#: Significant digits of the decimal stored with every value.
DECIMAL_DIGITS = 15
#: Nodes of a graph up to which its gradient is checked against the flattened problem's derivative.
ORACLE_NODES = 40
#: Significant digits of the short decimal shown in tables.
SHORT_DIGITS = 6
#: Relative agreement asked of the gradient and sympy's derivative at the point (both at 40 digits).
SYMBOLIC_TOLERANCE = mpmath.mpf(10) ** -(PRECISION - 10)
#: Central differences cost two forward passes per input; past this many inputs they are skipped.
FINITE_DIFFERENCE_INPUTS = 64


@record
class Value:
    """A number at the point: ``exact`` (a sympy number) when known, and always its decimal.

    ``exact`` is ``None`` for decimal inputs, with ``numeric=True``, or after an exact
    value grew too large; ``decimal`` has 15 significant digits; ``short`` is the decimal
    to show in a table (6 digits, trailing zeros cut; for display only).
    """

    exact: sympy.Expr | None
    decimal: sympy.Float
    short: sympy.Float

    @property
    def is_exact(self) -> bool:
        """True when an exact value is known."""
        return self.exact is not None

    @property
    def rational(self) -> bool:
        """True when the exact value is an integer or a fraction (no ≈ decimal needed beside it)."""
        return self.exact is not None and bool(self.exact.is_Rational)

    @property
    def shown(self) -> sympy.Expr:
        """The exact value when known, else the short decimal."""
        return self.exact if self.exact is not None else self.short


@record
class ForwardRow:
    """One node of the forward pass: ``node = formula`` computed by ``operation``, and its value."""

    node: str
    kind: NodeKind
    operation: str
    formula: sympy.Expr | None
    value: Value


@record
class BackwardTerm:
    """One consumer's share of a node's gradient: upstream × local derivative = contribution."""

    consumer: str
    local_derivative: sympy.Expr
    local_value: Value
    upstream: Value
    contribution: Value


@record
class BackwardRow:
    """∂target/∂node: the sum of its consumers' contributions (the target is seeded with 1)."""

    node: str
    terms: tuple[BackwardTerm, ...]
    gradient: Value

    @property
    def seed(self) -> bool:
        """True for the target's row, ∂L/∂L = 1."""
        return not self.terms


@record
class TangentTerm:
    """One input edge's share of a node's tangent: source tangent × local derivative."""

    source: str
    local_derivative: sympy.Expr
    local_value: Value
    tangent: Value
    contribution: Value


@record
class TangentRow:
    """The tangent ṅ = ∂node/∂seed summed over the node's input edges (inputs seeded 1 or 0)."""

    node: str
    terms: tuple[TangentTerm, ...]
    tangent: Value


@record
class TangentPass:
    """One forward-mode (JVP) pass carrying ẋ = 1 for ``seed``; ``result`` is ∂target/∂seed."""

    seed: str
    rows: tuple[TangentRow, ...]
    result: Value


@record
class GradientCheck:
    """The gradient compared with an independent reference: ``|value − reference| ≤ tolerance``.

    ``tolerance`` is absolute (the relative tolerance times max(1, |reference|)); 0 for an
    exact comparison. A ``skipped`` check says why in ``detail``.
    """

    method: CheckMethod
    description: str
    status: CheckStatus
    reference: Value | None = None
    difference: sympy.Float | None = None
    tolerance: sympy.Float | None = None
    detail: str = ""


@record
class GradientEntry:
    """∂target/∂name at the point, its checks, and sympy's derivative when it was computed."""

    name: str
    value: Value
    symbolic: sympy.Expr | None
    checks: tuple[GradientCheck, ...]

    @property
    def verified(self) -> bool:
        """True when no check failed (skipped ones say why)."""
        return all(check.status != "failed" for check in self.checks)


@record
class ModeCost:
    """What one mode needs for this problem: passes and multiply-adds (one per edge per pass)."""

    mode: Mode
    passes: int
    multiply_adds: int
    explanation: str


@record
class GatePattern:
    """A named gradient pattern met at ``nodes`` ("add distributes the gradient", …)."""

    kind: GateKind
    title: str
    nodes: tuple[str, ...]
    explanation: str


@record
class Kink:
    """A kink met exactly (a function of the registry with a kink, at argument 0; a tie of max)."""

    node: str
    operation: str
    convention: str


@record
class Evaluation:
    """Everything about the problem at one point, in the order a textbook shows it.

    ``backward_pass`` is filled in reverse mode, ``tangent_passes`` in forward mode;
    ``multiply_adds`` counts the chain-rule multiply-adds this evaluation performed
    (one per edge per pass — never one per path); ``costs`` compares both modes.
    """

    target: str
    mode: Mode
    point: Mapping[str, sympy.Expr]
    exact: bool
    forward_pass: tuple[ForwardRow, ...]
    backward_pass: tuple[BackwardRow, ...]
    tangent_passes: tuple[TangentPass, ...]
    gradient: tuple[GradientEntry, ...]
    costs: tuple[ModeCost, ...]
    multiply_adds: int
    gate_patterns: tuple[GatePattern, ...]
    kinks: tuple[Kink, ...]
    notes: tuple[Note, ...]
    #: Each edge (node, input) whose local derivative is written ∂, as in the graph's labels.
    partial_edges: frozenset[tuple[str, str]] = frozenset()

    @property
    def values(self) -> Mapping[str, Value]:
        """Every node's value, by name."""
        return MappingProxyType({row.node: row.value for row in self.forward_pass})

    @property
    def gradient_values(self) -> Mapping[str, Value]:
        """∂target/∂input for every input of the gradient, by name."""
        return MappingProxyType({entry.name: entry.value for entry in self.gradient})

    @property
    def value(self) -> Value:
        """The target's value."""
        return self.values[self.target]

    @property
    def verified(self) -> bool:
        """True when every gradient check passed or was skipped with a reason."""
        return all(entry.verified for entry in self.gradient)

    @staticmethod
    def symbol(name: str) -> sympy.Symbol:
        """The symbol of a node, for templates that print names with a filter."""
        return make_symbol(name)

    @staticmethod
    def partial(of: str, wrt: str) -> Leibniz:
        """The derivative ∂of/∂wrt as a formula, for templates (``|formula_latex``)."""
        return Leibniz(make_symbol(of), make_symbol(wrt), True)

    def local(self, of: str, wrt: str) -> Leibniz:
        """The local derivative of ``of`` by its input ``wrt``: ∂ or d as the graph labels it."""
        return Leibniz(make_symbol(of), make_symbol(wrt), (of, wrt) in self.partial_edges)

    @property
    def adjoint_example(self) -> str | None:
        """The first node of the backward pass after the seed (its adjoint is defined by name)."""
        return next((row.node for row in self.backward_pass if not row.seed), None)


# ---------------------------------------------------------------------------------------------
# Numbers carried through the passes: an exact sympy number when affordable, always an mpf.


@record
class _Num:
    """A value of a pass: exact when affordable (None once given up), always as an mpf."""

    exact: sympy.Expr | None
    mp: MpFloat


class _Arithmetic:
    """Exact-and-decimal arithmetic that gives up exactness per value when it grows too large."""

    def __init__(self, exact: bool) -> None:
        self.exact = exact
        #: The first node where an exact value was given up, for the note saying so.
        self.gave_up_at: str | None = None

    def gave_up(self, where: str) -> None:
        if self.gave_up_at is None:
            self.gave_up_at = where

    def keep(self, value: sympy.Expr, where: str) -> sympy.Expr | None:
        if _affordable(value):
            return value
        self.gave_up(where)
        return None

    def evaluate(
        self,
        expr: sympy.Expr,
        exact_env: Mapping[sympy.Symbol, sympy.Expr | None],
        mp_env: Mapping[sympy.Symbol, MpFloat],
        where: str,
    ) -> _Num:
        """``expr`` at the point: its decimal by mpmath, its exact value by substituting numbers."""
        mp = evaluate(expr, mp_env)
        if not self.exact:
            return _Num(None, mp)
        if _magnitude_too_large(mp):
            self.gave_up(where)
            return _Num(None, mp)
        values = {s: exact_env.get(s) for s in expr.free_symbols}
        if any(v is None for v in values.values()):
            return _Num(None, mp)
        # Substituting into this node's own small expression only — never a flattened one.
        return _Num(self.keep(expr.xreplace(values), where), mp)

    def product(self, a: _Num, b: _Num, where: str) -> _Num:
        mp = a.mp * b.mp
        if a.exact is None or b.exact is None:
            return _Num(None, mp)
        if _magnitude_too_large(mp):
            self.gave_up(where)
            return _Num(None, mp)
        return _Num(self.keep(a.exact * b.exact, where), mp)

    def total(self, terms: list[_Num], where: str) -> _Num:
        mp = mpmath.fsum([t.mp for t in terms])
        if not terms:
            return self.constant(0)
        exact = [t.exact for t in terms]
        if any(e is None for e in exact):
            return _Num(None, mp)
        return _Num(self.keep(sympy.Add(*exact), where), mp)

    def constant(self, value: int) -> _Num:
        return _Num(sympy.Integer(value) if self.exact else None, mpmath.mpf(value))


def _magnitude_too_large(mp: MpFloat) -> bool:
    # A value past 10^200 cannot be exact within the digit limit; skip building it at all.
    return bool(mp != 0 and abs(mp) > mpmath.mpf(10) ** EXACT_DIGITS)


def _affordable(value: sympy.Expr) -> bool:
    """True when an exact value is small enough to show: ≤ 200 digits, ≤ 40 operations."""
    if value.is_Rational:
        return _digits(value) <= EXACT_DIGITS
    if not value.is_number or value.has(sympy.Float):
        return False
    if any(_digits(r) > EXACT_DIGITS for r in value.atoms(sympy.Rational)):
        return False
    return bool(sympy.count_ops(value) <= EXACT_OPS)


def _digits(value: sympy.Rational) -> int:
    bits = max(int(value.p).bit_length(), int(value.q).bit_length())
    return int(bits * math.log10(2)) + 1


def _value(num: _Num) -> Value:
    decimal = sympy.Float(mpmath.nstr(num.mp, DECIMAL_DIGITS), DECIMAL_DIGITS)
    return Value(num.exact, decimal, _decimal(num.mp, SHORT_DIGITS))


def _decimal(mp: MpFloat, digits: int) -> sympy.Float:
    """A Float for display: it prints with at most ``digits`` significant digits, zeros cut.

    Its binary precision is only what those digits need, so it is for showing, not computing.
    """
    text = mpmath.nstr(mp, digits)
    mantissa = text.split("e")[0].lstrip("-")
    whole = mantissa.split(".")[0].lstrip("0")
    significant = mantissa.replace(".", "").lstrip("0").rstrip("0")
    # Enough digits for the integer part and one decimal (10.0, not 10.), none past ``digits``.
    shown = max(2, len(significant), len(whole) + 1)
    return sympy.Float(text, precision=_bits_for(shown))


@functools.cache
def _bits_for(digits: int) -> int:
    """The binary precision sympy prints with exactly ``digits`` significant digits."""
    return next(b for b in range(1, 8 * digits + 16) if prec_to_dps(b) >= digits)


# ---------------------------------------------------------------------------------------------
# The evaluation


def evaluate_at(
    problem: Problem,
    graph: Graph,
    point: Mapping[str, Any] | None = None,
    *,
    numeric: bool = False,
    mode: Mode = "reverse",
) -> Evaluation:
    """The forward pass, the backward (reverse mode) or tangent passes, and the checked gradient.

    ``point`` maps every input of ``graph`` to a number (sympy, ``int``, ``Fraction`` or
    ``float``); ``None`` takes ``problem.point``. Integers and fractions give exact values
    unless ``numeric``; decimal inputs give decimals. The gradient is taken with respect to
    ``problem.wrt`` (every input when that is empty). Raises :class:`ProblemError`
    (``missing_point_value``, ``undefined_at_point``, ``not_differentiable_at_point``).

    >>> from chainsolve.problem import Definition, build_problem
    >>> w, x, b, y = (make_symbol(n) for n in "wxby")
    >>> p = build_problem([Definition("L", (w * x + b - y) ** 2)], source="", wrt=["w", "b"])
    >>> from chainsolve.graph import build_graph
    >>> ev = evaluate_at(p, build_graph(p), {"w": 2, "x": 3, "b": 1, "y": 10})
    >>> ev.value.exact, [(g.name, g.value.exact) for g in ev.gradient]
    (9, [('w', -18), ('b', -6)])
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    given = problem.point if point is None else point
    inputs = tuple(node.name for node in graph.nodes if node.expr is None)
    values = _point_values(problem, inputs, given)
    exact = not numeric and all(not v.has(sympy.Float) for v in values.values())
    wrt = tuple(name for name in (problem.wrt or problem.inputs) if name in inputs)

    digits = _working_digits(graph, values, problem.source)
    with mpmath.workdps(digits):
        mp_point = {name: evaluate(value, {}) for name, value in values.items()}
        result: _Passes | None = None
        notes: list[Note] = (
            [] if digits == PRECISION else [Note("working_digits", (digits, PRECISION))]
        )
        if exact:
            result = attempt(EXACT_SECONDS, lambda: _Passes(graph, values, wrt, mode, exact=True))
            if result is None:
                notes.append(Note("exact_too_slow", (EXACT_SECONDS,)))
                exact = False
        if result is None:
            result = _Passes(graph, values, wrt, mode, exact=False)
        if result.arithmetic.gave_up_at is not None:
            notes.append(
                Note("exact_gave_up", (result.arithmetic.gave_up_at, EXACT_DIGITS, EXACT_OPS))
            )
        if numeric:
            notes.append(Note("numeric_mode"))
        elif not exact and not notes:
            notes.append(Note("decimal_inputs"))
        kinks = _kinks(graph, result.mp_env)
        gradient = _gradient(problem, graph, wrt, result, mp_point, kinks, notes)

    return Evaluation(
        target=graph.target,
        mode=mode,
        point=MappingProxyType(dict(values)),
        exact=exact,
        forward_pass=result.forward_rows,
        backward_pass=result.backward_rows,
        tangent_passes=result.tangent_passes,
        gradient=gradient,
        costs=_costs(graph, wrt),
        multiply_adds=result.multiply_adds,
        gate_patterns=_gate_patterns(graph, result.mp_env),
        kinks=kinks,
        notes=tuple(notes),
        partial_edges=frozenset((e.target, e.source) for e in graph.edges if e.partial),
    )


def _working_digits(graph: Graph, values: Mapping[str, sympy.Expr], source: str) -> int:
    """The precision the values at a point are computed at: the first the next one confirms
    (:func:`~chainsolve.graphcheck.settled_passes`).

    At a fixed 40 digits the passes at x = 100 of sin(eˣ) gave 1.76·10⁴³ for a gradient of
    2.66·10⁴³, and the reference, evaluated alike, agreed. Where a value is undefined the
    passes say so themselves; values that move at every precision are refused
    (``imprecise_at_point``).
    """
    try:
        settled = settled_passes(
            graph, lambda: {name: evaluate(value, {}) for name, value in values.items()}
        )
    except (Undefined, ZeroDivisionError, OverflowError, KeyError):
        return PRECISION  # undefined here: the passes give the error
    if settled is None:
        raise ProblemError(
            "imprecise_at_point",
            f"the values at this point change with the precision up to {PASS_DIGITS[-1]} digits",
            source=source,
            hint="choose a point where the arguments are smaller",
        )
    return settled[0]


def _point_values(
    problem: Problem, inputs: tuple[str, ...], given: Mapping[str, Any]
) -> dict[str, sympy.Expr]:
    missing = [name for name in inputs if name not in given]
    if missing:
        example = ",".join(f"{name}=1" for name in missing)
        raise ProblemError(
            "missing_point_value",
            "no value at the point for " + ", ".join(missing),
            source=problem.source,
            hint=f"give every input a value, for example --at {example}",
        )
    # In the order the user gave the point (w=2, x=3, …), which is how they read it back.
    ordered = [name for name in given if name in inputs]
    values = {name: _as_number(name, given[name], problem.source) for name in ordered}
    for name, value in values.items():
        _require_finite(name, value, problem.source)
    return values


def _require_finite(name: str, value: sympy.Expr, source: str) -> None:
    """Refuse a point value with no finite real value within the evaluator's range (e^e^e^e)."""
    try:
        with mpmath.workdps(PRECISION):
            evaluate(value, {})
    except Undefined as exc:
        raise ProblemError(
            "bad_point_value",
            f"the value of {name} at the point cannot be used: it is {exc}",
            source=source,
            hint="give every input a value between about 10^-30000 and 10^30000 in size",
        ) from None


def _as_number(name: str, value: Any, source: str) -> sympy.Expr:
    # Built from Python numbers directly: no text ever goes through sympify.
    if isinstance(value, bool):
        raise ProblemError("bad_point_value", f"the value of {name} is not a number", source=source)
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, float):
        return sympy.Float(value)
    if isinstance(value, sympy.Expr) and value.is_number and value.is_real is not False:
        return value
    raise ProblemError(
        "bad_point_value", f"the value of {name} is not a real number: {value!r}", source=source
    )


class _Passes:
    """The forward pass and the chosen derivative passes, exact where affordable, always decimal."""

    def __init__(
        self,
        graph: Graph,
        point: Mapping[str, sympy.Expr],
        wrt: tuple[str, ...],
        mode: Mode,
        *,
        exact: bool,
    ) -> None:
        self.graph = graph
        self.arithmetic = _Arithmetic(exact)
        self.multiply_adds = 0
        self.mp_env: dict[sympy.Symbol, MpFloat] = {}
        self.exact_env: dict[sympy.Symbol, sympy.Expr | None] = {}
        self.values: dict[str, _Num] = {}
        # The same number is shown several times (a gradient is the next row's upstream).
        self._shown: dict[int, tuple[_Num, Value]] = {}
        self.forward_rows = self._forward(point)
        self.local = self._local_values()
        self.backward_rows: tuple[BackwardRow, ...] = ()
        self.tangent_passes: tuple[TangentPass, ...] = ()
        self.gradient: dict[str, _Num] = {}
        if mode == "reverse":
            self.backward_rows = self._reverse()
            by_node = {row.node: row for row in self.backward_rows}
            self.gradient = {name: self._adjoint[name] for name in wrt if name in by_node}
        else:
            self.tangent_passes = tuple(self._tangent_pass(name) for name in wrt)

    def _value(self, num: _Num) -> Value:
        known = self._shown.get(id(num))
        if known is not None and known[0] is num:
            return known[1]
        value = _value(num)
        self._shown[id(num)] = (num, value)
        return value

    def forward_point_exact(self) -> dict[str, sympy.Expr]:
        """The inputs' exact values ({} when the passes are decimal)."""
        if not self.arithmetic.exact:
            return {}
        inputs = (node.name for node in self.graph.nodes if node.expr is None)
        return {name: e for name in inputs if (e := self.values[name].exact) is not None}

    def _forward(self, point: Mapping[str, sympy.Expr]) -> tuple[ForwardRow, ...]:
        rows = []
        for node in self.graph.nodes:
            symbol = make_symbol(node.name)
            if node.expr is None:
                exact_value = point[node.name]
                num = _Num(
                    exact_value if self.arithmetic.exact else None, evaluate(exact_value, {})
                )
            else:
                try:
                    num = self.arithmetic.evaluate(
                        node.expr, self.exact_env, self.mp_env, node.name
                    )
                except Undefined as exc:
                    raise ProblemError(
                        "undefined_at_point",
                        f"{node.name} = {node.expr} has no real value at this point ({exc})",
                        hint="choose a point where every definition is defined",
                    ) from None
                except KeyError as exc:
                    raise ProblemError(
                        "undefined_at_point", f"{node.name} uses {exc} that has no value"
                    ) from None
            self.values[node.name] = num
            self.mp_env[symbol] = num.mp
            self.exact_env[symbol] = num.exact
            operation = node.operation or operation_of(node.expr)
            if node.name in self.graph.constants:
                operation = "constant"
            rows.append(ForwardRow(node.name, node.kind, operation, node.expr, self._value(num)))
        return tuple(rows)

    def _local_values(self) -> dict[tuple[str, str], _Num]:
        local = {}
        for edge in self.graph.edges:
            where = f"∂{edge.target}/∂{edge.source}"
            try:
                local[(edge.source, edge.target)] = self.arithmetic.evaluate(
                    edge.local_partial, self.exact_env, self.mp_env, where
                )
            except Undefined as exc:
                raise ProblemError(
                    "not_differentiable_at_point",
                    f"the local derivative {where} = {edge.local_partial} has no value at this "
                    f"point ({exc})",
                    hint="choose a point where every definition is differentiable",
                ) from None
        return local

    def _reverse(self) -> tuple[BackwardRow, ...]:
        """Reverse topological order: each node pulls upstream × local from all its consumers."""
        arithmetic = self.arithmetic
        self._adjoint: dict[str, _Num] = {}
        rows = []
        constants = set(self.graph.constants)
        for node in reversed(self.graph.nodes):
            if node.name in constants:
                continue  # a constant (x = 3) feeds no edge: no gradient flows back to it
            if node.name == self.graph.target:
                self._adjoint[node.name] = arithmetic.constant(1)
                rows.append(BackwardRow(node.name, (), self._value(self._adjoint[node.name])))
                continue
            terms = []
            contributions = []
            for edge in self.graph.consumers_of(node.name):
                upstream = self._adjoint[edge.target]
                local = self.local[(edge.source, edge.target)]
                contribution = arithmetic.product(
                    upstream, local, f"∂{self.graph.target}/∂{node.name}"
                )
                self.multiply_adds += 1
                contributions.append(contribution)
                terms.append(
                    BackwardTerm(
                        edge.target,
                        edge.local_partial,
                        self._value(local),
                        self._value(upstream),
                        self._value(contribution),
                    )
                )
            gradient = arithmetic.total(contributions, f"∂{self.graph.target}/∂{node.name}")
            self._adjoint[node.name] = gradient
            rows.append(BackwardRow(node.name, tuple(terms), self._value(gradient)))
        return tuple(rows)

    def _tangent_pass(self, seed: str) -> TangentPass:
        """Topological order: each node sums source tangent × local over its input edges (a JVP)."""
        arithmetic = self.arithmetic
        tangent: dict[str, _Num] = {}
        rows = []
        for node in self.graph.nodes:
            if node.expr is None:
                tangent[node.name] = arithmetic.constant(1 if node.name == seed else 0)
                rows.append(TangentRow(node.name, (), self._value(tangent[node.name])))
                continue
            terms = []
            contributions = []
            where = f"∂{node.name}/∂{seed}"
            for edge in self.graph.inputs_of(node.name):
                local = self.local[(edge.source, edge.target)]
                contribution = arithmetic.product(tangent[edge.source], local, where)
                self.multiply_adds += 1
                contributions.append(contribution)
                terms.append(
                    TangentTerm(
                        edge.source,
                        edge.local_partial,
                        self._value(local),
                        self._value(tangent[edge.source]),
                        self._value(contribution),
                    )
                )
            tangent[node.name] = arithmetic.total(contributions, where)
            rows.append(TangentRow(node.name, tuple(terms), self._value(tangent[node.name])))
        result = tangent[self.graph.target]
        self.gradient[seed] = result
        return TangentPass(seed, tuple(rows), self._value(result))


# ---------------------------------------------------------------------------------------------
# Checks


def _gradient(
    problem: Problem,
    graph: Graph,
    wrt: tuple[str, ...],
    passes: _Passes,
    mp_point: Mapping[str, MpFloat],
    kinks: tuple[Kink, ...],
    notes: list[Note],
) -> tuple[GradientEntry, ...]:
    # The flattened problem's derivative (sympy's rules, each shared part once: see
    # rules.sympy_derivative) up to FLATTEN_LIMIT operations written out and ORACLE_NODES
    # nodes, however deep (sympy's products of n nested factors cost n² past that); beyond,
    # the reference is graphcheck's reverse pass over sympy's local partials, in numbers.
    small = (
        _flattened_size(graph)[graph.target] <= FLATTEN_LIMIT and len(graph.nodes) <= ORACLE_NODES
    )
    flattened = _flatten(graph, graph.target) if small else None
    mp_env = {make_symbol(k): v for k, v in mp_point.items()}
    exact_point = {make_symbol(k): v for k, v in passes.forward_point_exact().items()}
    reference_adjoints = (
        None if small else reverse(graph, {n: v.mp for n, v in passes.values.items()})
    )
    kink_nodes = {k.node for k in kinks}
    finite_differences = len(wrt) <= FINITE_DIFFERENCE_INPUTS
    if not finite_differences:
        notes.append(Note("finite_differences_skipped", (len(wrt),)))
    entries = []
    for name in wrt:
        ours = passes.gradient[name]
        value = passes._value(ours)
        checks: list[GradientCheck] = []
        symbolic = None
        if flattened is not None:
            symbolic = sympy_derivative(flattened, make_symbol(name))
            checks.append(_symbolic_check(symbolic, ours, mp_env, exact_point))
        else:
            assert reference_adjoints is not None
            reference = reference_adjoints[name]
            checks.append(
                _compare(
                    "reverse_reference",
                    "numeric, not exact: graphcheck's reverse pass with sympy's local partials, "
                    f"at {PRECISION}-digit precision (the flattened problem is over "
                    f"{FLATTEN_LIMIT} operations or {ORACLE_NODES} nodes)",
                    ours.mp,
                    reference,
                    SYMBOLIC_TOLERANCE,
                )
            )
        if not finite_differences:
            pass
        elif kink_nodes & _downstream(graph, name):
            checks.append(
                GradientCheck(
                    "finite_difference",
                    "central finite difference",
                    "skipped",
                    detail="the point is a kink on a path from this input: the two sides differ, "
                    "so a central difference does not estimate the one-sided convention",
                )
            )
        else:
            checks.append(_finite_difference_check(graph, name, mp_point, ours.mp))
        entries.append(GradientEntry(name, value, symbolic, tuple(checks)))
    return tuple(entries)


def _symbolic_check(
    symbolic: sympy.Expr,
    ours: _Num,
    mp_env: Mapping[sympy.Symbol, MpFloat],
    exact_point: Mapping[sympy.Symbol, sympy.Expr],
) -> GradientCheck:
    description = "sympy.diff of the flattened expression, evaluated at the point"
    if ours.exact is not None and ours.exact.is_Rational and exact_point:
        reference = attempt(REFERENCE_SECONDS, lambda: symbolic.xreplace(dict(exact_point)))
        if reference is not None and reference.is_Rational:
            difference = abs(ours.exact - reference)
            return GradientCheck(
                "exact",
                description + " exactly",
                "passed" if difference == 0 else "failed",
                _value(_Num(reference, evaluate(reference, {}))),
                sympy.Float(difference, DECIMAL_DIGITS),
                sympy.Float(0),
            )
    try:
        reference_mp = evaluate(symbolic, mp_env)
    except (Undefined, KeyError) as exc:
        return GradientCheck("symbolic", description, "skipped", detail=f"no value there ({exc})")
    return _compare("symbolic", description, ours.mp, reference_mp, SYMBOLIC_TOLERANCE)


def _finite_difference_check(
    graph: Graph, name: str, mp_point: Mapping[str, MpFloat], ours: MpFloat
) -> GradientCheck:
    description = "central finite difference (f(x + h) − f(x − h))/2h"
    try:
        estimate = central_difference(graph, name, mp_point)
    except (Undefined, ZeroDivisionError, OverflowError) as exc:
        return GradientCheck(
            "finite_difference", description, "skipped", detail=f"undefined near the point ({exc})"
        )
    return _compare("finite_difference", description, ours, estimate, FINITE_DIFFERENCE_TOLERANCE)


def _compare(
    method: CheckMethod, description: str, ours: MpFloat, reference: MpFloat, relative: MpFloat
) -> GradientCheck:
    difference = abs(ours - reference)
    tolerance = relative * max(1, abs(reference))
    return GradientCheck(
        method,
        description,
        "passed" if difference <= tolerance else "failed",
        _value(_Num(None, reference)),
        _decimal(difference, 3),
        _decimal(tolerance, 3),
    )


def _downstream(graph: Graph, name: str) -> set[str]:
    """The nodes ``name`` feeds, itself included."""
    seen = {name}
    stack = [name]
    while stack:
        for edge in graph.consumers_of(stack.pop()):
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


# ---------------------------------------------------------------------------------------------
# Kinks, gate patterns, costs

#: Each kink's operation and the convention taken there: the registry's functions with a kink
#: at 0, and the ties of max and min.
_KINK_CONVENTIONS: dict[type, tuple[str, str]] = {
    **{s.sympy_class: (s.graph_label, s.kink) for s in functions.SPECS if s.kink},
    sympy.Max: (
        "max",
        "At a tie, max(a, b) sends half of the gradient to each input (Heaviside(0) = 1/2).",
    ),
    sympy.Min: (
        "min",
        "At a tie, min(a, b) sends half of the gradient to each input (Heaviside(0) = 1/2).",
    ),
}


def _kinks(graph: Graph, mp_env: Mapping[sympy.Symbol, MpFloat]) -> tuple[Kink, ...]:
    """Every kinked function (relu, |·|, …) whose argument is exactly 0 here, every max or min tie."""
    zero = mpmath.mpf(10) ** -(PRECISION - 5)
    found = []
    for node in graph.nodes:
        if node.expr is None:
            continue
        for kind, (operation, convention) in _KINK_CONVENTIONS.items():
            for call in node.expr.atoms(kind):
                args = [evaluate(arg, mp_env) for arg in call.args]
                tie = kind in (sympy.Max, sympy.Min)
                at_kink = _tie(args, zero, kind) if tie else abs(args[0]) <= zero
                if at_kink:
                    found.append(Kink(node.name, operation, convention))
                    break
    return tuple(found)


def _tie(args: list[MpFloat], zero: MpFloat, kind: type) -> bool:
    best = max(args) if kind is sympy.Max else min(args)
    return sum(1 for a in args if abs(a - best) <= zero) > 1


_GATE_TITLES: dict[GateKind, str] = {
    "add": "add distributes the gradient",
    "multiply": "multiply swaps and scales",
    "relu": "relu gates",
    "max": "max routes",
    "sigmoid": "sigmoid multiplies by σ(1 − σ)",
}


def _gate_kind(graph: Graph, name: str, expr: sympy.Expr) -> GateKind | None:
    """The pattern a node's backward step follows, read from its operation and local partials."""
    incoming = graph.inputs_of(name)
    if isinstance(expr, sympy.Add) and incoming:
        if all(edge.local_partial in (sympy.S.One, sympy.S.NegativeOne) for edge in incoming):
            return "add"
        return None
    if isinstance(expr, sympy.Mul):
        _, rest = expr.as_coeff_Mul()
        factors = rest.args if isinstance(rest, sympy.Mul) else (rest,)
        if len(factors) == 2 and all(isinstance(f, sympy.Symbol) for f in factors):
            return "multiply"
        return None
    if isinstance(expr, functions.relu):
        return "relu"
    if isinstance(expr, (sympy.Max, sympy.Min)):
        return "max"
    if isinstance(expr, functions.sigmoid):
        return "sigmoid"
    return None


def _gate_patterns(graph: Graph, mp_env: Mapping[sympy.Symbol, MpFloat]) -> tuple[GatePattern, ...]:
    met: dict[GateKind, list[str]] = {}
    for node in graph.nodes:
        if node.expr is not None:
            kind = _gate_kind(graph, node.name, node.expr)
            if kind is not None:
                met.setdefault(kind, []).append(node.name)
    patterns = []
    for kind, title in _GATE_TITLES.items():
        if kind in met:
            nodes = tuple(met[kind])
            patterns.append(
                GatePattern(kind, title, nodes, _GATE_EXPLAINERS[kind](graph, nodes, mp_env))
            )
    return tuple(patterns)


def _explain_add(graph: Graph, nodes: tuple[str, ...], mp_env: Mapping[sympy.Symbol, Any]) -> str:
    return (
        f"At {', '.join(nodes)} every local derivative is 1 (or −1 for a subtracted term), so "
        "each input receives the upstream gradient unchanged (negated when subtracted)."
    )


def _explain_multiply(
    graph: Graph, nodes: tuple[str, ...], mp_env: Mapping[sympy.Symbol, Any]
) -> str:
    return (
        f"At {', '.join(nodes)} the local derivative with respect to one factor is the other "
        "factor: ∂(a·b)/∂a = b, so each input receives the upstream gradient scaled by the "
        "other input's value."
    )


def _explain_relu(graph: Graph, nodes: tuple[str, ...], mp_env: Mapping[sympy.Symbol, Any]) -> str:
    states = []
    for name in nodes:
        node = graph.by_name[name]
        assert node.expr is not None
        argument = evaluate(node.expr.args[0], mp_env)
        states.append(f"{name}: {'open' if argument > 0 else 'closed'}")
    return (
        "relu passes the upstream gradient where its input is positive and blocks it (0) "
        "elsewhere — here " + "; ".join(states) + "."
    )


def _explain_max(graph: Graph, nodes: tuple[str, ...], mp_env: Mapping[sympy.Symbol, Any]) -> str:
    return (
        f"At {', '.join(nodes)} the whole upstream gradient goes to the input that won "
        "(the larger for max, the smaller for min); the others receive 0."
    )


def _explain_sigmoid(
    graph: Graph, nodes: tuple[str, ...], mp_env: Mapping[sympy.Symbol, Any]
) -> str:
    return (
        f"At {', '.join(nodes)} the local derivative is σ′ = σ(1 − σ), at most 1/4, computed "
        "from the forward value alone; many such factors in a row make gradients vanish."
    )


_GATE_EXPLAINERS: dict[
    GateKind, Callable[[Graph, tuple[str, ...], Mapping[sympy.Symbol, Any]], str]
] = {
    "add": _explain_add,
    "multiply": _explain_multiply,
    "relu": _explain_relu,
    "max": _explain_max,
    "sigmoid": _explain_sigmoid,
}


def _costs(graph: Graph, wrt: tuple[str, ...]) -> tuple[ModeCost, ...]:
    edges = len(graph.edges)
    inputs = len(wrt)
    forward = ModeCost(
        "forward",
        inputs,
        inputs * edges,
        f"forward mode carries one tangent per pass: {inputs} pass{'es' if inputs != 1 else ''} "
        f"(one per input) × {_count(edges, 'edge')} = {_count(inputs * edges, 'multiply-add')}",
    )
    backward = ModeCost(
        "reverse",
        1,
        edges,
        f"reverse mode (backpropagation) needs one pass for the one output: 1 pass × "
        f"{_count(edges, 'edge')} = {_count(edges, 'multiply-add')}, however many inputs there are",
    )
    return (forward, backward)


# ---------------------------------------------------------------------------------------------
# JSON


def _value_dict(value: Value) -> dict[str, Any]:
    from chainsolve.jsonout import expression_text  # JSON output only, which has loaded it

    return {
        "exact": None if value.exact is None else expression_text(value.exact),
        "decimal": mpmath.nstr(mpmath.mpf(value.decimal._mpf_), DECIMAL_DIGITS),
    }


def evaluation_to_dict(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready data: ``values``, ``gradient``, ``forward_pass``, … .

    Expressions are :func:`~chainsolve.jsonout.expression_text` (sympy's ``str()``, read back by
    sympy and chainsolve); every value is ``{"exact": str | null, "decimal": str}``.
    """
    # Imported here, not with the module: a text or LaTeX evaluation never loads jsonout.
    from chainsolve.jsonout import expression_text

    def check_dict(check: GradientCheck) -> dict[str, Any]:
        return {
            "method": check.method,
            "description": check.description,
            "status": check.status,
            "reference": None if check.reference is None else _value_dict(check.reference),
            "difference": None if check.difference is None else expression_text(check.difference),
            "tolerance": None if check.tolerance is None else expression_text(check.tolerance),
            "detail": check.detail,
        }

    return {
        "mode": evaluation.mode,
        "exact": evaluation.exact,
        "point": {name: expression_text(value) for name, value in evaluation.point.items()},
        "values": {name: _value_dict(v) for name, v in evaluation.values.items()},
        "gradient": {e.name: _value_dict(e.value) for e in evaluation.gradient},
        "gradient_checks": {
            e.name: {
                "symbolic": None if e.symbolic is None else expression_text(e.symbolic),
                "checks": [check_dict(c) for c in e.checks],
            }
            for e in evaluation.gradient
        },
        "forward_pass": [
            {
                "node": row.node,
                "kind": row.kind,
                "operation": row.operation,
                "formula": None if row.formula is None else expression_text(row.formula),
                "value": _value_dict(row.value),
            }
            for row in evaluation.forward_pass
        ],
        "backward_pass": [
            {
                "node": row.node,
                "gradient": _value_dict(row.gradient),
                "terms": [
                    {
                        "consumer": t.consumer,
                        "local_derivative": expression_text(t.local_derivative),
                        "local_value": _value_dict(t.local_value),
                        "upstream": _value_dict(t.upstream),
                        "contribution": _value_dict(t.contribution),
                    }
                    for t in row.terms
                ],
            }
            for row in evaluation.backward_pass
        ],
        "tangent_passes": [
            {
                "seed": p.seed,
                "result": _value_dict(p.result),
                "rows": [
                    {
                        "node": row.node,
                        "tangent": _value_dict(row.tangent),
                        "terms": [
                            {
                                "source": t.source,
                                "local_derivative": expression_text(t.local_derivative),
                                "local_value": _value_dict(t.local_value),
                                "tangent": _value_dict(t.tangent),
                                "contribution": _value_dict(t.contribution),
                            }
                            for t in row.terms
                        ],
                    }
                    for row in p.rows
                ],
            }
            for p in evaluation.tangent_passes
        ],
        "costs": [
            {"mode": c.mode, "passes": c.passes, "multiply_adds": c.multiply_adds}
            for c in evaluation.costs
        ],
        "multiply_adds": evaluation.multiply_adds,
        "gate_patterns": [
            {"kind": g.kind, "title": g.title, "nodes": list(g.nodes), "explanation": g.explanation}
            for g in evaluation.gate_patterns
        ],
        "kinks": [
            {"node": k.node, "operation": k.operation, "convention": k.convention}
            for k in evaluation.kinks
        ],
        "notes": [note_text(note) for note in evaluation.notes],
        "verified": evaluation.verified,
    }


__all__ = [
    "BackwardRow",
    "BackwardTerm",
    "Evaluation",
    "ForwardRow",
    "GatePattern",
    "GradientCheck",
    "GradientEntry",
    "Kink",
    "ModeCost",
    "TangentPass",
    "TangentRow",
    "TangentTerm",
    "Value",
    "evaluate_at",
    "evaluation_to_dict",
]


def _count(number: int, noun: str) -> str:
    """'1 edge', '7 edges'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
