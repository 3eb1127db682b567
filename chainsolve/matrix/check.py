"""Each matrix step against ``sympy.diff`` of the scalar expansion, entry by entry."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from typing import Literal

import sympy

from chainsolve.derivation import STRICT_CHECKS_ENV, WrongStepError
from chainsolve.errors import ChainsolveError
from chainsolve.matrix.backprop import Backprop, MatrixStep
from chainsolve.matrix.expand import Expansion, entries_of, expand
from chainsolve.record import record

__all__ = ["CHECK_LIMITS", "CheckLimits", "CheckedBackprop", "MatrixCheck", "check_backprop"]


@record
class CheckLimits:
    """How much work a check does, decided by counts, never by the clock.

    - ``max_entries``: a step with more entries is checked at this many, chosen at random
      (seeded by the step, so the same problem always checks the same entries).
    - ``exact_nodes``: a difference of at most this many nodes (counted as a tree, the count
      stopping there) is expanded to prove it 0; a larger one, or one with exp or log, or
      one the expansion does not cancel, is evaluated at random points.
    - ``points``: how many random points, each at ``digits`` significant digits.
    """

    max_entries: int = 36
    exact_nodes: int = 800
    points: int = 3
    digits: int = 30


CHECK_LIMITS = CheckLimits()


@dataclass(frozen=True)
class MatrixCheck:
    """How a step was checked: ``exact`` (every checked entry proved equal by expansion) or
    ``numeric`` (some at random points); ``checked`` of ``entries`` entries (fewer: a random
    sample); ``differs`` lists the entries (row, column, from 1) where the claim is wrong."""

    method: Literal["exact", "numeric"]
    checked: int
    entries: int
    points: int
    differs: tuple[tuple[int, int], ...] = ()

    @property
    def sampled(self) -> bool:
        """Were only some entries checked?"""
        return self.checked < self.entries

    @property
    def agrees(self) -> bool:
        """Did every checked entry agree with the oracle?"""
        return not self.differs


@dataclass(frozen=True)
class CheckedBackprop:
    """A backward pass with the check of each step, in order."""

    backprop: Backprop
    expansion: Expansion
    checks: tuple[MatrixCheck, ...]

    @property
    def verified(self) -> bool:
        """Did every step agree with the oracle?"""
        return all(check.agrees for check in self.checks)


def _sums_to_one(expansion: Expansion, name: str) -> dict[sympy.Symbol, sympy.Expr]:
    """The last entry of ``name`` as 1 minus the others: the entries sum to 1."""
    entries = list(expansion.symbols[name])
    return {entries[-1]: 1 - sympy.Add(*entries[:-1])}


def _entries(step: MatrixStep, limits: CheckLimits) -> list[tuple[int, int]]:
    every = [(i, j) for i in range(step.shape.rows) for j in range(step.shape.cols)]
    if len(every) <= limits.max_entries:
        return every
    chosen = random.Random(f"{step.kind}:{step.name}").sample(every, limits.max_entries)
    return sorted(chosen)


class _Points:
    """The random points of a problem's numeric checks: each input a value at full precision,
    each intermediate entry its value there (the forward pass), so that a claim written in
    intermediates and its reference are evaluated without being expanded into the inputs."""

    def __init__(self, expansion: Expansion, limits: CheckLimits) -> None:
        self.expansion = expansion
        self.limits = limits
        self.cache: dict[tuple[str, int], dict[sympy.Symbol, sympy.Expr]] = {}

    def point(self, condition: str | None, index: int) -> dict[sympy.Symbol, sympy.Expr]:
        key = (condition or "", index)
        if key not in self.cache:
            self.cache[key] = self.build(condition, index)
        return self.cache[key]

    def build(self, condition: str | None, index: int) -> dict[sympy.Symbol, sympy.Expr]:
        generator = random.Random(f"point:{index}")
        digits = self.limits.digits
        problem = self.expansion.shaped.problem
        values: dict[sympy.Symbol, sympy.Expr] = {}
        for name in problem.inputs:
            for symbol in self.expansion.symbols[name]:
                # Values in (−2, 2) at full precision: no kink (relu, |u|) sits on a point.
                values[symbol] = sympy.Float(f"{generator.uniform(-2, 2):.15f}271828", digits)
        if condition is not None:
            for symbol, value in _sums_to_one(self.expansion, condition).items():
                values[symbol] = value.xreplace(values).evalf(digits)
        for name in problem.defined:
            local = self.expansion.local[name]
            for symbol, entry in zip(self.expansion.symbols[name], local, strict=True):
                values[symbol] = entry.xreplace(values).evalf(digits)
        return values


def _close(claimed: sympy.Expr, reference: sympy.Expr, limits: CheckLimits) -> bool | None:
    """Do two numbers agree to ``digits − 10`` digits? None: undefined at this point."""
    try:
        a, b = complex(claimed), complex(reference)
    except TypeError:
        return None
    if a != a or b != b or abs(a) == float("inf") or abs(b) == float("inf"):
        return None
    return abs(a - b) <= 10.0 ** (-(limits.digits - 10)) * max(1.0, abs(b))


def _numerically_equal(
    claimed: sympy.Expr,
    reference: sympy.Expr,
    points: _Points,
    condition: str | None,
) -> bool:
    limits = points.limits
    agreed = 0
    for index in range(limits.points * 3):
        values = points.point(condition, index)
        left = _evaluate(claimed, values, limits.digits)
        right = _evaluate(reference, values, limits.digits)
        close = _close(left, right, limits)
        if close is False:
            return False
        agreed += close is True
        if agreed == limits.points:
            return True
    return agreed > 0


def _evaluate(expr: sympy.Expr, values: dict[sympy.Symbol, sympy.Expr], digits: int) -> sympy.Expr:
    """``expr`` at a point, each shared subexpression evaluated once: the expansion of a deep
    network shares its layers, which a walk of the tree (xreplace) would visit again and again."""
    memo: dict[sympy.Basic, sympy.Expr] = {}

    def value(node: sympy.Basic) -> sympy.Expr:
        known = memo.get(node)
        if known is None:
            if node in values:
                known = values[node]
            elif not node.args or node.is_Number:
                known = node
            else:
                known = node.func(*(value(arg) for arg in node.args))
            memo[node] = known
        return known

    return value(expr).evalf(digits)


def _within(expr: sympy.Basic, limit: int) -> bool:
    """Has ``expr`` at most ``limit`` nodes, counted as a tree? Stops counting past the limit."""
    return all(count <= limit for count, _ in enumerate(sympy.preorder_traversal(expr), start=1))


_TRANSCENDENTAL = (sympy.exp, sympy.log)


def _proved(difference: sympy.Expr) -> bool:
    """Is ``difference`` (small, in the inputs) 0 by expansion? Not tried with exp or log,
    where expansion is costly; the points decide those."""
    if difference == 0:
        return True
    if difference.has(*_TRANSCENDENTAL):
        return False
    return bool(sympy.expand(difference) == 0)


def _check_step(
    step: MatrixStep,
    claimed: sympy.Matrix,
    expansion: Expansion,
    points: _Points,
) -> MatrixCheck:
    limits = points.limits
    if claimed.shape != (step.shape.rows, step.shape.cols):
        # A claim of another shape (δ_a, 3×1, for a broadcast 1×1 b) is wrong whatever its
        # entries: comparing its first entries alone could pass it.
        return MatrixCheck("exact", 0, step.shape.size, 0, ((1, 1),))
    target = expansion.flattened_from(step.name)
    symbols = expansion.symbols[step.name]
    condition = step.condition[1] if step.condition is not None else None
    fixed = _sums_to_one(expansion, condition) if condition is not None else {}
    entries = _entries(step, limits)
    differs = []
    exact = True
    flattening = expansion.flattening
    for i, j in entries:
        reference = sympy.diff(target, symbols[i, j])
        if _within(reference, limits.exact_nodes):
            # Both sides in the inputs: the reference keeps the entries of step.name free.
            sides = [side.xreplace(flattening) for side in (claimed[i, j], reference)]
            small = all(_within(side, limits.exact_nodes) for side in sides)
            if small and _proved((sides[0] - sides[1]).xreplace(fixed)):
                continue
        exact = False
        if not _numerically_equal(claimed[i, j], reference, points, condition):
            differs.append((i + 1, j + 1))
    return MatrixCheck(
        "exact" if exact else "numeric",
        len(entries),
        step.shape.size,
        0 if exact else limits.points,
        tuple(differs),
    )


def check_backprop(backprop: Backprop, limits: CheckLimits = CHECK_LIMITS) -> CheckedBackprop:
    """Every step of ``backprop`` against the oracle: ``sympy.diff`` of the flattened target
    by each entry. A δ used by a later step is its claim, checked before it is used.

    A step that disagrees is a bug: under ``CHAINSOLVE_STRICT_CHECKS`` it raises
    :class:`WrongStepError`; otherwise the solution is refused (never shown wrong).
    """
    expansion = expand(backprop.shaped)
    adjoints: dict[str, sympy.Matrix] = {}
    points = _Points(expansion, limits)
    checks = []
    for step in backprop.steps:
        claimed = entries_of(step.claim, expansion.symbols, adjoints)
        check = _check_step(step, claimed, expansion, points)
        if not check.agrees:
            _wrong(backprop, step, check)
        if step.kind == "delta":
            adjoints[step.name] = claimed
        checks.append(check)
    return CheckedBackprop(backprop, expansion, tuple(checks))


def _wrong(backprop: Backprop, step: MatrixStep, check: MatrixCheck) -> None:
    from chainsolve.matrix.printing import show

    where = f"{backprop.shaped.problem.source!r}, {step.kind} {step.name} = {show(step.claim)}"
    if os.environ.get(STRICT_CHECKS_ENV):
        raise WrongStepError(f"{where}: differs at entries {check.differs}")
    raise ChainsolveError(
        "unverified_step",
        f"the matrix form of ∂/∂{step.name} did not pass its entry-by-entry check; "
        "this is a bug in chainsolve, and no wrong step is shown",
        hint="please report the problem; the scalar form of the problem still works",
    )


def with_limits(limits: CheckLimits, **changes: int) -> CheckLimits:
    """``limits`` with some bounds changed (the benchmark checks every entry)."""
    return replace(limits, **changes)
