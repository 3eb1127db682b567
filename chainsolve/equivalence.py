"""Are two expressions equal? Numeric comparison at random real points, then a budgeted proof."""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, TypeVar

import mpmath
import sympy
from sympy.core.function import AppliedUndef

from chainsolve.budget import attempt, cut_ins
from chainsolve.dag import atoms_of, distinct_parts, free_symbols, operations, same, tree_size
from chainsolve.functions import EXP_REWRITABLE, KINKED, SinCosForm, family_forms
from chainsolve.numeric import Known, OutOfRange, Undefined, evaluate
from chainsolve.record import record
from chainsolve.steps import Check

Verdict = Literal["equal", "not_equal", "equal_on_part", "undecided"]

#: Working precision (decimal digits) of numeric comparisons.
PRECISION = 40
#: Relative tolerance: far below a real difference (a 1e-12 near miss is caught), above rounding.
TOLERANCE = mpmath.mpf(10) ** -25
#: CPU seconds one cheap proof of a solution's step may take (a safety net: the size gates of
#: :func:`check_claim` keep ordinary steps far below it).
CLAIM_PROOF_SECONDS = 0.5
#: Magnitudes sampled for each variable (with both signs) so that sign and scale errors show up.
MAGNITUDES = (0.07, 0.3, 0.6, 0.9, 1.3, 2.1, 3.7, 8.0)


@record
class Comparison:
    """The outcome of comparing ``a`` and ``b``.

    ``counterexample`` maps variable names to a point where ``b`` is defined and ``a``
    differs from it (or is undefined), with ``values`` the two sides there (None: undefined);
    ``agree_where`` states the region where an ``equal_on_part`` pair agrees. ``signs``
    holds the variables and kink arguments (x − 5 of |x − 5|) whose sign was the same at
    every sampled point of the domain, the other sign having been tried and refused.
    """

    verdict: Verdict
    method: str
    points: int = 0
    counterexample: Mapping[str, float] | None = None
    values: tuple[float | None, float | None] | None = None
    agree_where: str = ""
    details: tuple[str, ...] = field(default=())
    signs: Mapping[sympy.Expr, int] = field(default_factory=dict)


def concrete_functions(expr: sympy.Expr, variant: int) -> sympy.Expr:
    """Replace each abstract function ``f(a, b, …)`` by a concrete smooth function of its arguments.

    Different ``variant``s give different functions, so that a claim true for the
    concrete choice by accident is still caught by another. Derivatives of the
    abstract functions are then evaluated.
    """
    return concrete_all((expr,), variant)[0]


def concrete_all(exprs: Sequence[sympy.Expr], variant: int) -> tuple[sympy.Expr, ...]:
    """:func:`concrete_functions` of several expressions, each name replaced the same way in all."""
    applied = sorted(
        set().union(*(atoms_of(e, AppliedUndef) for e in exprs)), key=sympy.default_sort_key
    )
    if not applied:
        return tuple(exprs)
    names = sorted({a.func.__name__ for a in applied})
    replacements: dict[str, sympy.Lambda] = {}
    for index, name in enumerate(names):
        arity = next(len(a.args) for a in applied if a.func.__name__ == name)
        dummies = sympy.symbols(f"a0:{arity}", real=True)
        k = index + 1 + 3 * variant
        linear = sum(sympy.Rational(k + i + 1, i + 2) * d for i, d in enumerate(dummies))
        body = (
            sympy.sin(linear)
            + sympy.Rational(1, k + 1) * linear**2
            + sympy.prod(
                [1 + sympy.Rational(1, i + 3 + variant) * d for i, d in enumerate(dummies)]
            )
        )
        replacements[name] = sympy.Lambda(dummies, body)
    classes = {a.func for a in applied}
    # subs (not replace) so that Derivative(g(t), t) becomes Derivative(<concrete>, t).
    substitution = {cls: replacements[cls.__name__] for cls in classes}
    return tuple(expr.subs(substitution).doit() for expr in exprs)


def _variables(*exprs: sympy.Expr) -> list[sympy.Symbol]:
    found: set[sympy.Symbol] = set()
    for expr in exprs:
        found |= free_symbols(expr)
    return sorted(found, key=lambda s: s.name)


def _sample(
    rng: random.Random, variables: Sequence[sympy.Symbol]
) -> dict[sympy.Symbol, mpmath.mpf]:
    point = {}
    for symbol in variables:
        magnitude = rng.choice(MAGNITUDES) * (1 + rng.random() / 3)
        sign = -1 if rng.random() < 0.5 else 1
        point[symbol] = mpmath.mpf(sign * magnitude)
    return point


#: Values of parts at the points sampled, one table per (point, precision): the steps of one
#: solution are sampled at the same points and share parts (a flattened chain of diamonds
#: repeats every layer below in each step above), so each part is evaluated once per point.
_known_at: dict[tuple[object, ...], Known] = {}
#: Most part values the tables hold together before they start again.
KNOWN_VALUES = 200_000


def _known(point: Mapping[sympy.Symbol, mpmath.mpf]) -> Known:
    key = (tuple(point.items()), mpmath.mp.dps)
    table = _known_at.get(key)
    if table is None:
        if sum(len(t) for t in _known_at.values()) > KNOWN_VALUES:
            _known_at.clear()
        table = _known_at[key] = {}
    return table


def _value(expr: sympy.Expr, point: Mapping[sympy.Symbol, mpmath.mpf]) -> mpmath.mpf | None:
    try:
        return _sampled(expr, point)
    except OutOfRange:
        return None


def _sampled(expr: sympy.Expr, point: Mapping[sympy.Symbol, mpmath.mpf]) -> mpmath.mpf | None:
    """``expr`` at ``point``; None where it is undefined. Raises :class:`OutOfRange` where it
    is a number past what is computed: no evidence of a domain, nor of a difference."""
    try:
        return evaluate(expr, point, _known(point))
    except OutOfRange:
        raise
    except (Undefined, OverflowError, ZeroDivisionError, ValueError):
        return None


#: Round values tried first, variable by variable (shifted so that x and y differ).
NICE_VALUES = (1, 2, -1, 3, -2, 0.5, -0.5)
#: Points checked inside a candidate region of agreement, and how many must be found there.
DENSE_SAMPLES = 32
DENSE_MINIMUM = 16
#: Points tried at a variable's other sign, all outside the domain, before its sign is assumed.
SIGN_EVIDENCE = 8


def _nice_point(variables: Sequence[sympy.Symbol], index: int) -> dict[sympy.Symbol, mpmath.mpf]:
    return {
        symbol: mpmath.mpf(NICE_VALUES[(index + offset) % len(NICE_VALUES)])
        for offset, symbol in enumerate(variables)
    }


def _close(left: mpmath.mpf, right: mpmath.mpf) -> bool:
    return bool(abs(left - right) <= TOLERANCE * max(1, abs(left), abs(right)))


#: Times a differing sample's precision is doubled, at most, for its values to hold still.
SETTLE_DOUBLINGS = 3


def _holds_still(coarse: mpmath.mpf | None, fine: mpmath.mpf | None) -> bool:
    """Is a value computed at some precision the same at twice it (both undefined, or close)?"""
    if coarse is None or fine is None:
        return coarse is None and fine is None
    return _close(coarse, fine)


def kink_arguments(exprs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    """The expressions g whose zeros are kinks or jumps: |g|, relu g, acot g, …, Max, Piecewise.

    A derivative does not exist where such a g is 0 (or exists only by convention), so no
    comparison is made there.
    """
    found: set[sympy.Expr] = set()
    for expr in exprs:
        # One walk for every kind (each walk costs the expression's DAG size).
        for node in atoms_of(expr, *KINKED, sympy.Max, sympy.Min, sympy.Piecewise):
            if isinstance(node, (sympy.Max, sympy.Min)):
                found.update(p - q for p, q in itertools.combinations(node.args, 2))
            elif isinstance(node, sympy.Piecewise):
                found.update(
                    c.lhs - c.rhs
                    for _, c in node.args
                    if isinstance(c, sympy.core.relational.Relational)
                )
            else:
                found.add(node.args[0])
    return sorted((g for g in found if g.free_symbols), key=sympy.default_sort_key)


@record
class _Sample:
    """One point of a comparison: the two sides' values there (None: undefined)."""

    point: dict[sympy.Symbol, mpmath.mpf]
    left: mpmath.mpf | None
    right: mpmath.mpf | None

    @property
    def agrees(self) -> bool:
        return self.left is not None and self.right is not None and _close(self.left, self.right)

    @property
    def differs(self) -> bool:
        """The reference is defined here and the other side is not, or has another value."""
        return self.right is not None and not self.agrees


#: Values of reference-side expressions by (expression, point, precision): see ``_Sampler``.
ValueMemo = dict[
    tuple[sympy.Expr, tuple[tuple[sympy.Symbol, mpmath.mpf], ...], int], "mpmath.mpf | None"
]
#: Most values one memo keeps before it starts again.
MEMO_VALUES = 50_000


class _Sampler:
    """Evaluates ``left`` and ``right`` at points of the domain, skipping kinks.

    With ``domain`` given, the domain is where ``right`` and every ``domain`` expression
    are real and defined, and ``left`` being undefined there is a difference. Without it,
    any point where one side is defined is kept (``left`` and ``right`` play equal parts).
    """

    def __init__(
        self,
        left: sympy.Expr,
        right: sympy.Expr,
        domain: Sequence[sympy.Expr] | None,
        memo: ValueMemo | None = None,
    ) -> None:
        self.left, self.right = left, right
        self.domain = tuple(domain) if domain is not None else None
        self.variables = _variables(left, right, *(self.domain or ()))
        self.kinks = kink_arguments(
            (right, *self.domain) if self.domain is not None else (left, right)
        )
        self.memo = memo

    def _reference(
        self, expr: sympy.Expr, point: dict[sympy.Symbol, mpmath.mpf]
    ) -> mpmath.mpf | None:
        """The value of a reference-side expression, looked up in ``memo`` when there is one:
        answers to one problem are sampled at the same points, so its values repeat."""
        if self.memo is None:
            return _sampled(expr, point)
        key = (expr, tuple(point.items()), mpmath.mp.dps)
        if key not in self.memo:
            if len(self.memo) >= MEMO_VALUES:
                self.memo.clear()
            self.memo[key] = _sampled(expr, point)
        return self.memo[key]

    def at(self, point: dict[sympy.Symbol, mpmath.mpf]) -> _Sample | None:
        """The sample at ``point``, or None outside the domain or at a kink."""
        for kink in self.kinks:
            value = self._reference(kink, point)
            if value is None or abs(value) <= TOLERANCE:
                return None
        if self.domain is not None and any(self._reference(e, point) is None for e in self.domain):
            return None
        right = self._reference(self.right, point)
        if right is None and self.domain is not None:
            return None
        left = _sampled(self.left, point)
        if left is None and right is None:
            return None
        return _Sample(point, left, right)

    def settled(self, sample: _Sample) -> _Sample | None:
        """A sample whose sides differ, trusted only once each side's value holds still as the
        precision doubles (:data:`SETTLE_DOUBLINGS` times at most); None when it never does.

        At 40 digits sin(3·e^(e^8.5)) is noise (its angle needs 2,000 digits before the
        point), so two equal sides can differ there: such a point decides nothing, and only
        a settled difference is one. Points that agree are not asked again.
        """
        digits = mpmath.mp.dps
        for _ in range(SETTLE_DOUBLINGS):
            digits *= 2
            try:
                with mpmath.workdps(digits):
                    finer = self.at(sample.point)
            except OutOfRange:
                return None
            if finer is None:
                return None  # outside the domain once computed more closely
            if _holds_still(sample.left, finer.left) and _holds_still(sample.right, finer.right):
                return sample
            sample = finer
        return None

    def sweep(
        self, rng: random.Random, samples: int
    ) -> tuple[list[_Sample], list[dict[sympy.Symbol, mpmath.mpf]]]:
        """Up to ``samples`` points of the domain (round ones first), and the points refused."""
        found: list[_Sample] = []
        refused: list[dict[sympy.Symbol, mpmath.mpf]] = []
        tries = 0
        # A few round points first: a counterexample at x = 1 is easier to check by hand;
        # most points stay random, so that a claim true at round numbers only is caught.
        nice = min(len(NICE_VALUES), max(4, samples // 3))
        while len(found) < samples and tries < samples * 6:
            tries += 1
            point = (
                _nice_point(self.variables, tries - 1)
                if tries <= nice
                else _sample(rng, self.variables)
            )
            try:
                sample = self.at(point)
            except OutOfRange:
                continue  # a value past what is computed: the point shows nothing
            if sample is None:
                refused.append(point)
            else:
                found.append(sample)
            if not self.variables:
                break
        return found, refused

    def dense(
        self, rng: random.Random, inside: Callable[[dict[sympy.Symbol, mpmath.mpf]], bool]
    ) -> list[_Sample]:
        """Points of the domain where ``inside`` holds, drawn at random."""
        found: list[_Sample] = []
        for _ in range(DENSE_SAMPLES * 10):
            point = _sample(rng, self.variables)
            if not inside(point):
                continue
            try:
                sample = self.at(point)
            except OutOfRange:
                continue
            if sample is not None and sample.differs:
                sample = self.settled(sample)
            if sample is not None:
                found.append(sample)
                if len(found) == DENSE_SAMPLES:
                    break
        return found


def numeric_comparison(
    a: sympy.Expr,
    b: sympy.Expr,
    *,
    samples: int = 24,
    seed: int = 2024,
    variants: int = 2,
    domain: Sequence[sympy.Expr] | None = None,
    memo: ValueMemo | None = None,
) -> Comparison:
    """Compare ``a`` with the reference ``b`` at ``samples`` random real points.

    With ``domain`` (the problem and its derivative), points are drawn only where those
    and ``b`` are defined, away from kinks; otherwise where either side is. Abstract
    functions are replaced by ``variants`` different concrete functions. ``equal_on_part``
    needs a region, a conjunction of sign conditions, that holds at every agreeing point
    and at no differing one, and where every one of many further points agrees too.
    """
    rng = random.Random(seed)
    exprs = (a, b, *(domain or ()))
    has_abstract = any(atoms_of(e, AppliedUndef) for e in exprs)
    sides = [concrete_all(exprs, v) for v in range(variants)] if has_abstract else [exprs]
    samplers = [
        _Sampler(side[0], side[1], side[2:] if domain is not None else None, memo) for side in sides
    ]
    found: list[tuple[_Sample, _Sampler]] = []
    refused: list[dict[sympy.Symbol, mpmath.mpf]] = []
    with mpmath.workdps(PRECISION):
        for sampler in samplers:
            kept, missed = sampler.sweep(rng, samples)
            found += [(sample, sampler) for sample in kept]
            refused += missed
            if not sampler.variables:
                break
        agree = [s for s, _ in found if s.agrees]
        settled = _settled_differences([(s, by) for s, by in found if s.differs], every=bool(agree))
        # A difference at 40 digits may be none once settled: such a point agrees.
        agree += [s for s in settled if s.agrees]
        differ = [s for s in settled if s.differs]
        one_sided = [s for s, _ in found if s.right is None]
        points = len(agree) + len(differ)
        signs = (
            _constant_signs(
                [s.point for s in agree + differ], refused, _candidates({}, kink_arguments(exprs))
            )
            if domain is not None
            else {}
        )
        if points == 0:
            return Comparison(
                "undecided", "numeric", 0, details=("no point where both sides are defined",)
            )
        if not differ:
            if one_sided:
                return _equal_where_both_defined(agree, one_sided, signs)
            return Comparison("equal", "numeric", points, signs=signs)
        counterexample = _roundest(differ)
        point = {s.name: float(v) for s, v in counterexample.point.items()}
        values = (_float(counterexample.left), _float(counterexample.right))
        region = _region(agree, differ + one_sided, exprs, samplers, rng) if agree else None
        if region is not None:
            return Comparison(
                "equal_on_part", "numeric", points, point, values, agree_where=region, signs=signs
            )
        return Comparison("not_equal", "numeric", points, point, values, signs=signs)


def _settled_differences(
    differing: Sequence[tuple[_Sample, _Sampler]], *, every: bool
) -> list[_Sample]:
    """The samples that differed, as settled (:meth:`_Sampler.settled`): each still differing,
    or agreeing once computed closely enough; a sample that never settles is dropped.

    With points that agree (``every``), each is settled: where the sides agree and where they
    differ is what a region of agreement is read from. With none, they are settled roundest
    first until one still differs (the counterexample shown), which decides "not equal"; the
    rest are kept as found.
    """
    if every:
        return [kept for sample, by in differing if (kept := by.settled(sample)) is not None]
    roundest_first = sorted(differing, key=lambda pair: _roundness(pair[0]))
    settled: list[_Sample] = []
    for index, (sample, by) in enumerate(roundest_first):
        kept = by.settled(sample)
        if kept is None:
            continue
        settled.append(kept)
        if kept.differs:
            return [*settled, *(s for s, _ in roundest_first[index + 1 :])]
    return settled


def _float(value: mpmath.mpf | None) -> float | None:
    return None if value is None else float(value)


def _roundest(samples: Sequence[_Sample]) -> _Sample:
    """The counterexample a student is shown: the roundest, then with the smallest coordinates."""
    return min(samples, key=_roundness)


def _roundness(sample: _Sample) -> tuple[bool, bool, mpmath.mpf]:
    """Integers first, then halves, then the smallest coordinates."""
    values = sample.point.values()
    return (
        not all(v == int(v) for v in values),
        not all(2 * v == int(2 * v) for v in values),
        max((abs(v) for v in values), default=mpmath.mpf(0)),
    )


def _equal_where_both_defined(
    agree: Sequence[_Sample], one_sided: Sequence[_Sample], signs: Mapping[str, int]
) -> Comparison:
    """No point where both sides are defined differs; one side is defined at more points."""
    sample = one_sided[0]
    defined = "first" if sample.left is not None else "second"
    where = ", ".join(f"{s.name} = {float(v):.4g}" for s, v in sample.point.items())
    conditions = _separating(agree, _candidates(sample.point))
    region = " and ".join(text for text, _ in conditions) or "wherever both are defined"
    return Comparison(
        "equal_on_part",
        "numeric",
        len(agree),
        {s.name: float(v) for s, v in sample.point.items()},
        None,
        agree_where=region
        + f" (they agree wherever both are defined; at {where} only the {defined} is)",
        signs=signs,
    )


def _constant_signs(
    points: Sequence[Mapping[sympy.Symbol, mpmath.mpf]],
    refused: Sequence[Mapping[sympy.Symbol, mpmath.mpf]],
    kinks: Sequence[sympy.Expr],
) -> dict[sympy.Expr, int]:
    """Variables and kink arguments with one sign on the domain, the other sign tried and refused."""
    signs: dict[sympy.Expr, int] = {}
    if not points:
        return signs
    for g in (*sorted(points[0], key=lambda s: s.name), *kinks):
        inside = [_value(g, p) for p in points]
        outside = [_value(g, p) for p in refused]
        for sign in (1, -1):
            if all(v is not None and sign * v > 0 for v in inside) and (
                sum(1 for v in outside if v is not None and sign * v < 0) >= SIGN_EVIDENCE
            ):
                signs[g] = sign
    return signs


_Condition = tuple[str, Callable[[Mapping[sympy.Symbol, mpmath.mpf]], bool]]


def _candidates(
    point: Mapping[sympy.Symbol, mpmath.mpf], extra: Sequence[sympy.Expr] = ()
) -> list[sympy.Expr]:
    """The expressions whose sign may bound a region: each variable, then each kink argument."""
    found = sorted(point, key=lambda s: s.name)
    return [*found, *(g for g in extra if g not in found and not g.atoms(AppliedUndef))]


def _separating(agree: Sequence[_Sample], candidates: Sequence[sympy.Expr]) -> list[_Condition]:
    """Every sign condition on a candidate that holds at all agreeing points."""
    conditions: list[_Condition] = []
    for g in candidates:
        values = [_value(g, s.point) for s in agree]
        known = [v for v in values if v is not None]
        if len(known) < len(values):
            continue
        for sign in (1, -1):
            if all(sign * v > 0 for v in known):
                conditions.append((_condition_text(g, sign), _holds(g, sign)))
    return conditions


def _holds(g: sympy.Expr, sign: int) -> Callable[[Mapping[sympy.Symbol, mpmath.mpf]], bool]:
    def inside(point: Mapping[sympy.Symbol, mpmath.mpf]) -> bool:
        value = _value(g, point)
        return value is not None and sign * value > 0

    return inside


def _condition_text(g: sympy.Expr, sign: int) -> str:
    """``g > 0`` (``sign`` 1) or ``g < 0`` as a student writes it: x^2 > 1 for x^2 - 1 > 0."""
    constant, rest = g.as_coeff_Add()
    left, right = rest, -constant
    relation = ">" if sign > 0 else "<"
    if left.could_extract_minus_sign():
        left, right = -left, -right
        relation = "<" if relation == ">" else ">"
    text = sympy.sstr(left).replace("**", "^")
    return f"{text} {relation} {sympy.sstr(right).replace('**', '^')}"


def _region(
    agree: Sequence[_Sample],
    differ: Sequence[_Sample],
    exprs: Sequence[sympy.Expr],
    samplers: Sequence[_Sampler],
    rng: random.Random,
) -> str | None:
    """The region where the sides agree, if one can be stated and a dense test confirms it.

    The region is the conjunction of every sign condition (on a variable or on the argument
    of a kink) that holds at all agreeing points; no differing point may satisfy it, and
    :data:`DENSE_SAMPLES` further points inside it must all agree. Agreement at scattered
    points (x = 1, where many slips coincide) gives no region.
    """
    conditions = _separating(agree, _candidates(agree[0].point, kink_arguments(exprs)))
    if not conditions:
        return None

    def inside(point: Mapping[sympy.Symbol, mpmath.mpf]) -> bool:
        return all(holds(point) for _, holds in conditions)

    if any(inside(s.point) for s in differ):
        return None
    dense = [s for sampler in samplers for s in sampler.dense(rng, inside)]
    if len(dense) < DENSE_MINIMUM or not all(s.agrees for s in dense):
        return None
    return " and ".join(text for text, _ in conditions)


def symbolic_zero(difference: sympy.Expr, seconds: float) -> bool:
    """True if sympy proves ``difference == 0`` within ``seconds`` of CPU time (False: 'not proved')."""
    if difference == 0:
        return True

    def prove() -> bool:
        identity = rational_identity(difference)
        if identity is not None:
            return identity
        forms = [difference]
        rewritten = rewrite_activations(difference)
        if rewritten != difference:
            forms.append(rewritten)
        # Cheap canonical forms for every form first, the expensive simplify last.
        for transform in (sympy.expand, sympy.cancel, _sign_form, _exp_form, sympy.simplify):
            for form in forms:
                if transform(form) == 0:
                    return True
            if transform is sympy.cancel and any(pythagorean_zero(form) for form in forms):
                return True
        return False

    return bool(attempt(seconds, prove))


def rewrite_activations(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with sigmoid and softplus written with exp and log, which simplifiers know."""
    return expr.replace(
        lambda e: isinstance(e, EXP_REWRITABLE),
        lambda e: e.rewrite(sympy.exp),
    )


def _sign_form(expr: sympy.Expr) -> sympy.Expr:
    """sign(u) written u/|u|, H(u) as (1 + u/|u|)/2: equal wherever the comparison looks (u ≠ 0)."""
    if not expr.has(sympy.sign, sympy.Heaviside):
        return expr
    steps = expr.replace(sympy.Heaviside, lambda u, *_: (1 + u / sympy.Abs(u)) / 2)
    return sympy.cancel(steps.replace(sympy.sign, lambda u: u / sympy.Abs(u)))


def _exp_form(expr: sympy.Expr) -> sympy.Expr:
    """Trigonometric and hyperbolic functions as exponentials, cancelled: many identities, fast."""
    return sympy.cancel(sympy.expand(expr.rewrite(sympy.exp)))


#: Largest degree (numerator plus denominator) :func:`rational_identity` evaluates exactly.
IDENTITY_DEGREE_LIMIT = 200


def rational_identity(expr: sympy.Expr) -> bool | None:
    """Is a rational expression in one variable identically zero? ``None``: not such an expression.

    A bound D on the degree of the numerator of ``expr`` (written over one denominator)
    is read off its tree; a non-zero polynomial of degree at most D has at most D roots,
    so exact rational evaluation at D + 1 points where ``expr`` is defined proves it zero —
    or, at the first non-zero value, proves it is not. This is how a quotient-rule step
    is confirmed in about a millisecond where ``cancel`` takes 10–50 ms.
    """
    free = free_symbols(expr)
    if len(free) > 1:
        return None
    x = next(iter(free)) if free else sympy.Dummy()
    try:
        bounds = _degree_bounds(expr, x, {})
    except RecursionError:  # a tree deeper than Python's stack: not worth an exact test
        return None
    # Every sub-expression's degrees are within the total: values stay a few hundred digits.
    if bounds is None or sum(bounds) > IDENTITY_DEGREE_LIMIT:
        return None
    numerator_degree, denominator_degree = bounds
    needed = numerator_degree + 1
    found = 0
    # Each denominator met while evaluating vanishes at most at its degree's number of points.
    for value in itertools.islice(_integers(), needed + denominator_degree + 1):
        try:
            result = _exact_value(expr, x, Fraction(value), {})
        except ZeroDivisionError:
            continue
        except RecursionError:
            return None
        if result != 0:
            return False
        found += 1
        if found == needed:
            return True
    return None


#: Most terms (read off the tree, :func:`expanded_terms`) an expression is multiplied out
#: to by :func:`as_polynomials`.
POLYNOMIAL_TERMS = 5_000
#: Most products of two terms multiplying out may take: (x − 1)^4999 has 5,000 terms but
#: takes millions of products of 1,500-digit numbers.
POLYNOMIAL_PRODUCTS = 10_000

#: A monomial: (index of a part, its exponent) pairs in order of the index, no exponent 0
#: (negative only for a part e^m, which is never 0: :meth:`_Multiplier.exponential`).
Monomial = tuple[tuple[int, int], ...]
#: A polynomial with rational coefficients, each monomial's coefficient (none zero): an int
#: where it is one (five times faster than a Fraction).
Polynomial = dict[Monomial, int | Fraction]


def as_polynomials(*exprs: sympy.Expr) -> tuple[Polynomial, ...] | None:
    """``exprs`` multiplied out as polynomials with rational coefficients in their *parts*.

    A part is a symbol or any other piece that is not a sum, a product or a positive
    integer power: a function value (e^(s·t), sin u), a root, a reciprocal, π. Each part is
    one unknown, independent of the others, so two expressions equal as polynomials are
    equal at every point where both are defined, whatever relations their parts have
    (sin²u + cos²u = 1 or √x·√x = x are not used: such a pair is merely not proved equal
    this way). Two function values or powers whose arguments are equal multiplied out are
    one part: the same function of equal values (σ(w·x + b) as typed and sympy's
    σ(b + w·x)); and e^(u+v) = e^u·e^v, which holds everywhere, is used
    (:meth:`_Multiplier.exponential`). The terms are those of ``sympy.expand`` but for the
    other relations, at a tenth of its cost. None: a float coefficient, or over
    :data:`SMALL_NODES` nodes, :data:`POLYNOMIAL_TERMS` terms written out or
    :data:`POLYNOMIAL_PRODUCTS` products of terms (counted as they are made).
    """
    if sum(tree_size(e, SMALL_NODES) for e in exprs) > SMALL_NODES:
        return None
    if any(expanded_terms(e) > POLYNOMIAL_TERMS for e in exprs):
        return None
    multiplier = _Multiplier()
    try:
        return tuple(multiplier.polynomial(e) for e in exprs)
    except _NotMultipliedOut:
        return None


class _NotMultipliedOut(Exception):
    """A float (or complex) coefficient, or too many products of terms."""


class _Multiplier:
    """Multiplies expressions out, numbering their parts and counting products of terms."""

    def __init__(self) -> None:
        #: Each part's number, by its identity (:meth:`part`).
        self.parts: dict[object, int] = {}
        self.memo: dict[sympy.Expr, Polynomial] = {}
        self.products = 0

    def polynomial(self, expr: sympy.Expr) -> Polynomial:
        known = self.memo.get(expr)
        if known is not None:
            return known
        result: Polynomial
        if isinstance(expr, sympy.Add):
            result = {}
            for arg in expr.args:
                for monomial, coefficient in self.polynomial(arg).items():
                    result[monomial] = result.get(monomial, 0) + coefficient
            result = {m: c for m, c in result.items() if c}
        elif isinstance(expr, sympy.Mul):
            result = {(): 1}
            for arg in expr.args:
                result = self.times(result, self.polynomial(arg))
        elif isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp > 0:
            # Squaring up to the power multiplies about half its terms by themselves: a
            # power too large for the count is refused before any of it is done.
            if (expanded_terms(expr) // 2) ** 2 > POLYNOMIAL_PRODUCTS - self.products:
                raise _NotMultipliedOut
            result = self.power(self.polynomial(expr.base), int(expr.exp))
        elif expr.is_Rational:
            value = int(expr.p) if expr.q == 1 else Fraction(int(expr.p), int(expr.q))
            result = {(): value} if value else {}
        elif expr.is_Number:
            raise _NotMultipliedOut
        elif isinstance(expr, sympy.exp):
            result = self.exponential(expr)
        else:
            result = {((self.part(expr), 1),): 1}
        self.memo[expr] = result
        return result

    def exponential(self, expr: sympy.exp) -> Polynomial:
        """e^(a·m + …), each term of the exponent with an integer ``a`` written (e^m)^a.

        e^(u + v) = e^u·e^v holds everywhere, and e^m is never 0, so negative powers of it
        are as exact as positive ones: e^(2x) and e^x·e^x, or e^(−x)·e^x and 1, multiply out
        alike. The terms with other coefficients (and a constant) stay one part together.
        """
        try:
            exponent = self.polynomial(expr.args[0])
        except _NotMultipliedOut:
            if self.products > POLYNOMIAL_PRODUCTS:
                raise
            return {((self.part(expr), 1),): 1}
        factors: dict[int, int] = {}
        rest: Polynomial = {}
        for monomial, coefficient in exponent.items():
            if monomial and isinstance(coefficient, int):
                # e^m numbered as :meth:`part` numbers e^m met on its own.
                factors[self._numbered(sympy.exp, _frozen({monomial: 1}))] = coefficient
            else:
                rest[monomial] = coefficient
        if rest:
            factors[self._numbered(sympy.exp, _frozen(rest))] = 1
        return {tuple(sorted(factors.items())): 1}

    def part(self, expr: sympy.Expr) -> int:
        """The number of the unknown ``expr`` stands for.

        A function value or a power is identified by its head and its arguments multiplied
        out, so that the order a sum was typed in (a claim keeps it) does not make two
        unknowns of one value. An argument that cannot be multiplied out (a float in it)
        identifies by itself; running out of products refuses the whole, as anywhere.
        """
        if isinstance(expr, (sympy.Function, sympy.Pow)):
            return self._numbered(expr.func, *(self._argument(arg) for arg in expr.args))
        return self.parts.setdefault(expr, len(self.parts))

    def _numbered(self, head: object, *arguments: object) -> int:
        """The number of ``head`` applied to arguments given by their identities."""
        return self.parts.setdefault((head, arguments), len(self.parts))

    def _argument(self, arg: sympy.Basic) -> object:
        try:
            return _frozen(self.polynomial(arg))
        except _NotMultipliedOut:
            if self.products > POLYNOMIAL_PRODUCTS:
                raise
            return arg

    def power(self, base: Polynomial, exponent: int) -> Polynomial:
        """``base`` to a positive integer power, by squaring (x^100000 is 17 products)."""
        result: Polynomial = {(): 1}
        while exponent:
            if exponent & 1:
                result = self.times(result, base)
            exponent >>= 1
            if exponent:
                base = self.times(base, base)
        return result

    def times(self, left: Polynomial, right: Polynomial) -> Polynomial:
        self.products += len(left) * len(right)
        if self.products > POLYNOMIAL_PRODUCTS:
            raise _NotMultipliedOut
        product: Polynomial = {}
        for left_monomial, left_coefficient in left.items():
            for right_monomial, right_coefficient in right.items():
                exponents = dict(left_monomial)
                for part, exponent in right_monomial:
                    exponents[part] = exponents.get(part, 0) + exponent
                monomial = tuple(sorted(exponents.items()))
                if 0 in exponents.values():  # e^x·e^(−x): a part cancelled is not in it
                    monomial = tuple((p, e) for p, e in monomial if e)
                product[monomial] = product.get(monomial, 0) + left_coefficient * right_coefficient
        return {m: c for m, c in product.items() if c}


def _frozen(polynomial: Polynomial) -> tuple[tuple[Monomial, int | Fraction], ...]:
    """A polynomial as a key: its terms in order of their monomials."""
    return tuple(sorted(polynomial.items()))


def _integers() -> itertools.chain[int]:
    return itertools.chain([0], itertools.chain.from_iterable((n, -n) for n in itertools.count(1)))


def _degree_bounds(
    expr: sympy.Expr, x: sympy.Symbol, memo: dict[sympy.Expr, tuple[int, int] | None]
) -> tuple[int, int] | None:
    """(numerator, denominator) degree bounds of ``expr`` as one fraction, or ``None`` if not rational."""
    if expr in memo:
        return memo[expr]
    bounds: tuple[int, int] | None
    if expr == x:
        bounds = (1, 0)
    elif expr.is_Rational:
        bounds = (0, 0)
    elif isinstance(expr, (sympy.Add, sympy.Mul)):
        known = []
        for arg in expr.args:
            part = _degree_bounds(arg, x, memo)
            if part is None:  # one non-rational term decides: stop at once
                memo[expr] = None
                return None
            known.append(part)
        denominator = sum(d for _, d in known)
        if isinstance(expr, sympy.Mul):
            bounds = (sum(n for n, _ in known), denominator)
        else:  # a/b + c/d = (ad + cb)/(bd)
            bounds = (max(n + denominator - d for n, d in known), denominator)
    elif isinstance(expr, sympy.Pow) and expr.exp.is_Integer:
        base = _degree_bounds(expr.base, x, memo)
        k = int(expr.exp)
        if base is None or abs(k) > IDENTITY_DEGREE_LIMIT:
            bounds = None
        else:
            bounds = (k * base[0], k * base[1]) if k >= 0 else (-k * base[1], -k * base[0])
    else:
        bounds = None
    memo[expr] = bounds
    return bounds


def _exact_value(
    expr: sympy.Expr, x: sympy.Symbol, at: Fraction, memo: dict[sympy.Expr, Fraction]
) -> Fraction:
    """``expr`` at ``x = at`` in exact rational arithmetic (``expr`` passed :func:`_degree_bounds`)."""
    if expr in memo:
        return memo[expr]
    value: Fraction
    if expr == x:
        value = at
    elif expr.is_Rational:
        value = Fraction(int(expr.p), int(expr.q))
    elif isinstance(expr, sympy.Add):
        value = sum((_exact_value(a, x, at, memo) for a in expr.args), Fraction(0))
    elif isinstance(expr, sympy.Mul):
        value = Fraction(1)
        for arg in expr.args:
            value *= _exact_value(arg, x, at, memo)
    else:  # an integer power
        value = _exact_value(expr.base, x, at, memo) ** int(expr.exp)
    memo[expr] = value
    return value


#: The trigonometric and the hyperbolic functions, each as a rational function of s = sin and
#: c = cos (sinh and cosh) of its angle.
_CIRCULAR: dict[type[sympy.Function], SinCosForm] = family_forms("circular")
_HYPERBOLIC: dict[type[sympy.Function], SinCosForm] = family_forms("hyperbolic")
CIRCULAR = tuple(_CIRCULAR)
HYPERBOLIC = tuple(_HYPERBOLIC)
_FAMILY = {function: "circular" for function in CIRCULAR} | {f: "hyperbolic" for f in HYPERBOLIC}


def pythagorean_zero(expr: sympy.Expr) -> bool:
    """True if ``expr`` is 0 by sin² + cos² = 1 and cosh² − sinh² = 1 alone (False: not proved).

    Each trigonometric or hyperbolic function of an angle ``a`` becomes a rational function
    of two fresh symbols s, c (``sec a = 1/c``), with every angle independent of the others;
    the numerator is then reduced modulo s² + c² − 1 (c² − s² − 1), one relation per angle.
    A zero remainder proves the identity for all angles at once, hence for these, wherever
    ``expr`` is defined. This is how ``sec²u = 1 + tan²u`` is proved in milliseconds where
    ``expand_trig`` and ``cancel`` take a tenth of a second and still fail.
    """
    applied = [
        a for a in expr.atoms(sympy.Function) if a.func in _CIRCULAR or a.func in _HYPERBOLIC
    ]
    if not applied:
        return False
    # The same identity decided by exact evaluation first: a millisecond, not ten.
    decided = circle_identity(expr)
    if decided is not None:
        return decided
    angles: dict[tuple[bool, sympy.Expr], tuple[sympy.Dummy, sympy.Dummy]] = {}
    replacements: dict[sympy.Expr, sympy.Expr] = {}
    relations: list[tuple[sympy.Dummy, sympy.Expr]] = []
    for application in sorted(applied, key=sympy.default_sort_key):
        hyperbolic = application.func in _HYPERBOLIC
        key = (hyperbolic, application.args[0])
        if key not in angles:
            s, c = sympy.Dummy("s"), sympy.Dummy("c")
            angles[key] = (s, c)
            relations.append((s, s**2 - c**2 + 1 if hyperbolic else s**2 + c**2 - 1))
        s, c = angles[key]
        forms = _HYPERBOLIC if hyperbolic else _CIRCULAR
        replacements[application] = forms[application.func](s, c)
    try:
        numerator, _ = sympy.fraction(sympy.cancel(expr.xreplace(replacements)))
        for s, relation in relations:
            numerator = sympy.rem(numerator, relation, s)
        return bool(sympy.expand(numerator) == 0)
    except (sympy.PolynomialError, sympy.polys.polyerrors.PolificationFailed):
        return False  # s or c under a root or inside another function: not a polynomial identity


#: Most points of the grid :func:`circle_identity` evaluates: a larger grid (high degrees, many
#: angles) is left to :func:`pythagorean_zero`'s cancellation.
CIRCLE_GRID_POINTS = 1024
#: Largest numerator degree in one variable :func:`circle_identity` evaluates.
CIRCLE_DEGREE_LIMIT = 60
#: Largest size (in bits, roughly) a value of a step may grow to: a typed 2^(10^9) unevaluated
#: is refused, not computed.
CIRCLE_BITS_LIMIT = 100_000

#: One step of a compiled expression, a kind and integers: ("variable", (k,)) the k-th grid
#: variable, ("number", (p, q)), ("leaf", (k, top, bottom)) a trigonometric or hyperbolic
#: function of angle k (top, bottom index :data:`_QUANTITY_DEGREES`), ("add", slots),
#: ("mul", slots), ("power", (slot, n)).
_Step = tuple[str, tuple[int, ...]]
#: Degree bounds, one per grid variable, then the total degree.
_Degrees = tuple[int, ...]
#: A function of an angle is a ratio of two of s = 2t, c = 1 − t² (1 + t²), r = 1 + t² (1 − t²)
#: at the angle's tangent half-angle t, circular (hyperbolic): sin = s/r, cos = c/r, tan = s/c.
#: Their degrees in t, in that order.
_QUANTITY_DEGREES = (1, 2, 2)
_leaf_patterns: dict[type, tuple[int, int] | None] = {}


def circle_identity(expr: sympy.Expr) -> bool | None:
    """Is ``expr`` 0 for all values of its variables and of each angle, angles independent?

    ``None``: not decided (not a rational function of variables and trigonometric or
    hyperbolic functions, or too large); ``False``: no such identity, so that
    :func:`pythagorean_zero` cannot prove it either. Each function of an angle is written
    with a fresh t per angle, sin = 2t/(1 + t²), cos = (1 − t²)/(1 + t²) (sinh, cosh = 2t,
    1 + t² over 1 − t²): ``expr`` is then a rational function N/D of the variables and the
    t's. With n_v bounding N's degree in variable v (n its total degree) and f_v, f those
    of F, the product of what the evaluation divides by, N·F vanishes at the points of a
    grid of n_v + f_v + 1 values per variable whose indices sum to at most n + f (F where an
    evaluation fails, N where one gives 0). Those points determine such a polynomial (see
    :func:`_lower_set`), so N·F is 0, and N is once one point evaluates. Exact evaluation
    at a few dozen points in place of a cancellation: the identity :func:`pythagorean_zero`
    proves.
    """
    compiled = _compile_circle(expr)
    return None if compiled is None else _decide_circle(*compiled)


def _decide_circle(steps: Sequence[_Step], kinds: Sequence[str]) -> bool | None:
    """:func:`circle_identity` of a compiled expression."""
    numerator, failures = _circle_degrees(steps, len(kinds))
    if max(numerator[:-1], default=0) > CIRCLE_DEGREE_LIMIT:
        return None
    *highest, total = (n + f for n, f in zip(numerator, failures, strict=True))
    indices = list(itertools.islice(_lower_set(highest, total), CIRCLE_GRID_POINTS + 1))
    if len(indices) > CIRCLE_GRID_POINTS:
        return None
    # A variable takes 0, ±1, ±2, …; an angle's t avoids 0 and ±1, where 2t or 1 ± t² vanish:
    # a leaf is defined at every point, so that only a division by a computed value fails.
    grids = [
        tuple(itertools.islice(_integers() if kind == "variable" else _angle_values(), size + 1))
        for kind, size in zip(kinds, highest, strict=True)
    ]
    points = [tuple(grids[v][i] for v, i in enumerate(index)) for index in indices]
    return _vanishes_at(steps, kinds, points)


def _lower_set(highest: Sequence[int], total: int) -> Iterator[tuple[int, ...]]:
    """Index tuples with each index at most ``highest`` and their sum at most ``total``, in
    lexicographic order.

    A polynomial within those degrees (each variable's and the total) that vanishes at the
    grid points they index is 0: written in the products (t − t₀)(t − t₁)… of the last
    variable's nodes, its first coefficient (a polynomial in the others) vanishes at the
    first node's points, so is 0 by induction; then the next, at the next node's points.
    """
    if not highest:
        yield ()
        return
    for first in range(min(highest[0], total) + 1):
        for rest in _lower_set(highest[1:], total - first):
            yield (first, *rest)


def _angle_values() -> itertools.chain[int]:
    return itertools.chain.from_iterable((n, -n) for n in itertools.count(2))


def _compile_circle(expr: sympy.Expr) -> tuple[list[_Step], list[str]] | None:
    """``expr`` as steps over its parts (each once, a part's arguments before it), and the kind
    of each grid variable: "variable", or the family of an angle ("circular", "hyperbolic").

    None if ``expr`` is not a rational function of symbols and trigonometric or hyperbolic
    functions (a root, exp, an unknown function, a float), or is deeper than Python's stack.
    """
    try:
        return _compiled(expr)
    except RecursionError:  # not worth an exact test
        return None


def _compiled(expr: sympy.Expr) -> tuple[list[_Step], list[str]] | None:
    from chainsolve.problem import evaluate_typed

    steps: list[_Step] = []
    bits: list[int] = []  # a rough bound on each step's value size, for a value of 8 bits
    kinds: list[str] = []
    grid_index: dict[tuple[str, sympy.Expr], int] = {}
    slots: dict[sympy.Expr, int] = {}
    angles: dict[sympy.Expr, sympy.Expr] = {}

    def angle(argument: sympy.Expr) -> sympy.Expr:
        # In sympy's evaluated form: a typed claim's 2x + 1 keeps the order it was written in,
        # and would be another angle than the reference's.
        if argument not in angles:
            angles[argument] = evaluate_typed(argument)
        return angles[argument]

    def variable(kind: str, key: sympy.Expr) -> int:
        if (kind, key) not in grid_index:
            grid_index[kind, key] = len(kinds)
            kinds.append(kind)
        return grid_index[kind, key]

    def slot(node: sympy.Expr) -> int | None:
        known = slots.get(node)
        if known is not None:
            return known
        step: _Step
        size = 8
        if isinstance(node, sympy.Symbol):
            step = ("variable", (variable("variable", node),))
        elif node.is_Rational:
            step = ("number", (int(node.p), int(node.q)))
            size = max(step[1][0].bit_length(), step[1][1].bit_length(), 1)
        elif isinstance(node, (sympy.Add, sympy.Mul)):
            args = []
            for arg in node.args:
                index = slot(arg)
                if index is None:  # one part that is not rational decides: stop at once
                    return None
                args.append(index)
            step = ("add" if isinstance(node, sympy.Add) else "mul", tuple(args))
            size = sum(bits[i] for i in args)
        elif isinstance(node, sympy.Pow) and node.exp.is_Integer:
            base = slot(node.base)
            if base is None:
                return None
            step = ("power", (base, int(node.exp)))
            size = abs(int(node.exp)) * bits[base]
        else:
            family = _FAMILY.get(node.func)
            pattern = None if family is None else _leaf_pattern(node.func)
            if family is None or pattern is None:
                return None
            step = ("leaf", (variable(family, angle(node.args[0])), *pattern))
        if size > CIRCLE_BITS_LIMIT:
            return None
        slots[node] = len(steps)
        steps.append(step)
        bits.append(size)
        return slots[node]

    return None if slot(expr) is None else (steps, kinds)


def _leaf_pattern(function: type) -> tuple[int, int] | None:
    """Which quantities (:data:`_QUANTITY_DEGREES`) a function is the ratio of: its form in
    sin and cos (:mod:`chainsolve.functions`) applied once to s/r and c/r, as s/c for tan."""
    if function not in _leaf_patterns:
        form = (_CIRCULAR | _HYPERBOLIC)[function]
        try:
            ratio = form(_Ratio(0, 2), _Ratio(1, 2))
        except TypeError:  # more than a quotient of sin and cos: not recognised
            ratio = None
        _leaf_patterns[function] = (ratio.top, ratio.bottom) if isinstance(ratio, _Ratio) else None
    return _leaf_patterns[function]


@dataclass(frozen=True, slots=True)
class _Ratio:
    """top/bottom, two of the quantities s, c, r by index: only the quotients a form in sin and
    cos takes (sin/cos, 1/sin) are defined, so that anything else is refused, not misread."""

    top: int
    bottom: int

    def __truediv__(self, other: object) -> _Ratio:
        if not isinstance(other, _Ratio) or other.bottom != self.bottom:
            return NotImplemented
        return _Ratio(self.top, other.top)  # (a/r)/(b/r) = a/b

    def __rtruediv__(self, other: object) -> _Ratio:
        if other != 1:
            return NotImplemented
        return _Ratio(self.bottom, self.top)


def _circle_degrees(steps: Sequence[_Step], variables: int) -> tuple[_Degrees, _Degrees]:
    """Degree bounds of the last step's numerator N and of F, the product of what the
    evaluation divides by: one per variable, then the total degree.

    Each step stands for a fraction N/D, its value where defined, with D a product of powers
    of known factors: a leaf's denominator (2t, 1 ± t² of its angle) or the numerator of a
    part divided by. A sum takes the least common multiple of its terms' denominators (the
    terms of a step share them: sec² u and tan² u both over (1 − t²)²), so that N stays
    near its real degree and the points needed few. The rules hold for each degree alike.
    """
    zero = (0,) * (variables + 1)

    def only(index: int, degree: int) -> _Degrees:
        return (*(degree if v == index else 0 for v in range(variables)), degree)

    def total(parts: Sequence[_Degrees]) -> _Degrees:
        return tuple(map(sum, zip(*parts, strict=True))) if parts else zero

    # The degrees of each factor of a denominator, by a key: (angle, quantity) for a leaf's,
    # (-1, slot) for the numerator of the part in that slot.
    factors: dict[tuple[int, int], _Degrees] = {}

    def degree(denominator: Mapping[tuple[int, int], int]) -> _Degrees:
        return total([_scaled(factors[key], m) for key, m in denominator.items()])

    bounds: list[tuple[_Degrees, dict[tuple[int, int], int], _Degrees]] = []
    for kind, args in steps:
        if kind == "variable":
            bounds.append((only(args[0], 1), {}, zero))
        elif kind == "number":
            bounds.append((zero, {}, zero))
        elif kind == "leaf":
            index, top, bottom = args
            factors[index, bottom] = only(index, _QUANTITY_DEGREES[bottom])
            # Never a failure: the grid avoids the zeros of 2t and 1 ± t².
            bounds.append((only(index, _QUANTITY_DEGREES[top]), {(index, bottom): 1}, zero))
        elif kind in ("add", "mul"):
            parts = [bounds[i] for i in args]
            failures = total([f for _, _, f in parts])
            denominator: dict[tuple[int, int], int] = {}
            for _, d, _ in parts:
                for key, m in d.items():
                    known = denominator.get(key, 0)
                    denominator[key] = known + m if kind == "mul" else max(known, m)
            if kind == "mul":
                numerator = total([n for n, _, _ in parts])
            else:  # Σ Nᵢ/Dᵢ = (Σ Nᵢ·(D/Dᵢ))/D, D the least common multiple
                common = degree(denominator)
                numerator = tuple(
                    max(n[v] + common[v] - d[v] for n, d in ((n, degree(d)) for n, d, _ in parts))
                    for v in range(variables + 1)
                )
            bounds.append((numerator, denominator, failures))
        else:  # an integer power
            (n, d, f), k = bounds[args[0]], args[1]
            if k >= 0:
                bounds.append((_scaled(n, k), {key: k * m for key, m in d.items()}, f))
            else:  # (N/D)^-k = D^k/N^k: fails where N vanishes
                factors[-1, args[0]] = n
                bounds.append((_scaled(degree(d), -k), {(-1, args[0]): -k}, total([f, n])))
    numerator, _, failures = bounds[-1]
    return numerator, failures


def _scaled(degrees: _Degrees, k: int) -> _Degrees:
    return tuple(k * degree for degree in degrees)


def _vanishes_at(
    steps: Sequence[_Step], kinds: Sequence[str], points: Sequence[tuple[int, ...]]
) -> bool | None:
    """Is the last step 0 at every point where it is defined (None: defined at none)?

    Values are exact (numerator, denominator) integer pairs, never reduced (a gcd per step
    costs more than the bits saved). The points come with the last variable changing
    fastest, and only the steps that depend on a variable that changed are evaluated again.
    """
    latest: list[int] = []  # the last grid variable each step depends on (-1: none)
    for kind, args in steps:
        if kind in ("variable", "leaf"):
            latest.append(args[0])
        elif kind == "number":
            latest.append(-1)
        elif kind == "power":
            latest.append(latest[args[0]])
        else:
            latest.append(max(latest[i] for i in args))
    everything = range(len(steps))
    redo = [[i for i in everything if latest[i] >= first] for first in range(len(kinds))]
    circular = [kind == "circular" for kind in kinds]
    values: list[tuple[int, int]] = [(0, 1)] * len(steps)
    previous: tuple[int, ...] | None = None
    defined = False
    for point in points:
        changed = (
            everything
            if previous is None
            else redo[
                next(v for v, (a, b) in enumerate(zip(point, previous, strict=True)) if a != b)
            ]
        )
        previous = None  # until this point is evaluated in full
        for i in changed:
            kind, args = steps[i]
            if kind == "variable":
                values[i] = (point[args[0]], 1)
            elif kind == "number":
                values[i] = (args[0], args[1])
            elif kind == "leaf":
                t = point[args[0]]
                square = t * t if circular[args[0]] else -t * t
                quantities = (2 * t, 1 - square, 1 + square)
                values[i] = (quantities[args[1]], quantities[args[2]])
            elif kind == "add":
                top, bottom = values[args[0]]
                for j in args[1:]:
                    p, q = values[j]
                    top, bottom = top * q + p * bottom, bottom * q
                values[i] = (top, bottom)
            elif kind == "mul":
                top, bottom = values[args[0]]
                for j in args[1:]:
                    p, q = values[j]
                    top, bottom = top * p, bottom * q
                values[i] = (top, bottom)
            else:
                (top, bottom), k = values[args[0]], args[1]
                if k < 0:
                    if top == 0:
                        break  # undefined here: F vanishes
                    top, bottom, k = bottom, top, -k
                values[i] = (top**k, bottom**k)
        else:
            if values[-1][0] != 0:
                return False
            defined = True
            previous = point
    return True if defined else None


def compare(
    a: sympy.Expr,
    b: sympy.Expr,
    *,
    proof_seconds: float = 2.0,
    seed: int = 2024,
    domain: Sequence[sympy.Expr] | None = None,
    memo: ValueMemo | None = None,
) -> Comparison:
    """Compare two expressions: numeric disproof or evidence, then a symbolic proof (``proof_seconds`` of CPU).

    With ``domain``, ``a`` is compared with ``b`` only where the ``domain`` expressions are
    defined (see :func:`numeric_comparison`); a variable that kept one sign on the whole
    sampled domain (x for log x) is given that sign for the proof, so 1/|x| = 1/x is
    proved there.
    """
    numeric = numeric_comparison(a, b, seed=seed, domain=domain, memo=memo)
    if numeric.verdict != "equal":
        return numeric
    difference = a - b
    if atoms_of(difference, AppliedUndef):
        difference = concrete_functions(difference, 0)
    if symbolic_zero(difference, proof_seconds):
        return Comparison("equal", "symbolic", numeric.points, signs=numeric.signs)
    # The proofs with signs known share one more budget: at most 2 × proof_seconds in all.
    signed = with_signs(difference, numeric.signs)
    if signed != difference and symbolic_zero(signed, proof_seconds / 2):
        return Comparison("equal", "symbolic", numeric.points, signs=numeric.signs)
    if _zero_in_every_orthant(signed, proof_seconds / 2):
        return Comparison("equal", "symbolic", numeric.points, signs=numeric.signs)
    return numeric


#: Most variables whose signs :func:`_zero_in_every_orthant` splits on (2^n proofs).
ORTHANT_VARIABLES = 2


def _zero_in_every_orthant(difference: sympy.Expr, seconds: float) -> bool:
    """Proved 0 for each sign of each variable: |x|, sqrt(x²), sqrt(1 − 1/x²) then simplify.

    This proves the difference zero wherever no variable is 0; a point where one is
    lies on a coordinate hyperplane, where a comparison never decides alone.
    """
    variables = sorted(
        (s for s in difference.free_symbols if s.is_real and s.is_positive is None),
        key=lambda s: s.name,
    )
    if not variables or len(variables) > ORTHANT_VARIABLES:
        return False
    cases = list(itertools.product((1, -1), repeat=len(variables)))
    share = seconds / len(cases)
    return all(
        symbolic_zero(
            with_signs(difference, dict(zip(variables, signs, strict=True))),
            share,
        )
        for signs in cases
    )


def with_signs(expr: sympy.Expr, signs: Mapping[sympy.Expr, int]) -> sympy.Expr:
    """``expr`` with |g| and sign(g) resolved for each g of known sign, then each such variable
    replaced by a symbol known to have its sign."""
    known = {g: sign for g, sign in signs.items() if not isinstance(g, sympy.Symbol)}
    if known:
        expr = expr.replace(
            lambda e: isinstance(e, (sympy.Abs, sympy.sign)) and e.args[0] in known,
            lambda e: known[e.args[0]] * (e.args[0] if isinstance(e, sympy.Abs) else 1),
        )
    replacements = {
        symbol: signs[symbol] * sympy.Dummy(symbol.name, positive=True)
        for symbol in expr.free_symbols
        if symbol in signs
    }
    return expr.xreplace(replacements) if replacements else expr


#: Most step checks remembered (a solution claims the same equality in several places).
CLAIM_CACHE_SIZE = 4096
#: Most terms an expansion of a step's difference may produce before it is not tried: the
#: count is read off the tree first, so (a + b + c)^1296 is never expanded.
EXPAND_TERMS_LIMIT = 5_000
#: Nodes written out above which an expression is never "small" (see :func:`_small`).
SMALL_NODES = 600
_claims: dict[tuple[int, int], list[tuple[sympy.Expr, sympy.Expr, Check]]] = {}


def check_claim(claimed: sympy.Expr, reference: sympy.Expr) -> Check:
    """The :class:`Check` of a step claiming ``claimed == reference``.

    A cheap symbolic proof is tried first; where it does not come, agreement at random
    points (high precision) confirms the step numerically; a disagreement leaves it unconfirmed.
    Cached: a solution claims the same equality in several places (the chain-rule step, then
    the substitution), and the check is deterministic (fixed seed, size gates) — unless a
    CPU-time net cut in, and such an outcome is not kept.
    """
    # Looked up by hash, then compared on the DAG: a dict lookup by value would compare
    # equal parts that are different objects written out (2ᵏ steps for k diamonds).
    key = (hash(claimed), hash(reference))
    for known_claimed, known_reference, known in _claims.get(key, ()):
        if same(known_claimed, claimed) and same(known_reference, reference):
            return known
    before = cut_ins()
    check = _check_claim(claimed, reference)
    if cut_ins() == before:
        if len(_claims) >= CLAIM_CACHE_SIZE:
            del _claims[next(iter(_claims))]
        _claims.setdefault(key, []).append((claimed, reference, check))
    return check


def remembered(claimed: sympy.Expr, reference: sympy.Expr) -> bool:
    """Is the check of ``claimed == reference`` remembered (see :func:`check_claim`)?"""
    known = _claims.get((hash(claimed), hash(reference)), ())
    return any(same(c, claimed) and same(r, reference) for c, r, _ in known)


def _check_claim(claimed: sympy.Expr, reference: sympy.Expr) -> Check:
    if claimed == reference:
        # The same tree: proved without building claimed − reference (sympy's first Add
        # imports its tensor module, a tenth of the import floor, for nothing).
        return Check("symbolic")
    if _partials_cancel(claimed, reference):
        # The same partials of an unknown function on both sides, in a polynomial identity.
        return Check("symbolic")
    polynomials = as_polynomials(claimed, reference)
    if polynomials is not None and polynomials[0] == polynomials[1]:
        # Equal multiplied out, each function value, root and reciprocal one unknown: the
        # usual chain-rule step (a product written out, its sums collected), proved
        # without building the difference.
        return Check("symbolic")
    small_claim = functools.cache(lambda: _small(claimed, reference))
    if _angle_identity(claimed, reference, small_claim):
        return Check("symbolic")
    difference = _evaluated(claimed) - reference
    identity = rational_identity(difference)
    if identity:
        return Check("symbolic")
    small = identity is None and small_claim()
    if identity is None and _worth_expanding(difference, small, claimed, reference):
        expanded = attempt(CLAIM_PROOF_SECONDS, lambda: sympy.expand(difference))
        if expanded is not None:
            difference = expanded
    if difference == 0:
        return Check("symbolic")
    # The claims of a worked solution are true but for a bug: proving first spares the
    # numeric comparison in the usual case. Cheap proofs only: a step must not cost more
    # than the derivation itself.
    if (
        small
        and not atoms_of(difference, AppliedUndef)
        and _proved(difference, CLAIM_PROOF_SECONDS)
    ):
        return Check("symbolic")
    if atoms_of(difference, AppliedUndef) and abstract_zero(difference):
        return Check("symbolic")
    numeric = numeric_comparison(claimed, reference, samples=8)
    if numeric.verdict == "equal_on_part" and numeric.values is None:
        # No point where both are defined disagrees; one side is only defined at more points
        # (x·x^(a−1) at x = 0, where sympy's x^a·a/x is not): equal on the common domain.
        return Check(
            "numeric",
            f"{numeric.points} random points, {PRECISION} digits; equal wherever both sides "
            "are defined",
        )
    if numeric.verdict != "equal":
        if numeric.counterexample:
            return Check("unconfirmed", f"differs at {numeric.counterexample}", differs=True)
        return Check("unconfirmed", "could not be evaluated")
    return Check("numeric", f"{numeric.points} random points, {PRECISION} digits")


def _angle_identity(claimed: sympy.Expr, reference: sympy.Expr, small: Callable[[], bool]) -> bool:
    """Is a step with a function of an angle (sec²u against 1 + tan²u) proved by
    :func:`circle_identity`, before its difference is built, evaluated or expanded?

    Asked of a small claim only, as the Pythagorean proof it stands in for is (a larger one
    is checked numerically, and that is what its step says). False: not proved this way.
    """
    if sum(tree_size(e, SMALL_NODES) for e in (claimed, reference)) > SMALL_NODES:
        return False
    if not (claimed.has(*CIRCULAR, *HYPERBOLIC) or reference.has(*CIRCULAR, *HYPERBOLIC)):
        return False  # not trigonometric (a walk of a bounded tree): the others decide
    # Unevaluated: exact evaluation needs no terms collected.
    negated = sympy.Mul(sympy.S.NegativeOne, reference, evaluate=False)
    compiled = _compile_circle(sympy.Add(claimed, negated, evaluate=False))
    if compiled is None:
        return False
    if atoms_of(claimed, AppliedUndef) or atoms_of(reference, AppliedUndef):
        return False  # an unknown function in an angle: the Pythagorean proof is not asked
    return small() and _decide_circle(*compiled) is True


def _evaluated(claimed: sympy.Expr) -> sympy.Expr:
    """A small claim in sympy's evaluated form, as its reference is (:func:`rules.sympy_derivative`).

    A claim keeps the parts as typed (tanh(w₁x + b₁) with its sum unsorted); subtracted from
    the evaluated reference, its equal terms would not cancel until a proof (30 ms each).
    Evaluating is sympy's own rewriting, which the reference rests on too; a large claim is
    left as it is (evaluating asks assumptions of every shared part written out).
    """
    if tree_size(claimed, SMALL_NODES) > SMALL_NODES:
        return claimed
    from chainsolve.problem import evaluate_typed

    return evaluate_typed(claimed)


def _proved(difference: sympy.Expr, seconds: float) -> bool:
    """``difference`` is 0 by the Pythagorean identities, or once cancelled (angles expanded first,
    sign(u) written u/|u|: 3x²·sign(x) = x²·sign(x) + 2x·|x|)."""
    if attempt(seconds, lambda: pythagorean_zero(difference)):
        return True
    signs = difference.has(sympy.sign, sympy.Heaviside)
    if signs and attempt(seconds, lambda: _sign_form(difference)) == 0:
        return True
    if difference.has(*_CIRCULAR, *_HYPERBOLIC):
        cancelled = attempt(seconds, lambda: sympy.cancel(sympy.expand_trig(difference)))
    else:
        cancelled = attempt(seconds, lambda: sympy.cancel(difference))
    return bool(cancelled == 0)


#: A partial derivative of an abstract function: the function, the argument positions
#: differentiated (sorted: the abstract functions are taken smooth, so mixed partials commute,
#: as with the concrete functions of :func:`concrete_all`), the point of evaluation.
PartialKey = tuple[type, tuple[int, ...], tuple[sympy.Expr, ...]]


def _places(derivative: sympy.Derivative) -> list[int] | None:
    """The argument position of each differentiation variable of ``f(…)``, in order.

    None unless each variable is exactly one argument of ``f`` and occurs in no other (then
    sympy's derivative by that variable is the partial by that argument).
    """
    if not isinstance(derivative.expr, AppliedUndef):
        return None
    arguments = derivative.expr.args
    places = []
    for variable, _ in derivative.variable_count:
        found = [i for i, argument in enumerate(arguments) if argument == variable]
        if len(found) != 1 or any(
            argument.has(variable) for i, argument in enumerate(arguments) if i != found[0]
        ):
            return None
        places.append(found[0])
    return places


def _split(node: sympy.Expr) -> tuple[sympy.Derivative | None, dict[sympy.Basic, sympy.Basic]]:
    """The Derivative of ``node`` (itself, or what a Subs evaluates) and the Subs' point."""
    point: dict[sympy.Basic, sympy.Basic] = {}
    if isinstance(node, sympy.Subs):
        point = dict(zip(node.variables, node.point, strict=True))
        node = node.expr
    return (node if isinstance(node, sympy.Derivative) else None), point


def partial_key(node: sympy.Expr) -> PartialKey | None:
    """``node`` (a Derivative of ``f(…)``, or a Subs of one) as the partial it stands for."""
    return _by_node(_partial_keys, node, _partial_key)


def _partial_key(node: sympy.Expr) -> PartialKey | None:
    derivative, point = _split(node)
    places = None if derivative is None else _places(derivative)
    if derivative is None or places is None:
        return None
    positions = sorted(
        place
        for place, (_, count) in zip(places, derivative.variable_count, strict=True)
        for _ in range(int(count))
    )
    evaluated = tuple(argument.xreplace(point) for argument in derivative.expr.args)
    return (derivative.expr.func, tuple(positions), evaluated)


def _in_argument_order(node: sympy.Expr) -> sympy.Expr:
    """``node`` with its differentiation variables in argument order, as sympy compares it.

    sympy's own equality of Subs (its canonical names for substituted variables) then also
    matches a Subs of sympy.diff whose point sympy left as such a name.
    """
    return _by_node(_argument_orders, node, _rebuilt_in_argument_order)


def _rebuilt_in_argument_order(node: sympy.Expr) -> sympy.Expr:
    derivative, point = _split(node)
    places = None if derivative is None else _places(derivative)
    if derivative is None or places is None:
        return node
    ordered = [pair for _, pair in sorted(zip(places, derivative.variable_count, strict=True))]
    if ordered == list(derivative.variable_count):
        return node  # in argument order already: rebuilt, it would be the same (~0.5 ms a Subs)
    rebuilt = sympy.Derivative(derivative.expr, *ordered, evaluate=False)
    if isinstance(node, sympy.Subs):
        return sympy.Subs(rebuilt, tuple(point), tuple(point.values()))
    return rebuilt


def abstract_zero(difference: sympy.Expr) -> bool:
    """``difference`` is 0 once each partial of an abstract function is one symbol per partial.

    A structural proof: the same partials at the same points on both sides (whatever order
    sympy wrote the variables in, Derivative by g(t) or Subs at g(t)), then the remainder is
    a polynomial identity in them. Size-gated like the other cheap proofs; False: not proved.
    """
    if tree_size(difference, SMALL_NODES) > SMALL_NODES:
        return False
    return _expands_to_zero(_with_placeholders(difference, _partial_symbols(difference), {}))


def _expands_to_zero(masked: sympy.Basic) -> bool:
    """Does ``masked`` (partials held as symbols) expand to 0, within the size and CPU bounds?"""
    if expanded_terms(masked) > EXPAND_TERMS_LIMIT:
        return False
    return bool(attempt(CLAIM_PROOF_SECONDS, lambda: sympy.expand(masked)) == 0)


def _partials_cancel(claimed: sympy.Expr, reference: sympy.Expr) -> bool:
    """:func:`abstract_zero` of ``claimed − reference``, each side masked on its own first.

    The difference of two sums of Subs is never built: sympy compares each Subs with the
    other side's while adding them (its canonical form, ~0.3 ms a comparison), and
    expanding it rebuilds each one. False: not proved (the general check follows).
    """
    both = sympy.Tuple(claimed, reference)
    if not _small_with_unknowns(both) or tree_size(both, SMALL_NODES) > SMALL_NODES:
        return False
    symbols = _partial_symbols(both)
    if not symbols:
        return False
    done: dict[int, sympy.Basic] = {}
    masked = (
        _with_placeholders(claimed, symbols, done),
        _with_placeholders(reference, symbols, done),
    )
    return _expands_to_zero(masked[0] - masked[1])


def _small_with_unknowns(expr: sympy.Basic) -> bool:
    """Does ``expr`` hold an unknown function in at most :data:`SMALL_NODES` distinct parts?

    The walk stops past that many (a large claim, a chain of diamonds, is never masked), so
    that every other claim pays a few hundred steps at most for the question.
    """
    found = False
    for count, node in enumerate(distinct_parts(expr), start=1):
        if count > SMALL_NODES:
            return False
        found = found or isinstance(node, AppliedUndef)
    return found


def _partial_symbols(expr: sympy.Expr) -> dict[int, sympy.Dummy]:
    """One symbol per partial of ``expr``, by node identity: nodes with the same
    :func:`partial_key`, or equal for sympy once in argument order, share it (a union of the
    two matchings)."""
    nodes = [n for n in _nodes_of(expr, (sympy.Subs, sympy.Derivative)) if partial_key(n)]
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for key_of in (partial_key, _in_argument_order):
        first: dict[object, int] = {}
        for i, node in enumerate(nodes):
            j = first.setdefault(key_of(node), i)
            parent[root(i)] = root(j)
    symbols: dict[int, sympy.Dummy] = {}
    return {id(node): symbols.setdefault(root(i), sympy.Dummy("d")) for i, node in enumerate(nodes)}


def _nodes_of(expr: sympy.Basic, types: tuple[type, ...]) -> list[sympy.Basic]:
    """The parts of ``expr`` that are instances of ``types``, each object once (by identity:
    equal Subs are never compared, which costs sympy their canonical forms)."""
    return [node for node in distinct_parts(expr) if isinstance(node, types)]


_Value = TypeVar("_Value")
#: Most nodes whose partial key (or form in argument order) is remembered.
NODE_MEMO_SIZE = 1024
_partial_keys: dict[int, tuple[sympy.Basic, PartialKey | None]] = {}
_argument_orders: dict[int, tuple[sympy.Basic, sympy.Expr]] = {}


def _by_node(
    memo: dict[int, tuple[sympy.Basic, _Value]],
    node: sympy.Expr,
    compute: Callable[[sympy.Expr], _Value],
) -> _Value:
    """``compute(node)``, remembered by the node's identity: a solution's claims share their
    Subs objects, and hashing or comparing a Subs costs sympy its canonical form. The node is
    kept with its value, so that its id cannot be reused while remembered."""
    known = memo.get(id(node))
    if known is not None:
        return known[1]
    value = compute(node)
    if len(memo) >= NODE_MEMO_SIZE:
        memo.clear()
    memo[id(node)] = (node, value)
    return value


def _with_placeholders(
    expr: sympy.Basic, symbols: Mapping[int, sympy.Dummy], done: dict[int, sympy.Basic]
) -> sympy.Basic:
    """``expr`` with each partial (by identity, as :func:`_partial_symbols` gives them)
    replaced by its symbol, outermost first.

    Any other Derivative or Subs is left whole: a placeholder inside it would be a constant to
    its differentiation, or escape its substitution.
    """
    if id(expr) in done:
        return done[id(expr)]
    if isinstance(expr, (sympy.Subs, sympy.Derivative)):
        result: sympy.Basic = symbols.get(id(expr), expr)
    elif expr.args:
        args = [_with_placeholders(arg, symbols, done) for arg in expr.args]
        changed = any(new is not old for new, old in zip(args, expr.args, strict=True))
        result = expr.func(*args) if changed else expr
    else:
        result = expr
    done[id(expr)] = result
    return result


def expanded_terms(expr: sympy.Expr) -> int:
    """An upper bound on the number of terms ``sympy.expand(expr)`` gives, read off the tree.

    A sum adds its terms' counts, a product multiplies them, and a sum of k terms to a
    positive integer power n gives at most C(n + k - 1, k - 1) terms.
    """
    if isinstance(expr, sympy.Add):
        return sum(expanded_terms(arg) for arg in expr.args)
    if isinstance(expr, sympy.Mul):
        return math.prod(expanded_terms(arg) for arg in expr.args)
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp > 0:
        terms = expanded_terms(expr.base)
        if terms == 1:
            return 1
        return math.comb(int(expr.exp) + terms - 1, terms - 1)
    return 1


def written_out_size(expr: sympy.Expr, operations: int) -> int:
    """Roughly how many operations ``expand`` or ``cancel`` write ``expr`` out to: the terms of
    its numerator and denominator written out (:func:`expanded_terms` of each), times its
    ``operations`` as held, times the terms of its widest argument of a function or root
    written out (both write those out too, in every term)."""
    denominators = [p.base**-p.exp for p in expr.atoms(sympy.Pow) if p.exp.is_Integer and p.exp < 0]
    terms = expanded_terms(expr) + sum(expanded_terms(d) for d in denominators)
    arguments = (
        argument
        for node in expr.atoms(sympy.Function, sympy.Pow)
        if not (isinstance(node, sympy.Pow) and node.exp.is_Integer)
        for argument in node.args
    )
    widest = max((expanded_terms(argument) for argument in arguments), default=1)
    return terms * operations * widest


#: Most terms an expansion may give to be tried on a claim that is not small: a chain of
#: activations (the ML loss) has many operations but expands to a few terms, which prove it
#: for less than the numeric comparison costs.
FEW_TERMS = 64


def _worth_expanding(
    difference: sympy.Expr, small: bool, claimed: sympy.Expr, reference: sympy.Expr
) -> bool:
    """Is expanding ``difference`` a cheap proof? Its terms are counted on a bounded tree only."""
    if not small and tree_size(claimed, SMALL_NODES) + tree_size(reference, SMALL_NODES) > (
        SMALL_NODES
    ):
        return False
    terms = expanded_terms(difference)
    return terms <= (EXPAND_TERMS_LIMIT if small else FEW_TERMS)


def _small(*exprs: sympy.Expr) -> bool:
    # count_ops walks a flattened DAG written out (2ᵏ leaves for k diamonds): a bounded node
    # count on the DAG rules out the large ones first (a tree of 600 nodes has over 60 ops).
    if sum(tree_size(e, SMALL_NODES) for e in exprs) > SMALL_NODES:
        return False
    return sum(operations(e) for e in exprs) < 60
