"""Names a wrong derivative: rebuilds the answers common mistakes give and finds a match."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy
from sympy.core.function import AppliedUndef

from chainsolve import equivalence
from chainsolve.derivation import substitute
from chainsolve.equivalence import CIRCULAR, HYPERBOLIC
from chainsolve.graph import Graph
from chainsolve.numeric import MpFloat, Undefined, evaluate
from chainsolve.problem import Problem, make_symbol
from chainsolve.rules import match_outer
from chainsolve.steps import Derivation

#: Functions whose derivative's sign students confuse (cos → −sin but cosh → +sinh; the
#: arc-functions of the co-functions are negative).
_SIGN_SLIPS = (
    *CIRCULAR,
    *HYPERBOLIC,
    sympy.asin,
    sympy.acos,
    sympy.atan,
    sympy.acot,
    sympy.asec,
    sympy.acsc,
)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class MistakeMatch:
    """A mistake that reproduces the student's answer, with where it happened (``detail``)."""

    id: str
    message: str
    detail: str = ""

    @property
    def title(self) -> str:
        """The mistake's short title."""
        return MISTAKES[self.id].title


@dataclass(frozen=True, slots=True)
class Candidate:
    """The wrong derivative one mistake produces, and the part of the problem where it was made."""

    mistake: str
    expr: sympy.Expr
    site: sympy.Expr | None = None
    detail: str = ""


#: At most this many wrong derivatives are built for one problem (they grow with its size).
MAX_CANDIDATES = 400

Outer = Callable[[sympy.Expr], sympy.Expr]


def match(mistake_id: str, detail: str = "") -> MistakeMatch:
    """The :class:`MistakeMatch` of a known mistake id."""
    return MistakeMatch(mistake_id, MISTAKES[mistake_id].message, detail)


# -- building wrong derivatives -----------------------------------------------------------------


class _Wrong:
    """Differentiates like chainsolve's rule tree, but with one mistake made at one place."""

    def __init__(self, wrt: sympy.Symbol) -> None:
        self.wrt = wrt
        self._diff: dict[sympy.Expr, sympy.Expr] = {}
        self.count = 0

    def d(self, expr: sympy.Expr) -> sympy.Expr:
        known = self._diff.get(expr)
        if known is None:
            known = sympy.diff(expr, self.wrt)
            self._diff[expr] = known
        return known

    def variants(self, expr: sympy.Expr) -> list[Candidate]:
        """Every one-mistake derivative of ``expr``."""
        x = self.wrt
        if self.count > MAX_CANDIDATES or not expr.has(x) or expr == x:
            return []
        found: list[Candidate] = []
        if isinstance(expr, sympy.Add):
            terms = list(expr.args)
            for index, term in enumerate(terms):
                others = sympy.Add(*(self.d(t) for i, t in enumerate(terms) if i != index))
                found += [
                    Candidate(c.mistake, others + c.expr, c.site) for c in self.variants(term)
                ]
        elif isinstance(expr, sympy.Mul):
            found += self._mul(expr)
        elif isinstance(expr, sympy.Pow) and not expr.exp.has(x):
            base, exponent = expr.args
            outer: Outer = lambda a: exponent * a ** (exponent - 1)  # noqa: E731
            du = self.d(base)
            found += [
                Candidate("power_rule_error", exponent * base**exponent * du, expr),
                Candidate("power_rule_error", exponent * base ** (exponent - 2) * du, expr),
                Candidate("power_rule_error", exponent * base ** (exponent + 1) * du, expr),
                Candidate("power_rule_error", base ** (exponent - 1) * du, expr),
            ]
            found += self._chain(expr, base, outer)
        elif isinstance(expr, sympy.Pow) and not expr.base.has(x):
            base, exponent = expr.args
            found.append(
                Candidate(
                    "power_rule_error", exponent * base ** (exponent - 1) * self.d(exponent), expr
                )
            )
            if base != sympy.E:
                found.append(Candidate("power_rule_error", base**exponent * self.d(exponent), expr))
            found += self._chain(expr, exponent, lambda a: base**a * sympy.log(base))
        else:
            outer_match = match_outer(expr, x)
            if outer_match is not None:
                inner = outer_match.inner
                derivative = outer_match.rule.derivative
                if isinstance(expr, AppliedUndef):
                    derivative = _abstract_derivative(expr.func)
                found += self._chain(expr, inner, derivative)
                if isinstance(expr, _SIGN_SLIPS):
                    found.append(Candidate("sign_error", -derivative(inner) * self.d(inner), expr))
        self.count += len(found)
        return found

    def _chain(self, expr: sympy.Expr, inner: sympy.Expr, outer: Outer) -> list[Candidate]:
        """Chain-rule mistakes at F(inner), and mistakes inside the inner derivative."""
        x = self.wrt
        if inner == x:
            return []
        du = self.d(inner)
        found = [
            Candidate("missing_inner_derivative", outer(inner), expr),
            Candidate("outer_at_wrong_argument", outer(x) * du, expr),
            Candidate("composed_derivatives", outer(du), expr),
        ]
        found += [Candidate(c.mistake, outer(inner) * c.expr, c.site) for c in self.variants(inner)]
        return found

    def _mul(self, expr: sympy.Mul) -> list[Candidate]:
        x = self.wrt
        constant, rest = expr.as_independent(x, as_Add=False)
        if constant != 1:
            return [Candidate(c.mistake, constant * c.expr, c.site) for c in self.variants(rest)]
        found: list[Candidate] = []
        numerator, denominator = expr.as_numer_denom()
        if denominator.has(x) and numerator.has(x) and denominator != 1:
            dn, dd = self.d(numerator), self.d(denominator)
            found += [
                Candidate(
                    "quotient_rule_error",
                    (dn * denominator + numerator * dd) / denominator**2,
                    expr,
                ),
                Candidate(
                    "quotient_rule_error", (dn * denominator - numerator * dd) / denominator, expr
                ),
                Candidate("quotient_rule_error", dn / dd, expr),
            ]
        factors = expr.as_ordered_factors()
        first, second = factors[0], sympy.Mul(*factors[1:])
        d_first, d_second = self.d(first), self.d(second)
        found.append(Candidate("product_rule_error", d_first * d_second, expr))
        found += [
            Candidate(c.mistake, c.expr * second + first * d_second, c.site)
            for c in self.variants(first)
        ]
        found += [
            Candidate(c.mistake, d_first * second + first * c.expr, c.site)
            for c in self.variants(second)
        ]
        return found


def _abstract_derivative(function: type) -> Outer:
    def derivative(argument: sympy.Expr) -> sympy.Expr:
        dummy = sympy.Dummy("a", real=True)
        return sympy.Subs(sympy.Derivative(function(dummy), dummy), dummy, argument).doit()

    return derivative


def flatten_definitions(problem: Problem) -> dict[sympy.Symbol, sympy.Expr]:
    """Each defined (non-target) name mapped to its definition in terms of the inputs."""
    mapping: dict[sympy.Symbol, sympy.Expr] = {}
    for definition in reversed(problem.definitions):
        mapping[make_symbol(definition.name)] = substitute(definition.expr, mapping)
    return mapping


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
        found += _Wrong(x).variants(
            problem.definitions[0].expr if problem.is_single_expression else target
        )
        return found

    def full(expr: sympy.Expr) -> sympy.Expr:
        return substitute(expr, flat)

    local = {(e.target, e.source): e.local_partial for e in graph.edges}
    paths = derivation.paths

    def term(
        path: Sequence[str],
        replace: Mapping[tuple[str, str], sympy.Expr] | None = None,
        skip: int | None = None,
    ) -> sympy.Expr:
        factors = []
        for index in range(len(path) - 1):
            link = (path[index], path[index + 1])
            if index == skip:
                continue
            factors.append((replace or {}).get(link, local[link]))
        return sympy.Mul(*factors)

    terms = [term(p) for p in paths]
    total = sympy.Add(*terms)
    for index, path in enumerate(paths):
        rest = total - terms[index]
        if len(paths) > 1:
            found.append(
                Candidate(
                    "missing_path",
                    full(rest),
                    detail="the path " + " → ".join(path) + " is missing",
                )
            )
        for skip in range(1, len(path) - 1):
            factor = f"d{path[skip]}/d{path[skip + 1]}"
            found.append(
                Candidate(
                    "missing_inner_derivative",
                    full(rest + term(path, skip=skip)),
                    detail=f"the factor {factor} is missing on the path " + " → ".join(path),
                )
            )
    if any(len(p) > 2 for p in paths):
        firsts = sympy.Add(*(local[(p[0], p[1])] for p in paths))
        found.append(
            Candidate(
                "missing_inner_derivative",
                full(firsts),
                detail="every path stops after its first factor",
            )
        )
    direct = [p for p in paths if len(p) == 2]
    if direct and len(paths) > 1:
        found.append(
            Candidate(
                "partial_for_total",
                full(local[(problem.target, wrt)]),
                detail=f"∂{problem.target}/∂{wrt} alone leaves out the paths through "
                + ", ".join(sorted({p[1] for p in paths if len(p) > 2})),
            )
        )
    # One mistake inside one local derivative, carried through every path that uses the edge.
    for edge in graph.edges:
        node_expr = graph.by_name[edge.target].expr
        if node_expr is None:
            continue
        for wrong in _Wrong(make_symbol(edge.source)).variants(node_expr):
            replaced = {(edge.target, edge.source): wrong.expr}
            found.append(
                Candidate(
                    wrong.mistake, full(sympy.Add(*(term(p, replaced) for p in paths))), wrong.site
                )
            )
        if len(found) > MAX_CANDIDATES:
            break
    return found


# -- matching -----------------------------------------------------------------------------------


class _Points:
    """Random points where the answer and the derivative are defined, shared by all candidates."""

    def __init__(
        self, answer: sympy.Expr, truth: sympy.Expr, *, count: int = 6, seed: int = 7
    ) -> None:
        self.variant_count = 2 if (answer.atoms(AppliedUndef) or truth.atoms(AppliedUndef)) else 1
        rng = random.Random(seed)
        self.samples: list[tuple[int, dict[sympy.Symbol, MpFloat], MpFloat, MpFloat]] = []
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
                    va, vt = _value(a, point), _value(t, point)
                    if va is None or vt is None:
                        continue
                    self.samples.append((variant, point, va, vt))
                    taken += 1

    def concrete(self, expr: sympy.Expr, variant: int) -> sympy.Expr:
        return equivalence.concrete_functions(expr, variant) if self.variant_count > 1 else expr

    def matches(self, candidate: sympy.Expr) -> bool:
        """True when ``candidate`` equals the answer at every sample point (and there are some)."""
        if not self.samples:
            return False
        concrete = {v: self.concrete(candidate, v) for v in range(self.variant_count)}
        with mpmath.workdps(equivalence.PRECISION):
            for variant, point, answer_value, _ in self.samples:
                value = _value(concrete[variant], point)
                if value is None or not _close(value, answer_value):
                    return False
        return True

    def constant_ratio(self) -> MpFloat | None:
        """answer / truth when it is the same constant at every point (truth nonzero there)."""
        ratios = []
        with mpmath.workdps(equivalence.PRECISION):
            for _, _, answer_value, truth_value in self.samples:
                if truth_value == 0:
                    continue
                ratios.append(answer_value / truth_value)
            if len(ratios) < 3 or not all(_close(r, ratios[0]) for r in ratios):
                return None
        return ratios[0]


def _value(expr: sympy.Expr, point: Mapping[sympy.Symbol, MpFloat]) -> MpFloat | None:
    try:
        return evaluate(expr, point)
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
