"""Tests for chainsolve.matrix.shapes: inferred shapes, scalar factors, errors naming both shapes."""

from __future__ import annotations

import pytest

from chainsolve.errors import ChainsolveError, ProblemError, Span
from chainsolve.matrix.model import Broadcast, MatMul, ScalarMul, Shape, Symbol
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.shapes import ShapedProblem, infer_shapes

NETWORK = "a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
NETWORK_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"


def shaped(text: str, shapes: str) -> ShapedProblem:
    return infer_shapes(parse_matrix_problem(text, shapes))


def shape_error(text: str, shapes: str) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        shaped(text, shapes)
    return info.value


def caret_under(err: ChainsolveError) -> str:
    """The text the caret underlines."""
    lines = err.caret_lines()
    assert lines is not None
    line, marks = lines
    start = marks.index("^")
    return line[start : start + marks.count("^")]


def test_the_seed_network_has_the_shapes_people_draw() -> None:
    """a and h are 3×1, z and L are 1×1 for the 2→3→1 network."""
    shapes = shaped(NETWORK, NETWORK_SHAPES).shapes
    assert shapes["a"] == shapes["h"] == Shape(3, 1)
    assert shapes["z"] == shapes["L"] == Shape(1, 1)


def test_a_product_by_a_scalar_is_a_scalar_multiple() -> None:
    """`1/2*…` and `W*c` with c 1×1 are scalar multiples; W*x stays a matrix product."""
    problem = shaped("a = W*x; b = a*c; L = 1/2*sum(b)", "W: 3x2, x: 2, c: 1").problem
    assert isinstance(problem.definition("a"), MatMul)
    b = problem.definition("b")
    assert isinstance(b, ScalarMul) and b.scalar == Symbol("c", Span(15, 16))
    assert isinstance(problem.definition("L"), ScalarMul)


def test_every_node_has_a_shape() -> None:
    """node_shapes holds a shape for each node, the transpose's swapped."""
    result = shaped("L = sum(W'*x)", "W: 3x2, x: 3")
    shapes = sorted(str(shape) for shape in result.node_shapes.values())
    assert shapes == ["1×1", "2×1", "2×3", "3×1", "3×2"]


def test_a_product_mismatch_names_both_shapes_under_the_operator() -> None:
    """`W2*h: (1×3)·(2×1)` with the caret under the `*`."""
    err = shape_error("h = x; z = W2*h; L = sum(z)", "x: 2, W2: 1x3")
    assert err.code == "shape_mismatch"
    assert "W2*h: (1×3)·(2×1)" in err.message
    assert caret_under(err) == "*"


@pytest.mark.parametrize(
    ("text", "shapes", "named", "under"),
    [
        ("L = sum(u + v)", "u: 2, v: 3", "(2×1) + (3×1)", "+"),
        ("L = sum(u - W)", "u: 2, W: 2x2", "(2×1) - (2×2)", "-"),
        ("L = sum(u .* v)", "u: 2, v: 3", "(2×1)⊙(3×1)", ".*"),
        ("L = sum(u ./ v)", "u: 2, v: 3", "(2×1)⊘(3×1)", "./"),
        ("L = dot(u, v)", "u: 2, v: 3", "dot of (2×1) and (3×1)", "dot(u, v)"),
        ("L = cross_entropy(u, v)", "u: 2, v: 3", "(2×1) and (3×1)", "cross_entropy(u, v)"),
        ("L = trace(W)", "W: 2x3", "2×3", "trace(W)"),
        ("L = sum(softmax(W))", "W: 2x3", "2×3", "softmax(W)"),
        ("L = sum(u^2)", "u: 2", "2×1", "^"),
        ("L = sum(u/v)", "u: 2, v: 2", "2×1", "/"),
    ],
)
def test_each_operation_refuses_shapes_that_do_not_fit(
    text: str, shapes: str, named: str, under: str
) -> None:
    """Each operation's shape error names the shapes and points at the operation."""
    err = shape_error(text, shapes)
    assert err.code == "shape_mismatch"
    assert named in err.message
    assert caret_under(err) == under


def test_a_name_without_a_shape_is_refused_where_it_is_used() -> None:
    """An input with no declared shape: its first use, with a hint to declare it."""
    err = shape_error("L = norm2(A*x - y)^2", "A: 3x2, x: 2")
    assert err.code == "undeclared_name" and caret_under(err) == "y"
    assert "y: 3" in (err.hint or "")


def test_a_name_used_before_its_definition_is_refused() -> None:
    """Definitions come before their uses (and a name cannot use itself)."""
    assert shape_error("a = b; b = x; L = sum(a)", "x: 2").code == "used_before_definition"
    assert shape_error("a = a + x; L = sum(a)", "x: 2").code == "used_before_definition"


def test_the_target_must_be_a_scalar() -> None:
    """The last definition is the loss: a 3×1 target is refused with a hint to reduce it."""
    err = shape_error("L = W*x", "W: 3x2, x: 2")
    assert err.code == "target_not_scalar" and "3×1" in err.message


def test_a_declared_intermediate_is_checked_against_its_definition() -> None:
    """Declaring `a: 2` for an a that is 3×1 is refused; declaring its true shape is fine."""
    assert shape_error("a = W*x; L = sum(a)", "W: 3x2, x: 2, a: 2").code == "shape_mismatch"
    assert shaped("a = W*x; L = sum(a)", "W: 3x2, x: 2, a: 3").shapes["a"] == Shape(3, 1)


@pytest.mark.parametrize(
    ("text", "shapes"),
    [
        ("L = sum(x + 1)", "x: 3"),
        ("L = sum(2 .* x)", "x: 3"),
        ("L = sum(x - c)", "x: 3, c: 1"),
        ("L = sum(c ⊙ W)", "W: 2x3, c: 1"),
        ("L = sum(c ./ W)", "W: 2x3, c: 1"),
        ("L = sum(W ⊘ 2)", "W: 2x3"),
        ("a = W*x + b; L = sum(a)", "W: 3x2, x: 2, b: 1"),
    ],
)
def test_a_scalar_is_broadcast_over_the_other_side(text: str, shapes: str) -> None:
    """A 1×1 side of +, −, .*, ⊙ or ./ is copied to the other side's shape (a Broadcast node)."""
    problem = shaped(text, shapes)
    broadcasts = [node for node in problem.node_shapes if isinstance(node, Broadcast)]
    assert len(broadcasts) == 1
    assert problem.shape(broadcasts[0]) == broadcasts[0].shape != Shape(1, 1)
    assert problem.shape(broadcasts[0].operand) == Shape(1, 1)


def test_a_row_and_a_column_are_not_broadcast() -> None:
    """Only a scalar broadcasts: a 3×1 plus a 1×3 stays a shape error whose hint says so."""
    err = shape_error("L = sum(x + r)", "x: 3, r: 1x3")
    assert err.code == "shape_mismatch" and "(3×1) + (1×3)" in err.message
    assert caret_under(err) == "+"
    assert "only a 1×1 is broadcast" in (err.hint or "")


def test_dividing_by_a_vector_with_slash_points_to_the_elementwise_quotient() -> None:
    """u/v with a vector v is refused, and the hint names ./ (entry-by-entry division)."""
    err = shape_error("L = sum(u/v)", "u: 2, v: 2")
    assert "u ./ v" in (err.hint or "")
    assert shaped("L = sum(u ./ v)", "u: 2, v: 2").shapes["L"] == Shape(1, 1)
