"""Pure formatting of expressions and step formulas as Unicode, LaTeX and MathML (never maths)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, Literal

import sympy
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from chainsolve.steps import Formula, Leibniz, Neg, Product, Quotient, Sum

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

#: Display names of functions whose sympy name is not what a reader expects.
_FUNCTION_NAMES = MappingProxyType({"log": "ln", "sigmoid": "σ", "Heaviside": "H"})


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
    """True when a printed piece needs no parentheses next to ``/`` (no bare operator)."""
    depth = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in " ·/-+^":
            return False
    return True


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
    from sympy.core.exprtools import decompose_power

    base, exponent = decompose_power(factor)
    return base, sympy.Integer(exponent)


def ordered_terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """The terms of a sum in sympy's printing order, without evaluating any costly constant."""
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
    special = _number_then_negative_term(terms)
    if special is not None:
        return special
    return sorted(terms, key=lambda term: _term_key(term, generators))


def _number_then_negative_term(terms: list[sympy.Expr]) -> list[sympy.Expr] | None:
    """``1 - x``, not ``-x + 1``: sympy's one exception to its order, kept for the same output."""
    if len(terms) != 2:
        return None
    numbers = [t for t in terms if isinstance(t, (sympy.Number, sympy.NumberSymbol))]
    others = [t for t in terms if t not in numbers]
    if len(numbers) != 1 or len(others) != 1 or not isinstance(others[0], sympy.Mul):
        return None
    coefficient, rest = others[0].as_coeff_Mul()
    if isinstance(rest, sympy.Mul):  # sympy's exception is for a number times one factor only
        return None
    if numbers[0].is_positive and coefficient.is_negative:
        return [numbers[0], others[0]]
    return None


class _StructuralOrder:
    """Printer mixin: sums print their terms in :func:`ordered_terms` order."""

    def _as_ordered_terms(self, expr: sympy.Expr, order: str | None = None) -> list[sympy.Expr]:
        return ordered_terms(expr)


class UnicodePrinter(_StructuralOrder, StrPrinter):
    """One-line terminal maths: ``2x·cos(x²)``, ``√(1 - x²)``, ``σ(x)``, ``|x|``, ``f′(g(x))``."""

    printmethod = "_chainsolve_unicode"

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return unicode_name(expr.name)

    _print_Dummy = _print_Symbol

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
        name = str(expr.func.__name__)
        name = (
            unicode_name(name)
            if isinstance(expr, AppliedUndef)
            else _FUNCTION_NAMES.get(name, name)
        )
        return f"{name}({self.stringify(expr.args, ', ')})"

    def _print_Pow(self, expr: sympy.Expr, rational: bool = False) -> str:
        base, exponent = expr.args
        if exponent == sympy.S.Half:
            return self._root(base)
        if exponent.is_Rational and exponent.is_negative:
            denominator = self._print(_reciprocal(expr))
            if not _is_atomic_text(denominator):
                denominator = f"({denominator})"
            return f"1/{denominator}"
        base_text = str(self.parenthesize(base, PRECEDENCE["Pow"], strict=False))
        if base.is_Function and not isinstance(base, sympy.Abs):
            base_text = self._print(base)  # cos(x)², not (cos(x))²
        if not _is_atomic_text(base_text):
            base_text = f"({base_text})"  # (e^x)², never e^x², which reads as e^(x²)
        if exponent.is_Integer:
            return base_text + str(exponent).translate(_SUPERSCRIPTS)
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
        if coefficient.is_negative:
            sign, coefficient = "-", -coefficient
        numerator: list[sympy.Expr] = []
        denominator: list[sympy.Expr] = []
        for factor in rest.as_ordered_factors():
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
        if not _is_atomic_text(top_text):
            top_text = f"({top_text})"
        # Not "starts with (": "(x²)² + 1" does, and still needs its parentheses.
        if not _is_atomic_text(bottom_text):
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
                return _applied_name(function) + "′" * len(variables) + args
            order = len(variables)
            top = "∂" if order == 1 else f"∂{str(order).translate(_SUPERSCRIPTS)}"
            bottom = "".join(
                f"∂{self._print(v)}{str(n).translate(_SUPERSCRIPTS) if n > 1 else ''}"
                for v, n in expr.variable_count
            )
            return f"{top}{_applied_name(function)}/{bottom}{args}"
        d = "∂" if len(expr.expr.free_symbols) > 1 else "d"
        bottom = "".join(f"{d}{self._print(v)}" for v in variables)
        return f"{d}/{bottom}({self._print(function)})"

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


class ChainsolveLatexPrinter(_StructuralOrder, LatexPrinter):
    """sympy's LaTeX with our names: ``\\ln``, ``\\sigma``, ``H(x)``, ``f'(g)`` for ``Subs``."""

    def __init__(self) -> None:
        super().__init__({"ln_notation": True})

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


class ChainsolveMathMLPrinter(_StructuralOrder, MathMLPresentationPrinter):
    """sympy's presentation MathML with ``ln``, ``σ`` and ``H`` names like the other formats."""

    def __init__(self) -> None:
        super().__init__({"ln_notation": True})

    def _print_Function(self, expr: sympy.Expr) -> Any:
        name = str(expr.func.__name__)
        args = expr.args[:1] if name == "Heaviside" else expr.args
        mi = self.dom.createElement("mi")
        if isinstance(expr, AppliedUndef):
            return super()._print_Function(expr)
        mi.appendChild(self.dom.createTextNode(_FUNCTION_NAMES.get(name, name)))
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


def unicode_expr(expr: sympy.Expr) -> str:
    """One-line terminal Unicode for an expression.

    >>> x = sympy.Symbol("x")
    >>> unicode_expr(2 * x * sympy.cos(x**2)), unicode_expr(sympy.sqrt(1 - x**2))
    ('2x·cos(x²)', '√(1 - x²)')
    """
    return str(UnicodePrinter().doprint(sympy.sympify(expr)))


def latex_expr(expr: sympy.Expr) -> str:
    r"""LaTeX for an expression, with our names (``u_{1}``, ``\theta``, ``\sigma``, ``\ln``).

    >>> latex_expr(sympy.Symbol("u_1") ** 2)
    'u_{1}^{2}'
    """
    return str(ChainsolveLatexPrinter().doprint(sympy.sympify(expr)))


def mathml_expr(expr: sympy.Expr) -> str:
    """Presentation MathML (without the ``<math>`` element) for an expression."""
    return str(ChainsolveMathMLPrinter().doprint(sympy.sympify(expr)))


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
    """(True, t) for a subtracted term ``-t`` of a sum, else (False, term)."""
    if isinstance(term, Neg):
        return True, term.operand
    if isinstance(term, sympy.Expr) and term.could_extract_minus_sign():
        return True, -term
    return False, term


def _is_sum_like(formula: Formula) -> bool:
    return isinstance(formula, Sum) or (isinstance(formula, sympy.Expr) and formula.is_Add)


def _lagrange_of(formula: Leibniz, notation: Notation) -> tuple[str, sympy.Expr | None] | None:
    return formula.lagrange if notation == "lagrange" else None


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
            name = unicode_name(letter) + "′" * formula.order
            return name if argument is None else f"{name}({unicode_expr(argument)})"
        d = "∂" if formula.partial else "d"
        wrt = unicode_expr(formula.wrt)
        if isinstance(formula.of, sympy.Symbol):
            n = "" if formula.order == 1 else str(formula.order).translate(_SUPERSCRIPTS)
            return f"{d}{n}{unicode_expr(formula.of)}/{d}{wrt}{n}"
        return f"{d}/{d}{wrt}({unicode_expr(formula.of)})"
    if isinstance(formula, Product):
        parts = []
        for index, factor in enumerate(formula.factors):
            text = formula_unicode(factor, notation)
            parts.append(f"({text})" if _needs_parens_in_product(factor, index == 0) else text)
        return " · ".join(parts)
    if isinstance(formula, Sum):
        return _signed_terms(formula, lambda f: formula_unicode(f, notation), "({})")
    if isinstance(formula, Quotient):
        top = formula_unicode(formula.numerator, notation)
        bottom = formula_unicode(formula.denominator, notation)
        top = top if _is_atomic_text(top) else f"({top})"
        bottom = bottom if _is_atomic_text(bottom) else f"({bottom})"
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
            name = latex_expr(sympy.Symbol(letter)) + "'" * formula.order
            return name if argument is None else rf"{name}\left({latex_expr(argument)}\right)"
        d = r"\partial " if formula.partial else "d"
        wrt = latex_expr(formula.wrt)
        if isinstance(formula.of, sympy.Symbol):
            if formula.order > 1:
                n = formula.order
                return rf"\frac{{{d.strip()}^{{{n}}} {latex_expr(formula.of)}}}{{{d}{wrt}^{{{n}}}}}"
            return rf"\frac{{{d}{latex_expr(formula.of)}}}{{{d}{wrt}}}"
        return rf"\frac{{{d.strip()}}}{{{d}{wrt}}}\left({latex_expr(formula.of)}\right)"
    if isinstance(formula, Product):
        parts = []
        for index, factor in enumerate(formula.factors):
            text = formula_latex(factor, notation)
            if _needs_parens_in_product(factor, index == 0):
                text = rf"\left({text}\right)"
            parts.append(text)
        return r" \cdot ".join(parts)
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
    return f"<mo>{escaped}</mo>"


def _fenced(inner: str) -> str:
    return f"<mrow>{_mo('(')}{inner}{_mo(')')}</mrow>"


def formula_mathml(formula: Formula, notation: Notation = "leibniz") -> str:
    """A step formula as presentation MathML content (put it inside ``<math>``)."""
    if isinstance(formula, Leibniz):
        lagrange = _lagrange_of(formula, notation)
        if lagrange is not None:
            letter, argument = lagrange
            head = f"{mathml_expr(sympy.Symbol(letter))}{_PRIME * formula.order}"
            if argument is None:
                return head
            return f"<mrow>{head}{_fenced(mathml_expr(argument))}</mrow>"
        d = "∂" if formula.partial else "d"
        d_tag = f'<mi mathvariant="normal">{d}</mi>'
        wrt = mathml_expr(formula.wrt)
        if isinstance(formula.of, sympy.Symbol):
            top_d = d_tag
            if formula.order > 1:
                top_d = f"<msup>{d_tag}<mn>{formula.order}</mn></msup>"
                wrt = f"<msup>{wrt}<mn>{formula.order}</mn></msup>"
            top = f"<mrow>{top_d}{mathml_expr(formula.of)}</mrow>"
            return f"<mfrac>{top}<mrow>{d_tag}{wrt}</mrow></mfrac>"
        frac = f"<mfrac>{d_tag}<mrow>{d_tag}{wrt}</mrow></mfrac>"
        return f"<mrow>{frac}{_fenced(mathml_expr(formula.of))}</mrow>"
    if isinstance(formula, Product):
        parts = []
        for index, factor in enumerate(formula.factors):
            text = formula_mathml(factor, notation)
            parts.append(_fenced(text) if _needs_parens_in_product(factor, index == 0) else text)
        return "<mrow>" + _mo("·").join(parts) + "</mrow>"
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


def chain_unicode(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain ``a = b = c`` in one line of Unicode."""
    return " = ".join(formula_unicode(side, notation) for side in sides)


def chain_latex(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain ``a = b = c`` in LaTeX (inline, no alignment marks)."""
    return " = ".join(formula_latex(side, notation) for side in sides)


def chain_latex_aligned(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    r"""An equality chain for ``align*``: the first side, then ``&= …`` one per line."""
    if not sides:
        return ""
    first, *rest = (formula_latex(side, notation) for side in sides)
    if not rest:
        return first
    return first + " &= " + (" \\\\\n  &= ".join(rest))


def chain_mathml(sides: Sequence[Formula], notation: Notation = "leibniz") -> str:
    """An equality chain as MathML content."""
    return "<mrow>" + _mo("=").join(formula_mathml(side, notation) for side in sides) + "</mrow>"


def math_element(content: str, display: bool = False) -> str:
    """Wrap MathML content in ``<math>``; ``display`` makes it a block with full-size fractions."""
    attribute = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{attribute}>{content}</math>'


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


#: Unicode that step sentences use, as LaTeX that pdflatex typesets without extra packages.
_LATEX_UNICODE = MappingProxyType(
    {
        "→": r"\ensuremath{\to}",
        "←": r"\ensuremath{\leftarrow}",
        "·": r"\ensuremath{\cdot}",
        "∂": r"\ensuremath{\partial}",
        "′": r"\ensuremath{'}",
        "″": r"\ensuremath{''}",
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
        elif ord(char) < 256:
            pieces.append(char)
        else:
            pieces.append("?")  # pdflatex has no glyph for it; never break the build
    return "".join(pieces)


def markdown_text(text: str) -> str:
    """Plain text made safe for Markdown prose: emphasis, code and maths characters escaped."""
    return "".join("\\" + char if char in "\\`*_[]<>|$" else char for char in text)


def markdown_quote(text: str, depth: int) -> str:
    """Nest Markdown ``depth`` levels deep as block quotes (``> `` per level)."""
    if depth <= 0:
        return text
    prefix = ">" * depth
    return "\n".join(f"{prefix} {line}" if line else prefix for line in text.split("\n"))


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
FILTERS: MappingProxyType[str, Callable[..., str]] = MappingProxyType(
    {
        "unicode": unicode_expr,
        "latex": latex_expr,
        "mathml": mathml_expr,
        "formula_unicode": formula_unicode,
        "formula_latex": formula_latex,
        "formula_mathml": formula_mathml,
        "chain_unicode": chain_unicode,
        "chain_latex": chain_latex,
        "chain_latex_aligned": chain_latex_aligned,
        "chain_mathml": chain_mathml,
        "math_element": math_element,
        "definition_unicode": definition_unicode,
        "definition_latex": definition_latex,
        "definition_mathml": definition_mathml,
        "latex_text": latex_text,
        "markdown_text": markdown_text,
        "name_unicode": unicode_name,
        "name_latex": name_latex,
        "markdown_quote": markdown_quote,
    }
)

__all__ = [
    "FILTERS",
    "chain_latex",
    "chain_mathml",
    "chain_unicode",
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
