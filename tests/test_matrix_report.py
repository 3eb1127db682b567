"""Tests for chainsolve.matrix.report and the matrix renderings: --detail and --notation."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from chainsolve.api import solve_matrix
from chainsolve.cli import main
from chainsolve.matrix.expand import entries_of
from chainsolve.matrix.formats import render_matrix_solution
from chainsolve.matrix.model import ElementDivide, Hadamard, MatMul, Node, ScalarMul
from chainsolve.matrix.report import products
from chainsolve.matrix.solve import MatrixSolution

NETWORK = "a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2"
NETWORK_SHAPES = "x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1"
LOGISTIC = "p = sigmoid(dot(w, x) + b); L = -(y*log(p) + (1 - y)*log(1 - p))"
LOGISTIC_SHAPES = "x: 2, w: 2, b: 1, y: 1"
TEMPLATE_FORMATS = ("text", "markdown", "latex", "html")


@pytest.fixture(scope="module")
def network() -> MatrixSolution:
    """The two-layer sigmoid network, solved once for every test here."""
    return solve_matrix(NETWORK, shapes=NETWORK_SHAPES, wrt="W1,W2", timeout=None)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _equations(text: str) -> list[str]:
    """The step and result lines of a text solution (the maths, without rules or checks)."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if "=" in line and re.search(r"    \(\d+×\d+\)$", line)]


@pytest.mark.parametrize("fmt", TEMPLATE_FORMATS)
def test_brief_keeps_the_formulas_and_drops_the_gates(network: MatrixSolution, fmt: str) -> None:
    """--detail brief: the forward pass, every δ formula and the results; no rules, shapes, checks."""
    normal = render_matrix_solution(network, fmt)  # type: ignore[arg-type]
    brief = render_matrix_solution(network, fmt, detail="brief")  # type: ignore[arg-type]
    for gate_word in ("matrix-multiply gate", "derivative of sigmoid", "checked exactly"):
        assert gate_word in normal
        assert gate_word not in brief
    assert brief.count("Shapes") == 1 < normal.count("Shapes")  # the problem's shapes only
    if fmt == "text":
        assert _equations(brief) == _equations(normal)
        assert "δ_a = ∂L/∂a = δ_h ⊙ σ′(a)    (3×1)" in brief
        assert "a = W1·x + b1    (3×1)" in brief
        assert "Result: ∂L/∂W1 = ((W2ᵀ·(z - y)) ⊙ σ′(a))·xᵀ    (3×2)" in brief
    assert len(brief) < len(normal)


def test_brief_cli_is_the_formulas(network: MatrixSolution) -> None:
    """`solve --shapes … --detail brief` prints the brief rendering (it used to be ignored)."""
    code, out, err = run("solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1,W2",
                         "--detail", "brief")  # fmt: skip
    assert (code, err) == (0, "")
    assert out == render_matrix_solution(network, "text", detail="brief")
    assert "Rules:" not in out


def _operands(node: Node) -> tuple[Node, Node]:
    if isinstance(node, ScalarMul):
        return node.scalar, node.operand
    assert isinstance(node, MatMul | Hadamard | ElementDivide)
    return node.left, node.right


@pytest.mark.parametrize(
    ("problem", "shapes", "wrt"),
    [(NETWORK, NETWORK_SHAPES, "W1,W2"), (LOGISTIC, LOGISTIC_SHAPES, "w,b")],
)
def test_full_shows_every_product_with_the_shapes_sympy_gives(
    problem: str, shapes: str, wrt: str
) -> None:
    """--detail full: each product's operand and result shapes, as sympy's expanded matrices have."""
    solution = solve_matrix(problem, shapes=shapes, wrt=wrt, timeout=None)
    symbols = solution.checked.expansion.symbols  # δ_v has the shape of v
    listed = 0
    for step in solution.backprop.steps:
        for node, written in products(step.claim, solution.backprop.shaped):
            left, right = _operands(node)
            sizes = [entries_of(part, symbols, symbols).shape for part in (left, right, node)]
            expected = "({}×{}){}({}×{}) → {}×{}".format(
                *sizes[0], written.split(")")[1].split("(")[0], *sizes[1], *sizes[2]
            )
            assert written == expected
            listed += 1
    assert listed >= 3  # not a vacuous loop
    full = render_matrix_solution(solution, "text", detail="full")
    assert full.count("Products:") >= 2


def test_full_names_the_products_of_the_gradient_step(network: MatrixSolution) -> None:
    """The step ∂L/∂W1 = δ_a·xᵀ lists its product (3×1)·(1×2) → 3×2 in every format."""
    full = render_matrix_solution(network, "text", detail="full")
    assert "   Products: δ_a·xᵀ: (3×1)·(1×2) → 3×2\n" in full
    assert "Products: δ_h ⊙ σ′(a): (3×1) ⊙ (3×1) → 3×1" in full
    assert "Products" not in render_matrix_solution(network, "text")
    for fmt in ("markdown", "latex", "html"):
        assert "Products" in render_matrix_solution(network, fmt, detail="full")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", TEMPLATE_FORMATS)
def test_delta_notation_writes_each_delta_alone(network: MatrixSolution, fmt: str) -> None:
    """--notation delta: δ_v means ∂L/∂v said once; each δ step is δ_h = …; results unchanged."""
    delta = render_matrix_solution(network, fmt, notation="delta")  # type: ignore[arg-type]
    leibniz = render_matrix_solution(network, fmt)  # type: ignore[arg-type]
    assert "means" not in leibniz
    assert delta.count(" means ") == 1 and "for every intermediate" in delta
    if fmt == "text":
        assert "δ_v means ∂L/∂v for every intermediate v; each step gives one δ." in delta
        assert "   δ_h = W2ᵀ·δ_z    (3×1)" in delta
        assert "∂L/∂h" not in delta and "∂L/∂h" in leibniz
        assert "   ∂L/∂W1 = δ_a·xᵀ    (3×2)" in delta
        results = [line for line in delta.splitlines() if line.startswith("Result:")]
        assert results == [line for line in leibniz.splitlines() if line.startswith("Result:")]
    if fmt == "latex":
        assert r"$\delta_{v}$ means $\frac{\partial L}{\partial v}$ for" in delta
        assert r"\delta_{h} = W_{2}^{\top} \delta_{z}" in delta
        assert r"\frac{\partial L}{\partial h}" not in delta
    if fmt == "html":
        assert "<mi>h</mi></mrow></mfrac>" not in delta
        assert "<mi>h</mi></mrow></mfrac>" in leibniz


def test_delta_notation_at_a_point_labels_the_table_with_deltas() -> None:
    """At a point, the backward table's rows read δ_a = … in the delta notation too."""
    args = ["solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1"]
    point = "x=[1, 2], W1=[[1, 0], [0, 1], [1, 1]], b1=[0, 0, 0], W2=[[1, 1, 1]], b2=[0], y=[1]"
    code, out, err = run(*args, "--at", point, "--notation", "delta")
    assert (code, err) == (0, "")
    assert "  δ_a = δ_h ⊙ σ′(a) = [" in out
    code, leibniz, _ = run(*args, "--at", point)
    assert "  δ_a = ∂L/∂a = δ_h ⊙ σ′(a) = [" in leibniz


def test_lagrange_on_a_matrix_problem_says_so_on_stderr(network: MatrixSolution) -> None:
    """--notation lagrange has no meaning for ∂L/∂W: one note on stderr, the Leibniz solution."""
    code, out, err = run("solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1,W2",
                         "--notation", "lagrange")  # fmt: skip
    assert code == 0
    assert out == render_matrix_solution(network, "text")
    assert err.count("\n") == 1 and "--notation lagrange has no meaning" in err


def test_delta_on_a_scalar_problem_says_so_on_stderr() -> None:
    """--notation delta without shapes: one note on stderr, the Leibniz solution unchanged."""
    code, out, err = run("solve", "sin(x^2)", "--notation", "delta")
    assert code == 0
    assert err.count("\n") == 1 and "--notation delta" in err
    assert out == run("solve", "sin(x^2)")[1]


def test_json_is_the_same_whatever_the_detail(network: MatrixSolution) -> None:
    """JSON holds every field at every detail level and notation (they shape prose only)."""
    base = run("solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1", "--format", "json")
    brief = run("solve", NETWORK, "--shapes", NETWORK_SHAPES, "--wrt", "W1", "--format", "json",
                "--detail", "brief", "--notation", "delta")  # fmt: skip
    assert base[0] == brief[0] == 0
    assert base[1] == brief[1]
