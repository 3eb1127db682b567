"""Matrix solutions in every output format: LaTeX that compiles, HTML that fits, Markdown, JSON and text at a point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from matrix_networks import BROADCAST_BIAS, NETWORKS, RELU_2_3_1, TWO_LAYER_SIGMOID, Network

from chainsolve.cli import main
from tests.conftest import compile_latex, require_tool


def _at(network: Network) -> str:
    return ", ".join(f"{name}={json.dumps(value)}" for name, value in network.point.items())


def _solve(network: Network, fmt: str, *extra: str, point: bool = True) -> str:
    args = ["solve", network.problem, "--shapes", network.shapes, "--wrt", ",".join(network.wrt)]
    if point:
        args += ["--at", _at(network)]
    result = CliRunner().invoke(main, [*args, "--format", fmt, *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def seed_outputs() -> dict[str, str]:
    """The seed's two-layer σ network at its point, in each format."""
    return {fmt: _solve(TWO_LAYER_SIGMOID, fmt) for fmt in ("text", "markdown", "latex", "html")}


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.name)
def test_latex_at_a_point_compiles_with_bmatrix_and_shapes_under_the_symbols(
    tmp_path: Path, network: Network
) -> None:
    """Each done-when problem's LaTeX compiles with pdflatex; values are bmatrix, shapes under the names."""
    document = _solve(network, "latex")
    assert r"\begin{bmatrix}" in document
    assert r"\underset{2\times 1}{x}" in document
    assert "u+" not in document  # no sign spelled as a code point
    log = compile_latex(document, tmp_path)
    assert "Undefined control sequence" not in log


def test_latex_without_a_point_compiles(tmp_path: Path) -> None:
    """Without --at the worked backward pass alone compiles too."""
    compile_latex(_solve(RELU_2_3_1, "latex", point=False), tmp_path)


def test_html_writes_matrices_as_mathml_tables(seed_outputs: dict[str, str]) -> None:
    """HTML values are MathML mtable in brackets, shapes munder, δ and ⊙ in the steps."""
    page = seed_outputs["html"]
    assert page.count("<mtable") >= 5 and "<munder>" in page
    assert "⊙" in page and "<msub><mi>δ</mi>" in page
    assert "&lt;m" not in page  # the maths is markup, not escaped text


@pytest.fixture(scope="module")
def html_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The matrix pages a student opens, written by the command line."""
    require_tool("chromium")
    folder = tmp_path_factory.mktemp("matrix-pages")
    pages = {}
    for network in NETWORKS:
        pages[network.name] = folder / f"{network.name}.html"
        pages[network.name].write_text(_solve(network, "html"), encoding="utf-8")
    return pages


@pytest.mark.parametrize("width", [375, 700, 1200])
def test_html_matrices_fit_the_page_in_chromium(html_pages: dict[str, Path], width: int) -> None:
    """In real Chromium at 375, 700 and 1200 px, no element of a matrix page passes the right edge."""
    from tests.chromium import browser

    with browser(require_tool("chromium")) as chromium:
        for name, page in html_pages.items():
            chromium.open(page.as_uri(), width=width)
            layout = chromium.overflow()
            assert layout["width"] == width, name
            assert layout["over"] == [], (name, width, layout["over"][:10])
            assert layout["scrollWidth"] <= width, (name, width)


#: The page's horizontal scroll, the boxes that scroll inside it, and every element that passes
#: the right edge outside a scroll box (inside one it is clipped, reached by scrolling the box).
_SCROLL_SCRIPT = """
(() => {
  const width = document.documentElement.clientWidth;
  const over = [];
  for (const element of document.querySelectorAll("body *")) {
    if (element.parentElement.closest(".scroll-x")) continue;
    const box = element.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 0.5 || box.left < -0.5)) {
      over.push(`${element.tagName.toLowerCase()}.${element.className} ${Math.round(box.right)}`);
    }
  }
  const scrolling = [...document.querySelectorAll(".scroll-x")]
    .filter((box) => box.scrollWidth > box.clientWidth + 1).length;
  return {width, scrollWidth: document.documentElement.scrollWidth, over, scrolling};
})()
"""


def _fitted_layout(page: Path, width: int) -> dict[str, Any]:
    """``page`` at ``width`` px in Chromium: the page never scrolls sideways and nothing outside
    a scroll-x box passes the right edge; the layout, for what each test asks more."""
    from tests.chromium import browser

    with browser(require_tool("chromium")) as chromium:
        chromium.open(page.as_uri(), width=width)
        layout: dict[str, Any] = chromium.evaluate(_SCROLL_SCRIPT)
    assert layout["width"] == width
    assert layout["scrollWidth"] <= width, layout
    assert layout["over"] == [], layout["over"][:10]
    return layout


def _wide_point() -> str:
    weights = [
        [round((3 * row + column) % 7 / 10 - 0.3, 1) for column in range(10)] for row in range(3)
    ]
    inputs = [round((column % 5) / 2 - 1, 1) for column in range(10)]
    return f"W={json.dumps(weights)}, x={json.dumps(inputs)}, b=[0.1, -0.2, 0.3]"


@pytest.mark.parametrize("width", [375, 1200])
def test_a_3_by_10_matrix_scrolls_in_its_box_not_the_page(tmp_path: Path, width: int) -> None:
    """A 3×10 W at a point on a 375 px phone: each matrix scrolls sideways in its own box, the
    page never does, and nothing outside a scroll box passes the right edge (1200 px too)."""
    args = ["solve", "a = W*x + b; h = tanh(a); L = sum(h)", "--shapes", "x: 10, W: 3x10, b: 3"]
    result = CliRunner().invoke(
        main, [*args, "--wrt", "W", "--at", _wide_point(), "--format", "html"]
    )
    assert result.exit_code == 0, result.output
    page = tmp_path / "wide.html"
    page.write_text(result.output, encoding="utf-8")
    layout = _fitted_layout(page, width)
    assert layout["scrolling"] >= 1  # the matrix is wider than the screen: a box does scroll


def test_markdown_has_github_maths_and_tables(seed_outputs: dict[str, str]) -> None:
    """Markdown: displayed maths in $$, bmatrix values in the tables at the point, δ steps."""
    page = seed_outputs["markdown"]
    assert page.startswith("# Find $\\frac{\\partial L}{\\partial W_{1}}$")
    assert "| $\\underset{3\\times 2}{W_{1}}$ (given) | 3×2 | $\\begin{bmatrix}" in page
    assert "\\delta_{a} = \\frac{\\partial L}{\\partial a}" in page
    assert "### Central differences" in page


def test_text_reports_the_central_differences(seed_outputs: dict[str, str]) -> None:
    """Text at a point: the forward and backward values, and each gradient checked by central differences."""
    page = seed_outputs["text"]
    assert "At the point" in page and "Backward pass, each step's formula at the point:" in page
    assert "x = [1, 2]    (2×1, given)" in page
    checks = [line for line in page.splitlines() if line.startswith("  ∂L/∂") and ": " in line]
    assert len(checks) == 4 and all(line.endswith("✓") for line in checks)
    assert "central differences of the loss written out in its entries" in page


def test_json_gradient_has_nested_lists_in_each_shape() -> None:
    """JSON: `gradient` holds decimals nested as the input is (rows of a matrix, a vector's list, a 1×1's number)."""
    data = json.loads(_solve(RELU_2_3_1, "json"))
    gradient = data["gradient"]
    assert np.array(gradient["W1"]["decimal"], dtype=float).shape == (3, 2)
    assert gradient["b1"]["decimal"] == ["1.792", "0.0", "2.304"]
    assert gradient["b2"] == {"shape": [1, 1], "exact": "64/25", "decimal": "2.56"}
    assert gradient["W2"]["exact"] == [["192/125", "0", "448/125"]]
    assert data["evaluation"]["gradient_checks"]["W1"]["status"] == "passed"
    assert [row["name"] for row in data["forward_pass"]][-4:] == ["a", "h", "z", "L"]
    assert data["values"]["L"]["exact"] == "1024/625"


def test_json_of_a_broadcast_bias_names_the_gate_and_sums_to_a_number() -> None:
    """JSON: ∂L/∂b of a 1×1 b is sum(δ_a) by `broadcast`, a 1×1 at the point equal to NumPy's 2·Σr."""
    data = json.loads(_solve(BROADCAST_BIAS, "json"))
    step = next(step for step in data["matrix"]["steps"] if step["name"] == "b")
    assert (step["rhs"], step["shape"], step["rule_ids"]) == (
        "sum(δ_a)",
        [1, 1],
        ["add_gate", "broadcast"],
    )
    assert step["check"]["agrees"]
    point = BROADCAST_BIAS.arrays()
    expected = BROADCAST_BIAS.analytic(point)["b"][0, 0]
    assert data["gradient"]["b"]["shape"] == [1, 1]
    assert float(data["gradient"]["b"]["decimal"]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_a_broadcast_bias_reads_as_typed_and_as_a_sum_in_every_format(fmt: str) -> None:
    """Markdown, LaTeX and HTML write the forward pass as typed (W·x + b) and ∂L/∂b as a sum of δ_a."""
    page = _solve(BROADCAST_BIAS, fmt)
    sums = {
        "markdown": r"\operatorname{sum}",
        "latex": r"\operatorname{sum}",
        "html": "<mi>sum</mi>",
    }
    assert sums[fmt] in page
    assert "broadcast gate" in page
    assert fmt == "html" or "= W x + b" in page  # HTML breaks the line into several <math>


def test_a_point_on_the_relu_kink_is_said_not_hidden() -> None:
    """With a hidden unit at exactly 0, relu′(0) = 0 is used and the central differences say the kink."""
    network = RELU_2_3_1
    at = (
        _at(network)
        .replace('"b1=[0.1, 0.2, -0.3]', '"b1=[0.1, 0.5, -0.3]')
        .replace("b1=[0.1, 0.2, -0.3]", "b1=[0.1, 0.5, -0.3]")
    )
    args = ["solve", network.problem, "--shapes", network.shapes, "--wrt", "W1", "--at", at]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "a = [0.6, 0, 1.4]" in result.output
    assert "the point sits on a kink (relu in h)" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"x": [NaN, 1]}', "NaN is not a number"),
        ('{"x": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested deeper than a matrix"),
        ('{"x": "1"}', "expected a number or a list"),
        ('{"W1": [[1, 2, 3], [4, 5, 6]]}', None),
    ],
    ids=["NaN", "deep", "string", "shape"],
)
def test_hostile_point_files_exit_2_in_one_line(
    tmp_path: Path, content: str, message: str | None
) -> None:
    """`--at @file` with NaN, deep nesting, a string or a wrong shape: exit 2 and one line, no traceback."""
    from tests.conftest import run_timed

    path = tmp_path / "point.json"
    path.write_text(content, encoding="utf-8")
    network = RELU_2_3_1
    completed, _ = run_timed(
        ["solve", network.problem, "--shapes", network.shapes, "--at", f"@{path}"]
    )
    assert completed.returncode == 2
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), completed.stderr
    assert message is None or message in lines[0]
    if message is None:
        assert lines[0] == "error: W1: given 2×3, declared 3×2"


@pytest.mark.parametrize(
    ("problem", "shapes", "at"),
    [
        ("L = sum(log(x))", "x: 2", "x=[-1, 2]"),
        ("L = sum(x)/c", "x: 2, c: 1", "x=[1, 2], c=0"),
    ],
    ids=["log of a negative", "division by zero"],
)
def test_a_point_outside_the_domain_is_refused(problem: str, shapes: str, at: str) -> None:
    """A value that is not a finite real number at the point: exit 2, naming it, never a wrong number."""
    result = CliRunner().invoke(main, ["solve", problem, "--shapes", shapes, "--at", at])
    assert result.exit_code == 2
    assert "error: L is not a finite real number at the point" in result.output


def test_a_large_gradient_is_checked_at_a_random_sample_and_says_so() -> None:
    """Past 36 entries the central differences check a seeded random sample, and the output says how many."""
    rows = [[(i + 2 * j) % 5 / 10 - 0.2 for j in range(7)] for i in range(7)]
    at = f"W={json.dumps(rows)}, x={json.dumps([0.1 * k for k in range(7)])}"
    args = ["solve", "L = sum(sigmoid(W*x))", "--shapes", "W: 7x7, x: 7", "--wrt", "W", "--at", at]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "∂L/∂W: 36 of 49 entries, chosen at random" in result.output
    assert result.output.count("✓") == 1


#: An answer key whose matrix answers are wider than a phone: a three-layer network's ∂L/∂W1
#: written out, and a 3×6 layer at a point.
_DEEP = (
    "x: 2; W1: 3x2; W2: 3x3; W3: 1x3; b1: 1; b2: 1; y: 1; a1 = W1*x + b1; h1 = sigmoid(a1); "
    "a2 = W2*h1 + b2; h2 = sigmoid(a2); z = W3*h2; L = 1/2*norm2(z - y)^2"
)
WIDE_SHEET = f"""
title = "Deep answers"

[[problems]]
problem = "{_DEEP}"
wrt = ["W1", "b1"]

[[problems]]
problem = "x: 6; W: 3x6; bias: 1; a = W*x + bias; L = sum(softplus(a) .* softplus(a))"
wrt = "W"
"""


@pytest.mark.parametrize("width", [375, 1200])
def test_a_sheet_answer_key_scrolls_matrix_answers_in_their_box(tmp_path: Path, width: int) -> None:
    """The HTML answer key puts each matrix answer in a scroll-x box: at 375 px the page never
    scrolls sideways and nothing outside a box passes the right edge (1200 px too)."""
    from chainsolve.sheet import parse_sheet, render_sheet

    page = tmp_path / "answers.html"
    document = render_sheet(parse_sheet(WIDE_SHEET), "html", mode="answers")
    assert document.count('<div class="scroll-x">') >= 3
    page.write_text(document, encoding="utf-8")
    layout = _fitted_layout(page, width)
    if width == 375:
        assert layout["scrolling"] >= 1  # an answer is wider than the phone: its box scrolls
