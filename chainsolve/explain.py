"""Turns a rule tree into the steps of a worked solution (data only: the words live in wording)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import count
from typing import Protocol

import sympy
from sympy.core.function import AppliedUndef

from chainsolve.check import chain_check
from chainsolve.dag import Shapes, operations, tree_size
from chainsolve.record import record
from chainsolve.rules import (
    AbstractPartialRule,
    AbstractRule,
    ChainRule,
    ConstantMultipleRule,
    ConstantRule,
    LogarithmicRule,
    NoRule,
    ProductRule,
    QuotientRule,
    Rule,
    SumRule,
    VariableRule,
    evaluate,
    lost_conditions,
    split_conditions,
)
from chainsolve.steps import (
    Claim,
    Formula,
    Leibniz,
    Neg,
    Product,
    Quotient,
    RuleRef,
    Step,
    StepKind,
    Sum,
)
from chainsolve.textbook import (
    as_derived,
    clearly_simpler,
    derived_terms,
    numerator_terms,
    written,
)
from chainsolve.wording import STATEMENT_LETTERS

#: Letters used for the functions of a solution in Lagrange notation, in order of first use.
LAGRANGE_LETTERS = ("f", "g", "h", "k", "m", "p", "q", "r", "s", "v", "w")
#: A top-level chain with more links than this is checked numerically and not substituted back.
LONG_CHAIN = 8
#: A sum of at most this many one-line terms is differentiated in one line.
ONE_LINE_TERMS = 4
#: Nodes (written out) past which a factor is substituted back evaluated (over 60 operations).
UNEXPANDED_NODES = 600


class Names(Protocol):
    """Fresh intermediate variables: the same one each time an expression recurs."""

    definitions: dict[sympy.Symbol, sympy.Expr]
    #: The shapes of the functions given letters, numbered for the whole solution.
    shapes: Shapes

    def name_for(self, expr: sympy.Expr) -> sympy.Symbol: ...

    def letter_for(
        self, argument: sympy.Expr, function: sympy.Expr, candidates: Iterable[str]
    ) -> str: ...

    def spare_letters(self, candidates: Iterable[str], count: int) -> tuple[str, ...]: ...


@record
class Explained:
    """A rule node explained: its derivative (in the inputs), its steps and the rules it used."""

    result: sympy.Expr
    steps: tuple[Step, ...]
    rules: tuple[RuleRef, ...]
    #: A one-line part (x², sin(x), 3x + 1): the parent may show it inline.
    trivial: bool
    #: False for a long chain whose result is left in its intermediate variables.
    in_terms_of_inputs: bool = True
    #: True when the steps were shown earlier and this is a reference to them.
    found_above: bool = False


def explain(
    rule: Rule, names: Names, *, label: sympy.Expr, partial: bool, depth: int = 0
) -> Explained:
    """The steps of d(rule.expr)/d(rule.var), labelled d(label)/d(var) (``label`` a name or the expr)."""
    explainer = Explainer(rule.var, names, partial=partial)
    if isinstance(label, sympy.Symbol):
        explainer.name_target(label)
    explained = explainer.explain(rule, label, depth)
    return replace(explained, steps=explainer.lettered_steps(explained.steps))


def result_only(
    rule: Rule, names: Names, *, label: sympy.Expr, partial: bool, depth: int = 0
) -> Explained:
    """What :func:`explain` finds for d(rule.expr)/d(rule.var), without its steps.

    For a caller that prints no step (verify). A long chain at the top is left in its
    intermediate variables by explain, so it is explained; any other node's result is its
    ``eval()``, which is explain's result node for node (tests/test_explain.py).
    """
    if depth == 0 and isinstance(rule, ChainRule) and len(rule.links) > LONG_CHAIN:
        return explain(rule, names, label=label, partial=partial, depth=depth)
    return Explained(evaluate(rule), (), rule_refs(rule), False)


def rule_refs(rule: Rule) -> tuple[RuleRef, ...]:
    """The rule a node applies, as a reference (with the names it concerns)."""
    if isinstance(rule, VariableRule):
        return (RuleRef("variable", (rule.var.name,)),)
    if isinstance(rule, (AbstractRule, AbstractPartialRule)):
        # ∂/∂v of ∂f/∂u(u, v) is still a partial derivative of f.
        function = rule.expr.expr if isinstance(rule.expr, sympy.Derivative) else rule.expr
        return (RuleRef(rule.rule_id, (function.func.__name__,)),)
    if isinstance(rule, ConstantMultipleRule):
        held = tuple(sorted(s.name for s in rule.constant.free_symbols))
        return (RuleRef("held_constant", held),) if held else (RuleRef("constant_multiple"),)
    return (RuleRef(rule.rule_id),)


def merge_refs(refs: Iterable[RuleRef]) -> tuple[RuleRef, ...]:
    """Rules in first-use order, each once; ``x held constant`` and ``y held constant`` as one."""
    merged: dict[str, list[str]] = {}
    for ref in refs:
        names = merged.setdefault(ref.id, [])
        names.extend(n for n in ref.names if n not in names)
    return tuple(
        RuleRef(rule_id, tuple(sorted(names) if rule_id == "held_constant" else names))
        for rule_id, names in merged.items()
    )


def formula_value(
    formula: Formula, known: Mapping[tuple[sympy.Expr, sympy.Symbol], sympy.Expr]
) -> sympy.Expr:
    """The value of a shown formula, each derivative symbol replaced by its known value."""
    if isinstance(formula, Leibniz):
        return known[(formula.of, formula.wrt)]
    if isinstance(formula, Product):
        return sympy.Mul(*(formula_value(f, known) for f in formula.factors))
    if isinstance(formula, Sum):
        return sympy.Add(*(formula_value(f, known) for f in formula.terms))
    if isinstance(formula, Quotient):
        return formula_value(formula.numerator, known) / formula_value(formula.denominator, known)
    if isinstance(formula, Neg):
        return -formula_value(formula.operand, known)
    return formula


def dedupe(sides: tuple[Formula, ...]) -> tuple[Formula, ...]:
    """Drop a side equal to the one before it (``= 2x = 2x`` reads as a typo)."""
    kept: list[Formula] = []
    for side in sides:
        if kept and _says_same(kept[-1], side):
            continue
        kept.append(side)
    return tuple(kept)


#: Largest value (nodes written out) a closing line is put in the order derived for: ordering
#: tidies and expands each term, which a flattened DAG (k diamonds: 2ᵏ leaves) cannot afford.
IN_ORDER_NODES = 400


def in_order(rule: Rule, value: sympy.Expr) -> Formula:
    """``value``, the derivative of ``rule``, as a sum in the order derived when it is one.

    f′g before fg′ and the parts in the order typed (chainsolve.textbook states the rule);
    ``value`` itself when the terms as derived add up to another expression (a part left in
    its intermediate variables), are no sum, or are larger than :data:`IN_ORDER_NODES`.
    A quotient's value is its numerator so written over g².
    """
    if tree_size(value, IN_ORDER_NODES) > IN_ORDER_NODES:
        return value
    if isinstance(rule, QuotientRule):
        square = rule.denominator.expr**2
        numerator = _ordered_sum(numerator_terms(rule), value * square)
        return value if numerator is None else Quotient(numerator, square)
    if not isinstance(value, sympy.Add):
        return value
    ordered = _ordered_sum(derived_terms(rule), value)
    return value if ordered is None else ordered


def parts_as_derived(terms: Callable[[], list[sympy.Expr]], value: sympy.Expr) -> Formula:
    """The ``terms`` side by side in their order (like terms combined, no factor taken out),
    when they are a sum adding up to ``value``; else ``value`` (a graph's paths, a sum's parts).

    ``terms`` is called only for a value of at most :data:`IN_ORDER_NODES` nodes: finding the
    terms as derived evaluates each part written out (a flattened DAG: 2ᵏ leaves).
    """
    if tree_size(value, IN_ORDER_NODES) > IN_ORDER_NODES:
        return value
    ordered = _ordered_sum(terms(), value, factor=False)
    return value if ordered is None else ordered


def parts_sides(label: Formula, parts: Formula, value: sympy.Expr) -> tuple[Formula, ...]:
    """``label = parts``, then ``= value`` only when that is clearly simpler than the parts.

    The rule of a result (chainsolve.textbook): fewer kinks, fewer terms or at most 60 % of
    the operations; ``2(x - 3) + e^x`` stays one side, ``2(x - 3) - 2x = -6`` does not.
    """
    if not isinstance(parts, Sum):
        return dedupe((label, parts))
    # sympy's sum is shorter only where it combined terms (2(x + 1) - 2 = 2x): with as many
    # terms it spreads a number at most (2x - 6 for 2(x - 3)), and comparing costs the most.
    fewer = len(sympy.Add.make_args(value)) < len(parts.terms)
    if fewer and clearly_simpler(value, written(parts)):
        return dedupe((label, parts, value))
    return (label, parts)


def _ordered_sum(terms: list[sympy.Expr], value: sympy.Expr, *, factor: bool = True) -> Sum | None:
    """``terms`` as a sum in their order, when it is one and adds up to ``value``."""
    ordered = as_derived(terms, factor=factor)
    if ordered is None or not isinstance(ordered.shown, Sum):
        return None
    # The same sum may be held in two ways (−1/(x + 1)² as −1·(x + 1)⁻² or not).
    if ordered.value != value and sympy.expand(ordered.value - value) != 0:
        return None
    return ordered.shown


def closing_sides(
    label: Formula,
    before: Formula,
    tidied: Formula,
    *,
    keep_before: bool,
    signs_shown: bool = False,
) -> tuple[Formula, ...]:
    """``label = before = tidied``, one of the two when ``tidied`` is ``before``'s terms reordered.

    ``keep_before``: the line before shows a rule at work (f′ · g + f · g′), so it is the one
    kept; else (the parts' results side by side) the terms in the order derived are.
    ``signs_shown``: a minus sign taken out of a factor (``2x·y · (-sin(t))`` as
    ``-2x·y·sin(t)``) is tidying, not reordering, so ``tidied`` is kept for it.
    """
    moved = signs_shown and _has_negative_factor(before)
    if not moved and _reordered(before, tidied):
        return (label, before if keep_before else tidied)
    return dedupe((label, before, tidied))


def _has_negative_factor(formula: Formula) -> bool:
    """Does a product in a shown sum hold a factor with a minus sign after its first (a · (-b))?"""
    parts = formula.terms if isinstance(formula, Sum) else (formula,)
    return any(
        isinstance(part, Product)
        and any(
            isinstance(f, sympy.Expr) and f.could_extract_minus_sign() for f in part.factors[1:]
        )
        for part in parts
    )


def _reordered(before: Formula, tidied: Formula) -> bool:
    """Is ``tidied`` ``before``'s terms (over the same denominator) in another order?"""
    if isinstance(before, Quotient) and isinstance(tidied, Quotient):
        same_denominator = before.denominator == tidied.denominator
        return same_denominator and _reordered(before.numerator, tidied.numerator)
    if not isinstance(tidied, (Sum, sympy.Add)):
        return False
    if isinstance(tidied, sympy.Add) and tree_size(tidied, IN_ORDER_NODES) > IN_ORDER_NODES:
        return False  # too large to compare term by term (in_order left it as it was)
    return not _has_unit(before) and _terms(before) == _terms(tidied)


def _has_unit(formula: Formula) -> bool:
    """Does a term of a shown sum multiply by 1 or −1 (1 · sin(x)), which its tidied form drops?"""
    parts = formula.terms if isinstance(formula, Sum) else (formula,)
    for part in parts:
        term = part.operand if isinstance(part, Neg) else part
        if isinstance(term, Product) and any(_is_unit(f) for f in term.factors):
            return True
    return False


def _is_unit(factor: Formula) -> bool:
    return isinstance(factor, sympy.Expr) and factor in (sympy.S.One, sympy.S.NegativeOne)


def _terms(formula: Formula) -> Counter[sympy.Expr]:
    """The terms a shown sum adds up, each by its value, in any order."""
    parts = formula.terms if isinstance(formula, Sum) else (formula,)
    values = (formula_value(part, {}) for part in parts)
    # By structure (sympy's ==): a term held unevaluated on one side (−1·(x + 1)⁻²) is alike
    # in print, and ∂₁f(g(t), h(t)) is one term whatever dummy its Subs was built with.
    return Counter(term for value in values for term in sympy.Add.make_args(value))


def _plain(formula: Formula) -> Formula:
    """A product or sum of plain expressions as the one expression it is (w2 · 2x is 2w2·x)."""
    parts = formula.factors if isinstance(formula, Product) else ()
    parts = formula.terms if isinstance(formula, Sum) else parts
    if not parts or not all(isinstance(p, sympy.Expr) for p in parts):
        return formula
    return sympy.Mul(*parts) if isinstance(formula, Product) else sympy.Add(*parts)


def _single(formula: Formula) -> Formula:
    if isinstance(formula, Product) and len(formula.factors) == 1:
        return formula.factors[0]
    if isinstance(formula, Sum) and len(formula.terms) == 1:
        return formula.terms[0]
    return formula


def same_formula(a: Formula, b: Formula) -> bool:
    """True when two sides print alike (a one-factor product is its factor)."""
    a, b = _single(a), _single(b)
    return type(a) is type(b) and a == b


def _says_same(a: Formula, b: Formula) -> bool:
    """True when a side adds nothing to the one before (``w2 · x`` then ``w2·x``)."""
    a, b = _plain(a), _plain(b)
    return type(a) is type(b) and a == b


def letter_candidates() -> Iterator[str]:
    """Function letters in order of preference: f, g, h, …, then f_1, f_2, …"""
    yield from LAGRANGE_LETTERS
    yield from (f"f_{index}" for index in count(1))


def _own_name(argument: sympy.Expr, function: sympy.Expr) -> str | None:
    """The user's own name for a link that is an unknown function of its argument: h in h(u₁)."""
    if isinstance(function, AppliedUndef) and function.args == (argument,):
        return str(function.func.__name__)
    return None


#: Marks a placeholder letter: the letters are handed out in reading order once all is explained.
_PENDING = "?"


def _map_leibniz(formula: Formula, change: Callable[[Leibniz], Leibniz]) -> Formula:
    """``formula`` with ``change`` applied to every derivative symbol in it."""
    if isinstance(formula, Leibniz):
        return change(formula)
    if isinstance(formula, Product):
        return Product(tuple(_map_leibniz(f, change) for f in formula.factors))
    if isinstance(formula, Sum):
        return Sum(tuple(_map_leibniz(f, change) for f in formula.terms))
    if isinstance(formula, Quotient):
        numerator = _map_leibniz(formula.numerator, change)
        return Quotient(numerator, _map_leibniz(formula.denominator, change))
    if isinstance(formula, Neg):
        return Neg(_map_leibniz(formula.operand, change))
    return formula


class Explainer:
    """Walks one rule tree by one variable; a part shown once is referred to afterwards."""

    def __init__(self, var: sympy.Symbol, names: Names, *, partial: bool) -> None:
        self.var = var
        self.names = names
        self.partial = partial
        self._shown: dict[int, sympy.Expr] = {}
        self._free: dict[sympy.Expr, frozenset[sympy.Symbol]] = {}
        #: The Lagrange form of each derivative given one: y′ for the target, f′(x) for a part.
        self._lagrange: dict[sympy.Expr, tuple[str, sympy.Expr | None]] = {}
        #: What each placeholder letter stands for: the function and its argument.
        self._pending: dict[str, tuple[sympy.Expr, sympy.Expr]] = {}
        self._placeholders: dict[int, str] = {}
        self._handlers: dict[type, Callable[[Rule, sympy.Expr, int], Explained]] = {
            SumRule: self._sum,
            ConstantMultipleRule: self._constant_multiple,
            ProductRule: self._product,
            QuotientRule: self._quotient,
            LogarithmicRule: self._logarithmic,
            ChainRule: self._chain,
            NoRule: self._no_rule,
        }

    # -- helpers --------------------------------------------------------------------------------

    def leibniz(
        self, of: sympy.Expr, lagrange: tuple[str, sympy.Expr | None] | None = None
    ) -> Leibniz:
        """d(of)/d(var), with ∂ when ``of`` has several inputs (y′ or f′(x) when it has a letter)."""
        return Leibniz(of, self.var, self.several_inputs(of), lagrange)

    def name_target(self, target: sympy.Symbol) -> None:
        """The problem's target reads y′ (y_x with several inputs) in Lagrange notation."""
        self._lagrange[target] = (target.name, None)

    def lettered(self, parts: Iterable[sympy.Expr]) -> tuple[tuple[sympy.Expr, sympy.Expr], ...]:
        """Give the parts a rule names their Lagrange letters (f′(x), g′(x)); their definitions.

        A part with other inputs is a function of the variable with them held constant, as the
        inner part of a chain is (f(x) = sin(xy) for ∂/∂x); each part is defined where the rule
        names it, even when an earlier rule named it too (the reader need not look back).
        """
        definitions: list[tuple[sympy.Expr, sympy.Expr]] = []
        for part in dict.fromkeys(parts):
            letter = self.letter(self.var, part)
            self._lagrange[part] = (letter, self.var)
            if _own_name(self.var, part) is None:
                definitions.append((sympy.Function(letter)(self.var), part))
        return tuple(definitions)

    def letter(self, argument: sympy.Expr, function: sympy.Expr) -> str:
        """The letter of the function ``argument ↦ function``: the user's own name (h in h(u₁)),
        else a placeholder that :meth:`lettered_steps` turns into the solution's letter for it."""
        own = _own_name(argument, function)
        if own is not None:
            return own
        key = self.names.shapes.of(function, argument)
        placeholder = self._placeholders.get(key)
        if placeholder is None:
            placeholder = f"{_PENDING}{len(self._placeholders)}"
            self._placeholders[key] = placeholder
            self._pending[placeholder] = (argument, function)
        return placeholder

    def lettered_steps(self, steps: Iterable[Step]) -> tuple[Step, ...]:
        """The steps with every part's derivative in its Lagrange form and the letters handed
        out in reading order (f first), one letter per function for the whole solution."""

        def resolved(letter: str) -> str:
            pending = self._pending.get(letter)
            if pending is None:
                return letter
            return self.names.letter_for(*pending, letter_candidates())

        def change(leibniz: Leibniz) -> Leibniz:
            lagrange = leibniz.lagrange
            if lagrange is None and leibniz.wrt == self.var:
                lagrange = self._lagrange.get(leibniz.of)
            if lagrange is None:
                return leibniz
            return replace(leibniz, lagrange=(resolved(lagrange[0]), lagrange[1]))

        return tuple(
            replace(
                step,
                sides=tuple(_map_leibniz(side, change) for side in step.sides),
                lagrange_definitions=tuple(
                    (sympy.Function(resolved(name.func.__name__))(*name.args), function)
                    for name, function in step.lagrange_definitions
                ),
                words=tuple(
                    (key, resolved(value) if key in STATEMENT_LETTERS else value)
                    for key, value in step.words
                ),
            )
            for step in steps
        )

    def statement_words(self, f: sympy.Expr, g: sympy.Expr) -> tuple[tuple[str, str], ...]:
        """The letters a rule's statement (fg)′ = f′g + fg′ names its parts ``f`` and ``g`` by:
        their own (placeholders until :meth:`lettered_steps`, h for the user's h), and for
        Leibniz notation two letters the problem does not use."""
        spare = self.names.spare_letters(letter_candidates(), 2)
        own = (self._lagrange[f][0], self._lagrange[g][0])
        return (
            *zip(STATEMENT_LETTERS, own, strict=True),
            *zip(STATEMENT_LETTERS.values(), spare, strict=True),
        )

    def several_inputs(self, of: sympy.Expr) -> bool:
        """Does ``of`` depend on more than one input (∂ rather than d)?

        The problem's target has the problem's inputs; an intermediate variable those of
        what it stands for; an expression its own free symbols.
        """
        if isinstance(of, sympy.Symbol):
            if of == self.var:
                return False
            definition = self.names.definitions.get(of)
            if definition is None:
                return self.partial
            of = definition
        return len(self._inputs(of)) > 1

    def _inputs(self, expr: sympy.Expr) -> frozenset[sympy.Symbol]:
        # Memoised: sympy's free_symbols walks a shared sub-expression once per use.
        known = self._free.get(expr)
        if known is None:
            if isinstance(expr, sympy.Symbol):
                known = frozenset((expr,))
            else:
                known = frozenset().union(*(self._inputs(arg) for arg in expr.args))
            self._free[expr] = known
        return known

    def full(self, expr: sympy.Expr, *, evaluate: bool = True) -> sympy.Expr:
        """``expr`` with the intermediate variables replaced by what they stand for."""
        from chainsolve.derivation import substitute

        return substitute(expr, self.names.definitions, evaluate=evaluate)

    def stated(
        self,
        kind: StepKind,
        phrase: str,
        sides: tuple[Formula, ...],
        rules: tuple[RuleRef, ...],
        depth: int,
        subject: sympy.Expr,
        known: Mapping[tuple[sympy.Expr, sympy.Symbol], sympy.Expr],
        lettered: tuple[tuple[sympy.Expr, sympy.Expr], ...] = (),
    ) -> Step:
        """A step about d(subject)/d(var) whose claim is what ``sides`` evaluate to.

        ``lettered``: the Lagrange letters its parts take (``f(x) = x²``), shown with it.
        """
        claim = self.claim(subject, sides, known)
        return Step(
            kind, phrase, sides, rules, depth=depth, claim=claim, lagrange_definitions=lettered
        )

    def claim(
        self,
        subject: sympy.Expr,
        sides: tuple[Formula, ...],
        known: Mapping[tuple[sympy.Expr, sympy.Symbol], sympy.Expr],
    ) -> Claim:
        """What ``sides`` after the first say about d(subject)/d(var), in the inputs."""
        values = tuple(self.full(formula_value(side, known)) for side in sides[1:])
        return Claim(subject, self.var, values)

    # -- the walk -------------------------------------------------------------------------------

    def explain(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        """The steps of one node (a part shown before is referred to, not repeated)."""
        handler = self._handlers.get(type(rule))
        if handler is None:
            return self._one_line(rule, label, depth)
        shown = self._shown.get(id(rule))
        if shown is not None:
            return self._found_above(rule, label, depth, shown)
        explained = handler(rule, label, depth)
        if explained.in_terms_of_inputs and not explained.trivial:
            self._shown[id(rule)] = explained.result
        return explained

    def _found_above(
        self, rule: Rule, label: sympy.Expr, depth: int, result: sympy.Expr
    ) -> Explained:
        step = self._result_step("rule", "found_above", (), rule, label, depth, result)
        return Explained(result, (step,), rule_refs(rule), False, found_above=True)

    def _one_line(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        refs = rule_refs(rule)
        kind: StepKind = "local_derivative" if depth == 0 else "rule"
        step = self._result_step(kind, "direct", refs, rule, label, depth, rule.eval())
        return Explained(step.claim.values[0], (step,), refs, True)  # type: ignore[union-attr]

    def _no_rule(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        refs = rule_refs(rule)
        step = self._result_step("no_rule", "no_rule", refs, rule, label, depth, rule.eval())
        return Explained(step.claim.values[0], (step,), refs, False)  # type: ignore[union-attr]

    def _result_step(
        self,
        kind: StepKind,
        phrase: str,
        refs: tuple[RuleRef, ...],
        rule: Rule,
        label: sympy.Expr,
        depth: int,
        result: sympy.Expr,
    ) -> Step:
        """One line d(label)/d(var) = result, claiming d(rule.expr)/d(var) = result."""
        sides: tuple[Formula, ...] = (self.leibniz(label), result)
        return Step(
            kind, phrase, sides, refs, depth=depth, claim=Claim(rule.expr, self.var, (result,))
        )

    def _sum(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        assert isinstance(rule, SumRule)
        parts = [self.explain(term, term.expr, depth + 1) for term in rule.terms]
        # Constant terms drop out: no sub-step for d/dx(1) = 0, no "+ 0" in the sum.
        varying = [
            (t, p)
            for t, p in zip(rule.terms, parts, strict=True)
            if not isinstance(t, ConstantRule)
        ]
        results = tuple(p.result for _, p in varying if p.result != 0) or (sympy.S.Zero,)
        combined = sympy.Add(*(p.result for p in parts))
        dropped = len(varying) < len(parts)
        known = {(t.expr, self.var): p.result for t, p in varying}
        if all(p.trivial for _, p in varying) and len(varying) <= ONE_LINE_TERMS:
            refs = merge_refs([RuleRef("sum"), *(r for _, p in varying for r in p.rules)])
            sides = self._added(rule, label, results, combined)
            step = self.stated("rule", "sum_terms", sides, refs, depth, rule.expr, known)
            return Explained(combined, (step,), refs, True)
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Sum(tuple(self.leibniz(t.expr) for t, _ in varying)),
        )
        opening_refs = (RuleRef("sum"), RuleRef("constant")) if dropped else (RuleRef("sum"),)
        lettered = self.lettered(t.expr for t, _ in varying)
        steps = [
            self.stated(
                "rule", "sum_open", opening, opening_refs, depth, rule.expr, known, lettered
            )
        ]
        for _, part in varying:
            steps.extend(part.steps)
        closing = self._added(rule, label, results, combined)
        steps.append(
            self.stated("product", "sum_add", closing, (RuleRef("sum"),), depth, rule.expr, known)
        )
        return Explained(combined, tuple(steps), (RuleRef("sum"),), False)

    def _added(
        self, rule: SumRule, label: sympy.Expr, results: tuple[sympy.Expr, ...], value: sympy.Expr
    ) -> tuple[Formula, ...]:
        """The parts added: each as derived, in the order typed (a second side only when it is
        clearly simpler); the parts' values side by side when they have no such form."""
        parts = parts_as_derived(lambda: derived_terms(rule), value)
        if isinstance(parts, Sum):
            return parts_sides(self.leibniz(label), parts, value)
        tidied = in_order(rule, value)
        return closing_sides(self.leibniz(label), Sum(results), tidied, keep_before=False)

    def _constant_multiple(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        assert isinstance(rule, ConstantMultipleRule)
        constant, rest = rule.constant, rule.rest.expr
        part = self.explain(rule.rest, rest, depth + 1)
        result = constant * part.result
        multiple = rule_refs(rule)
        known = {(rest, self.var): part.result}
        lettered = self.lettered((rest,))
        if part.trivial:
            refs = merge_refs([*multiple, *part.rules])
            sides = dedupe(
                (
                    self.leibniz(label),
                    Product((constant, self.leibniz(rest))),
                    Product((constant, part.result)),
                    result,
                )
            )
            step = self.stated(
                "rule", "constant_out", sides, refs, depth, rule.expr, known, lettered
            )
            return Explained(result, (step,), refs, True)
        opening: tuple[Formula, ...] = (
            self.leibniz(label),
            Product((constant, self.leibniz(rest))),
        )
        closing = dedupe((self.leibniz(label), Product((constant, part.result)), result))
        steps = [
            self.stated(
                "rule", "constant_out", opening, multiple, depth, rule.expr, known, lettered
            ),
            *part.steps,
            self.stated(
                "product",
                "constant_multiply",
                closing,
                (RuleRef("constant_multiple"),),
                depth,
                rule.expr,
                known,
            ),
        ]
        return Explained(result, tuple(steps), (RuleRef("constant_multiple"),), False)

    def _two_parts(
        self,
        rule: Rule,
        label: sympy.Expr,
        depth: int,
        phrases: tuple[str, str],
        ordered: tuple[Rule, Rule],
        opening: Formula,
        assemble: Callable[[sympy.Expr, sympy.Expr], Formula],
        stated: tuple[Rule, Rule],
    ) -> Explained:
        """A rule with two sub-derivatives: the formula, both parts' steps, the parts put together.

        ``stated``: the parts the rule's statement calls f and g (the base is f in fᵍ).
        """
        first, second = ordered
        first_part = self.explain(first, first.expr, depth + 1)
        second_part = self.explain(second, second.expr, depth + 1)
        values = {id(first): first_part.result, id(second): second_part.result}
        result = rule.combine([values[id(p)] for p in rule.parts()])
        known = {
            (first.expr, self.var): first_part.result,
            (second.expr, self.var): second_part.result,
        }
        refs = (RuleRef(rule.rule_id),)
        opening_sides: tuple[Formula, ...] = (self.leibniz(label), opening)
        assembled = assemble(values[id(rule.parts()[0])], values[id(rule.parts()[1])])
        tidied = in_order(rule, result)
        closing = closing_sides(self.leibniz(label), assembled, tidied, keep_before=True)
        lettered = self.lettered(part.expr for part in rule.parts())
        words = self.statement_words(stated[0].expr, stated[1].expr)
        steps = [
            replace(
                self.stated(
                    "rule", phrases[0], opening_sides, refs, depth, rule.expr, known, lettered
                ),
                words=words,
            ),
            *first_part.steps,
            *second_part.steps,
            replace(
                self.stated("product", phrases[1], closing, refs, depth, rule.expr, known),
                words=words,
            ),
        ]
        return Explained(result, tuple(steps), refs, False)

    def _product(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        assert isinstance(rule, ProductRule)
        f, g = rule.first.expr, rule.second.expr
        opening = Sum((Product((self.leibniz(f), g)), Product((f, self.leibniz(g)))))
        return self._two_parts(
            rule,
            label,
            depth,
            ("product_open", "product_close"),
            (rule.first, rule.second),
            opening,
            lambda df, dg: Sum((Product((df, g)), Product((f, dg)))),
            (rule.first, rule.second),
        )

    def _quotient(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        assert isinstance(rule, QuotientRule)
        f, g = rule.numerator.expr, rule.denominator.expr
        opening = Quotient(
            Sum((Product((self.leibniz(f), g)), Neg(Product((f, self.leibniz(g)))))), g**2
        )
        return self._two_parts(
            rule,
            label,
            depth,
            ("quotient_open", "quotient_close"),
            (rule.numerator, rule.denominator),
            opening,
            lambda df, dg: Quotient(Sum((Product((df, g)), Neg(Product((f, dg))))), g**2),
            (rule.numerator, rule.denominator),
        )

    def _logarithmic(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        assert isinstance(rule, LogarithmicRule)
        base, exponent = rule.base.expr, rule.exponent.expr
        opening = Product(
            (
                rule.expr,
                Sum(
                    (
                        Product((self.leibniz(exponent), sympy.log(base))),
                        Product((exponent, Quotient(self.leibniz(base), base))),
                    )
                ),
            )
        )
        return self._two_parts(
            rule,
            label,
            depth,
            ("logarithmic_open", "logarithmic_close"),
            (rule.exponent, rule.base),
            opening,
            lambda d_base, d_exponent: Product(
                (
                    rule.expr,
                    Sum(
                        (
                            Product((d_exponent, sympy.log(base))),
                            Product((exponent, Quotient(d_base, base))),
                        )
                    ),
                )
            ),
            (rule.base, rule.exponent),
        )

    def _chain(self, rule: Rule, label: sympy.Expr, depth: int) -> Explained:
        assert isinstance(rule, ChainRule)
        x = self.var
        links = rule.links
        symbols = [self.names.name_for(link.argument) for link in links]
        functions = [link.function(u) for link, u in zip(links, symbols, strict=True)]
        innermost = links[-1].argument
        names: list[sympy.Expr] = [label, *symbols]

        following = [*functions[1:], innermost]
        definitions = ((label, functions[0]), *zip(symbols, following, strict=True))
        pieces = [*zip(symbols, functions, strict=True), (x, innermost)]
        letters = [self.letter(argument, function) for argument, function in pieces]
        steps = [
            Step(
                "decompose",
                "decompose_inner" if depth else "decompose",
                depth=depth,
                definitions=tuple(definitions),
                lagrange_definitions=tuple(
                    (sympy.Function(letter)(argument), function)
                    for letter, (argument, function) in zip(letters, pieces, strict=True)
                    if not _own_name(argument, function)
                ),
            )
        ]

        link_leibniz: list[Leibniz] = []
        for index, link in enumerate(links):
            # Inside a product or sum the outer link reads d/du₁ sin(u₁), not d/du₁ sin(3x).
            of = names[index] if index or isinstance(label, sympy.Symbol) else functions[0]
            lagrange = (letters[index], link.argument)
            partial = len(self._inputs(functions[index])) > 1
            link_leibniz.append(Leibniz(of, symbols[index], partial, lagrange))
        last_letter = letters[len(links)]
        last = Leibniz(names[-1], x, len(self._inputs(innermost)) > 1, (last_letter, x))
        total = self.leibniz(label)

        local_steps: list[Step] = []
        factors: list[sympy.Expr] = []
        known: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] = {}
        for index, link in enumerate(links):
            u = symbols[index]
            local = link.local(u)
            phrase = "chain_outer" if index == 0 else "chain_middle"
            sides: tuple[Formula, ...] = (link_leibniz[index], local)
            claim = Claim(functions[index], u, (local,))
            refs = rule_refs(link.outer)
            local_steps.append(
                Step("local_derivative", phrase, sides, refs, depth=depth, claim=claim)
            )
            known[(link_leibniz[index].of, u)] = link.local(link.argument)
            factors.append(local)
        inner = self.explain(rule.inner, innermost, depth + 1)
        inner_sides: tuple[Formula, ...] = (last, inner.result)
        if inner.trivial:
            inner_phrase, inner_refs = "chain_inner", inner.rules
        else:
            inner_phrase, inner_refs = "chain_inner_found", ()
            if not inner.found_above:
                # The inner part's own steps, then what they add up to (no rule of its own).
                local_steps.extend(inner.steps)
                inner_phrase = "chain_inner_summary"
        local_steps.append(
            Step(
                "local_derivative",
                inner_phrase,
                inner_sides,
                inner_refs,
                depth=depth,
                claim=Claim(innermost, x, (inner.result,)),
            )
        )
        known[(names[-1], x)] = inner.result
        factors.append(inner.result)

        formula: tuple[Formula, ...] = (total, Product((*link_leibniz, last)))
        product_sides: tuple[Formula, ...] = (total, Product(tuple(factors)))
        chain_ref = (RuleRef("chain"),)
        if depth == 0 and len(links) > LONG_CHAIN:
            # sympy.diff of a long composition sorts a product of n nested factors (quadratic
            # and worse): checked through the chain numerically, left in the u's.
            check = chain_check(
                rule.expr, x, tuple(zip(symbols, functions, strict=True)), innermost, factors
            )
            steps.append(Step("chain_formula", "chain_formula", formula, chain_ref, check, depth))
            steps.extend(local_steps)
            steps.append(Step("product", "chain_multiply", product_sides, chain_ref, check, depth))
            return Explained(sympy.Mul(*factors), tuple(steps), chain_ref, False, False)
        steps.append(
            self.stated(
                "chain_formula", "chain_formula", formula, chain_ref, depth, rule.expr, known
            )
        )
        steps.extend(local_steps)
        steps.append(
            self.stated(
                "product", "chain_multiply", product_sides, chain_ref, depth, rule.expr, known
            )
        )
        substituted = tuple(self.full(f) for f in factors)
        if substituted != tuple(factors):
            back: tuple[Formula, ...] = (
                total,
                Product(tuple(self._unexpanded(f) for f in factors)),
            )
            steps.append(
                Step(
                    "substitute",
                    "chain_substitute",
                    back,
                    depth=depth,
                    definitions=tuple((u, self.names.definitions[u]) for u in symbols),
                    claim=Claim(rule.expr, x, (sympy.Mul(*substituted),)),
                )
            )
            steps.extend(self._simplified_where(rule, total, sympy.Mul(*substituted), depth))
        return Explained(sympy.Mul(*substituted), tuple(steps), chain_ref, False)

    def _simplified_where(
        self, rule: ChainRule, total: Leibniz, value: sympy.Expr, depth: int
    ) -> tuple[Step, ...]:
        """The simplification sympy made of a substituted chain, when it holds only on a domain.

        d/dx e^(ln x) = e^(ln x)·(1/x) = 1 needs x > 0, which the 1 no longer says.
        """
        lost = lost_conditions(rule.expr, value)
        if not lost:
            return ()
        from chainsolve import wording

        condition = wording.condition_text(*split_conditions(lost))
        claim = Claim(rule.expr, self.var, (value,))
        sides: tuple[Formula, ...] = (total, value)
        words = (("condition", condition),)
        return (Step("simplify", "simplify_where", sides, depth=depth, claim=claim, words=words),)

    def _unexpanded(self, factor: sympy.Expr) -> sympy.Expr:
        """``full(factor)`` without sympy distributing numbers over sums: 2u₁ reads 2(b + wx − y)."""
        shown = self.full(factor, evaluate=False)
        value = self.full(factor)
        # An unevaluated form that does not even print like its value is worse than the value
        # (a large one is not counted: count_ops walks a shared part once per occurrence).
        if shown == value:
            return shown
        small = tree_size(shown, UNEXPANDED_NODES) <= UNEXPANDED_NODES
        return shown if small and operations(shown) < 60 else value


__all__ = [
    "Explained",
    "Explainer",
    "dedupe",
    "explain",
    "formula_value",
    "letter_candidates",
    "merge_refs",
    "rule_refs",
    "same_formula",
]
