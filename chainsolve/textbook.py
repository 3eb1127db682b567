"""Results in textbook form: the equal simpler forms a teacher writes, each with its domain condition.

The one place where chainsolve chooses between equal forms of a result. The candidates are
made by a fixed sequence of rewrites (:data:`REWRITES`), each tried on the best form so far;
a rewrite is kept when its form scores lower (:func:`score`: fewer kinks, then fewer
operations) and the existing equivalence code finds it equal to the form before it. A
rewrite that is only equal where something is non-zero (sign(x)/|x| = 1/x for x ≠ 0) records
that condition, and so does a problem with a kink (|x|, sign x): its derivative exists only
away from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sympy
from sympy.simplify.fu import TR8, TR2i

from chainsolve.budget import attempt
from chainsolve.equivalence import numeric_comparison
from chainsolve.functions import relu

#: Most operations a result may have for the rewrites to be tried (as ``tidy``'s own gate).
TEXTBOOK_OPS = 300
#: CPU seconds one rewrite may take: a safety net, far above what the size gate lets through.
REWRITE_SECONDS = 0.5

#: Functions whose derivative exists only away from the zeros of their argument.
_KINKED = (sympy.Abs, sympy.sign)


@dataclass(frozen=True, slots=True)
class TextbookForm:
    """A result as a teacher writes it: the form, what it rests on, and where it holds.

    ``conditions`` are the expressions that must be non-zero (x for x ≠ 0); ``rewrites``
    the ids of the rewrites applied, in order; ``indicator`` the arguments of the Heaviside
    steps (relu′) whose meaning, 1 where the argument is positive, else 0, must be stated.
    """

    expr: sympy.Expr
    conditions: tuple[sympy.Expr, ...] = ()
    rewrites: tuple[str, ...] = ()
    indicator: tuple[sympy.Expr, ...] = ()


def score(expr: sympy.Expr) -> tuple[int, int]:
    """How far from textbook form: kinks (|u|, sign u) first, then sympy's operation count."""
    return len(expr.atoms(*_KINKED)), int(sympy.count_ops(expr))


def _sign_as_ratio(expr: sympy.Expr) -> sympy.Expr:
    """sign(g) as g/|g|, so that sign(x)/|x| = x/x² = 1/x (sympy folds |g|² into g² itself)."""
    return expr.replace(sympy.sign, lambda g: g / sympy.Abs(g))


def _cancel_rational(expr: sympy.Expr) -> sympy.Expr:
    """One fraction in lowest terms, for a rational function: −1/(x²(1 + 1/x²)) → −1/(x² + 1)."""
    symbols = expr.free_symbols
    if not symbols or not expr.is_rational_function(*symbols):
        return expr
    return sympy.factor(sympy.cancel(expr))


def _merge_powers(expr: sympy.Expr) -> sympy.Expr:
    """Powers of one base merged: t·t^(t − 1) → tᵗ (unchanged when no power merges)."""
    merged = sympy.powsimp(expr)
    # Rebuilding a product can also move its sign into a sum: that is no a^m·a^n = a^(m+n).
    if merged.atoms(sympy.Pow, sympy.exp) == expr.atoms(sympy.Pow, sympy.exp):
        return expr
    return merged


def _common_factor(expr: sympy.Expr) -> sympy.Expr:
    """Common factors (and a common sign) taken out: tᵗ + tᵗ·ln t → tᵗ(ln t + 1)."""
    return sympy.factor_terms(expr)


def _tangent(expr: sympy.Expr) -> sympy.Expr:
    """sin u / cos u as tan u."""
    return TR2i(expr)


def _double_angle(expr: sympy.Expr) -> sympy.Expr:
    """cos²u − sin²u as cos 2u and sin u·cos u as sin(2u)/2, and no other new angle."""
    rewritten = TR8(expr)
    old = _trig_arguments(expr)
    new = _trig_arguments(rewritten) - old
    if any(sympy.expand(argument / 2) not in old for argument in new):
        return expr  # cos 3x from sin²x·cos x: shorter, but not what a teacher writes
    return rewritten


def _trig_arguments(expr: sympy.Expr) -> set[sympy.Expr]:
    return {f.args[0] for f in expr.atoms(sympy.sin, sympy.cos, sympy.tan)}


def _has_sin_and_cos(expr: sympy.Expr) -> bool:
    return bool(expr.has(sympy.sin) and expr.has(sympy.cos))


def _has_powers(expr: sympy.Expr) -> bool:
    return bool(expr.has(sympy.Pow, sympy.exp))


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One move towards textbook form, by id (the id says which identity the step rests on).

    ``applies`` is a cheap test of whether the move can change anything at all.
    """

    id: str
    apply: Callable[[sympy.Expr], sympy.Expr]
    applies: Callable[[sympy.Expr], bool]


#: The rewrites, in the order they are tried: the rule of textbook form lives here.
REWRITES = (
    Rewrite("sign_over_abs", _sign_as_ratio, lambda e: bool(e.has(sympy.sign))),
    Rewrite("cancel", _cancel_rational, lambda e: bool(e.has(sympy.Pow))),
    Rewrite("merge_powers", _merge_powers, _has_powers),
    Rewrite("common_factor", _common_factor, lambda e: bool(e.is_Add or e.is_Mul)),
    Rewrite("tangent", _tangent, _has_sin_and_cos),
    Rewrite("double_angle", _double_angle, _has_sin_and_cos),
)


def textbook_form(
    result: sympy.Expr, problem: sympy.Expr | None = None, *, rewrite: bool = True
) -> TextbookForm:
    """``result`` in textbook form, with the conditions it holds under.

    ``problem`` is the expression differentiated: its kinks (|g|, sign g) are conditions
    of every derivative of it. A rewrite is applied only where it lowers the :func:`score`
    and is confirmed equal to the form before it (where both are defined); none is tried
    when ``rewrite`` is false (a result far larger written out than held, which every
    rewrite would walk written out).
    """
    form = result
    applied: list[str] = []
    conditions = list(kink_conditions(problem)) if problem is not None else []
    if rewrite and sympy.count_ops(result) <= TEXTBOOK_OPS:
        for move in REWRITES:
            if not move.applies(form):
                continue
            candidate = attempt(REWRITE_SECONDS, lambda: move.apply(form))  # noqa: B023
            if candidate is None or candidate == form or score(candidate) >= score(form):
                continue
            if not _confirmed_equal(candidate, form):
                continue
            conditions.extend(lost_denominators(form, candidate))
            form = candidate
            applied.append(move.id)
    indicator = _indicator_arguments(form, problem) if rewrite else []
    return TextbookForm(form, unique_exprs(conditions), tuple(applied), unique_exprs(indicator))


def _confirmed_equal(candidate: sympy.Expr, form: sympy.Expr) -> bool:
    """Does ``candidate`` equal ``form`` wherever both are defined, by the equivalence code?

    Numerically, at random points: the closing step that shows the result is proved
    against sympy.diff of the problem in any case; this keeps a wrong rewrite from ever
    reaching it.
    """
    comparison = numeric_comparison(candidate, form, samples=8)
    if comparison.verdict == "equal":
        return True
    # Defined at more points than the form it replaces (1/x where sign(x)/|x| is 0/0) but
    # with no point of disagreement: equal where both are, which the conditions state.
    return comparison.verdict == "equal_on_part" and comparison.values is None


def common_factor(expr: sympy.Expr) -> sympy.Expr:
    """A number common to a sum's terms taken out, as a teacher does: 2ŷ − 2y → 2(ŷ − y).

    sympy spreads a number over a sum of two terms by itself; this undoes it, for a local
    derivative shown on its own, where nothing multiplies it afterwards.
    """
    if not isinstance(expr, sympy.Add):
        return expr
    factored = sympy.factor_terms(expr)
    return factored if sympy.count_ops(factored) < sympy.count_ops(expr) else expr


def kink_conditions(problem: sympy.Expr) -> tuple[sympy.Expr, ...]:
    """The g of every |g| and sign g in ``problem``: its derivative exists only where g ≠ 0."""
    kinks = (node.args[0] for node in _parts(problem) if isinstance(node, _KINKED))
    return unique_exprs(kink for kink in kinks if not kink.is_number)


def _parts(expr: sympy.Expr) -> list[sympy.Basic]:
    """Every distinct sub-expression of ``expr``, each once: linear in its DAG, not its tree."""
    seen: dict[sympy.Basic, None] = {}
    stack: list[sympy.Basic] = [expr]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen[node] = None
            stack.extend(reversed(node.args))
    return list(seen)


def lost_denominators(before: sympy.Expr, after: sympy.Expr) -> tuple[sympy.Expr, ...]:
    """The factors g of ``before``'s denominators that ``after`` no longer divides by (g ≠ 0)."""
    kept = set(_denominator_factors(after))
    return unique_exprs(g for g in _denominator_factors(before) if g not in kept)


def _denominator_factors(expr: sympy.Expr) -> list[sympy.Expr]:
    """The bases that ``expr`` divides by, |g| and powers of g counted as g; constants left out."""
    factors: list[sympy.Expr] = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and node.exp.is_negative:
            factors.extend(_zero_factors(node.base))
        elif isinstance(node, sympy.sign):
            factors.extend(_zero_factors(node.args[0]))
    return factors


def _zero_factors(base: sympy.Expr) -> list[sympy.Expr]:
    """The factors whose zeros are ``base``'s: x for x², cos x for |cos x|, none for 1 + x²."""
    found: list[sympy.Expr] = []
    for factor in sympy.Mul.make_args(base):
        while isinstance(factor, (sympy.Abs, sympy.Pow)):
            if isinstance(factor, sympy.Pow) and not factor.exp.is_positive:
                break
            factor = factor.args[0]
        if not (factor.is_number or _never_zero(factor)):
            found.append(factor)
    return found


def _never_zero(factor: sympy.Expr) -> bool:
    """True for a factor no real point makes 0 where it is defined: 1 + x², 1 + 1/x², e^x."""
    numerator, _ = sympy.fraction(sympy.together(factor))
    return bool(numerator.is_positive or numerator.is_negative)


def _indicator_arguments(form: sympy.Expr, problem: sympy.Expr | None) -> list[sympy.Expr]:
    """The arguments of relu′ = Heaviside(g, 0) in ``form``, when the problem has a relu."""
    if problem is None or not problem.has(relu):
        return []
    return [h.args[0] for h in form.atoms(sympy.Heaviside)]


def unique_exprs(items: Iterable[sympy.Expr]) -> tuple[sympy.Expr, ...]:
    """``items`` without repeats, in their first order."""
    return tuple(dict.fromkeys(items))
