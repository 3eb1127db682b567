"""Tests for chainsolve.matrix.backprop: the done-when problems of issue 17 against a scalar expansion
written out by hand here, the steps as taught (δ per layer, δ·xᵀ, ⊙σ′) and their rule ids and shapes."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import sympy

from chainsolve.functions import relu, sigmoid
from chainsolve.matrix.backprop import backprop
from chainsolve.matrix.expand import entries_of
from chainsolve.matrix.model import Shape
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.printing import show
from chainsolve.matrix.shapes import infer_shapes
from chainsolve.matrix.solve import MatrixSolution, solve_matrix

NETWORK = "a = W1*x + b1; h = {f}(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
NETWORK_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"
SOFTMAX = "z = W*x + b; p = softmax(z); L = cross_entropy(p, y)"
SOFTMAX_SHAPES = "W: 3x2, x: 2, b: 3, y: 3"
LOGISTIC = "p = sigmoid(dot(w, x) + b); L = -(y*log(p) + (1 - y)*log(1 - p))"
LOGISTIC_SHAPES = "w: 2, x: 2, b: 1, y: 1"


def matrix(name: str, rows: int, cols: int = 1) -> sympy.Matrix:
    """A matrix of real entry symbols named as chainsolve names them (W1_12, x_2, b)."""

    def entry(i: int, j: int) -> sympy.Symbol:
        if rows == cols == 1:
            return sympy.Symbol(name, real=True)
        suffix = f"{i + 1}" if cols == 1 else f"{i + 1}{j + 1}"
        return sympy.Symbol(f"{name}_{suffix}", real=True)

    return sympy.Matrix(rows, cols, entry)


def gradient(loss: sympy.Expr, by: sympy.Matrix) -> sympy.Matrix:
    """The oracle: sympy.diff of the scalar loss by each entry, in the shape of ``by``."""
    return by.applyfunc(lambda entry: sympy.diff(loss, entry))


def claimed(solution: MatrixSolution, name: str, names: dict[str, sympy.Matrix]) -> sympy.Matrix:
    """chainsolve's result for ∂L/∂name, its names replaced by their hand expansions."""
    return entries_of(solution.results[name], names)


def assert_equal_at_points(left: sympy.Matrix, right: sympy.Matrix, points: int = 3) -> None:
    """Equal entry by entry at random points (30 digits), with the y entries summing to 1 when
    the caller substituted so."""
    assert left.shape == right.shape
    symbols = sorted(set().union(*(e.free_symbols for e in [*left, *right])), key=str)
    generator = random.Random(17)
    for _ in range(points):
        point = {s: sympy.Float(generator.uniform(-2, 2), 30) for s in symbols}
        for a, b in zip(left, right, strict=True):
            difference = complex((a - b).xreplace(point).evalf(30))
            assert abs(difference) < 1e-20


def two_layer(activation: Callable[[sympy.Expr], sympy.Expr]) -> dict[str, sympy.Matrix]:
    """The seed's 2→3→1 network written out entry by entry, by hand."""
    names = {
        "x": matrix("x", 2),
        "W1": matrix("W1", 3, 2),
        "b1": matrix("b1", 3),
        "W2": matrix("W2", 1, 3),
        "b2": matrix("b2", 1, 1),
        "y": matrix("y", 1, 1),
    }
    names["a"] = names["W1"] * names["x"] + names["b1"]
    names["h"] = names["a"].applyfunc(activation)
    names["z"] = names["W2"] * names["h"] + names["b2"]
    residual = names["z"] - names["y"]
    names["L"] = sympy.Matrix([[sum(e**2 for e in residual) / 2]])
    return names


@pytest.mark.parametrize(("function", "activation"), [("sigmoid", sigmoid), ("relu", relu)])
def test_the_two_layer_network_matches_the_scalar_expansion(
    function: str, activation: Callable[[sympy.Expr], sympy.Expr]
) -> None:
    """Seed network (σ) and the 2→3→1 ReLU network: every gradient equals sympy.diff, exactly."""
    solution = solve_matrix(NETWORK.format(f=function), NETWORK_SHAPES, ["W1", "b1", "W2", "b2"])
    assert solution.verified
    names = two_layer(activation)
    loss = names["L"][0, 0]
    for name in ("W1", "b1", "W2", "b2"):
        difference = claimed(solution, name, names) - gradient(loss, names[name])
        assert difference.applyfunc(sympy.expand) == sympy.zeros(*difference.shape), name


def test_the_two_layer_network_is_taught_layer_by_layer() -> None:
    """δ_z = z − y, δ_h = W2ᵀ·δ_z, δ_a = δ_h ⊙ σ′(a), ∂L/∂W1 = δ_a·xᵀ (not x·δᵀ), ∂L/∂b1 = δ_a."""
    solution = solve_matrix(NETWORK.format(f="sigmoid"), NETWORK_SHAPES, ["W1", "b1", "W2"])
    steps = {step.name: step for step, _ in solution.steps}
    assert [step.name for step, _ in solution.steps] == ["z", "h", "a", "W1", "b1", "W2"]
    assert show(steps["z"].claim) == "z - y"
    assert show(steps["h"].claim) == "W2ᵀ·δ_z"
    assert show(steps["a"].claim) == "δ_h ⊙ σ′(a)"
    assert show(steps["W1"].claim) == "δ_a·xᵀ"
    assert show(steps["b1"].claim) == "δ_a"
    assert show(steps["W2"].claim) == "δ_z·hᵀ"
    assert "matrix_multiply_gate" in steps["W1"].rules
    assert steps["a"].rules == ("elementwise_gate", "derivative_of_sigmoid")
    assert "norm2_squared" in steps["z"].rules


def test_every_factor_has_its_shape_and_the_gradient_has_the_shape_of_its_matrix() -> None:
    """Denominator layout: ∂L/∂W1 is 3×2 like W1; δ_a·xᵀ is (3×1)·(1×2)."""
    solution = solve_matrix(NETWORK.format(f="sigmoid"), NETWORK_SHAPES, ["W1"])
    step = solution.backprop.gradients["W1"]
    assert step.shape == Shape(3, 2)
    assert [(show(node), shape) for node, shape in step.factors] == [
        ("δ_a", Shape(3, 1)),
        ("xᵀ", Shape(1, 2)),
    ]
    assert solution.backprop.layout == "denominator"


def test_softmax_with_cross_entropy_gives_p_minus_y() -> None:
    """∂L/∂z = p − y (for y summing to 1), and ∂L/∂W, ∂L/∂b equal sympy.diff with y so."""
    solution = solve_matrix(SOFTMAX, SOFTMAX_SHAPES, ["W", "b"])
    assert solution.verified
    delta = solution.steps[0][0]
    assert (delta.name, show(delta.claim)) == ("z", "p - y")
    assert delta.rules == ("softmax_cross_entropy",)
    assert delta.condition == ("sums_to_one", "y")
    names = {"W": matrix("W", 3, 2), "x": matrix("x", 2), "b": matrix("b", 3), "y": matrix("y", 3)}
    last = names["y"][2]
    one_hot_sum = {last: 1 - names["y"][0] - names["y"][1]}
    names["z"] = names["W"] * names["x"] + names["b"]
    exponentials = names["z"].applyfunc(sympy.exp)
    names["p"] = exponentials / sum(exponentials)
    loss = -sum(y * sympy.log(p) for y, p in zip(names["y"], names["p"], strict=True))
    for name in ("W", "b"):
        mine = claimed(solution, name, names).xreplace(one_hot_sum)
        assert_equal_at_points(mine, gradient(loss, names[name]).xreplace(one_hot_sum))


def test_softmax_cross_entropy_without_the_condition_would_differ() -> None:
    """p − y is wrong when y does not sum to 1: the condition is needed, not decoration."""
    solution = solve_matrix(SOFTMAX, SOFTMAX_SHAPES, ["b"])
    names = {"W": matrix("W", 3, 2), "x": matrix("x", 2), "b": matrix("b", 3), "y": matrix("y", 3)}
    names["z"] = names["W"] * names["x"] + names["b"]
    exponentials = names["z"].applyfunc(sympy.exp)
    names["p"] = exponentials / sum(exponentials)
    loss = -sum(y * sympy.log(p) for y, p in zip(names["y"], names["p"], strict=True))
    with pytest.raises(AssertionError):
        assert_equal_at_points(claimed(solution, "b", names), gradient(loss, names["b"]))


def test_logistic_regression_in_vector_form() -> None:
    """p = σ(dot(w, x) + b) with the binary cross-entropy written out: ∂L/∂w equals sympy.diff."""
    solution = solve_matrix(LOGISTIC, LOGISTIC_SHAPES, ["w", "b"])
    assert solution.verified
    w, x, b, y = matrix("w", 2), matrix("x", 2), matrix("b", 1, 1), matrix("y", 1, 1)
    p = sigmoid((w.T * x)[0, 0] + b[0, 0])
    names = {"w": w, "x": x, "b": b, "y": y, "p": sympy.Matrix([[p]])}
    loss = -(y[0, 0] * sympy.log(p) + (1 - y[0, 0]) * sympy.log(1 - p))
    for name in ("w", "b"):
        assert_equal_at_points(claimed(solution, name, names), gradient(loss, names[name]))


def test_logistic_regression_with_binary_cross_entropy_gives_p_minus_y() -> None:
    """binary_cross_entropy(σ(z), y): δ_z = p − y (no condition), ∂L/∂w = δ_z·x, equal to sympy.diff."""
    text = "z = dot(w, x) + b; p = sigmoid(z); L = binary_cross_entropy(p, y)"
    solution = solve_matrix(text, "w: 3, x: 3, b: 1, y: 1", ["w", "b"])
    assert solution.verified
    delta, gradient_w = solution.steps[0][0], solution.steps[1][0]
    assert (delta.name, show(delta.claim), delta.condition) == ("z", "p - y", None)
    assert delta.rules == ("sigmoid_binary_cross_entropy",)
    assert show(gradient_w.claim) == "δ_z·x"
    w, x, b, y = matrix("w", 3), matrix("x", 3), matrix("b", 1, 1), matrix("y", 1, 1)
    z = (w.T * x)[0, 0] + b[0, 0]
    p = 1 / (1 + sympy.exp(-z))
    names = {"w": w, "x": x, "b": b, "y": y, "z": sympy.Matrix([[z]]), "p": sympy.Matrix([[p]])}
    loss = -(y[0, 0] * sympy.log(p) + (1 - y[0, 0]) * sympy.log(1 - p))
    for name in ("w", "b"):
        assert_equal_at_points(claimed(solution, name, names), gradient(loss, names[name]))


def test_binary_cross_entropy_of_something_else_uses_its_own_gate() -> None:
    """Without a sigmoid in front, ∂L/∂p = (p − y) ⊘ (p ⊙ (𝟙 − p)), checked like every step."""
    text = "p = tanh(W*x) .* tanh(W*x); L = binary_cross_entropy(p, y)"
    solution = solve_matrix(text, "W: 3x2, x: 2, y: 3", ["W", "y"])
    assert solution.verified
    delta = solution.steps[0][0]
    assert show(delta.claim) == "(p - y) ⊘ (p ⊙ (𝟙 - p))"
    assert show(solution.results["y"]) == "ln(𝟙 - p) - ln(p)"


def test_least_squares_gives_two_a_transpose_times_the_residual() -> None:
    """norm2(A*x - y)^2: ∂/∂x = 2·Aᵀ·(A·x − y), equal to sympy.diff exactly."""
    solution = solve_matrix("norm2(A*x - y)^2", "A: 3x2, x: 2, y: 3", ["x"])
    assert show(solution.results["x"]) == "2·Aᵀ·(A·x - y)"
    names = {"A": matrix("A", 3, 2), "x": matrix("x", 2), "y": matrix("y", 3)}
    loss = sum(e**2 for e in names["A"] * names["x"] - names["y"])
    difference = claimed(solution, "x", names) - gradient(loss, names["x"])
    assert difference.applyfunc(sympy.expand) == sympy.zeros(2, 1)


def test_a_name_used_twice_collects_both_uses() -> None:
    """A skip connection (a used by h and by z): δ_a sums both paths, rule multivariable_chain."""
    solution = solve_matrix("a = W*x; h = tanh(a); z = h + a; L = sum(z)", "W: 2x2, x: 2", ["W"])
    assert solution.verified
    delta_a = next(step for step, _ in solution.steps if step.name == "a")
    assert delta_a.rules[0] == "multivariable_chain"


@pytest.mark.parametrize(
    ("text", "shapes", "wrt"),
    [
        ("L = trace(A*B) + sum(A .* A)/norm2(B)", "A: 2x2, B: 2x2", ["A", "B"]),
        ("L = sum(tanh(W)'*W) + dot(u, W*v)", "W: 3x2, u: 3, v: 2", ["W", "u"]),
        ("s = softmax(W*x); L = dot(s, s)", "W: 3x2, x: 2", ["W"]),
        ("p = sigmoid(W*x); L = cross_entropy(p, y)", "W: 2x2, x: 2, y: 2", ["W"]),
        ("L = sum(exp(x)/sum(x)) + sum(sqrt(x .* x + v))^(3/2)", "x: 3, v: 3", ["x"]),
        ("a = W*x; L = (2*sum(a) - 3)^-1 + sum(-a)", "W: 2x2, x: 2", ["W"]),
        ("L = sum(log(u ./ (v .* v + 1)))", "u: 3, v: 3", ["u", "v"]),
        ("L = a ./ b + sum(x) ./ (2*a)", "a: 1, b: 1, x: 2", ["a", "b", "x"]),
        ("L = sum(log(2 ./ (1 + exp(-x ./ c))))", "x: 3, c: 1", ["x", "c"]),
    ],
)
def test_every_gate_passes_its_check(text: str, shapes: str, wrt: list[str]) -> None:
    """Each gate (trace, transpose, dot, softmax, cross-entropy, division, ./, powers, √) checks out."""
    assert solve_matrix(text, shapes, wrt).verified


def test_the_quadratic_form_gives_a_x_plus_a_transpose_x() -> None:
    """x'*A*x (matrixcalculus.org's example): ∂/∂x = A·x + Aᵀ·x, ∂/∂A = x·xᵀ, transposes taken inside."""
    solution = solve_matrix("x'*A*x", "x: 3, A: 3x3", ["x", "A"])
    assert solution.verified
    assert show(solution.results["x"]) == "A·x + Aᵀ·x"
    assert show(solution.results["A"]) == "x·xᵀ"
    names = {"x": matrix("x", 3), "A": matrix("A", 3, 3)}
    loss = (names["x"].T * names["A"] * names["x"])[0, 0]
    for name in ("x", "A"):
        difference = claimed(solution, name, names) - gradient(loss, names[name])
        assert difference.applyfunc(sympy.expand) == sympy.zeros(*difference.shape)


def test_an_input_the_loss_does_not_depend_on_has_gradient_zero() -> None:
    """A definition the loss never uses gets no δ, and its input's gradient is 0, checked."""
    solution = solve_matrix("u = W*x; L = sum(x)", "W: 2x2, x: 2", ["W"])
    (step, check) = solution.steps[0]
    assert (step.name, show(step.claim), step.rules) == ("W", "0", ("no_dependence",))
    assert check.agrees and solution.verified


def test_only_names_on_a_path_to_wrt_get_a_delta() -> None:
    """No δ for a layer that does not depend on the wrt input."""
    worked = backprop(
        infer_shapes(parse_matrix_problem(NETWORK.format(f="relu"), NETWORK_SHAPES, ["W2"]))
    )
    assert [step.name for step in worked.steps] == ["z", "W2"]


BROADCAST = "a = W*x + b; L = norm2(a - y)^2"
BROADCAST_SHAPES = "W: 3x2, x: 2, b: 1, y: 3"


def test_a_broadcast_bias_gets_the_sum_of_delta() -> None:
    """W·x + b with a 1×1 b: ∂L/∂b = sum(δ_a) by the broadcast gate, equal to sympy.diff."""
    solution = solve_matrix(BROADCAST, BROADCAST_SHAPES, ["W", "b"])
    assert solution.verified
    step = solution.backprop.gradients["b"]
    assert (show(step.claim), step.shape, step.rules) == (
        "sum(δ_a)",
        Shape(1, 1),
        ("add_gate", "broadcast"),
    )
    assert [(show(node), shape) for node, shape in step.factors] == [("δ_a", Shape(3, 1))]
    forward = {name: show(node) for name, node, _ in solution.backprop.forward}
    assert forward["a"] == "W·x + b"  # written as typed
    names = {"W": matrix("W", 3, 2), "x": matrix("x", 2), "b": matrix("b", 1, 1)}
    names["y"] = matrix("y", 3)
    names["a"] = names["W"] * names["x"] + names["b"][0, 0] * sympy.ones(3, 1)
    loss = sum(entry**2 for entry in names["a"] - names["y"])
    for name in ("W", "b"):
        difference = claimed(solution, name, names) - gradient(loss, names[name])
        assert difference.applyfunc(sympy.expand) == sympy.zeros(*difference.shape), name


@pytest.mark.parametrize(
    ("text", "shapes", "wrt", "result"),
    [
        ("L = sum(sigmoid(x + c))", "x: 3, c: 1", "c", "sum(σ′(x + c))"),
        ("L = sum(c .* x)", "x: 3, c: 1", "c", "sum(x)"),
        ("L = sum(c .* x)", "x: 3, c: 1", "x", "c·𝟙"),
        ("L = sum(tanh(x - c))", "x: 2, c: 1", "c", "-sum(tanh′(x - c))"),
        ("L = sum(x + c)", "x: 3, c: 1", "c", "3"),
        ("L = sum(relu(W - 2*c) ⊙ W)", "W: 2x2, c: 1", "c", "-2·sum(W ⊙ relu′(W - 2·c))"),
        ("L = sum(x ./ c)", "x: 3, c: 1", "c", "-sum(x/(c²))"),
        ("L = sum(x ./ c)", "x: 3, c: 1", "x", "𝟙/c"),
        ("L = sum(c ./ x)", "x: 3, c: 1", "c", "sum(𝟙 ⊘ x)"),
        ("L = sum(c ./ x)", "x: 3, c: 1", "x", "-(c·𝟙 ⊘ (x ⊙ x))"),
    ],
)
def test_every_broadcast_checks_against_the_scalar_expansion(
    text: str, shapes: str, wrt: str, result: str
) -> None:
    """Broadcasting in +, −, .*, ⊙ and ./ (vectors and matrices): the sum rule, every step checked."""
    solution = solve_matrix(text, shapes, [wrt])
    assert solution.verified
    assert show(solution.results[wrt]) == result
