"""Shape inference: every node's shape, and an error naming the operation and both shapes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from chainsolve.errors import Span
from chainsolve.matrix.lexer import problem_error_at
from chainsolve.matrix.model import (
    SCALAR,
    Add,
    Apply,
    BinaryCrossEntropy,
    Broadcast,
    Constant,
    CrossEntropy,
    Divide,
    Dot,
    ElementDivide,
    Hadamard,
    MatMul,
    MatrixProblem,
    Node,
    Norm2,
    Power,
    ScalarMul,
    Shape,
    Softmax,
    Sub,
    SumAll,
    Symbol,
    Trace,
    Transpose,
)

__all__ = ["ShapedProblem", "infer_shapes"]


@dataclass(frozen=True)
class ShapedProblem:
    """A problem whose shapes all fit: ``problem`` with each ``*`` by a 1×1 factor read as a
    scalar multiple, ``shapes`` of every name (inputs and definitions), ``node_shapes`` of
    every node."""

    problem: MatrixProblem
    shapes: Mapping[str, Shape]
    node_shapes: Mapping[Node, Shape]

    def shape(self, node: Node) -> Shape:
        """The shape of a node of :attr:`problem`."""
        return self.node_shapes[node]


class _Inference:
    def __init__(self, problem: MatrixProblem) -> None:
        self.problem = problem
        self.source = problem.source
        self.names: dict[str, Shape] = {}
        self.nodes: dict[Node, Shape] = {}
        self.defined = set(problem.defined)

    def error(self, code: str, what: str, span: Span, hint: str | None = None) -> Exception:
        return problem_error_at(code, what, self.source, span, hint)

    def text(self, node: Node) -> str:
        return self.source[node.span.start : node.span.end].strip()

    def mismatch(self, node: Node, left: Shape, right: Shape, op: str, rule: str) -> Exception:
        assert not isinstance(node, Symbol | Constant)
        span = getattr(node, "op", node.span)
        return self.error(
            "shape_mismatch",
            f"shapes do not fit in {self.text(node)}: ({left}){op}({right})",
            span,
            rule,
        )

    def visit(self, node: Node) -> tuple[Node, Shape]:
        """``node`` resolved (``*`` by a scalar is :class:`ScalarMul`) and its shape."""
        resolved, shape = self.infer(node)
        self.nodes[resolved] = shape
        return resolved, shape

    def infer(self, node: Node) -> tuple[Node, Shape]:
        if isinstance(node, Symbol):
            return node, self.symbol(node)
        if isinstance(node, Constant):
            return node, SCALAR
        if isinstance(node, MatMul):
            return self.matmul(node)
        if isinstance(node, ScalarMul | Divide):
            return self.scaled(node)
        if isinstance(node, Hadamard | ElementDivide | Add | Sub):
            return self.elementwise(node)
        if isinstance(node, Transpose):
            operand, shape = self.visit(node.operand)
            return dataclasses.replace(node, operand=operand), shape.transposed()
        if isinstance(node, Apply | Softmax):
            return self.unary_same(node)
        if isinstance(node, SumAll | Norm2 | Trace):
            return self.reduction(node)
        if isinstance(node, Dot | CrossEntropy | BinaryCrossEntropy):
            return self.pairing(node)
        # The backward-pass nodes (Adjoint, Ones, …) are never in a problem as read.
        assert isinstance(node, Power), node
        return self.power(node)

    def symbol(self, node: Symbol) -> Shape:
        known = self.names.get(node.name)
        if known is not None:
            return known
        if node.name in self.defined:
            raise self.error(
                "used_before_definition",
                f"{node.name} is used before its definition",
                node.span,
                "define each name before the definitions that use it",
            )
        raise self.error(
            "undeclared_name",
            f"{node.name} has no shape",
            node.span,
            f'declare it (--shapes "{node.name}: 3" for a vector of 3, '
            f'"{node.name}: 3x2" for a matrix) or define it',
        )

    def matmul(self, node: MatMul) -> tuple[Node, Shape]:
        left, left_shape = self.visit(node.left)
        right, right_shape = self.visit(node.right)
        if left_shape.is_scalar:
            return ScalarMul(left, right, node.span, node.op), right_shape
        if right_shape.is_scalar:
            return ScalarMul(right, left, node.span, node.op), left_shape
        if left_shape.cols != right_shape.rows:
            raise self.mismatch(
                node,
                left_shape,
                right_shape,
                "·",
                f"a matrix product needs as many columns on the left ({left_shape.cols}) "
                f"as rows on the right ({right_shape.rows})",
            )
        resolved = dataclasses.replace(node, left=left, right=right)
        return resolved, Shape(left_shape.rows, right_shape.cols)

    def scaled(self, node: ScalarMul | Divide) -> tuple[Node, Shape]:
        scalar, scalar_shape = self.visit(node.scalar)
        operand, shape = self.visit(node.operand)
        if not scalar_shape.is_scalar:
            raise self.error(
                "shape_mismatch",
                f"{self.text(node.scalar)} is {scalar_shape}; only a 1×1 can divide",
                node.op,
                "to divide entry by entry write u ./ v",
            )
        return dataclasses.replace(node, scalar=scalar, operand=operand), shape

    def elementwise(self, node: Hadamard | ElementDivide | Add | Sub) -> tuple[Node, Shape]:
        left, left_shape = self.visit(node.left)
        right, right_shape = self.visit(node.right)
        # A 1×1 side is copied to every entry of the other (NumPy's broadcasting, scalars only).
        if left_shape.is_scalar and not right_shape.is_scalar:
            left, left_shape = self.broadcast(left, right_shape), right_shape
        elif right_shape.is_scalar and not left_shape.is_scalar:
            right, right_shape = self.broadcast(right, left_shape), left_shape
        if left_shape != right_shape:
            sign = {Hadamard: "⊙", ElementDivide: "⊘", Add: " + ", Sub: " - "}[type(node)]
            raise self.mismatch(
                node,
                left_shape,
                right_shape,
                sign,
                "both sides of an elementwise operation have the same shape "
                "(only a 1×1 is broadcast to the other side's shape)",
            )
        return dataclasses.replace(node, left=left, right=right), left_shape

    def broadcast(self, scalar: Node, shape: Shape) -> Broadcast:
        """The 1×1 ``scalar`` copied to every entry of ``shape``."""
        node = Broadcast(scalar, shape, scalar.span)
        self.nodes[node] = shape
        return node

    def unary_same(self, node: Apply | Softmax) -> tuple[Node, Shape]:
        operand, shape = self.visit(node.operand)
        if isinstance(node, Softmax) and not shape.is_column:
            raise self.error(
                "shape_mismatch",
                f"softmax of a {shape}: softmax takes a column vector",
                node.span,
            )
        return dataclasses.replace(node, operand=operand), shape

    def reduction(self, node: SumAll | Norm2 | Trace) -> tuple[Node, Shape]:
        operand, shape = self.visit(node.operand)
        if isinstance(node, Trace) and shape.rows != shape.cols:
            raise self.error(
                "shape_mismatch",
                f"trace of a {shape} matrix: the trace needs a square matrix",
                node.span,
            )
        return dataclasses.replace(node, operand=operand), SCALAR

    def pairing(self, node: Dot | CrossEntropy | BinaryCrossEntropy) -> tuple[Node, Shape]:
        first, second = (
            (node.left, node.right) if isinstance(node, Dot) else (node.predicted, node.target)
        )
        first, first_shape = self.visit(first)
        second, second_shape = self.visit(second)
        name = {Dot: "dot", CrossEntropy: "cross_entropy"}.get(type(node), "binary_cross_entropy")
        if first_shape != second_shape:
            raise self.error(
                "shape_mismatch",
                f"shapes do not fit in {self.text(node)}: {name} of ({first_shape}) "
                f"and ({second_shape})",
                node.span,
                f"{name} takes two arguments of the same shape",
            )
        if isinstance(node, Dot):
            return dataclasses.replace(node, left=first, right=second), SCALAR
        if not first_shape.is_column:
            raise self.error(
                "shape_mismatch",
                f"{name} of a {first_shape}: it takes column vectors",
                node.span,
            )
        return dataclasses.replace(node, predicted=first, target=second), SCALAR

    def power(self, node: Power) -> tuple[Node, Shape]:
        base, shape = self.visit(node.base)
        if not shape.is_scalar:
            raise self.error(
                "shape_mismatch",
                f"{self.text(node.base)} is {shape}; a power ^ is of a 1×1",
                node.op,
                "for the squares of the entries write v .* v; for a squared length norm2(v)^2",
            )
        return dataclasses.replace(node, base=base), SCALAR

    def definitions(self) -> list[tuple[str, Node]]:
        resolved = []
        for name, node in self.problem.definitions:
            new, shape = self.visit(node)
            declared = self.problem.shapes.get(name)
            if declared is not None and declared != shape:
                raise self.error(
                    "shape_mismatch",
                    f"{name} is declared {declared} but its definition is {shape}",
                    node.span,
                )
            self.names[name] = shape
            resolved.append((name, new))
        return resolved


def infer_shapes(problem: MatrixProblem) -> ShapedProblem:
    """Every shape of ``problem``; a :class:`ProblemError` with a caret where two do not fit.

    >>> from chainsolve.matrix.parse import parse_matrix_problem
    >>> shaped = infer_shapes(parse_matrix_problem("a = W*x; L = sum(a)", "x: 2, W: 3x2"))
    >>> str(shaped.shapes["a"]), str(shaped.shapes["L"])
    ('3×1', '1×1')
    """
    inference = _Inference(problem)
    for name in problem.inputs:
        if name in problem.shapes:
            inference.names[name] = problem.shapes[name]
    definitions = inference.definitions()
    target, node = definitions[-1]
    if not inference.names[target].is_scalar:
        raise inference.error(
            "target_not_scalar",
            f"{target} is {inference.names[target]}; the last definition is the loss, a 1×1",
            node.span,
            "reduce it to one number: sum(…), norm2(…)^2, dot(…, …), cross_entropy(…, …)",
        )
    resolved = dataclasses.replace(problem, definitions=tuple(definitions))
    return ShapedProblem(resolved, dict(inference.names), dict(inference.nodes))
