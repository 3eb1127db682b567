"""The whitelist of functions and constants the input language knows, as sympy objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy
from sympy import Function


def _with_exponent(tex: str, exp: str | None) -> str:
    """``tex`` raised to ``exp``: sympy's LaTeX printer hands a power's exponent to ``_latex``."""
    return tex if exp is None else rf"{tex}^{{{exp}}}"


class sigmoid(Function):
    """The logistic function σ(x) = 1/(1 + e^(−x)), with σ′ = σ(1 − σ)."""

    nargs = 1

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        if arg.is_zero:
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

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        # sympy's printer passes ``exp`` for a power such as sigmoid(x)^2.
        return _with_exponent(rf"\sigma\left({printer._print(self.args[0])}\right)", exp)


class relu(Function):
    """The rectifier relu(x) = max(0, x); at the kink x = 0 its derivative is taken as 0."""

    nargs = 1

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

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _eval_is_nonnegative(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        return _with_exponent(
            rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)", exp
        )


class softplus(Function):
    """softplus(x) = ln(1 + e^x), the smooth relu, with softplus′ = σ."""

    nargs = 1

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        if arg.is_zero:
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

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        return _with_exponent(
            rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)", exp
        )


#: Every function name of the input language, with its arity and sympy constructor.
FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "cot": sympy.cot,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "acot": sympy.acot,
    "asec": sympy.asec,
    "acsc": sympy.acsc,
    "arccot": sympy.acot,
    "arcsec": sympy.asec,
    "arccsc": sympy.acsc,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "sech": sympy.sech,
    "csch": sympy.csch,
    "coth": sympy.coth,
    "asinh": sympy.asinh,
    "acosh": sympy.acosh,
    "atanh": sympy.atanh,
    # Both spellings of the inverse hyperbolic functions: arc- (common) and ar- (ISO 80000-2).
    "arcsinh": sympy.asinh,
    "arccosh": sympy.acosh,
    "arctanh": sympy.atanh,
    "arsinh": sympy.asinh,
    "arcosh": sympy.acosh,
    "artanh": sympy.atanh,
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "sigmoid": sigmoid,
    "relu": relu,
    "softplus": softplus,
    # sign and Heaviside are what derivatives of abs and relu are made of: chainsolve writes
    # them in its answers (and in the JSON), so its own parser must read them back.
    "sign": sympy.sign,
    "Heaviside": sympy.Heaviside,
    # sympy's str() spelling of abs, as it appears in JSON derivatives.
    "Abs": sympy.Abs,
}

#: Functions taking other than exactly one argument: ``Heaviside(u, 0)`` gives its value at 0.
FUNCTION_ARITIES: dict[str, tuple[int, ...]] = {"Heaviside": (1, 2)}

#: The named constants of the input language.
CONSTANTS: dict[str, sympy.Expr] = {"e": sympy.E, "pi": sympy.pi}

#: Implementations for ``sympy.lambdify`` with the mpmath module (it knows no activations).
MPMATH_IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {}


def _register_mpmath() -> None:
    import mpmath

    MPMATH_IMPLEMENTATIONS.update(
        sigmoid=lambda v: 1 / (1 + mpmath.exp(-v)),
        relu=lambda v: v if v > 0 else mpmath.mpf(0),
        softplus=lambda v: mpmath.log1p(mpmath.exp(v)),
        Heaviside=lambda v, h0=0: mpmath.mpf(1) if v > 0 else (mpmath.mpf(0) if v < 0 else h0),
    )


_register_mpmath()


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
