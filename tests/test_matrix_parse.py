"""Tests for chainsolve.matrix.parse: the matrix problem language, declarations, bounds and errors."""

from __future__ import annotations

import pytest
import sympy

from chainsolve.errors import ChainsolveError, ParseError, ProblemError, Span
from chainsolve.matrix.model import (
    Add,
    Apply,
    BinaryCrossEntropy,
    Constant,
    CrossEntropy,
    Dot,
    ElementDivide,
    Hadamard,
    MatMul,
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
from chainsolve.matrix.parse import (
    MATRIX_LIMITS,
    has_declarations,
    parse_matrix_problem,
    parse_shapes,
)

NETWORK = "a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
NETWORK_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"


def error(text: str, shapes: str = "x: 2") -> ChainsolveError:
    with pytest.raises(ChainsolveError) as info:
        parse_matrix_problem(text, shapes)
    return info.value


def caret(err: ChainsolveError) -> str:
    lines = err.caret_lines()
    assert lines is not None
    return lines[1]


def test_the_seed_network_reads_as_ordered_definitions() -> None:
    """The seed's two-layer network: definitions in order, inputs by first use, target last."""
    problem = parse_matrix_problem(NETWORK, NETWORK_SHAPES, ["W1", "W2"])
    assert problem.defined == ("a", "h", "z", "L")
    assert problem.inputs == ("W1", "x", "b1", "W2", "b2", "y")
    assert problem.target == "L"
    assert problem.wrt == ("W1", "W2")
    assert problem.shapes["W1"] == Shape(3, 2)
    assert problem.shapes["x"] == Shape(2, 1)


def test_nodes_keep_their_positions_in_the_text() -> None:
    """Each node's span is its text; a binary node's op span is its operator."""
    problem = parse_matrix_problem("a = W1*x + b1", "W1: 3x2, x: 2, b1: 3")
    node = problem.definition("a")
    assert isinstance(node, Add)
    assert problem.source[node.span.start : node.span.end] == "W1*x + b1"
    assert isinstance(node.left, MatMul)
    assert node.left.op == Span(6, 7)


def test_declarations_inside_the_problem_equal_the_option() -> None:
    """`x: 2; W: 3x2; …` in the text declares the same shapes as --shapes."""
    inline = parse_matrix_problem("x: 2; W: 3×2\nL = sum(W*x)")
    option = parse_matrix_problem("L = sum(W*x)", "x: 2, W: 3x2")
    assert inline.shapes == option.shapes == {"x": Shape(2, 1), "W": Shape(3, 2)}
    assert has_declarations("x: 2; L = sum(x)")
    assert not has_declarations("z = x^2; L = sin(z)")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("W'", Transpose),
        ("W^T", Transpose),
        ("Wᵀ", Transpose),
        ("u .* v", Hadamard),
        ("u ⊙ v", Hadamard),
        ("u ./ v", ElementDivide),
        ("u ⊘ v", ElementDivide),
        ("u·v", MatMul),
        ("sum(u)", SumAll),
        ("dot(u, v)", Dot),
        ("norm2(u)", Norm2),
        ("trace(W)", Trace),
        ("softmax(u)", Softmax),
        ("cross_entropy(u, v)", CrossEntropy),
        ("binary_cross_entropy(u, v)", BinaryCrossEntropy),
        ("relu(u)", Apply),
        ("u − v", Sub),
        ("norm2(u)^2", Power),
        ("-u", ScalarMul),
    ],
)
def test_each_form_builds_its_node(text: str, kind: type) -> None:
    """Every written form of the language builds the node it names."""
    problem = parse_matrix_problem(f"L = {text}", "u: 2, v: 2, W: 2x2")
    assert isinstance(problem.definition("L"), kind)


def test_numbers_fold_exactly() -> None:
    """`1/2` is the exact half and `0.1` the exact tenth, never a float."""
    problem = parse_matrix_problem("L = 1/2*sum(x) + 0.1*sum(x)")
    node = problem.definition("L")
    assert isinstance(node, Add) and isinstance(node.left, MatMul)
    assert node.left.left == Constant(sympy.Rational(1, 2), Span(4, 7))
    assert isinstance(node.right, MatMul) and isinstance(node.right.left, Constant)
    assert node.right.left.value == sympy.Rational(1, 10)


def test_aliases_of_the_language_are_its_functions() -> None:
    """`ln` is the registry's log: an elementwise function by its registry name."""
    node = parse_matrix_problem("L = sum(ln(x))").definition("L")
    assert isinstance(node, SumAll) and isinstance(node.operand, Apply)
    assert node.operand.function == "log"


def test_a_bare_last_expression_is_the_target() -> None:
    """`norm2(A*x - y)^2` with no name is the target f, as matrixcalculus.org reads it."""
    problem = parse_matrix_problem("norm2(A*x - y)^2", "A: 3x2, x: 2, y: 3")
    assert problem.target == "f"
    assert problem.inputs == ("A", "x", "y")


def test_syntax_errors_point_at_the_token() -> None:
    """An unclosed parenthesis, a stray operator, an unknown function: one line and a caret."""
    unclosed = error("L = sum(x")
    assert isinstance(unclosed, ParseError) and caret(unclosed) == "       ^"
    stray = error("L = x + * x")
    assert caret(stray) == "        ^" and "'*'" in stray.message
    unknown = error("L = foo(x)")
    assert unknown.code == "unknown_function" and caret(unknown) == "    ^^^"
    assert error("L = sum(x, x)").code == "wrong_arity"
    assert error("L = sigmoid").code == "function_without_argument"
    assert error("L = x $ 2").code == "unexpected_character"
    assert error("L = import + x").code == "reserved_name"
    assert error("lambda: 1").code == "reserved_name"


def test_shape_errors_in_the_option_point_into_it() -> None:
    """A malformed or empty --shapes entry is refused with a caret in the option's text."""
    bad = error("L = sum(x)", "x: 2y")
    assert bad.code == "bad_shape" and bad.source == "x: 2y"
    assert bad.message.startswith("--shapes: ")
    assert error("L = sum(x)", "x: 0").code == "bad_shape"
    assert error("L = sum(x)", "x: 2, x: 3").code == "conflicting_shapes"


def test_sizes_are_bounded_before_anything_is_built() -> None:
    """A shape beyond the limits is refused when it is read, and so are too many entries in all."""
    too_wide = error("L = sum(x)", f"x: {MATRIX_LIMITS.max_dimension + 1}")
    assert too_wide.code == "shape_too_large"
    assert error("L = sum(x)", "x: 99999999999").code == "shape_too_large"
    names = [f"W{i}" for i in range(5)]
    text = "L = " + " + ".join(f"sum(W{i})" for i in range(5))
    many = error(text, ", ".join(f"{name}: 32x32" for name in names))
    assert many.code == "shape_too_large" and "together" in many.message


def test_text_size_depth_and_node_count_are_bounded() -> None:
    """The scalar parser's limits bound a matrix problem too: length, nesting, node count."""
    assert error("L = " + "x + " * 6000 + "x").code == "input_too_long"
    assert error("L = sum(" + "(" * 150 + "x" + ")" * 150 + ")").code == "too_deep"
    assert error("L = " + "+".join(["sum(x)"] * 2600)).code == "too_complex"


def test_definitions_and_wrt_are_validated() -> None:
    """A name defined twice, a function name defined, an unknown or defined --wrt: ProblemErrors."""
    assert error("a = x; a = x; L = sum(a)").code == "redefined"
    assert error("sum = x; L = x").code == "reserved_name"
    with pytest.raises(ProblemError) as info:
        parse_matrix_problem("a = 2*x; L = sum(a)", "x: 2", ["a"])
    assert info.value.code == "unknown_wrt" and "defined" in info.value.message
    with pytest.raises(ProblemError):
        parse_matrix_problem("L = sum(x)", "x: 2", ["q"])


def test_a_problem_without_inputs_is_refused() -> None:
    """`L = 3` with shapes has nothing to differentiate by: a ProblemError, not an empty solution."""
    assert error("L = 3").code == "no_inputs"


def test_statements_before_the_last_must_be_definitions() -> None:
    """Only the last statement may be a bare expression."""
    assert error("x + 1; L = sum(x)").code == "not_a_definition"


def test_parse_shapes_reads_both_separators_and_multiplication_signs() -> None:
    """--shapes accepts commas and semicolons, `3x2` and `3×2`."""
    shapes = parse_shapes("x: 2; W: 3×2, b:3")
    assert [(d.name, d.shape) for d in shapes] == [
        ("x", Shape(2, 1)),
        ("W", Shape(3, 2)),
        ("b", Shape(3, 1)),
    ]


def test_symbols_are_plain_names() -> None:
    """A name is a Symbol node with its own span."""
    node = parse_matrix_problem("L = sum(x)").definition("L")
    assert isinstance(node, SumAll)
    assert node.operand == Symbol("x", Span(8, 9))
