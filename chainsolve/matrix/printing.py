"""Matrix expressions as text (W2ᵀ·δ_z), LaTeX or MathML: one walk, the fewest parentheses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import ClassVar, Literal

import sympy

from chainsolve import filters
from chainsolve.functions import BY_NAME
from chainsolve.matrix import typeset
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
    Softmax,
    Sub,
    SumAll,
    Symbol,
    Trace,
    Transpose,
)

__all__ = ["adjoint_text", "gradient_text", "latex", "mathml", "show"]

Style = Literal["text", "latex", "mathml"]

_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = range(1, 6)
_AS_CALLS = {"exp": r"\exp", "abs": r"\operatorname{abs}"}
_SUPERSCRIPTS = dict(zip("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻", strict=True))

#: The signs between operands: sum, difference, negation, scalar multiple, matrix product,
#: elementwise product and quotient, division by a scalar (text only; the others use fractions).
Sign = Literal["+", "-", "neg", "times", "matmul", "hadamard", "divide_entries", "/"]


class _Spelling(ABC):
    """How one format writes the pieces of a matrix expression; :class:`_Printer` walks the
    expression once for every format and decides the parentheses."""

    ones: str
    identity: str
    signs: ClassVar[dict[Sign, str]]
    #: Whether M/c is written as a fraction (the operands then need no parentheses).
    fractions: bool = True

    @abstractmethod
    def name(self, name: str) -> str: ...

    @abstractmethod
    def constant(self, value: sympy.Rational) -> str: ...

    @abstractmethod
    def adjoint(self, name: str) -> str: ...

    @abstractmethod
    def gradient(self, target: str, name: str) -> str: ...

    @abstractmethod
    def fenced(self, inner: str) -> str:
        """``inner`` in round brackets."""

    def row(self, *parts: str) -> str:
        """Pieces side by side as one piece (MathML groups them in an ``mrow``)."""
        return "".join(parts)

    def fraction(self, top: str, bottom: str) -> str:
        raise NotImplementedError  # pragma: no cover - only styles with fractions are asked

    @abstractmethod
    def transpose(self, base: str) -> str: ...

    @abstractmethod
    def power(self, base: str, exponent: sympy.Rational) -> str: ...

    @abstractmethod
    def applied(self, function: str, primed: bool, inside: str) -> str:
        """A function of the language (or its derivative) applied entry by entry: σ′(a)."""

    @abstractmethod
    def norm(self, inside: str) -> str: ...

    @abstractmethod
    def call(self, name: str, arguments: list[str]) -> str:
        """A matrix operation written as a call: sum(A), dot(u, v)."""


class _Text(_Spelling):
    ones = "𝟙"
    identity = "I"
    signs: ClassVar[dict[Sign, str]] = {
        "+": " + ",
        "-": " - ",
        "neg": "-",
        "times": "·",
        "matmul": "·",
        "hadamard": " ⊙ ",
        "divide_entries": " ⊘ ",
        "/": "/",
    }
    fractions = False

    def name(self, name: str) -> str:
        return name

    def constant(self, value: sympy.Rational) -> str:
        return str(value)

    def adjoint(self, name: str) -> str:
        return f"δ_{name}"

    def gradient(self, target: str, name: str) -> str:
        return f"∂{target}/∂{name}"

    def fenced(self, inner: str) -> str:
        return f"({inner})"

    def transpose(self, base: str) -> str:
        return base + "ᵀ"

    def power(self, base: str, exponent: sympy.Rational) -> str:
        text = str(exponent)
        if all(char in _SUPERSCRIPTS for char in text):
            return base + "".join(_SUPERSCRIPTS[char] for char in text)
        return f"{base}^({text})"

    def applied(self, function: str, primed: bool, inside: str) -> str:
        # e^u and |u| are written around their argument in scalar solutions; applied to every
        # entry of a matrix (and primed) they are written as calls: exp(a), abs′(a).
        spec = BY_NAME.get(function)
        written = function if spec is None or function in _AS_CALLS else spec.printed_name
        return f"{written}{'′' if primed else ''}({inside})"

    def norm(self, inside: str) -> str:
        return f"‖{inside}‖"

    def call(self, name: str, arguments: list[str]) -> str:
        return f"{name}({', '.join(arguments)})"


class _Latex(_Spelling):
    ones = r"\mathbf{1}"
    identity = "I"
    signs: ClassVar[dict[Sign, str]] = {
        "+": " + ",
        "-": " - ",
        "neg": "-",
        "times": r" \cdot ",
        "matmul": " ",
        "hadamard": r" \odot ",
        "divide_entries": r" \oslash ",
    }

    def name(self, name: str) -> str:
        return str(sympy.latex(sympy.Symbol(name)))

    def constant(self, value: sympy.Rational) -> str:
        if value.is_integer:
            return str(value)
        sign = "-" if value < 0 else ""
        return rf"{sign}\frac{{{abs(value.p)}}}{{{value.q}}}"

    def adjoint(self, name: str) -> str:
        return rf"\delta_{{{self.name(name)}}}"

    def gradient(self, target: str, name: str) -> str:
        return rf"\frac{{\partial {self.name(target)}}}{{\partial {self.name(name)}}}"

    def fenced(self, inner: str) -> str:
        return rf"\left({inner}\right)"

    def fraction(self, top: str, bottom: str) -> str:
        return rf"\frac{{{top}}}{{{bottom}}}"

    def transpose(self, base: str) -> str:
        return base + r"^{\top}"

    def power(self, base: str, exponent: sympy.Rational) -> str:
        return f"{base}^{{{exponent}}}"

    def applied(self, function: str, primed: bool, inside: str) -> str:
        spec = BY_NAME.get(function)
        if spec is None or function in _AS_CALLS:
            written = _AS_CALLS.get(function, rf"\operatorname{{{function}}}")
        else:
            written = spec.latex_name
        mark = "'" if primed else ""
        return rf"{written}{mark}\left({inside}\right)"

    def norm(self, inside: str) -> str:
        return rf"\lVert {inside} \rVert"

    def call(self, name: str, arguments: list[str]) -> str:
        return rf"\operatorname{{{name}}}\left({', '.join(arguments)}\right)"


def _mo(text: str) -> str:
    return f"<mo>{filters.MINUS if text == '-' else text}</mo>"


class _MathML(_Spelling):
    ones = '<mn mathvariant="bold">1</mn>'
    identity = "<mi>I</mi>"
    signs: ClassVar[dict[Sign, str]] = {
        "+": _mo("+"),
        "-": _mo("-"),
        "neg": _mo("-"),
        "times": _mo("·"),
        "matmul": _mo("&#8290;"),
        "hadamard": _mo("⊙"),
        "divide_entries": _mo("⊘"),
    }

    def name(self, name: str) -> str:
        return typeset.name_mathml(name)

    def constant(self, value: sympy.Rational) -> str:
        if value.is_integer:
            number = f"<mn>{abs(value)}</mn>"
        else:
            number = f"<mfrac><mn>{abs(value.p)}</mn><mn>{value.q}</mn></mfrac>"
        return self.row(_mo("-"), number) if value < 0 else number

    def adjoint(self, name: str) -> str:
        return f"<msub><mi>δ</mi>{self.name(name)}</msub>"

    def gradient(self, target: str, name: str) -> str:
        return (
            f"<mfrac><mrow><mo>∂</mo>{self.name(target)}</mrow>"
            f"<mrow><mo>∂</mo>{self.name(name)}</mrow></mfrac>"
        )

    def fenced(self, inner: str) -> str:
        return self.row('<mo stretchy="false">(</mo>', inner, '<mo stretchy="false">)</mo>')

    def row(self, *parts: str) -> str:
        return "<mrow>" + "".join(parts) + "</mrow>"

    def fraction(self, top: str, bottom: str) -> str:
        return f"<mfrac>{top}{bottom}</mfrac>"

    def transpose(self, base: str) -> str:
        return f"<msup>{base}<mi>T</mi></msup>"

    def power(self, base: str, exponent: sympy.Rational) -> str:
        return f"<msup>{base}{self.constant(exponent)}</msup>"

    def applied(self, function: str, primed: bool, inside: str) -> str:
        spec = BY_NAME.get(function)
        name = f"<mi>{function if spec is None else spec.printed_name}</mi>"
        mark = '<mo lspace="0" rspace="0">′</mo>' if primed else ""
        return self.row(name, mark, self.fenced(inside))

    def norm(self, inside: str) -> str:
        bar = '<mo fence="true" stretchy="false">‖</mo>'
        return self.row(bar, inside, bar)

    def call(self, name: str, arguments: list[str]) -> str:
        return self.row(f"<mi>{name}</mi>", self.fenced(_mo(",").join(arguments)))


_STYLES: dict[str, _Spelling] = {"text": _Text(), "latex": _Latex(), "mathml": _MathML()}


def adjoint_text(name: str, style: Style = "text") -> str:
    """How δ for an intermediate is written: ``δ_a`` (``\\delta_{a}``, ``<msub>…``)."""
    return _STYLES[style].adjoint(name)


def gradient_text(target: str, name: str, style: Style = "text") -> str:
    """How a gradient is written: ``∂L/∂W1`` (``\\frac{\\partial L}{\\partial W_{1}}``, ``<mfrac>…``)."""
    return _STYLES[style].gradient(target, name)


def _is_minus_one(node: Node) -> bool:
    return isinstance(node, Constant) and node.value == -1


def _negated(node: Node) -> Node | None:
    """``b`` when ``node`` is −b and is written with a leading minus (a negative number times b,
    or a product whose first factor is such a −u: (−u)·v = −(u·v)), else None."""
    if isinstance(node, Broadcast):
        return _negated(node.operand)
    if isinstance(node, Constant) and node.value < 0:
        return Constant(-node.value, node.span)
    if isinstance(node, ScalarMul) and isinstance(node.scalar, Constant) and node.scalar.value < 0:
        if node.scalar.value == -1:
            return node.operand
        positive = Constant(-node.scalar.value, node.scalar.span)
        return ScalarMul(positive, node.operand, node.span, node.op)
    if isinstance(node, ScalarMul):
        scalar = _negated(node.scalar)
        return None if scalar is None else ScalarMul(scalar, node.operand, node.span, node.op)
    if isinstance(node, MatMul | Hadamard | ElementDivide):
        left = _negated(node.left)
        return None if left is None else replace(node, left=left)
    return None


def _magnitude(node: Node) -> tuple[bool, Node]:
    """Whether ``node`` is written with a leading minus an odd number of times, and ``node``
    without those minus signs: −(−b) is (False, b)."""
    negative = False
    while (inner := _negated(node)) is not None:
        negative, node = not negative, inner
    return negative, node


def _as_written(node: Node) -> Node:
    """A broadcast scalar is written as the scalar itself (x + 1, W·x + b), as typed."""
    while isinstance(node, Broadcast):
        node = node.operand
    return node


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


_PRODUCT_SIGNS: dict[type[Node], Sign] = {
    MatMul: "matmul",
    Hadamard: "hadamard",
    ElementDivide: "divide_entries",
}


class _Printer:
    """The one walk over a matrix expression: parentheses by precedence, pieces by the style."""

    def __init__(self, style: Style) -> None:
        self.spell = _STYLES[style]

    def wrapped(self, node: Node, at_least: int) -> str:
        node = _as_written(node)
        text = self.show(node)
        return text if _precedence(node) >= at_least else self.spell.fenced(text)

    def infix(self, left: str, sign: Sign, right: str) -> str:
        return self.spell.row(left, self.spell.signs[sign], right)

    def show(self, node: Node) -> str:
        node = _as_written(node)
        if isinstance(node, Symbol):
            return self.spell.name(node.name)
        if isinstance(node, Constant):
            return self.spell.constant(node.value)
        if isinstance(node, Adjoint):
            return self.spell.adjoint(node.name)
        if isinstance(node, Ones):
            return self.spell.ones
        if isinstance(node, Identity):
            return self.spell.identity
        if isinstance(node, Add | Sub):
            return self.sum(node)
        if isinstance(node, ScalarMul):
            return self.scalar_multiple(node)
        if isinstance(node, MatMul | Hadamard | Divide | ElementDivide):
            return self.binary(node)
        if isinstance(node, Transpose):
            return self.spell.transpose(self.wrapped(node.operand, _ATOM))
        if isinstance(node, Power):
            return self.spell.power(self.wrapped(node.base, _ATOM), node.exponent)
        return self.applied(node)

    def sum(self, node: Add | Sub) -> str:
        # a + (−b) is written a − b and a − (−b) is a + b: never "+ -" or "- -".
        negative, right = _magnitude(node.right)
        subtract = isinstance(node, Sub) != negative
        shown = self.wrapped(right, _SUM + 1 if subtract else _SUM)
        return self.infix(self.wrapped(node.left, _SUM), "-" if subtract else "+", shown)

    def scalar_multiple(self, node: ScalarMul) -> str:
        if isinstance(node.scalar, Constant) and node.scalar.value == 0:
            return self.spell.constant(sympy.Integer(0))
        if _is_minus_one(node.scalar):
            return self.spell.row(self.spell.signs["neg"], self.wrapped(node.operand, _PRODUCT + 1))
        # c·(A·B) = c·A·B: no brackets needed around a matrix product.
        chained = isinstance(node.operand, MatMul | ScalarMul)
        right = self.wrapped(node.operand, _PRODUCT if chained else _PRODUCT + 1)
        return self.infix(self.wrapped(node.scalar, _PRODUCT), "times", right)

    def binary(self, node: MatMul | Hadamard | Divide | ElementDivide) -> str:
        if isinstance(node, Divide):
            if self.spell.fractions:
                return self.spell.fraction(self.show(node.operand), self.show(node.scalar))
            return self.infix(
                self.wrapped(node.operand, _PRODUCT), "/", self.wrapped(node.scalar, _ATOM)
            )
        # (W2ᵀ·δ) ⊙ σ′(a), (δ ⊙ σ′(a))·xᵀ: a product of one kind inside one of the other kind
        # is bracketed, as taught (· and ⊙ have no agreed order between them).
        mixed = isinstance(node.left, MatMul | Hadamard | ElementDivide) and type(
            node.left
        ) is not type(node)
        left = self.wrapped(node.left, _PRODUCT + 1 if mixed else _PRODUCT)
        return self.infix(left, _PRODUCT_SIGNS[type(node)], self.wrapped(node.right, _PRODUCT + 1))

    def call(self, name: str, *arguments: Node) -> str:
        return self.spell.call(name, [self.show(argument) for argument in arguments])

    def applied(self, node: Node) -> str:
        if isinstance(node, Apply | Prime):
            primed = isinstance(node, Prime)
            return self.spell.applied(node.function, primed, self.show(node.operand))
        if isinstance(node, Norm2):
            return self.spell.norm(self.show(node.operand))
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


def mathml(node: Node) -> str:
    """``node`` as MathML content (put it inside ``<math>``).

    >>> from chainsolve.matrix.model import NO_SPAN as S
    >>> mathml(MatMul(Adjoint("a"), Transpose(Symbol("x", S), S), S, S))
    '<mrow><msub><mi>δ</mi><mi>a</mi></msub><mo>&#8290;</mo><msup><mi>x</mi><mi>T</mi></msup></mrow>'
    """
    return _Printer("mathml").show(node)
