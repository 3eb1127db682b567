"""A matrix problem at a point: each value, each δ and gradient from the steps, checked by central differences."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import mpmath
import sympy

from chainsolve.derivation import STRICT_CHECKS_ENV, WrongStepError
from chainsolve.errors import ProblemError
from chainsolve.evaluation import DECIMAL_DIGITS, SHORT_DIGITS, Value, _decimal
from chainsolve.functions import BY_NAME
from chainsolve.jsonout import expression_text
from chainsolve.matrix.backprop import Backprop, MatrixStep
from chainsolve.matrix.check import CheckedBackprop
from chainsolve.matrix.expand import Expansion, entries_of, entry_name
from chainsolve.matrix.model import Apply, Node, Shape, children
from chainsolve.matrix.point import PointValue
from chainsolve.record import record

__all__ = [
    "FD_LIMITS",
    "DifferenceCheck",
    "FiniteDifferenceLimits",
    "ForwardRow",
    "MatrixEvaluation",
    "MatrixValue",
    "StepValue",
    "evaluate_at_point",
    "matrix_evaluation_to_dict",
]

#: Significant digits every value is computed with (decimals of irrational values).
PRECISION = 50


@record
class FiniteDifferenceLimits:
    """How much work the central differences do, by counts, never by the clock.

    - ``max_entries``: a gradient with more entries is checked at this many, chosen at random
      (seeded by its name, so a problem always checks the same entries), and says so.
    - ``step_digits``: h = 10^-n of (L(θ + h) − L(θ − h)) / 2h; at ``PRECISION`` digits its rounding error
      (10⁻⁵⁰/h) and its truncation error (h²·L‴) are both far below the tolerance.
    - ``tolerance_digits``: the agreement asked, 10^-n, relative to max(1, |gradient entry|).
    """

    max_entries: int = 36
    step_digits: int = 15
    tolerance_digits: int = 20

    @property
    def step(self) -> sympy.Float:
        """h, at ``PRECISION`` digits."""
        return sympy.Float(10, PRECISION) ** -self.step_digits

    @property
    def tolerance(self) -> sympy.Float:
        """The largest relative difference accepted."""
        return sympy.Float(10, PRECISION) ** -self.tolerance_digits


FD_LIMITS = FiniteDifferenceLimits()


@dataclass(frozen=True)
class MatrixValue:
    """The value of a matrix at the point: one :class:`~chainsolve.evaluation.Value` per entry,
    and ``numbers``, the entries as computed (exact, or at ``PRECISION`` digits)."""

    shape: Shape
    rows: tuple[tuple[Value, ...], ...]
    numbers: sympy.ImmutableMatrix

    @property
    def exact(self) -> bool:
        """Is every entry known exactly?"""
        return all(value.exact is not None for row in self.rows for value in row)

    def nested(self, field: Literal["exact", "decimal"]) -> Any:
        """The entries as JSON in the shape people write it: 1×1 a number, n×1 a list, else rows."""
        texts = [[_field_text(value, field) for value in row] for row in self.rows]
        if self.shape.is_scalar:
            return texts[0][0]
        if self.shape.is_column:
            return [row[0] for row in texts]
        return texts


def _field_text(value: Value, field: Literal["exact", "decimal"]) -> str | None:
    if field == "exact":
        return None if value.exact is None else expression_text(value.exact)
    return str(mpmath.nstr(mpmath.mpf(value.decimal._mpf_), DECIMAL_DIGITS))


@dataclass(frozen=True)
class ForwardRow:
    """One name of the forward pass: an input (``node`` None) or a definition, its value."""

    name: str
    node: Node | None
    value: MatrixValue


@dataclass(frozen=True)
class StepValue:
    """A δ or gradient step of the backward pass and its value at the point."""

    step: MatrixStep
    value: MatrixValue


@dataclass(frozen=True)
class DifferenceCheck:
    """Central differences of the scalar expansion of the loss against one gradient.

    ``checked`` of ``entries`` entries (fewer: a random sample); ``difference`` the largest
    |gradient − central difference| relative to max(1, |gradient|); ``kinks``: the entries of
    a function's argument that sit on its kink at the point (relu at 0), where the one-sided
    slopes differ and central differences cannot decide.
    """

    name: str
    checked: int
    entries: int
    difference: sympy.Float
    tolerance: sympy.Float
    kinks: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Did every checked entry agree within the tolerance?"""
        return bool(self.difference <= self.tolerance)

    @property
    def sampled(self) -> bool:
        """Were only some entries checked?"""
        return self.checked < self.entries

    @property
    def status(self) -> Literal["passed", "failed", "skipped"]:
        """``passed``; ``skipped`` when it disagrees at a kink, where it cannot decide; else ``failed``."""
        if self.passed:
            return "passed"
        return "skipped" if self.kinks else "failed"


@dataclass(frozen=True)
class MatrixEvaluation:
    """A matrix problem at a point: the forward pass, the backward pass, the checked gradient."""

    point: Mapping[str, PointValue]
    forward: tuple[ForwardRow, ...]
    backward: tuple[StepValue, ...]
    checks: tuple[DifferenceCheck, ...]
    step: sympy.Float

    @property
    def gradient(self) -> dict[str, MatrixValue]:
        """∂L/∂(each wrt input) at the point."""
        return {row.step.name: row.value for row in self.backward if row.step.kind == "gradient"}

    @property
    def loss(self) -> MatrixValue:
        """The target's value at the point."""
        return self.forward[-1].value

    @property
    def exact(self) -> bool:
        """Is every value of the forward pass exact?"""
        return all(row.value.exact for row in self.forward)

    @property
    def verified(self) -> bool:
        """Did no central-difference check contradict a gradient?"""
        return all(check.status != "failed" for check in self.checks)


# --------------------------------------------------------------------------- values


def _number(entry: sympy.Expr, where: str) -> sympy.Expr:
    """An entry as an exact rational, or a decimal at ``PRECISION`` digits; refused if not real."""
    if entry.is_Rational:
        return entry
    number = entry.evalf(PRECISION)
    if not number.is_Number or not number.is_finite or number.is_real is False:
        raise ProblemError(
            "undefined_at_point",
            f"{where} is not a finite real number at the point",
            hint="choose a point inside the domain (log and division need positive, nonzero values)",
        )
    return sympy.Float(number, PRECISION)


def _numbers(matrix: sympy.Matrix, name: str, shape: Shape) -> sympy.Matrix:
    return sympy.Matrix(
        matrix.rows,
        matrix.cols,
        lambda i, j: _number(matrix[i, j], entry_name(name, i, j, shape)),
    )


def _value(number: sympy.Expr) -> Value:
    mp = mpmath.mpf(sympy.Float(number, PRECISION)._mpf_)
    decimal = sympy.Float(mpmath.nstr(mp, DECIMAL_DIGITS), DECIMAL_DIGITS)
    return Value(number if number.is_Rational else None, decimal, _decimal(mp, SHORT_DIGITS))


def _matrix_value(matrix: sympy.Matrix, shape: Shape) -> MatrixValue:
    rows = tuple(tuple(_value(matrix[i, j]) for j in range(shape.cols)) for i in range(shape.rows))
    return MatrixValue(shape, rows, sympy.ImmutableMatrix(matrix))


def _kinks(node: Node, values: Mapping[str, sympy.Matrix], name: str) -> list[str]:
    """Where a function with a kink (relu, |u|) meets it at the point, in ``name``'s definition."""
    found: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        spec = BY_NAME.get(current.function) if isinstance(current, Apply) else None
        if isinstance(current, Apply) and spec is not None and spec.kink:
            argument = entries_of(current.operand, values)
            if any(entry == 0 for entry in argument):
                found.append(f"{spec.printed_name} in {name}")
        stack.extend(children(current))
    return found


# --------------------------------------------------------------------------- the passes


def _forward(
    backprop: Backprop, point: Mapping[str, PointValue]
) -> tuple[dict[str, sympy.Matrix], list[ForwardRow], list[str]]:
    shaped = backprop.shaped
    problem = shaped.problem
    values: dict[str, sympy.Matrix] = {}
    rows: list[ForwardRow] = []
    kinks: list[str] = []
    for name in problem.inputs:
        values[name] = sympy.Matrix(point[name].matrix())
        rows.append(ForwardRow(name, None, _matrix_value(values[name], shaped.shapes[name])))
    for name, node in problem.definitions:
        kinks += _kinks(node, values, name)
        values[name] = _numbers(entries_of(node, values), name, shaped.shapes[name])
        rows.append(ForwardRow(name, node, _matrix_value(values[name], shaped.shapes[name])))
    return values, rows, kinks


def _backward(backprop: Backprop, values: Mapping[str, sympy.Matrix]) -> list[StepValue]:
    adjoints: dict[str, sympy.Matrix] = {}
    rows = []
    for step in backprop.steps:
        label = f"δ_{step.name}" if step.kind == "delta" else f"∂/∂{step.name}"
        value = _numbers(entries_of(step.claim, values, adjoints), label, step.shape)
        if step.kind == "delta":
            adjoints[step.name] = value
        rows.append(StepValue(step, _matrix_value(value, step.shape)))
    return rows


def _sample(shape: Shape, name: str, limits: FiniteDifferenceLimits) -> list[tuple[int, int]]:
    every = [(i, j) for i in range(shape.rows) for j in range(shape.cols)]
    if len(every) <= limits.max_entries:
        return every
    return sorted(random.Random(f"difference:{name}").sample(every, limits.max_entries))


def _loss_at(expansion: Expansion, point: Mapping[sympy.Symbol, sympy.Expr]) -> sympy.Expr:
    """The loss at ``point`` (every input entry a number), from the scalar expansion: each
    definition's entries (``expansion.local``, in the entries of the names it uses) evaluated
    in order, so a shared intermediate is computed once, not once per use."""
    problem = expansion.shaped.problem
    known = dict(point)
    for name in problem.defined:
        entries = expansion.local[name].xreplace(known)
        for symbol, entry in zip(expansion.symbols[name], entries, strict=True):
            known[symbol] = entry.evalf(PRECISION)
    return known[expansion.symbols[problem.target][0, 0]]


def _central_differences(
    expansion: Expansion,
    values: Mapping[str, sympy.Matrix],
    gradient: StepValue,
    kinks: tuple[str, ...],
    limits: FiniteDifferenceLimits,
) -> DifferenceCheck:
    """Each sampled entry of ``gradient`` against (L(θ + h) − L(θ − h)) / 2h, where L is the
    loss written out in the entries of the inputs (the scalar expansion), not the steps."""
    problem = expansion.shaped.problem
    point = {
        symbol: sympy.Float(value, PRECISION)
        for name in problem.inputs
        for symbol, value in zip(expansion.symbols[name], values[name], strict=True)
    }
    name = gradient.step.name
    worst = sympy.Float(0, PRECISION)
    entries = _sample(gradient.step.shape, name, limits)
    for i, j in entries:
        symbol = expansion.symbols[name][i, j]
        moved = []
        for sign in (1, -1):
            shifted = {**point, symbol: point[symbol] + sign * limits.step}
            moved.append(_loss_at(expansion, shifted))
        estimate = (moved[0] - moved[1]) / (2 * limits.step)
        claimed = sympy.Float(gradient.value.numbers[i, j], PRECISION)
        scale = max(sympy.Float(1, PRECISION), abs(claimed))
        worst = max(worst, abs(claimed - estimate) / scale)
    return DifferenceCheck(
        name, len(entries), gradient.step.shape.size, worst, limits.tolerance, kinks
    )


def evaluate_at_point(
    checked: CheckedBackprop,
    point: Mapping[str, PointValue],
    limits: FiniteDifferenceLimits = FD_LIMITS,
) -> MatrixEvaluation:
    """The forward pass (each definition entry by entry), the backward pass (each step's claim
    at the point) and each gradient checked by central differences of the scalar expansion.

    ``point`` must hold every input at its declared shape (:func:`~chainsolve.matrix.point.check_point`).
    """
    backprop = checked.backprop
    values, forward, kinks = _forward(backprop, point)
    backward = _backward(backprop, values)
    checks = tuple(
        _central_differences(checked.expansion, values, row, tuple(kinks), limits)
        for row in backward
        if row.step.kind == "gradient"
    )
    evaluation = MatrixEvaluation(point, tuple(forward), tuple(backward), checks, limits.step)
    if not evaluation.verified and os.environ.get(STRICT_CHECKS_ENV):
        # A gradient from checked steps that central differences contradict is a bug.
        failed = [check.name for check in checks if check.status == "failed"]
        raise WrongStepError(f"central differences contradict the gradient by {failed}")
    return evaluation


# --------------------------------------------------------------------------- JSON


def _matrix_dict(value: MatrixValue) -> dict[str, Any]:
    return {"shape": [value.shape.rows, value.shape.cols], **_value_fields(value)}


def _value_fields(value: MatrixValue) -> dict[str, Any]:
    return {"exact": value.nested("exact"), "decimal": value.nested("decimal")}


def matrix_evaluation_to_dict(evaluation: MatrixEvaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready data; each value ``{"shape", "exact", "decimal"}`` with
    ``exact`` and ``decimal`` nested lists in the value's shape (a number for a 1×1, a list
    for a column, a list of rows otherwise)."""
    from chainsolve.matrix.printing import show

    return {
        "exact": evaluation.exact,
        "point": {
            row.name: row.value.nested("exact") for row in evaluation.forward if row.node is None
        },
        "values": {row.name: _matrix_dict(row.value) for row in evaluation.forward},
        "forward_pass": [
            {
                "name": row.name,
                "kind": "input" if row.node is None else "definition",
                "formula": None if row.node is None else show(row.node),
                **_matrix_dict(row.value),
            }
            for row in evaluation.forward
        ],
        "gradient": {name: _matrix_dict(value) for name, value in evaluation.gradient.items()},
        "backward_pass": [
            {
                "kind": row.step.kind,
                "name": row.step.name,
                "formula": show(row.step.claim),
                **_matrix_dict(row.value),
            }
            for row in evaluation.backward
        ],
        "gradient_checks": {
            check.name: {
                "method": "finite_difference",
                "description": "central differences of the loss written out in the entries",
                "status": check.status,
                "checked": check.checked,
                "entries": check.entries,
                "step": mpmath.nstr(mpmath.mpf(evaluation.step._mpf_), 3),
                "difference": mpmath.nstr(mpmath.mpf(check.difference._mpf_), 3),
                "tolerance": mpmath.nstr(mpmath.mpf(check.tolerance._mpf_), 3),
                "kinks": list(check.kinks),
            }
            for check in evaluation.checks
        },
    }
