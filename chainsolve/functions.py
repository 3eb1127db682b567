"""The function registry: one :class:`FunctionSpec` per function of the input language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import mpmath
import sympy
from sympy import Function

from chainsolve.record import record


class Activation(Function):
    """A function of one real argument that sympy does not know, printed by its registry name.

    Its LaTeX writes a power after the argument, ``\\sigma\\left(x\\right)^{2}``: never the
    ``sin²(x)`` notation, so no power of it needs parentheses.
    """

    nargs = 1

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        # sympy's printer passes ``exp`` for a power such as sigmoid(x)^2.
        tex = rf"{BY_CLASS[type(self)].latex_name}\left({printer._print(self.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


class sigmoid(Activation):
    """The logistic function σ(x) = 1/(1 + e^(−x)), with σ′ = σ(1 − σ)."""

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        # Only a constant can be 0 here: asking the assumptions of w·x + b costs ~1 ms.
        if arg.is_number and arg.is_zero:
            return sympy.Rational(1, 2)
        if isinstance(arg, sympy.Float):
            return 1 / (1 + sympy.exp(-arg))
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-arg))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class relu(Activation):
    """The rectifier relu(x) = max(0, x); at the kink x = 0 its derivative is taken as 0."""

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        if arg.is_nonnegative:
            return arg
        if arg.is_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        # Heaviside(0) = 0: the one-sided convention PyTorch and most textbooks use.
        return sympy.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, arg: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.Max(0, arg)

    def _eval_rewrite_as_Piecewise(self, arg: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.Piecewise((arg, arg > 0), (0, True))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return sympy.Max(0, self.args[0])._eval_evalf(prec)

    def _eval_is_nonnegative(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class softplus(Activation):
    """softplus(x) = ln(1 + e^x), the smooth relu, with softplus′ = σ."""

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        if arg.is_number and arg.is_zero:
            return sympy.log(2)
        if isinstance(arg, sympy.Float):
            return sympy.log(1 + sympy.exp(arg))
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(arg))

    def _eval_rewrite_as_log(self, arg: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(arg))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


#: A real number as the registry's predicates and mpmath functions see it (an mpmath mpf).
Real = Any


def _unit_interval(value: Real) -> bool:
    return bool(-1 <= value <= 1)


def _outside_unit_interval(value: Real) -> bool:
    return bool(abs(value) >= 1)


def _sqrt_one_minus_square(u: sympy.Expr) -> sympy.Expr:
    return sympy.sqrt(1 - u**2)


def _arcsec_denominator(u: sympy.Expr) -> sympy.Expr:
    # |u|·√(u² − 1): sympy's u²·√(1 − 1/u²) on the real domain |u| > 1, where u²/√(u²) = |u|.
    return sympy.Abs(u) * sympy.sqrt(u**2 - 1)


def _zero(u: sympy.Expr) -> sympy.Expr:
    # Piecewise constant: the derivative is 0 wherever it exists (sympy's own is a DiracDelta).
    return sympy.S.Zero


def _heaviside_value(value: Real, at_zero: Real = 0) -> Real:
    if value > 0:
        return mpmath.mpf(1)
    if value < 0:
        return mpmath.mpf(0)
    return mpmath.mpf(at_zero)


def _softplus_value(value: Real) -> Real:
    # ln(1 + e^v) = v + ln(1 + e^(−v)): the second form keeps e^v from overflowing for large v.
    return (
        mpmath.log1p(mpmath.exp(value)) if value < 30 else value + mpmath.log1p(mpmath.exp(-value))
    )


#: sin, cos, tan, cot, sec, csc of one angle as a rational function of s = sin and c = cos (the
#: same forms serve sinh, cosh, … with s = sinh and c = cosh): how sin² + cos² = 1 is proved.
SinCosForm = Callable[[sympy.Expr, sympy.Expr], sympy.Expr]
Family = Literal["", "circular", "hyperbolic"]


@record
class FunctionSpec:
    """Everything chainsolve knows about one function of the input language.

    Adding a function to the language is adding one of these to :data:`SPECS`; every module
    reads its table from here, and ``tests/test_functions.py`` checks that the entry is
    complete and consistent (derivative, values, parsing, printing, wording).
    """

    #: The name chainsolve writes (and reads): ``asin``, ``log``, ``abs``.
    name: str
    #: The sympy class an application of the function is an instance of.
    sympy_class: type[sympy.Function]
    #: d/du F(u) as an expression in ``u``.
    derivative: Callable[[sympy.Expr], sympy.Expr]
    #: F's value at real numbers (mpmath), the arguments as in ``arities``.
    mpmath: Callable[..., Real]
    #: Other spellings the parser accepts: ``arcsin``, ``ln``, sympy's own ``Abs``.
    aliases: tuple[str, ...] = ()
    #: How many arguments it takes: ``Heaviside(u, 0)`` gives its value at 0.
    arities: tuple[int, ...] = (1,)
    #: Its name in words ("derivative of arcsin"), when not ``name``.
    reading: str = ""
    #: The human name of its derivative rule, when more is to be said than "derivative of F".
    rule_name: str = ""
    #: The real domain: has the function a real value at this real number? Poles are left out
    #: (tan, coth: no real number is exactly one, and the infinite value says it). None: every one.
    domain: Callable[[Real], bool] | None = None
    #: The domain as a condition on the argument u, for the reason a value is undefined.
    domain_text: str = "every real u"
    #: The name printed before the parenthesis in text and MathML (``ln``, ``σ``), when not ``name``.
    symbol: str = ""
    #: What the LaTeX of F(u) starts with: ``\sin``, ``\operatorname{asin}``, ``\sigma``.
    latex: str = ""
    #: Its label on a node of a computation graph, when not ``symbol``.
    label: str = ""
    #: Do students get the sign of its derivative wrong (cos′ = +sin, arccos′ = +1/√(1 − u²))?
    sign_slip: bool = False
    #: Other wrong derivatives students write for it, each with its mistake id (e^u
    #: differentiated as a power: u·e^(u − 1)).
    slips: tuple[tuple[str, Callable[[sympy.Expr], sympy.Expr]], ...] = ()
    #: The convention chainsolve takes at its kink u = 0, where it has one.
    kink: str = ""
    #: Trigonometric or hyperbolic: its form in s = sin, c = cos (sinh, cosh) of the same angle.
    family: Family = ""
    sin_cos_form: SinCosForm | None = None
    #: Written with exp and log, where sympy's simplifiers do not know it (sigmoid, softplus).
    rewrites_to_exp: bool = False

    @property
    def rule_id(self) -> str:
        """The stable id of its derivative rule: ``derivative_of_sin``, ``derivative_of_heaviside``."""
        return f"derivative_of_{self.name.lower()}"

    @property
    def human_rule_name(self) -> str:
        """The name of its derivative rule: ``derivative of arcsin``, or :attr:`rule_name`."""
        return self.rule_name or f"derivative of {self.reading or self.name}"

    @property
    def latex_name(self) -> str:
        """What the LaTeX of F(u) starts with."""
        return self.latex or rf"\operatorname{{{self.name}}}"

    @property
    def printed_name(self) -> str:
        """The name before the parenthesis in text and MathML."""
        return self.symbol or self.name

    @property
    def graph_label(self) -> str:
        """Its operation label on a node of a computation graph."""
        return self.label or self.printed_name

    def defined_at(self, value: Real) -> bool:
        """Is the function real and finite at the real number ``value``?"""
        return self.domain is None or self.domain(value)

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling the parser accepts."""
        return (self.name, *self.aliases)

    def wrong_derivatives(self, u: sympy.Expr) -> list[tuple[str, sympy.Expr]]:
        """The wrong F′(u) students write, with their mistake ids: the sign slip, then the slips."""
        wrong = [("sign_error", -self.derivative(u))] if self.sign_slip else []
        return wrong + [(mistake, slip(u)) for mistake, slip in self.slips]


#: Every function of the input language, one entry each.
SPECS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "sin",
        sympy.sin,
        lambda u: sympy.cos(u),
        mpmath.sin,
        latex=r"\sin",
        sign_slip=True,
        family="circular",
        sin_cos_form=lambda s, c: s,
    ),
    FunctionSpec(
        "cos",
        sympy.cos,
        lambda u: -sympy.sin(u),
        mpmath.cos,
        latex=r"\cos",
        sign_slip=True,
        family="circular",
        sin_cos_form=lambda s, c: c,
    ),
    FunctionSpec(
        "tan",
        sympy.tan,
        lambda u: sympy.sec(u) ** 2,
        mpmath.tan,
        latex=r"\tan",
        sign_slip=True,
        family="circular",
        sin_cos_form=lambda s, c: s / c,
    ),
    FunctionSpec(
        "cot",
        sympy.cot,
        lambda u: -(sympy.csc(u) ** 2),
        mpmath.cot,
        latex=r"\cot",
        sign_slip=True,
        family="circular",
        sin_cos_form=lambda s, c: c / s,
    ),
    FunctionSpec(
        "sec",
        sympy.sec,
        lambda u: sympy.sec(u) * sympy.tan(u),
        mpmath.sec,
        latex=r"\sec",
        sign_slip=True,
        family="circular",
        sin_cos_form=lambda s, c: 1 / c,
    ),
    FunctionSpec(
        "csc",
        sympy.csc,
        lambda u: -sympy.csc(u) * sympy.cot(u),
        mpmath.csc,
        latex=r"\csc",
        sign_slip=True,
        family="circular",
        sin_cos_form=lambda s, c: 1 / s,
    ),
    FunctionSpec(
        "asin",
        sympy.asin,
        lambda u: 1 / _sqrt_one_minus_square(u),
        mpmath.asin,
        aliases=("arcsin",),
        reading="arcsin",
        sign_slip=True,
        domain=_unit_interval,
        domain_text="−1 ≤ u ≤ 1",
    ),
    FunctionSpec(
        "acos",
        sympy.acos,
        lambda u: -1 / _sqrt_one_minus_square(u),
        mpmath.acos,
        aliases=("arccos",),
        reading="arccos",
        sign_slip=True,
        domain=_unit_interval,
        domain_text="−1 ≤ u ≤ 1",
    ),
    FunctionSpec(
        "atan",
        sympy.atan,
        lambda u: 1 / (1 + u**2),
        mpmath.atan,
        aliases=("arctan",),
        reading="arctan",
        sign_slip=True,
    ),
    # mpmath's acot, asec, acsc take the same real branches as sympy's: acot(−1) = −π/4,
    # asec(−2) = 2π/3, acsc(−2) = −π/6.
    FunctionSpec(
        "acot",
        sympy.acot,
        lambda u: -1 / (1 + u**2),
        mpmath.acot,
        aliases=("arccot",),
        reading="arccot",
        sign_slip=True,
        # sympy's branch is odd, so arccot jumps from −π/2 to π/2 at 0 (not continuous, as the
        # (0, π) branch is): −1/(1 + u²) is its derivative only away from 0.
        kink="arccot jumps at u = 0 (from −π/2 to π/2): its derivative there is taken as −1.",
    ),
    FunctionSpec(
        "asec",
        sympy.asec,
        lambda u: 1 / _arcsec_denominator(u),
        mpmath.asec,
        aliases=("arcsec",),
        reading="arcsec",
        sign_slip=True,
        domain=_outside_unit_interval,
        domain_text="|u| ≥ 1",
    ),
    FunctionSpec(
        "acsc",
        sympy.acsc,
        lambda u: -1 / _arcsec_denominator(u),
        mpmath.acsc,
        aliases=("arccsc",),
        reading="arccsc",
        sign_slip=True,
        domain=_outside_unit_interval,
        domain_text="|u| ≥ 1",
    ),
    FunctionSpec(
        "sinh",
        sympy.sinh,
        lambda u: sympy.cosh(u),
        mpmath.sinh,
        latex=r"\sinh",
        sign_slip=True,
        family="hyperbolic",
        sin_cos_form=lambda s, c: s,
    ),
    FunctionSpec(
        "cosh",
        sympy.cosh,
        lambda u: sympy.sinh(u),
        mpmath.cosh,
        latex=r"\cosh",
        sign_slip=True,
        family="hyperbolic",
        sin_cos_form=lambda s, c: c,
    ),
    FunctionSpec(
        "tanh",
        sympy.tanh,
        lambda u: 1 - sympy.tanh(u) ** 2,
        mpmath.tanh,
        latex=r"\tanh",
        sign_slip=True,
        family="hyperbolic",
        sin_cos_form=lambda s, c: s / c,
    ),
    FunctionSpec(
        "coth",
        sympy.coth,
        lambda u: 1 - sympy.coth(u) ** 2,
        mpmath.coth,
        latex=r"\coth",
        sign_slip=True,
        family="hyperbolic",
        sin_cos_form=lambda s, c: c / s,
    ),
    FunctionSpec(
        "sech",
        sympy.sech,
        lambda u: -sympy.sech(u) * sympy.tanh(u),
        mpmath.sech,
        sign_slip=True,
        family="hyperbolic",
        sin_cos_form=lambda s, c: 1 / c,
    ),
    FunctionSpec(
        "csch",
        sympy.csch,
        lambda u: -sympy.csch(u) * sympy.coth(u),
        mpmath.csch,
        sign_slip=True,
        family="hyperbolic",
        sin_cos_form=lambda s, c: 1 / s,
    ),
    # Both spellings of the inverse hyperbolic functions: arc- (common) and ar- (ISO 80000-2).
    FunctionSpec(
        "asinh",
        sympy.asinh,
        lambda u: 1 / sympy.sqrt(u**2 + 1),
        mpmath.asinh,
        aliases=("arcsinh", "arsinh"),
        reading="arcsinh",
    ),
    # The textbook 1/√(u² − 1), written as sympy does so that it is real exactly where
    # arccosh is (u > 1), not also for u < −1: there a step could not be confirmed.
    FunctionSpec(
        "acosh",
        sympy.acosh,
        lambda u: 1 / (sympy.sqrt(u - 1) * sympy.sqrt(u + 1)),
        mpmath.acosh,
        aliases=("arccosh", "arcosh"),
        reading="arccosh",
        domain=lambda v: bool(v >= 1),
        domain_text="u ≥ 1",
    ),
    FunctionSpec(
        "atanh",
        sympy.atanh,
        lambda u: 1 / (1 - u**2),
        mpmath.atanh,
        aliases=("arctanh", "artanh"),
        reading="arctanh",
        domain=lambda v: bool(abs(v) < 1),
        domain_text="−1 < u < 1",
    ),
    # Printed as a power of e; its graph node is labelled exp.
    FunctionSpec(
        "exp",
        sympy.exp,
        lambda u: sympy.exp(u),
        mpmath.exp,
        symbol="e",
        latex="e^{",
        label="exp",
        slips=(("power_rule_error", lambda u: u * sympy.exp(u - 1)),),
    ),
    FunctionSpec(
        "log",
        sympy.log,
        lambda u: 1 / u,
        mpmath.log,
        aliases=("ln",),
        reading="ln",
        domain=lambda v: bool(v > 0),
        domain_text="u > 0",
        symbol="ln",
        latex=r"\ln",
    ),
    FunctionSpec(
        "abs",
        sympy.Abs,
        lambda u: sympy.sign(u),
        abs,
        # sympy's str() spelling, as it appears in JSON derivatives.
        aliases=("Abs",),
        rule_name="derivative of |u| (its sign)",
        symbol="|",
        latex=r"\left|",
        label="abs",
        kink="|u|′ at u = 0 is taken as sign(0) = 0.",
    ),
    FunctionSpec(
        "sigmoid",
        sigmoid,
        lambda u: sigmoid(u) * (1 - sigmoid(u)),
        lambda v: 1 / (1 + mpmath.exp(-v)),
        rule_name="derivative of sigmoid: σ(1 − σ)",
        symbol="σ",
        latex=r"\sigma",
        rewrites_to_exp=True,
    ),
    FunctionSpec(
        "relu",
        relu,
        lambda u: sympy.Heaviside(u, 0),
        lambda v: v if v > 0 else mpmath.mpf(0),
        rule_name="derivative of relu: 1 where u > 0, else 0",
        kink="relu′(0) = 0 in chainsolve (the one-sided derivative from the left, as in PyTorch).",
    ),
    FunctionSpec(
        "softplus",
        softplus,
        lambda u: sigmoid(u),
        _softplus_value,
        rule_name="derivative of softplus: σ",
        rewrites_to_exp=True,
    ),
    # The error function of statistics (the normal distribution's integral): added as this one
    # entry, which is all a function needs (docs/architecture.md, "How to add a function").
    FunctionSpec(
        "erf", sympy.erf, lambda u: 2 * sympy.exp(-(u**2)) / sympy.sqrt(sympy.pi), mpmath.erf
    ),
    # sign and Heaviside are what derivatives of abs and relu are made of: chainsolve writes
    # them in its answers (and in the JSON), so its own parser must read them back.
    FunctionSpec(
        "sign",
        sympy.sign,
        _zero,
        lambda v: mpmath.mpf(mpmath.sign(v)),
        rule_name="derivative of sign: 0 where u ≠ 0",
        kink="sign′ at u = 0 is taken as 0 (sign jumps there).",
    ),
    FunctionSpec(
        "Heaviside",
        sympy.Heaviside,
        _zero,
        _heaviside_value,
        arities=(1, 2),
        rule_name="derivative of Heaviside: 0 where u ≠ 0",
        symbol="H",
        latex="H",
        label="Heaviside",
        kink="Heaviside′ at u = 0 is taken as 0 (Heaviside jumps there).",
    ),
)

#: Each spec by its sympy class.
BY_CLASS: Mapping[type, FunctionSpec] = MappingProxyType({s.sympy_class: s for s in SPECS})
#: Each spec by the rule id of its derivative.
BY_RULE_ID: Mapping[str, FunctionSpec] = MappingProxyType({s.rule_id: s for s in SPECS})
#: Each spec by every name the parser accepts for it.
BY_NAME: Mapping[str, FunctionSpec] = MappingProxyType({name: s for s in SPECS for name in s.names})
#: Names that build another expression rather than a function of their own: √u is a power,
#: differentiated by the power rule.
SPELLINGS: Mapping[str, Callable[..., sympy.Expr]] = MappingProxyType({"sqrt": sympy.sqrt})

#: Every function name of the input language with its sympy constructor.
FUNCTIONS: Mapping[str, Callable[..., sympy.Expr]] = MappingProxyType(
    {**{name: s.sympy_class for name, s in BY_NAME.items()}, **SPELLINGS}
)
#: How many arguments each function name takes.
FUNCTION_ARITIES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {name: BY_NAME[name].arities if name in BY_NAME else (1,) for name in FUNCTIONS}
)

#: The named constants of the input language.
CONSTANTS: dict[str, sympy.Expr] = {"e": sympy.E, "pi": sympy.pi}


#: The functions with a kink or a jump at 0 (|u|, relu, sign, H, arccot): a derivative there is
#: a convention.
KINKED: tuple[type, ...] = tuple(s.sympy_class for s in SPECS if s.kink)
#: The functions sympy's simplifiers know only written with exp and log.
EXP_REWRITABLE: tuple[type, ...] = tuple(s.sympy_class for s in SPECS if s.rewrites_to_exp)


def family_forms(family: Family) -> dict[type[sympy.Function], SinCosForm]:
    """The trigonometric (or hyperbolic) functions, each with its form in s = sin and c = cos."""
    return {
        s.sympy_class: s.sin_cos_form
        for s in SPECS
        if s.family == family and s.sin_cos_form is not None
    }


def spec_of(expr: sympy.Basic) -> FunctionSpec | None:
    """The spec of the function ``expr`` applies, or None (a sum, an unknown f, Max)."""
    return BY_CLASS.get(type(expr))


def printed_name(function: type) -> str:
    """The name printed before the parenthesis for a sympy function class (``ln`` for log)."""
    spec = BY_CLASS.get(function)
    return spec.printed_name if spec is not None else str(function.__name__)


def closest_function(name: str) -> str | None:
    """The known function a name probably meant (cos for cosine, arcsin for arcsine), if any.

    A known name the unknown one starts with wins (the longest); otherwise the closest by
    spelling. Names of one or two letters (f, g, fn) are taken as meant: no suggestion.
    """
    if len(name) < 3:
        return None
    lowered = name.lower()
    prefixes = sorted((f for f in FUNCTIONS if lowered.startswith(f)), key=len)
    if prefixes:
        return prefixes[-1]
    import difflib  # only on this rare path

    close = difflib.get_close_matches(lowered, FUNCTIONS, n=1, cutoff=0.6)
    return close[0] if close else None
