"""Results in textbook form: the equal simpler forms a teacher writes, each with its domain condition.

The one place where chainsolve chooses between equal forms of a result. The rule:

1. **As derived, in the order typed.** A result that is a sum is written as the sum of its
   parts' derivatives in the order the parts were typed (a product's f′g before fg′), each
   part's derivative as derived: ``cos(x) + x^2`` gives ``-sin(x) + 2x`` (an opening minus is
   fine), ``(x - 3)^2 + exp(x)`` gives ``2(x - 3) + e^x`` (the chain rule's number stays
   outside its sum). The only tidying is what a student does without thinking: like terms
   combined, a number common to a part's terms kept in front; never ``+ -`` (a subtracted
   term prints with ``-``). A difference inside a term prints by :func:`filters.ordered_terms`
   (``(z - y)``: positive terms first).
2. **A textbook rewrite when it is a clear simplification.** A fixed sequence of rewrites
   (:data:`REWRITES`) is tried on the simplified result, each on the best form so far; a
   rewrite is kept when its form scores lower (:func:`score`: fewer kinks, then fewer
   operations) and the equivalence code finds it equal to the form before it. The rewritten
   form replaces the form as derived only when it has fewer terms written out (log|x| → 1/x,
   tᵗ + tᵗ·ln t, sin/cos → tan, cos²u − sin²u → cos 2u, 3x²·sign(x) → 3x·|x|): pulling a
   factor out of a sum alone is not one.
3. **A constant factor as typed.** A problem that is a constant times a part, the constant
   not a plain number, has its derivative written as that constant, as typed, in front of
   the part's derivative as derived when that prints shorter than sympy's form:
   ``exp(-0.5*x^2)/sqrt(2*pi)`` gives ``-(x·e^(-x²/2))/√(2π)``, not
   ``-(√2·x·e^(-x²/2))/(2√(π))`` (:func:`with_typed_constant`).

A rewrite that is only equal where something is non-zero (sign(x)/|x| = 1/x for x ≠ 0)
records that condition, and so does a problem with a kink (|x|, sign x): its derivative
exists only away from it, unless the problem and the result are both continuous at the kink
(|x|³: 3x·|x| holds at 0 too; :func:`smooth_kinks`). A condition of the problem's own domain
that the result no longer shows is stated too (x > 0 for e^(ln x)).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import sympy
from sympy.core.mul import _keep_coeff as keep_coeff
from sympy.simplify.fu import TR8, TR2i

from chainsolve.budget import attempt
from chainsolve.dag import distinct_parts, operations, tree_size
from chainsolve.equivalence import (
    as_polynomials,
    expanded_terms,
    numeric_comparison,
    written_out_size,
)
from chainsolve.filters import formula_unicode, ordered_terms
from chainsolve.functions import relu
from chainsolve.problem import evaluate_typed
from chainsolve.record import record
from chainsolve.rules import (
    ConstantMultipleRule,
    ProductRule,
    QuotientRule,
    Rule,
    SumRule,
    lost_conditions,
    split_conditions,
)
from chainsolve.steps import Formula, Neg, Product, Quotient, Sum
from chainsolve.unknowns import Masked

#: Most operations a result may have for the rewrites to be tried (as ``tidy``'s own gate).
TEXTBOOK_OPS = 300
#: CPU seconds one rewrite may take: a safety net, far above what the size gate lets through.
REWRITE_SECONDS = 0.5

#: Functions whose derivative exists only away from the zeros of their argument.
_KINKED = (sympy.Abs, sympy.sign)


@record
class LimitAtKink:
    """The derivative at the zero of a kink argument where the formula is undefined: its limit.

    |x|·sin x: the argument x, the variable x, the point 0, the value 0 (the limit of
    x·sin(x)/|x| + cos(x)·|x| at 0, which is the derivative there).
    """

    argument: sympy.Expr
    var: sympy.Symbol
    point: sympy.Expr
    value: sympy.Expr


@record
class TextbookForm:
    """A result as a teacher writes it: the form, what it rests on, and where it holds.

    ``conditions`` are the expressions that must be non-zero (x for x ≠ 0); ``rewrites``
    the ids of the rewrites applied, in order; ``indicator`` the arguments of the Heaviside
    steps (relu′) whose meaning, 1 where the argument is positive, else 0, must be stated;
    ``shown`` the sum as derived, in the order typed, when that is the form (``expr`` is
    then its value); ``domain`` the (argument, strict) pairs of the problem's own domain that
    the form no longer says (x > 0 for e^(ln x), whose derivative simplifies to 1).
    """

    expr: sympy.Expr
    conditions: tuple[sympy.Expr, ...] = ()
    rewrites: tuple[str, ...] = ()
    indicator: tuple[sympy.Expr, ...] = ()
    shown: Formula | None = None
    domain: tuple[tuple[sympy.Expr, bool], ...] = ()
    #: Points where the form is undefined (a condition says so) yet the derivative exists.
    limits: tuple[LimitAtKink, ...] = ()


def score(expr: sympy.Expr) -> tuple[int, int]:
    """How far from textbook form: kinks (|u|, sign u) first, then sympy's operation count."""
    return len(expr.atoms(*_KINKED)), operations(expr)


def _sign_as_ratio(expr: sympy.Expr) -> sympy.Expr:
    """sign(g) as g/|g|, so that sign(x)/|x| = x/x² = 1/x (sympy folds |g|² into g² itself)."""
    return expr.replace(sympy.sign, lambda g: g / sympy.Abs(g))


def _abs_products(expr: sympy.Expr) -> sympy.Expr:
    """|g| and sign g multiplied out: x²/|x| + |x| → 2|x| and 3x²·sign(x) → 3x·|x|.

    Each |g| is written g·sign(g), 1/sign(g) as sign(g), then each sign(g) as |g|/g, which
    sympy cancels against the powers of g around it (equal wherever g ≠ 0).
    """
    absolute = {a: a.args[0] * sympy.sign(a.args[0]) for a in expr.atoms(sympy.Abs)}
    written = expr.xreplace(absolute).replace(
        lambda e: e.is_Pow and isinstance(e.base, sympy.sign) and e.exp == -1,
        lambda e: e.base,
    )
    return written.xreplace(
        {s: sympy.Abs(s.args[0]) / s.args[0] for s in written.atoms(sympy.sign)}
    )


def _cancel_rational(expr: sympy.Expr) -> sympy.Expr:
    """One fraction in lowest terms, for a rational function: −1/(x²(1 + 1/x²)) → −1/(x² + 1)."""
    symbols = expr.free_symbols
    if not symbols or not expr.is_rational_function(*symbols):
        return expr
    return sympy.factor(expr)  # lowest terms already: see derivation._tidy


def _merge_powers(expr: sympy.Expr) -> sympy.Expr:
    """Powers of one base merged: t·t^(t − 1) → tᵗ (unchanged when no power merges)."""
    merged = sympy.powsimp(expr)
    # Rebuilding a product can also move its sign into a sum: that is no a^m·a^n = a^(m+n).
    if merged.atoms(sympy.Pow, sympy.exp) == expr.atoms(sympy.Pow, sympy.exp):
        return expr
    return merged


#: Each form met and its factored form; a factored form is its own (factored again, it
#: comes back unchanged: a property test checks it on random expressions and derivatives).
_FACTORED: dict[sympy.Expr, sympy.Expr] = {}
#: Forms remembered at most (then forgotten all at once: a grading run meets thousands).
FACTORED_FORMS = 4096


def factored_terms(expr: sympy.Expr) -> sympy.Expr:
    """sympy's factor_terms of ``expr``, each part factored once in the process.

    A result is factored by tidy, then by the common-factor rewrite, and its sums once more
    as each local derivative is shown; the results of a network share their sums and
    function values (σ(W₁x + b₁), W₂σ + b₂ − y): 13 whole calls, 19 of the solve's 70 ms.
    factor_terms walks products, powers and function values part by part, as this does,
    remembering each part (a property test compares the two on random expressions); a sum
    is handed to factor_terms whole.
    """
    known = _FACTORED.get(expr)
    if known is None:
        known = _factored(expr)
        if len(_FACTORED) >= FACTORED_FORMS:
            _FACTORED.clear()
        _FACTORED[expr] = _FACTORED[known] = known
    return known


def _factored(expr: sympy.Expr) -> sympy.Expr:
    """One step of factor_terms' own walk (sympy.core.exprtools), its parts by factored_terms."""
    if expr.is_Atom:
        return expr
    if expr.is_Pow or expr.is_Function:
        parts = tuple(factored_terms(arg) for arg in expr.args)
        return expr if parts == expr.args else expr.func(*parts)
    if isinstance(expr, sympy.Mul):
        content, primitive = expr.as_content_primitive(radical=False, clear=False)
        if isinstance(primitive, sympy.Mul):
            factors = (factored_terms(arg) for arg in primitive.args)
            return keep_coeff(content, primitive.func(*factors), clear=False, sign=True)
    return sympy.factor_terms(expr)


def _common_factor(expr: sympy.Expr) -> sympy.Expr:
    """Common factors (and a common sign) taken out: tᵗ + tᵗ·ln t → tᵗ(ln t + 1).

    An unknown function's values and partials are held as symbols, as :func:`common_factor`
    holds them: factor_terms would rebuild each Subs (1–2 ms apiece) and factor inside its point.
    """
    masked = Masked(expr)
    factored = factored_terms(masked.expr)
    return expr if factored == masked.expr else masked.put_back(factored)


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


def _powers_may_merge(expr: sympy.Expr) -> bool:
    """Could sympy.powsimp change the powers of ``expr`` (what :func:`_merge_powers` keeps)?

    False only when no product holds two factors of one base (t·t^(t − 1), eˣ·e^y) or two
    powers with one exponent up to a number (aˣ·e^(3x) is (a·e³)ˣ; a number as exponent
    merges nothing: x²y² and (2x + 1)³/(x − 1)⁴ stay), and every power is
    plain: its base not a number, product or power, its exponent a number, or no sum and
    without a number in front (sin(x)^cos(x); e^(3x) too). powsimp then only spreads
    numbers over sums, which the move does not keep; it costs 2–7 ms even so. Fuzzed
    against powsimp (tests/test_textbook.py).
    """
    return any(_may_merge_at(node) for node in distinct_parts(expr))


def _may_merge_at(node: sympy.Basic) -> bool:
    """Is ``node`` itself a power that is not plain, or a product with factors powsimp merges?"""
    if isinstance(node, (sympy.Pow, sympy.exp)) and not _plain_power(node):
        return True
    return isinstance(node, sympy.Mul) and _merging_factors(node)


def powsimp(expr: sympy.Expr) -> sympy.Expr:
    """sympy.powsimp of ``expr``, or ``expr`` itself where powsimp would hand it back unchanged.

    Unchanged: no powers to merge (:func:`_powers_may_merge`), no number times a sum (which
    powsimp multiplies out) and no product or sum left unflattened. Fuzzed against powsimp
    (tests/test_textbook.py); the move costs 2–7 ms even when it changes nothing. One walk
    asks both questions of each part.
    """
    if any(_may_merge_at(node) or _rebuilt_at(node) for node in distinct_parts(expr)):
        return sympy.powsimp(expr)
    return expr


def _rebuilt_at(node: sympy.Basic) -> bool:
    """Is ``node`` a number times a sum, or a product in a product (a sum in a sum)?"""
    if not isinstance(node, (sympy.Mul, sympy.Add)):
        return False
    if any(isinstance(arg, node.func) for arg in node.args):
        return True
    return isinstance(node, sympy.Mul) and _number_times_sum(node)


def _number_times_sum(product: sympy.Mul) -> bool:
    args = product.args
    return any(a.is_Number for a in args) and any(isinstance(a, sympy.Add) for a in args)


def _plain_power(power: sympy.Pow | sympy.exp) -> bool:
    base, exponent = power.as_base_exp()
    if isinstance(power, sympy.exp):
        return bool(
            exponent.is_Rational or exponent.as_coeff_Mul()[1].is_Symbol or _bare_exponent(exponent)
        )
    if base.is_number or isinstance(base, (sympy.Mul, sympy.Pow)):
        return False
    return bool(exponent.is_Rational or _bare_exponent(exponent))


def _bare_exponent(exponent: sympy.Expr) -> bool:
    """An exponent powsimp leaves alone: not a sum (whose sign it may turn over into the
    base) and no number in front (2^(2x) is 4^x): x, cos x, x·y, as in sin(x)^cos(x)."""
    return not exponent.is_Add and exponent.as_coeff_Mul(rational=True)[0] is sympy.S.One


def _merging_factors(product: sympy.Mul) -> bool:
    bases = []
    exponents = []
    for factor in product.args:
        base, exponent = factor.as_base_exp()
        bases.append(base)
        # A number as exponent merges nothing: (2x + 1)³/(x − 1)⁴ and √p·√q stay as they are.
        if not exponent.is_Number:
            exponents.append(exponent.as_coeff_Mul()[1])
    return len(set(bases)) < len(bases) or len(set(exponents)) < len(exponents)


@record
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
    Rewrite("abs_products", _abs_products, lambda e: bool(e.has(sympy.Abs, sympy.sign))),
    Rewrite("cancel", _cancel_rational, lambda e: bool(e.has(sympy.Pow))),
    Rewrite("merge_powers", _merge_powers, _powers_may_merge),
    Rewrite("common_factor", _common_factor, lambda e: bool(e.is_Add or e.is_Mul)),
    Rewrite("tangent", _tangent, _has_sin_and_cos),
    Rewrite("double_angle", _double_angle, _has_sin_and_cos),
)

#: Rewrites tried on the whole result only: a common factor is taken out of the terms
#: together (:func:`as_derived`), and a double angle is an identity between terms
#: (cos²u − sin²u), not a rewrite of one term (2sin u·cos u next to cos²u stays).
_WHOLE_ONLY = frozenset({"common_factor", "double_angle"})


def _has_repeated_base(expr: sympy.Expr) -> bool:
    """Does a product in ``expr`` hold two powers of one base (t·t^(t − 1)): powers to merge?"""
    for product in expr.atoms(sympy.Mul):
        bases = [factor.as_base_exp()[0] for factor in product.args]
        if len(set(bases)) < len(bases):
            return True
    return False


def _has_fraction(expr: sympy.Expr) -> bool:
    """Does ``expr`` divide by something other than a number?"""
    return any(p.exp.is_negative and not p.base.is_number for p in expr.atoms(sympy.Pow))


#: Narrower tests of whether a rewrite can change one term (a term is small: the general
#: test costs more than it finds): a fraction to cancel, one base twice in a product.
_TERM_APPLIES = {"cancel": _has_fraction, "merge_powers": _has_repeated_base}

#: The rewrites tried on each term of a result as derived.
TERM_REWRITES = tuple(
    Rewrite(move.id, move.apply, _TERM_APPLIES.get(move.id, move.applies))
    for move in REWRITES
    if move.id not in _WHOLE_ONLY
)


def textbook_form(
    result: sympy.Expr,
    problem: sympy.Expr | None = None,
    *,
    rewrite: bool = True,
    derived: Sequence[sympy.Expr] | None = None,
    typed: sympy.Expr | None = None,
) -> TextbookForm:
    """``result`` in textbook form, with the conditions it holds under.

    ``problem`` is the expression differentiated: its kinks (|g|, sign g) are conditions
    of every derivative of it. A rewrite is applied only where it lowers the :func:`score`
    and is confirmed equal to the form before it (where both are defined); none is tried
    when ``rewrite`` is false (a result far larger written out than held, which every
    rewrite would walk written out). ``derived`` are the result's terms as derived
    (:func:`derived_terms`): each is put in textbook form on its own, and their sum in the
    order typed is the form unless ``result`` rewritten as a whole is clearly simpler.
    ``typed`` is the problem as typed (default ``problem``): where it is defined, the form
    holds, and a condition the form no longer says is kept (:func:`_where_it_holds`).
    """
    typed = problem if typed is None else typed
    whole = _rewritten(result, problem, rewrite=rewrite)
    if derived is None or not rewrite or not all(_expandable(term) for term in derived):
        # A power of a sum above EXPAND_POWER: its terms are not worth writing out one by one.
        return _where_it_holds(whole, typed)
    parts = [_rewritten(term, None, rewrite=True, moves=TERM_REWRITES) for term in derived]
    summed = as_derived(part.expr for part in parts)
    if summed is None or clearly_simpler(whole.expr, written(summed.shown)):
        return _where_it_holds(whole, typed)
    kinks = kink_conditions(problem) if problem is not None else ()
    conditions = [*kinks, *(c for part in parts for c in part.conditions)]
    form = TextbookForm(
        summed.value,
        unique_exprs(conditions),
        tuple(dict.fromkeys(r for part in parts for r in part.rewrites)),
        unique_exprs(_indicator_arguments(summed.value, problem)),
        summed.shown,
    )
    return _where_it_holds(form, typed)


def _where_it_holds(form: TextbookForm, problem: sympy.Expr | None) -> TextbookForm:
    """``form`` with exactly the conditions where it holds, for the problem as typed.

    A kink where the derivative exists all the same is no condition (|x|³ at 0:
    :func:`smooth_kinks`). A condition of the problem's own domain that the form no longer
    says is added: d/dx(ln(eˣ) + e^(ln x)) = 2 holds for x > 0 only; ln(x²) needs x² > 0,
    which is x ≠ 0 (:func:`rules.split_conditions`) and joins :attr:`TextbookForm.conditions`.
    """
    if problem is None:
        return form
    # The kinks as typed: sympy writes |x - 1|² as (x - 1)², whose derivative still came through
    # sign(x - 1) and records x - 1 ≠ 0.
    kinks = unique_exprs(evaluate_typed(g) for g in kink_conditions(problem))
    # Only a small problem is evaluated and taken to its limits (a flattened DAG is not).
    small = bool(kinks) and tree_size(problem, KINK_NODES) <= KINK_NODES
    smooth, limits = smooth_kinks(evaluate_typed(problem), form.expr, kinks) if small else ((), ())
    if smooth or limits:
        kept = tuple(g for g in form.conditions if g not in smooth)
        form = dataclasses.replace(form, conditions=kept, limits=limits)
    nonzero, signed = split_conditions(lost_conditions(problem, form.expr))
    if not nonzero and not signed:
        return form
    conditions = unique_exprs((*form.conditions, *nonzero))
    return dataclasses.replace(form, conditions=conditions, domain=tuple(signed))


#: Most nodes of a problem whose kinks are looked at for a derivative that exists anyway.
KINK_NODES = 300
#: CPU seconds the one-sided limits at one kink may take (a safety net: they are small).
KINK_LIMIT_SECONDS = 0.5


def smooth_kinks(
    problem: sympy.Expr, result: sympy.Expr, kinks: Sequence[sympy.Expr]
) -> tuple[tuple[sympy.Expr, ...], tuple[LimitAtKink, ...]]:
    """The kink arguments g (of |g|, sign g) at whose one zero the derivative exists all the
    same: those where ``result`` gives it, and those where only its limit does.

    |x|³ has a kink argument x, yet its derivative exists at 0 and 3x²·sign(x) gives it (0):
    no condition is needed. |x|·sin x has one too, and its derivative x·sin(x)/|x| + cos(x)·|x|
    is undefined at 0, but the derivative there exists: 0, the formula's limit. Decided only
    for a problem in one variable and a g linear in it, where the zero is one point r: the
    problem is continuous at r and ``result`` has equal finite one-sided limits there (then, by
    the mean value theorem, the derivative at r exists and is that limit); ``result`` gives it
    when its value at r is that limit. Any doubt keeps the condition, with no limit stated.
    """
    variables = problem.free_symbols
    if len(variables) != 1:
        return (), ()
    (var,) = variables
    smooth: list[sympy.Expr] = []
    limits: list[LimitAtKink] = []
    for g in kinks:
        if g.free_symbols != {var} or not g.is_polynomial(var) or sympy.degree(g, var) != 1:
            continue
        root = sympy.solve(g, var)[0]
        if _limit_at(problem, var, root) != problem.subs(var, root):
            continue
        limit = _limit_at(result, var, root)
        if limit is None:
            continue
        if result.subs(var, root) == limit:
            smooth.append(g)
        else:
            limits.append(LimitAtKink(g, var, root, limit))
    return tuple(smooth), tuple(limits)


def _limit_at(expr: sympy.Expr, var: sympy.Symbol, point: sympy.Expr) -> sympy.Expr | None:
    """The limit of ``expr`` at ``point`` when both one-sided limits agree and are finite, else None."""

    def both_sides() -> sympy.Expr | None:
        left, right = (sympy.limit(expr, var, point, side) for side in ("-", "+"))
        return right if left == right and right.is_finite else None

    return attempt(KINK_LIMIT_SECONDS, both_sides)


def with_typed_constant(rule: Rule, form: TextbookForm) -> TextbookForm:
    """``form`` written as the typed constant of ``rule`` times its part's derivative as derived.

    Only for a constant times one part whose derivative is one term, the constant not a plain
    number (sympy writes 3·f′ as typed already), and only when it prints shorter than
    ``form``; ``form`` as it is otherwise (or when it is a sum as derived or rewritten).
    """
    if not isinstance(rule, ConstantMultipleRule) or form.shown is not None or form.rewrites:
        return form
    if rule.constant.is_Rational:
        return form
    derived = derived_terms(rule.rest)
    if len(derived) != 1:
        return form
    shown = _constant_times(rule.constant, derived[0])
    if len(formula_unicode(shown)) >= len(formula_unicode(form.expr)):
        return form
    # The value held is the product evaluated: the closing step checks it against sympy.diff.
    value = evaluate_typed(rule.constant) * derived[0]
    return dataclasses.replace(form, expr=value, shown=shown)


def _constant_times(constant: sympy.Expr, part: sympy.Expr) -> Formula:
    """constant·part as a teacher writes it: over k for a constant 1/k, a minus sign in front."""
    negative = part.could_extract_minus_sign()
    magnitude = -part if negative else part
    if isinstance(constant, sympy.Pow) and constant.exp == -1:
        formula: Formula = Quotient(magnitude, constant.base)
    else:
        formula = Product((constant, magnitude))
    return Neg(formula) if negative else formula


#: The whole result, tidied, replaces the sum as derived when it needs at most this share of
#: its operations: several paths through shared nodes add up to far more than they say.
SHORTER_SHARE = 0.6


def clearly_simpler(rewritten: sympy.Expr, derived: sympy.Expr) -> bool:
    """Is the rewritten form a clear simplification: fewer kinks, fewer terms written out, or
    at most :data:`SHORTER_SHARE` of the operations?"""
    kinks = len(rewritten.atoms(*_KINKED)), len(derived.atoms(*_KINKED))
    if kinks[0] != kinks[1]:
        return kinks[0] < kinks[1]
    if _term_count(rewritten) < _term_count(derived):
        return True
    return operations(rewritten) <= SHORTER_SHARE * operations(derived)


def _term_count(expr: sympy.Expr) -> int:
    """How many terms ``expr`` has written out (a factored sum counts its terms).

    Multiplied out with each function value, root and reciprocal as one unknown
    (:func:`~chainsolve.equivalence.as_polynomials`): like terms combined, as expand
    combines them but for parts related by a rule of powers other than e^(u+v) = e^u·e^v.
    A power of a sum above :data:`EXPAND_POWER` is not written out (its terms grow with the
    power): it counts as one term.
    """
    if not _expandable(expr):
        return len(sympy.Add.make_args(expr))
    polynomial = as_polynomials(expr)
    if polynomial is not None:
        return len(polynomial[0]) or 1  # 0 written out is one term
    if written_out_size(expr, operations(expr)) > EXPAND_SIZE:
        # Writing it out would cost seconds (16 path products of σ, tanh and sin: 9 s): the
        # count read off the tree, where no like terms are combined, stands for it.
        return expanded_terms(expr)
    return len(sympy.Add.make_args(sympy.expand(expr)))


#: Most operations (:func:`~chainsolve.equivalence.written_out_size`) a result is written
#: out to for its terms to be counted.
EXPAND_SIZE = 20_000


#: Highest power of a sum that is written out to count or combine terms.
EXPAND_POWER = 12


def _expandable(expr: sympy.Expr) -> bool:
    """Can ``expr`` be written out cheaply: no power of a sum above :data:`EXPAND_POWER`?"""
    return not any(
        isinstance(p.base, sympy.Add) and abs(p.exp) > EXPAND_POWER
        for p in expr.atoms(sympy.Pow)
        if p.exp.is_Integer
    )


def _rewritten(
    result: sympy.Expr,
    problem: sympy.Expr | None,
    *,
    rewrite: bool,
    moves: tuple[Rewrite, ...] = (),
) -> TextbookForm:
    """``result`` with every rewrite of ``moves`` (:data:`REWRITES`) that lowers its score applied."""
    form = result
    applied: list[str] = []
    conditions = list(kink_conditions(problem)) if problem is not None else []
    if rewrite and operations(result) <= TEXTBOOK_OPS:
        for move in moves or REWRITES:
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
    # An unknown function's partials held as symbols: factor_terms would rebuild each one.
    masked = Masked(expr)
    factored = factored_terms(masked.expr)
    if factored == masked.expr:
        return expr
    return masked.put_back(factored) if masked.ops(factored) < masked.ops(masked.expr) else expr


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


@record
class AsDerived:
    """A derivative as derived: its terms in the order typed (``shown``) and their sum.

    ``shown`` is a product when the terms share a factor a teacher takes out.
    """

    shown: Sum | Product
    value: sympy.Expr


#: Most terms a result as derived may have: past it, sympy's tidied form is shown.
AS_DERIVED_TERMS = 12


def derived_terms(rule: Rule) -> list[sympy.Expr]:
    """The terms of the derivative of ``rule`` as derived, in the order typed.

    A sum's parts in the order typed, a product's f′g before fg′, a constant multiple's
    terms each times the constant (of a sum: one term, 3(2x + 1)); any other part's
    derivative is one term (sympy's evaluated form, with a number common to its terms
    kept in front, 2(x − 3), and a difference the problem has written its way round:
    (3 − x)² gives −2(3 − x)).
    """
    return _derived(rule, _typed_sums(rule))


def numerator_terms(rule: QuotientRule) -> list[sympy.Expr]:
    """The terms of the numerator f′g − fg′ of a quotient rule as derived, f′g first."""
    typed = _typed_sums(rule)
    f, g = rule.numerator, rule.denominator
    return [*_terms_of(f.eval() * g.expr, typed), *_terms_of(-f.expr * g.eval(), typed)]


def _typed_sums(rule: Rule) -> frozenset[sympy.Expr]:
    """The sums written in the rule's expression, evaluated: a difference kept its way round."""
    return frozenset(evaluate_typed(rule.expr).atoms(sympy.Add))


def _derived(rule: Rule, typed: frozenset[sympy.Expr]) -> list[sympy.Expr]:
    if isinstance(rule, SumRule):
        return [term for part in rule.terms for term in _derived(part, typed)]
    if isinstance(rule, ProductRule):
        first = rule.first.eval() * rule.second.expr
        second = rule.first.expr * rule.second.eval()
        return [*_terms_of(first, typed), *_terms_of(second, typed)]
    if isinstance(rule, ConstantMultipleRule) and not isinstance(rule.rest, SumRule):
        parts = _derived(rule.rest, typed)
        return [t for term in parts for t in _terms_of(rule.constant * term, typed)]
    return _terms_of(rule.eval(), typed)


def _terms_of(value: sympy.Expr, typed: frozenset[sympy.Expr] = frozenset()) -> list[sympy.Expr]:
    """One part's derivative as terms: a sum with a common number stays one term, 2(x − 3)."""
    evaluated = evaluate_typed(value)
    if evaluated == 0:
        return []
    if isinstance(evaluated, sympy.Add):
        number, rest = evaluated.as_content_primitive()
        if -rest in typed or _all_negative(rest):
            # −2(s + t), not 2(−s − t) (which prints as "+ -2(s + t)" in a sum).
            number, rest = -number, -rest
        return [_keep_coeff(number, rest)] if number != 1 else ordered_terms(evaluated)
    if isinstance(evaluated, sympy.Mul) and any(isinstance(f, sympy.Add) for f in evaluated.args):
        # x·(2x + 2) as 2x(x + 1): the number a sum factor holds goes in front.
        return [sympy.Mul(*(part for f in evaluated.args for part in _primitive(f)))]
    return [evaluated]


def _all_negative(terms: sympy.Expr) -> bool:
    """Is every term of the sum ``terms`` subtracted (−s − t)?"""
    return all(term.could_extract_minus_sign() for term in sympy.Add.make_args(terms))


def _primitive(factor: sympy.Expr) -> tuple[sympy.Expr, ...]:
    """A sum factor as its common number and the rest (2x + 2 → 2, x + 1); others as they are."""
    if not isinstance(factor, sympy.Add):
        return (factor,)
    number, rest = factor.as_content_primitive()
    return (number, rest)


def as_derived(terms: Iterable[sympy.Expr], *, factor: bool = True) -> AsDerived | None:
    """``terms`` as one sum in their order, like terms combined in the place of the first.

    ``None`` unless at least two terms remain (one term is no sum to order). ``factor``: a
    factor every term shares is taken out (a result); else the terms stay side by side (a
    step that shows the parts before the result is tidied).
    """
    kept = _like_terms_combined(terms)
    if not 2 <= len(kept) <= AS_DERIVED_TERMS:
        return None
    factors: list[sympy.Expr] = []
    rests = [_keep_coeff(c, rest) for c, rest in kept]
    while factor and (factored := _common_factor_out(rests)) is not None:
        factor, rests = factored
        factors.append(factor)
    if not factors:
        return AsDerived(_sum_of(kept), sympy.Add(*(c * rest for c, rest in kept)))
    number, _ = sympy.Add(*rests).as_content_primitive()
    inner = [rest / number for rest in rests]
    if _expandable(sympy.Add(*inner)) and sympy.Add(*inner).is_polynomial():
        # What is left in the bracket is a polynomial: its like terms are combined.
        inner = [sympy.expand(sympy.Add(*inner))]
    bracket = _positive_first(_like_terms_combined(inner))
    shown = Product((_keep_coeff(number, sympy.Mul(*factors)), _sum_of(bracket)), tight=True)
    value = number * sympy.Mul(*factors) * sympy.Add(*(c * rest for c, rest in bracket))
    return AsDerived(shown, value)


def written(formula: Formula) -> sympy.Expr:
    """A shown sum or product as one expression held as it prints: 2(x + 1) - 2, not 2x.

    sympy's value of ``2(x + 1) - 2`` is ``2x``; comparing forms by it would find the form as
    derived no longer than its own tidied value.
    """
    if isinstance(formula, Sum):
        return sympy.Add(*(written(term) for term in formula.terms), evaluate=False)
    if isinstance(formula, Product):
        return sympy.Mul(*(written(factor) for factor in formula.factors), evaluate=False)
    if isinstance(formula, Neg):
        return sympy.Mul(sympy.S.NegativeOne, written(formula.operand), evaluate=False)
    if isinstance(formula, Quotient):
        denominator = sympy.Pow(written(formula.denominator), -1, evaluate=False)
        return sympy.Mul(written(formula.numerator), denominator, evaluate=False)
    assert isinstance(formula, sympy.Expr), formula
    return formula


def _like_terms_combined(terms: Iterable[sympy.Expr]) -> list[tuple[sympy.Expr, sympy.Expr]]:
    """(coefficient, rest) of each term, like terms added in the place of the first, zeros left out."""
    combined: dict[sympy.Expr, sympy.Expr] = {}
    # A sum is split into its terms; a product is kept as it is (−2(3 − x) stays so).
    split = (_terms_of(part) if isinstance(part, sympy.Add) else [part] for part in terms)
    for term in (t for part in split for t in part):
        coefficient, rest = term.as_coeff_Mul()
        combined[rest] = combined.get(rest, sympy.S.Zero) + coefficient
    return [(c, rest) for rest, c in combined.items() if c != 0]


def _sum_of(terms: Sequence[tuple[sympy.Expr, sympy.Expr]]) -> Sum:
    """(coefficient, rest) terms shown in their order, a subtracted one with a minus sign."""
    return Sum(tuple(_signed(c, rest) for c, rest in terms))


def _positive_first(
    terms: Sequence[tuple[sympy.Expr, sympy.Expr]],
) -> Sequence[tuple[sympy.Expr, sympy.Expr]]:
    """The terms left in a bracket, opening with a positive one when they have one.

    A sum as derived keeps its parts' order, each term standing for one part (−sin x + 2x
    for cos x + x²). What is left in the bracket once a factor is taken out stands for no
    part, so the rule of term order holds there (:func:`chainsolve.filters.ordered_terms`):
    positive terms first, then the subtracted ones, each in the order derived. So
    e^t·cos t·(cos t − 2sin t), not e^t·cos t·(−2sin t + cos t).
    """
    if not terms or not terms[0][0].is_negative:
        return terms
    return [*(t for t in terms if not t[0].is_negative), *(t for t in terms if t[0].is_negative)]


def _common_factor_out(terms: Sequence[sympy.Expr]) -> tuple[sympy.Expr, list[sympy.Expr]] | None:
    """A factor of every term (up to sign) that a teacher takes out, and what each term leaves.

    The factor is a sum or its power, taken to the lowest power it has in the terms
    (2(t − t²) − 4t(t − t²) = 2(t − t²)(1 − 2t), (x + 1)² + 2x(x + 1) = (x + 1)(x + 1 + 2x)),
    or a function value (tᵗ + tᵗ·ln t = tᵗ(1 + ln t)); never a number or a power of a
    variable: x³·cos x + 3x²·sin x stays as derived.
    """
    for base in _powers(terms[0]):
        if not _taken_out(base):
            continue
        found = [_power_of(term, base) for term in terms]
        signed = [f for f in found if f is not None]
        if len(signed) == len(terms):
            lowest = min(exponent for _, exponent in signed)
            pairs = zip(terms, signed, strict=True)
            return base**lowest, [_divided(term, base, lowest, sign) for term, (sign, _) in pairs]
    return None


def _powers(term: sympy.Expr) -> dict[sympy.Expr, int]:
    """The factors of ``term`` by base, with their whole positive exponents (x + 1 for (x + 1)²)."""
    powers: dict[sympy.Expr, int] = {}
    for factor in sympy.Mul.make_args(term):
        if isinstance(factor, sympy.Pow) and factor.exp.is_Integer and factor.exp > 0:
            powers[factor.base] = int(factor.exp)
        else:
            powers[factor] = 1
    return powers


def _taken_out(base: sympy.Expr) -> bool:
    return not (base.is_number or base.is_Symbol)


def _power_of(term: sympy.Expr, base: sympy.Expr) -> tuple[int, int] | None:
    """(sign, exponent) of ``base`` in ``term``: found as itself (sign 1) or as −base (sign −1)."""
    powers = _powers(term)
    for sign, wanted in ((1, base), (-1, -base)):
        if wanted in powers:
            return sign, powers[wanted]
    return None


def _divided(term: sympy.Expr, base: sympy.Expr, exponent: int, sign: int) -> sympy.Expr:
    """``term`` / base^exponent, where ``term`` holds (sign·base)^k with k ≥ exponent."""
    wanted = base if sign == 1 else -base
    factors = []
    for factor in sympy.Mul.make_args(term):
        power = _powers(factor).get(wanted)
        if power is not None:
            factors.append(sympy.Integer(sign) ** exponent * wanted ** (power - exponent))
        else:
            factors.append(factor)
    return sympy.Mul(*factors)


def _signed(coefficient: sympy.Expr, rest: sympy.Expr) -> Formula:
    """One shown term: the number kept in front of a sum (2(x − 3)), a minus sign as ``Neg``."""
    if coefficient.is_negative:
        return Neg(_keep_coeff(-coefficient, rest))
    return _keep_coeff(coefficient, rest)


def _keep_coeff(coefficient: sympy.Expr, rest: sympy.Expr) -> sympy.Expr:
    """coefficient·rest without sympy spreading the number over a sum (2(x − 3), not 2x − 6)."""
    kept: sympy.Expr = keep_coeff(coefficient, rest)
    return kept
