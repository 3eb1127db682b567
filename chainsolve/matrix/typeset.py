"""Matrix expressions and numbers in LaTeX and MathML: W₂ᵀδ ⊙ σ′(a), shapes under symbols, bmatrix and mtable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy

from chainsolve import filters
from chainsolve.functions import BY_NAME
from chainsolve.matrix import model as m
from chainsolve.problem import make_symbol

__all__ = [
    "gradient_latex",
    "gradient_mathml",
    "matrix_latex",
    "matrix_mathml",
    "name_latex",
    "name_mathml",
    "node_latex",
    "node_mathml",
    "shape_latex",
    "shape_mathml",
    "shaped_latex",
    "shaped_mathml",
]

_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = range(1, 6)


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


@dataclass(frozen=True)
class _Notation:
    """How one format writes each piece; the walk and the parentheses are shared."""

    name: Callable[[str], str]
    adjoint: Callable[[str], str]
    number: Callable[[sympy.Rational], str]
    group: Callable[[str], str]
    operator: Callable[[str], str]
    join: Callable[[Sequence[str]], str]
    transpose: Callable[[str], str]
    power: Callable[[str, str], str]
    fraction: Callable[[str, str], str]
    call: Callable[[str, Sequence[str]], str]
    function: Callable[[str, bool], str]
    norm: Callable[[str], str]
    ones: str
    identity: str


_LATEX_OPERATORS = {"·": " ", "⊙": r" \odot ", "⊘": r" \oslash ", "+": " + ", "-": " - "}

_LATEX = _Notation(
    name=name_latex,
    adjoint=adjoint_latex,
    number=lambda value: filters.latex_expr(value),
    group=lambda text: rf"\left({text}\right)",
    operator=lambda op: _LATEX_OPERATORS[op],
    join="".join,
    transpose=lambda text: rf"{text}^{{\top}}",
    power=lambda base, exponent: f"{base}^{{{exponent}}}",
    fraction=lambda top, bottom: rf"\frac{{{top}}}{{{bottom}}}",
    call=lambda name, args: rf"\operatorname{{{name}}}\left({', '.join(args)}\right)",
    function=lambda name, prime: _function_latex(name) + ("'" if prime else ""),
    norm=lambda text: rf"\left\lVert {text} \right\rVert",
    ones=r"\mathbf{1}",
    identity="I",
)


def _mo(text: str) -> str:
    return f"<mo>{filters.MINUS if text == '-' else text}</mo>"


_MATHML = _Notation(
    name=name_mathml,
    adjoint=adjoint_mathml,
    number=lambda value: filters.mathml_expr(value),
    group=lambda text: f"<mrow><mo>(</mo>{text}<mo>)</mo></mrow>",
    operator=lambda op: "<mo>&#8290;</mo>" if op == "·" else _mo(op),
    join=lambda parts: "<mrow>" + "".join(parts) + "</mrow>",
    transpose=lambda text: f"<msup>{text}<mi>T</mi></msup>",
    power=lambda base, exponent: f"<msup>{base}<mn>{exponent}</mn></msup>",
    fraction=lambda top, bottom: f"<mfrac>{top}{bottom}</mfrac>",
    call=lambda name, args: (
        f"<mrow><mi>{name}</mi><mo>(</mo>{_mo(',').join(args)}<mo>)</mo></mrow>"
    ),
    function=lambda name, prime: (
        f"<mi>{_function_symbol(name)}</mi>" + ('<mo lspace="0" rspace="0">′</mo>' if prime else "")
    ),
    norm=lambda text: f'<mrow><mo fence="true">‖</mo>{text}<mo fence="true">‖</mo></mrow>',
    ones="<mn mathvariant='bold'>1</mn>",
    identity="<mi>I</mi>",
)


def _function_latex(name: str) -> str:
    spec = BY_NAME.get(name)
    return spec.latex_name if spec is not None else rf"\operatorname{{{name}}}"


def _function_symbol(name: str) -> str:
    spec = BY_NAME.get(name)
    return spec.printed_name if spec is not None else name


def _precedence(node: m.Node) -> int:
    if isinstance(node, m.Add | m.Sub):
        return _SUM
    if isinstance(node, m.ScalarMul) and _is_minus_one(node.scalar):
        return _NEGATION
    if isinstance(node, m.MatMul | m.ScalarMul | m.Hadamard):
        return _PRODUCT
    if isinstance(node, m.Constant) and (node.value < 0 or not node.value.is_integer):
        return _PRODUCT
    if isinstance(node, m.Power | m.Transpose):
        return _POWER
    return _ATOM


def _is_minus_one(node: m.Node) -> bool:
    return isinstance(node, m.Constant) and node.value == -1


class _Typesetter:
    """One walk over a node, in one notation, with the fewest parentheses that keep the meaning."""

    def __init__(self, notation: _Notation) -> None:
        self.n = notation

    def wrapped(self, node: m.Node, at_least: int) -> str:
        text = self.show(node)
        return self.n.group(text) if _precedence(node) < at_least else text

    def show(self, node: m.Node) -> str:
        n = self.n
        if isinstance(node, m.Symbol):
            return n.name(node.name)
        if isinstance(node, m.Constant):
            return n.number(node.value)
        if isinstance(node, m.Add | m.Sub):
            op = "+" if isinstance(node, m.Add) else "-"
            right = _SUM + 1 if isinstance(node, m.Sub) else _SUM
            return n.join(
                [self.wrapped(node.left, _SUM), n.operator(op), self.wrapped(node.right, right)]
            )
        if isinstance(node, m.ScalarMul):
            return self.scalar_multiple(node)
        if isinstance(node, m.MatMul | m.Hadamard):
            return self.binary(node)
        if isinstance(node, m.Divide):
            return n.fraction(self.show(node.operand), self.show(node.scalar))
        if isinstance(node, m.Transpose):
            return n.transpose(self.wrapped(node.operand, _ATOM))
        if isinstance(node, m.Power):
            return n.power(self.wrapped(node.base, _ATOM), str(node.exponent))
        return self.call(node)

    def scalar_multiple(self, node: m.ScalarMul) -> str:
        n = self.n
        if _is_minus_one(node.scalar):
            return n.join([n.operator("-"), self.wrapped(node.operand, _PRODUCT + 1)])
        return n.join(
            [
                self.wrapped(node.scalar, _PRODUCT),
                n.operator("·"),
                self.wrapped(node.operand, _PRODUCT + 1),
            ]
        )

    def binary(self, node: m.MatMul | m.Hadamard) -> str:
        op = "·" if isinstance(node, m.MatMul) else "⊙"
        # (W2ᵀδ) ⊙ σ′(a): a matrix product inside an elementwise one is bracketed, as taught.
        elementwise = op != "·"
        left = _PRODUCT + 1 if elementwise and not isinstance(node.left, m.Hadamard) else _PRODUCT
        return self.n.join(
            [
                self.wrapped(node.left, left),
                self.n.operator(op),
                self.wrapped(node.right, _PRODUCT + 1),
            ]
        )

    def call(self, node: m.Node) -> str:
        n = self.n
        if isinstance(node, m.Apply):
            return n.join([n.function(node.function, False), n.group(self.show(node.operand))])
        if isinstance(node, m.Norm2):
            return n.norm(self.show(node.operand))
        if isinstance(node, m.SumAll):
            return n.call("sum", [self.show(node.operand)])
        if isinstance(node, m.Trace):
            return n.call("tr", [self.show(node.operand)])
        if isinstance(node, m.Softmax):
            return n.call("softmax", [self.show(node.operand)])
        if isinstance(node, m.Dot):
            return n.call("dot", [self.show(node.left), self.show(node.right)])
        assert isinstance(node, m.CrossEntropy), node
        return n.call("CE", [self.show(node.predicted), self.show(node.target)])


def node_latex(node: m.Node) -> str:
    r"""A matrix expression in LaTeX.

    >>> from chainsolve.matrix.parse import parse_matrix_problem
    >>> problem = parse_matrix_problem("d = (W'*g) .* sigmoid(a); L = 1/2*norm2(d)^2", "W: 3x2, g: 3, a: 2")
    >>> node_latex(problem.definition("d"))
    '\\left(W^{\\top} g\\right) \\odot \\sigma\\left(a\\right)'
    >>> node_latex(problem.definition("L"))
    '\\frac{1}{2} \\left\\lVert d \\right\\rVert^{2}'
    """
    return _Typesetter(_LATEX).show(node)


def node_mathml(node: m.Node) -> str:
    """A matrix expression as MathML content (put it inside ``<math>``)."""
    return _Typesetter(_MATHML).show(node)
