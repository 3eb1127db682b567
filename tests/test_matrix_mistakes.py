"""`verify --shapes`: matrix answers judged entry by entry, and the matrix-level mistakes named."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from chainsolve.cli import main
from chainsolve.errors import ProblemError
from chainsolve.matrix.expand import entries_of
from chainsolve.matrix.mistakes import (
    DELTA_PREFIX,
    MatrixVerdict,
    _read_answer,
    verify_matrix_answer,
    wrong_variants,
)
from chainsolve.matrix.printing import show
from chainsolve.matrix.solve import MatrixSolution, solve_matrix
from tests.conftest import compile_latex

#: The seed's two-layer network.
SEED = "a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
SEED_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"
#: A square layer, where W·δ and Wᵀ·δ have one shape.
SQUARE = "a = W*x; h = tanh(a); L = sum(h)"
SQUARE_SHAPES = "x: 2, W: 2x2"


def seed_oracle() -> tuple[dict[str, sympy.Matrix], sympy.Matrix, sympy.Matrix]:
    """The seed network written out with plain sympy Matrices: its entries, L and ∂L/∂W1 by sympy.diff.

    Nothing of chainsolve is used: σ is 1/(1 + e^(−u)) and each entry its own symbol.
    """

    def entries(name: str, rows: int, cols: int) -> sympy.Matrix:
        return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}{j}", real=True))

    names = {
        "W1": entries("W1", 3, 2),
        "x": entries("x", 2, 1),
        "b1": entries("b1", 3, 1),
        "W2": entries("W2", 1, 3),
        "b2": entries("b2", 1, 1),
        "y": entries("y", 1, 1),
    }
    a = names["W1"] * names["x"] + names["b1"]
    h = a.applyfunc(lambda u: 1 / (1 + sympy.exp(-u)))
    z = names["W2"] * h + names["b2"]
    loss = (z - names["y"])[0, 0] ** 2 / 2
    gradient = sympy.Matrix(3, 2, lambda i, j: sympy.diff(loss, names["W1"][i, j]))
    return names, loss, gradient


def answer_at_point(
    solution: MatrixSolution, answer: str, point: dict[str, sympy.Matrix]
) -> sympy.Matrix:
    """The answer's entries at a point: the forward pass and each δ by sympy.diff, not by chainsolve.

    δ of an intermediate is ∂L/∂(its entries) of the loss written from it, by sympy.diff.
    """
    node, _, _ = _read_answer(solution, answer)
    assert node is not None
    expansion = solution.checked.expansion
    values: dict[sympy.Symbol, sympy.Expr] = {}
    for name in solution.problem.inputs:
        for symbol, value in zip(expansion.symbols[name], point[name], strict=True):
            values[symbol] = value
    names: dict[str, sympy.Matrix] = {n: point[n] for n in solution.problem.inputs}
    for name, _ in solution.problem.definitions:
        names[name] = expansion.flat[name].xreplace(values)
    for step in solution.backprop.steps:
        if step.kind == "delta":
            rest = expansion.flattened_from(step.name)
            own = expansion.symbols[step.name]
            own_values = dict(zip(own, names[step.name], strict=True))
            names[DELTA_PREFIX + step.name] = own.applyfunc(
                lambda s, rest=rest, own_values=own_values: (
                    sympy.diff(rest, s).xreplace(own_values).xreplace(values)
                )
            )
    return entries_of(node, names).evalf(30)


def random_point(names: dict[str, sympy.Matrix]) -> dict[str, sympy.Matrix]:
    """Each input's entries at seeded random rationals."""
    draw = random.Random(17)
    return {
        name: matrix.applyfunc(lambda _: sympy.Rational(draw.randint(-90, 90), 37))
        for name, matrix in names.items()
    }


def values_of(
    names: dict[str, sympy.Matrix], point: dict[str, sympy.Matrix]
) -> dict[sympy.Symbol, sympy.Expr]:
    return {s: v for n in names for s, v in zip(names[n], point[n], strict=True)}


def close(left: sympy.Matrix, right: sympy.Matrix) -> bool:
    return left.shape == right.shape and all(
        abs(sympy.N(a - b, 30)) < sympy.Float(10) ** -20 for a, b in zip(left, right, strict=True)
    )


@pytest.fixture(scope="module")
def seed() -> MatrixSolution:
    return solve_matrix(SEED, SEED_SHAPES, ["W1", "W2", "x"])


@pytest.fixture(scope="module")
def oracle() -> tuple[dict[str, sympy.Matrix], sympy.Matrix, sympy.Matrix]:
    return seed_oracle()


@pytest.mark.parametrize(
    "answer",
    [
        "delta_a*x'",
        "(delta_h .* sigmoid(a) .* sigmoid(-a))*x'",
        "((W2'*(z - y)) .* sigmoid(a) .* sigmoid(-a))*x'",
    ],
)
def test_right_answers_equal_sympy_diff_and_are_correct(
    seed: MatrixSolution,
    oracle: tuple[dict[str, sympy.Matrix], sympy.Matrix, sympy.Matrix],
    answer: str,
) -> None:
    """δ_a·xᵀ in δ form or written out (σ′ = σ(a)σ(−a)) is ∂L/∂W1 by sympy.diff, and is judged correct."""
    names, _, gradient = oracle
    point = random_point(names)
    assert close(answer_at_point(seed, answer, point), gradient.xreplace(values_of(names, point)))
    report = verify_matrix_answer(seed, "W1", answer)
    assert report.correct and report.mistakes == ()


def test_wrong_order_is_the_transpose_and_is_named(
    seed: MatrixSolution, oracle: tuple[dict[str, sympy.Matrix], sympy.Matrix, sympy.Matrix]
) -> None:
    """x·δ_aᵀ is the transpose of ∂L/∂W1 (sympy.diff): named 'wrong order', in the step δ_a·xᵀ."""
    names, _, gradient = oracle
    point = random_point(names)
    given = answer_at_point(seed, "x*delta_a'", point)
    assert close(given, gradient.xreplace(values_of(names, point)).T)
    report = verify_matrix_answer(seed, "W1", "x*delta_a'")
    assert not report.correct
    assert [m.id for m in report.mistakes] == ["matrix_wrong_order"]
    assert report.mistakes[0].detail == "in the step ∂L/∂W1 = δ_a·xᵀ"
    assert str(report.answer_shape) == "2×3" and str(report.expected_shape) == "3×2"


def test_missing_elementwise_derivative_is_named(
    seed: MatrixSolution, oracle: tuple[dict[str, sympy.Matrix], sympy.Matrix, sympy.Matrix]
) -> None:
    """(W2ᵀ·(z − y))·xᵀ, ∂L/∂W1 without its ⊙σ′(a) (plain sympy), is named 'missing ⊙σ′'."""
    names, _, gradient = oracle
    point = random_point(names)
    values = values_of(names, point)
    a = names["W1"] * names["x"] + names["b1"]
    z = names["W2"] * a.applyfunc(lambda u: 1 / (1 + sympy.exp(-u))) + names["b2"]
    slip = (names["W2"].T * (z - names["y"]) * names["x"].T).xreplace(values)
    answer = "(W2'*(z - y))*x'"
    assert close(answer_at_point(seed, answer, point), slip)
    assert not close(slip, gradient.xreplace(values))
    report = verify_matrix_answer(seed, "W1", answer)
    assert [m.id for m in report.mistakes] == ["matrix_missing_elementwise_derivative"]
    assert report.mistakes[0].detail == "in the step δ_a = δ_h ⊙ σ′(a)"


def test_matrix_product_for_elementwise_is_named(seed: MatrixSolution) -> None:
    """δ_hᵀ·σ′(a)·xᵀ (a number times xᵀ) for (δ_h ⊙ σ′(a))·xᵀ: 'matrix product where ⊙ is meant'."""
    report = verify_matrix_answer(seed, "W1", "delta_h'*(sigmoid(a) .* sigmoid(-a))*x'")
    assert [m.id for m in report.mistakes] == ["matrix_product_for_elementwise"]
    assert str(report.answer_shape) == "1×2"


def test_missing_transpose_is_named_on_a_square_layer() -> None:
    """With a square W, W·δ_a for Wᵀ·δ_a has the right shape: named 'missing transpose'."""
    solution = solve_matrix(SQUARE, SQUARE_SHAPES, ["x"])
    assert verify_matrix_answer(solution, "x", "W'*delta_a").correct
    report = verify_matrix_answer(solution, "x", "W*delta_a")
    assert [m.id for m in report.mistakes] == ["matrix_missing_transpose"]
    wrong = verify_matrix_answer(solution, "x", "delta_a'*W")
    assert [m.id for m in wrong.mistakes] == ["matrix_wrong_order"]


def test_answer_of_another_shape_is_a_shape_mismatch(seed: MatrixSolution) -> None:
    """An answer of a shape other than W1's that matches no slip: 'shape mismatch', both shapes named."""
    report = verify_matrix_answer(seed, "W1", "delta_h .* sigmoid(a)")
    assert [m.id for m in report.mistakes] == ["matrix_shape_mismatch"]
    assert report.mistakes[0].detail == "the answer is 3×1; ∂L/∂W1 has W1's shape, 3×2"


def test_answer_whose_shapes_do_not_fit_names_the_operation(seed: MatrixSolution) -> None:
    """An answer whose own shapes do not fit is wrong, the message naming the operation and shapes."""
    report = verify_matrix_answer(seed, "W1", "(W2 .* sigmoid(a))*x'")
    assert not report.correct and report.answer_shape is None
    assert report.mistakes[0].id == "matrix_shape_mismatch"
    assert "(1×3)⊙(3×1)" in report.mistakes[0].detail


def test_relu_network_weight_gradient_slips(seed: MatrixSolution) -> None:
    """The 2→3→1 ReLU network: (z − y)·hᵀ is right for W2, h·(z − y) its transpose."""
    solution = solve_matrix(SEED.replace("sigmoid", "relu"), SEED_SHAPES, ["W2"])
    assert verify_matrix_answer(solution, "W2", "(z - y)*h'").correct
    report = verify_matrix_answer(solution, "W2", "h*delta_z")
    assert [m.id for m in report.mistakes] == ["matrix_wrong_order"]


def test_every_variant_differs_from_the_gradient(seed: MatrixSolution) -> None:
    """No wrong variant equals the gradient entry by entry (a right answer is never named a mistake)."""
    from chainsolve.matrix.mistakes import _Comparison

    gradient = seed.backprop.gradients["W1"]
    compare = _Comparison(seed, gradient)
    right = compare.entries(seed.results["W1"])
    assert right is not None
    variants = wrong_variants(seed, "W1")
    assert {v.mistake for v in variants} >= {
        "matrix_wrong_order",
        "matrix_missing_transpose",
        "matrix_missing_elementwise_derivative",
        "matrix_product_for_elementwise",
    }
    for variant in variants:
        wrong = compare.entries(variant.result)
        assert wrong is None or not compare.equal(wrong, right), show(variant.result)


def test_unknown_name_is_an_error_listing_the_names(seed: MatrixSolution) -> None:
    """A name the problem does not have (delta1) is an error whose hint lists delta_z, delta_h, delta_a."""
    with pytest.raises(ProblemError) as caught:
        verify_matrix_answer(seed, "W1", "delta1*x'")
    assert caught.value.hint is not None and "delta_z, delta_h, delta_a" in caught.value.hint


def _verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", SEED, "--shapes", SEED_SHAPES, *args])
    return result.exit_code, result.output


def test_cli_exit_codes_and_text() -> None:
    """`verify --shapes`: exit 0 for a right answer, 1 naming the mistake, 2 for a bad answer."""
    code, output = _verify("--wrt", "W1", "--answer", "delta_a*x'")
    assert code == 0 and "Verdict: correct" in output
    code, output = _verify("--wrt", "W1", "--answer", "x*delta_a'")
    assert code == 1 and "Mistake: wrong order or transpose (x·δᵀ instead of δ·xᵀ)" in output
    code, output = _verify("--wrt", "W1", "--answer", "x*")
    assert code == 2 and "Traceback" not in output
    code, output = _verify("--answer", "delta_a*x'")
    assert code == 2 and "add --wrt NAME" in output


def test_cli_json_is_a_verdict_with_shapes() -> None:
    """`--format json`: the verdict schema's answer form, with the mistake ids and both shapes."""
    code, output = _verify("--wrt", "W1", "--answer", "x*delta_a'", "--format", "json")
    data = json.loads(output)
    assert code == 1 and data["mistakes"] == ["matrix_wrong_order"]
    assert data["shapes"] == {"expected": [3, 2], "answer": [2, 3]}
    assert data["expected"] == "((W2ᵀ·(z - y)) ⊙ σ′(a))·xᵀ"


def test_cli_refuses_a_matrix_derivation() -> None:
    """A matrix problem checks an --answer: a --derivation is one clear error, exit 2."""
    code, output = _verify("--wrt", "W1", "--derivation", "-")
    assert code == 2 and "not a --derivation" in output


#: Answers for ∂L/∂W1 of the seed: right (δ form), transposed, and without ⊙σ′.
FORMAT_ANSWERS = ("delta_a*x'", "x*delta_a'", "(W2'*(z - y))*x'")


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
@pytest.mark.parametrize("answer", FORMAT_ANSWERS)
def test_verdicts_in_every_format_follow_the_oracle(
    seed: MatrixSolution,
    oracle: tuple[dict[str, sympy.Matrix], sympy.Matrix, sympy.Matrix],
    fmt: str,
    answer: str,
) -> None:
    """Markdown, LaTeX and HTML say correct exactly when sympy.diff agrees, naming each mistake."""
    names, _, gradient = oracle
    point = random_point(names)
    given = answer_at_point(seed, answer, point)
    right = close(given, gradient.xreplace(values_of(names, point)))
    code, output = _verify("--wrt", "W1", "--answer", answer, "--format", fmt)
    assert code == (0 if right else 1)
    assert ("Verdict: correct" in output) is right
    assert ("Verdict: not equivalent" in output) is not right
    for mistake in verify_matrix_answer(seed, "W1", answer).mistakes:
        assert mistake.id in output.replace("\\_", "_")
    assert right or "Expected" in output


@pytest.mark.parametrize("answer", FORMAT_ANSWERS)
def test_matrix_verdict_latex_compiles(tmp_path: Path, answer: str) -> None:
    """The LaTeX verdict of each answer (its mistakes' words in LaTeX) compiles with pdflatex."""

    _, output = _verify("--wrt", "W1", "--answer", answer, "--format", "latex")
    compile_latex(output, tmp_path, "verdict")


def test_html_verdict_is_one_document_with_mathml() -> None:
    """The HTML verdict is a whole document whose derivative is MathML, the student's text escaped."""
    _, output = _verify("--wrt", "W1", "--answer", "x*delta_a'", "--format", "html")
    assert output.count("<!DOCTYPE html>") == 1 and "<math" in output
    assert "<code>x*delta_a&#39;</code>" in output


def test_verdict_type(seed: MatrixSolution) -> None:
    """The verdict is a MatrixVerdict whose message names the derivative."""
    report = verify_matrix_answer(seed, "W2", "delta_z*h'")
    assert isinstance(report, MatrixVerdict) and "∂L/∂W2" in report.message


#: A 1×1 bias broadcast over a layer of 3.
BROADCAST = "a = W*x + b; L = norm2(a - y)^2"
BROADCAST_SHAPES = "x: 2, W: 3x2, b: 1, y: 3"


@pytest.fixture(scope="module")
def broadcast() -> MatrixSolution:
    return solve_matrix(BROADCAST, BROADCAST_SHAPES, ["b"])


def broadcast_oracle() -> tuple[dict[str, sympy.Matrix], sympy.Expr, sympy.Matrix]:
    """The broadcast layer in plain sympy: b copied to 3 entries, L and ∂L/∂b by sympy.diff."""

    def entries(name: str, rows: int, cols: int) -> sympy.Matrix:
        return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}{j}", real=True))

    names = {"x": entries("x", 2, 1), "W": entries("W", 3, 2), "b": entries("b", 1, 1)}
    names["y"] = entries("y", 3, 1)
    residual = names["W"] * names["x"] + sympy.ones(3, 1) * names["b"][0, 0] - names["y"]
    loss = sum(entry**2 for entry in residual)
    copies = residual.applyfunc(lambda entry: 2 * entry)  # ∂L/∂(each copy of b)
    return names, loss, copies


def test_a_forgotten_broadcast_sum_is_named(broadcast: MatrixSolution) -> None:
    """δ_a (the copies' gradients, by sympy.diff summing to ∂L/∂b) for ∂L/∂b: 'forgot to sum'."""
    names, loss, copies = broadcast_oracle()
    point = random_point(names)
    values = values_of(names, point)
    by_b = sympy.diff(loss, names["b"][0, 0]).xreplace(values)
    assert close(answer_at_point(broadcast, "sum(delta_a)", point), sympy.Matrix([[by_b]]))
    assert verify_matrix_answer(broadcast, "b", "sum(delta_a)").correct
    for answer in ("delta_a", "2*(W*x + b - y)"):
        given = answer_at_point(broadcast, answer, point)
        assert close(given, copies.xreplace(values))
        assert abs(sympy.N(sum(given) - by_b, 30)) < sympy.Float(10) ** -20
        report = verify_matrix_answer(broadcast, "b", answer)
        assert [m.id for m in report.mistakes] == ["matrix_missing_broadcast_sum"], answer
        assert report.mistakes[0].detail == "in the step ∂L/∂b = sum(δ_a)"
        assert str(report.answer_shape) == "3×1" and str(report.expected_shape) == "1×1"


def test_the_broadcast_mistake_is_not_named_for_other_slips(broadcast: MatrixSolution) -> None:
    """A wrong scalar (sum(a − y), the 2 lost) names no mistake; a vector bias has no broadcast sum."""
    report = verify_matrix_answer(broadcast, "b", "sum(a - y)")
    assert not report.correct and report.mistakes == ()
    vector = solve_matrix(BROADCAST, "x: 2, W: 3x2, b: 3, y: 3", ["b"])
    report = verify_matrix_answer(vector, "b", "sum(delta_a)")
    assert [m.id for m in report.mistakes] == ["matrix_shape_mismatch"]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "latex", "html"])
def test_the_broadcast_verdict_in_every_format(tmp_path: Path, fmt: str) -> None:
    """`verify --shapes … --answer delta_a` for a broadcast b names the mistake in each format (LaTeX compiles)."""
    args = ["verify", BROADCAST, "--shapes", BROADCAST_SHAPES, "--wrt", "b"]
    result = CliRunner().invoke(main, [*args, "--answer", "delta_a", "--format", fmt])
    assert result.exit_code == 1, result.output
    if fmt == "json":
        data = json.loads(result.output)
        assert data["mistakes"] == ["matrix_missing_broadcast_sum"]
        assert data["shapes"] == {"expected": [1, 1], "answer": [3, 1]}
        return
    assert "forgot to sum over the broadcast entries" in result.output
    if fmt == "latex":
        compile_latex(result.output, tmp_path, "verdict")
