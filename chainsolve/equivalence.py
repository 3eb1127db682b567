"""Are two expressions equal? Numeric comparison at random real points, then a budgeted proof."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import mpmath
import sympy
from sympy.core.function import AppliedUndef

from chainsolve.budget import attempt, cut_ins
from chainsolve.numeric import Undefined, evaluate
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


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing ``a`` and ``b``.

    ``counterexample`` maps variable names to a point where both sides are defined and
    differ, with ``values`` the two sides there; ``agree_where`` describes the region
    where an ``equal_on_part`` pair agrees.
    """

    verdict: Verdict
    method: str
    points: int = 0
    counterexample: Mapping[str, float] | None = None
    values: tuple[float, float] | None = None
    agree_where: str = ""
    details: tuple[str, ...] = field(default=())


def concrete_functions(expr: sympy.Expr, variant: int) -> sympy.Expr:
    """Replace each abstract function ``f(a, b, …)`` by a concrete smooth function of its arguments.

    Different ``variant``s give different functions, so that a claim true for the
    concrete choice by accident is still caught by another. Derivatives of the
    abstract functions are then evaluated.
    """
    applied = sorted(expr.atoms(AppliedUndef), key=sympy.default_sort_key)
    if not applied:
        return expr
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
    replaced = expr.subs({cls: replacements[cls.__name__] for cls in classes})
    return replaced.doit()


def _variables(*exprs: sympy.Expr) -> list[sympy.Symbol]:
    found: set[sympy.Symbol] = set()
    for expr in exprs:
        found |= expr.free_symbols
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


def _value(expr: sympy.Expr, point: Mapping[sympy.Symbol, mpmath.mpf]) -> mpmath.mpf | None:
    try:
        return evaluate(expr, point)
    except (Undefined, OverflowError, ZeroDivisionError, ValueError):
        return None


#: Round values tried first, variable by variable (shifted so that x and y differ).
NICE_VALUES = (1, 2, -1, 3, -2)


def _nice_point(variables: Sequence[sympy.Symbol], index: int) -> dict[sympy.Symbol, mpmath.mpf]:
    return {
        symbol: mpmath.mpf(NICE_VALUES[(index + offset) % len(NICE_VALUES)])
        for offset, symbol in enumerate(variables)
    }


def _close(left: mpmath.mpf, right: mpmath.mpf) -> bool:
    return bool(abs(left - right) <= TOLERANCE * max(1, abs(left), abs(right)))


def numeric_comparison(
    a: sympy.Expr,
    b: sympy.Expr,
    *,
    samples: int = 24,
    seed: int = 2024,
    variants: int = 2,
) -> Comparison:
    """Compare ``a`` and ``b`` at ``samples`` random real points where both are defined.

    Abstract functions are replaced by ``variants`` different concrete functions.
    """
    rng = random.Random(seed)
    agree: list[dict[sympy.Symbol, mpmath.mpf]] = []
    disagree: list[tuple[dict[sympy.Symbol, mpmath.mpf], mpmath.mpf, mpmath.mpf]] = []
    # Points where exactly one side is defined: the two differ in domain there.
    one_sided: list[tuple[dict[sympy.Symbol, mpmath.mpf], str]] = []
    has_abstract = bool(a.atoms(AppliedUndef) or b.atoms(AppliedUndef))
    pairs = (
        [(concrete_functions(a, v), concrete_functions(b, v)) for v in range(variants)]
        if has_abstract
        else [(a, b)]
    )
    with mpmath.workdps(PRECISION):
        for left_expr, right_expr in pairs:
            variables = _variables(left_expr, right_expr)
            tries = 0
            valid = 0
            while valid < samples and tries < samples * 6:
                tries += 1
                # A few round points first: a counterexample at x = 1 is easier to check by hand.
                point = _nice_point(variables, tries - 1) if tries <= 4 else _sample(rng, variables)
                left = _value(left_expr, point)
                right = _value(right_expr, point)
                if left is None or right is None:
                    if (left is None) != (right is None):
                        one_sided.append((point, "first" if right is None else "second"))
                    continue
                valid += 1
                if _close(left, right):
                    agree.append(point)
                else:
                    disagree.append((point, left, right))
            if not variables:
                break
    points = len(agree) + len(disagree)
    if points == 0:
        return Comparison(
            "undecided", "numeric", 0, details=("no point where both sides are defined",)
        )
    if not disagree and one_sided and points:
        point, defined = one_sided[0]
        where = ", ".join(f"{s.name} = {float(v):.4g}" for s, v in point.items())
        return Comparison(
            "equal_on_part",
            "numeric",
            points,
            {s.name: float(v) for s, v in point.items()},
            None,
            agree_where=_describe_region(agree, [p for p, _ in one_sided])
            + f" (they agree wherever both are defined; at {where} only the {defined} is)",
        )
    if not disagree:
        return Comparison("equal", "numeric", points)
    # The counterexample a student is shown: the roundest, then the one with the smallest coordinates.
    point, left, right = min(
        disagree,
        key=lambda d: (
            not all(v == int(v) for v in d[0].values()),
            max((abs(v) for v in d[0].values()), default=0),
        ),
    )
    counterexample = {s.name: float(v) for s, v in point.items()}
    values = (float(left), float(right))
    if agree:
        return Comparison(
            "equal_on_part",
            "numeric",
            points,
            counterexample,
            values,
            agree_where=_describe_region(agree, [p for p, _, _ in disagree]),
        )
    return Comparison("not_equal", "numeric", points, counterexample, values)


def _describe_region(
    agree: Sequence[Mapping[sympy.Symbol, mpmath.mpf]],
    disagree: Sequence[Mapping[sympy.Symbol, mpmath.mpf]],
) -> str:
    """A sign condition separating agreeing from disagreeing points, if a variable's sign does."""
    conditions = []
    for symbol in sorted(agree[0], key=lambda s: s.name):
        if all(p[symbol] > 0 for p in agree) and any(p[symbol] < 0 for p in disagree):
            conditions.append(f"{symbol.name} > 0")
        elif all(p[symbol] < 0 for p in agree) and any(p[symbol] > 0 for p in disagree):
            conditions.append(f"{symbol.name} < 0")
    if conditions:
        return " and ".join(conditions)
    return "at some of the sampled points only"


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
    from chainsolve import functions

    return expr.replace(
        lambda e: isinstance(e, (functions.sigmoid, functions.softplus)),
        lambda e: e.rewrite(sympy.exp),
    )


def _sign_form(expr: sympy.Expr) -> sympy.Expr:
    """sign(u) written u/|u|: equal wherever both are defined, which is all a comparison claims."""
    if not expr.has(sympy.sign):
        return expr
    return sympy.cancel(expr.replace(sympy.sign, lambda u: u / sympy.Abs(u)))


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
    free = expr.free_symbols
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


_Form = Callable[[sympy.Expr, sympy.Expr], sympy.Expr]
#: sin, cos, tan, cot, sec, csc of one angle as rational functions of s = sin and c = cos;
#: the same forms serve sinh, cosh, … with s = sinh and c = cosh.
_FORMS: tuple[_Form, ...] = (
    lambda s, c: s,
    lambda s, c: c,
    lambda s, c: s / c,
    lambda s, c: c / s,
    lambda s, c: 1 / c,
    lambda s, c: 1 / s,
)
CIRCULAR = (sympy.sin, sympy.cos, sympy.tan, sympy.cot, sympy.sec, sympy.csc)
HYPERBOLIC = (sympy.sinh, sympy.cosh, sympy.tanh, sympy.coth, sympy.sech, sympy.csch)
_CIRCULAR: dict[type, _Form] = dict(zip(CIRCULAR, _FORMS, strict=True))
_HYPERBOLIC: dict[type, _Form] = dict(zip(HYPERBOLIC, _FORMS, strict=True))


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


def compare(
    a: sympy.Expr, b: sympy.Expr, *, proof_seconds: float = 2.0, seed: int = 2024
) -> Comparison:
    """Compare two expressions: numeric disproof or evidence, then a symbolic proof (``proof_seconds`` of CPU)."""
    numeric = numeric_comparison(a, b, seed=seed)
    if numeric.verdict != "equal":
        return numeric
    difference = a - b
    if difference.atoms(AppliedUndef):
        difference = concrete_functions(difference, 0)
    if symbolic_zero(difference, proof_seconds):
        return Comparison("equal", "symbolic", numeric.points)
    return numeric


#: Most step checks remembered (a solution claims the same equality in several places).
CLAIM_CACHE_SIZE = 4096
#: Most terms an expansion of a step's difference may produce before it is not tried: the
#: count is read off the tree first, so (a + b + c)^1296 is never expanded.
EXPAND_TERMS_LIMIT = 5_000
_claims: dict[tuple[sympy.Expr, sympy.Expr], Check] = {}


def check_claim(claimed: sympy.Expr, reference: sympy.Expr) -> Check:
    """The :class:`Check` of a step claiming ``claimed == reference``.

    A cheap symbolic proof is tried first; where it does not come, agreement at random
    points (high precision) confirms the step numerically; a disagreement leaves it unconfirmed.
    Cached: a solution claims the same equality in several places (the chain-rule step, then
    the substitution), and the check is deterministic (fixed seed, size gates) — unless a
    CPU-time net cut in, and such an outcome is not kept.
    """
    key = (claimed, reference)
    known = _claims.get(key)
    if known is not None:
        return known
    before = cut_ins()
    check = _check_claim(claimed, reference)
    if cut_ins() == before:
        if len(_claims) >= CLAIM_CACHE_SIZE:
            del _claims[next(iter(_claims))]
        _claims[key] = check
    return check


def _check_claim(claimed: sympy.Expr, reference: sympy.Expr) -> Check:
    difference = claimed - reference
    identity = rational_identity(difference)
    if identity:
        return Check("symbolic")
    small = identity is None and _small(claimed, reference)
    if small and expanded_terms(difference) <= EXPAND_TERMS_LIMIT:
        expanded = attempt(CLAIM_PROOF_SECONDS, lambda: sympy.expand(difference))
        if expanded is not None:
            difference = expanded
    if difference == 0:
        return Check("symbolic")
    # The claims of a worked solution are true but for a bug: proving first spares the
    # numeric comparison in the usual case. Cheap proofs only: a step must not cost more
    # than the derivation itself.
    if small and not difference.atoms(AppliedUndef) and _proved(difference, CLAIM_PROOF_SECONDS):
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
        detail = (
            f"differs at {numeric.counterexample}"
            if numeric.counterexample
            else "could not be evaluated"
        )
        return Check("unconfirmed", detail)
    return Check("numeric", f"{numeric.points} random points, {PRECISION} digits")


def _proved(difference: sympy.Expr, seconds: float) -> bool:
    """``difference`` is 0 by the Pythagorean identities, or once cancelled (angles expanded first)."""
    if attempt(seconds, lambda: pythagorean_zero(difference)):
        return True
    if difference.has(*_CIRCULAR, *_HYPERBOLIC):
        cancelled = attempt(seconds, lambda: sympy.cancel(sympy.expand_trig(difference)))
    else:
        cancelled = attempt(seconds, lambda: sympy.cancel(difference))
    return bool(cancelled == 0)


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


def _small(*exprs: sympy.Expr) -> bool:
    return bool(sum(sympy.count_ops(e, visual=False) for e in exprs) < 60)
