"""Builds worked solutions: rule trees for one expression, sums over paths and accumulation for graphs."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

import sympy
from sympy.core.function import AppliedUndef

from chainsolve import wording
from chainsolve.budget import attempt
from chainsolve.check import Checker, combine_checks
from chainsolve.dag import Shapes, has_any, operations, replace_nodes, tree_size
from chainsolve.equivalence import (
    CIRCULAR,
    EXPAND_TERMS_LIMIT,
    HYPERBOLIC,
    check_claim,
    expanded_terms,
    pythagorean_zero,
    written_out_size,
)
from chainsolve.errors import ProblemError
from chainsolve.explain import (
    closing_sides,
    explain,
    formula_value,
    parts_as_derived,
    result_only,
    same_formula,
)
from chainsolve.filters import formula_unicode, printed_key, unicode_expr
from chainsolve.graph import Graph, build_graph
from chainsolve.graphcheck import GraphSampler
from chainsolve.plan import plan, plan_paths
from chainsolve.problem import Adjoint, Problem, evaluate_typed, make_symbol
from chainsolve.rules import Rule, sympy_derivative
from chainsolve.steps import (
    NO_CLAIM,
    Check,
    Claim,
    Derivation,
    Formula,
    Leibniz,
    Note,
    Product,
    RuleRef,
    Solution,
    Step,
    Sum,
)
from chainsolve.textbook import (
    TextbookForm,
    common_factor,
    derived_terms,
    factored_terms,
    lost_denominators,
    powsimp,
    textbook_form,
    unique_exprs,
    with_typed_constant,
)
from chainsolve.unknowns import Masked

#: A fully substituted result larger than this many operations is left in intermediate variables.
FLATTEN_LIMIT = 400
#: Nodes (written out) of a result up to which the closing line is compared as printed.
PRINT_COMPARE_NODES = 2_000
#: Operation counts past which the identity behind a simplification is not looked for.
IDENTITY_OPS = 200
#: CPU seconds spent trying to simplify a final result before the unsimplified (correct) form
#: is kept: a safety net far above what the size gates in :func:`tidy` let through.
SIMPLIFY_SECONDS = 2.0
#: Most operations ``cancel`` may write a result out to (roughly: ``written_out_size``) for it
#: to be tried. cancel writes the numerator and the denominator out, and the argument of each
#: function or root in every term; past this a form with fewer operations does not come of
#: it: a 16-path product with a cube of a four-term sum gave 9,800 operations in 0.3 s, one
#: with √(s⁴ + 1), s a four-term sum, 5,400, each then 0.4–0.7 s to factor again.
CANCEL_SIZE = 2000
#: CPU seconds for expanding a simplification's difference to name the identity it rests on.
IDENTITY_SECONDS = 0.5

Detail = str  # "brief" | "normal" | "full"


class Namer:
    """Fresh intermediate names u_1, u_2, … that never clash with the user's; equal parts share a name.

    Fresh as printed, too: with a user's ``u1`` (LaTeX ``u_{1}``, like a generated ``u_1``)
    the intermediates take another letter.
    """

    def __init__(self, used: Iterable[str], prefix: str = "u") -> None:
        self._used = set(used)
        self._printed = {printed_key(name) for name in self._used}
        self._problem = frozenset(self._used)
        self._problem_printed = frozenset(self._printed)
        self._prefix = _free_prefix(prefix, self._used, self._printed)
        self._by_expr: dict[sympy.Expr, sympy.Symbol] = {}
        self._counter = 0
        self._letters: dict[int, str] = {}
        self.shapes = Shapes()
        #: Each generated symbol mapped to what it stands for, in terms of the inputs.
        self.definitions: dict[sympy.Symbol, sympy.Expr] = {}

    def name_for(self, expr: sympy.Expr) -> sympy.Symbol:
        """The intermediate variable standing for ``expr`` (the same one each time ``expr`` recurs)."""
        known = self._by_expr.get(expr)
        if known is not None:
            return known
        while True:
            self._counter += 1
            name = f"{self._prefix}_{self._counter}"
            if self._is_free(name):
                break
        symbol = make_symbol(name)
        self._take(name)
        self._by_expr[expr] = symbol
        self.definitions[symbol] = expr
        return symbol

    def fresh(self, base: str) -> str:
        """A new name starting with ``base`` that no variable uses or looks like in print."""
        name = base
        index = 1
        while not self._is_free(name):
            index += 1
            name = f"{base}{index}"
        self._take(name)
        return name

    def letter_for(
        self, argument: sympy.Expr, function: sympy.Expr, candidates: Iterable[str]
    ) -> str:
        """The Lagrange letter of ``argument ↦ function`` for the whole solution: the same each
        time it recurs (sin(u₁) by u₁ and sin(u₂) by u₂ are one function).

        A new function takes the first candidate no variable, function or earlier letter uses
        (or prints like), so one letter means one function throughout.
        """
        shape = self.shapes.of(function, argument)
        known = self._letters.get(shape)
        if known is None:
            known = next(name for name in candidates if self._is_free(name))
            self._take(known)
            self._letters[shape] = known
        return known

    def spare_letters(self, candidates: Iterable[str], count: int) -> tuple[str, ...]:
        """The first ``count`` candidates no name of the problem uses (or prints like): letters
        for a rule's statement where the solution names no part (Leibniz notation)."""
        spare = (
            name
            for name in candidates
            if name not in self._problem and printed_key(name) not in self._problem_printed
        )
        return tuple(next(spare) for _ in range(count))

    def _is_free(self, name: str) -> bool:
        return name not in self._used and printed_key(name) not in self._printed

    def _take(self, name: str) -> None:
        self._used.add(name)
        self._printed.add(printed_key(name))


#: Letters intermediates fall back to when the user's names already look like u1, u2, …
_PREFIXES = ("u", "v", "w", "q")


def _free_prefix(preferred: str, used: set[str], printed: set[str]) -> str:
    """The first letter whose indexed names (u₁, u₂, …) no user name looks like in print."""
    for letter in (preferred, *_PREFIXES):
        key = printed_key(letter)
        taken = letter in used or any(
            other.startswith(key) and other[len(key) :].isdigit() for other in printed
        )
        if not taken:
            return letter
    return preferred  # every letter taken: indices the user's names print as are skipped


def substitute(
    expr: sympy.Expr, mapping: Mapping[sympy.Symbol, sympy.Expr], *, evaluate: bool = True
) -> sympy.Expr:
    """``expr`` with symbols replaced, keeping derivatives of unknown functions meaningful.

    ``Derivative(f(u), u)`` with ``u → g(x)`` becomes ``Subs(Derivative(f(d), d), d, g(x))``:
    a plain replacement would differentiate with respect to an expression. So does
    ``Derivative(f(x, t), t)`` with ``x → g(t)``: replaced plainly it would read as the
    total derivative of ``f(g(t), t)``, not the partial ∂₂f at ``(g(t), t)``.
    ``evaluate`` false: the nodes the replacement rebuilds are left as built (2·(b + w·x − y),
    not multiplied out); a rebound derivative is built as always.
    """
    if not mapping:
        return expr

    def is_bound(e: sympy.Basic) -> bool:
        if not isinstance(e, sympy.Derivative):
            return False
        variables = set(e.variables)
        if variables & mapping.keys():
            return True
        held = (s for s in e.expr.free_symbols if s in mapping)
        return any(mapping[s].free_symbols & variables for s in held)

    def rebind(e: sympy.Derivative) -> sympy.Expr:
        point = tuple(mapping.get(v, v) for v in dict.fromkeys(e.variables))
        held = (s for s in e.expr.free_symbols if s in mapping and s not in e.variables)
        # In a fixed order, for the cache: by name (printing each pair took ~0.2 ms).
        return _rebound(e, point, tuple(sorted(((s, mapping[s]) for s in held), key=_name)))

    if has_any(expr, sympy.Derivative):
        expr = expr.replace(is_bound, rebind)
    # A DAG walk: a flattened expression repeats its shared parts (2ᵏ times for k diamonds).
    return replace_nodes(expr, mapping, evaluate=evaluate)


def flatten_definitions(problem: Problem) -> dict[sympy.Symbol, sympy.Expr]:
    """Each defined name mapped to its definition in terms of the inputs (the target's too)."""
    mapping: dict[sympy.Symbol, sympy.Expr] = {}
    for definition in reversed(problem.definitions):
        mapping[make_symbol(definition.name)] = substitute(definition.expr, mapping)
    return mapping


def _name(pair: tuple[sympy.Symbol, sympy.Expr]) -> str:
    return str(pair[0].name)


@functools.lru_cache(maxsize=256)
def _rebound(
    derivative: sympy.Derivative,
    point: tuple[sympy.Expr, ...],
    held: tuple[tuple[sympy.Symbol, sympy.Expr], ...],
) -> sympy.Expr:
    """``derivative`` by its variables taken at ``point``, its other symbols replaced as ``held``
    says: Subs(∂f/∂d(d, x + y), d, x·y) for ∂f/∂u(u, v) with u = x·y, v = x + y.

    Built at once (replacing v inside a built Subs rebuilds it), and cached: one partial is
    rebound for its step, its check, each path's factors and the caller's closing step
    (~1 ms a Subs).
    """
    variables = list(dict.fromkeys(derivative.variables))
    dummies = [sympy.Dummy(v.name, real=True) for v in variables]
    body = derivative.xreplace({**dict(held), **dict(zip(variables, dummies, strict=True))})
    return sympy.Subs(body, dummies, list(point))


def tidy(expr: sympy.Expr, seconds: float | None = None) -> tuple[sympy.Expr, bool]:
    """A simpler equal form of ``expr`` if sympy finds one within its CPU budget; the flag says whether it ran out.

    A form that brings in new trigonometric arguments (cos(2x) where there was only x)
    is rejected: shorter, but not what a teacher would write. An unknown function's values
    and partials (f(u), ∂f/∂u, ∂₁f(x·y, x + y)) are simplified as the atoms they are: their
    arguments stay as written, and sympy's moves do not rebuild them (10 ms a sum).
    """
    masked = Masked(expr)
    simplified, timed_out = _tidy(masked.expr, seconds, masked)
    return masked.put_back(simplified), timed_out


def _tidy(expr: sympy.Expr, seconds: float | None, parts: Masked) -> tuple[sympy.Expr, bool]:
    if seconds is None:
        # Read at call time, so that a changed SIMPLIFY_SECONDS (tests, tuning) takes effect.
        seconds = SIMPLIFY_SECONDS
    # The moves below often hand back what they were given: each form is counted and
    # factored once.
    ops = functools.cache(parts.ops)
    size = ops(expr)
    # Pulling out common factors is cheap and is what a teacher does first: 2x(wx + b − y).
    factored = factored_terms(expr)
    if ops(factored) < size:
        expr, size = factored, ops(factored)
    if size > 300 or expr.atoms(sympy.Heaviside, sympy.sign):
        return expr, False
    pythagorean = _pythagorean_candidate(expr)
    # Small as written, each unknown-function part one symbol: nothing for the moves to shorten.
    if operations(expr) <= 8 and not pythagorean and not _has_fraction(expr):
        return expr, False
    free = sorted(parts.free_symbols(expr), key=lambda s: s.name)
    rational = (
        len(free) == 1 and not parts.depend_on(expr, free[0]) and expr.is_rational_function(free[0])
    )
    if isinstance(expr, (sympy.Mul, sympy.Pow)) and not (
        pythagorean or rational or _has_mergeable_factors(expr) or _has_fraction(expr)
    ):
        # A product of function values and sums without fractions (the usual chain-rule
        # result, 2x·σ(u)(1 − σ(u))(σ(u) − y)) is as simple as a teacher writes it; the moves
        # below would spend 10–30 ms to say so.
        return expr, False
    if not pythagorean and _expanded_in_atoms(expr) and powsimp(expr) is expr:
        # A second derivative as sympy writes it (2cos(x²) − 4x²·sin(x²)): the moves below
        # hand it back (5–10 ms to say so).
        return expr, False

    def candidates() -> sympy.Expr:
        if rational:
            # factor writes a rational function over one denominator and factors both parts,
            # which is lowest terms: the same form as factor(cancel(·)) (fuzzed in the tests),
            # without cancel's expansion of every product (37 → 6 ms for (x² + 1)¹⁰(x − 1)³′).
            return sympy.factor(expr)
        # A few targeted moves rather than sympy.simplify, which tries everything (and, on
        # its first call, imports sympy.physics: 0.4 s) to find forms no teacher would write.
        forms = [expr]
        moves = (_trigsimp_sums, powsimp, sympy.cancel)
        for move in moves if pythagorean else moves[1:]:
            if move is sympy.cancel and written_out_size(forms[-1], ops(forms[-1])) > CANCEL_SIZE:
                break
            forms.append(factored_terms(move(forms[-1])))
        return min(forms, key=ops)

    simplified = attempt(seconds, candidates)
    if simplified is None:
        return expr, True
    if _trig_arguments(simplified) - _trig_arguments(expr):
        return expr, False
    if ops(simplified) < size:
        return simplified, False
    return expr, False


def _expanded_in_atoms(expr: sympy.Expr) -> bool:
    """Is ``expr`` a sum of integer multiples of products of atoms to positive integer powers,
    each atom a symbol or a function of a symbol or of its power (x, sin(x²), eˣ)?

    Then cancel hands it back: nothing divides, it is multiplied out already, and no atom's
    argument is one factor_terms or signsimp rewrites. Fuzzed against the moves
    (tests/test_derivation.py).
    """
    return isinstance(expr, sympy.Add) and all(_integer_monomial(term) for term in expr.args)


def _integer_monomial(term: sympy.Expr) -> bool:
    coefficient, rest = term.as_coeff_Mul()
    if not coefficient.is_Integer:
        return False
    return rest == 1 or all(_atom_power(factor) for factor in sympy.Mul.make_args(rest))


def _atom_power(factor: sympy.Expr) -> bool:
    return _positive_power(factor, _plain_atom)


def _plain_atom(expr: sympy.Expr) -> bool:
    """A symbol, or a function of one argument that is a symbol or a symbol's positive power."""
    if isinstance(expr, sympy.Symbol):
        return True
    if not isinstance(expr, sympy.Function) or len(expr.args) != 1:
        return False
    return _positive_power(expr.args[0], lambda base: isinstance(base, sympy.Symbol))


def _positive_power(expr: sympy.Expr, is_base: Callable[[sympy.Expr], bool]) -> bool:
    """``expr`` is b or b^n for a positive integer n, with ``is_base(b)``."""
    if isinstance(expr, sympy.Pow):
        exponent = expr.exp
        return bool(exponent.is_Integer and exponent > 0) and is_base(expr.base)
    return is_base(expr)


_PAIRED = (*CIRCULAR, *HYPERBOLIC)


def _pythagorean_candidate(expr: sympy.Expr) -> bool:
    """Could sin² + cos² = 1 (1 + tan² = sec², cosh² − sinh² = 1) shorten ``expr``?

    Only where a sum holds two different functions of one angle squared or higher
    (sin²x·cos x + cos³x), or one beside a constant term (1 − sin²x, tan²x + 1). trigsimp
    costs 30–70 ms a call, and elsewhere only offers forms with new angles (cos 5x), which
    tidy rejects.
    """
    return any(
        isinstance(node, sympy.Add) and _pythagorean_sum(node, node.atoms(sympy.Pow))
        for node in sympy.preorder_traversal(expr)
    )


def _pythagorean_sum(node: sympy.Add, powers: Iterable[sympy.Pow]) -> bool:
    """Do ``powers`` (of the sum ``node``) hold sin² beside cos², or beside a constant term?

    1 − tanh²u is not a candidate: it is tanh′ as its rule states it and as backpropagation
    writes it, kept like σ(1 − σ) (and trigsimp spends 0.1 s on it, to no avail when u is a sum).
    """
    if _is_tanh_derivative(node):
        return False
    functions: dict[sympy.Expr, set[type]] = {}
    for power in powers:
        if _paired_square(power):
            functions.setdefault(power.base.args[0], set()).add(type(power.base))
    if any(len(kinds) >= 2 for kinds in functions.values()):
        return True
    return bool(functions) and any(term.is_Number for term in node.args)


def _paired_square(power: sympy.Pow) -> bool:
    """Is ``power`` a circular or hyperbolic function squared or higher (sin²u, sec⁻²u)?"""
    base, exponent = power.args
    return isinstance(base, _PAIRED) and bool(exponent.is_Integer) and abs(exponent) >= 2


def _is_tanh_derivative(node: sympy.Add) -> bool:
    """Is ``node`` 1 − tanh(u)²?"""
    if len(node.args) != 2 or sympy.S.One not in node.args:
        return False
    (other,) = (term for term in node.args if term is not sympy.S.One)
    coefficient, square = other.as_coeff_Mul()
    return (
        coefficient == -1
        and isinstance(square, sympy.Pow)
        and square.exp == 2
        and isinstance(square.base, sympy.tanh)
    )


def _trigsimp_sums(expr: sympy.Expr) -> sympy.Expr:
    """trigsimp applied only to the sums where the identity can act, innermost first.

    trigsimp of a whole quotient-rule result spends its time on the algebra around the
    sums (a second for 40 operations with √(x² + 1) and (2x + 1)⁴); the identity only
    ever needs the sum whose own terms hold the squares, 1 − tanh²u or r·sin²t + r·cos²t.
    """

    def own_powers(node: sympy.Add) -> list[sympy.Pow]:
        factors = (f for term in node.args for f in sympy.Mul.make_args(term))
        return [f for f in factors if isinstance(f, sympy.Pow)]

    def is_target(node: sympy.Basic) -> bool:
        return isinstance(node, sympy.Add) and _pythagorean_sum(node, own_powers(node))

    return expr.replace(is_target, _trigsimp_sum)


@functools.lru_cache(maxsize=256)
def _trigsimp_sum(node: sympy.Expr) -> sympy.Expr:
    # The gradient of one expression holds the same sum (1 − tanh²u) for several variables:
    # trigsimp costs ~0.1 s a call even where it changes nothing, and its answer depends on
    # the sum alone, so it is worked out once.
    collapsed = _pythagorean_pairs(node)
    if collapsed is not None:
        return collapsed
    # trigsimp also works inside each angle, where the identity has nothing to do and a large
    # angle costs it minutes (1 + A⁴·sin²A, A a polynomial in σ(x) and tanh: > 10 min). Each
    # angle is held as a symbol meanwhile, so the answer says the angles as they were. An
    # angle that is itself a function of an angle, or its power (cos²x), is left: it may be
    # one of the squares the identity pairs elsewhere in the sum.
    # In a fixed order: the symbols' order may steer trigsimp's form, and the same sum must
    # give the same form in every process (a set's order follows the hash seed).
    met = {function.args[0] for function in node.atoms(*_PAIRED)}
    kept = {a for a in met if not a.is_Symbol and not _is_paired_or_its_power(a)}
    ordered = sorted(kept, key=sympy.default_sort_key)
    angles = {angle: sympy.Dummy(f"angle{index}") for index, angle in enumerate(ordered)}
    masked = sympy.trigsimp(node.xreplace(angles))
    return masked.xreplace({held: angle for angle, held in angles.items()})


def _is_paired_or_its_power(expr: sympy.Expr) -> bool:
    """Is ``expr`` a circular or hyperbolic function value, or a power of one (cos x, cos²x)?"""
    base = expr.base if isinstance(expr, sympy.Pow) else expr
    return isinstance(base, _PAIRED)


#: The squares whose sum with a matching term is 1: sin² + cos², cosh² − sinh².
_PARTNERS = {sympy.sin: (sympy.cos, 1), sympy.cosh: (sympy.sinh, -1)}


def _pythagorean_pairs(node: sympy.Expr) -> sympy.Expr | None:
    """``node`` with each pair m·sin²a + m·cos²a (m·cosh²a − m·sinh²a) written m, when that
    leaves no square of a circular or hyperbolic function; else None (trigsimp's turn).

    The polar r·sin²t + r·cos²t + r is the usual case: trigsimp spends ~25 ms to say 2r.
    """
    terms = list(sympy.Add.make_args(node))
    paired = False
    for i, term in enumerate(terms):
        if term is None:
            continue
        coefficient, square = _split_square(term)
        if square is None or square.func not in _PARTNERS:
            continue
        partner_func, sign = _PARTNERS[square.func]
        partner = sign * coefficient * partner_func(square.args[0]) ** 2
        for j in range(len(terms)):
            if j != i and terms[j] is not None and terms[j] == partner:
                terms[i], terms[j] = coefficient, None
                paired = True
                break
    if not paired:
        return None
    collapsed = sympy.Add(*(t for t in terms if t is not None))
    # Any square left (r²·cosh²t − r² is r²·sinh²t) is trigsimp's to weigh.
    return None if any(map(_paired_square, collapsed.atoms(sympy.Pow))) else collapsed


def _split_square(term: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr | None]:
    """(m, f(a)) for a term m·f(a)² with f a function of one argument; (term, None) else."""
    squares = [
        f
        for f in sympy.Mul.make_args(term)
        if isinstance(f, sympy.Pow) and f.exp == 2 and isinstance(f.base, sympy.Function)
    ]
    if len(squares) != 1:
        return term, None
    (square,) = squares
    return term / square, square.base


def identity_used(before: sympy.Expr, after: sympy.Expr) -> str | None:
    """The rule id of the Pythagorean identity a simplification rests on, if it rests on one.

    Only when algebra alone does not turn ``before`` into ``after`` (expanding the
    difference leaves trigonometric or hyperbolic terms) and the identity proves it does.
    """
    if before == after or not _pythagorean_candidate(before):
        return None
    if operations(before) + operations(after) > IDENTITY_OPS:
        return None
    if expanded_terms(before - after) > EXPAND_TERMS_LIMIT:
        return None
    difference = attempt(IDENTITY_SECONDS, lambda: sympy.expand(before - after))
    if difference is None or difference == 0:
        return None
    if operations(difference) > IDENTITY_OPS:
        # The proof cancels the whole difference as one fraction: seconds to minutes on a
        # quotient-rule result (1000 operations), for a label, not for the truth of the step.
        return None
    if not pythagorean_zero(difference):
        return None
    if difference.has(*HYPERBOLIC) and not difference.has(*CIRCULAR):
        return "pythagorean_hyperbolic"
    return "pythagorean"


def _has_mergeable_factors(product: sympy.Expr) -> bool:
    """Does a product hold a fraction or an unexpanded product inside a sum, or powers to merge?"""
    factors = sympy.Mul.make_args(product)
    for factor in factors:
        if not isinstance(factor, sympy.Add):
            continue
        if any(p.exp.is_negative or not p.exp.is_Integer for p in factor.atoms(sympy.Pow)):
            return True
        if any(isinstance(f, sympy.Add) for t in factor.args for f in sympy.Mul.make_args(t)):
            return True
    bases = [f.as_base_exp()[0] for f in factors]
    exponentials = sum(isinstance(f, sympy.exp) for f in factors)
    return exponentials >= 2 or len(set(bases)) < len(bases)


def _trig_arguments(expr: sympy.Expr) -> set[sympy.Expr]:
    return {f.args[0] for f in expr.atoms(*_PAIRED)}


# ---------------------------------------------------------------------------------------------
# Whole problems


def solve_problem(
    problem: Problem,
    *,
    detail: Detail = "normal",
    reserved: frozenset[str] = frozenset(),
    tidy_graph: bool = True,
    checker: Checker | None = None,
    steps: bool = True,
    subject: sympy.Expr | None = None,
) -> Solution:
    """The worked solution of a problem: a rule tree for one expression, a graph derivation otherwise.

    ``reserved`` names are not given to intermediates (those of an earlier order, say).
    ``tidy_graph`` false: a graph's results are not tidied (a caller that collects them in
    its own closing step, as :mod:`chainsolve.mixed` does by f's partials). ``checker``: one
    shared with the caller's other problems (each sympy.diff of the same subject done once).
    ``steps`` false: the results alone (their closing claims still checked), for a caller
    that prints no step (verify). ``subject``: for a graph, an expression sympy wrote that
    equals the target with every intermediate substituted (:mod:`chainsolve.mixed`'s ∂z/∂x
    of the flattened problem): every step is claimed and checked against its derivative.
    """
    single = problem.is_single_expression
    checker = checker or Checker()
    if single:
        solution = _solve_expression(problem, reserved, checker, steps)
    else:
        solution = _solve_graph(problem, checker, tidy_graph, steps, subject)
    solution = _without_wrong_steps(solution)
    _refuse_non_finite(solution)
    misspelled = _misspelling_notes(problem)
    # A name that appears nowhere in the problem may be a typo: the note names the variables.
    constant = [
        Note(
            "constant_wrt",
            (problem.target, name, () if name in problem.names else tuple(problem.inputs)),
        )
        for name in problem.wrt
        if name not in problem.inputs
    ]
    if misspelled or constant:
        solution = replace(solution, notes=(*constant, *misspelled, *solution.notes))
    return replace(solution, detail=detail)


#: sympy's values for "no finite number": never part of a printed result.
NON_FINITE = (sympy.zoo, sympy.nan, sympy.oo, sympy.S.NegativeInfinity)
_NON_FINITE_TYPES = tuple(type(value) for value in NON_FINITE)


def _refuse_non_finite(solution: Solution) -> None:
    """Raise a one-line error when a derivative holds ∞ or an undefined value (0^x gives 0^x·zoo)."""
    for derivation in solution.derivations:
        shown = [derivation.result, *(s for step in derivation.steps for s in step.sides)]
        if not any(isinstance(s, sympy.Expr) and has_any(s, *_NON_FINITE_TYPES) for s in shown):
            continue
        problem = solution.problem
        raise undefined_derivative(
            f"the derivative of {problem.target} with respect to {derivation.wrt}",
            [d.expr for d in problem.definitions],
            problem.source,
        )


def undefined_derivative(what: str, definitions: Iterable[sympy.Expr], source: str) -> ProblemError:
    """The one-line refusal of a derivative that sympy writes with ∞ or an undefined value."""
    hint = "write the function in a form that is defined on an interval around each point"
    if any(p.base.is_zero for d in definitions for p in d.atoms(sympy.Pow)):
        hint = (
            "a power of 0 (0^x) is 0 for x > 0, 1 at x = 0 and undefined for x < 0, so it "
            "has no derivative as one formula; where x > 0 the derivative is 0"
        )
    return ProblemError(
        "undefined_derivative", f"{what} is infinite or undefined", source=source, hint=hint
    )


#: Set to a non-empty value (the test suite does) to make a step whose check found a difference
#: raise :class:`WrongStepError` instead of being replaced by sympy's derivative.
STRICT_CHECKS_ENV = "CHAINSOLVE_STRICT_CHECKS"


class WrongStepError(AssertionError):
    """A rule produced a step whose check found a difference: a bug in chainsolve, never shown."""


def _without_wrong_steps(solution: Solution) -> Solution:
    """``solution`` with every derivation holding a step that failed its check replaced by sympy's.

    "Could not confirm" is allowed (the step is marked); "found a difference" means a rule
    is wrong. Under :data:`STRICT_CHECKS_ENV` that raises, so the test suite fails; otherwise
    the reader gets an honest derivative from sympy.diff and a note saying so.
    """
    wrong_shared = [s for s in solution.shared_steps if s.check.differs]
    derivations = []
    replaced = []
    for derivation in solution.derivations:
        wrong = wrong_shared + [s for s in derivation.steps if s.check.differs]
        if not wrong:
            derivations.append(derivation)
            continue
        if os.environ.get(STRICT_CHECKS_ENV):
            raise WrongStepError(
                f"{solution.problem.source!r}, d/d{derivation.wrt}: step "
                f"{wording.sentence(wrong[0])!r} {wrong[0].sides!r} {wrong[0].check.detail}"
            )
        derivations.append(_sympy_fallback(solution.problem, derivation))
        replaced.append(derivation.wrt)
    if not replaced:
        return solution
    return replace(
        solution,
        derivations=tuple(derivations),
        shared_steps=tuple(s for s in solution.shared_steps if not s.check.differs),
        notes=(*solution.notes, Note("wrong_step", (tuple(replaced),))),
    )


def _sympy_fallback(problem: Problem, derivation: Derivation) -> Derivation:
    """One honest step: sympy's derivative of the fully substituted target."""
    result = sympy_derivative(_flattened_target(problem), make_symbol(derivation.wrt))
    step = Step(
        "no_rule",
        "sympy_fallback",
        (derivation.derivative, result),
        (RuleRef("no_rule"),),
        Check("symbolic", "sympy.diff of the fully substituted problem"),
    )
    return replace(derivation, steps=(step,), result=result, in_terms_of_inputs=True, paths=())


def _flattened_target(problem: Problem) -> sympy.Expr:
    """The target's definition with every intermediate variable substituted."""
    mapping = {make_symbol(d.name): d.expr for d in problem.definitions}
    expr: sympy.Expr = make_symbol(problem.target)
    previous = None
    # Definitions form a DAG, so this settles after at most one round per definition.
    while previous != expr:
        previous = expr
        expr = expr.xreplace(mapping)
    return expr


def _misspelling_notes(problem: Problem) -> list[Note]:
    """A note for each unknown function whose name looks like a known one (sine, cosin, sqr)."""
    from chainsolve.functions import closest_function

    notes = []
    for name in sorted(problem.function_names):
        meant = closest_function(name)
        if meant is not None:
            notes.append(Note("misspelled", (name, meant)))
    return notes


def _identity_refs(before: sympy.Expr, after: sympy.Expr) -> tuple[RuleRef, ...]:
    identity = identity_used(before, after)
    return (RuleRef(identity),) if identity else ()


def _final_steps(
    checker: Checker,
    expr: sympy.Expr,
    total: Leibniz,
    result: sympy.Expr,
    tree: Rule,
    typed: sympy.Expr,
) -> tuple[list[Step], TextbookForm, list[Note]]:
    """The closing 'simplify' step of a derivation, and notes when simplifying ran out of time."""
    simplified, timed_out = result, False
    small = tree_size(result, FLATTEN_LIMIT) <= FLATTEN_LIMIT
    if small:
        # A result that repeats a shared part (a chain of diamonds) is far larger written out
        # than held: simplifying walks it written out, so it is left as it is.
        simplified, timed_out = tidy(result)
    notes = [Note("simplify_ran_out")] if timed_out else []
    # The result as derived, each term tidied on its own: the form unless tidying the whole
    # is clearly simpler (chainsolve.textbook states the rule).
    derived = _tidied(derived_terms(tree), {result: simplified}) if small else None
    form = textbook_form(simplified, expr, rewrite=small, derived=derived, typed=typed)
    if small:
        form = with_typed_constant(tree, form)
    written = simplified if form.shown is None else form.expr
    if small and written != result:
        # Simplifying may already have cancelled a factor (1/x² in atan(1/x)′): where the
        # result holds says so, as for a cancellation among the textbook rewrites.
        lost = lost_denominators(result, written)
        form = dataclasses.replace(form, conditions=unique_exprs((*form.conditions, *lost)))
    step = _closing_step(result, simplified, form, Claim(expr, total.wrt, _claimed(form)), total)
    notes.extend(_textbook_notes(form))
    return [checker.check(step)], form, notes


def _claimed(form: TextbookForm) -> tuple[sympy.Expr, ...]:
    """What the closing step claims: the form, and the value of the formula it prints when that
    is a sum or product as derived (checked too, so what is printed is what is proved)."""
    printed = None if form.shown is None else formula_value(form.shown, {})
    return (form.expr,) if printed is None or printed == form.expr else (form.expr, printed)


def _tidied(
    terms: list[sympy.Expr], known: Mapping[sympy.Expr, sympy.Expr] = MappingProxyType({})
) -> list[sympy.Expr]:
    """Each term of a result as derived with its fractions tidied (a quotient rule's, 1/cos²x);
    ``known`` holds terms tidied already (a result of one term is its only term).

    A term without a fraction is left as derived: tidying it only takes a factor out
    (2t − 2t² → 2t(1 − t)), which hides the factor it shares with the other terms;
    textbook.as_derived takes that out instead.
    """
    return [
        (known[term] if term in known else tidy(term)[0]) if _has_fraction(term) else term
        for term in terms
    ]


def _closing_step(
    result: sympy.Expr,
    simplified: sympy.Expr,
    form: TextbookForm,
    claim: Claim | None,
    total: Leibniz,
    check: Check = NO_CLAIM,
) -> Step:
    """The last step: ``result`` simplified and put in textbook form, with where it holds."""
    phrase = "simplify" if form.expr != result else "result"
    rules = (*_identity_refs(result, simplified), *(RuleRef(r) for r in form.rewrites))
    if form.shown is not None:
        # A sum as derived: its terms' own rewrites, if any, are what simplifying did.
        phrase = "simplify" if form.rewrites or isinstance(form.shown, Product) else "result"
        rules = tuple(RuleRef(r) for r in form.rewrites)
    words: tuple[tuple[str, str], ...] = ()
    if form.conditions or form.domain:
        phrase += "_for"
        words = (("condition", _condition(form)),)
    shown = form.expr if form.shown is None else form.shown
    return Step("simplify", phrase, (total, shown), rules, check, claim=claim, words=words)


def _condition(form: TextbookForm) -> str:
    return wording.condition_text(form.conditions, form.domain)


def _textbook_notes(form: TextbookForm) -> list[Note]:
    """The notes a textbook form needs: where it holds, the derivative where only its limit
    gives it, what a relu′ indicator means."""
    at_limits = {limit.argument for limit in form.limits}
    undefined = tuple(g for g in form.conditions if g not in at_limits)
    notes = []
    if undefined or form.domain:
        notes.append(Note("holds_for", (undefined, form.domain)))
    notes.extend(
        Note("derivative_at_limit", (limit.argument, limit.var, limit.point, limit.value))
        for limit in form.limits
    )
    notes.extend(Note("indicator", (g,)) for g in form.indicator)
    return notes


def _prints_alike(shown: Formula, result: Formula) -> bool:
    """Does the last line already show ``result``? Compared as printed: a typed 3x² − 2 is one.

    Printing is compared only for results of at most :data:`PRINT_COMPARE_NODES` nodes written
    out: a flattened DAG prints exponentially long (a chain of k diamonds, 2ᵏ leaves).
    """
    if same_formula(shown, result):
        return True
    if (
        isinstance(result, sympy.Expr)
        and tree_size(result, PRINT_COMPARE_NODES) > PRINT_COMPARE_NODES
    ):
        return False
    return formula_unicode(shown) == formula_unicode(result)


def _solve_expression(
    problem: Problem, reserved: frozenset[str], checker: Checker, steps_wanted: bool = True
) -> Solution:
    definition = problem.definitions[0]
    target = make_symbol(problem.target)
    namer = Namer(problem.names | problem.function_names | {"e", "pi"} | reserved)
    partial = len(problem.inputs) > 1
    derivations = []
    notes: list[Note] = []
    # Decompositions and outer derivatives already shown for an earlier variable.
    shown: dict[tuple[object, ...], str] = {}
    for name in problem.wrt:
        wrt = make_symbol(name)
        # A definition built from sympy's form (a second derivative's) has no typed order.
        tree = plan(definition.typed, wrt, typed=definition.typed is not definition.expr)
        rules = MappingProxyType({(problem.target, name): tree})
        walk = explain if steps_wanted else result_only
        explained = walk(tree, namer, label=target, partial=partial)
        total = Leibniz(target, wrt, partial, (problem.target, None))
        steps = list(checker.check_all(explained.steps))
        # The steps follow the typed form; the result is sympy's evaluated form of their value.
        value = explained.result
        if tree_size(value, PRINT_COMPARE_NODES) <= PRINT_COMPARE_NODES:
            # A larger one is left as it is: sympy's evaluation asks assumptions of every
            # shared part written out (its free symbols, 2ᵏ steps for k diamonds).
            value = evaluate_typed(value)
        if not explained.in_terms_of_inputs:
            notes.append(Note("long_chain", (len(namer.definitions),)))
            derivations.append(Derivation(name, total, tuple(steps), value, False, rules=rules))
            continue
        closing, form, more_notes = _final_steps(
            checker, definition.expr, total, value, tree, definition.typed
        )
        notes.extend(n for n in more_notes if n not in notes)
        written = form.expr if form.shown is None else form.shown
        if not (steps and steps[-1].sides and _prints_alike(steps[-1].sides[-1], written)):
            steps.extend(closing)
        kept = tuple(_shared_once(steps, shown, name))
        derivation = Derivation(name, total, kept, form.expr, rules=rules, shown=form.shown)
        derivations.append(derivation)
    return Solution(
        problem=problem,
        derivations=tuple(derivations),
        notes=tuple(notes),
        intermediates=MappingProxyType({s.name: e for s, e in namer.definitions.items()}),
    )


def _shared_once(steps: list[Step], shown: dict[tuple[object, ...], str], wrt: str) -> list[Step]:
    """Steps with decompositions and outer derivatives already shown for another variable folded into one line.

    The gradient of one expression shares this work between its variables; writing it
    out again for each would hide what differs.
    """
    kept: list[Step] = []
    # Which kinds of step were folded, and the variable they were shown for.
    folded: dict[str, str] = {}
    # Lagrange letters of a folded decomposition not yet defined (g(y) = xy after g(x) = xy).
    undefined: list[tuple[sympy.Expr, sympy.Expr]] = []
    for step in steps:
        shareable = step.kind == "decompose" or (
            step.kind == "local_derivative"
            and step.sides
            and isinstance(step.sides[0], Leibniz)
            and not step.sides[0].partial
        )
        key = (step.kind, step.sides, step.definitions, step.depth)
        if shareable and shown.get(key, wrt) != wrt:
            folded.setdefault(step.kind, shown[key])
            undefined.extend(d for d in step.lagrange_definitions if ("letter", d) not in shown)
            continue
        if shareable:
            shown.setdefault(key, wrt)
        if undefined and step.kind != "decompose":
            step = replace(step, lagrange_definitions=(*step.lagrange_definitions, *undefined))
            undefined.clear()
        shown.update({("letter", d): wrt for d in step.lagrange_definitions})
        kept.append(step)
    # The outer-derivatives note has the kind of the steps it stands for, so a detail level
    # that hides local derivatives (brief) hides the note too: it never points at nothing.
    notes = []
    if "decompose" in folded:
        notes.append(Step("note", "shared", words=(("owner", folded["decompose"]),)))
    if "local_derivative" in folded:
        owner = folded["local_derivative"]
        notes.append(Step("local_derivative", "shared_outer", words=(("owner", owner),)))
    return notes + kept


# -- graphs ------------------------------------------------------------------------------------


def _flattened_size(graph: Graph) -> dict[str, int]:
    """Operation count each node would have if fully substituted, computed without substituting."""
    size: dict[str, int] = {}
    for node in graph.nodes:
        if node.expr is None:
            size[node.name] = 1
            continue
        own = operations(node.expr) + 1
        uses = {s.name: _occurrences(node.expr, s) for s in node.expr.free_symbols}
        size[node.name] = own + sum(count * size[name] for name, count in uses.items())
    return size


def _occurrences(expr: sympy.Expr, symbol: sympy.Symbol) -> int:
    return sum(1 for atom in sympy.preorder_traversal(expr) if atom == symbol)


def _flatten(graph: Graph, name: str) -> sympy.Expr:
    """The definition of ``name`` with every intermediate substituted (only for small graphs)."""
    full: dict[sympy.Symbol, sympy.Expr] = {}
    for node in graph.nodes:
        if node.expr is not None:
            full[make_symbol(node.name)] = substitute(node.expr, full)
    return full.get(make_symbol(name), make_symbol(name))


def _solve_graph(
    problem: Problem,
    checker: Checker,
    tidy_results: bool = True,
    steps_wanted: bool = True,
    subject: sympy.Expr | None = None,
) -> Solution:
    graph = build_graph(problem)
    namer = Namer(problem.names | problem.function_names | {"e", "pi"})
    sizes = _flattened_size(graph)
    small = sizes[problem.target] <= FLATTEN_LIMIT
    target_symbol = make_symbol(problem.target)
    several_inputs = len(problem.inputs) > 1

    # The dependency list, target first, as it was typed.
    definitions = tuple((make_symbol(d.name), d.typed) for d in problem.definitions)
    shared: list[Step] = [Step("decompose", "graph_definitions", definitions=definitions)]
    dependency_lines = []
    # Target first, then in the order the user wrote the definitions.
    reading_order = [graph.by_name[d.name] for d in problem.definitions]
    for node in reading_order:
        inputs = [e.source for e in graph.inputs_of(node.name)]
        used = node.expr.free_symbols if node.expr is not None else set()
        constants = sorted(s.name for s in used if s.name in graph.constants)
        if inputs:
            dependency_lines.append(wording.depends_on(node.name, inputs, constants))
    shared.append(
        Step("note", "graph_dependencies", words=(("dependencies", "; ".join(dependency_lines)),))
    )

    relevant: set[str] = set()
    for name in problem.wrt:
        relevant |= graph.on_paths_from(name)

    # One local partial derivative per edge, each by its own rule tree (kept for mistakes).
    local: dict[tuple[str, str], sympy.Expr] = {}
    edge_rules: dict[tuple[str, str], Rule] = {}
    scratch = Namer(problem.names | problem.function_names | {"e", "pi"})
    for node in reading_order:
        for edge in graph.inputs_of(node.name):
            if edge.source not in relevant or node.name not in relevant:
                continue
            source = make_symbol(edge.source)
            # Planned from the definition as typed; the graph and the checks use sympy's form.
            definition = problem.definition(node.name)
            typed = definition.typed
            tree = plan(typed, source, typed=typed is not definition.expr)
            walk = explain if steps_wanted else result_only
            explained = walk(tree, scratch, label=typed, partial=edge.partial, depth=1)
            shown = common_factor(evaluate_typed(explained.result))
            label = Leibniz(make_symbol(node.name), source, edge.partial)
            shared.append(
                Step(
                    "local_derivative",
                    "graph_edge",
                    (label, shown),
                    explained.rules,
                    check_claim(shown, edge.local_partial) if steps_wanted else NO_CLAIM,
                    claim=Claim(node.expr, source, (shown,)),
                    words=(("source", edge.source), ("target", node.name)),
                )
            )
            local[(node.name, edge.source)] = shown
            edge_rules[(node.name, edge.source)] = tree

    derivations = []
    notes: list[Note] = []
    for name in problem.wrt:
        derivations.append(
            _graph_derivation(
                problem,
                graph,
                name,
                local,
                small,
                target_symbol,
                several_inputs,
                notes,
                namer,
                checker,
                subject,
                tidy_result=tidy_results,
            )
        )
    # Functions of several arguments whose partial derivatives the results write ∂ᵢf(…);
    # not the functions inside the point (g(t) in ∂₁f(g(t), h(t))).
    evaluated = sorted(
        {
            subs.args[0].expr.func.__name__
            for d in derivations
            for subs in d.result.atoms(sympy.Subs)
            if isinstance(subs.args[0], sympy.Derivative)
            and isinstance(subs.args[0].expr, AppliedUndef)
            and len(subs.args[0].expr.args) > 1
        }
    )
    if evaluated:
        notes.append(Note("partial_slots", (tuple(evaluated),)))
    for name in _direct_and_indirect(graph, problem):
        through = [e.source for e in graph.inputs_of(problem.target) if e.source != name]
        notes.append(Note("partial_versus_total", (problem.target, name, tuple(through))))
    return Solution(
        problem=problem,
        derivations=tuple(_with_rules(d, problem.target, edge_rules) for d in derivations),
        shared_steps=tuple(shared),
        graph=graph,
        notes=tuple(notes),
    )


def _with_rules(
    derivation: Derivation, target: str, edge_rules: dict[tuple[str, str], Rule]
) -> Derivation:
    """``derivation`` keeping its rule trees: each edge's, and the sum over its paths."""
    rules = dict(edge_rules)
    if derivation.paths:
        edge = edge_rules.__getitem__
        rules[(target, derivation.wrt)] = plan_paths(
            target, derivation.wrt, derivation.paths, lambda node, source: edge((node, source))
        )
    return replace(derivation, rules=MappingProxyType(rules))


def _direct_and_indirect(graph: Graph, problem: Problem) -> list[str]:
    """The variables asked for that reach the target both directly and through another variable."""
    direct = {e.source for e in graph.inputs_of(problem.target)}
    return [name for name in problem.wrt if name in direct and graph.path_count(name) > 1]


def _graph_derivation(
    problem: Problem,
    graph: Graph,
    name: str,
    local: dict[tuple[str, str], sympy.Expr],
    small: bool,
    target_symbol: sympy.Symbol,
    several_inputs: bool,
    notes: list[Note],
    namer: Namer,
    checker: Checker,
    subject: sympy.Expr | None,
    *,
    tidy_result: bool = True,
) -> Derivation:
    wrt = make_symbol(name)
    total = Leibniz(target_symbol, wrt, several_inputs, (problem.target, None))
    paths = graph.paths(name)
    count = graph.path_count(name)
    steps: list[Step] = []
    flat = (subject if subject is not None else _flatten(graph, problem.target)) if small else None
    # Asked of the caller's checker: a mixed partial's oracle is differentiated once.
    reference = checker.reference(flat, wrt) if flat is not None else None
    # Accumulation (too many paths to write out) checks each layer through the graph, even
    # when the whole is small enough to substitute at the end.
    sampler = None if small and paths is not None else GraphSampler(graph, problem.inputs)
    gradients: dict[sympy.Symbol, sympy.Expr] = {}
    words = (("target", problem.target), ("wrt", name))

    def check(side_value: sympy.Expr) -> Check:
        if reference is not None:
            return check_claim(side_value, reference)
        assert sampler is not None
        return sampler.check(side_value, name, {})

    def claim(*values: sympy.Expr) -> Claim | None:
        return None if flat is None else Claim(flat, wrt, values)

    def full(expr: sympy.Expr) -> sympy.Expr:
        return _substitute_graph(graph, expr) if small else expr

    def leib(a: str, b: str) -> Leibniz:
        return Leibniz(make_symbol(a), make_symbol(b), graph.edge(b, a).partial)

    if paths is not None:
        steps.append(
            Step("paths", "graph_paths", paths=paths, words=(("count", str(len(paths))), *words))
        )
        formula = Sum(
            tuple(Product(tuple(leib(p[i], p[i + 1]) for i in range(len(p) - 1))) for p in paths)
        )
        products = Sum(
            tuple(
                Product(_shown_factors(local[(p[i], p[i + 1])] for i in range(len(p) - 1)))
                for p in paths
            )
        )
        value = sympy.Add(
            *(sympy.Mul(*(local[(p[i], p[i + 1])] for i in range(len(p) - 1))) for p in paths)
        )
        checked = check(full(value))
        steps.append(
            Step(
                "chain_formula",
                "graph_path_sum",
                (total, formula),
                (RuleRef("path_sum"),),
                checked,
                claim=claim(full(value)),
            )
        )
        steps.append(
            Step(
                "product", "graph_insert", (total, products), (), checked, claim=claim(full(value))
            )
        )
        result = value
        named = _in_intermediates(graph, value)
        if named is not None:
            in_terms, used = named
            steps.append(
                Step(
                    "simplify",
                    "graph_simplify_intermediates",
                    (total, in_terms),
                    (),
                    check(full(in_terms)),
                    claim=claim(full(in_terms)),
                    words=(("definitions", ", ".join(used)),),
                )
            )
            result = in_terms
    else:
        named = None
        steps.append(Step("paths", "graph_too_many_paths", words=(("count", str(count)), *words)))
        assert sampler is not None
        result = _accumulate(graph, problem, name, local, steps, sampler, namer, gradients)
        steps.append(
            Step(
                "note",
                "graph_backprop_check",
                # The last gradient as its step wrote it, in the formula's order.
                (total, steps[-1].sides[-1]),
                (),
                sampler.check_against_finite_difference(name),
            )
        )
    if small:
        substituted = _substitute_graph(graph, _resolve_gradients(result, gradients))
        # Each path's product with the definitions put in: the result as derived.
        along = paths if named is None else None
        path_products = [_substitute_graph(graph, _path_product(local, p)) for p in along or ()]
        if substituted != result:
            sides: tuple[Formula, ...] = (total, substituted)
            if paths is not None and named is None:
                # Show each path's product with the definitions put in, then tidied in the
                # order of the paths (chainsolve.textbook's order, not sympy's).
                shown = Sum(
                    tuple(
                        Product(
                            _shown_factors(
                                common_factor(_substitute_graph(graph, local[(p[i], p[i + 1])]))
                                for i in range(len(p) - 1)
                            )
                        )
                        for p in paths
                    )
                )
                tidied = parts_as_derived(lambda: path_products, substituted)
                sides = closing_sides(total, shown, tidied, keep_before=True, signs_shown=True)
            # Each side as printed is claimed and checked (the same value, held two ways).
            printed = unique_exprs(formula_value(side, {}) for side in sides[1:])
            steps.append(
                Step(
                    "substitute",
                    "graph_substitute",
                    sides,
                    (),
                    combine_checks([check(value) for value in printed]),
                    claim=claim(*printed),
                )
            )
        simplified, timed_out = tidy(substituted) if tidy_result else (substituted, False)
        if timed_out:
            notes.append(Note("simplify_ran_out"))
        derived = None
        if paths is not None and named is None and not has_abstract(substituted):
            # Each path's product with the definitions put in: the result as derived. (An
            # unknown function's partials are collected by chainsolve.mixed instead.)
            derived = _tidied(path_products)
        # Untidied for a caller that closes with its own step (chainsolve.mixed collects f's
        # partials): no textbook rewrite either, only where the result holds.
        form = textbook_form(simplified, flat, rewrite=tidy_result, derived=derived)
        notes.extend(n for n in _textbook_notes(form) if n not in notes)
        closes = form.expr != substituted or substituted == result
        if form.shown is not None:
            # A result as derived is shown unless the last line already reads so.
            last = steps[-1].sides[-1] if steps and steps[-1].sides else None
            closes = last is None or not _prints_alike(last, form.shown)
        if closes:
            values = _claimed(form)
            closing = claim(*values)
            verdict = combine_checks([check(value) for value in values])
            steps.append(_closing_step(substituted, simplified, form, closing, total, verdict))
        return Derivation(
            name, total, tuple(steps), form.expr, True, paths or (), count, shown=form.shown
        )
    notes.append(Note("left_in_intermediates", (name,)))
    return Derivation(name, total, tuple(steps), result, False, paths or (), count)


def _path_product(local: dict[tuple[str, str], sympy.Expr], path: tuple[str, ...]) -> sympy.Expr:
    """The product of the local partials along one path."""
    return sympy.Mul(*(local[(path[i], path[i + 1])] for i in range(len(path) - 1)))


#: Most operations of an inserted product for simplifying it in the intermediate variables.
INTERMEDIATE_OPS = 120


def _in_intermediates(graph: Graph, value: sympy.Expr) -> tuple[sympy.Expr, list[str]] | None:
    """The inserted product simplified in the problem's own intermediate variables, if that cancels.

    Each definition met inside ``value`` is written as its name (σ(z) as p when p = σ(z)),
    then the product is tidied: the logistic loss's (−y/p + (1 − y)/(1 − p))·p(1 − p)
    becomes p − y. ``None`` unless that cancels every fraction of the renamed product (a
    mere renaming, σ(a)(1 − σ(a)) as h(1 − h), or a regrouping is not worth a step, and the
    path products are better shown substituted); else the form and the definitions used.
    """
    if operations(value) > INTERMEDIATE_OPS:
        return None
    names = {
        node.expr: make_symbol(node.name)
        for node in graph.nodes
        if node.expr is not None and node.kind != "target" and not node.expr.is_Symbol
    }
    renamed = value.xreplace(names)
    used = [f"{unicode_expr(names[e])} = {unicode_expr(e)}" for e in names if value.has(e)]
    if not used:
        return None
    if not _has_fraction(renamed):
        return None
    simplified, _ = tidy(renamed)
    if _has_fraction(simplified) or operations(simplified) >= operations(renamed):
        return None
    return simplified, used


def _has_fraction(expr: sympy.Expr) -> bool:
    """Does ``expr`` divide by anything other than a number?"""
    return any(p.exp.is_negative and not p.base.is_number for p in expr.atoms(sympy.Pow))


def _shown_factors(factors: Iterable[sympy.Expr]) -> tuple[sympy.Expr, ...]:
    """A path's local derivatives as the product is written: factors of 1 left out.

    The chain-rule line above lists every factor; once inserted, a 1 (an edge through a
    sum) changes nothing and only lengthens the line. A path of 1s alone is written 1.
    """
    kept = tuple(f for f in factors if f != 1)
    return kept or (sympy.S.One,)


def _resolve_gradients(expr: sympy.Expr, gradients: dict[sympy.Symbol, sympy.Expr]) -> sympy.Expr:
    """``expr`` with the accumulated gradient symbols replaced by what they stand for.

    Each gradient only uses symbols created before it (closer to the target), so one pass
    in creation order resolves them all.
    """
    resolved: dict[sympy.Symbol, sympy.Expr] = {}
    for symbol, value in gradients.items():
        resolved[symbol] = value.xreplace(resolved)
    return expr.xreplace(resolved)


@functools.lru_cache(maxsize=256)
def _substitute_graph(graph: Graph, expr: sympy.Expr) -> sympy.Expr:
    # Cached, and a sum or product term by term: the same sum is substituted back for its
    # step, its check and its factors, and a path's factors recur in the sum of the paths
    # (an unknown function's partial is rebound as a Subs once, not once per line).
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        args = tuple(_substitute_graph(graph, arg) for arg in expr.args)
        return expr if args == expr.args else expr.func(*args)
    return substitute(expr, _graph_mapping(graph))


@functools.lru_cache(maxsize=4)
def _graph_mapping(graph: Graph) -> Mapping[sympy.Symbol, sympy.Expr]:
    """Each intermediate of ``graph`` in terms of the inputs (worked out once per graph: a
    solution substitutes back into every step and factor)."""
    mapping: dict[sympy.Symbol, sympy.Expr] = {}
    for node in graph.nodes:
        if node.expr is not None and node.kind != "target":
            mapping[make_symbol(node.name)] = substitute(node.expr, mapping)
    return MappingProxyType(mapping)


def _accumulate(
    graph: Graph,
    problem: Problem,
    name: str,
    local: dict[tuple[str, str], sympy.Expr],
    steps: list[Step],
    sampler: GraphSampler,
    namer: Namer,
    gradients: dict[sympy.Symbol, sympy.Expr],
) -> sympy.Expr:
    """Reverse accumulation: ∂z/∂u = Σ over u's consumers c of ∂z/∂c · ∂c/∂u, output side first.

    Each node's gradient is kept as a symbol of its own, ū (:class:`Adjoint`, as the passes
    at a point write it), so that the work and the text stay linear in the number of edges,
    however many paths there are; each step defines it (ū = ∂z/∂u = …) and writes its terms
    in the order of the formula, c̄ · ∂c/∂u. ``gradients`` receives what each symbol stands
    for, in creation order.
    """
    target = problem.target
    relevant = graph.on_paths_from(name)
    gradient_symbol: dict[str, sympy.Expr] = {target: sympy.S.One}
    symbols_to_nodes: dict[sympy.Symbol, str] = {}
    result = sympy.S.Zero
    for node in reversed(graph.nodes):
        if node.name == target or node.name not in relevant:
            continue
        consumers = [e for e in graph.consumers_of(node.name) if e.target in relevant]
        # c̄ · ∂c/∂u per consumer c, as the passes at a point write it; the target's own
        # gradient is 1, so its term is its local derivative alone (never ∂f/∂f · ∂f/∂u).
        shown = Sum(
            tuple(
                Product(
                    (
                        *(() if e.target == target else (gradient_symbol[e.target],)),
                        Leibniz(make_symbol(e.target), make_symbol(node.name), e.partial),
                    )
                )
                for e in consumers
            )
        )
        inserted = Sum(
            tuple(
                Product(_shown_factors((gradient_symbol[e.target], local[(e.target, node.name)])))
                for e in consumers
            )
        )
        # The gradient is the value of the line as printed, so what is checked is what is shown.
        accumulated = formula_value(inserted, {})
        label = Leibniz(make_symbol(target), make_symbol(node.name), True)
        symbol = None if node.name == name else Adjoint(namer.fresh(f"grad_{node.name}"), node.name)
        sides = (label, shown, inserted) if symbol is None else (symbol, label, shown, inserted)
        steps.append(
            Step(
                "accumulate",
                "graph_accumulate",
                sides,
                (RuleRef("accumulation"),),
                sampler.check(accumulated, node.name, symbols_to_nodes),
                words=(("node", node.name), ("consumers", ", ".join(e.target for e in consumers))),
            )
        )
        if symbol is None:
            result = accumulated
            break
        gradient_symbol[node.name] = symbol
        gradients[symbol] = accumulated
        symbols_to_nodes[symbol] = node.name
    return result


def has_abstract(expr: sympy.Expr) -> bool:
    """True when ``expr`` involves an unknown function such as ``f(x, y)``."""
    return bool(expr.atoms(AppliedUndef))
