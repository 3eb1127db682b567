"""Pure formatting of expressions and step formulas as Unicode, LaTeX and MathML (never maths)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Literal

import sympy
from sympy.core.exprtools import decompose_power
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter, split_super_sub, tex_greek_dictionary
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from chainsolve.functions import Activation, printed_name
from chainsolve.problem import Adjoint, evaluate_typed
from chainsolve.steps import Formula, Leibniz, Neg, Product, Quotient, Step, Sum

Notation = Literal["leibniz", "lagrange"]

GREEK = MappingProxyType(
    {
        "alpha": "α",
        "beta": "β",
        "gamma": "γ",
        "delta": "δ",
        "epsilon": "ε",
        "zeta": "ζ",
        "eta": "η",
        "theta": "θ",
        "iota": "ι",
        "kappa": "κ",
        "lambda": "λ",
        "lamda": "λ",
        "mu": "μ",
        "nu": "ν",
        "xi": "ξ",
        "omicron": "ο",
        "pi": "π",
        "rho": "ρ",
        "sigma": "σ",
        "tau": "τ",
        "upsilon": "υ",
        "phi": "φ",
        "chi": "χ",
        "psi": "ψ",
        "omega": "ω",
        "Gamma": "Γ",
        "Delta": "Δ",
        "Theta": "Θ",
        "Lambda": "Λ",
        "Xi": "Ξ",
        "Pi": "Π",
        "Sigma": "Σ",
        "Phi": "Φ",
        "Psi": "Ψ",
        "Omega": "Ω",
    }
)

_SUBSCRIPTS = str.maketrans("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPTABLE = frozenset("0123456789aehijklmnoprstuvx")


def unicode_name(name: str) -> str:
    """A variable name for the terminal: ``theta`` → ``θ``, ``u_1`` → ``u₁``, ``W_2`` → ``W₂``.

    >>> unicode_name("theta_10"), unicode_name("x_ab")
    ('θ₁₀', 'x_ab')
    """
    base, sep, sub = name.partition("_")
    base = GREEK.get(base, base)
    if not sep:
        return base
    if sub and set(sub) <= _SUBSCRIPTABLE:
        return base + sub.translate(_SUBSCRIPTS)
    return f"{base}_{GREEK.get(sub, sub)}"


def _is_atomic_text(text: str) -> bool:
    """True when a printed piece needs no parentheses next to ``/`` (no bare operator).

    Bars are brackets too: ``|x - 1|`` is one piece (an odd count of bars so far is inside).
    """
    depth = 0
    bars = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "|":
            bars += 1
        elif depth == 0 and bars % 2 == 0 and char in " ·/-+^":
            return False
    return True


def _reads_whole_beside_a_slash(text: str) -> bool:
    """True when a printed numerator or denominator needs no parentheses next to ``/``.

    Besides an atomic piece, a power whose exponent is in brackets ending the piece:
    e^(-x)/(1 + e^(-x))² and 1/e^(x²) read one way (^ binds tighter than /, and the brackets
    show where the exponent ends); e^x/2 keeps them, (e^x)/2, as e^x/2 is read e^(x/2) by some.
    """
    if _is_atomic_text(text):
        return True
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "^" and depth == 0:
            raised, end = _caret_operand(text, index + 1)
            return _is_atomic_text(text[:index]) and raised.startswith("(") and end == len(text)
    return False


def _derivative_at(
    subs: sympy.Expr,
) -> tuple[AppliedUndef, list[sympy.Expr], list[int], int] | None:
    """``Subs(Derivative(f(a, b), a), (a, b), (u, v))`` as (f, [u, v], slots [1], order 1).

    The derivative of an unknown function at a point, as every printer writes it: f′(u)
    for one argument, ∂₁f(u, v) for several. ``None`` for any other ``Subs``.
    """
    inner, old, new = subs.args
    if not (isinstance(inner, sympy.Derivative) and isinstance(inner.expr, AppliedUndef)):
        return None
    function = inner.expr
    mapping = dict(zip(old, new, strict=True))
    values = [mapping.get(a, a) for a in function.args]
    slots = [function.args.index(v) + 1 for v in inner.variables if v in function.args]
    return function, values, slots, len(inner.variables)


def _applied_name(function: sympy.Expr) -> str:
    """The display name of an abstract function application ``f(…)``."""
    return unicode_name(str(function.func.__name__))


def _reciprocal(power: sympy.Expr) -> sympy.Expr:
    """``b**e`` for a power ``b**-e``, without letting sympy fold it back into a fraction."""
    base, exponent = power.args
    if exponent == -1:
        return base
    return sympy.Pow(base, -exponent, evaluate=False)


def differentiates_slots(expr: sympy.Expr) -> bool:
    """True when ``expr`` differentiates an unknown function by some of its own arguments.

    Each variable must be exactly one argument and occur in no other: then d/dv is the
    partial derivative by that slot (∂₁f, f′). ``Derivative(f(g(t), t), t)`` is not: t
    also moves g(t), so sympy means the total derivative, which no slot notation shows.
    """
    function = expr.expr
    if not isinstance(function, AppliedUndef):
        return False
    args = function.args
    return all(v in args and sum(a.has(v) for a in args) == 1 for v in expr.variables)


def slot_form_of(expr: sympy.Expr) -> sympy.Expr | None:
    """``d f(g, h)/d g`` as ``Subs(∂f(ξ₁, h)/∂ξ₁, ξ₁, g)``, shown as ``∂₁f(g, h)`` or ``f′(g)``.

    sympy differentiates by an argument expression (``Derivative(f(g(t), t), g(t))``);
    this is the same derivative written by slot. ``None`` when every variable is a plain
    variable (``Derivative(f(x, y), x)`` needs no rewriting) or the slots are not clear.
    """
    if not differentiates_slots(expr) or all(v.is_Symbol for v in expr.variables):
        return None
    function = expr.expr
    slots = {v: sympy.Dummy(f"xi_{function.args.index(v) + 1}") for v in expr.variables}
    inner = sympy.Derivative(
        function.xreplace(slots), *[(slots[v], n) for v, n in expr.variable_count]
    )
    return sympy.Subs(inner, tuple(slots.values()), tuple(slots))


#: Constants whose every part lies below this size are evaluated to order terms, as sympy does.
_ORDERING_MAGNITUDE = 1e300


def _bounded_value(number: sympy.Expr) -> sympy.Float | None:
    """The value of a constant when every part of it is a moderate real number, else ``None``.

    Evaluating inner parts first bounds the cost: sin(e^e^e^e) needs millions of digits,
    and its inner e^e^e^e is refused before sin is ever evaluated.
    """
    value: sympy.Expr | None = None
    for part in sympy.postorder_traversal(number):
        value = part.evalf(15)
        if not (value.is_Float and abs(float(value)) < _ORDERING_MAGNITUDE):
            return None
    return value if isinstance(value, sympy.Float) else None


def _term_key(
    term: sympy.Expr, generators: dict[sympy.Expr, int]
) -> tuple[tuple[Any, ...], tuple[Any, ...], Any, tuple[Any, ...]]:
    """sympy's default term order (degree in each generator, then coefficient), by structure.

    sympy's ``as_ordered_terms`` evaluates every constant factor numerically to break ties,
    which takes hours for sin(e^e^e^e); here only cheap constants (π, √2) are evaluated
    and any other constant is ordered by its structure.
    """
    coefficient, rest = term.as_coeff_Mul()
    value: Any = coefficient
    degrees = [sympy.S.Zero] * len(generators)
    constants: list[Any] = []
    for factor in sympy.Mul.make_args(rest) if rest is not sympy.S.One else ():
        known = _bounded_value(factor) if factor.is_number else None
        if known is not None:
            value = value * known
        elif factor.is_number:
            constants.append(sympy.default_sort_key(factor))
        else:
            base, exponent = _power_parts(factor)
            degrees[generators[base]] = exponent
    return (tuple(-d for d in degrees), (), (False, value), tuple(constants))


def _power_parts(factor: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """(base, exponent) of a factor as sympy's ``decompose_power`` splits it (x³ → (x, 3))."""
    base, exponent = decompose_power(factor)
    return base, sympy.Integer(exponent)


#: The sums and products the user typed, as typed and as sympy evaluates them: each with its
#: terms or factors in the order typed (set by :func:`typed_order` while a solution is rendered).
_TYPED_ORDER: ContextVar[Mapping[sympy.Expr, tuple[sympy.Expr, ...]]] = ContextVar(
    "chainsolve_typed_order", default=MappingProxyType({})
)


@contextmanager
def typed_order(typed: Iterable[sympy.Expr]) -> Iterator[None]:
    """Inside the block, a sum or product typed in one of the ``typed`` expressions prints in
    the order typed.

    ``w*x + b - y`` stays ``w·x + b - y`` wherever that sum appears (the echo, an intermediate,
    a result's factor), not sympy's ``b + w·x - y``; ``(1 - y)*log(1 - p)`` stays
    ``(1 - y)·ln(1 - p)``. Only a sum (product) whose evaluated terms (factors) are the typed
    ones themselves qualifies (``x + x`` evaluates to ``2x``: no typed order is left).
    """
    orders: dict[sympy.Expr, tuple[sympy.Expr, ...]] = {}
    for expr in typed:
        # In reading order (deterministic): the user's text bounds its size.
        for node in sympy.preorder_traversal(expr):
            if not isinstance(node, (sympy.Add, sympy.Mul)) or node in orders:
                continue
            kind = type(node)
            parts = tuple(evaluate_typed(arg) for arg in node.args)
            evaluated = kind(*parts)
            distinct = isinstance(evaluated, kind) and len(set(parts)) == len(parts)
            if distinct and set(kind.make_args(evaluated)) == set(parts):
                orders[node] = tuple(node.args)
                orders.setdefault(evaluated, parts)
    token = _TYPED_ORDER.set(MappingProxyType(orders))
    printed = _PRINTED.set({})
    try:
        yield
    finally:
        _PRINTED.reset(printed)
        _TYPED_ORDER.reset(token)


#: Each expression's text in each printed form, kept while one typed order holds (one render):
#: the text depends only on the expression and the typed order, and a solution prints the same
#: symbols and factors many times (a derivative's variables in every line that names it).
_PRINTED: ContextVar[dict[tuple[str, type, object], str] | None] = ContextVar(
    "chainsolve_printed", default=None
)


def _printed(form: str, expr: object, print_expr: Callable[[sympy.Expr], str]) -> str:
    """``print_expr`` of ``expr``, computed once per expression and form inside :func:`typed_order`.

    The key holds the type: ``1``, ``1.0`` and ``True`` are equal in Python but print apart.
    """
    memo = _PRINTED.get()
    if memo is None:
        return print_expr(sympy.sympify(expr))
    return _remembered(memo, (form, type(expr), expr), lambda: print_expr(sympy.sympify(expr)))


def _remembered(
    memo: dict[tuple[str, type, object], str],
    key: tuple[str, type, object],
    print_text: Callable[[], str],
) -> str:
    """The text ``memo`` holds for ``key``, printed (and kept) the first time it is asked for."""
    try:
        return memo[key]
    except KeyError:
        text = memo[key] = print_text()
        return text
    except TypeError:  # an unhashable expression (a mutable matrix): printed each time
        return print_text()


def ordered_terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """The terms of a sum in the order people write them, without evaluating any costly constant.

    The one rule of term order: a sum the user typed keeps the order typed (:func:`typed_order`);
    any other follows sympy's order (higher powers first, then by name), except that a sum
    with a positive term never opens with a minus sign: its positive terms come first, then
    its negative ones, each group in sympy's order. So ``z - y``, ``x - m``, ``1 - x²`` and
    ``σ(b + w·x) - y``, but still ``x³ + 2x² - x + 5``.
    """
    typed = _TYPED_ORDER.get().get(expr)
    if typed is not None:
        return list(typed)
    terms = list(sympy.Add.make_args(expr))
    bases = {
        _power_parts(factor)[0]
        for term in terms
        for factor in sympy.Mul.make_args(term.as_coeff_Mul()[1])
        if not factor.is_number
    }
    generators = {
        base: index for index, base in enumerate(sorted(bases, key=sympy.default_sort_key))
    }
    ordered = sorted(terms, key=lambda term: _term_key(term, generators))
    if ordered and _is_negative_term(ordered[0]):
        positive = [term for term in ordered if not _is_negative_term(term)]
        negative = [term for term in ordered if _is_negative_term(term)]
        return positive + negative
    return ordered


def _is_negative_term(term: sympy.Expr) -> bool:
    """A term printed with a minus sign in front: ``-y``, ``-2x``, ``-sin(x)``, ``-1``."""
    return bool(term.as_coeff_Mul()[0].is_negative)


def ordered_factors(product: sympy.Expr) -> list[sympy.Expr]:
    """The factors of a product in the order people write them: the one rule of factor order.

    sympy's order (symbols and their powers, then function values), except that sums and
    their powers, which print in parentheses, come after every other factor: ``σ(u)·(1 - σ(u))``
    as the derivative of sigmoid is stated, ``2x·σ(u)·(σ(u) - y)``. The number in front stays
    in front. A product the user typed keeps the order typed (:func:`typed_order`), after its
    number.
    """
    factors = list(sympy.Mul.make_args(product))
    typed = _TYPED_ORDER.get().get(product) if len(factors) > 1 else None
    if typed is not None:
        return sorted(typed, key=lambda factor: not factor.is_Number)
    if len(factors) > 1:
        factors = list(product.as_ordered_factors())
    return sorted(factors, key=_is_parenthesised_factor)


def _is_parenthesised_factor(factor: sympy.Expr) -> bool:
    """A sum, or a power of a sum: printed in parentheses inside a product."""
    base = factor.base if isinstance(factor, sympy.Pow) else factor
    return isinstance(base, sympy.Add)


def _one_sum_factor(product: sympy.Expr) -> bool:
    """Does ``product`` have exactly one sum factor, with terms of both signs (y - 1, not x + 1)?

    Negating such a sum only swaps its terms round, so a minus in front can go into it.
    """
    sums = [f for f in sympy.Mul.make_args(product) if isinstance(f, sympy.Add)]
    if len(sums) != 1:
        return False
    signs = {_is_negative_term(term) for term in sums[0].args}
    return signs == {True, False}


def _all_negative_sum_factor(product: sympy.Expr) -> bool:
    """Does ``product`` have exactly one sum factor, all of whose terms are negative (-x - 1)?"""
    sums = [f for f in sympy.Mul.make_args(product) if isinstance(f, sympy.Add)]
    return len(sums) == 1 and all(_is_negative_term(term) for term in sums[0].args)


def _negate_the_sum(product: sympy.Expr) -> sympy.Expr:
    """``product`` with its one sum factor negated (y - 1 → 1 - y), left unevaluated."""
    factors = [
        sympy.Add(*(-term for term in f.args)) if isinstance(f, sympy.Add) else f
        for f in sympy.Mul.make_args(product)
    ]
    return sympy.Mul(*factors, evaluate=False)


class StructuralOrder:
    """Printer mixin: sums print their terms in :func:`ordered_terms` order."""

    def _as_ordered_terms(self, expr: sympy.Expr, order: str | None = None) -> list[sympy.Expr]:
        return ordered_terms(expr)


class _FactorOrder:
    """Printer mixin for sympy's LaTeX and MathML printers: products in :func:`ordered_factors` order.

    Those printers sort a product's factors themselves unless their ``order`` setting says
    to keep the order given (``keep``), so the product is handed over unevaluated, already
    in order. A minus sign in front is printed by ``_with_minus`` before the product it
    negates; a fraction whose numerator needs reordering is printed by ``_fraction`` from
    its numerator and denominator, each printed in order.
    """

    keep: str
    _settings: dict[str, Any]

    def _with_minus(self, printed: Any) -> Any:
        raise NotImplementedError

    def _fraction(self, numerator: Any, denominator: Any) -> Any:
        raise NotImplementedError

    def _print_Mul(self, expr: sympy.Expr) -> Any:
        factors = ordered_factors(expr)
        if factors[0].is_Number and factors[0].is_negative:
            negated = -expr
            if isinstance(negated, sympy.Add):
                # -(a + b) typed: the sum keeps its brackets (-a + b would be another number).
                bracketed = self.parenthesize(negated, PRECEDENCE["Mul"], strict=False)  # type: ignore[attr-defined]
                return self._with_minus(bracketed)
            return self._with_minus(self._print(negated))  # type: ignore[attr-defined]
        if any(f.is_Pow and f.exp.is_Rational and f.exp.is_negative for f in factors):
            numerator, denominator = sympy.fraction(expr)
            if isinstance(numerator, sympy.Mul) and ordered_factors(numerator) != list(
                numerator.as_ordered_factors()
            ):
                return self._fraction(self._print(numerator), self._print(denominator))  # type: ignore[attr-defined]
            return super()._print_Mul(expr)  # type: ignore[misc]
        if factors == list(expr.as_ordered_factors()):
            return super()._print_Mul(expr)  # type: ignore[misc]
        sorting = self._settings["order"]
        self._settings["order"] = self.keep
        try:
            return super()._print_Mul(sympy.Mul(*factors, evaluate=False))  # type: ignore[misc]
        finally:
            self._settings["order"] = sorting


class UnicodePrinter(StructuralOrder, StrPrinter):
    """One-line terminal maths: ``2x·cos(x²)``, ``√(1 - x²)``, ``σ(x)``, ``|x|``, ``f′(g(x))``."""

    printmethod = "_chainsolve_unicode"

    def _print(self, expr: Any, **kwargs: Any) -> str:
        # A part prints the same wherever it stands: a parent brackets it around the part's
        # text, and a Float's trailing zeros depend only on its being a part (sympy's
        # _print_level). So each part is printed once a render (inside typed_order), as the
        # whole expressions are; steps repeat parts (x², cos(x²)) in many lines.
        memo = _PRINTED.get()
        if kwargs or memo is None or self._print_level == 0:
            return str(super()._print(expr, **kwargs))
        key = ("unicode part", type(expr), expr)
        return _remembered(memo, key, lambda: str(super(UnicodePrinter, self)._print(expr)))

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return unicode_name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_Adjoint(self, expr: Adjoint) -> str:
        return adjoint_unicode(expr.node)

    def _print_Pi(self, expr: sympy.Expr) -> str:
        return "π"

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "e"

    def _print_Infinity(self, expr: sympy.Expr) -> str:
        return "∞"

    def _print_NegativeInfinity(self, expr: sympy.Expr) -> str:
        return "-∞"

    def _print_ImaginaryUnit(self, expr: sympy.Expr) -> str:
        return "i"

    def _print_Abs(self, expr: sympy.Expr) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_exp(self, expr: sympy.Expr) -> str:
        exponent = expr.args[0]
        text = self._print(exponent)
        if (
            exponent.is_Symbol
            or exponent.is_NumberSymbol
            or (exponent.is_Integer and exponent >= 0)
        ):
            return f"e^{text}"
        return f"e^({text})"

    def _print_Heaviside(self, expr: sympy.Expr) -> str:
        # Not H(x): read back, H would be an unknown function. The value at 0 is printed too:
        # relu′ is Heaviside(x, 0), and Heaviside(x) alone reads back as 1/2 at 0.
        return f"Heaviside({self.stringify(expr.args, ', ')})"

    def _print_Function(self, expr: sympy.Expr) -> str:
        name = (
            unicode_name(str(expr.func.__name__))
            if isinstance(expr, AppliedUndef)
            else printed_name(expr.func)
        )
        return f"{name}({self.stringify(expr.args, ', ')})"

    def _print_Pow(self, expr: sympy.Expr, rational: bool = False) -> str:
        base, exponent = expr.args
        if exponent == sympy.S.Half:
            return self._root(base)
        if exponent.is_Rational and exponent.is_negative:
            denominator = self._print(_reciprocal(expr))
            if not _reads_whole_beside_a_slash(denominator):
                denominator = f"({denominator})"
            return f"1/{denominator}"
        base_text = str(self.parenthesize(base, PRECEDENCE["Pow"], strict=False))
        if base.is_Function and not isinstance(base, sympy.Abs):
            base_text = self._print(base)  # cos(x)², not (cos(x))²
        if isinstance(base, sympy.log):
            base_text = f"({base_text})"  # (ln(x))²: ln(x)² is read as ln(x²) by some
        if not _is_atomic_text(base_text):
            base_text = f"({base_text})"  # (e^x)², never e^x², which reads as e^(x²)
        if exponent.is_Integer:
            return base_text + str(exponent.p).translate(_SUPERSCRIPTS)
        exponent_text = self._print(exponent)
        if not (exponent.is_Symbol or exponent.is_NumberSymbol or exponent.is_Integer):
            exponent_text = f"({exponent_text})"
        return f"{base_text}^{exponent_text}"

    def _root(self, radicand: sympy.Expr) -> str:
        text = self._print(radicand)
        if radicand.is_Symbol or radicand.is_Integer:
            return f"√{text}"
        return f"√({text})"

    def _factor_text(self, factor: sympy.Expr) -> str:
        return str(self.parenthesize(factor, PRECEDENCE["Mul"], strict=False))

    def _join_factors(self, coefficient: str, factors: Sequence[sympy.Expr]) -> str:
        """A coefficient next to the first factor (``2x``), the other factors joined by ``·``."""
        texts = [self._factor_text(f) for f in factors]
        joined = "·".join(texts)
        if not coefficient:
            return joined or "1"
        if not joined:
            return coefficient
        if joined[0].isdigit() or joined[0] in ".|":
            return f"{coefficient}·{joined}"  # 2·|x|: after 2|, a bar could not be read back
        return coefficient + joined

    def _print_Mul(self, expr: sympy.Expr) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        sign = ""
        if coefficient == -1 and _one_sum_factor(rest):
            # -(y - 1)/(1 - p) is written (1 - y)/(1 - p): the minus goes into the one sum.
            coefficient, rest = sympy.S.One, _negate_the_sum(rest)
        elif _all_negative_sum_factor(rest):
            # x·(-x - 1) is written -x·(x + 1): the minus comes out in front.
            coefficient, rest = -coefficient, _negate_the_sum(rest)
        if coefficient.is_negative:
            sign, coefficient = "-", -coefficient
        numerator: list[sympy.Expr] = []
        denominator: list[sympy.Expr] = []
        for factor in ordered_factors(rest):
            if factor.is_Pow and factor.exp.is_Rational and factor.exp.is_negative:
                denominator.append(_reciprocal(factor))
            else:
                numerator.append(factor)
        if coefficient.is_Rational:
            top = "" if coefficient.p == 1 else str(coefficient.p)
            bottom = "" if coefficient.q == 1 else str(coefficient.q)
        else:
            top, bottom = ("" if coefficient == 1 else self._print(coefficient)), ""
        top_text = self._join_factors(top, numerator)
        if not denominator and not bottom:
            return sign + top_text
        if len(denominator) + bool(bottom) == 1:
            bottom_text = (
                self._join_factors(bottom, denominator) if bottom else self._print(denominator[0])
            )  # parenthesised below only when needed
        else:
            # 2√x written next to each other would read as (x/2)·√x after a slash.
            bottom_text = f"({self._join_factors(bottom, denominator)})"
        if not _reads_whole_beside_a_slash(top_text):
            top_text = f"({top_text})"
        # Not "starts with (": "(x²)² + 1" does, and still needs its parentheses.
        if not _reads_whole_beside_a_slash(bottom_text):
            bottom_text = f"({bottom_text})"
        return f"{sign}{top_text}/{bottom_text}"

    def _print_Derivative(self, expr: sympy.Expr) -> str:
        function = expr.expr
        variables = expr.variables
        slot_form = slot_form_of(expr)
        if slot_form is not None:
            return self._print_Subs(slot_form)
        if differentiates_slots(expr):
            args = f"({self.stringify(function.args, ', ')})"
            if len(function.args) == 1 and len(variables) <= 3:
                return _applied_name(function) + unicode_primes(len(variables)) + args
            order = len(variables)
            top = "∂" if order == 1 else f"∂{str(order).translate(_SUPERSCRIPTS)}"
            bottom = "".join(
                f"∂{self._print(v)}{str(int(n)).translate(_SUPERSCRIPTS) if n > 1 else ''}"
                for v, n in expr.variable_count
            )
            return f"{top}{_applied_name(function)}/{bottom}{args}"
        d = "∂" if len(expr.expr.free_symbols) > 1 else "d"
        # d²/dx²(…), not d/dxdx(…): the order on the d and on each variable's power
        order = len(variables)
        top = d if order == 1 else f"{d}{str(order).translate(_SUPERSCRIPTS)}"
        bottom = "".join(
            f"{d}{self._print(v)}{str(int(n)).translate(_SUPERSCRIPTS) if n > 1 else ''}"
            for v, n in expr.variable_count
        )
        return f"{top}/{bottom}({self._print(function)})"

    def _print_Subs(self, expr: sympy.Expr) -> str:
        inner, old, new = expr.args
        evaluated = _derivative_at(expr)
        if evaluated is not None:
            function, values, slots, order = evaluated
            joined = ", ".join(self._print(v) for v in values)
            if len(values) == 1:
                return f"{_applied_name(function)}{'′' * order}({joined})"
            indices = "".join(str(slot).translate(_SUBSCRIPTS) for slot in slots)
            return f"∂{indices}{_applied_name(function)}({joined})"
        pairs = ", ".join(
            f"{self._print(o)} = {self._print(n)}" for o, n in zip(old, new, strict=True)
        )
        return f"({self._print(inner)})|_{{{pairs}}}"


#: Names sympy prints as LaTeX commands that are not functions of one argument in pdflatex.
_NOT_LATEX_FUNCTIONS = frozenset({"frac", "root", "re", "im", "sqrt"})


def _latex_name(name: str) -> str:
    r"""One piece of a variable name in LaTeX: a Greek letter's command, else the letters as written.

    >>> _latex_name("theta"), _latex_name("xhat"), _latex_name("Lamda")
    ('\\theta', 'xhat', '\\Lambda')
    """
    greek = tex_greek_dictionary.get(name)
    if greek:
        return str(greek)
    if name.lower() in GREEK and name.lower() != "lamda":
        return "\\" + name.lower()
    if len(name) > LATEX_NAME_LIMIT:
        return _shortened_name(name)
    return name


#: Letters of a name LaTeX prints in full: TeX cannot measure a line longer than 16,384 pt, and
#: a name of ~1,500 letters used twice in one equation is that long (pdflatex stops).
LATEX_NAME_LIMIT = 40


def _shortened_name(name: str) -> str:
    r"""A very long name cut in the middle, with a digest so that two cut names still differ.

    >>> _shortened_name("a" * 3000)
    'aaaaaaaaaaaaaaaa\\ldots{}aaaaaaaa\\langle\\mathrm{3000\\,556a}\\rangle'
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:4]
    return rf"{name[:16]}\ldots{{}}{name[-8:]}\langle\mathrm{{{len(name)}\,{digest}}}\rangle"


#: Functions whose LaTeX writes a power after the argument (|x|^{x}, H(x)^{2}, σ(x)^{x}):
#: never the sin²(x) notation, so their powers need no parentheses.
_EXPONENT_AFTER_ARGUMENT = (sympy.Abs, sympy.Heaviside, Activation)


def fenced_power_base(base: sympy.Expr, exponent: sympy.Expr) -> bool:
    """Whether the LaTeX and MathML of ``base**exponent`` put the base in parentheses.

    The textbook ``sin²(x)`` means (sin x)² only for a positive whole exponent of a named
    function; ``sin^{cos x}(x)`` or ``sin^{3/2}(x)`` have no such reading, and ``f²(x)`` of an
    unknown function reads as f(f(x)). ln is fenced even then: ``ln²x`` is read as ln(x²). A
    power of e^x or of a power is fenced, as stacked superscripts blur which is which.

    A negative or root exponent is left to sympy, which writes a fraction or a root.

    >>> x = sympy.Symbol("x")
    >>> fenced_power_base(sympy.sin(x), sympy.Integer(2)), fenced_power_base(sympy.sin(x), x)
    (False, True)
    """
    if exponent.is_Rational and (exponent.is_negative or (abs(exponent.p) == 1 and exponent != 1)):
        return False
    if isinstance(base, (sympy.exp, sympy.Pow)):
        return True
    if not isinstance(base, sympy.Function) or isinstance(base, _EXPONENT_AFTER_ARGUMENT):
        return False
    whole = bool(exponent.is_Integer and exponent > 0)
    return not whole or isinstance(base, (sympy.log, AppliedUndef))


class ChainsolveLatexPrinter(_FactorOrder, StructuralOrder, LatexPrinter):
    """sympy's LaTeX with our names: ``\\ln``, ``\\sigma``, ``H(x)``, ``f'(g)`` for ``Subs``."""

    keep = "none"

    def __init__(self) -> None:
        super().__init__({"ln_notation": True})

    def _split_super_sub(self, name: str) -> tuple[str, list[str], list[str]]:
        # sympy reads name endings as accents (xhat, xdot, xprime, xscr: \mathscr needs a
        # package); a name is printed as written, Greek letters aside, like the text output.
        if "{" in name:
            return name, [], []
        base, supers, subs = split_super_sub(name)
        return _latex_name(base), [_latex_name(s) for s in supers], [_latex_name(s) for s in subs]

    def _print_Adjoint(self, expr: Adjoint) -> str:
        return adjoint_latex(expr.node)

    def _hprint_Function(self, func: str) -> str:
        # An unknown function named like a LaTeX command that is no function (\frac, \root)
        # or does not exist (\re, \im) is an operator name, not that command.
        if func in _NOT_LATEX_FUNCTIONS:
            return rf"\operatorname{{{func}}}"
        return str(super()._hprint_Function(func))

    def _print_Pow(self, expr: sympy.Expr) -> str:
        base, exponent = expr.args
        if fenced_power_base(base, exponent):
            return rf"\left({self._print(base)}\right)^{{{self._print(exponent)}}}"
        return str(super()._print_Pow(expr))

    def _with_minus(self, printed: str) -> str:
        return f"- {printed}"

    def _fraction(self, numerator: str, denominator: str) -> str:
        return rf"\frac{{{numerator}}}{{{denominator}}}"

    def _print_Heaviside(self, expr: sympy.Expr, exp: str | None = None) -> str:
        text = rf"H\left({self._print(expr.args[0])}\right)"
        return f"{text}^{{{exp}}}" if exp else text

    def _lagrange(self, function: sympy.Expr, order: int, values: Sequence[sympy.Expr]) -> str:
        args = ", ".join(self._print(v) for v in values)
        primes = "'" * order
        return rf"{self._print(sympy.Symbol(function.func.__name__))}{primes}\left({args}\right)"

    def _print_Derivative(self, expr: sympy.Expr) -> str:
        function = expr.expr
        slot_form = slot_form_of(expr)
        if slot_form is not None:
            return self._print_Subs(slot_form)
        if differentiates_slots(expr) and len(function.args) == 1 and len(expr.variables) <= 3:
            return self._lagrange(function, len(expr.variables), function.args)
        return str(super()._print_Derivative(expr))

    def _print_Subs(self, expr: sympy.Expr) -> str:
        evaluated = _derivative_at(expr)
        if evaluated is not None and len(evaluated[1]) == 1:
            function, values, _, order = evaluated
            return self._lagrange(function, order, values)
        if evaluated is not None:
            function, values, slots, _ = evaluated
            joined = ", ".join(self._print(v) for v in values)
            indices = ",".join(str(slot) for slot in slots)
            name = self._print(sympy.Symbol(function.func.__name__))
            return rf"\partial_{{{indices}}} {name}\left({joined}\right)"
        return str(super()._print_Subs(expr))


class ChainsolveMathMLPrinter(_FactorOrder, StructuralOrder, MathMLPresentationPrinter):
    """sympy's presentation MathML with ``ln``, ``σ`` and ``H`` names like the other formats."""

    keep = "old"

    def __init__(self) -> None:
        super().__init__({"ln_notation": True})

    def doprint(self, expr: sympy.Expr) -> str:
        """The MathML of ``expr``, tidied for reading (:func:`_tidy_mathml`)."""
        node = self._print(expr)
        _tidy_mathml(node)
        return str(node.toxml().encode("ascii", "xmlcharrefreplace").decode())

    def _print_Adjoint(self, expr: Adjoint) -> Any:
        over = self.dom.createElement("mover")
        over.appendChild(self._print(sympy.Symbol(expr.node)))
        bar = self.dom.createElement("mo")
        bar.setAttribute("stretchy", "true")
        bar.appendChild(self.dom.createTextNode("¯"))
        over.appendChild(bar)
        return over

    def _print_Pow(self, expr: sympy.Expr) -> Any:
        base, exponent = expr.args
        if not fenced_power_base(base, exponent):
            return super()._print_Pow(expr)
        fenced = self.dom.createElement("mrow")
        for part in ("(", base, ")"):
            if isinstance(part, str):
                mo = self.dom.createElement("mo")
                mo.appendChild(self.dom.createTextNode(part))
                fenced.appendChild(mo)
            else:
                fenced.appendChild(self._print(part))
        power = self.dom.createElement("msup")
        power.appendChild(fenced)
        power.appendChild(self._print(exponent))
        return power

    def _fraction(self, numerator: Any, denominator: Any) -> Any:
        fraction = self.dom.createElement("mfrac")
        fraction.appendChild(numerator)
        fraction.appendChild(denominator)
        return fraction

    def _with_minus(self, printed: Any) -> Any:
        mrow = self.dom.createElement("mrow")
        minus = self.dom.createElement("mo")
        minus.appendChild(self.dom.createTextNode("-"))
        mrow.appendChild(minus)
        mrow.appendChild(printed)
        return mrow

    def _print_Function(self, expr: sympy.Expr) -> Any:
        name = str(expr.func.__name__)
        args = expr.args[:1] if name == "Heaviside" else expr.args
        mi = self.dom.createElement("mi")
        if isinstance(expr, AppliedUndef) and "_" in name:
            # f_uv(u, v), a partial derivative in subscript notation: the name as a symbol's.
            mrow = self.dom.createElement("mrow")
            mrow.appendChild(self._print(sympy.Symbol(name)))
            mrow.appendChild(self._paren_comma_separated(*args))
            return mrow
        if isinstance(expr, AppliedUndef):
            return super()._print_Function(expr)
        mi.appendChild(self.dom.createTextNode(printed_name(expr.func)))
        mrow = self.dom.createElement("mrow")
        mrow.appendChild(mi)
        mrow.appendChild(self._paren_comma_separated(*args))
        return mrow

    _print_Heaviside = _print_Function

    def _print_Derivative(self, expr: sympy.Expr) -> Any:
        function = expr.expr
        slot_form = slot_form_of(expr)
        if slot_form is not None:
            return self._print_Subs(slot_form)
        if differentiates_slots(expr) and len(function.args) == 1:
            return self._lagrange(function, len(expr.variables), function.args)
        return super()._print_Derivative(expr)

    def _print_Subs(self, expr: sympy.Expr) -> Any:
        evaluated = _derivative_at(expr)
        if evaluated is not None and len(evaluated[1]) == 1:
            function, values, _, order = evaluated
            return self._lagrange(function, order, values)
        if evaluated is not None:
            # ∂₁f(a, b): the partial derivative by the first slot, evaluated at (a, b).
            function, values, slots, _ = evaluated
            indices = ",".join(str(slot) for slot in slots)
            partial = self.dom.createElement("msub")
            d = self.dom.createElement("mi")
            d.setAttribute("mathvariant", "normal")
            d.appendChild(self.dom.createTextNode("∂"))
            index = self.dom.createElement("mn")
            index.appendChild(self.dom.createTextNode(indices))
            partial.appendChild(d)
            partial.appendChild(index)
            mrow = self.dom.createElement("mrow")
            mrow.appendChild(partial)
            mrow.appendChild(self._print(sympy.Symbol(function.func.__name__)))
            mrow.appendChild(self._paren_comma_separated(*values))
            return mrow
        mtext = self.dom.createElement("mtext")
        mtext.appendChild(self.dom.createTextNode(unicode_expr(expr)))
        return mtext

    def parenthesize(self, item: sympy.Expr, level: int, strict: bool = False) -> Any:
        # g′(t) and ∂₁f(a, b) read as function values: no parentheses around them in a product.
        if isinstance(item, (sympy.Derivative, sympy.Subs)) and isinstance(
            getattr(item, "expr", None), (AppliedUndef, sympy.Derivative)
        ):
            return self._print(item)
        return super().parenthesize(item, level, strict)

    def _lagrange(self, function: sympy.Expr, order: int, values: Sequence[sympy.Expr]) -> Any:
        # The prime glyph is already raised: an <msup> would lift it a second time.
        primes = self.dom.createElement("mo")
        primes.setAttribute("lspace", "0")
        primes.setAttribute("rspace", "0")
        primes.appendChild(self.dom.createTextNode("′" * order))
        mrow = self.dom.createElement("mrow")
        mrow.appendChild(self._print(sympy.Symbol(function.func.__name__)))
        mrow.appendChild(primes)
        mrow.appendChild(self._paren_comma_separated(*values))
        return mrow


#: sympy's named entities whose HTML character is not what a reader expects: e and i are
#: plain letters (not the double-struck ⅇ and ⅈ), d of an integral a plain d.
_PLAIN_ENTITIES = MappingProxyType({"ExponentialE": "e", "ImaginaryI": "i", "dd": "d"})

_NAMED_ENTITY = re.compile(r"&([A-Za-z]+);")
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9A-Fa-fx]+;)")


def _plain_text(text: str) -> str:
    """sympy's raw MathML text as escaped XML text: named entities as characters."""
    from html.entities import html5

    def character(match: re.Match[str]) -> str:
        name = match[1]
        return _PLAIN_ENTITIES.get(name) or html5.get(f"{name};", match[0])

    text = _NAMED_ENTITY.sub(character, text)
    # sympy writes its text unescaped (x < 1 as <mo><</mo>): escape it, numeric references kept.
    return _BARE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


#: The hyphen sympy writes for minus, as the minus sign (U+2212) a reader expects.
MINUS = "−"


def _text_of(node: Any) -> str:
    return "".join(child.data for child in node.childNodes if child.nodeType == child.TEXT_NODE)


def _is_operator(node: Any, text: str) -> bool:
    return getattr(node, "tagName", None) == "mo" and _text_of(node) == text


def _holds_fraction(node: Any) -> bool:
    return bool(node.getElementsByTagName("mfrac"))


def _tidy_mathml(node: Any) -> None:
    """Entities as plain characters, − for minus, and parentheses that hug what they enclose.

    Chromium draws stretchy parentheses with gaps (``cos ( t )``) and sets a square on
    them apart (``cos(t) ²``); they stretch only around a fraction, where they must be tall.
    """
    for child in node.childNodes:
        if child.nodeType == child.TEXT_NODE:
            text = _plain_text(child.data)
            if text == "-" and node.tagName == "mo":
                text = MINUS
            elif text.startswith("-") and node.tagName == "mn":
                text = MINUS + text[1:]
            child.data = text
            continue
        _tidy_mathml(child)
    children = [child for child in node.childNodes if child.nodeType == child.ELEMENT_NODE]
    if (
        len(children) >= 2
        and _is_operator(children[0], "(")
        and _is_operator(children[-1], ")")
        and not _holds_fraction(node)
    ):
        children[0].setAttribute("stretchy", "false")
        children[-1].setAttribute("stretchy", "false")


def unicode_expr(expr: sympy.Expr) -> str:
    """One-line terminal Unicode for an expression.

    >>> x = sympy.Symbol("x")
    >>> unicode_expr(2 * x * sympy.cos(x**2)), unicode_expr(sympy.sqrt(1 - x**2))
    ('2x·cos(x²)', '√(1 - x²)')
    """
    return _printed("unicode", expr, _unicode_text)


def _unicode_text(expr: sympy.Expr) -> str:
    return str(UnicodePrinter().doprint(expr))


def latex_expr(expr: sympy.Expr) -> str:
    r"""LaTeX for an expression, with our names (``u_{1}``, ``\theta``, ``\sigma``, ``\ln``).

    >>> latex_expr(sympy.Symbol("u_1") ** 2)
    'u_{1}^{2}'
    """
    return _printed("latex", expr, _latex_text)


def _latex_text(expr: sympy.Expr) -> str:
    return _tight_function_brackets(str(ChainsolveLatexPrinter().doprint(expr)))


def _tight_function_brackets(latex: str) -> str:
    r"""``\sin{\left(x \right)}`` as ``\sin\mathopen{}\left(x \right)``: no gap after the name.

    sympy braces the argument, which makes it an ordinary atom that TeX spaces away from an
    operator name; ``\mathopen{}`` keeps it close, as in ``\sin(x)``.

    >>> _tight_function_brackets(r"\sin{\left(\cos{\left(x \right)} \right)}")
    '\\sin\\mathopen{}\\left(\\cos\\mathopen{}\\left(x \\right) \\right)'
    """
    opening = r"{\left("
    closing = r"\right)}"
    drop: set[int] = set()
    tight: set[int] = set()
    stack: list[int] = []
    for index, char in enumerate(latex):
        if char == "{" and (index == 0 or latex[index - 1] != "\\"):
            stack.append(index)
        elif char == "}" and (index == 0 or latex[index - 1] != "\\") and stack:
            start = stack.pop()
            if latex.startswith(opening, start) and latex.endswith(closing, 0, index + 1):
                tight.add(start)
                drop.add(index)
    if not tight:
        return latex
    pieces = []
    for index, char in enumerate(latex):
        if index in tight:
            pieces.append(r"\mathopen{}")
        elif index not in drop:
            pieces.append(char)
    return "".join(pieces)


def mathml_expr(expr: sympy.Expr) -> str:
    """Presentation MathML (without the ``<math>`` element) for an expression."""
    return _printed("mathml", expr, _mathml_text)


def _mathml_text(expr: sympy.Expr) -> str:
    return str(ChainsolveMathMLPrinter().doprint(expr))


# --- formulas: Leibniz, Product, Sum, Quotient, Neg and plain expressions -------------------


def _needs_parens_in_product(formula: Formula, first: bool) -> bool:
    if isinstance(formula, Sum):
        return True
    if isinstance(formula, Neg):
        return not first
    if isinstance(formula, sympy.Expr):
        if formula.is_Add:
            return True
        return not first and bool(formula.could_extract_minus_sign())
    return False


def _split_sign(term: Formula) -> tuple[bool, Formula]:
    """(True, t) for a subtracted term ``-t`` of a sum, else (False, term).

    A product whose first factor is negative is subtracted too: ``a - 2r·sin(θ) · sin(θ)``,
    never ``a + -2r·sin(θ) · sin(θ)``.
    """
    if isinstance(term, Neg):
        return True, term.operand
    if isinstance(term, sympy.Expr) and term.could_extract_minus_sign():
        return True, -term
    if isinstance(term, Product) and term.factors:
        first, rest = term.factors[0], term.factors[1:]
        if isinstance(first, sympy.Expr) and not first.is_Add and first.could_extract_minus_sign():
            negated = -first
            return True, Product(rest if negated == 1 and rest else (negated, *rest))
    return False, term


def _is_sum_like(formula: Formula) -> bool:
    return isinstance(formula, Sum) or (isinstance(formula, sympy.Expr) and formula.is_Add)


def unicode_primes(order: int) -> str:
    """The primes of an order-n derivative as printed: ′ ″ ‴, then a raised (n) as in f⁽⁴⁾."""
    if order <= 3:
        return "′″‴"[order - 1]
    return "⁽" + str(order).translate(_SUPERSCRIPTS) + "⁾"


def _lagrange_of(formula: Leibniz, notation: Notation) -> tuple[str, sympy.Expr | None] | None:
    return formula.lagrange if notation == "lagrange" or formula.named else None


def _after_d(d: str, name: str, parens: str) -> str:
    """A variable's name after the operator d, in parentheses when it begins with d itself.

    A variable named d (or dx) would read dd/dt or dy/ddx: d(d)/dt and dy/d(dx) say which
    d is the operator. After ∂ nothing can be misread.
    """
    return parens.format(name) if d == "d" and name.startswith("d") else name


def _mathml_after_d(d: str, symbol: sympy.Expr) -> str:
    text = mathml_expr(symbol)
    return _fenced(text) if d == "d" and str(symbol).startswith("d") else text


def formula_unicode(formula: Formula, notation: Notation = "leibniz") -> str:
    """A step formula as one line of Unicode: ``dy/du₁``, ``∂z/∂x · ∂x/∂t``, ``f′(g(x))``.

    >>> x, u = sympy.Symbol("x"), sympy.Symbol("u_1")
    >>> y = sympy.Symbol("y")
    >>> formula_unicode(Product((Leibniz(y, u), Leibniz(u, x))))
    'dy/du₁ · du₁/dx'
    """
    if isinstance(formula, Leibniz):
        lagrange = _lagrange_of(formula, notation)
        if lagrange is not None:
            letter, argument = lagrange
            if argument is None and formula.partial:
                return f"{unicode_name(letter)}_{unicode_expr(formula.wrt)}"
            name = unicode_name(letter) + unicode_primes(formula.order)
            return name if argument is None else f"{name}({unicode_expr(argument)})"
        d = "∂" if formula.partial else "d"
        wrt = _after_d(d, unicode_expr(formula.wrt), "({})")
        if formula.mixed:
            n = str(1 + len(formula.mixed)).translate(_SUPERSCRIPTS)
            below = "".join(f"∂{unicode_expr(v)}" for v in (formula.wrt, *formula.mixed))
            return f"∂{n}{unicode_expr(formula.of)}/{below}"
        if isinstance(formula.of, sympy.Symbol):
            n = "" if formula.order == 1 else str(formula.order).translate(_SUPERSCRIPTS)
            return f"{d}{n}{_after_d(d, unicode_expr(formula.of), '({})')}/{d}{wrt}{n}"
        return f"{d}/{d}{wrt}({unicode_expr(formula.of)})"
    if isinstance(formula, Product):
        parts = []
        for index, factor in enumerate(formula.factors):
            text = formula_unicode(factor, notation)
            parts.append(f"({text})" if _needs_parens_in_product(factor, index == 0) else text)
        return ("·" if formula.tight else " · ").join(parts)
    if isinstance(formula, Sum):
        return _signed_terms(formula, lambda f: formula_unicode(f, notation), "({})")
    if isinstance(formula, Quotient):
        top = formula_unicode(formula.numerator, notation)
        bottom = formula_unicode(formula.denominator, notation)
        top = top if _reads_whole_beside_a_slash(top) else f"({top})"
        bottom = bottom if _reads_whole_beside_a_slash(bottom) else f"({bottom})"
        return f"{top}/{bottom}"
    if isinstance(formula, Neg):
        text = formula_unicode(formula.operand, notation)
        if _is_sum_like(formula.operand) or isinstance(formula.operand, Neg):
            text = f"({text})"
        return f"-{text}"
    return unicode_expr(formula)


def _signed_terms(formula: Sum, render: Callable[[Formula], str], parens: str) -> str:
    """A sum's terms joined with + and −, a subtracted sum wrapped by ``parens`` (text and LaTeX alike)."""
    pieces: list[str] = []
    for index, term in enumerate(formula.terms):
        negative, operand = _split_sign(term)
        if negative:
            text = render(operand)
            if _is_sum_like(operand):
                text = parens.format(text)
            pieces.append(f"-{text}" if index == 0 else f" - {text}")
        else:
            text = render(term)
            pieces.append(text if index == 0 else f" + {text}")
    return "".join(pieces)


def formula_latex(formula: Formula, notation: Notation = "leibniz") -> str:
    r"""A step formula as LaTeX: ``\frac{dy}{du_{1}}``, ``\frac{\partial z}{\partial x}``.

    >>> formula_latex(Leibniz(sympy.Symbol("z"), sympy.Symbol("x"), partial=True))
    '\\frac{\\partial z}{\\partial x}'
    """
    if isinstance(formula, Leibniz):
        lagrange = _lagrange_of(formula, notation)
        if lagrange is not None:
            letter, argument = lagrange
            if argument is None and formula.partial:
                return f"{{{latex_expr(sympy.Symbol(letter))}}}_{{{latex_expr(formula.wrt)}}}"
            name = latex_expr(sympy.Symbol(letter)) + "'" * formula.order
            return name if argument is None else rf"{name}\left({latex_expr(argument)}\right)"
        d = r"\partial " if formula.partial else "d"
        wrt = _after_d(d, latex_expr(formula.wrt), r"\left({}\right)")
        if formula.mixed:
            n = 1 + len(formula.mixed)
            below = " ".join(rf"\partial {latex_expr(v)}" for v in (formula.wrt, *formula.mixed))
            return rf"\frac{{\partial^{{{n}}} {latex_expr(formula.of)}}}{{{below}}}"
        if isinstance(formula.of, sympy.Symbol):
            of = _after_d(d, latex_expr(formula.of), r"\left({}\right)")
            if formula.order > 1:
                n = formula.order
                return rf"\frac{{{d.strip()}^{{{n}}} {of}}}{{{d}{wrt}^{{{n}}}}}"
            return rf"\frac{{{d}{of}}}{{{d}{wrt}}}"
        return rf"\frac{{{d.strip()}}}{{{d}{wrt}}}\left({latex_expr(formula.of)}\right)"
    if isinstance(formula, Product):
        parts = []
        for index, factor in enumerate(formula.factors):
            text = formula_latex(factor, notation)
            if _needs_parens_in_product(factor, index == 0):
                text = rf"\left({text}\right)"
            parts.append(text)
        return (" " if formula.tight else r" \cdot ").join(parts)
    if isinstance(formula, Sum):
        return _signed_terms(formula, lambda f: formula_latex(f, notation), r"\left({}\right)")
    if isinstance(formula, Quotient):
        top = formula_latex(formula.numerator, notation)
        bottom = formula_latex(formula.denominator, notation)
        return rf"\frac{{{top}}}{{{bottom}}}"
    if isinstance(formula, Neg):
        text = formula_latex(formula.operand, notation)
        if _is_sum_like(formula.operand) or isinstance(formula.operand, Neg):
            text = rf"\left({text}\right)"
        return f"-{text}"
    return latex_expr(formula)


_PRIME = '<mo lspace="0" rspace="0">′</mo>'


def _mo(text: str) -> str:
    # The three replacements of xml.sax.saxutils.escape, whose import costs ~14 ms (urllib, email).
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<mo>{MINUS if escaped == '-' else escaped}</mo>"


def _fenced(inner: str) -> str:
    # Parentheses stretch only around a fraction (see _tidy_mathml).
    if "<mfrac" in inner:
        return f"<mrow>{_mo('(')}{inner}{_mo(')')}</mrow>"
    return f'<mrow><mo stretchy="false">(</mo>{inner}<mo stretchy="false">)</mo></mrow>'


def formula_mathml(formula: Formula, notation: Notation = "leibniz") -> str:
    """A step formula as presentation MathML content (put it inside ``<math>``)."""
    if isinstance(formula, Leibniz):
        lagrange = _lagrange_of(formula, notation)
        if lagrange is not None:
            letter, argument = lagrange
            if argument is None and formula.partial:
                of, wrt = mathml_expr(sympy.Symbol(letter)), mathml_expr(formula.wrt)
                return f"<msub>{of}{wrt}</msub>"
            head = f"{mathml_expr(sympy.Symbol(letter))}{_PRIME * formula.order}"
            if argument is None:
                return head
            return f"<mrow>{head}{_fenced(mathml_expr(argument))}</mrow>"
        d = "∂" if formula.partial else "d"
        d_tag = f'<mi mathvariant="normal">{d}</mi>'
        wrt = _mathml_after_d(d, formula.wrt)
        if formula.mixed:
            power = f"<msup>{d_tag}<mn>{1 + len(formula.mixed)}</mn></msup>"
            below = "".join(f"{d_tag}{mathml_expr(v)}" for v in (formula.wrt, *formula.mixed))
            top = f"<mrow>{power}{mathml_expr(formula.of)}</mrow>"
            return f"<mfrac>{top}<mrow>{below}</mrow></mfrac>"
        if isinstance(formula.of, sympy.Symbol):
            top_d = d_tag
            if formula.order > 1:
                top_d = f"<msup>{d_tag}<mn>{formula.order}</mn></msup>"
                wrt = f"<msup>{wrt}<mn>{formula.order}</mn></msup>"
            top = f"<mrow>{top_d}{_mathml_after_d(d, formula.of)}</mrow>"
            return f"<mfrac>{top}<mrow>{d_tag}{wrt}</mrow></mfrac>"
        frac = f"<mfrac>{d_tag}<mrow>{d_tag}{wrt}</mrow></mfrac>"
        return f"<mrow>{frac}{_fenced(mathml_expr(formula.of))}</mrow>"
    if isinstance(formula, Product):
        parts = []
        for index, factor in enumerate(formula.factors):
            text = formula_mathml(factor, notation)
            parts.append(_fenced(text) if _needs_parens_in_product(factor, index == 0) else text)
        times = "" if formula.tight else _mo("·")
        return "<mrow>" + times.join(parts) + "</mrow>"
    if isinstance(formula, Sum):
        pieces: list[str] = []
        for index, term in enumerate(formula.terms):
            negative, operand = _split_sign(term)
            if negative:
                text = formula_mathml(operand, notation)
                pieces.append(_mo("-") + (_fenced(text) if _is_sum_like(operand) else text))
            else:
                text = formula_mathml(term, notation)
                pieces.append(text if index == 0 else _mo("+") + text)
        return "<mrow>" + "".join(pieces) + "</mrow>"
    if isinstance(formula, Quotient):
        top = formula_mathml(formula.numerator, notation)
        bottom = formula_mathml(formula.denominator, notation)
        return f"<mfrac><mrow>{top}</mrow><mrow>{bottom}</mrow></mfrac>"
    if isinstance(formula, Neg):
        text = formula_mathml(formula.operand, notation)
        if _is_sum_like(formula.operand) or isinstance(formula.operand, Neg):
            text = _fenced(text)
        return f"<mrow>{_mo('-')}{text}</mrow>"
    return mathml_expr(formula)


# --- equality chains and definitions --------------------------------------------------------


def _distinct(texts: Iterable[str]) -> list[str]:
    """Printed sides without one that repeats the side before it.

    In Lagrange notation d/dx(g(x)) = g′(x) prints g′(x) = g′(x); the repeat says nothing.
    """
    kept: list[str] = []
    for text in texts:
        if not kept or kept[-1] != text:
            kept.append(text)
    return kept


def chain_unicode(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain ``a = b = c`` in one line of Unicode."""
    return " = ".join(_distinct(formula_unicode(side, notation) for side in sides))


def chain_latex(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain ``a = b = c`` in LaTeX (inline, no alignment marks)."""
    return " = ".join(_distinct(formula_latex(side, notation) for side in sides))


def chain_latex_aligned(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    r"""An equality chain for ``align*``: the first side, then ``&= …`` one per line."""
    if not sides:
        return ""
    first, *rest = _distinct(formula_latex(side, notation) for side in sides)
    if not rest:
        return first
    return first + " &= " + (" \\\\\n  &= ".join(rest))


def chain_mathml(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain as MathML content."""
    texts = _distinct(formula_mathml(side, notation) for side in sides)
    return "<mrow>" + _mo("=").join(texts) + "</mrow>"


def math_element(content: str, display: bool = False) -> str:
    """Wrap MathML content in ``<math>``; ``display`` makes it a block with full-size fractions."""
    attribute = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{attribute}>{content}</math>'


def shown_definitions(
    step: Step, notation: Notation = "leibniz"
) -> tuple[tuple[sympy.Expr, sympy.Expr], ...]:
    """A step's ``name = expr`` lines; in Lagrange notation also the letters its chain uses."""
    extra = step.lagrange_definitions if notation == "lagrange" else ()
    return step.definitions + extra


def definition_unicode(name: sympy.Expr | str, expr: sympy.Expr) -> str:
    """A definition ``u₁ = x²`` in Unicode."""
    symbol = sympy.Symbol(name) if isinstance(name, str) else name
    return f"{unicode_expr(symbol)} = {unicode_expr(expr)}"


def definition_latex(name: sympy.Expr | str, expr: sympy.Expr) -> str:
    """A definition ``u_{1} = x^{2}`` in LaTeX."""
    symbol = sympy.Symbol(name) if isinstance(name, str) else name
    return f"{latex_expr(symbol)} = {latex_expr(expr)}"


def definition_mathml(name: sympy.Expr | str, expr: sympy.Expr) -> str:
    """A definition ``u₁ = x²`` as MathML content."""
    symbol = sympy.Symbol(name) if isinstance(name, str) else name
    return f"<mrow>{mathml_expr(symbol)}{_mo('=')}{mathml_expr(expr)}</mrow>"


# --- displayed equations in HTML: rows aligned on "=", each side wrapping like text ---------

#: Operators a long side may break before, as text and LaTeX break a long line.
_BREAK_OPERATORS = frozenset({"=", "+", MINUS, "·"})

#: Between two pieces of a side: a line may break there (a zero-width space).
_BREAK_OPPORTUNITY = "&#8203;"


#: The invisible times sympy writes between factors (2x·cos x as 2⁢x⁢cos x).
_INVISIBLE_TIMES = "\u2062"


def _is_break(node: Any) -> bool:
    return getattr(node, "tagName", None) == "mo" and _text_of(node) in _BREAK_OPERATORS


def _breaks_before(children: list[Any], index: int) -> bool:
    """A line may break before ``children[index]``: an operator of the sum, the product or the
    chain, or an invisible times before a factor in parentheses (never inside ``2x``)."""
    child = children[index]
    if index == 0 or getattr(child, "tagName", None) != "mo" or index + 1 == len(children):
        return False
    if _text_of(child) == _INVISIBLE_TIMES:
        return children[index + 1].tagName not in ("mi", "mn")
    return _is_break(child)


def _elements(node: Any) -> list[Any]:
    return [child for child in node.childNodes if child.nodeType == child.ELEMENT_NODE]


def _pieces(node: Any) -> list[list[Any]]:
    """``node`` cut before its top-level ``+ − · =``, nested groupings (mrow) opened.

    The pieces, in order, are exactly the nodes of ``node``: only the grouping is dropped,
    never a parenthesis or an operator, so the maths printed is the same.
    """
    children = _elements(node)
    if node.tagName != "mrow" or not children:
        return [[node]]
    cuts = [index for index in range(len(children)) if _breaks_before(children, index)]
    if not cuts:
        return _pieces(children[0]) if len(children) == 1 else [[node]]
    groups: list[list[Any]] = [[]]
    for index, child in enumerate(children):
        if index in cuts:
            groups.append([])
        groups[-1].append(child)
    pieces: list[list[Any]] = []
    for index, group in enumerate(groups):
        if len(group) == 1:
            pieces += _pieces(group[0])
        elif len(group) == 2 and index > 0:
            inner = _pieces(group[1])
            pieces += [[group[0], *inner[0]], *inner[1:]]
        else:
            pieces.append(group)
    return pieces


def _inline_math(content: str) -> str:
    # Full-size fractions on the line, as in a displayed equation.
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" displaystyle="true">{content}</math>'


def _wrapping_side(content: str, lead: str = "") -> str:
    """A side (after the operator ``lead``) as inline ``<math>`` pieces wrapping like words."""
    from xml.dom import minidom

    root = minidom.parseString(f"<mrow>{content}</mrow>").documentElement
    pieces = _pieces(root)
    texts = []
    for index, piece in enumerate(pieces):
        if index and _is_break(piece[0]):
            # Alone at the start of its <math>, an operator would be read as a sign.
            piece[0].setAttribute("form", "infix")
        texts.append("".join(node.toxml() for node in piece))
    if lead:
        texts[0] = f'<mo form="infix">{lead}</mo>' + texts[0]
    return _BREAK_OPPORTUNITY.join(_inline_math(text) for text in texts)


def _equation_rows(rows: Sequence[tuple[str | None, str]]) -> str:
    """Rows ``left = right`` as a grid aligned on "=": the left cell, then "= right" wrapping."""
    cells = []
    for left, right in rows:
        left_cell = "" if left is None else _inline_math(left)
        cells.append(f'<span class="lhs">{left_cell}</span>')
        cells.append(f'<span class="rhs">{_wrapping_side(right, "=")}</span>')
    return '<div class="equation">' + "".join(cells) + "</div>"


def equation_html(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain as HTML: one row per "=", aligned, each side wrapping at its operators.

    The same breaks as ``chain_latex_aligned``; a side too wide for the page wraps before a
    ``+``, ``−`` or ``·`` instead of running off it (browsers do not break MathML lines).
    """
    printed = [formula_mathml(side, notation) for side in sides]
    if len(printed) == 1:
        return '<div class="equation single">' + _wrapping_side(printed[0]) + "</div>"
    rows = [(printed[0] if index == 0 else None, side) for index, side in enumerate(printed[1:])]
    return _equation_rows(rows)


def definitions_html(definitions: Sequence[Any]) -> str:
    """Definitions ``u₁ = x²`` (pairs, or objects with ``name`` and ``typed``) as one aligned grid."""
    rows = []
    for definition in definitions:
        # A problem's definitions are shown as typed; step definitions are (name, expr) pairs.
        name, expr = (
            definition if isinstance(definition, tuple) else (definition.name, definition.typed)
        )
        symbol = sympy.Symbol(name) if isinstance(name, str) else name
        rows.append((mathml_expr(symbol), mathml_expr(expr)))
    return _equation_rows(rows)


#: Unicode that step sentences use, as LaTeX that pdflatex typesets without extra packages.
_LATEX_UNICODE = MappingProxyType(
    {
        "→": r"\ensuremath{\to}",
        "←": r"\ensuremath{\leftarrow}",
        "·": r"\ensuremath{\cdot}",
        "∂": r"\ensuremath{\partial}",
        "′": r"\ensuremath{'}",
        "″": r"\ensuremath{''}",
        "‴": r"\ensuremath{'''}",
        "√": r"\ensuremath{\surd}",
        "−": "-",
        "×": r"\ensuremath{\times}",
        "≠": r"\ensuremath{\neq}",
        "≈": r"\ensuremath{\approx}",
        "≤": r"\ensuremath{\leq}",
        "≥": r"\ensuremath{\geq}",
        "∞": r"\ensuremath{\infty}",
        "∑": r"\ensuremath{\sum}",
        "✓": r"\ensuremath{\checkmark}",
        "⚠": r"\textbf{!}",
        "…": r"\ldots{}",
        "–": "--",
        "—": "---",
        **{char: rf"\ensuremath{{\{name}}}" for name, char in GREEK.items() if name != "lamda"},
        "ο": "o",
        **{
            sup: rf"\textsuperscript{{{plain}}}"
            for plain, sup in zip("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻", strict=True)
        },
        **{
            sub: rf"\textsubscript{{{plain}}}"
            for plain, sub in zip("0123456789", "₀₁₂₃₄₅₆₇₈₉", strict=True)
        },
    }
)

_LATEX_SPECIAL = MappingProxyType(
    {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "_": r"\_",
        "%": r"\%",
        "&": r"\&",
        "#": r"\#",
        "$": r"\$",
        "^": r"\^{}",
        "~": r"\~{}",
        "<": r"\ensuremath{<}",
        ">": r"\ensuremath{>}",
    }
)


def latex_text(text: str) -> str:
    r"""Plain text made safe for LaTeX: ``_ % & # $ { } \ ^ ~`` escaped, common Unicode mapped.

    >>> latex_text("edge x → z, u_1 = 50%")
    'edge x \\ensuremath{\\to} z, u\\_1 = 50\\%'
    """
    pieces = []
    for char in text:
        if char in _LATEX_SPECIAL:
            pieces.append(_LATEX_SPECIAL[char])
        elif char in _LATEX_UNICODE:
            pieces.append(_LATEX_UNICODE[char])
        elif unicodedata.category(char) == "Cc":
            pieces.append(" ")  # a line break or control character in a title is a space
        elif ord(char) < 256:
            pieces.append(char)  # Latin-1: set by the preamble's inputenc and T1 fontenc
        else:
            pieces.append(_accented_or_code_point(char))
    return "".join(pieces)


#: Characters that make a word of a sentence a formula: operators, primes, raised and lowered digits.
_FORMULA_MARKS = frozenset("′″·−+=/→←×^∂<>≠≤≥…") | frozenset(
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ₀₁₂₃₄₅₆₇₈₉"
)
#: Characters a formula word may hold (anything else keeps the word prose).
_FORMULA_WORD = re.compile(
    r"[()A-Za-z0-9_" + "".join(sorted(_FORMULA_MARKS | set(GREEK.values()))) + r"]+"
)
_FUNCTION_WORDS = re.compile(r"(?<![A-Za-z\\])(ln|log|exp|sin|cos|tan)(?![A-Za-z])")
_RAISED = str.maketrans(
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ", "0123456789-abcdefghijklmnoprstuvwxyz"
)
_LOWERED = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_MATH_SYMBOLS = MappingProxyType(
    {
        "′": "'",
        "″": "''",
        "‴": "'''",
        "·": r"\cdot ",
        "−": "-",
        "→": r"\to ",
        "←": r"\leftarrow ",
        "×": r"\times ",
        "∂": r"\partial ",
        "≠": r"\neq ",
        "≤": r"\leq ",
        "≥": r"\geq ",
        "…": r"\ldots ",
    }
)


def _is_formula_word(word: str, names: Mapping[str, str], in_run: bool) -> bool:
    """A word of a sentence that is maths: a variable of the problem, a lone letter, a formula,
    or (continuing a formula) an operator or a number."""
    if not _FORMULA_WORD.fullmatch(word):
        return False
    if word in names or (len(word) == 1 and word.isalpha() and word not in "aAI"):
        return True
    if in_run and (word.isdigit() or word == "-" or all(c in _FORMULA_MARKS for c in word)):
        return True
    if any(char in _GREEK_LATEX for char in word):
        return True
    return any(char in _FORMULA_MARKS for char in word) and any(c.isalnum() for c in word)


#: A derivative written as a word in a sentence or a rule's name: dx/dx, ∂z/∂a1.
_LEIBNIZ_WORD = re.compile(r"(?P<d>[d∂])(?P<top>[^/\s]+)/(?P=d)(?P<bottom>[^/\s]+)")
#: A name in parentheses after d (a variable named d: d(d)/d(d)).
_BRACKETED = re.compile(r"\((?P<name>[^()]+)\)")


def _derivative_part(text: str, names: Mapping[str, str]) -> str | None:
    """A variable after d in a derivative word, as LaTeX (bracketed as written); else None."""
    bracketed = _BRACKETED.fullmatch(text)
    name = bracketed["name"] if bracketed else text
    if name not in names:
        return None
    latex = name_latex(names[name])
    return rf"\left({latex}\right)" if bracketed else latex


def _formula_word_latex(word: str, names: Mapping[str, str]) -> str:
    r"""One formula word as math: a variable by its name, a derivative of variables as the
    fraction the formulas print (``da1/da1`` → ``\frac{da_{1}}{da_{1}}``, not d·a·1), else
    ``f′g`` → ``f'g``, ``g²`` → ``g^{2}``."""
    if word in names:
        return name_latex(names[word])
    leibniz = _LEIBNIZ_WORD.fullmatch(word)
    if leibniz:
        parts = [_derivative_part(leibniz[part], names) for part in ("top", "bottom")]
        if None not in parts:
            d = r"\partial " if leibniz["d"] == "∂" else "d"
            return rf"\frac{{{d}{parts[0]}}}{{{d}{parts[1]}}}"
    if _FUNCTION_WORDS.fullmatch(word):
        return "\\" + word
    word = _FUNCTION_WORDS.sub(lambda m: "\\" + m[1] + " ", word)
    pieces: list[str] = []
    index = 0
    while index < len(word):
        char = word[index]
        if char == "^" or char in _RAISED_CHARS:
            if char == "^":
                raised, index = _caret_operand(word, index + 1)
                raised = _formula_word_latex(raised, {}) if raised else ""
            else:
                end = index
                while end < len(word) and word[end] in _RAISED_CHARS:
                    end += 1
                raised, index = word[index:end].translate(_RAISED), end
            # A second superscript in a row gets its own base: TeX refuses a double one.
            base = "{}" if pieces and pieces[-1].startswith(("^", "{}^")) else ""
            pieces.append(f"{base}^{{{raised}}}" if raised else r"\wedge ")
            continue
        if char in "₀₁₂₃₄₅₆₇₈₉":
            end = index
            while end < len(word) and word[end] in "₀₁₂₃₄₅₆₇₈₉":
                end += 1
            pieces.append("_{" + word[index:end].translate(_LOWERED) + "}")
            index = end
            continue
        if char == "_":
            pieces.append(r"\_")
        elif char in _MATH_SYMBOLS:
            pieces.append(_MATH_SYMBOLS[char])
        elif char in _GREEK_LATEX:
            pieces.append(_GREEK_LATEX[char] + " ")
        else:
            pieces.append(char)
        index += 1
    return "".join(pieces).strip()


_RAISED_CHARS = frozenset("⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ")


def _caret_operand(word: str, start: int) -> tuple[str, int]:
    """What a ``^`` at ``start - 1`` raises: a balanced ``(…)`` group or a run of letters and digits."""
    if start < len(word) and word[start] == "(":
        depth = 0
        for index in range(start, len(word)):
            depth += {"(": 1, ")": -1}.get(word[index], 0)
            if depth == 0:
                return word[start : index + 1], index + 1
        return "", start
    end = start
    while end < len(word) and word[end].isalnum() and word[end].isascii():
        end += 1
    return word[start:end], end


_GREEK_LATEX = MappingProxyType(
    {char: "\\" + name for name, char in GREEK.items() if name != "lamda"}
)


def latex_prose(text: str, names: Sequence[str] = ()) -> str:
    r"""A sentence for LaTeX with its maths in math mode: variables, ``(fg)′ = f′g + fg′``, ``x → z``.

    ``names`` are the problem's variables (so that ``a`` in "a depends on x" is one, and
    ``W2`` prints as in the formulas); everything else is escaped text, as by :func:`latex_text`.

    >>> latex_prose("Product rule: (fg)′ = f′g + fg′")
    "Product rule: $(fg)' = f'g + fg'$"
    >>> latex_prose("a depends on W2, b", ["a", "W2", "b"])
    '$a$ depends on $W_{2}$, $b$'
    """
    known = {name: name for name in names} | {unicode_name(name): name for name in names}
    pieces: list[str] = []
    run: list[str] = []

    def flush() -> None:
        spaces = []
        while run and run[-1].isspace():
            spaces.append(run.pop())
        if run:
            words = (w if w.isspace() else _formula_word_latex(w, known) for w in run)
            pieces.append("$" + " ".join(w for w in words if not w.isspace()) + "$")
        pieces.extend(reversed(spaces))
        run.clear()

    for token in re.split(r"(\s+)", text):
        word = token.rstrip(",;:.")
        tail = token[len(word) :]
        if not token:
            continue
        if token.isspace():
            (run if run else pieces).append(token)
        elif word and _is_formula_word(word, known, bool(run)):
            run.append(word)
            if tail:
                flush()
                pieces.append(latex_text(tail))
        elif _FUNCTION_WORDS.fullmatch(word) and not tail:
            run.append(word)  # "ln y": the function's name goes with the formula after it
        else:
            flush()
            pieces.append(latex_text(token))
    flush()
    return "".join(pieces)


#: Forward-pass operation labels (``chainsolve.decompose``) that are symbols, as maths.
_OPERATION_LATEX = MappingProxyType(
    {"·": r"$\cdot$", "+": "$+$", "−": "$-$", "/": "$/$", "^": r"$a^{b}$", "√": r"$\sqrt{\ }$",
     "1/·": r"$1/\cdot$", "=": "$=$", "neg": "$-$"}
)  # fmt: skip


def operation_latex(operation: str) -> str:
    r"""A forward-pass operation for a LaTeX table: symbols in maths (``^2`` → ``$(\cdot)^{2}$``), words as text.

    >>> operation_latex("^2"), operation_latex("−"), operation_latex("input")
    ('$(\\cdot)^{2}$', '$-$', 'input')
    """
    if operation in _OPERATION_LATEX:
        return _OPERATION_LATEX[operation]
    if operation.startswith("^"):
        return rf"$(\cdot)^{{{latex_text(operation[1:])}}}$"
    return latex_prose(operation)


#: Combining accents as the LaTeX accent commands T1 fonts typeset.
_LATEX_ACCENTS = MappingProxyType(
    {
        "\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=",
        "\u0306": "u", "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H",
        "\u030c": "v", "\u0327": "c", "\u0328": "k",
    }
)  # fmt: skip


def _accented_or_code_point(char: str) -> str:
    r"""A letter outside Latin-1 as a LaTeX accent on its base (``č`` → ``\v{c}``), else ``U+XXXX``.

    pdflatex has glyphs for neither, so the reader sees the accent or the code point, never
    a silent ``?``.

    >>> _accented_or_code_point("č"), _accented_or_code_point("中")
    ('\\v{c}', '\\textsc{u+4e2d}')
    """
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if marks and base.isascii() and base.isalpha() and all(m in _LATEX_ACCENTS for m in marks):
        text = base
        for mark in marks:
            text = rf"\{_LATEX_ACCENTS[mark]}{{{text}}}"
        return text
    return rf"\textsc{{u+{ord(char):04x}}}"


#: ASCII punctuation that starts Markdown syntax anywhere in a line (CommonMark lets any be escaped).
_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>|$#!~&")


def one_line(text: str, newline: str = " ") -> str:
    r"""Control characters as spaces and line breaks as ``newline``: user text never starts a
    new block (in Markdown) nor moves the cursor back over a line already printed (a terminal).

    >>> one_line("sin(x)\rcos(x)")
    'sin(x) cos(x)'
    >>> one_line("z = x*y\r\nx = t", "; ")
    'z = x*y; x = t'
    """
    text = newline.join(text.replace("\r\n", "\n").split("\n"))
    return text.translate(_CONTROL_AS_SPACE)


#: Every ASCII control character (and DEL) mapped to a space, for :meth:`str.translate`.
_CONTROL_AS_SPACE = {code: " " for code in [*range(32), 127]}


def markdown_text(text: str) -> str:
    r"""Plain text made safe for Markdown prose: one line, every character of Markdown syntax escaped.

    >>> markdown_text("a*b <img>\r\n- c")
    'a\\*b \\<img\\> - c'
    >>> markdown_text("1. not a list")
    '1\\. not a list'
    """
    escaped = "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in one_line(text))
    # A list marker, heading underline or ordered-list number only counts at the start of a line.
    if escaped[:1] in ("-", "+", "="):
        return "\\" + escaped
    digits = len(escaped) - len(escaped.lstrip("0123456789"))
    if digits and escaped[digits : digits + 1] in (".", ")"):
        return escaped[:digits] + "\\" + escaped[digits:]
    return escaped


def markdown_code(text: str, in_table: bool = False) -> str:
    """User text as one Markdown code span that no backtick inside it can close.

    The fence is one backtick longer than the longest run in the text; ``in_table`` escapes
    ``|``, which a GFM table splits cells on even inside code.

    >>> markdown_code("a`b")
    '``a`b``'
    >>> markdown_code("`x`")
    '`` `x` ``'
    """
    line = one_line(text)
    fence = "`" * (max(map(len, re.findall("`+", line)), default=0) + 1)
    padding = " " if line.startswith("`") or line.endswith("`") else ""
    if in_table:
        line = line.replace("|", "\\|")
    return f"{fence}{padding}{line}{padding}{fence}"


def markdown_quote(text: str, depth: int) -> str:
    """Nest Markdown ``depth`` levels deep as block quotes (``> `` per level)."""
    if depth <= 0:
        return text
    prefix = ">" * depth
    return "\n".join(f"{prefix} {line}" if line else prefix for line in text.split("\n"))


def _barred_part(name: str) -> tuple[str, str]:
    """A name split into the letters that carry the bar and the index after them (b1 → b, 1)."""
    base, sep, sub = name.partition("_")
    letters = base.rstrip("0123456789") or base
    return letters, base[len(letters) :] + sep + sub


def adjoint_unicode(name: str) -> str:
    """The adjoint x̄ = ∂L/∂x of a node in backpropagation: a bar over the name's letters.

    >>> adjoint_unicode("s"), adjoint_unicode("w_1"), adjoint_unicode("b1"), adjoint_unicode("theta")
    ('s̄', 'w̄₁', 'b̄1', 'θ̄')
    """
    letters, index = _barred_part(name)
    barred = "".join(char + "\u0304" for char in unicode_name(letters))
    return barred + unicode_name("x" + index)[1:]


def display_width(text: str) -> int:
    """How many columns ``text`` takes in a terminal: combining marks (the bar of s̄) take none."""
    return sum(1 for char in text if not unicodedata.combining(char))


def adjoint_latex(name: str) -> str:
    """The adjoint of a node in LaTeX: ``\\bar{s}``, ``\\bar{b}1``, ``\\overline{hidden}``."""
    letters, index = _barred_part(name)
    head = name_latex(letters)
    barred = rf"\bar{{{head}}}" if len(unicode_name(letters)) == 1 else rf"\overline{{{head}}}"
    return barred + name_latex("x" + index)[1:]


def adjoint_mathml(name: str) -> str:
    """The adjoint of a node in presentation MathML: the name under a stretchy bar."""
    return f'<mover>{mathml_expr(sympy.Symbol(name))}<mo stretchy="true">¯</mo></mover>'


def name_latex(name: str) -> str:
    """A variable name in LaTeX: ``u_1`` → ``u_{1}``, ``theta`` → ``\\theta``."""
    return latex_expr(sympy.Symbol(name))


def printed_key(name: str) -> str:
    """What a name looks like in print, subscript marks aside: ``u1``, ``u_1`` and ``u₁`` → ``u1``.

    Two names with the same key cannot be told apart in LaTeX (``u_{1}``) and barely in
    text (``u1``, ``u₁``): a generated name must not share its key with a user's name.

    >>> printed_key("u1"), printed_key("u_1"), printed_key("W_2")
    ('u1', 'u1', 'W2')
    """
    return "".join(char for char in name_latex(name) if char not in "_{} ")


#: Every filter, by the name templates use.
FILTERS: MappingProxyType[str, Callable[..., Any]] = MappingProxyType(
    {
        "unicode": formula_unicode,
        "latex": formula_latex,
        "mathml": formula_mathml,
        "formula_unicode": formula_unicode,
        "formula_latex": formula_latex,
        "formula_mathml": formula_mathml,
        "chain_unicode": chain_unicode,
        "chain_latex": chain_latex,
        "chain_latex_aligned": chain_latex_aligned,
        "chain_mathml": chain_mathml,
        "math_element": math_element,
        "definitions": shown_definitions,
        "definition_unicode": definition_unicode,
        "definition_latex": definition_latex,
        "definition_mathml": definition_mathml,
        "equation_html": equation_html,
        "definitions_html": definitions_html,
        "latex_text": latex_text,
        "latex_prose": latex_prose,
        "operation_latex": operation_latex,
        "markdown_text": markdown_text,
        "markdown_code": markdown_code,
        "one_line": one_line,
        "name_unicode": unicode_name,
        "name_latex": name_latex,
        "adjoint_unicode": adjoint_unicode,
        "display_width": display_width,
        "adjoint_latex": adjoint_latex,
        "adjoint_mathml": adjoint_mathml,
        "markdown_quote": markdown_quote,
    }
)

__all__ = [
    "FILTERS",
    "adjoint_latex",
    "adjoint_mathml",
    "adjoint_unicode",
    "chain_latex",
    "chain_mathml",
    "chain_unicode",
    "display_width",
    "formula_latex",
    "formula_mathml",
    "formula_unicode",
    "latex_expr",
    "mathml_expr",
    "ordered_terms",
    "printed_key",
    "unicode_expr",
    "unicode_name",
]
