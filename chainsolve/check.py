"""Checks each step's claim against sympy's own derivative (the machinery is in equivalence)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import mpmath
import sympy

from chainsolve.equivalence import PRECISION, check_claim
from chainsolve.numeric import Undefined, evaluate
from chainsolve.rules import sympy_derivative
from chainsolve.steps import NO_CLAIM, Check, Step

_ORDER = {"none": 0, "symbolic": 1, "numeric": 2, "unconfirmed": 3}


def combine_checks(checks: Iterable[Check]) -> Check:
    """The weakest of several checks: unconfirmed beats numeric beats symbolic."""
    result = NO_CLAIM
    for check in checks:
        if check.differs:
            return check  # a found difference is never hidden behind a mere "unconfirmed"
        if _ORDER[check.status] > _ORDER[result.status]:
            result = check
    return result


class Checker:
    """Checks claims, computing sympy's derivative of each subject once."""

    def __init__(self) -> None:
        self._reference: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] = {}

    def reference(self, subject: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
        """sympy's derivative of ``subject`` by ``var``: what every claim is compared with."""
        key = (subject, var)
        known = self._reference.get(key)
        if known is None:
            known = sympy_derivative(subject, var)
            self._reference[key] = known
        return known

    def check(self, step: Step) -> Step:
        """``step`` with its claim checked (unchanged when it makes none or was checked already)."""
        claim = step.claim
        if claim is None or step.check is not NO_CLAIM:
            return step
        reference = self.reference(claim.subject, claim.var)
        checks = [check_claim(value, reference) for value in claim.values]
        return replace(step, check=combine_checks(checks) if checks else Check("symbolic"))

    def check_all(self, steps: Sequence[Step]) -> tuple[Step, ...]:
        """Every step checked."""
        return tuple(self.check(step) for step in steps)


def chain_check(
    expr: sympy.Expr,
    var: sympy.Symbol,
    links: Sequence[tuple[sympy.Symbol, sympy.Expr]],
    innermost: sympy.Expr,
    factors: Sequence[sympy.Expr],
) -> Check:
    """The product of a chain's factors against a central difference of the whole expression.

    ``links`` are (u, F(u)) outermost first. The intermediate values are computed from the
    innermost link outwards, each from the one below it, so the cost is linear in the
    length of the chain.
    """
    rng = random.Random(11)
    confirmed = 0
    with mpmath.workdps(PRECISION):
        for _ in range(12):
            if confirmed == 3:
                break
            point = mpmath.mpf(rng.uniform(0.1, 2.0) * rng.choice((-1, 1)))
            step = mpmath.mpf(10) ** -(PRECISION // 3)
            try:
                env: dict[sympy.Symbol, Any] = {var: point}
                below = evaluate(innermost, env)
                for u, outer_of_u in reversed(links):
                    env[u] = below
                    below = evaluate(outer_of_u, {u: below})
                claimed = mpmath.fprod(evaluate(f, env) for f in factors)
                estimate = (
                    evaluate(expr, {var: point + step}) - evaluate(expr, {var: point - step})
                ) / (2 * step)
            except (Undefined, OverflowError, ZeroDivisionError, KeyError):
                continue
            if abs(claimed - estimate) > mpmath.mpf(10) ** -12 * max(1, abs(estimate)):
                return Check(
                    "unconfirmed", "differs from a central finite difference", differs=True
                )
            confirmed += 1
    if not confirmed:
        return Check("unconfirmed", "no point where the chain is defined was found")
    return Check("numeric", f"matches central finite differences at {confirmed} points")
