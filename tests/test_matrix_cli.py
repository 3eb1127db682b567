"""Tests for `chainsolve solve --shapes` and solve_matrix: text, JSON, errors as one line and exit 2."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from chainsolve.api import solve_matrix
from chainsolve.cli import main

NETWORK = "a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
NETWORK_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_the_seed_network_as_text() -> None:
    """The text shows the layout, the forward pass with shapes, δ per layer, checks and results."""
    result = run("solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1,W2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Layout: denominator" in out
    assert "a = W1·x + b1    (3×1)" in out
    assert "δ_a = ∂L/∂a = δ_h ⊙ σ′(a)    (3×1)" in out
    assert "∂L/∂W1 = δ_a·xᵀ    (3×2)" in out
    assert "Shapes: δ_a (3×1), xᵀ (1×2)" in out
    assert "Result: ∂L/∂W1 = ((W2ᵀ·(z - y)) ⊙ σ′(a))·xᵀ    (3×2)" in out
    assert "Verified:" in out


def test_declarations_in_the_problem_need_no_option() -> None:
    """`x: 2; W: 3x2; …` in the problem makes it a matrix problem (a sheet can hold it)."""
    result = run("solve", "x: 2; W: 3x2; b: 3; a = W*x + b; L = sum(relu(a))", "--wrt", "W")
    assert result.exit_code == 0, result.output
    assert "δ_a = ∂L/∂a = relu′(a)    (3×1)" in result.stdout
    assert "Result: ∂L/∂W = relu′(a)·xᵀ    (3×2)" in result.stdout


def test_the_json_has_shapes_rule_ids_and_both_sides() -> None:
    """JSON (validated against the schema by the suite): shapes, steps with rule ids and sides."""
    result = run("solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    matrix = data["matrix"]
    assert matrix["layout"] == "denominator"
    assert matrix["shapes"]["W1"] == [3, 2]
    last = matrix["steps"][-1]
    assert (last["lhs"], last["rhs"], last["shape"]) == ("∂L/∂W1", "δ_a·xᵀ", [3, 2])
    assert "matrix_multiply_gate" in last["rule_ids"]
    assert last["check"]["agrees"] and data["verified"]
    assert data["derivatives"]["W1"] == "((W2ᵀ·(z - y)) ⊙ σ′(a))·xᵀ"


def test_a_shape_mismatch_is_one_line_with_a_caret_and_exit_2() -> None:
    """`W2*h: (1×3)·(2×1)`, the caret under `*`, no traceback."""
    text = "a = W1*x + b1; h = sigmoid(a); z = W2*x + b2; L = sum(z)"
    result = run("solve", text, "--shapes", NETWORK_SHAPES)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: shapes do not fit in W2*x: (1×3)·(2×1)")
    assert lines[2].strip() == "^" and lines[1].index("W2*x") + 2 == lines[2].index("^")
    assert "Traceback" not in result.output


def test_an_undeclared_name_and_a_bad_option_exit_2() -> None:
    """A name with no shape, a malformed --shapes and an unsupported format: exit 2."""
    assert run("solve", "L = sum(q)", "--shapes", "x: 2").exit_code == 2
    assert run("solve", "L = sum(x)", "--shapes", "x: two").exit_code == 2
    assert run("solve", "L = sum(x)", "--shapes", "x: 2", "--format", "latex").exit_code == 2
    assert run("solve", "L = sum(x)", "--shapes", "x: 2", "--at", "x=1").exit_code == 2


def test_a_scalar_problem_is_untouched() -> None:
    """Without shapes, the scalar path answers as before."""
    result = run("solve", "L = (w*x + b - y)^2", "--wrt", "w")
    assert result.exit_code == 0 and "Layout" not in result.stdout


def test_the_api_takes_shapes_and_wrt_as_a_string() -> None:
    """solve_matrix(problem, shapes=..., wrt="W1,W2") as the command line does."""
    solution = solve_matrix(NETWORK, shapes=NETWORK_SHAPES, wrt="W1,W2")
    assert solution.verified and set(solution.results) == {"W1", "W2"}
