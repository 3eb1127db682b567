"""Matrix expressions in MathML, and names with their shapes and number matrices in LaTeX and MathML."""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from chainsolve import filters
from chainsolve.functions import BY_NAME
from chainsolve.matrix import model as m
from chainsolve.matrix import printing
from chainsolve.problem import make_symbol

__all__ = [
    "gradient_latex",
    "gradient_mathml",
    "matrix_latex",
    "matrix_mathml",
    "name_latex",
    "name_mathml",
    "node_mathml",
    "shape_latex",
    "shape_mathml",
    "shaped_latex",
    "shaped_mathml",
]

_SUM, _PRODUCT, _ATOM = 1, 2, 5  # printing's precedence levels (sum, product, atom)


def name_latex(name: str) -> str:
    """A name as the other formats write it: ``W1`` → ``W_{1}``, ``theta`` → ``\\theta``."""
    return filters.latex_expr(make_symbol(name))


def name_mathml(name: str) -> str:
    """A name as MathML content: ``W1`` → ``<msub><mi>W</mi><mi>1</mi></msub>``."""
    return filters.mathml_expr(make_symbol(name))


def shape_latex(shape: m.Shape) -> str:
    """``3\\times 2``."""
    return rf"{shape.rows}\times {shape.cols}"


def shape_mathml(shape: m.Shape) -> str:
    return f"<mrow><mn>{shape.rows}</mn><mo>×</mo><mn>{shape.cols}</mn></mrow>"


def shaped_latex(name: str, shape: m.Shape) -> str:
    """A name with its shape written under it: ``\\underset{3\\times 2}{W_{1}}``."""
    return rf"\underset{{{shape_latex(shape)}}}{{{name_latex(name)}}}"


def shaped_mathml(name: str, shape: m.Shape) -> str:
    return f"<munder>{name_mathml(name)}{shape_mathml(shape)}</munder>"


def gradient_latex(target: str, name: str) -> str:
    """``\\frac{\\partial L}{\\partial W_{1}}``."""
    return rf"\frac{{\partial {name_latex(target)}}}{{\partial {name_latex(name)}}}"


def gradient_mathml(target: str, name: str) -> str:
    return (
        f"<mfrac><mrow><mo>∂</mo>{name_mathml(target)}</mrow>"
        f"<mrow><mo>∂</mo>{name_mathml(name)}</mrow></mfrac>"
    )


def adjoint_latex(name: str) -> str:
    """δ for an intermediate: ``\\delta_{a}``."""
    return rf"\delta_{{{name_latex(name)}}}"


def adjoint_mathml(name: str) -> str:
    return f"<msub><mi>δ</mi>{name_mathml(name)}</msub>"


# --------------------------------------------------------------------------- numbers


def matrix_latex(rows: Sequence[Sequence[str]]) -> str:
    """Numbers already written as LaTeX, as a ``bmatrix`` (a 1×1 is the number alone)."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    body = r" \\ ".join(" & ".join(row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def matrix_mathml(rows: Sequence[Sequence[str]]) -> str:
    """Numbers already written as MathML, as an ``mtable`` in brackets (a 1×1 alone)."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    body = "".join(
        "<mtr>" + "".join(f"<mtd>{entry}</mtd>" for entry in row) + "</mtr>" for row in rows
    )
    return f'<mrow><mo>[</mo><mtable columnalign="right">{body}</mtable><mo>]</mo></mrow>'


# --------------------------------------------------------------------------- expressions


def _mo(text: str) -> str:
    return f"<mo>{filters.MINUS if text == '-' else text}</mo>"


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _fenced(inner: str) -> str:
    return _row('<mo stretchy="false">(</mo>', inner, '<mo stretchy="false">)</mo>')


def _function_symbol(name: str) -> str:
    spec = BY_NAME.get(name)
    return spec.printed_name if spec is not None else name


class _MathML:
    """The MathML twin of :mod:`chainsolve.matrix.printing`'s walk: the same parentheses (its
    precedence rule), each piece an element instead of a string."""

    def wrapped(self, node: m.Node, at_least: int) -> str:
        text = self.show(node)
        return _fenced(text) if printing._precedence(node) < at_least else text

    def constant(self, value: sympy.Rational) -> str:
        if value.is_integer:
            return _row(_mo("-"), f"<mn>{-value}</mn>") if value < 0 else f"<mn>{value}</mn>"
        fraction = f"<mfrac><mn>{abs(value.p)}</mn><mn>{value.q}</mn></mfrac>"
        return _row(_mo("-"), fraction) if value < 0 else fraction

    def show(self, node: m.Node) -> str:
        if isinstance(node, m.Symbol):
            return name_mathml(node.name)
        if isinstance(node, m.Constant):
            return self.constant(node.value)
        if isinstance(node, m.Adjoint):
            return adjoint_mathml(node.name)
        if isinstance(node, m.Ones):
            return '<mn mathvariant="bold">1</mn>'
        if isinstance(node, m.Identity):
            return "<mi>I</mi>"
        if isinstance(node, m.Add | m.Sub):
            return self.sum(node)
        if isinstance(node, m.ScalarMul):
            return self.scalar_multiple(node)
        if isinstance(node, m.MatMul | m.Hadamard | m.Divide | m.ElementDivide):
            return self.binary(node)
        if isinstance(node, m.Transpose):
            return f"<msup>{self.wrapped(node.operand, _ATOM)}<mi>T</mi></msup>"
        if isinstance(node, m.Power):
            exponent = self.constant(node.exponent)
            return f"<msup>{self.wrapped(node.base, _ATOM)}{exponent}</msup>"
        return self.applied(node)

    def sum(self, node: m.Add | m.Sub) -> str:
        negated = printing._negated(node.right) if isinstance(node, m.Add) else None
        if negated is not None:
            return _row(self.wrapped(node.left, _SUM), _mo("-"), self.wrapped(negated, _SUM + 1))
        sign = "+" if isinstance(node, m.Add) else "-"
        right = _SUM + 1 if isinstance(node, m.Sub) else _SUM
        return _row(self.wrapped(node.left, _SUM), _mo(sign), self.wrapped(node.right, right))

    def scalar_multiple(self, node: m.ScalarMul) -> str:
        if printing._is_minus_one(node.scalar):
            return _row(_mo("-"), self.wrapped(node.operand, _PRODUCT + 1))
        chained = isinstance(node.operand, m.MatMul | m.ScalarMul)
        right = self.wrapped(node.operand, _PRODUCT if chained else _PRODUCT + 1)
        return _row(self.wrapped(node.scalar, _PRODUCT), _mo("·"), right)

    def binary(self, node: m.MatMul | m.Hadamard | m.Divide | m.ElementDivide) -> str:
        if isinstance(node, m.Divide):
            return f"<mfrac>{self.show(node.operand)}{self.show(node.scalar)}</mfrac>"
        sign = {m.MatMul: "&#8290;", m.Hadamard: "⊙", m.ElementDivide: "⊘"}[type(node)]
        mixed = isinstance(node.left, m.MatMul | m.Hadamard | m.ElementDivide) and type(
            node.left
        ) is not type(node)
        left = self.wrapped(node.left, _PRODUCT + 1 if mixed else _PRODUCT)
        return _row(left, f"<mo>{sign}</mo>", self.wrapped(node.right, _PRODUCT + 1))

    def call(self, name: str, *arguments: m.Node) -> str:
        inside = _mo(",").join(self.show(argument) for argument in arguments)
        return _row(f"<mi>{name}</mi>", _fenced(inside))

    def applied(self, node: m.Node) -> str:
        if isinstance(node, m.Apply | m.Prime):
            mark = '<mo lspace="0" rspace="0">′</mo>' if isinstance(node, m.Prime) else ""
            name = f"<mi>{_function_symbol(node.function)}</mi>"
            return _row(name, mark, _fenced(self.show(node.operand)))
        if isinstance(node, m.Norm2):
            bar = '<mo fence="true" stretchy="false">‖</mo>'
            return _row(bar, self.show(node.operand), bar)
        if isinstance(node, m.SumAll):
            return self.call("sum", node.operand)
        if isinstance(node, m.Trace):
            return self.call("tr", node.operand)
        if isinstance(node, m.Softmax):
            return self.call("softmax", node.operand)
        if isinstance(node, m.Dot):
            return self.call("dot", node.left, node.right)
        if isinstance(node, m.BinaryCrossEntropy):
            return self.call("binary_cross_entropy", node.predicted, node.target)
        assert isinstance(node, m.CrossEntropy), node
        return self.call("cross_entropy", node.predicted, node.target)


def node_mathml(node: m.Node) -> str:
    """A matrix expression as MathML content (put it inside ``<math>``).

    >>> from chainsolve.matrix.model import NO_SPAN as S
    >>> node_mathml(m.MatMul(m.Adjoint("a"), m.Transpose(m.Symbol("x", S), S), S, S))
    '<mrow><msub><mi>δ</mi><mi>a</mi></msub><mo>&#8290;</mo><msup><mi>x</mi><mi>T</mi></msup></mrow>'
    """
    return _MathML().show(node)
