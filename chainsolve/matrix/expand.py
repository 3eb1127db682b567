"""Matrices into their entries: each symbol a matrix of scalar symbols, each definition of scalar expressions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy

from chainsolve.functions import BY_NAME, SPELLINGS
from chainsolve.matrix.model import (
    Add,
    Adjoint,
    Apply,
    BinaryCrossEntropy,
    Broadcast,
    Constant,
    CrossEntropy,
    Divide,
    Dot,
    ElementDivide,
    Hadamard,
    Identity,
    MatMul,
    Node,
    Norm2,
    Ones,
    Power,
    Prime,
    ScalarMul,
    Shape,
    Softmax,
    Sub,
    SumAll,
    Symbol,
    Trace,
    Transpose,
)
from chainsolve.matrix.shapes import ShapedProblem
from chainsolve.problem import make_symbol

__all__ = [
    "Expansion",
    "derivative_of",
    "entries_of",
    "entry_name",
    "entry_symbols",
    "expand",
    "function_of",
]

#: A name's matrix of entries: what a :class:`Symbol` stands for when its node is expanded.
Environment = Mapping[str, sympy.Matrix]


def entry_name(name: str, row: int, col: int, shape: Shape) -> str:
    """The name of one entry, counted from 1: ``W1_12``, ``x_2`` for a vector, ``b`` for a 1×1.

    Beyond 9 rows or columns the indices are separated: ``W_12,3``.

    >>> entry_name("W1", 0, 1, Shape(3, 2)), entry_name("x", 1, 0, Shape(2, 1))
    ('W1_12', 'x_2')
    """
    if shape.is_scalar:
        return name
    if shape.cols == 1:
        return f"{name}_{row + 1}"
    if max(shape.rows, shape.cols) > 9:
        return f"{name}_{row + 1},{col + 1}"
    return f"{name}_{row + 1}{col + 1}"


def entry_symbols(name: str, shape: Shape) -> sympy.Matrix:
    """The matrix of ``name``'s entries, each a real scalar symbol."""
    return sympy.Matrix(
        shape.rows,
        shape.cols,
        lambda i, j: make_symbol(entry_name(name, i, j, shape)),
    )


def function_of(name: str) -> Callable[[sympy.Expr], sympy.Expr]:
    """The sympy function a registry name applies to one entry."""
    spec = BY_NAME.get(name)
    if spec is not None:
        return spec.sympy_class
    return SPELLINGS[name]


def _total(matrix: sympy.Matrix) -> sympy.Expr:
    return sympy.Add(*matrix)


def _one(value: sympy.Expr) -> sympy.Matrix:
    return sympy.Matrix([[value]])


def _scalar(matrix: sympy.Matrix) -> sympy.Expr:
    return matrix[0, 0]


def entries_of(node: Node, names: Environment, adjoints: Environment | None = None) -> sympy.Matrix:
    """``node`` as a sympy Matrix of scalar expressions, each name as its matrix in ``names``
    (and each δ of the backward pass as its matrix in ``adjoints``).

    This is the definition of every operation, entry by entry: what the oracle differentiates.
    """
    return _Entries(names, adjoints or {}).of(node)


class _Entries:
    """The walk of :func:`entries_of`, with its environments."""

    def __init__(self, names: Environment, adjoints: Environment) -> None:
        self.names = names
        self.adjoints = adjoints

    def of(self, node: Node) -> sympy.Matrix:
        if isinstance(node, Symbol | Constant | Adjoint | Ones | Identity):
            return self.leaf(node)
        if isinstance(node, MatMul):
            return self.of(node.left) * self.of(node.right)
        if isinstance(node, ScalarMul):
            return _scalar(self.of(node.scalar)) * self.of(node.operand)
        if isinstance(node, Divide):
            return self.of(node.operand) / _scalar(self.of(node.scalar))
        if isinstance(node, Hadamard):
            return self.of(node.left).multiply_elementwise(self.of(node.right))
        if isinstance(node, ElementDivide):
            left, right = self.of(node.left), self.of(node.right)
            return sympy.Matrix(left.rows, left.cols, lambda i, j: left[i, j] / right[i, j])
        if isinstance(node, Add):
            return self.of(node.left) + self.of(node.right)
        if isinstance(node, Sub):
            return self.of(node.left) - self.of(node.right)
        if isinstance(node, Transpose):
            return self.of(node.operand).T
        if isinstance(node, Broadcast):
            value = _scalar(self.of(node.operand))
            return sympy.Matrix(node.shape.rows, node.shape.cols, lambda i, j: value)
        if isinstance(node, Apply):
            return self.of(node.operand).applyfunc(function_of(node.function))
        if isinstance(node, Prime):
            return self.of(node.operand).applyfunc(derivative_of(node.function))
        return self.reduction(node)

    def leaf(self, node: Symbol | Constant | Adjoint | Ones | Identity) -> sympy.Matrix:
        if isinstance(node, Symbol):
            return self.names[node.name]
        if isinstance(node, Constant):
            return _one(node.value)
        if isinstance(node, Adjoint):
            return self.adjoints[node.name]
        if isinstance(node, Ones):
            return sympy.ones(node.shape.rows, node.shape.cols)
        return sympy.eye(node.size)

    def reduction(self, node: Node) -> sympy.Matrix:
        if isinstance(node, SumAll):
            return _one(_total(self.of(node.operand)))
        if isinstance(node, Dot):
            return _one(_total(self.of(node.left).multiply_elementwise(self.of(node.right))))
        if isinstance(node, Norm2):
            operand = self.of(node.operand)
            return _one(sympy.sqrt(_total(operand.applyfunc(lambda entry: entry**2))))
        if isinstance(node, Trace):
            return _one(self.of(node.operand).trace())
        if isinstance(node, Softmax):
            exponentials = self.of(node.operand).applyfunc(sympy.exp)
            return exponentials / _total(exponentials)
        if isinstance(node, CrossEntropy):
            logs = self.of(node.predicted).applyfunc(sympy.log)
            return _one(-_total(self.of(node.target).multiply_elementwise(logs)))
        if isinstance(node, BinaryCrossEntropy):
            predicted, target = self.of(node.predicted), self.of(node.target)
            return _one(
                -sum(
                    (
                        y * sympy.log(p) + (1 - y) * sympy.log(1 - p)
                        for p, y in zip(predicted, target, strict=True)
                    ),
                    sympy.S.Zero,
                )
            )
        assert isinstance(node, Power), node
        return _one(_scalar(self.of(node.base)) ** node.exponent)


def derivative_of(name: str) -> Callable[[sympy.Expr], sympy.Expr]:
    """F′ of a function of the language for one entry, from its registry entry (σ′ = σ·(1 − σ))."""
    spec = BY_NAME.get(name)
    if spec is not None:
        return spec.derivative
    # √u is a spelling of u^(1/2): the power rule.
    assert name == "sqrt", name
    return lambda u: 1 / (2 * sympy.sqrt(u))


@dataclass(frozen=True)
class Expansion:
    """Every name of a problem in entries.

    ``symbols``: each name (inputs and intermediates) as its matrix of entry symbols;
    ``local``: each definition in the entries of the names it uses directly;
    ``flat``: each definition in the entries of the inputs alone (the flattened problem).
    """

    shaped: ShapedProblem
    symbols: Mapping[str, sympy.Matrix]
    local: Mapping[str, sympy.Matrix]
    flat: Mapping[str, sympy.Matrix]

    def to_inputs(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with every intermediate entry replaced by its expression in the inputs."""
        return expr.xreplace(self.flattening)

    @property
    def flattening(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each intermediate entry symbol → its expression in the inputs."""
        mapping: dict[sympy.Symbol, sympy.Expr] = {}
        for name, matrix in self.flat.items():
            for symbol, value in zip(self.symbols[name], matrix, strict=True):
                mapping[symbol] = value
        return mapping

    def flattened_from(self, name: str) -> sympy.Expr:
        """The target in the entries of ``name`` (kept as symbols) and of the inputs.

        Every definition after ``name`` is expanded; those before it are expanded into the
        inputs (they cannot depend on ``name``). Differentiating this by an entry of ``name``
        is ∂L/∂(that entry) through every path, the oracle of δ for ``name``.
        """
        problem = self.shaped.problem
        defined = problem.defined
        position = defined.index(name) if name in defined else -1
        names: dict[str, sympy.Matrix] = {}
        for input_name in problem.inputs:
            names[input_name] = self.symbols[input_name]
        for index, (defined_name, node) in enumerate(problem.definitions):
            if index < position:
                names[defined_name] = self.flat[defined_name]
            elif index == position:
                names[defined_name] = self.symbols[defined_name]
            else:
                names[defined_name] = entries_of(node, names)
        return _scalar(names[problem.target])


def expand(shaped: ShapedProblem) -> Expansion:
    """Every input and definition of ``shaped`` in entries."""
    problem = shaped.problem
    symbols = {name: entry_symbols(name, shape) for name, shape in shaped.shapes.items()}
    local: dict[str, sympy.Matrix] = {}
    flat: dict[str, sympy.Matrix] = {}
    flat_names: dict[str, sympy.Matrix] = {name: symbols[name] for name in problem.inputs}
    for name, node in problem.definitions:
        local[name] = entries_of(node, symbols)
        flat[name] = entries_of(node, flat_names)
        flat_names[name] = flat[name]
    return Expansion(shaped, symbols, local, flat)
