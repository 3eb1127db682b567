"""Builds worked solutions: rule trees for one expression, sums over paths and accumulation for graphs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import sympy
from sympy.core.function import AppliedUndef

from chainsolve.budget import attempt
from chainsolve.equivalence import (
    CIRCULAR,
    EXPAND_TERMS_LIMIT,
    HYPERBOLIC,
    check_claim,
    expanded_terms,
    pythagorean_zero,
)
from chainsolve.errors import ProblemError
from chainsolve.filters import printed_key
from chainsolve.graph import Graph, build_graph
from chainsolve.graphcheck import GraphSampler
from chainsolve.problem import Problem, make_symbol
from chainsolve.rules import match_outer
from chainsolve.steps import (
    NO_CLAIM,
    Check,
    Derivation,
    Formula,
    Leibniz,
    Neg,
    Product,
    Quotient,
    Solution,
    Step,
    StepKind,
    Sum,
)

#: Letters used for the functions of a chain in Lagrange notation, outermost first.
LAGRANGE_LETTERS = ("f", "g", "h", "k", "m", "p", "q", "r", "s", "v", "w")
#: A fully substituted result larger than this many operations is left in intermediate variables.
FLATTEN_LIMIT = 400
#: A top-level chain with more links than this is checked numerically and not substituted back.
LONG_CHAIN = 8
#: Operation counts past which the identity behind a simplification is not looked for.
IDENTITY_OPS = 200
#: CPU seconds spent trying to simplify a final result before the unsimplified (correct) form
#: is kept: a safety net far above what the size gates in :func:`tidy` let through.
SIMPLIFY_SECONDS = 2.0
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
        self._prefix = _free_prefix(prefix, self._used, self._printed)
        self._by_expr: dict[sympy.Expr, sympy.Symbol] = {}
        self._counter = 0
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


def substitute(expr: sympy.Expr, mapping: dict[sympy.Symbol, sympy.Expr]) -> sympy.Expr:
    """``expr`` with symbols replaced, keeping derivatives of unknown functions meaningful.

    ``Derivative(f(u), u)`` with ``u → g(x)`` becomes ``Subs(Derivative(f(d), d), d, g(x))``:
    a plain replacement would differentiate with respect to an expression. So does
    ``Derivative(f(x, t), t)`` with ``x → g(t)``: replaced plainly it would read as the
    total derivative of ``f(g(t), t)``, not the partial ∂₂f at ``(g(t), t)``.
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
        variables = list(dict.fromkeys(e.variables))
        dummies = [sympy.Dummy(v.name, real=True) for v in variables]
        body = e.xreplace(dict(zip(variables, dummies, strict=True)))
        return sympy.Subs(body, dummies, [mapping.get(v, v) for v in variables])

    if expr.has(sympy.Derivative):
        expr = expr.replace(is_bound, rebind)
    return expr.xreplace(mapping)


def sympy_derivative(expr: sympy.Expr, wrt: sympy.Symbol) -> sympy.Expr:
    """sympy's derivative of ``expr``, the oracle every step is checked against.

    sympy differentiates sign and Heaviside in the sense of distributions; the steps give
    the derivative where it exists (0), as for relu′ and |u|′.
    """
    known = sympy.diff(expr, wrt)
    if known.has(sympy.DiracDelta):
        known = known.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    return known


def tidy(expr: sympy.Expr, seconds: float | None = None) -> tuple[sympy.Expr, bool]:
    """A simpler equal form of ``expr`` if sympy finds one within its CPU budget; the flag says whether it ran out.

    A form that brings in new trigonometric arguments (cos(2x) where there was only x)
    is rejected: shorter, but not what a teacher would write.
    """
    if seconds is None:
        # Read at call time, so that a changed SIMPLIFY_SECONDS (tests, tuning) takes effect.
        seconds = SIMPLIFY_SECONDS
    size = sympy.count_ops(expr)
    # Pulling out common factors is cheap and is what a teacher does first: 2x(wx + b − y).
    factored = sympy.factor_terms(expr)
    if sympy.count_ops(factored) < size:
        expr, size = factored, sympy.count_ops(factored)
    if size > 300 or expr.atoms(sympy.Heaviside, sympy.sign):
        return expr, False
    pythagorean = _pythagorean_candidate(expr)
    if size <= 8 and not pythagorean:
        return expr, False
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    rational = len(free) == 1 and expr.is_rational_function(free[0])
    if isinstance(expr, (sympy.Mul, sympy.Pow)) and not (
        pythagorean or rational or _has_mergeable_factors(expr)
    ):
        # A product of function values and sums without fractions (the usual chain-rule
        # result, 2x·σ(u)(1 − σ(u))(σ(u) − y)) is as simple as a teacher writes it; the moves
        # below would spend 10–30 ms to say so.
        return expr, False

    def candidates() -> sympy.Expr:
        if rational:
            return sympy.factor(sympy.cancel(expr))
        # A few targeted moves rather than sympy.simplify, which tries everything (and, on
        # its first call, imports sympy.physics: 0.4 s) to find forms no teacher would write.
        forms = [expr]
        moves = (_trigsimp_sums, sympy.powsimp, sympy.cancel)
        for move in moves if pythagorean else moves[1:]:
            forms.append(sympy.factor_terms(move(forms[-1])))
        return min(forms, key=sympy.count_ops)

    simplified = attempt(seconds, candidates)
    if simplified is None:
        return expr, True
    if _trig_arguments(simplified) - _trig_arguments(expr):
        return expr, False
    if sympy.count_ops(simplified) < size:
        return simplified, False
    return expr, False


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
    """Do ``powers`` (of the sum ``node``) hold sin² beside cos², or beside a constant term?"""
    functions: dict[sympy.Expr, set[type]] = {}
    for power in powers:
        base, exponent = power.args
        if isinstance(base, _PAIRED) and exponent.is_Integer and abs(exponent) >= 2:
            functions.setdefault(base.args[0], set()).add(type(base))
    if any(len(kinds) >= 2 for kinds in functions.values()):
        return True
    return bool(functions) and any(term.is_Number for term in node.args)


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

    return expr.replace(is_target, sympy.trigsimp)


def identity_used(before: sympy.Expr, after: sympy.Expr) -> str | None:
    """The Pythagorean identity a simplification rests on, named for the step, if it rests on one.

    Only when algebra alone does not turn ``before`` into ``after`` (expanding the
    difference leaves trigonometric or hyperbolic terms) and the identity proves it does.
    """
    if before == after or not _pythagorean_candidate(before):
        return None
    if sympy.count_ops(before) + sympy.count_ops(after) > IDENTITY_OPS:
        return None
    if expanded_terms(before - after) > EXPAND_TERMS_LIMIT:
        return None
    difference = attempt(IDENTITY_SECONDS, lambda: sympy.expand(before - after))
    if difference is None or difference == 0:
        return None
    if sympy.count_ops(difference) > IDENTITY_OPS:
        # The proof cancels the whole difference as one fraction: seconds to minutes on a
        # quotient-rule result (1000 operations), for a label, not for the truth of the step.
        return None
    if not pythagorean_zero(difference):
        return None
    if difference.has(*HYPERBOLIC) and not difference.has(*CIRCULAR):
        return "cosh² − sinh² = 1"
    return "sin² + cos² = 1"


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


def combine_checks(checks: Iterable[Check]) -> Check:
    """The weakest of several checks: unconfirmed beats numeric beats symbolic."""
    result = NO_CLAIM
    order = {"none": 0, "symbolic": 1, "numeric": 2, "unconfirmed": 3}
    for check in checks:
        if order[check.status] > order[result.status]:
            result = check
    return result


@dataclass(frozen=True, slots=True)
class Part:
    """The derivative of one sub-expression: its result (in the inputs), its steps, its rule."""

    expr: sympy.Expr
    result: sympy.Expr
    steps: tuple[Step, ...]
    rule: str
    #: A one-line part (x², sin(x), 3x + 1): the parent may show it inline.
    trivial: bool
    #: False for a long chain whose result is left in its intermediate variables.
    in_terms_of_inputs: bool = True


class Deriver:
    """Differentiates expressions by a rule tree, one variable at a time, recording checked steps."""

    def __init__(
        self,
        wrt: sympy.Symbol,
        namer: Namer,
        *,
        partial: bool,
        target: sympy.Symbol | None = None,
        target_expr: sympy.Expr | None = None,
    ) -> None:
        self.wrt = wrt
        self.namer = namer
        self.partial = partial
        self.target = target
        self.target_expr = target_expr
        self._reference: dict[sympy.Expr, sympy.Expr] = {}

    # -- checking ---------------------------------------------------------------------------

    def reference(self, expr: sympy.Expr) -> sympy.Expr:
        """sympy's own derivative of ``expr``: what every shown equality is compared with."""
        known = self._reference.get(expr)
        if known is None:
            known = sympy_derivative(expr, self.wrt)
            self._reference[expr] = known
        return known

    def _full(self, expr: sympy.Expr) -> sympy.Expr:
        mapping = dict(self.namer.definitions)
        if self.target is not None and self.target_expr is not None:
            mapping[self.target] = self.target_expr
        previous = None
        # Generated names only ever stand for expressions in the inputs, so this settles fast.
        while previous != expr:
            previous = expr
            expr = substitute(expr, mapping)
        return expr

    def value(
        self, formula: Formula, local: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr]
    ) -> sympy.Expr:
        """The sympy value of a shown formula, intermediate variables substituted back."""
        if isinstance(formula, Leibniz):
            key = (formula.of, formula.wrt)
            if key in local:
                return self._full(local[key])
            return self.reference(self._full(formula.of))
        if isinstance(formula, Product):
            return sympy.Mul(*(self.value(f, local) for f in formula.factors))
        if isinstance(formula, Sum):
            return sympy.Add(*(self.value(f, local) for f in formula.terms))
        if isinstance(formula, Quotient):
            return self.value(formula.numerator, local) / self.value(formula.denominator, local)
        if isinstance(formula, Neg):
            return -self.value(formula.operand, local)
        return self._full(formula)

    def check(
        self,
        expr: sympy.Expr,
        sides: Sequence[Formula],
        local: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] | None = None,
    ) -> Check:
        """Confirm that every side equals sympy's derivative of ``expr``."""
        reference = self.reference(expr)
        checks = []
        for side in sides:
            if isinstance(side, Leibniz) and side.wrt == self.wrt and not local:
                continue  # the derivative being computed: equal to itself by definition
            checks.append(check_claim(self.value(side, local or {}), reference))
        return combine_checks(checks) if checks else Check("symbolic")

    # -- notation ---------------------------------------------------------------------------

    def leibniz(
        self, of: sympy.Expr, lagrange: tuple[str, sympy.Expr | None] | None = None
    ) -> Leibniz:
        """d(of)/d(wrt) with ∂ when the problem has several inputs."""
        return Leibniz(of, self.wrt, self.partial, lagrange)

    # -- the rule tree ----------------------------------------------------------------------

    def derive(self, expr: sympy.Expr, depth: int, of: sympy.Expr | None = None) -> Part:
        """Differentiate ``expr`` with respect to ``self.wrt``; ``of`` is how the derivative is labelled."""
        label = expr if of is None else of
        x = self.wrt
        if not expr.has(x):
            return self._one_line(expr, label, depth, sympy.S.Zero, "constant rule")
        if expr == x:
            return self._one_line(expr, label, depth, sympy.S.One, f"d{x.name}/d{x.name} = 1")
        if isinstance(expr, sympy.Add):
            return self._sum(expr, label, depth)
        if isinstance(expr, sympy.Mul):
            constant, rest = expr.as_independent(x, as_Add=False)
            if constant != 1:
                return self._constant_multiple(expr, constant, rest, label, depth)
            numerator, denominator = expr.as_numer_denom()
            if denominator.has(x) and numerator.has(x) and denominator != 1:
                return self._quotient(expr, numerator, denominator, label, depth)
            return self._product(expr, label, depth)
        if isinstance(expr, sympy.Pow) and expr.base.has(x) and expr.exp.has(x):
            return self._logarithmic(expr, label, depth)
        if isinstance(expr, AppliedUndef) and x in expr.args:
            others = [a for a in expr.args if a != x]
            if not any(a.has(x) for a in others):
                kind = "partial derivative" if len(expr.args) > 1 else "derivative"
                rule = f"{kind} of {expr.func.__name__} (an unknown function)"
                return self._one_line(expr, label, depth, sympy.Derivative(expr, x), rule)
        outer = match_outer(expr, x)
        if outer is not None:
            if outer.inner == x:
                result = outer.rule.derivative(x)
                return self._one_line(expr, label, depth, result, outer.rule.name)
            return self._chain(expr, label, depth)
        return self._no_rule(expr, label, depth)

    def _one_line(
        self, expr: sympy.Expr, label: sympy.Expr, depth: int, result: sympy.Expr, rule: str
    ) -> Part:
        sides: tuple[Formula, ...] = (self.leibniz(label), result)
        step = Step(
            "local_derivative" if depth == 0 else "rule",
            "Differentiate directly",
            sides,
            rule,
            self.check(expr, sides),
            depth,
        )
        return Part(expr, result, (step,), rule, True)

    def _no_rule(self, expr: sympy.Expr, label: sympy.Expr, depth: int) -> Part:
        result = self.reference(expr)
        sides: tuple[Formula, ...] = (self.leibniz(label), result)
        step = self._checked(
            "no_rule",
            "No step-by-step rule covers this part; the derivative comes from sympy",
            sides,
            "computed by sympy",
            expr,
            depth,
        )
        return Part(expr, result, (step,), "computed by sympy", False)

    def _sum(self, expr: sympy.Add, label: sympy.Expr, depth: int) -> Part:
        terms = expr.as_ordered_terms()
        parts = [self.derive(term, depth + 1) for term in terms]
        results = tuple(part.result for part in parts)
        combined = sympy.Add(*results)
        if all(part.trivial for part in parts) and len(parts) <= 4:
            rules = _unique(["sum rule", *(p.rule for p in parts if p.rule != "constant rule")])
            sides: tuple[Formula, ...] = (self.leibniz(label), Sum(results), combined)
            if combined == Sum(results).terms[0] and len(results) == 1:
                sides = (self.leibniz(label), combined)
            step = Step(
                "rule",
                "Differentiate term by term",
                _dedupe(sides),
                ", ".join(rules),
                self.check(expr, sides),
                depth,
            )
            return Part(expr, combined, (step,), ", ".join(rules), True)
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Sum(tuple(self.leibniz(term) for term in terms)),
        )
        steps = [
            self._checked(
                "rule",
                "The derivative of a sum is the sum of the derivatives",
                opening,
                "sum rule",
                expr,
                depth,
            )
        ]
        for part in parts:
            steps.extend(part.steps)
        closing: tuple[Formula, ...] = (self.leibniz(label), Sum(results), combined)
        steps.append(
            self._checked("product", "Add the parts", _dedupe(closing), "sum rule", expr, depth)
        )
        return Part(expr, combined, tuple(steps), "sum rule", False)

    def _constant_multiple(
        self,
        expr: sympy.Expr,
        constant: sympy.Expr,
        rest: sympy.Expr,
        label: sympy.Expr,
        depth: int,
    ) -> Part:
        part = self.derive(rest, depth + 1)
        result = constant * part.result
        # In a partial derivative the "constant" may hold other variables: say so.
        held = sorted(s.name for s in constant.free_symbols)
        multiple = f"{', '.join(held)} held constant" if held else "constant multiple rule"
        if part.trivial:
            rule = f"{multiple}, {part.rule}"
            sides: tuple[Formula, ...] = (
                self.leibniz(label),
                Product((constant, self.leibniz(rest))),
                Product((constant, part.result)),
                result,
            )
            step = self._checked(
                "rule", "Take the constant factor out", _dedupe(sides), rule, expr, depth
            )
            return Part(expr, result, (step,), rule, True)
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Product((constant, self.leibniz(rest))),
        )
        closing: tuple[Formula, ...] = (
            self.leibniz(label),
            Product((constant, part.result)),
            result,
        )
        steps = [
            self._checked("rule", "Take the constant factor out", opening, multiple, expr, depth),
            *part.steps,
            self._checked(
                "product",
                "Multiply by the constant",
                _dedupe(closing),
                "constant multiple rule",
                expr,
                depth,
            ),
        ]
        return Part(expr, result, tuple(steps), "constant multiple rule", False)

    def _product(self, expr: sympy.Mul, label: sympy.Expr, depth: int) -> Part:
        factors = expr.as_ordered_factors()
        first = factors[0]
        second = sympy.Mul(*factors[1:])
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Sum((Product((self.leibniz(first), second)), Product((first, self.leibniz(second))))),
        )
        first_part = self.derive(first, depth + 1)
        second_part = self.derive(second, depth + 1)
        assembled = Sum(
            (Product((first_part.result, second)), Product((first, second_part.result)))
        )
        result = first_part.result * second + first * second_part.result
        closing: tuple[Formula, ...] = (self.leibniz(label), assembled, result)
        steps = [
            self._checked(
                "rule", "Product rule: (fg)′ = f′g + fg′", opening, "product rule", expr, depth
            ),
            *first_part.steps,
            *second_part.steps,
            self._checked(
                "product",
                "Put the product rule together",
                _dedupe(closing),
                "product rule",
                expr,
                depth,
            ),
        ]
        return Part(expr, result, tuple(steps), "product rule", False)

    def _quotient(
        self,
        expr: sympy.Expr,
        numerator: sympy.Expr,
        denominator: sympy.Expr,
        label: sympy.Expr,
        depth: int,
    ) -> Part:
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Quotient(
                Sum(
                    (
                        Product((self.leibniz(numerator), denominator)),
                        Neg(Product((numerator, self.leibniz(denominator)))),
                    )
                ),
                denominator**2,
            ),
        )
        top = self.derive(numerator, depth + 1)
        bottom = self.derive(denominator, depth + 1)
        result = (top.result * denominator - numerator * bottom.result) / denominator**2
        assembled = Quotient(
            Sum((Product((top.result, denominator)), Neg(Product((numerator, bottom.result))))),
            denominator**2,
        )
        closing: tuple[Formula, ...] = (self.leibniz(label), assembled, result)
        steps = [
            self._checked(
                "rule",
                "Quotient rule: (f/g)′ = (f′g − fg′)/g²",
                opening,
                "quotient rule",
                expr,
                depth,
            ),
            *top.steps,
            *bottom.steps,
            self._checked(
                "product",
                "Put the quotient rule together",
                _dedupe(closing),
                "quotient rule",
                expr,
                depth,
            ),
        ]
        return Part(expr, result, tuple(steps), "quotient rule", False)

    def _logarithmic(self, expr: sympy.Pow, label: sympy.Expr, depth: int) -> Part:
        base, exponent = expr.base, expr.exp
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Product(
                (
                    expr,
                    Sum(
                        (
                            Product((self.leibniz(exponent), sympy.log(base))),
                            Product((exponent, Quotient(self.leibniz(base), base))),
                        )
                    ),
                )
            ),
        )
        base_part = self.derive(base, depth + 1)
        exponent_part = self.derive(exponent, depth + 1)
        inner = exponent_part.result * sympy.log(base) + exponent * base_part.result / base
        assembled = Product(
            (
                expr,
                Sum(
                    (
                        Product((exponent_part.result, sympy.log(base))),
                        Product((exponent, Quotient(base_part.result, base))),
                    )
                ),
            )
        )
        result = expr * inner
        closing: tuple[Formula, ...] = (self.leibniz(label), assembled, result)
        steps = [
            self._checked(
                "rule",
                "Base and exponent both vary: take logarithms, ln y = g·ln f, and differentiate both sides",
                opening,
                "logarithmic differentiation",
                expr,
                depth,
            ),
            *exponent_part.steps,
            *base_part.steps,
            self._checked(
                "product",
                "Multiply back by fᵍ",
                _dedupe(closing),
                "logarithmic differentiation",
                expr,
                depth,
            ),
        ]
        return Part(expr, result, tuple(steps), "logarithmic differentiation", False)

    def _chain(self, expr: sympy.Expr, label: sympy.Expr, depth: int) -> Part:
        x = self.wrt
        # Peel outer functions until the inside is x itself or no longer a composition.
        links: list[
            tuple[sympy.Expr, sympy.Symbol, str, Callable[[sympy.Expr], sympy.Expr], sympy.Expr]
        ] = []
        current = expr
        while True:
            outer = match_outer(current, x)
            if (
                outer is None
                or outer.inner == x
                or (current is not expr and _is_trivial_inner(current, x))
            ):
                break
            u = self.namer.name_for(outer.inner)
            links.append((current, u, outer.rule.name, outer.rule.derivative, outer.outer(u)))
            current = outer.inner
        innermost = current
        names: list[sympy.Expr] = [label, *(link[1] for link in links)]
        letters = LAGRANGE_LETTERS
        inners_in_x = [link[0] for link in links[1:]] + [innermost]

        definitions: list[tuple[sympy.Expr, sympy.Expr]] = [(label, links[0][4])]
        for index, link in enumerate(links):
            following = links[index + 1][4] if index + 1 < len(links) else innermost
            definitions.append((link[1], following))
        decompose = Step(
            "decompose",
            "Name the inner parts" if depth else "Decompose into intermediate variables",
            definitions=tuple(definitions),
            depth=depth,
        )

        whole_label = (str(label), None) if isinstance(label, sympy.Symbol) else None
        link_leibniz: list[Leibniz] = []
        for index in range(len(links)):
            # Inside a product or sum the outer link reads d/du₁ sin(u₁), not d/du₁ sin(3x).
            of = names[index] if index or isinstance(label, sympy.Symbol) else links[0][4]
            link_leibniz.append(
                Leibniz(
                    of, names[index + 1], False, (letters[index % len(letters)], inners_in_x[index])
                )
            )
        last_letter = letters[len(links) % len(letters)]
        link_leibniz.append(Leibniz(names[-1], x, self.partial, (last_letter, x)))
        total = self.leibniz(label, whole_label)

        local: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] = {}
        steps = [decompose]
        formula: tuple[Formula, ...] = (total, Product(tuple(link_leibniz)))

        local_steps: list[Step] = []
        factors: list[sympy.Expr] = []
        for index, (_, u, rule_name, derivative, outer_of_u) in enumerate(links):
            local_result = derivative(u)
            claim = check_claim(local_result, sympy.diff(outer_of_u, u))
            local_steps.append(
                Step(
                    "local_derivative",
                    "Differentiate the outer function",
                    (link_leibniz[index], local_result),
                    rule_name,
                    claim,
                    depth,
                )
            )
            local[(link_leibniz[index].of, u)] = local_result
            factors.append(local_result)
        inner_part = self.derive(innermost, depth + 1)
        last = link_leibniz[-1]
        if inner_part.trivial:
            last_check = self.check_inner(innermost, inner_part.result)
            local_steps.append(
                Step(
                    "local_derivative",
                    "Differentiate the innermost part",
                    (last, inner_part.result),
                    inner_part.rule,
                    last_check,
                    depth,
                )
            )
        else:
            local_steps.extend(inner_part.steps)
            local_steps.append(
                Step(
                    "local_derivative",
                    "So the innermost derivative is",
                    (last, inner_part.result),
                    inner_part.rule,
                    self.check_inner(innermost, inner_part.result),
                    depth,
                )
            )
        local[(names[-1], x)] = inner_part.result
        factors.append(inner_part.result)

        long_chain = depth == 0 and len(links) > LONG_CHAIN
        if long_chain:
            # sympy.diff of a long composition sorts a product of n nested factors (quadratic
            # and worse); check through the chain numerically instead, in linear time.
            chain_check = self._check_chain_numerically(expr, links, innermost, factors)
            formula_check = product_check = chain_check
        else:
            formula_check = self.check(expr, formula, local)
        steps.append(
            Step(
                "chain_formula",
                "Chain rule: one factor per link",
                formula,
                "chain rule",
                formula_check,
                depth,
            )
        )
        steps.extend(local_steps)
        product_sides: tuple[Formula, ...] = (total, Product(tuple(factors)))
        if not long_chain:
            product_check = self.check(expr, product_sides, local)
        steps.append(
            Step(
                "product",
                "Multiply the local derivatives",
                product_sides,
                "chain rule",
                product_check,
                depth,
            )
        )
        if long_chain:
            # Substituting back would write out about n²/2 nested functions: keep the u's.
            return Part(expr, sympy.Mul(*factors), tuple(steps), "chain rule", False, False)
        substituted = tuple(self._full(f) for f in factors)
        result = sympy.Mul(*substituted)
        if substituted != tuple(factors):
            back: tuple[Formula, ...] = (
                total,
                Product(tuple(_unexpanded(self._full, f) for f in factors)),
            )
            steps.append(
                Step(
                    "substitute",
                    "Substitute back",
                    back,
                    None,
                    self.check(expr, back),
                    depth,
                    definitions=tuple((u, self.namer.definitions[u]) for _, u, *_ in links),
                )
            )
        return Part(expr, result, tuple(steps), "chain rule", False)

    def _check_chain_numerically(
        self,
        expr: sympy.Expr,
        links: Sequence[tuple[sympy.Expr, sympy.Symbol, str, Any, sympy.Expr]],
        innermost: sympy.Expr,
        factors: Sequence[sympy.Expr],
    ) -> Check:
        """The product of the chain's factors against a central difference of the whole expression.

        The intermediate values are computed from the innermost link outwards, each from
        the one below it, so the cost is linear in the length of the chain.
        """
        import random

        import mpmath

        from chainsolve.equivalence import PRECISION
        from chainsolve.numeric import Undefined, evaluate

        rng = random.Random(11)
        confirmed = 0
        with mpmath.workdps(PRECISION):
            for _ in range(12):
                if confirmed == 3:
                    break
                at = mpmath.mpf(rng.uniform(0.1, 2.0) * rng.choice((-1, 1)))
                step = mpmath.mpf(10) ** -(PRECISION // 3)
                try:
                    env: dict[sympy.Symbol, Any] = {self.wrt: at}
                    below = evaluate(innermost, env)
                    for _, u, _, _, outer_of_u in reversed(links):
                        env[u] = below
                        below = evaluate(outer_of_u, {u: below})
                    claimed = mpmath.fprod(evaluate(f, env) for f in factors)
                    estimate = (
                        evaluate(expr, {self.wrt: at + step})
                        - evaluate(expr, {self.wrt: at - step})
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

    def _checked(
        self,
        kind: StepKind,
        text: str,
        sides: tuple[Formula, ...],
        rule: str | None,
        expr: sympy.Expr,
        depth: int,
    ) -> Step:
        """A step of the derivative of ``expr`` whose every side is checked against sympy's."""
        return Step(kind, text, sides, rule, self.check(expr, sides), depth)

    def check_inner(self, expr: sympy.Expr, result: sympy.Expr) -> Check:
        """Check a claimed derivative of an expression in the inputs."""
        return check_claim(result, self.reference(expr))


def _is_trivial_inner(expr: sympy.Expr, x: sympy.Symbol) -> bool:
    return False


def _unexpanded(full: Callable[[sympy.Expr], sympy.Expr], factor: sympy.Expr) -> sympy.Expr:
    """``full(factor)`` without sympy distributing numbers over sums: 2u₁ reads 2(b + wx − y)."""
    with sympy.evaluate(False):
        shown = full(factor)
    # An unevaluated form that does not even print like its value is worse than the value.
    return shown if shown == full(factor) or sympy.count_ops(shown) < 60 else full(factor)


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _dedupe(sides: tuple[Formula, ...]) -> tuple[Formula, ...]:
    """Drop a side equal to the one before it (``= 2x = 2x`` reads as a typo)."""
    kept: list[Formula] = []
    for side in sides:
        if kept and _same(kept[-1], side):
            continue
        kept.append(side)
    return tuple(kept)


def _same(a: Formula, b: Formula) -> bool:
    if isinstance(a, Product) and len(a.factors) == 1:
        a = a.factors[0]
    if isinstance(b, Product) and len(b.factors) == 1:
        b = b.factors[0]
    if isinstance(a, Sum) and len(a.terms) == 1:
        a = a.terms[0]
    if isinstance(b, Sum) and len(b.terms) == 1:
        b = b.terms[0]
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------------
# Whole problems


def solve_problem(problem: Problem, *, detail: Detail = "normal") -> Solution:
    """The worked solution of a problem: a rule tree for one expression, a graph derivation otherwise."""
    solution = _solve_expression(problem) if problem.is_single_expression else _solve_graph(problem)
    solution = _without_wrong_steps(solution)
    _refuse_non_finite(solution)
    misspelled = _misspelling_notes(problem)
    if misspelled:
        solution = replace(solution, notes=(*misspelled, *solution.notes))
    if detail == "brief":
        solution = _brief(solution)
    return solution


#: sympy's values for "no finite number": never part of a printed result.
NON_FINITE = (sympy.zoo, sympy.nan, sympy.oo, sympy.S.NegativeInfinity)


def _refuse_non_finite(solution: Solution) -> None:
    """Raise a one-line error when a derivative holds ∞ or an undefined value (0^x gives 0^x·zoo)."""
    for derivation in solution.derivations:
        shown = [derivation.result, *(s for step in derivation.steps for s in step.sides)]
        if not any(isinstance(s, sympy.Expr) and s.has(*NON_FINITE) for s in shown):
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
                f"{solution.problem.source!r}, d/d{derivation.wrt}: step {wrong[0].text!r} "
                f"{wrong[0].sides!r} {wrong[0].check.detail}"
            )
        derivations.append(_sympy_fallback(solution.problem, derivation))
        replaced.append(derivation.wrt)
    if not replaced:
        return solution
    note = (
        f"A step of the worked solution for {', '.join(replaced)} failed its check (a bug in "
        "chainsolve; please report it), so that derivative is given as computed by sympy "
        "instead of step by step."
    )
    return replace(
        solution,
        derivations=tuple(derivations),
        shared_steps=tuple(s for s in solution.shared_steps if not s.check.differs),
        notes=(*solution.notes, note),
    )


def _sympy_fallback(problem: Problem, derivation: Derivation) -> Derivation:
    """One honest step: sympy's derivative of the fully substituted target."""
    result = sympy_derivative(_flattened_target(problem), make_symbol(derivation.wrt))
    step = Step(
        "no_rule",
        "The derivative as computed by sympy",
        (derivation.derivative, result),
        "computed by sympy",
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


def _misspelling_notes(problem: Problem) -> list[str]:
    """A note for each unknown function whose name looks like a known one (sine, cosin, sqr)."""
    from chainsolve.functions import closest_function

    notes = []
    for name in sorted(problem.function_names):
        meant = closest_function(name)
        if meant is not None:
            notes.append(
                f"'{name}' is not a function chainsolve knows, so it is treated as an unknown "
                f"function; if you meant {meant}, write {meant}."
            )
    return notes


def _final_steps(
    deriver: Deriver, expr: sympy.Expr, total: Leibniz, result: sympy.Expr
) -> tuple[list[Step], sympy.Expr, list[str]]:
    """The closing 'simplify' step of a derivation, and notes when simplifying ran out of time."""
    simplified, timed_out = tidy(result)
    notes = []
    if timed_out:
        notes.append(
            "Simplifying took too long; the result is shown unsimplified (it is still correct)."
        )
    sides: tuple[Formula, ...] = (total, simplified)
    step = Step(
        "simplify",
        "Simplify" if simplified != result else "Result",
        sides,
        identity_used(result, simplified),
        deriver.check(expr, sides),
        0,
    )
    return [step], simplified, notes


def _solve_expression(problem: Problem) -> Solution:
    definition = problem.definitions[0]
    target = make_symbol(problem.target)
    namer = Namer(problem.names | problem.function_names | {"e", "pi"})
    partial = len(problem.inputs) > 1
    derivations = []
    notes: list[str] = []
    # Decompositions and outer derivatives already shown for an earlier variable.
    shown: dict[tuple[object, ...], str] = {}
    for name in problem.wrt:
        wrt = make_symbol(name)
        deriver = Deriver(wrt, namer, partial=partial, target=target, target_expr=definition.expr)
        part = deriver.derive(definition.expr, 0, of=target)
        total = deriver.leibniz(target, (problem.target, None))
        if not part.in_terms_of_inputs:
            count = len(namer.definitions)
            notes.append(
                f"The chain has {count + 1} links: the result is left in terms of the intermediate "
                f"variables u_1 … u_{count} defined above, because substituting them back would "
                f"write out about {count * count // 2} nested functions."
            )
            derivations.append(Derivation(name, total, part.steps, part.result, False))
            continue
        closing, result, more_notes = _final_steps(deriver, definition.expr, total, part.result)
        notes.extend(more_notes)
        steps = list(part.steps)
        if not (steps and steps[-1].sides and _same(steps[-1].sides[-1], result)):
            steps.extend(closing)
        derivations.append(Derivation(name, total, tuple(_shared_once(steps, shown, name)), result))
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
    repeated: list[str] = []
    owner = ""
    for step in steps:
        shareable = step.kind == "decompose" or (
            step.kind == "local_derivative"
            and step.sides
            and isinstance(step.sides[0], Leibniz)
            and not step.sides[0].partial
        )
        key = (step.kind, step.sides, step.definitions, step.depth)
        if shareable and key in shown:
            owner = shown[key]
            repeated.append(step.kind)
            continue
        if shareable:
            shown[key] = wrt
        kept.append(step)
    if repeated:
        kept.insert(
            0,
            Step(
                "note",
                f"The decomposition and the outer derivatives are the same as for {owner} "
                "(shown above); only the inner derivatives differ",
            ),
        )
    return kept


def _brief(solution: Solution) -> Solution:
    keep = {"decompose", "chain_formula", "paths", "simplify"}

    def short(steps: tuple[Step, ...]) -> tuple[Step, ...]:
        chosen = tuple(s for s in steps if s.depth == 0 and s.kind in keep)
        return chosen or steps[-1:]

    derivations = tuple(
        Derivation(
            d.wrt,
            d.derivative,
            short(d.steps),
            d.result,
            d.in_terms_of_inputs,
            d.paths,
            d.path_count,
        )
        for d in solution.derivations
    )
    return Solution(
        solution.problem,
        derivations,
        tuple(s for s in solution.shared_steps if s.kind in {"decompose", "note"}),
        solution.graph,
        solution.notes,
        solution.evaluation,
        solution.intermediates,
    )


# -- graphs ------------------------------------------------------------------------------------


def _flattened_size(graph: Graph) -> dict[str, int]:
    """Operation count each node would have if fully substituted, computed without substituting."""
    size: dict[str, int] = {}
    for node in graph.nodes:
        if node.expr is None:
            size[node.name] = 1
            continue
        own = sympy.count_ops(node.expr) + 1
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
            full[make_symbol(node.name)] = node.expr.xreplace(full)
    return full.get(make_symbol(name), make_symbol(name))


def _solve_graph(problem: Problem) -> Solution:
    graph = build_graph(problem)
    namer = Namer(problem.names | problem.function_names | {"e", "pi"})
    sizes = _flattened_size(graph)
    small = sizes[problem.target] <= FLATTEN_LIMIT
    target_symbol = make_symbol(problem.target)
    several_inputs = len(problem.inputs) > 1

    # The dependency list, target first, as it was typed.
    definitions = tuple((make_symbol(d.name), d.expr) for d in problem.definitions)
    shared: list[Step] = [
        Step("decompose", "The definitions and the dependency graph", definitions=definitions)
    ]
    dependency_lines = []
    # Target first, then in the order the user wrote the definitions.
    reading_order = [graph.by_name[d.name] for d in problem.definitions]
    for node in reading_order:
        inputs = [e.source for e in graph.inputs_of(node.name)]
        if inputs:
            dependency_lines.append(f"{node.name} depends on {', '.join(inputs)}")
    shared.append(Step("note", "; ".join(dependency_lines)))

    relevant: set[str] = set()
    for name in problem.wrt:
        relevant |= graph.on_paths_from(name)

    # One local partial derivative per edge, each by the single-variable rules.
    local: dict[tuple[str, str], sympy.Expr] = {}
    for node in reading_order:
        for edge in graph.inputs_of(node.name):
            if edge.source not in relevant or node.name not in relevant:
                continue
            source = make_symbol(edge.source)
            deriver = Deriver(source, namer, partial=edge.partial)
            part = deriver.derive(node.expr, 1, of=make_symbol(node.name))
            shown = part.result
            label = Leibniz(make_symbol(node.name), source, edge.partial)
            claim = check_claim(shown, edge.local_partial)
            shared.append(
                Step(
                    "local_derivative",
                    f"Local derivative along the edge {edge.source} → {node.name}",
                    (label, shown),
                    part.rule,
                    claim,
                    0,
                )
            )
            local[(node.name, edge.source)] = shown

    derivations = []
    notes: list[str] = []
    for name in problem.wrt:
        derivations.append(
            _graph_derivation(
                problem, graph, name, local, small, target_symbol, several_inputs, notes, namer
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
        f = evaluated[0]
        notes.append(
            f"∂₁{f}(…) is the partial derivative of {f} with respect to its first argument, "
            f"evaluated at the point in the parentheses; ∂₂{f} likewise for the second"
            + (f" (and so for {', '.join(evaluated[1:])})." if len(evaluated) > 1 else ".")
        )
    if _has_direct_and_indirect(graph, problem):
        notes.append(
            "Some input reaches the target both directly and through intermediate variables: "
            "the partial derivative ∂z/∂x holds the other variables of z's definition fixed, "
            "while the total derivative dz/dx adds every path by which x changes z."
        )
    return Solution(
        problem=problem,
        derivations=tuple(derivations),
        shared_steps=tuple(shared),
        graph=graph,
        notes=tuple(notes),
    )


def _has_direct_and_indirect(graph: Graph, problem: Problem) -> bool:
    direct = {e.source for e in graph.inputs_of(problem.target)}
    return any(name in direct and graph.path_count(name) > 1 for name in problem.wrt)


def _graph_derivation(
    problem: Problem,
    graph: Graph,
    name: str,
    local: dict[tuple[str, str], sympy.Expr],
    small: bool,
    target_symbol: sympy.Symbol,
    several_inputs: bool,
    notes: list[str],
    namer: Namer,
) -> Derivation:
    wrt = make_symbol(name)
    total = Leibniz(target_symbol, wrt, several_inputs, (problem.target, None))
    paths = graph.paths(name)
    count = graph.path_count(name)
    steps: list[Step] = []
    reference = _flatten(graph, problem.target).diff(wrt) if small else None
    # Accumulation (too many paths to write out) checks each layer through the graph, even
    # when the whole is small enough to substitute at the end.
    sampler = None if small and paths is not None else GraphSampler(graph, problem.inputs)
    gradients: dict[sympy.Symbol, sympy.Expr] = {}

    def check(side_value: sympy.Expr) -> Check:
        if reference is not None:
            return check_claim(side_value, reference)
        assert sampler is not None
        return sampler.check(side_value, name, {})

    def full(expr: sympy.Expr) -> sympy.Expr:
        return _substitute_graph(graph, expr) if small else expr

    def leib(a: str, b: str) -> Leibniz:
        return Leibniz(make_symbol(a), make_symbol(b), graph.edge(b, a).partial)

    if paths is not None:
        steps.append(
            Step(
                "paths",
                f"{len(paths)} path{'s' if len(paths) != 1 else ''} from {problem.target} to {name}",
                paths=paths,
            )
        )
        formula = Sum(
            tuple(Product(tuple(leib(p[i], p[i + 1]) for i in range(len(p) - 1))) for p in paths)
        )
        products = Sum(
            tuple(Product(tuple(local[(p[i], p[i + 1])] for i in range(len(p) - 1))) for p in paths)
        )
        value = sympy.Add(
            *(sympy.Mul(*(local[(p[i], p[i + 1])] for i in range(len(p) - 1))) for p in paths)
        )
        claim = check(full(value))
        steps.append(
            Step(
                "chain_formula",
                "Multivariable chain rule: one product per path, summed",
                (total, formula),
                "chain rule (sum over paths)",
                claim,
            )
        )
        steps.append(
            Step("product", "Insert the local derivatives", (total, products), None, claim)
        )
        result = value
    else:
        steps.append(
            Step(
                "paths",
                f"There are {count} paths from {problem.target} to {name}: too many to write "
                "out, so the derivative is accumulated layer by layer (backpropagation), one "
                "multiply-add per edge",
            )
        )
        assert sampler is not None
        result = _accumulate(graph, problem, name, local, steps, sampler, namer, gradients)
        steps.append(
            Step(
                "note",
                "Backpropagation checked against a central finite difference",
                (total, result),
                None,
                sampler.check_against_finite_difference(name),
            )
        )
    if small:
        substituted = _substitute_graph(graph, _resolve_gradients(result, gradients))
        if substituted != result:
            sides: tuple[Formula, ...] = (total, substituted)
            if paths is not None:
                # Show each path's product with the definitions put in, before sympy tidies it.
                shown = Sum(
                    tuple(
                        Product(
                            tuple(
                                _substitute_graph(graph, local[(p[i], p[i + 1])])
                                for i in range(len(p) - 1)
                            )
                        )
                        for p in paths
                    )
                )
                sides = _dedupe((total, shown, substituted))
            steps.append(
                Step(
                    "substitute",
                    "Substitute the definitions of the intermediate variables",
                    sides,
                    None,
                    check(substituted),
                )
            )
        simplified, timed_out = tidy(substituted)
        if timed_out:
            notes.append(
                "Simplifying took too long; the result is shown unsimplified (it is still correct)."
            )
        if simplified != substituted or substituted == result:
            steps.append(
                Step(
                    "simplify",
                    "Simplify" if simplified != substituted else "Result",
                    (total, simplified),
                    identity_used(substituted, simplified),
                    check(simplified),
                )
            )
        return Derivation(name, total, tuple(steps), simplified, True, paths or (), count)
    notes.append(
        f"The fully substituted derivative with respect to {name} would be enormous, so it is given "
        "in terms of the intermediate variables."
    )
    return Derivation(name, total, tuple(steps), result, False, paths or (), count)


def _resolve_gradients(expr: sympy.Expr, gradients: dict[sympy.Symbol, sympy.Expr]) -> sympy.Expr:
    """``expr`` with the accumulated gradient symbols replaced by what they stand for.

    Each gradient only uses symbols created before it (closer to the target), so one pass
    in creation order resolves them all.
    """
    resolved: dict[sympy.Symbol, sympy.Expr] = {}
    for symbol, value in gradients.items():
        resolved[symbol] = value.xreplace(resolved)
    return expr.xreplace(resolved)


def _substitute_graph(graph: Graph, expr: sympy.Expr) -> sympy.Expr:
    mapping: dict[sympy.Symbol, sympy.Expr] = {}
    for node in graph.nodes:
        if node.expr is not None and node.kind != "target":
            mapping[make_symbol(node.name)] = substitute(node.expr, mapping)
    return substitute(expr, mapping)


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

    Each node's gradient is kept as a symbol ``grad_u`` so that the work and the text stay
    linear in the number of edges, however many paths there are; ``gradients`` receives
    what each such symbol stands for, in creation order.
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
        accumulated = sympy.Add(
            *(gradient_symbol[e.target] * local[(e.target, node.name)] for e in consumers)
        )
        shown = Sum(
            tuple(
                Product(
                    (
                        Leibniz(make_symbol(target), make_symbol(e.target), True),
                        Leibniz(make_symbol(e.target), make_symbol(node.name), e.partial),
                    )
                )
                for e in consumers
            )
        )
        claim = sampler.check(accumulated, node.name, symbols_to_nodes)
        label = Leibniz(make_symbol(target), make_symbol(node.name), True)
        steps.append(
            Step(
                "accumulate",
                f"Gradient arriving at {node.name} from " + ", ".join(e.target for e in consumers),
                (label, shown, accumulated),
                "reverse accumulation",
                claim,
            )
        )
        if node.name == name:
            result = accumulated
            break
        symbol = make_symbol(namer.fresh(f"grad_{node.name}"))
        gradient_symbol[node.name] = symbol
        gradients[symbol] = accumulated
        symbols_to_nodes[symbol] = node.name
    return result


def has_abstract(expr: sympy.Expr) -> bool:
    """True when ``expr`` involves an unknown function such as ``f(x, y)``."""
    return bool(expr.atoms(AppliedUndef))
