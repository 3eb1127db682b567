"""Names a wrong derivative: rebuilds the answers common mistakes give and finds a match."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction

import mpmath
import sympy
from sympy.core.function import AppliedUndef

from chainsolve import equivalence
from chainsolve.derivation import flatten_definitions, substitute
from chainsolve.functions import BY_CLASS
from chainsolve.graph import Graph
from chainsolve.numeric import Known, MpFloat, Undefined, evaluate
from chainsolve.plan import plan, plan_paths
from chainsolve.problem import Problem, make_symbol
from chainsolve.record import record
from chainsolve.rules import (
    ChainRule,
    ExponentialRule,
    FunctionRule,
    PathSumRule,
    PowerRule,
    ProductRule,
    QuotientRule,
    Rule,
)
from chainsolve.rules import evaluate as evaluate_rule
from chainsolve.steps import Derivation


@record
class Mistake:
    """A common mistake: a stable ``id``, a short ``title``, an explanation for the student."""

    id: str
    title: str
    message: str


#: Every mistake chainsolve can name, by its stable id (the ids are part of the JSON schema).
MISTAKES: Mapping[str, Mistake] = {
    m.id: m
    for m in (
        Mistake(
            "previous_order",
            "the derivative of the order below",
            "The answer is the derivative one order lower: differentiate it once more "
            "(the second derivative is the derivative of the first).",
        ),
        Mistake(
            "rates_not_substituted",
            "values not put in",
            "The rate is right in general but the values at that moment were not put in: "
            "substitute the given values to get a number.",
        ),
        Mistake(
            "rates_wrong_rate",
            "a given rate used wrongly",
            "A given rate was left out or replaced by the quantity's value: the chain rule "
            "multiplies each term by its own rate dv/dt, the given one.",
        ),
        Mistake(
            "rates_wrong_unit",
            "the wrong unit",
            "The number is right but the unit is not: a rate is in the quantity's unit "
            "per the time unit.",
        ),
        Mistake(
            "implicit_forgot_dydx",
            "dy/dx forgotten on a y term",
            "A term in y was differentiated as if y were the variable: y is a function of x, "
            "so the chain rule adds a factor dy/dx (d/dx y² = 2y·dy/dx, not 2y).",
        ),
        Mistake(
            "implicit_y_as_constant",
            "y differentiated as a constant",
            "A term in y was differentiated as if y were a constant; y changes with x, so "
            "d/dx of that term has a dy/dx part (d/dx y² = 2y·dy/dx, not 0).",
        ),
        Mistake(
            "implicit_product_rule",
            "product rule forgotten on a product of x and y",
            "A product of a term in x and a term in y needs the product rule: "
            "d/dx(x·y) = y + x·dy/dx, not the product of the two derivatives.",
        ),
        Mistake(
            "implicit_sign_moving_terms",
            "sign error moving a term across",
            "A term moved to the other side of the equation kept its sign; "
            "moving it across changes its sign.",
        ),
        Mistake(
            "missing_inner_derivative",
            "inner derivative missing",
            "The chain rule was not finished: after differentiating the outer function f at g(x), "
            "multiply by the derivative of the inside, g′(x).",
        ),
        Mistake(
            "outer_at_wrong_argument",
            "outer derivative at the wrong argument",
            "The outer derivative was evaluated at x instead of at the inner function: "
            "(f(g(x)))′ = f′(g(x))·g′(x), not f′(x)·g′(x).",
        ),
        Mistake(
            "composed_derivatives",
            "derivatives composed instead of multiplied",
            "The derivatives were nested, f′(g′(x)), instead of multiplied: "
            "the chain rule gives f′(g(x))·g′(x).",
        ),
        Mistake(
            "missing_path",
            "a path of the chain rule dropped",
            "A term of the multivariable chain rule is missing: the target depends on the variable "
            "along several paths, and the derivative adds one product of local derivatives "
            "per path.",
        ),
        Mistake(
            "sign_error",
            "sign error",
            "The answer has the wrong sign (overall or in one term); check the derivatives of cos "
            "(−sin), cosh (+sinh), arccos (−1/√(1 − u²)) and of 1/u (−1/u²), and minus signs in "
            "the quotient rule.",
        ),
        Mistake(
            "constant_factor",
            "off by a constant factor",
            "The answer is a constant multiple of the derivative: a factor such as ½, 2 or the "
            "exponent of a power rule was lost or added.",
        ),
        Mistake(
            "power_rule_error",
            "power rule misapplied",
            "The power rule is d/du u^n = n·u^(n−1): bring the exponent down and lower it by one, "
            "exactly once (and a^u is not a power of u: its derivative is a^u·ln(a)·u′).",
        ),
        Mistake(
            "partial_for_total",
            "partial derivative given for the total derivative",
            "This is the partial derivative, which holds the other variables fixed; the total "
            "derivative also adds the paths through the intermediate variables that depend on it.",
        ),
        Mistake(
            "product_rule_error",
            "product rule misapplied",
            "The derivative of a product is not the product of the derivatives: (uv)′ = u′v + uv′.",
        ),
        Mistake(
            "quotient_rule_error",
            "quotient rule misapplied",
            "The quotient rule is (u/v)′ = (u′v − uv′)/v²: mind the minus sign, the order of the "
            "terms and the square in the denominator.",
        ),
        Mistake(
            "not_differentiated",
            "function not differentiated",
            "The answer is the function itself (or a piece of it), not its derivative.",
        ),
        Mistake(
            "wrong_variable",
            "differentiated with respect to another variable",
            "This is the derivative with respect to a different variable than the one asked for.",
        ),
        Mistake(
            "unevaluated_derivative",
            "derivative left unevaluated",
            "The answer still contains a derivative d/dx(…): finish differentiating it.",
        ),
    )
}


@record
class MistakeMatch:
    """A mistake that reproduces the student's answer, with where it happened (``detail``)."""

    id: str
    message: str
    detail: str = ""

    @property
    def title(self) -> str:
        """The mistake's short title."""
        return MISTAKES[self.id].title


@record
class Candidate:
    """The wrong derivative one mistake produces, and the part of the problem where it was made."""

    mistake: str
    expr: sympy.Expr
    site: sympy.Expr | None = None
    detail: str = ""


#: At most this many wrong derivatives are built for one problem (they grow with its size).
MAX_CANDIDATES = 400


def match(mistake_id: str, detail: str = "") -> MistakeMatch:
    """The :class:`MistakeMatch` of a known mistake id."""
    return MistakeMatch(mistake_id, MISTAKES[mistake_id].message, detail)


# -- building wrong derivatives: the rule tree with one node replaced by a wrong variant ---------


def wrong_derivatives(tree: Rule) -> list[Candidate]:
    """Every one-mistake derivative of ``tree.expr``: one node of the rule tree done wrong."""
    return _Variants(tree).of(tree)


class _Variants:
    """The wrong variants of each node, built from its parts' right and wrong derivatives."""

    def __init__(self, tree: Rule) -> None:
        self.values: dict[int, sympy.Expr] = {}
        evaluate_rule(tree, self.values)
        self.count = 0
        self._known: dict[int, list[Candidate]] = {}

    def right(self, rule: Rule) -> sympy.Expr:
        return self.values[id(rule)]

    def of(self, rule: Rule) -> list[Candidate]:
        """The wrong derivatives of ``rule.expr`` with exactly one mistake in them."""
        known = self._known.get(id(rule))
        if known is not None:
            return known
        found: list[Candidate] = []
        if self.count <= MAX_CANDIDATES:
            found = self._own(rule) + self._in_parts(rule)
        self.count += len(found)
        self._known[id(rule)] = found
        return found

    def _in_parts(self, rule: Rule) -> list[Candidate]:
        """A mistake inside one part, carried through this node's (right) rule."""
        parts = rule.parts()
        rights = [self.right(p) for p in parts]
        found = []
        for index, part in enumerate(parts):
            for wrong in self.of(part):
                derivatives = [*rights[:index], wrong.expr, *rights[index + 1 :]]
                found.append(Candidate(wrong.mistake, rule.combine(derivatives), wrong.site))
        return found

    def _own(self, rule: Rule) -> list[Candidate]:
        """This node's own rule applied wrongly."""
        if isinstance(rule, ProductRule):
            d_first, d_second = self.right(rule.first), self.right(rule.second)
            return [Candidate("product_rule_error", d_first * d_second, rule.expr)]
        if isinstance(rule, QuotientRule):
            top, bottom = rule.numerator.expr, rule.denominator.expr
            d_top, d_bottom = self.right(rule.numerator), self.right(rule.denominator)
            return [
                Candidate(
                    "quotient_rule_error", (d_top * bottom + top * d_bottom) / bottom**2, rule.expr
                ),
                Candidate(
                    "quotient_rule_error", (d_top * bottom - top * d_bottom) / bottom, rule.expr
                ),
                Candidate("quotient_rule_error", d_top / d_bottom, rule.expr),
            ]
        if isinstance(rule, ChainRule):
            return self._chain(rule)
        if isinstance(rule, PathSumRule):
            return self._paths(rule)
        if isinstance(rule, (PowerRule, ExponentialRule, FunctionRule)):
            return [Candidate(m, e, rule.expr) for m, e in _slips(rule, rule.var, sympy.S.One)]
        return []

    def _chain(self, rule: ChainRule) -> list[Candidate]:
        """Chain-rule mistakes at each link: the inside dropped, F′ at x, F′ composed, F′ slipped."""
        x = rule.var
        locals_ = [link.local(link.argument) for link in rule.links]
        # below[i]: the right derivative of link i's argument (everything inside it).
        below = [sympy.S.One] * len(rule.links)
        inside = self.right(rule.inner)
        for index in range(len(rule.links) - 1, -1, -1):
            below[index] = inside
            inside = locals_[index] * inside
        found: list[Candidate] = []
        for index, (link, site) in enumerate(zip(rule.links, rule.levels(), strict=True)):
            before = sympy.Mul(*locals_[:index])
            d_argument = below[index]
            wrong = [
                ("missing_inner_derivative", locals_[index]),
                ("outer_at_wrong_argument", link.local(x) * d_argument),
                ("composed_derivatives", link.local(d_argument)),
                *_slips(link.outer, link.argument, d_argument),
            ]
            found += [Candidate(mistake, before * value, site) for mistake, value in wrong]
        return found

    def _paths(self, rule: PathSumRule) -> list[Candidate]:
        """A path of the sum dropped, a factor of a path dropped, the direct partial alone."""
        local = {
            key: self.right(edge) for key, edge in zip(rule.edge_keys, rule.edges, strict=True)
        }
        paths = rule.paths
        terms = [rule.term(path, local) for path in paths]
        total = sympy.Add(*terms)
        found: list[Candidate] = []
        for index, path in enumerate(paths):
            rest = total - terms[index]
            route = " → ".join(path)
            if len(paths) > 1:
                found.append(Candidate("missing_path", rest, detail=f"the path {route} is missing"))
            for skip in range(1, len(path) - 1):
                factor = f"d{path[skip]}/d{path[skip + 1]}"
                found.append(
                    Candidate(
                        "missing_inner_derivative",
                        rest + rule.term(path, local, skip),
                        detail=f"the factor {factor} is missing on the path {route}",
                    )
                )
        if any(len(p) > 2 for p in paths):
            firsts = sympy.Add(*(local[(p[0], p[1])] for p in paths))
            detail = "every path stops after its first factor"
            found.append(Candidate("missing_inner_derivative", firsts, detail=detail))
        if len(paths) > 1 and any(len(p) == 2 for p in paths):
            target, wrt = rule.expr.name, rule.var.name
            through = ", ".join(sorted({p[1] for p in paths if len(p) > 2}))
            found.append(
                Candidate(
                    "partial_for_total",
                    local[(target, wrt)],
                    detail=f"∂{target}/∂{wrt} alone leaves out the paths through {through}",
                )
            )
        return found


def _slips(
    outer: Rule, argument: sympy.Expr, d_argument: sympy.Expr
) -> list[tuple[str, sympy.Expr]]:
    """Wrong forms of one outer function's rule at ``argument`` (times the inner derivative)."""
    if isinstance(outer, PowerRule):
        n = outer.exponent
        return [
            ("power_rule_error", n * argument**n * d_argument),
            ("power_rule_error", n * argument ** (n - 2) * d_argument),
            ("power_rule_error", n * argument ** (n + 1) * d_argument),
            ("power_rule_error", argument ** (n - 1) * d_argument),
        ]
    if isinstance(outer, ExponentialRule):
        base = outer.base
        return [("power_rule_error", argument * base ** (argument - 1) * d_argument)] + (
            [("power_rule_error", base**argument * d_argument)] if base != sympy.E else []
        )
    if isinstance(outer, FunctionRule):
        wrong = BY_CLASS[outer.function].wrong_derivatives(argument)
        return [(mistake, local * d_argument) for mistake, local in wrong]
    return []


def candidates(
    problem: Problem, wrt: str, derivation: Derivation | None, graph: Graph | None
) -> list[Candidate]:
    """The wrong derivatives the known mistakes give for ``problem`` with respect to ``wrt``.

    Single expressions: one mistake at one place of the rule tree. Graphs: one path of the
    sum dropped, one factor of a path dropped, the direct partial alone, or one mistake in
    one local derivative.
    """
    x = make_symbol(wrt)
    flat = flatten_definitions(problem)
    target = flat[make_symbol(problem.target)]
    found: list[Candidate] = [Candidate("not_differentiated", target)]
    for other in problem.inputs:
        if other != wrt:
            found.append(Candidate("wrong_variable", sympy.diff(target, make_symbol(other))))
    if problem.is_single_expression or graph is None or derivation is None or not derivation.paths:
        expr = problem.definitions[0].expr if problem.is_single_expression else target
        kept = derivation.rules.get((problem.target, wrt)) if derivation is not None else None
        found += wrong_derivatives(
            kept if kept is not None and kept.expr == expr else plan(expr, x)
        )
        return found

    def edge_rule(node: str, source: str) -> Rule:
        kept = derivation.rules.get((node, source))
        node_expr = graph.by_name[node].expr
        return kept if kept is not None else plan(node_expr, make_symbol(source))

    kept = derivation.rules.get((problem.target, wrt))
    if isinstance(kept, PathSumRule):
        tree: Rule = kept
    else:
        tree = plan_paths(problem.target, wrt, derivation.paths, edge_rule)
    # Wrong forms are in the graph's names; the answer is compared in the inputs.
    for wrong in wrong_derivatives(tree):
        found.append(replace(wrong, expr=substitute(wrong.expr, flat)))
    return found


# -- matching -----------------------------------------------------------------------------------


class _Points:
    """Random points where the answer and the derivative are defined, shared by all candidates.

    Each sample keeps the values of the parts evaluated there, so that a part the candidates
    share with the answer or the truth (cos t, e^t) is evaluated once per point.
    """

    def __init__(
        self, answer: sympy.Expr, truth: sympy.Expr, *, count: int = 6, seed: int = 7
    ) -> None:
        self.variant_count = 2 if (answer.atoms(AppliedUndef) or truth.atoms(AppliedUndef)) else 1
        rng = random.Random(seed)
        self.samples: list[tuple[int, dict[sympy.Symbol, MpFloat], MpFloat, MpFloat, Known]] = []
        with mpmath.workdps(equivalence.PRECISION):
            for variant in range(self.variant_count):
                a = self.concrete(answer, variant)
                t = self.concrete(truth, variant)
                symbols = sorted(a.free_symbols | t.free_symbols, key=lambda s: s.name)
                tries = 0
                taken = 0
                while taken < count and tries < count * 8:
                    tries += 1
                    point = {
                        s: mpmath.mpf(
                            rng.choice((-1, 1))
                            * rng.choice(equivalence.MAGNITUDES)
                            * (1 + rng.random() / 3)
                        )
                        for s in symbols
                    }
                    known: Known = {}
                    va, vt = _value(a, point, known), _value(t, point, known)
                    if va is None or vt is None:
                        continue
                    self.samples.append((variant, point, va, vt, known))
                    taken += 1

    def concrete(self, expr: sympy.Expr, variant: int) -> sympy.Expr:
        return equivalence.concrete_functions(expr, variant) if self.variant_count > 1 else expr

    def matches(self, candidate: sympy.Expr) -> bool:
        """True when ``candidate`` equals the answer at every sample point (and there are some)."""
        if not self.samples:
            return False
        concrete = {v: self.concrete(candidate, v) for v in range(self.variant_count)}
        with mpmath.workdps(equivalence.PRECISION):
            for variant, point, answer_value, _, known in self.samples:
                value = _value(concrete[variant], point, known)
                if value is None or not _close(value, answer_value):
                    return False
        return True

    def constant_ratio(self) -> MpFloat | None:
        """answer / truth when it is the same constant at every point (truth nonzero there)."""
        ratios = []
        with mpmath.workdps(equivalence.PRECISION):
            for _, _, answer_value, truth_value, _ in self.samples:
                if truth_value == 0:
                    continue
                ratios.append(answer_value / truth_value)
            if len(ratios) < 3 or not all(_close(r, ratios[0]) for r in ratios):
                return None
        return ratios[0]


def _value(
    expr: sympy.Expr, point: Mapping[sympy.Symbol, MpFloat], known: Known | None = None
) -> MpFloat | None:
    try:
        return evaluate(expr, point, known)
    except (Undefined, KeyError, OverflowError, ZeroDivisionError, ValueError, TypeError):
        return None


def _close(a: MpFloat, b: MpFloat) -> bool:
    return bool(abs(a - b) <= equivalence.TOLERANCE * max(1, abs(a), abs(b)))


def _nice(value: MpFloat) -> str:
    """A constant as a short fraction when it is one (½ → '1/2'), else 4 significant digits."""
    number = float(value)
    fraction = Fraction(number).limit_denominator(24)
    if abs(float(fraction) - number) < 1e-9 * max(1.0, abs(number)):
        return str(fraction)
    return f"{number:.4g}"


def _where(site: sympy.Expr | None) -> str:
    if site is None:
        return ""
    text = sympy.sstr(site).replace("**", "^")
    return f"in the derivative of {text}" if len(text) <= 60 else ""


def identify(
    answer: sympy.Expr,
    truth: sympy.Expr,
    wrong: Sequence[Candidate],
) -> tuple[MistakeMatch, ...]:
    """The mistakes that reproduce a wrong ``answer``, in a stable order; empty when none does."""
    points = _Points(answer, truth)
    if not points.samples:
        return ()
    found: dict[str, MistakeMatch] = {}
    ratio = points.constant_ratio()
    if ratio is not None and not _close(ratio, mpmath.mpf(1)) and not _close(ratio, mpmath.mpf(0)):
        if _close(ratio, mpmath.mpf(-1)):
            found["sign_error"] = match("sign_error", "the whole answer has the opposite sign")
        else:
            found["constant_factor"] = match(
                "constant_factor", f"your answer is {_nice(ratio)} times the derivative"
            )
    for candidate in wrong:
        if candidate.mistake in found:
            continue
        if points.matches(candidate.expr):
            found[candidate.mistake] = match(
                candidate.mistake, candidate.detail or _where(candidate.site)
            )
    order = list(MISTAKES)
    return tuple(sorted(found.values(), key=lambda m: order.index(m.id)))
