"""A safe numeric evaluator: walks a sympy tree with mpmath at fixed precision, no code generation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import sympy

from chainsolve import functions


class Undefined(ArithmeticError):
    """The expression has no real value at this point (log of a negative, division by 0, ...)."""


class OutOfRange(Undefined):
    """The value exists but is past what is computed (beyond 2^MAX_BITS, or as close to 0).

    An :class:`Undefined` for callers that only need a value; a comparison tells it apart:
    1/cosh(10⁵)² is a number, and a point where only one side is out of range shows nothing.
    """


MpFloat = Any  # mpmath.mpf; mpmath ships no types

#: Values beyond 2^MAX_BITS count as undefined: arithmetic on them makes mpmath crawl.
MAX_BITS = 100_000


def _real(value: Any) -> MpFloat:
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps - 5)) * max(1, abs(value.real)):
            raise Undefined("not real")
        value = value.real
    parts = getattr(value, "_mpf_", None)
    if parts is not None:
        # mpmath's own tests, read off the mpf's parts (sign, mantissa, exponent, bit count)
        # without their calls: a mantissa of 0 is zero (exponent and bit count 0, either
        # sign) or a special value (±∞, nan: a nonzero code there), and a nonzero value's
        # magnitude is exponent + bit count (mpmath.mag).
        _, mantissa, exponent, bits = parts
        if not mantissa:
            if exponent or bits:
                raise Undefined("not finite")
        elif exponent + bits > MAX_BITS:
            raise OutOfRange("too large to evaluate")
        return value
    if not mpmath.isfinite(value):
        raise Undefined("not finite")
    if value and mpmath.mag(value) > MAX_BITS:
        raise OutOfRange("too large to evaluate")
    return value


def _bits_may_be_many(base: MpFloat, exponent: MpFloat) -> bool:
    """False when |exponent · log₂|base|| is surely far below MAX_BITS, with no logarithm taken.

    mpmath's ``mag`` bounds both in integers: m − 2 ≤ log₂|base| ≤ m, so |log₂|base|| ≤ |m| + 2,
    and |exponent| ≤ 2^mag(exponent).
    """
    scale = int(max(mpmath.mag(exponent), 0))  # mag(0) is -inf
    return bool((abs(mpmath.mag(base)) + 2) << scale > MAX_BITS // 2)


def _no_arg() -> MpFloat:
    raise Undefined("arg(0) is undefined")


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except (ValueError, ZeroDivisionError) as exc:
            raise Undefined(str(exc)) from exc

    return call


#: What sympy writes in its own derivatives of |f(x)|, beside the functions of the language
#: (:data:`chainsolve.functions.SPECS`): every value here is real (a complex one is refused
#: as undefined), so these are simple.
_SYMPY_INTERNAL: dict[type, Callable[..., Any]] = {
    sympy.atan2: mpmath.atan2,
    sympy.re: lambda v: v,
    sympy.im: lambda v: mpmath.mpf(0),
    sympy.arg: lambda v: mpmath.mpf(0) if v > 0 else (+mpmath.pi if v < 0 else _no_arg()),
}


#: sympy's numbers with no finite value, each one object (a singleton): told apart by identity,
#: as ``expr in (…)`` would ask sympy's slower ``==`` of every node four times.
_NOT_FINITE = (sympy.nan, sympy.zoo, sympy.oo, sympy.S.NegativeInfinity)

#: Values of parts at one point, by identity; each entry holds its part, so that no id is reused.
Known = dict[int, tuple[sympy.Basic, MpFloat]]


def evaluate(
    expr: sympy.Expr, values: Mapping[sympy.Symbol, MpFloat], known: Known | None = None
) -> MpFloat:
    """The real value of ``expr`` with symbols replaced by ``values``, at mpmath's precision.

    Raises :class:`Undefined` where the expression has no finite real value, and
    ``KeyError`` for a symbol without a value. ``known`` (values at this same point and
    precision) is read and filled, so that parts shared by several expressions are evaluated once.

    >>> x = sympy.Symbol("x", real=True)
    >>> float(evaluate(sympy.sin(x) ** 2 + sympy.cos(x) ** 2, {x: mpmath.mpf("0.3")}))
    1.0
    """
    return _eval(expr, values, {} if known is None else known)


def _eval(expr: sympy.Basic, values: Mapping[sympy.Symbol, MpFloat], cache: Known) -> MpFloat:
    # Keyed by identity: a lookup by value compares equal parts written out (2ᵏ steps on a
    # flattened chain of k diamonds); the parts stay alive inside ``expr`` meanwhile.
    hit = cache.get(id(expr))
    if hit is not None:
        return hit[1]
    result = _real(_compute(expr, values, cache))
    cache[id(expr)] = (expr, result)
    return result


def _compute(expr: sympy.Basic, values: Mapping[sympy.Symbol, MpFloat], cache: Known) -> MpFloat:
    if not expr.args:
        # A leaf: symbols and numbers have no arguments, so a sum, product, power or function
        # (most nodes) skips these ten tests.
        if isinstance(expr, sympy.Symbol):
            return values[expr]
        if isinstance(expr, sympy.Integer):
            return mpmath.mpf(int(expr))
        if isinstance(expr, sympy.Rational):
            return mpmath.mpf(int(expr.p)) / int(expr.q)
        if isinstance(expr, sympy.Float):
            return mpmath.mpf(expr._mpf_)
        if expr is sympy.pi:
            return +mpmath.pi
        if expr is sympy.E:
            return mpmath.e()
        if any(expr is value for value in _NOT_FINITE):
            # 0^x differentiates to 0^x·log(0), which sympy writes with nan: no value.
            raise Undefined("not a finite number")
        if expr.is_Number or isinstance(expr, sympy.NumberSymbol):
            return mpmath.mpf(sympy.Float(expr, mpmath.mp.dps)._mpf_)
    if isinstance(expr, (sympy.Subs, sympy.Derivative)):
        # Their arguments hold bound variables with no value (sympy's derivative of
        # Heaviside(x, x) in its second slot): walking into them would look one up.
        raise Undefined(f"no numeric rule for {type(expr).__name__}")
    args = [_eval(arg, values, cache) for arg in expr.args]
    if isinstance(expr, sympy.Add):
        return mpmath.fsum(args)
    if isinstance(expr, sympy.Mul):
        return mpmath.fprod(args)
    if isinstance(expr, sympy.Pow):
        base, exponent = args
        if base == 0 and exponent < 0:
            raise Undefined("division by zero")
        if base < 0 and not _is_integer(expr.args[1], exponent):
            if expr.args[1].is_Rational and expr.args[1].q % 2 == 1:
                # Odd roots of negatives are real, as a student means them: x^(p/q) = (ᵠ√x)^p,
                # negative only when p is odd ((-8)^(2/3) = 4, (-8)^(1/3) = -2).
                magnitude = (-base) ** exponent
                return -magnitude if expr.args[1].p % 2 else magnitude
            raise Undefined("even root of a negative number")
        # A power whose result would have an astronomically large or small exponent
        # (1.5^(8^64)) costs mpmath seconds to minutes; no comparison needs that value.
        if base != 0 and _bits_may_be_many(base, exponent):
            bits = exponent * mpmath.log(abs(base), 2)
            if abs(bits) > MAX_BITS:
                raise OutOfRange(
                    "too large to evaluate" if bits > 0 else "too close to 0 to evaluate"
                )
        return mpmath.power(base, exponent)
    spec = functions.spec_of(expr)
    if spec is not None:
        # Just outside some domains (asec, acosh) mpmath's value is complex with a tiny
        # imaginary part, small enough to pass for rounding: the domain refuses it first.
        if spec.domain is not None and not spec.domain(args[0]):
            raise Undefined(f"{spec.name}(u) is real only where {spec.domain_text}")
        return _guarded(spec.mpmath)(*args)
    if isinstance(expr, sympy.DiracDelta):
        # sign′ and Heaviside′ (read back from chainsolve's own answers): 0 except at the kink.
        if len(args) != 1 or args[0] == 0:
            raise Undefined("DiracDelta at its singular point")
        return mpmath.mpf(0)
    if isinstance(expr, sympy.Max):
        return max(args)
    if isinstance(expr, sympy.Min):
        return min(args)
    for kind, fn in _SYMPY_INTERNAL.items():
        if isinstance(expr, kind):
            return _guarded(fn)(*args)
    raise Undefined(f"no numeric rule for {type(expr).__name__}")


def _is_integer(exponent_expr: sympy.Basic, value: MpFloat) -> bool:
    return bool(exponent_expr.is_integer) or value == int(value)
