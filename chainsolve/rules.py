"""The rule tree: one frozen dataclass per differentiation rule, each with ``eval()`` and a stable rule id.

A tree is built by :func:`chainsolve.plan.plan` (which rule fits) and read by walkers:
``explain`` (steps), ``check`` (each step against sympy) and ``mistakes`` (wrong variants).
A rule knows its maths only: no wording, no checking. Shared sub-expressions are one node
(the tree is a DAG), so every walker memoises by node identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import sympy

from chainsolve import dag, functions
from chainsolve.dag import tree_size
from chainsolve.problem import evaluate_typed, make_symbol
from chainsolve.record import record

#: The argument slot of an outer function: a chain link F(u) is planned as F(HOLE) by HOLE.
#: Its name cannot be typed (the input language has no '·'), so it never meets a user's name.
HOLE = make_symbol("u·")
#: Nodes (written out) past which an expression is differentiated as typed: evaluating it
#: first asks sympy's assumptions of every shared part written out.
DAG_NODES = 300


def sympy_derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """sympy's derivative where it exists: sign′ and Heaviside′ are 0 away from 0, not DiracDelta.

    By sympy's own rules, each shared part once (:func:`chainsolve.dag.derivative`): the
    same expression as ``sympy.diff`` (pinned by a property test) without its Derivative
    object and assumption queries per node, a quarter of its cost on a small network.
    A small typed expression is evaluated first, as sympy would differentiate it (else
    unevaluated pieces, x/x, stay in the answer); a large one is differentiated as typed,
    since evaluating it asks sympy's assumptions of every shared part written out.
    """
    source = evaluate_typed(expr) if tree_size(expr, DAG_NODES) <= DAG_NODES else expr
    derivative = dag.derivative(source, var)
    if dag.has_any(derivative, sympy.DiracDelta):
        deltas = {d: sympy.S.Zero for d in dag.atoms_of(derivative, sympy.DiracDelta)}
        derivative = dag.replace_nodes(derivative, deltas)
    return derivative


def at(local: sympy.Expr, value: sympy.Expr) -> sympy.Expr:
    """A local derivative in :data:`HOLE` evaluated at ``value`` (f′(u) at g(x) stays f′(g(x)))."""
    if isinstance(value, sympy.Symbol):
        return local.xreplace({HOLE: value})
    from chainsolve.derivation import substitute

    return substitute(local, {HOLE: value})


# -- the rules ------------------------------------------------------------------------------------


@record(eq=False)
class Rule:
    """A rule applied to d(expr)/d(var). Nodes compare by identity: a shared part is one node."""

    expr: sympy.Expr
    var: sympy.Symbol

    RULE_ID: ClassVar[str] = ""

    @property
    def rule_id(self) -> str:
        """The stable id of this rule (``chain``, ``product``, ``derivative_of_sin``, …)."""
        return self.RULE_ID

    def parts(self) -> tuple[Rule, ...]:
        """The sub-derivatives this rule is built from (by the same variable)."""
        return ()

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        """This rule's derivative given its parts' derivatives (in the order of :meth:`parts`)."""
        raise NotImplementedError

    def eval(self) -> sympy.Expr:
        """The derivative d(expr)/d(var) by this rule (each shared node evaluated once)."""
        return evaluate(self)


def evaluate(rule: Rule, memo: dict[int, sympy.Expr] | None = None) -> sympy.Expr:
    """The derivative of ``rule``, children first, each node once (``memo`` keyed by node id)."""
    values = {} if memo is None else memo
    stack: list[tuple[Rule, bool]] = [(rule, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in values:
            continue
        parts = node.parts()
        if expanded or not parts:
            values[id(node)] = node.combine([values[id(part)] for part in parts])
            continue
        stack.append((node, True))
        stack.extend((part, False) for part in parts if id(part) not in values)
    return values[id(rule)]


@record(eq=False)
class ConstantRule(Rule):
    """d/dx c = 0 for an expression without x."""

    RULE_ID: ClassVar[str] = "constant"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return sympy.S.Zero


@record(eq=False)
class VariableRule(Rule):
    """d/dx x = 1."""

    RULE_ID: ClassVar[str] = "variable"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return sympy.S.One


@record(eq=False)
class PowerRule(Rule):
    """d/dx xⁿ = n·xⁿ⁻¹ for a constant exponent n (√x and 1/x included)."""

    exponent: sympy.Expr

    @property
    def rule_id(self) -> str:
        if self.exponent == sympy.Rational(1, 2):
            return "square_root"
        if self.exponent == -1:
            return "reciprocal"
        return "power"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return self.exponent * self.var ** (self.exponent - 1)


@record(eq=False)
class ExponentialRule(Rule):
    """d/dx aˣ = aˣ·ln(a) for a constant base a."""

    base: sympy.Expr
    RULE_ID: ClassVar[str] = "exponential"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return self.base**self.var * sympy.log(self.base)


@record(eq=False)
class FunctionRule(Rule):
    """d/dx F(x) = F′(x) for a function F of the registry :data:`chainsolve.functions.SPECS`."""

    function: Any

    @property
    def rule_id(self) -> str:
        return functions.BY_CLASS[self.function].rule_id

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return functions.BY_CLASS[self.function].derivative(self.var)


@record(eq=False)
class AbstractRule(Rule):
    """d/dx f(x) = f′(x) for an unknown function f of one argument."""

    RULE_ID: ClassVar[str] = "abstract_function"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return sympy.Derivative(self.expr, self.var)


@record(eq=False)
class AbstractPartialRule(Rule):
    """∂/∂x f(…, x, …) = ∂f/∂x for an unknown function of several arguments, x one of them."""

    RULE_ID: ClassVar[str] = "abstract_partial"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return sympy.Derivative(self.expr, self.var)


@record(eq=False)
class SumRule(Rule):
    """(f + g)′ = f′ + g′."""

    terms: tuple[Rule, ...]
    RULE_ID: ClassVar[str] = "sum"

    def parts(self) -> tuple[Rule, ...]:
        return self.terms

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return sympy.Add(*derivatives)


@record(eq=False)
class ConstantMultipleRule(Rule):
    """(c·f)′ = c·f′ for a factor c without the variable."""

    constant: sympy.Expr
    rest: Rule
    RULE_ID: ClassVar[str] = "constant_multiple"

    def parts(self) -> tuple[Rule, ...]:
        return (self.rest,)

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return self.constant * derivatives[0]


@record(eq=False)
class ProductRule(Rule):
    """(f·g)′ = f′·g + f·g′."""

    first: Rule
    second: Rule
    RULE_ID: ClassVar[str] = "product"

    def parts(self) -> tuple[Rule, ...]:
        return (self.first, self.second)

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        d_first, d_second = derivatives
        return d_first * self.second.expr + self.first.expr * d_second


@record(eq=False)
class QuotientRule(Rule):
    """(f/g)′ = (f′·g − f·g′)/g²."""

    numerator: Rule
    denominator: Rule
    RULE_ID: ClassVar[str] = "quotient"

    def parts(self) -> tuple[Rule, ...]:
        return (self.numerator, self.denominator)

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        d_top, d_bottom = derivatives
        top, bottom = self.numerator.expr, self.denominator.expr
        return (d_top * bottom - top * d_bottom) / bottom**2


@record(eq=False)
class LogarithmicRule(Rule):
    """(fᵍ)′ = fᵍ·(g′·ln f + g·f′/f), from ln y = g·ln f, when base and exponent both vary."""

    base: Rule
    exponent: Rule
    RULE_ID: ClassVar[str] = "logarithmic"

    def parts(self) -> tuple[Rule, ...]:
        return (self.base, self.exponent)

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        d_base, d_exponent = derivatives
        base, exponent = self.base.expr, self.exponent.expr
        return self.expr * (d_exponent * sympy.log(base) + exponent * d_base / base)


@record(eq=False)
class Link:
    """One link F(argument) of a chain: ``outer`` is the rule for F(HOLE) by HOLE."""

    argument: sympy.Expr
    outer: Rule

    def function(self, value: sympy.Expr) -> sympy.Expr:
        """F applied to ``value`` (an intermediate variable, usually)."""
        return self.outer.expr.xreplace({HOLE: value})

    def local(self, value: sympy.Expr) -> sympy.Expr:
        """F′ at ``value``."""
        return at(self.outer.eval(), value)


@record(eq=False)
class ChainRule(Rule):
    """(F₁∘F₂∘…∘g)′ = F₁′(…)·F₂′(…)·…·g′: one factor per link, outermost first, then the inside."""

    links: tuple[Link, ...]
    inner: Rule
    RULE_ID: ClassVar[str] = "chain"

    def parts(self) -> tuple[Rule, ...]:
        return (self.inner,)

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        factors = [link.local(link.argument) for link in self.links]
        return sympy.Mul(*factors, derivatives[0])

    def levels(self) -> tuple[sympy.Expr, ...]:
        """The composite at each link, in the variable: F₁(F₂(g)), F₂(g), … (outermost first)."""
        return (self.expr, *(link.argument for link in self.links[:-1]))


@record(eq=False)
class PathSumRule(Rule):
    """dz/dx = Σ over the paths from z to x of the product of the local partials along each.

    ``expr`` is the target's name and ``var`` the input's; each of ``edges`` is the rule tree
    of one edge's local partial (its own variable), keyed by (node, input) in ``edge_keys``.
    """

    paths: tuple[tuple[str, ...], ...]
    edge_keys: tuple[tuple[str, str], ...]
    edges: tuple[Rule, ...]
    RULE_ID: ClassVar[str] = "path_sum"

    def parts(self) -> tuple[Rule, ...]:
        return self.edges

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        local = dict(zip(self.edge_keys, derivatives, strict=True))
        return sympy.Add(*(self.term(path, local) for path in self.paths))

    @staticmethod
    def term(
        path: Sequence[str], local: Mapping[tuple[str, str], sympy.Expr], skip: int | None = None
    ) -> sympy.Expr:
        """One path's product of local partials (without factor ``skip``)."""
        links = ((path[i], path[i + 1]) for i in range(len(path) - 1) if i != skip)
        return sympy.Mul(*(local[link] for link in links))


@record(eq=False)
class NoRule(Rule):
    """No step-by-step rule applies: the derivative is sympy's, said honestly."""

    RULE_ID: ClassVar[str] = "no_rule"

    def combine(self, derivatives: Sequence[sympy.Expr]) -> sympy.Expr:
        return sympy_derivative(self.expr, self.var)


def walk(rule: Rule) -> list[Rule]:
    """Every node of a rule tree once, parents before their parts (shared parts once)."""
    seen: set[int] = set()
    order: list[Rule] = []
    stack = [rule]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(reversed(node.parts()))
    return order


def domain_conditions(expr: sympy.Expr) -> set[tuple[sympy.Expr, bool]]:
    """Where ``expr`` is real, as (argument, strict): ln u needs u > 0, an even root of u needs u ≥ 0.

    Conditions that hold for every real input (eˣ > 0, x² ≥ 0) are left out.
    """
    found: set[tuple[sympy.Expr, bool]] = set()
    seen: set[sympy.Basic] = set()
    stack: list[sympy.Basic] = [expr]
    while stack:  # each distinct node once: a shared part is walked once
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, sympy.log):
            found.add((evaluate_typed(node.args[0]), True))
        elif isinstance(node, sympy.Pow) and node.exp.is_Rational and node.exp.q % 2 == 0:
            found.add((evaluate_typed(node.base), False))
        stack.extend(node.args)
    return {(u, strict) for u, strict in found if not _always(u, strict)}


def _always(argument: sympy.Expr, strict: bool) -> bool:
    if _sign_known(argument, strict):
        return True
    # σ and its kin are bounded, which sympy sees only with exponentials: 1 − σ(z) = 1/(1 + eᶻ).
    if not argument.has(*functions.EXP_REWRITABLE):
        return False
    from chainsolve.equivalence import rewrite_activations

    return _sign_known(sympy.together(rewrite_activations(argument)), strict)


def _sign_known(argument: sympy.Expr, strict: bool) -> bool:
    holds = sympy.Gt(argument, 0) if strict else sympy.Ge(argument, 0)
    return holds is sympy.true


def as_nonzero(argument: sympy.Expr, strict: bool) -> sympy.Expr | None:
    """The g of "g ≠ 0" that a strict ``argument`` > 0 amounts to, when ``argument`` is never negative.

    ln(x²) needs x² > 0 and ln|x| needs |x| > 0, each of which is x ≠ 0; None when the
    condition is a real sign condition.
    """
    if not strict or not argument.is_nonnegative:
        return None
    if isinstance(argument, sympy.Pow) and argument.exp.is_even:
        inner = argument.base
    elif isinstance(argument, sympy.Abs):
        inner = argument.args[0]
    else:
        return argument
    deeper = as_nonzero(inner, True)  # |x|² > 0 is x ≠ 0 too
    return inner if deeper is None else deeper


def split_conditions(
    conditions: Iterable[tuple[sympy.Expr, bool]],
) -> tuple[list[sympy.Expr], list[tuple[sympy.Expr, bool]]]:
    """Domain conditions as (the g of each g ≠ 0, the remaining sign conditions), in order."""
    nonzero: list[sympy.Expr] = []
    signed: list[tuple[sympy.Expr, bool]] = []
    for argument, strict in conditions:
        base = as_nonzero(argument, strict)
        if base is None:
            signed.append((argument, strict))
        elif base not in nonzero:
            nonzero.append(base)
    return nonzero, signed


def lost_conditions(typed: sympy.Expr, value: sympy.Expr) -> list[tuple[sympy.Expr, bool]]:
    """The conditions of ``typed`` about a part that ``value`` (a simplified form) no longer has.

    e^(ln x)·(1/x) = 1 holds for x > 0 only: the simplified 1 says nothing about x.
    """
    lost = (c for c in domain_conditions(typed) if not value.has(c[0]))
    return sorted(lost, key=lambda c: sympy.default_sort_key(c[0]))
