"""The matrix problem as data: shapes, expression nodes with their positions, the problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

import sympy

from chainsolve.errors import Span
from chainsolve.record import record

__all__ = [
    "NO_SPAN",
    "SCALAR",
    "Add",
    "Adjoint",
    "Apply",
    "BinaryCrossEntropy",
    "Broadcast",
    "Constant",
    "CrossEntropy",
    "Declaration",
    "Divide",
    "Dot",
    "ElementDivide",
    "Hadamard",
    "Identity",
    "MatMul",
    "MatrixProblem",
    "Node",
    "Norm2",
    "Ones",
    "Power",
    "Prime",
    "ScalarMul",
    "Shape",
    "Softmax",
    "Sub",
    "SumAll",
    "Symbol",
    "Trace",
    "Transpose",
    "children",
]


@dataclass(frozen=True, slots=True, order=True)
class Shape:
    """The size of a matrix: ``rows`` × ``cols``.

    A vector of n entries is a column, n×1; a scalar is 1×1. A shape is always shown as
    ``rows×cols`` (``3×2``, a vector of 3 as ``3×1``, a scalar as ``1×1``), so that an error
    message names both sides of an operation in the same form.

    >>> str(Shape(3, 1)), Shape(3, 2).transposed()
    ('3×1', Shape(rows=2, cols=3))
    """

    rows: int
    cols: int

    @property
    def is_scalar(self) -> bool:
        """Is it 1×1?"""
        return self.rows == 1 and self.cols == 1

    @property
    def is_column(self) -> bool:
        """Is it a column vector (n×1, a scalar included)?"""
        return self.cols == 1

    @property
    def size(self) -> int:
        """How many entries it has."""
        return self.rows * self.cols

    def transposed(self) -> Shape:
        """The shape of the transpose."""
        return Shape(self.cols, self.rows)

    def __str__(self) -> str:
        return f"{self.rows}×{self.cols}"


SCALAR = Shape(1, 1)


# Every node carries ``span``: where it stands in the text the user typed (the whole
# expression), for errors with a caret. Binary operations carry ``op`` as well: the operator,
# which is where a shape error points.


@record
class Symbol:
    """A name: an input (declared with a shape) or a defined intermediate."""

    name: str
    span: Span


@record
class Constant:
    """A number, exact (a decimal is read as the fraction it writes); its shape is 1×1."""

    value: sympy.Rational
    span: Span


@record
class MatMul:
    """``left*right``: the matrix product (a scalar factor makes it a :class:`ScalarMul`)."""

    left: Node
    right: Node
    span: Span
    op: Span


@record
class ScalarMul:
    """``scalar*operand`` with a 1×1 ``scalar``: every entry of ``operand`` times it."""

    scalar: Node
    operand: Node
    span: Span
    op: Span


@record
class Divide:
    """``operand/scalar`` with a 1×1 ``scalar``: every entry divided by it."""

    operand: Node
    scalar: Node
    span: Span
    op: Span


@record
class Hadamard:
    """``left .* right`` (also ``⊙``): the elementwise product of two equal shapes."""

    left: Node
    right: Node
    span: Span
    op: Span


@record
class Add:
    """``left + right`` of two equal shapes."""

    left: Node
    right: Node
    span: Span
    op: Span


@record
class Sub:
    """``left - right`` of two equal shapes."""

    left: Node
    right: Node
    span: Span
    op: Span


@record
class Broadcast:
    """A 1×1 ``operand`` copied to every entry of ``shape``: the scalar side of ``x + 1``,
    ``2 .* x`` or ``W*x + b`` (b a 1×1), as NumPy and PyTorch broadcast it. Shape inference
    puts it in; it is written as its operand."""

    operand: Node
    shape: Shape
    span: Span


@record
class Transpose:
    """``A'`` or ``A^T``."""

    operand: Node
    span: Span


@record
class Apply:
    """A function of one argument applied to every entry (``sigmoid(a)``), by registry name."""

    function: str
    operand: Node
    span: Span


@record
class SumAll:
    """``sum(A)``: the sum of every entry, 1×1."""

    operand: Node
    span: Span


@record
class Dot:
    """``dot(u, v)``: the sum of the products of corresponding entries, 1×1."""

    left: Node
    right: Node
    span: Span


@record
class Norm2:
    """``norm2(v)``: the Euclidean (for a matrix, Frobenius) norm √(Σ vᵢ²), 1×1."""

    operand: Node
    span: Span


@record
class Trace:
    """``trace(A)`` of a square matrix: the sum of its diagonal, 1×1."""

    operand: Node
    span: Span


@record
class Softmax:
    """``softmax(z)`` of a column vector: pᵢ = e^(zᵢ) / Σⱼ e^(zⱼ)."""

    operand: Node
    span: Span


@record
class CrossEntropy:
    """``cross_entropy(p, y)`` of two column vectors: −Σᵢ yᵢ·ln(pᵢ), 1×1."""

    predicted: Node
    target: Node
    span: Span


@record
class BinaryCrossEntropy:
    """``binary_cross_entropy(p, y)`` of two column vectors: −Σᵢ (yᵢ·ln(pᵢ) + (1 − yᵢ)·ln(1 − pᵢ)), 1×1."""

    predicted: Node
    target: Node
    span: Span


@record
class Power:
    """``base^exponent`` of a 1×1 ``base`` and a number ``exponent``."""

    base: Node
    exponent: sympy.Rational
    span: Span
    op: Span


# The nodes below appear in the backward pass only (the gradients chainsolve writes), never in
# a problem as typed; their span is NO_SPAN.
NO_SPAN = Span(0, 0)


@record
class Adjoint:
    """δ for ``name``: ∂L/∂name, the gradient of the target by it (the shape of ``name``)."""

    name: str
    span: Span = NO_SPAN


@record
class Ones:
    """The matrix of ones of ``shape`` (𝟙): ∂ sum(A)/∂A."""

    shape: Shape
    span: Span = NO_SPAN


@record
class Identity:
    """The n×n identity matrix I: ∂ trace(A)/∂A."""

    size: int
    span: Span = NO_SPAN


@record
class Prime:
    """F′ applied to every entry of ``operand``, F by its registry name (σ′(a))."""

    function: str
    operand: Node
    span: Span = NO_SPAN


@record
class ElementDivide:
    """``left ./ right`` (also ``⊘``): each entry of ``left`` divided by the same entry of
    ``right``. Typed in a problem, or written by the backward pass (its spans then NO_SPAN)."""

    left: Node
    right: Node
    span: Span = NO_SPAN
    op: Span = NO_SPAN


Node = Union[  # noqa: UP007 (a runtime alias: isinstance checks and older Pythons)
    Symbol,
    Constant,
    MatMul,
    ScalarMul,
    Divide,
    Hadamard,
    Add,
    Sub,
    Broadcast,
    Transpose,
    Apply,
    SumAll,
    Dot,
    Norm2,
    Trace,
    Softmax,
    CrossEntropy,
    BinaryCrossEntropy,
    Power,
    Adjoint,
    Ones,
    Identity,
    Prime,
    ElementDivide,
]


def children(node: Node) -> tuple[Node, ...]:
    """The operands of ``node``, left to right (none for a symbol or a constant)."""
    if isinstance(node, Symbol | Constant | Adjoint | Ones | Identity):
        return ()
    if isinstance(node, MatMul | Hadamard | Add | Sub | Dot | ElementDivide):
        return (node.left, node.right)
    if isinstance(node, ScalarMul):
        return (node.scalar, node.operand)
    if isinstance(node, Divide):
        return (node.operand, node.scalar)
    if isinstance(node, CrossEntropy | BinaryCrossEntropy):
        return (node.predicted, node.target)
    if isinstance(node, Power):
        return (node.base,)
    return (node.operand,)


@record
class Declaration:
    """``name: shape`` as written (in ``--shapes`` or in the problem), with its position."""

    name: str
    shape: Shape
    span: Span


@dataclass(frozen=True)
class MatrixProblem:
    """A problem in vectors and matrices.

    ``definitions`` in the order written (name → expression), ``shapes`` the declared shape of
    every input (and of any intermediate declared as a check), ``inputs`` the names used but
    not defined, in order of first use, ``target`` the last defined name (a 1×1 loss), ``wrt``
    the inputs to differentiate by. ``source`` is the problem text every span points into.
    """

    source: str
    definitions: tuple[tuple[str, Node], ...]
    shapes: Mapping[str, Shape]
    inputs: tuple[str, ...]
    target: str
    wrt: tuple[str, ...]

    def definition(self, name: str) -> Node | None:
        """The expression ``name`` is defined as, or None for an input."""
        return dict(self.definitions).get(name)

    @property
    def defined(self) -> tuple[str, ...]:
        """The defined names, in order."""
        return tuple(name for name, _ in self.definitions)
