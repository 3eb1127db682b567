"""Tests for chainsolve.matrix.printing: text, LaTeX and MathML of matrix expressions, brackets as taught."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
import sympy

from chainsolve.matrix.model import (
    NO_SPAN,
    Add,
    Adjoint,
    Constant,
    Hadamard,
    MatMul,
    Node,
    Ones,
    Prime,
    ScalarMul,
    Shape,
    Sub,
    Symbol,
    Transpose,
)
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.printing import latex, mathml, show
from chainsolve.matrix.shapes import infer_shapes

S = NO_SPAN


def parsed(text: str, shapes: str = "u: 2, v: 2, W: 2x2, c: 1") -> Node:
    """The problem's loss as read and shaped (``*`` by a 1×1 is a scalar multiple)."""
    shaped = infer_shapes(parse_matrix_problem(f"L = {text}", shapes))
    node = shaped.problem.definition("L")
    assert node is not None
    return node


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("sum(W*u + v)", "sum(W·u + v)"),
        ("sum(W'*(u - v))", "sum(Wᵀ·(u - v))"),
        ("sum((W*u)')", "sum((W·u)ᵀ)"),
        ("sum(u .* (v - u))", "sum(u ⊙ (v - u))"),
        ("1/2*norm2(u - v)^2", "1/2·‖u - v‖²"),
        ("c^(1/2)", "c^(1/2)"),
        ("-c - (c - c)", "-c - (c - c)"),
        ("sum(sigmoid(u))", "sum(σ(u))"),
        ("cross_entropy(softmax(u), v)", "cross_entropy(softmax(u), v)"),
        ("sum(exp(u) .* abs(v))", "sum(exp(u) ⊙ abs(v))"),
        ("sum(ln(u))", "sum(ln(u))"),
    ],
)
def test_text_keeps_the_meaning_with_few_brackets(text: str, shown: str) -> None:
    """What a problem is echoed as: the operators as taught (·, ᵀ, ⊙, ‖‖, ²)."""
    assert show(parsed(text)) == shown


def test_a_product_of_one_kind_inside_the_other_is_bracketed() -> None:
    """(W2ᵀ·δ_z) ⊙ σ′(a) and (δ ⊙ σ′(a))·xᵀ: · and ⊙ have no agreed order between them."""
    back = MatMul(Transpose(Symbol("W2", S), S), Adjoint("z"), S, S)
    delta = Hadamard(back, Prime("sigmoid", Symbol("a", S)), S, S)
    assert show(delta) == "(W2ᵀ·δ_z) ⊙ σ′(a)"
    outer = MatMul(delta, Transpose(Symbol("x", S), S), S, S)
    assert show(outer) == "((W2ᵀ·δ_z) ⊙ σ′(a))·xᵀ"


def test_a_negative_term_is_subtracted() -> None:
    """a + (−1)·b is written a - b, and 2·(A·B) as 2·A·B."""
    minus = ScalarMul(Constant(sympy.Integer(-1), S), Symbol("b", S), S, S)
    assert show(Add(Symbol("a", S), minus, S, S)) == "a - b"
    product = MatMul(Symbol("A", S), Symbol("B", S), S, S)
    assert show(ScalarMul(Constant(sympy.Integer(2), S), product, S, S)) == "2·A·B"


def test_latex_uses_top_odot_and_subscripts() -> None:
    """LaTeX: W_{1}^{\\top}, \\odot, \\sigma', \\delta_{a}, \\mathbf{1}, \\frac."""
    node = Hadamard(
        MatMul(Transpose(Symbol("W1", S), S), Adjoint("a"), S, S),
        Prime("sigmoid", Ones(Shape(2, 1))),
        S,
        S,
    )
    assert (
        latex(node) == r"\left(W_{1}^{\top} \delta_{a}\right) \odot \sigma'\left(\mathbf{1}\right)"
    )
    assert latex(parsed("1/2*norm2(u)^2")) == r"\frac{1}{2} \cdot \lVert u \rVert^{2}"


_SAME_WALK = [
    "sum(W'*(u - v))",
    "sum((W*u)')",
    "sum(u .* (v - u))",
    "-c - (c - c)",
    "1/2*norm2(u - v)^2",
    "sum((W*u .* v)' * W)",
    "sum(W*(u .* v)) - c*(c + c)",
    "-2*c + (c + c)^2",
]


@pytest.mark.parametrize("text", _SAME_WALK)
def test_every_format_brackets_the_same(text: str) -> None:
    """Text, LaTeX and MathML come from one walk: each puts the same brackets in the same places."""
    node = parsed(text)
    brackets = show(node).count("(") - show(node).count("sum(")  # a call's brackets aside
    assert latex(node).count(r"\left(") - latex(node).count(r"\operatorname{sum}") == brackets
    written = mathml(node)
    assert written.count('<mo stretchy="false">(</mo>') - written.count("<mi>sum</mi>") == brackets
    ElementTree.fromstring(f"<math>{written}</math>")  # well-formed


def test_a_multiple_by_zero_is_zero_in_every_format() -> None:
    """0·A is written 0 in text, LaTeX and MathML alike (MathML used to write 0·A)."""
    zero = ScalarMul(Constant(sympy.Integer(0), S), Symbol("A", S), S, S)
    assert (show(zero), latex(zero), mathml(zero)) == ("0", "0", "<mn>0</mn>")


@pytest.mark.parametrize(
    ("scalar", "shown"),
    [(-1, "a + c + b"), (-2, "a + 2·(c + b)"), (sympy.Rational(-1, 2), "a + 1/2·(c + b)")],
)
def test_subtracting_a_negative_term_adds_it(scalar: sympy.Rational, shown: str) -> None:
    """a − (−k)·X is written a + k·X in every format, never "a - -X" (the logistic loss's δ_p)."""
    negative = ScalarMul(
        Constant(sympy.Rational(scalar), S), Add(Symbol("c", S), Symbol("b", S), S, S), S, S
    )
    node = Sub(Symbol("a", S), negative, S, S)
    assert show(node) == shown
    assert " - -" not in latex(node) and "<mo>−</mo><mrow><mo>−</mo>" not in mathml(node)
    # Same value: the printed form read back as sympy (names as symbols) equals the node's meaning.
    a, b, c = sympy.symbols("a b c")
    assert sympy.simplify(a - scalar * (c + b) - sympy.sympify(shown.replace("·", "*"))) == 0


def test_a_double_negative_inside_a_product_is_a_plus() -> None:
    """a + (−1)·((−u)·v) is written a + u·v: the spelled-out logistic loss's δ_p has no "- -"."""
    from chainsolve.api import solve_matrix

    inner = ScalarMul(
        ScalarMul(Constant(sympy.Integer(-1), S), Symbol("u", S), S, S), Symbol("v", S), S, S
    )
    node = Add(Symbol("a", S), ScalarMul(Constant(sympy.Integer(-1), S), inner, S, S), S, S)
    assert show(node) == "a + u·v"
    problem = "p = sigmoid(dot(w, x) + b); L = -(y*log(p) + (1 - y)*log(1 - p))"
    solution = solve_matrix(problem, shapes="x: 2, w: 2, b: 1, y: 1", wrt="b", timeout=None)
    assert show(solution.backprop.steps[0].claim) == "-y·ln′(p) + (1 - y)·ln′(1 - p)"
