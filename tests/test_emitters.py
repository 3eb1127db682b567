"""Tests for chainsolve.emitters: Mermaid, DOT, TikZ and text pictures of the graph and its tree."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy
from graphs import abstract, t, three_level, two_path, x

from chainsolve.emitters import (
    FORMATS,
    GraphFormat,
    dot_text,
    emitter,
    mermaid_text,
    to_dot,
    to_mermaid,
    to_text,
    to_tikz,
    tree_to_dot,
    tree_to_mermaid,
    tree_to_text,
    tree_to_tikz,
)
from chainsolve.graph import Edge, Graph, Node, build_graph
from chainsolve.layout import tree
from chainsolve.problem import Definition, build_problem, make_symbol

GOLDEN = Path(__file__).parent / "golden" / "graphs"
UPDATE = os.environ.get("CHAINSOLVE_UPDATE_GOLDEN") == "1"
REGENERATE = (
    "CHAINSOLVE_UPDATE_GOLDEN=1 python -m pytest tests/test_emitters.py -q -p no:cacheprovider"
)
SUFFIX: dict[GraphFormat, str] = {"mermaid": "mmd", "dot": "dot", "tikz": "tex", "text": "txt"}


def long_edge() -> Graph:
    """z = x*t; x = sin(t): the edge t → z skips a layer."""
    definitions = [Definition("z", x * t), Definition("x", sympy.sin(t))]
    return build_graph(build_problem(definitions, source=""))


def awkward_labels() -> Graph:
    """A graph whose edge label holds every character that breaks a format: ``" \\ < > | { } #``."""
    awkward = sympy.Function('g"\\<|{}>#&`')
    nodes = (Node("a", "input"), Node("b", "target"))
    return Graph(nodes, (Edge("a", "b", awkward(make_symbol("a"))),), "b")


def diamonds(stages: int) -> Graph:
    """A chain of two-armed diamonds: x_k = l_k*r_k, l_k = sin(x_{k-1}), r_k = cos(x_{k-1})."""
    definitions = []
    for stage in range(stages, 0, -1):
        below = make_symbol(f"x{stage - 1}")
        left, right = make_symbol(f"l{stage}"), make_symbol(f"r{stage}")
        definitions += [
            Definition(f"x{stage}", left * right),
            Definition(left.name, sympy.sin(below)),
            Definition(right.name, sympy.cos(below)),
        ]
    return build_graph(build_problem(definitions, source=""))


PICTURES: dict[str, Callable[[], Graph]] = {"two_path": two_path, "three_level": three_level}


def check_golden(name: str, produced: str) -> None:
    """Compare ``produced`` with the stored file, or store it when regenerating."""
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(produced, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {path} was missing and has been written; check it in")
        return
    expected = path.read_text(encoding="utf-8")
    assert produced == expected, f"{path} differs; if the change is intended, run: {REGENERATE}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("as_tree", [False, True], ids=["graph", "tree"])
@pytest.mark.parametrize("problem", sorted(PICTURES))
def test_golden_pictures(problem: str, as_tree: bool, fmt: GraphFormat) -> None:
    """Every format, graph and tree, of the two reference problems matches its golden file."""
    produced = emitter(fmt, tree=as_tree)(PICTURES[problem]())
    check_golden(f"{problem}{'.tree' if as_tree else ''}.{SUFFIX[fmt]}", produced)


def test_golden_text_at_a_point() -> None:
    """With --at t=0.5 every node shows its value and every edge the number of its partial."""
    check_golden("two_path.at.txt", to_text(two_path(), values={"t": sympy.Rational(1, 2)}))


def test_partial_or_total_derivative_follows_the_edge() -> None:
    """∂ where the target has several inputs (z), d where it has one (x = cos t)."""
    text = to_text(two_path())
    assert "z ← x   [∂z/∂x = " in text
    assert "x ← t   [dx/dt = " in text
    assert "∂x/∂t" not in text
    assert r"\frac{\partial z}{\partial x}" in to_tikz(two_path())
    assert r"\frac{dx}{dt}" in to_tikz(two_path())


def test_edge_labels_show_the_form_the_steps_show() -> None:
    """A label keeps the common number out, as the edge's step does: ∂L/∂z = 2(z − y), not 2z − 2y."""
    from chainsolve.api import load_problem, solve_parsed
    from chainsolve.render import render_solution

    solution = solve_parsed(
        load_problem("L = (z - y)^2; z = w*h; h = sigmoid(a); a = v*x", wrt="v")
    )
    text = render_solution(solution, "text")
    assert "L ← z   [∂L/∂z = 2(z - y)]" in text
    assert "∂L/∂z = 2(z - y)   [chain rule] ✓" in text
    assert "2z - 2y" not in text


def test_text_lists_layers_top_to_bottom() -> None:
    """The target's layer comes first, the inputs' layer last."""
    lines = to_text(three_level()).splitlines()
    layer_lines = [line for line in lines if line.startswith("layer")]
    assert layer_lines == [
        "layer 3 (target): z",
        "layer 2: p, q",
        "layer 1: u, v",
        "layer 0 (inputs): x",
    ]


def test_values_label_nodes_and_edges_with_numbers() -> None:
    """At t = 0.5 the labels are numbers (4 significant digits), not symbols."""
    text = to_text(two_path(), values={"t": 0.5})
    assert "layer 1: x = 0.8776, y = 1.649" in text
    assert "[dx/dt = -0.4794]" in text
    assert "[∂z/∂x = 2.894]" in text  # 2·cos(0.5)·e^0.5
    tikz = to_tikz(two_path(), values={"t": 0.5})
    assert r"{$x = 0.8776$}" in tikz


def test_given_edge_values_are_used_as_they_are() -> None:
    """Edge values from an evaluation, keyed (source, target), replace the computed ones."""
    text = to_text(two_path(), values={"t": 0, ("x", "z"): 7})
    assert "[∂z/∂x = 7]" in text
    assert "[∂z/∂y = 1]" in text


def test_values_for_unknown_names_are_refused() -> None:
    """A value for a variable the graph does not have is an error, not silently ignored."""
    with pytest.raises(ValueError, match="w"):
        to_text(two_path(), values={"w": 1})
    with pytest.raises(TypeError):
        to_text(two_path(), values={"t": "1"})


def test_abstract_functions_keep_symbolic_labels_at_a_point() -> None:
    """z = f(x, y) at t = 1: f has no value, so z and ∂z/∂x stay symbolic while t shows 1."""
    text = to_text(abstract(), values={"t": 1})
    assert "layer 0 (inputs): t = 1" in text
    assert "layer 2 (target): z\n" in text
    assert "[∂z/∂x = ∂f/∂x(x, y)]" in text


def test_mermaid_text_escapes_breaking_characters() -> None:
    """Quotes, #, <, >, &, | and backticks become Mermaid entities inside a quoted label."""
    assert mermaid_text('a"b#c<d>e&f|g`h') == '"a#quot;b#35;c#lt;d#gt;e#amp;f#124;g#96;h"'


def test_mermaid_labels_never_contain_a_raw_quote() -> None:
    """Every label in the Mermaid source is one quoted string with no quote inside."""
    for source in (to_mermaid(awkward_labels()), tree_to_mermaid(tree(awkward_labels()))):
        for line in source.splitlines()[1:]:
            if line.lstrip().startswith("%%"):
                continue
            assert line.count('"') % 2 == 0
            for label in re.findall(r'"([^"]*)"', line):
                assert not set(label) & set("<>|`")


def test_mermaid_uses_generated_ids_and_bottom_to_top_flow() -> None:
    """Node ids are n0, n1, …; the flowchart goes bottom to top; labels are Unicode."""
    source = to_mermaid(two_path())
    assert source.startswith("flowchart BT\n")
    assert '    n0(["t"])' in source
    assert '    n1 -->|"∂z/∂x = 2x·y"| n3' in source


def test_dot_text_escapes_for_quoted_strings() -> None:
    """Backslashes and quotes are escaped and newlines become \\n; < > | { } stay literal."""
    assert dot_text('a"b\\c\nd<|{}>') == '"a\\"b\\\\c\\nd<|{}>"'


def test_dot_has_no_record_shapes_and_ranks_layers() -> None:
    """The digraph flows bottom to top, groups each layer with rank=same, uses no records."""
    source = to_dot(three_level())
    assert "rankdir=BT;" in source
    assert '{ rank=same; "p"; "q"; }' in source
    assert "record" not in source


def test_dot_positions_carry_the_layout() -> None:
    """With positions=True every node gets pos="x,y!" in points from chainsolve's layout."""
    source = to_dot(two_path(), positions=True)
    assert '"z" [label="z", peripheries=2, pos="0,216!"];' in source


def test_truncated_tree_says_so_in_every_format() -> None:
    """A tree cut at its size limit shows ⋯ under cut branches and a note with the full size."""
    diagram = tree(diamonds(40), max_nodes=20)
    assert diagram.truncated
    note = f"tree truncated: {len(diagram.nodes)} of about 4.4e+12 nodes shown"
    assert note in tree_to_text(diagram)
    assert "└── …" in tree_to_text(diagram)
    assert f"label={dot_text(note)};" in tree_to_dot(diagram)
    assert f"%% {note}" in tree_to_mermaid(diagram)
    assert "⋯" in tree_to_mermaid(diagram)
    assert note in tree_to_tikz(diagram)
    assert r"$\cdots$" in tree_to_tikz(diagram)


def test_emitter_passes_max_nodes_to_the_tree() -> None:
    """emitter(fmt, tree=True, max_nodes=n) draws the tree cut at n nodes."""
    text = emitter("text", tree=True, max_nodes=3)(two_path())
    assert text.splitlines()[-1] == "(tree truncated: 3 of 5 nodes shown)"


# --- real renderers ---------------------------------------------------------------------------

DOT = shutil.which("dot")
PDFLATEX = shutil.which("pdflatex")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz 'dot' is not installed")
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None, reason="'pdflatex' is not installed")

RENDERED: dict[str, Callable[[], Graph]] = {
    "two_path": two_path,
    "three_level": three_level,
    "abstract": abstract,
    "long_edge": long_edge,
}


@needs_dot
@pytest.mark.parametrize("as_tree", [False, True], ids=["graph", "tree"])
@pytest.mark.parametrize("problem", sorted(RENDERED))
def test_dot_renders_to_svg(problem: str, as_tree: bool) -> None:
    """Graphviz renders each DOT output to an SVG that shows every variable's name."""
    graph = RENDERED[problem]()
    source = emitter("dot", tree=as_tree)(graph, values=None)
    svg = render_svg(source)
    texts = {html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    for node in graph.nodes:
        assert node.name in texts


@needs_dot
def test_dot_renders_awkward_labels_verbatim() -> None:
    """Quotes, backslashes and < > | { } # & ` in a label survive into the SVG unchanged."""
    graph = awkward_labels()
    for source in (to_dot(graph), tree_to_dot(tree(graph))):
        svg = html.unescape(render_svg(source))
        assert 'g"\\<|{}>#&`(a)' in svg


def render_svg(source: str) -> str:
    assert DOT is not None
    result = subprocess.run(
        [DOT, "-Tsvg"], input=source, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout
    return result.stdout


@needs_pdflatex
def test_tikz_compiles_with_plain_pdflatex(tmp_path: Path) -> None:
    """Every TikZ picture (graph and tree, symbolic and at a point, truncated) compiles.

    The document loads only tikz and amsmath, as a solution's LaTeX preamble does.
    """
    pictures = []
    for make in RENDERED.values():
        pictures += [to_tikz(make()), tree_to_tikz(tree(make()))]
    pictures.append(to_tikz(two_path(), values={"t": 0.5}))
    pictures.append(tree_to_tikz(tree(diamonds(3), max_nodes=10)))
    pictures.append(to_tikz(diamonds(3)))
    document = "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{amsmath}",
            r"\usepackage{tikz}",
            r"\begin{document}",
            *(picture + "\n\\clearpage" for picture in pictures),
            r"\end{document}",
            "",
        ]
    )
    (tmp_path / "pictures.tex").write_text(document, encoding="utf-8")
    assert PDFLATEX is not None
    result = subprocess.run(
        [PDFLATEX, "-halt-on-error", "-interaction=nonstopmode", "pictures.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / "pictures.pdf").stat().st_size > 0
    log = (tmp_path / "pictures.log").read_text(encoding="utf-8", errors="replace")
    assert f"Output written on pictures.pdf ({len(pictures)} pages" in log


def _product_of_sums(count: int) -> Graph:
    """z = (x+1)(x+2)…(x+count); x = t: dz/dx has count terms of count − 1 factors each."""
    product = sympy.Mul(*(x + i for i in range(1, count + 1)))
    definitions = [Definition("z", product), Definition("x", t)]
    return build_graph(build_problem(definitions, source=""))


@pytest.mark.parametrize("fmt", FORMATS)
def test_graph_of_a_long_product_is_linear_in_its_size(
    fmt: GraphFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: graph of (x+1)…(x+N) printed the N²-factor dz/dx (15 s at N = 150); now elided, never formed."""
    sizes = []
    for count in (150, 600):
        graph = _product_of_sums(count)
        monkeypatch.setattr(sympy, "diff", _refuse_to_differentiate_products)
        sizes.append(len(emitter(fmt)(graph)))
        monkeypatch.undo()
    assert sizes[1] < 1.5 * sizes[0], sizes
    assert "too long to show" in emitter(fmt)(_product_of_sums(150))


def _refuse_to_differentiate_products(expr: sympy.Expr, *symbols: sympy.Symbol) -> sympy.Expr:
    if isinstance(expr, sympy.Mul) and len(expr.args) > 100:
        raise AssertionError("the long product was differentiated")
    return sympy.Expr.diff(expr, *symbols)


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "text"])
def test_unicode_pictures_never_build_latex_labels(
    fmt: GraphFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: every label was built in both notations (Unicode and LaTeX), the work done twice."""
    import chainsolve.emitters as emitters

    def no_latex(expr: sympy.Expr) -> str:
        raise AssertionError("a LaTeX label was built for a Unicode picture")

    monkeypatch.setattr(emitters, "latex_expr", no_latex)
    monkeypatch.setattr(emitters, "formula_latex", no_latex)
    for tree_form in (False, True):
        assert emitter(fmt, tree=tree_form)(three_level())


@pytest.mark.parametrize("fmt", ["text", "mermaid", "dot", "tikz"])
def test_greek_names_print_as_letters_in_every_graph_format(fmt: GraphFormat) -> None:
    """A node named theta is drawn θ (\\theta in TikZ) in every label, as in the solution."""
    from chainsolve.parsing import parse_problem

    graph = build_graph(parse_problem("z = r*cos(theta)", wrt=["theta"]))
    picture = emitter(fmt)(graph)
    # DOT identifies nodes by their names in quotes; only the labels are printed.
    labels = picture.replace('"theta"', "") if fmt == "dot" else picture
    assert "theta" not in labels.replace(r"\theta", "")
    assert ("θ" in picture) if fmt != "tikz" else (r"\theta" in picture)
