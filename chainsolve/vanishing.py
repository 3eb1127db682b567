"""Vanishing and exploding gradients: the deep chain hₖ = act(w·hₖ₋₁ + b), its factors and |δ| per layer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

import mpmath
import sympy

from chainsolve import functions, wording
from chainsolve.errors import ChainsolveError
from chainsolve.record import record

#: Layers a chain may have: beyond it the tables stop being readable (and the work grows).
MAX_DEPTH = 200
DEFAULT_DEPTH = 20
#: The chain's parameters and their defaults: the input x, the weight w and the bias b.
DEFAULT_POINT: Mapping[str, sympy.Expr] = MappingProxyType(
    {"x": sympy.Rational(1, 2), "w": sympy.Integer(1), "b": sympy.Integer(0)}
)
#: Decimal digits every number is computed with (mpmath has no underflow: 1e-500 is kept).
WORKING_DIGITS = 50
#: An exact value is kept while its sympy form prints in at most this many characters: the
#: size of the printed form bounds both its operations and its digits.
EXACT_CHARACTERS = 48

#: Real is an mpmath mpf (mpmath has no types).
Real = Any
#: How |δ| changes from the output back to the input over the whole chain.
Trend = Literal["shrinks", "grows", "stays", "dies"]


@record
class Activation:
    """One activation the chain can use: its registry entry and its slope as mpmath computes it."""

    name: str
    slope: Callable[[Real, Real], Real]  # act′(a) from a and act(a)
    #: The largest act′ can be (a least upper bound).
    slope_bound: sympy.Rational

    @property
    def spec(self) -> functions.FunctionSpec:
        return functions.BY_NAME[self.name]


def _relu_slope(a: Real, value: Real) -> Real:
    # relu′(0) = 0: the registry's kink convention (functions.SPECS, relu).
    return mpmath.mpf(1) if a > 0 else mpmath.mpf(0)


#: The activations, in the order they are shown side by side.
ACTIVATIONS: Mapping[str, Activation] = MappingProxyType(
    {
        "sigmoid": Activation("sigmoid", lambda a, s: s * (1 - s), sympy.Rational(1, 4)),
        "tanh": Activation("tanh", lambda a, t: 1 - t**2, sympy.Integer(1)),
        "relu": Activation("relu", _relu_slope, sympy.Integer(1)),
        "softplus": Activation("softplus", lambda a, v: 1 / (1 + mpmath.exp(-a)), sympy.Integer(1)),
    }
)
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu")


@record
class Value:
    """A number of the chain: its decimal value (mpmath) and its exact form where that is cheap."""

    decimal: Real
    exact: sympy.Expr | None

    def __mul__(self, other: Value) -> Value:
        exact = None
        if self.exact is not None and other.exact is not None:
            exact = _cheap(self.exact * other.exact)
        return Value(self.decimal * other.decimal, exact)

    @property
    def size(self) -> Value:
        """|value|."""
        return Value(abs(self.decimal), None if self.exact is None else abs(self.exact))


@record
class Layer:
    """Layer k: aₖ = w·hₖ₋₁ + b, hₖ = act(aₖ), its slope act′(aₖ), factor act′(aₖ)·w, δₖ = ∂L/∂hₖ.

    Layer 0 is the input: h₀ = x and δ₀ = ∂L/∂x; it has no preactivation, slope or factor.
    """

    index: int
    preactivation: Value | None
    output: Value
    slope: Value | None
    factor: Value | None
    delta: Value
    at_kink: bool = False


@record
class Profile:
    """One activation's chain: its layers 0..n, from the input to the output L.

    In matrix form ``delta`` is ‖δₖ‖, ``factor`` is ‖δₖ₋₁‖/‖δₖ‖, ``slope`` the largest entry
    of act′(aₖ), ``output`` ‖hₖ‖, and ``steps`` the core's backward steps of the last layer.
    """

    activation: str
    layers: tuple[Layer, ...]
    steps: tuple[str, ...] = ()

    @property
    def input_delta(self) -> Value:
        """δ₀ = ∂L/∂x (its norm in matrix form)."""
        return self.layers[0].delta

    @property
    def change(self) -> Real:
        """|δ₀|/|δₙ|: how much the gradient grew or shrank over the whole chain."""
        with mpmath.workdps(WORKING_DIGITS):
            return abs(self.input_delta.decimal) / abs(self.layers[-1].delta.decimal)

    @property
    def trend(self) -> Trend:
        """How |δ| changes from the output δₙ back to δ₀: the product of the factors against 1."""
        change = self.change
        if change == 0:
            return "dies"
        return "shrinks" if change < 1 else "grows" if change > 1 else "stays"

    @property
    def mean_factor(self) -> Real:
        """The geometric mean of |factor| over the layers: (|δ₀|/|δₙ|)^(1/n)."""
        depth = len(self.layers) - 1
        with mpmath.workdps(WORKING_DIGITS):
            return mpmath.root(self.change, depth)

    @property
    def largest_factor(self) -> Real:
        """The largest |factor| of any layer (to set against the activation's bound)."""
        return max(abs(layer.factor.decimal) for layer in self.layers if layer.factor is not None)

    @property
    def kinks(self) -> tuple[int, ...]:
        """The layers whose preactivation sits exactly at the activation's kink."""
        return tuple(layer.index for layer in self.layers if layer.at_kink)


@record
class GradientStudy:
    """The same deep chain with each activation, at one point: what `chainsolve gradients` shows."""

    depth: int
    point: Mapping[str, sympy.Expr]
    profiles: tuple[Profile, ...]
    #: Matrix form: the width of every layer, W, and ‖W‖₂; None for the scalar chain.
    width: int | None = None
    weights: sympy.Matrix | None = None
    weight_norm: Real | None = None

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(profile.activation for profile in self.profiles)


def _cheap(expr: sympy.Expr) -> sympy.Expr | None:
    """``expr`` when its printed form is short (an exact value worth showing), else None."""
    return expr if len(str(expr)) <= EXACT_CHARACTERS else None


def _mpf(value: sympy.Expr) -> Real:
    """A real sympy number as an mpmath number at the working precision."""
    return mpmath.mpf(sympy.Float(value, WORKING_DIGITS + 10)._to_mpmath(mpmath.mp.prec))


def read_activations(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """The activations named (``"sigmoid,tanh"``), in the order given; each known, none twice."""
    if names is None:
        return DEFAULT_ACTIVATIONS
    listed = names.split(",") if isinstance(names, str) else list(names)
    chosen = tuple(name.strip() for name in listed)
    for name in chosen:
        if name not in ACTIVATIONS:
            raise ChainsolveError(
                "unknown_activation",
                wording.gradients_error_activation(name),
                hint=wording.gradients_hint_activations(tuple(ACTIVATIONS)),
            )
    if not chosen or len(set(chosen)) != len(chosen):
        raise ChainsolveError(
            "bad_activations",
            wording.gradients_error_activation_list(),
            hint=wording.gradients_hint_activations(tuple(ACTIVATIONS)),
        )
    return chosen


def read_point(given: Mapping[str, sympy.Expr] | None) -> dict[str, sympy.Expr]:
    """x, w and b: the defaults with the values given in their place; each a finite real number."""
    point = dict(DEFAULT_POINT)
    for name, value in (given or {}).items():
        if name not in DEFAULT_POINT:
            raise ChainsolveError(
                "bad_point", wording.gradients_error_point_name(name, tuple(DEFAULT_POINT))
            )
        if not (value.is_real and value.is_finite):
            raise ChainsolveError("bad_point", wording.gradients_error_point_value(name))
        point[name] = value
    return point


def check_depth(depth: int) -> int:
    """The depth itself when it is between 1 and :data:`MAX_DEPTH`; a clear error otherwise."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ChainsolveError("bad_depth", wording.gradients_error_depth(depth, MAX_DEPTH))
    return depth


def chain_profile(activation: Activation, depth: int, point: Mapping[str, sympy.Expr]) -> Profile:
    """The forward pass (aₖ, hₖ, act′(aₖ)) and the backward pass δₖ₋₁ = δₖ·act′(aₖ)·w of one chain."""
    spec = activation.spec
    with mpmath.workdps(WORKING_DIGITS):
        w = Value(_mpf(point["w"]), point["w"])
        b = Value(_mpf(point["b"]), point["b"])
        h = Value(_mpf(point["x"]), point["x"])
        forward: list[tuple[Value, Value, Value, Value, bool]] = []
        outputs = [h]
        for _ in range(depth):
            a = _affine(w, h, b)
            h = Value(spec.mpmath(a.decimal), _exact_apply(spec.sympy_class, a.exact))
            slope = Value(
                activation.slope(a.decimal, h.decimal), _exact_apply(spec.derivative, a.exact)
            )
            at_kink = bool(spec.kink) and a.decimal == 0
            forward.append((a, h, slope, slope * w, at_kink))
            outputs.append(h)
        deltas = [Value(mpmath.mpf(1), sympy.Integer(1))]
        for _, _, _, factor, _ in reversed(forward):
            deltas.append(deltas[-1] * factor)
        deltas.reverse()
        layers = [Layer(0, None, outputs[0], None, None, deltas[0])]
        for k, (a, out, slope, factor, at_kink) in enumerate(forward, start=1):
            layers.append(Layer(k, a, out, slope, factor, deltas[k], at_kink))
    return Profile(activation.name, tuple(layers))


def _affine(w: Value, h: Value, b: Value) -> Value:
    exact = None
    if w.exact is not None and h.exact is not None and b.exact is not None:
        exact = _cheap(w.exact * h.exact + b.exact)
    return Value(w.decimal * h.decimal + b.decimal, exact)


def _exact_apply(function: Callable[[sympy.Expr], sympy.Expr], argument: sympy.Expr | None) -> Any:
    return None if argument is None else _cheap(function(argument))


def gradient_study(
    depth: int = DEFAULT_DEPTH,
    activations: str | Sequence[str] | None = None,
    point: Mapping[str, sympy.Expr] | None = None,
    width: int | None = None,
) -> GradientStudy:
    """The chain of ``depth`` layers with each activation at ``point`` (x, w, b; defaults filled in).

    With a ``width`` the chain is in matrix form (:mod:`chainsolve.matrix.vanishing`): x and b
    are x·𝟙 and b·𝟙, W is w times a fixed matrix, L = sum(hₙ), and each δ is a vector.

    >>> study = gradient_study(3, "relu", {"w": sympy.Integer(2)})
    >>> [str(layer.delta.exact) for layer in study.profiles[0].layers]
    ['8', '4', '2', '1']
    """
    check_depth(depth)
    chosen = read_activations(activations)
    values = read_point(point)
    if width is not None:
        from chainsolve.matrix import vanishing as matrix_form

        matrix_form.check_width(width, depth)
        matrices = tuple(matrix_form.matrix_profile(name, depth, width, values) for name in chosen)
        weights = matrix_form.weights(width, values["w"])
        norm = matrix_form.spectral_norm(weights)
        return GradientStudy(depth, MappingProxyType(values), matrices, width, weights, norm)
    profiles = tuple(chain_profile(ACTIVATIONS[name], depth, values) for name in chosen)
    return GradientStudy(depth, MappingProxyType(values), profiles)


__all__ = [
    "ACTIVATIONS",
    "DEFAULT_ACTIVATIONS",
    "DEFAULT_DEPTH",
    "DEFAULT_POINT",
    "MAX_DEPTH",
    "GradientStudy",
    "Layer",
    "Profile",
    "Value",
    "chain_profile",
    "check_depth",
    "gradient_study",
    "read_activations",
    "read_point",
]
