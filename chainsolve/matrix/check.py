"""Each matrix step against ``sympy.diff`` of the scalar expansion, entry by entry."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from typing import Literal

import sympy

from chainsolve.derivation import STRICT_CHECKS_ENV, WrongStepError
from chainsolve.errors import ChainsolveError
from chainsolve.matrix.backprop import SUMS_TO_ONE, Backprop, MatrixStep
from chainsolve.matrix.expand import Expansion, entries_of, expand

__all__ = ["CHECK_LIMITS", "CheckLimits", "CheckedBackprop", "MatrixCheck", "check_backprop"]


@dataclass(frozen=True, slots=True)
class CheckLimits:
    """How much work a check does, decided by counts, never by the clock.

    - ``max_entries``: a step with more entries is checked at this many, chosen at random
      (seeded by the step, so the same problem always checks the same entries).
    - ``exact_ops``: a difference of at most this many operations is expanded to prove it 0;
      a larger one, or one the expansion does not cancel, is evaluated at random points.
    - ``points``: how many random points, each at ``digits`` significant digits.
    """

    max_entries: int = 36
    exact_ops: int = 400
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


def _random_point(symbols: list[sympy.Symbol], seed: str) -> dict[sympy.Symbol, sympy.Expr]:
    generator = random.Random(seed)
    # Rationals away from 0 and from each other: no kink (relu, |u|) sits exactly on a point.
    return {
        symbol: sympy.Rational(generator.randint(-1999, 1999), 997) + sympy.Rational(1, 7919)
        for symbol in symbols
    }


def _numerically_zero(difference: sympy.Expr, seed: str, limits: CheckLimits) -> bool:
    symbols = sorted(difference.free_symbols, key=str)
    agreed = 0
    for attempt in range(limits.points * 3):
        value = difference.xreplace(_random_point(symbols, f"{seed}:{attempt}"))
        number = complex(value.evalf(limits.digits))
        if number != number or abs(number) == float("inf"):
            continue  # a pole at this point: try another
        if abs(number) > 10.0 ** (-(limits.digits - 10)):
            return False
        agreed += 1
        if agreed == limits.points:
            return True
    return agreed > 0


def _entry_agrees(
    claimed: sympy.Expr, reference: sympy.Expr, seed: str, limits: CheckLimits
) -> tuple[bool, bool]:
    """(agrees, proved exactly)."""
    difference = claimed - reference
    if difference == 0:
        return True, True
    if sympy.count_ops(difference) <= limits.exact_ops and sympy.expand(difference) == 0:
        return True, True
    return _numerically_zero(difference, seed, limits), False


def _check_step(
    step: MatrixStep,
    claimed: sympy.Matrix,
    expansion: Expansion,
    limits: CheckLimits,
) -> MatrixCheck:
    target = expansion.flattened_from(step.name)
    symbols = expansion.symbols[step.name]
    condition = {}
    if step.condition is not None and step.condition[0] == SUMS_TO_ONE:
        condition = _sums_to_one(expansion, step.condition[1])
    entries = _entries(step, limits)
    differs = []
    exact = True
    flattening = expansion.flattening
    for i, j in entries:
        reference = sympy.diff(target, symbols[i, j]).xreplace(flattening).xreplace(condition)
        value = claimed[i, j].xreplace(flattening).xreplace(condition)
        agrees, proved = _entry_agrees(value, reference, f"{step.name}:{i}:{j}", limits)
        exact = exact and proved
        if not agrees:
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
    checks = []
    for step in backprop.steps:
        claimed = entries_of(step.claim, expansion.symbols, adjoints)
        check = _check_step(step, claimed, expansion, limits)
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
