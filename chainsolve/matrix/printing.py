"""Matrix expressions as text (W2ᵀ·δ_z) or LaTeX, with the fewest parentheses that keep the meaning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sympy

from chainsolve.functions import BY_NAME
from chainsolve.matrix.model import (
    Add,
    Adjoint,
    Apply,
    BinaryCrossEntropy,
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
    Softmax,
    Sub,
    SumAll,
    Symbol,
    Trace,
    Transpose,
)

__all__ = ["adjoint_text", "gradient_text", "latex", "show"]

Style = Literal["text", "latex"]

_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = range(1, 6)
_AS_CALLS = {"exp": r"\exp", "abs": r"\operatorname{abs}"}
_SUPERSCRIPTS = dict(zip("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻", strict=True))


@dataclass(frozen=True)
class _Spelling:
    matmul: str
    hadamard: str
    divide_entries: str
    transpose: str
    ones: str
    prime: str
    norm: tuple[str, str]


_SPELLINGS = {
    "text": _Spelling("·", " ⊙ ", " ⊘ ", "ᵀ", "𝟙", "′", ("‖", "‖")),
    "latex": _Spelling(
        r" ", r" \odot ", r" \oslash ", r"^{\top}", r"\mathbf{1}", "'", (r"\lVert ", r" \rVert")
    ),
}


def adjoint_text(name: str, style: Style = "text") -> str:
    """How δ for an intermediate is written: ``δ_a`` (``\\delta_{a}``)."""
    return f"δ_{name}" if style == "text" else rf"\delta_{{{_latex_name(name)}}}"


def gradient_text(target: str, name: str, style: Style = "text") -> str:
    """How a gradient is written: ``∂L/∂W1`` (``\\frac{\\partial L}{\\partial W_{1}}``)."""
    if style == "text":
        return f"∂{target}/∂{name}"
    return rf"\frac{{\partial {_latex_name(target)}}}{{\partial {_latex_name(name)}}}"


def _latex_name(name: str) -> str:
    return str(sympy.latex(sympy.Symbol(name)))


def _is_minus_one(node: Node) -> bool:
    return isinstance(node, Constant) and node.value == -1


def _negated(node: Node) -> Node | None:
    """``b`` when ``node`` is −b (a negative number times b), else None."""
    if isinstance(node, ScalarMul) and isinstance(node.scalar, Constant) and node.scalar.value < 0:
        if node.scalar.value == -1:
            return node.operand
        positive = Constant(-node.scalar.value, node.scalar.span)
        return ScalarMul(positive, node.operand, node.span, node.op)
    return None


def _precedence(node: Node) -> int:
    if isinstance(node, Add | Sub):
        return _SUM
    if isinstance(node, ScalarMul) and _is_minus_one(node.scalar):
        return _NEGATION
    if isinstance(node, MatMul | ScalarMul | Hadamard | Divide | ElementDivide):
        return _PRODUCT
    if isinstance(node, Constant) and (node.value < 0 or not node.value.is_integer):
        return _PRODUCT
    if isinstance(node, Power | Transpose):
        return _POWER
    return _ATOM


class _Printer:
    def __init__(self, style: Style) -> None:
        self.style = style
        self.spell = _SPELLINGS[style]

    def wrapped(self, node: Node, at_least: int) -> str:
        text = self.show(node)
        if _precedence(node) >= at_least:
            return text
        return f"({text})" if self.style == "text" else rf"\left({text}\right)"

    def name(self, name: str) -> str:
        return name if self.style == "text" else _latex_name(name)

    def constant(self, value: sympy.Rational) -> str:
        if self.style == "text" or value.is_integer:
            return str(value)
        sign = "-" if value < 0 else ""
        return rf"{sign}\frac{{{abs(value.p)}}}{{{value.q}}}"

    def function(self, name: str) -> str:
        # e^u and |u| are written around their argument in scalar solutions; applied to every
        # entry of a matrix (and primed) they are written as calls: exp(a), abs′(a).
        spec = BY_NAME.get(name)
        if spec is None or name in _AS_CALLS:
            return (
                name if self.style == "text" else _AS_CALLS.get(name, rf"\operatorname{{{name}}}")
            )
        return spec.printed_name if self.style == "text" else spec.latex_name

    def call(self, name: str, *arguments: Node) -> str:
        inside = ", ".join(self.show(argument) for argument in arguments)
        if self.style == "text":
            return f"{name}({inside})"
        return rf"\operatorname{{{name}}}\left({inside}\right)"

    def exponent(self, value: sympy.Rational) -> str:
        text = str(value)
        if self.style == "latex":
            return f"^{{{text}}}"
        if all(char in _SUPERSCRIPTS for char in text):
            return "".join(_SUPERSCRIPTS[char] for char in text)
        return f"^({text})"

    def show(self, node: Node) -> str:
        if isinstance(node, Symbol):
            return self.name(node.name)
        if isinstance(node, Constant):
            return self.constant(node.value)
        if isinstance(node, Adjoint):
            return adjoint_text(node.name, self.style)
        if isinstance(node, Ones):
            return self.spell.ones
        if isinstance(node, Identity):
            return "I"
        if isinstance(node, Add | Sub):
            return self.sum(node)
        if isinstance(node, ScalarMul):
            if isinstance(node.scalar, Constant) and node.scalar.value == 0:
                return "0"
            if _is_minus_one(node.scalar):
                return "-" + self.wrapped(node.operand, _PRODUCT + 1)
            times = "·" if self.style == "text" else r" \cdot "
            left = self.wrapped(node.scalar, _PRODUCT)
            # c·(A·B) = c·A·B: no brackets needed around a matrix product.
            chained = isinstance(node.operand, MatMul | ScalarMul)
            right = self.wrapped(node.operand, _PRODUCT if chained else _PRODUCT + 1)
            return left + times + right
        if isinstance(node, MatMul | Hadamard | Divide | ElementDivide):
            return self.binary(node)
        if isinstance(node, Transpose):
            return self.wrapped(node.operand, _ATOM) + self.spell.transpose
        if isinstance(node, Power):
            return self.wrapped(node.base, _ATOM) + self.exponent(node.exponent)
        return self.applied(node)

    def sum(self, node: Add | Sub) -> str:
        negated = _negated(node.right) if isinstance(node, Add) else None
        if negated is not None:
            # a + (−b) is written a − b, never "+ -".
            return self.wrapped(node.left, _SUM) + " - " + self.wrapped(negated, _SUM + 1)
        sign = " + " if isinstance(node, Add) else " - "
        right = _SUM + 1 if isinstance(node, Sub) else _SUM
        return self.wrapped(node.left, _SUM) + sign + self.wrapped(node.right, right)

    def binary(self, node: MatMul | Hadamard | Divide | ElementDivide) -> str:
        if isinstance(node, Divide):
            if self.style == "latex":
                return rf"\frac{{{self.show(node.operand)}}}{{{self.show(node.scalar)}}}"
            return self.wrapped(node.operand, _PRODUCT) + "/" + self.wrapped(node.scalar, _ATOM)
        spelling = self.spell
        sign = {
            MatMul: spelling.matmul,
            Hadamard: spelling.hadamard,
            ElementDivide: spelling.divide_entries,
        }[type(node)]
        # (W2ᵀ·δ) ⊙ σ′(a), (δ ⊙ σ′(a))·xᵀ: a product of one kind inside one of the other kind
        # is bracketed, as taught (· and ⊙ have no agreed order between them).
        mixed = isinstance(node.left, MatMul | Hadamard | ElementDivide) and type(
            node.left
        ) is not type(node)
        left = _PRODUCT + 1 if mixed else _PRODUCT
        return self.wrapped(node.left, left) + sign + self.wrapped(node.right, _PRODUCT + 1)

    def applied(self, node: Node) -> str:
        if isinstance(node, Apply | Prime):
            mark = self.spell.prime if isinstance(node, Prime) else ""
            inside = self.show(node.operand)
            if self.style == "text":
                return f"{self.function(node.function)}{mark}({inside})"
            return rf"{self.function(node.function)}{mark}\left({inside}\right)"
        if isinstance(node, Norm2):
            opening, closing = self.spell.norm
            return f"{opening}{self.show(node.operand)}{closing}"
        if isinstance(node, SumAll):
            return self.call("sum", node.operand)
        if isinstance(node, Trace):
            return self.call("tr", node.operand)
        if isinstance(node, Softmax):
            return self.call("softmax", node.operand)
        if isinstance(node, Dot):
            return self.call("dot", node.left, node.right)
        if isinstance(node, BinaryCrossEntropy):
            return self.call("binary_cross_entropy", node.predicted, node.target)
        assert isinstance(node, CrossEntropy), node
        return self.call("cross_entropy", node.predicted, node.target)


def show(node: Node) -> str:
    """``node`` as one line of text.

    >>> from chainsolve.matrix.model import NO_SPAN as S
    >>> back = MatMul(Transpose(Symbol("W2", S), S), Adjoint("z"), S, S)
    >>> show(Hadamard(back, Prime("sigmoid", Symbol("a", S)), S, S))
    '(W2ᵀ·δ_z) ⊙ σ′(a)'
    """
    return _Printer("text").show(node)


def latex(node: Node) -> str:
    """``node`` in LaTeX (math mode).

    >>> from chainsolve.matrix.model import NO_SPAN as S
    >>> latex(MatMul(Adjoint("a"), Transpose(Symbol("x", S), S), S, S))
    '\\\\delta_{a} x^{\\\\top}'
    """
    return _Printer("latex").show(node)
