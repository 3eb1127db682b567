"""Picture sources of the dependency graph and its tree diagram: Mermaid, DOT, TikZ and text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeAlias

import mpmath
import sympy

from chainsolve import numeric
from chainsolve.dag import operations
from chainsolve.derivation import NON_FINITE, undefined_derivative
from chainsolve.errors import ProblemError
from chainsolve.filters import (
    formula_latex,
    formula_unicode,
    latex_expr,
    unicode_expr,
    unicode_name,
)
from chainsolve.graph import Edge, Graph, symbol_of
from chainsolve.layout import Point, TreeDiagram, TreeNode, layout
from chainsolve.layout import tree as tree_diagram
from chainsolve.record import record
from chainsolve.steps import Leibniz
from chainsolve.textbook import common_factor

GraphFormat = Literal["mermaid", "dot", "tikz", "text"]

#: The formats of ``chainsolve graph --format``.
FORMATS: tuple[GraphFormat, ...] = ("mermaid", "dot", "tikz", "text")

#: A local partial is written on its edge only when the definition it comes from has at most
#: LABEL_DEFINITION_OPS operations and the partial itself at most LABEL_OPS: the derivative of
#: a product of n sums has n² factors, and a picture cannot show it anyway.
LABEL_DEFINITION_OPS = 200
LABEL_OPS = 400
#: What an edge shows instead of a local partial too long to print.
ELIDED = "… (too long to show)"
ELIDED_LATEX = r"\ldots\ \mbox{(too long to show)}"

#: Significant digits of the numbers shown at a point: enough to compare, short enough for a label.
DIGITS = 4

#: TikZ lengths of one layout unit: wide enough for a small-font label beside each edge.
TIKZ_X = "3.2cm"
TIKZ_Y = "2.4cm"
TIKZ_TREE_X = "2.6cm"
TIKZ_TREE_Y = "2.2cm"


class Emitter(Protocol):
    """What :func:`emitter` returns: a graph (and optional point) in, picture source out."""

    __name__: str

    def __call__(self, graph: Graph, *, values: PointValues | None = None) -> str: ...


#: Points per layout unit in DOT ``pos`` attributes (72 points = 1 inch).
DOT_UNIT = 108


#: Numbers at a point: node names to values, and/or ``(source, target)`` edges to the value
#: of their local partial (as an evaluation's forward and backward pass computes them).
PointValues: TypeAlias = (
    Mapping[str, Any] | Mapping[tuple[str, str], Any] | Mapping[str | tuple[str, str], Any]
)


def emitter(fmt: GraphFormat, *, tree: bool = False, max_nodes: int = 200) -> Emitter:
    """The function ``chainsolve graph --format FMT [--tree]`` calls as ``emit(graph, values=…)``.

    >>> emitter("text").__name__, emitter("dot", tree=True).__name__
    ('to_text', 'tree_to_dot')
    """
    if not tree:
        return _GRAPH_EMITTERS[fmt]
    draw_tree = _TREE_EMITTERS[fmt]

    def emit(graph: Graph, *, values: PointValues | None = None) -> str:
        return draw_tree(tree_diagram(graph, max_nodes), values=values)

    emit.__name__ = draw_tree.__name__
    emit.__doc__ = draw_tree.__doc__
    return emit


# --- labels: names, local partials, numbers at a point ---------------------------------------


@record
class _Label:
    """A label in both notations: Unicode (Mermaid, DOT, text) and LaTeX (TikZ, without ``$``)."""

    unicode: str
    latex: str


class _Labels:
    """Node and edge labels of one graph in one notation, symbolic or, given ``values``, numeric.

    Each label is built once, in the notation the picture uses (a tree repeats an edge's
    label under every parent). A local partial too long to read in a picture is not
    printed: its definition is measured first, so the derivative is never even formed.
    """

    def __init__(self, graph: Graph, values: PointValues | None, *, latex: bool = False) -> None:
        self.graph = graph
        self.latex = latex
        self.point: dict[str, Any] | None = None
        self.edge_values: dict[tuple[str, str], Any] = {}
        if values is not None:
            self.point, self.edge_values = _split_values(graph, values)
        self._edges: dict[tuple[str, str], str] = {}

    def _text(self, expr: sympy.Expr) -> str:
        return latex_expr(expr) if self.latex else unicode_expr(expr)

    def _formula(self, formula: Leibniz) -> str:
        return formula_latex(formula) if self.latex else formula_unicode(formula)

    def _number(self, value: Any) -> str:
        number = _number(value)
        return number.latex if self.latex else number.unicode

    def node(self, name: str) -> str:
        """The variable's name, with its value when the graph is shown at a point."""
        plain = self._text(symbol_of(name))
        if name in self.graph.constants:
            # A constant is drawn with its value: it has no edges that would say what it is.
            return f"{plain} = {self._text(self.graph.by_name[name].expr)}"
        value = None if self.point is None else self.point.get(name)
        if value is None:
            return plain
        return f"{plain} = {self._number(value)}"

    def edge(self, edge: Edge) -> str:
        """∂target/∂source = its local partial (or its value at the point)."""
        key = (edge.source, edge.target)
        known = self._edges.get(key)
        if known is None:
            known = self._edges[key] = self._edge(edge)
        return known

    def _edge(self, edge: Edge) -> str:
        # ∂ or d is decided once, by the graph: ∂ when the target has several direct inputs.
        leibniz = Leibniz(symbol_of(edge.target), symbol_of(edge.source), edge.partial)
        derivative = self._formula(leibniz)
        value = self._edge_value(edge)
        if value is not None:
            return f"{derivative} = {self._number(value)}"
        if self._definition_size(edge.target) > LABEL_DEFINITION_OPS:
            return f"{derivative} = {ELIDED_LATEX if self.latex else ELIDED}"
        partial = edge.local_partial
        if partial.has(*NON_FINITE):
            definition = self.graph.by_name[edge.target].expr
            raise undefined_derivative(
                f"the local derivative {formula_unicode(leibniz)}",
                [] if definition is None else [definition],
                "",
            )
        if operations(partial) > LABEL_OPS:
            return f"{derivative} = {ELIDED_LATEX if self.latex else ELIDED}"
        # The form the edge's step shows (2(z − y), not sympy's 2z − 2y), so picture and steps agree.
        return f"{derivative} = {self._text(common_factor(partial))}"

    def _definition_size(self, name: str) -> int:
        expr = self.graph.by_name[name].expr
        return 0 if expr is None else operations(expr)

    def _edge_value(self, edge: Edge) -> Any:
        given = self.edge_values.get((edge.source, edge.target))
        if given is not None or self.point is None:
            return given
        return _evaluate(edge.local_partial, self.point)


def _split_values(
    graph: Graph, values: PointValues
) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """Node values (the given ones, the rest computed in topological order) and given edge values.

    The forward pass here only labels the picture; a node whose value cannot be computed
    (an abstract ``f``, a log of a negative number) is simply shown without one.
    """
    point: dict[str, Any] = {}
    edge_values: dict[tuple[str, str], Any] = {}
    unknown: list[str] = []
    for key, value in values.items():
        if isinstance(key, tuple):
            if key[1] not in graph.by_name or key[0] not in {
                e.source for e in graph.inputs_of(key[1])
            }:
                unknown.append(" → ".join(key))
            edge_values[key] = _as_mpf(value)
        else:
            if key not in graph.by_name:
                unknown.append(key)
            point[key] = _as_mpf(value)
    if unknown:
        raise ValueError("values given for names not in the graph: " + ", ".join(sorted(unknown)))
    for node in graph.nodes:
        if node.name not in point and node.expr is not None:
            computed = _evaluate(node.expr, point)
            if computed is not None:
                point[node.name] = computed
    return point, edge_values


def _evaluate(expr: sympy.Expr, point: Mapping[str, Any]) -> Any:
    """The value of ``expr`` at ``point`` (names to mpmath numbers), or ``None`` if it has none."""
    symbols = expr.free_symbols
    if any(symbol.name not in point for symbol in symbols):
        return None
    try:
        return numeric.evaluate(expr, {symbol: point[symbol.name] for symbol in symbols})
    except numeric.Undefined:
        return None


def _as_mpf(value: Any) -> Any:
    if isinstance(value, sympy.Basic):
        try:
            result = numeric.evaluate(value, {})
        except numeric.Undefined as exc:
            raise ProblemError(
                "bad_point_value",
                f"a value at the point cannot be used: it is {exc}",
                hint="give every input a value between about 10^-30000 and 10^30000 in size",
            ) from None
    elif isinstance(value, (int, float, mpmath.mpf)) and not isinstance(value, bool):
        result = mpmath.mpf(value)
    else:
        raise TypeError(f"a value at the point must be a number, not {type(value).__name__}")
    return result


def _number(value: Any) -> _Label:
    """A number rounded to :data:`DIGITS` significant digits: ``2``, ``-0.5403``, ``1.235e+10``."""
    text = str(mpmath.nstr(value, DIGITS))
    mantissa, _, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    if not exponent:
        return _Label(mantissa, mantissa)
    power = str(int(exponent))
    return _Label(f"{mantissa}e{power}", rf"{mantissa} \cdot 10^{{{power}}}")


def _count(size: int) -> str:
    """A node count that may be astronomically large (the full tree can be exponential)."""
    return f"{size:,}" if size < 10**9 else f"about {mpmath.nstr(mpmath.mpf(size), 3)}"


def _truncation_note(diagram: TreeDiagram) -> str:
    return f"tree truncated: {len(diagram.nodes)} of {_count(diagram.full_size)} nodes shown"


# --- text -------------------------------------------------------------------------------------


def to_text(graph: Graph, *, values: PointValues | None = None) -> str:
    """Layers top to bottom, each node followed by its inputs: ``z ← x   [∂z/∂x = 2x·y]``."""
    labels = _Labels(graph, values)
    drawing = layout(graph)
    lines: list[str] = []
    for layer in range(len(drawing.layers) - 1, -1, -1):
        row = tuple(name for name in drawing.layers[layer] if name not in graph.constants)
        kind = " (inputs)" if layer == 0 else " (target)" if row == (graph.target,) else ""
        lines.append(f"layer {layer}{kind}: " + ", ".join(labels.node(name) for name in row))
        for name in row:
            for edge in graph.inputs_of(name):
                arrow = f"{unicode_name(name)} ← {unicode_name(edge.source)}"
                lines.append(f"  {arrow}   [{labels.edge(edge)}]")
    if graph.constants:
        lines.append("constants: " + ", ".join(labels.node(name) for name in graph.constants))
    return "\n".join(lines) + "\n"


def tree_to_text(diagram: TreeDiagram, *, values: PointValues | None = None) -> str:
    """The tree diagram with box-drawing branches, each branch labelled with its local partial."""
    labels = _Labels(diagram.graph, values)
    root = diagram.nodes[0]
    lines = [labels.node(root.name)]
    # Depth-first, children left to right: (node, indentation, is the last child).
    stack: list[tuple[TreeNode, str, bool]] = [
        (child, "", index == 0) for index, child in enumerate(reversed(diagram.children(root.id)))
    ]
    while stack:
        node, indent, last = stack.pop()
        assert node.edge is not None  # only the root has no edge
        branch = "└── " if last else "├── "
        lines.append(f"{indent}{branch}{labels.node(node.name)}   [{labels.edge(node.edge)}]")
        inner = indent + ("    " if last else "│   ")
        if node.elided:
            lines.append(f"{inner}└── …")
        children = diagram.children(node.id)
        stack.extend((child, inner, index == 0) for index, child in enumerate(reversed(children)))
    if diagram.truncated:
        lines.append(f"({_truncation_note(diagram)})")
    return "\n".join(lines) + "\n"


# --- Mermaid ----------------------------------------------------------------------------------

# Mermaid reads "#name;" as an entity inside quoted labels, so "#" itself goes first.
_MERMAID_ENTITIES = (
    ("#", "#35;"),
    ('"', "#quot;"),
    ("<", "#lt;"),
    (">", "#gt;"),
    ("&", "#amp;"),
    ("|", "#124;"),
    ("`", "#96;"),
    ("\n", " "),
)


def mermaid_text(text: str) -> str:
    """``text`` as a quoted Mermaid label, ``" # < > & | ` `` written as entities."""
    for raw, entity in _MERMAID_ENTITIES:
        text = text.replace(raw, entity)
    return f'"{text}"'


def _mermaid_node(node_id: str, label: str, kind: str) -> str:
    opening, closing = {"input": ("([", "])"), "target": ("((", "))")}.get(kind, ("[", "]"))
    return f"    {node_id}{opening}{mermaid_text(label)}{closing}"


def to_mermaid(graph: Graph, *, values: PointValues | None = None) -> str:
    """A Mermaid ``flowchart BT`` (inputs at the bottom), edge labels in Unicode (``∂z/∂x = 2x·y``).

    Node ids are generated (``n0``, ``n1``, …) because a variable may be named like a Mermaid
    keyword (``end``). The result is the body of a ```` ```mermaid ```` block.
    """
    labels = _Labels(graph, values)
    ids = {node.name: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart BT"]
    for row in layout(graph).layers:
        for name in row:
            lines.append(_mermaid_node(ids[name], labels.node(name), graph.by_name[name].kind))
    for edge in graph.edges:
        label = mermaid_text(labels.edge(edge))
        lines.append(f"    {ids[edge.source]} -->|{label}| {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def tree_to_mermaid(diagram: TreeDiagram, *, values: PointValues | None = None) -> str:
    """The tree diagram as a Mermaid ``flowchart TD`` (the target at the top, plain branches)."""
    labels = _Labels(diagram.graph, values)
    lines = ["flowchart TD"]
    if diagram.truncated:
        lines.append(f"    %% {_truncation_note(diagram)}")
    for node in diagram.nodes:
        kind = diagram.graph.by_name[node.name].kind
        lines.append(_mermaid_node(f"t{node.id}", labels.node(node.name), kind))
    for node in diagram.nodes:
        if node.parent is not None and node.edge is not None:
            label = mermaid_text(labels.edge(node.edge))
            lines.append(f"    t{node.parent} ---|{label}| t{node.id}")
        if node.elided:
            lines.append(f'    t{node.id} -.- t{node.id}more["⋯"]')
    return "\n".join(lines) + "\n"


# --- Graphviz DOT -----------------------------------------------------------------------------


def dot_text(text: str) -> str:
    r"""``text`` as a DOT quoted string: ``\`` and ``"`` escaped, newlines as ``\n``.

    Backslashes are doubled so that Graphviz's label escapes (``\N``, ``\l``) never fire;
    ``< > | { }`` need nothing because no record shapes are used.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_DOT_STYLE = {
    "input": ', style=filled, fillcolor="#eeeeee"',
    "target": ", peripheries=2",
    "intermediate": "",
}


def to_dot(graph: Graph, *, values: PointValues | None = None, positions: bool = False) -> str:
    """A Graphviz digraph, ``rankdir=BT``, one ``rank=same`` group per layer.

    With ``positions`` every node also gets chainsolve's coordinates as ``pos="x,y!"``
    (in points), for ``neato -n`` to draw the layout exactly as TikZ does.
    """
    labels = _Labels(graph, values)
    drawing = layout(graph)
    lines = [
        "digraph chainsolve {",
        "    rankdir=BT;",
        '    node [shape=ellipse, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    for row in drawing.layers:
        for name in row:
            pos = ""
            if positions:
                x, y = drawing.positions[name]
                pos = f', pos="{x * DOT_UNIT:g},{y * DOT_UNIT:g}!"'
            style = _DOT_STYLE[graph.by_name[name].kind]
            lines.append(f"    {dot_text(name)} [label={dot_text(labels.node(name))}{style}{pos}];")
    for row in drawing.layers:
        if len(row) > 1:
            lines.append(
                "    { rank=same; " + " ".join(f"{dot_text(name)};" for name in row) + " }"
            )
    for edge in graph.edges:
        label = dot_text(labels.edge(edge))
        lines.append(f"    {dot_text(edge.source)} -> {dot_text(edge.target)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def tree_to_dot(diagram: TreeDiagram, *, values: PointValues | None = None) -> str:
    """The tree diagram as an undirected Graphviz graph, the target at the top."""
    labels = _Labels(diagram.graph, values)
    lines = [
        "graph chainsolve_tree {",
        "    rankdir=TB;",
        '    node [shape=ellipse, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    if diagram.truncated:
        lines.append(f"    label={dot_text(_truncation_note(diagram))};")
        lines.append("    labelloc=b;")
    for node in diagram.nodes:
        style = _DOT_STYLE[diagram.graph.by_name[node.name].kind]
        lines.append(f'    "t{node.id}" [label={dot_text(labels.node(node.name))}{style}];')
        if node.elided:
            lines.append(f'    "t{node.id}more" [label="…", shape=plaintext];')
    for node in diagram.nodes:
        if node.parent is not None and node.edge is not None:
            label = dot_text(labels.edge(node.edge))
            lines.append(f'    "t{node.parent}" -- "t{node.id}" [label={label}];')
        if node.elided:
            lines.append(f'    "t{node.id}" -- "t{node.id}more" [style=dashed];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- TikZ -------------------------------------------------------------------------------------

# Core TikZ only (no libraries, "stealth" is built in) so that plain pdflatex with
# \usepackage{tikz} compiles it; the coordinates are ours, not TikZ's graph drawing (LuaLaTeX).
_TIKZ_STYLES = (
    r"    csvariable/.style={draw, rounded corners=3pt, minimum size=7mm, inner sep=2pt},",
    r"    csinput/.style={csvariable, fill=black!8},",
    r"    cstarget/.style={csvariable, double, thick},",
    r"    csintermediate/.style={csvariable},",
    r"    cspartial/.style={font=\scriptsize, fill=white, inner sep=1.5pt},",
)


def _tikz_number(value: float) -> str:
    # Adding 0.0 turns -0.0 into 0.0, so the root of a tree is not drawn "at (0, -0)".
    return f"{value + 0.0:.4g}"


def _label_anchor(start: Point, end: Point, left: bool) -> str:
    """Where a label sits against the point of its edge: beside the line, never across it.

    Labels stay horizontal (rotated fractions are hard to read); they go into the quadrant
    around the point that the line does not pass through, on the ``left`` or right side.
    """
    dx, dy = end[0] - start[0], end[1] - start[1]
    if dx == 0 or dy == 0:
        return "east" if left else "west"
    if (dx > 0) == (dy > 0):
        return "south east" if left else "north west"
    return "north east" if left else "south west"


def _tikz_node(node_id: str, style: str, at: Point, text: str) -> str:
    x, y = at
    return f"  \\node[{style}] ({node_id}) at ({_tikz_number(x)}, {_tikz_number(y)}) {{{text}}};"


def _tikz_open(x_unit: str, y_unit: str, arrows: bool) -> list[str]:
    tips = ", >=stealth" if arrows else ""
    return [f"\\begin{{tikzpicture}}[x={x_unit}, y={y_unit}{tips},", *_TIKZ_STYLES, "  ]"]


def to_tikz(graph: Graph, *, values: PointValues | None = None) -> str:
    r"""A ``tikzpicture`` at chainsolve's layered coordinates, arrows labelled with local partials.

    Needs only ``\usepackage{tikz}`` (and amsmath for ``\frac`` in a document that loads it).
    """
    labels = _Labels(graph, values, latex=True)
    drawing = layout(graph)
    ids = {node.name: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = _tikz_open(TIKZ_X, TIKZ_Y, arrows=True)
    for row in drawing.layers:
        for name in row:
            x, y = drawing.positions[name]
            style = "cs" + graph.by_name[name].kind
            label = labels.node(name)
            lines.append(_tikz_node(ids[name], style, (x, y), f"${label}$"))
    for edge in graph.edges:
        start, end = drawing.positions[edge.source], drawing.positions[edge.target]
        points = (start, *drawing.bends.get((edge.source, edge.target), ()), end)
        # Labels go outwards, away from the middle of the picture where edges are densest.
        left = points[0][0] + points[1][0] < 0
        label = labels.edge(edge)
        lines.append(_tikz_edge((ids[edge.source], ids[edge.target]), points, label, left))
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _tikz_edge(ids: tuple[str, str], points: tuple[Point, ...], label: str, left: bool) -> str:
    r"""``\draw`` from ``source`` through the ``bends`` of a long edge to ``target``.

    The label goes on the first segment, next to the source, where a long edge is clear
    of the nodes it bends around.
    """
    source, target = ids
    bends = points[1:-1]
    stops = [f"({source})", *(f"({_tikz_number(x)}, {_tikz_number(y)})" for x, y in bends)]
    stops.append(f"({target})")
    options = "->, rounded corners=8pt" if bends else "->"
    anchor = _label_anchor(points[0], points[1], left)
    # At 0.4 rather than half way: where two edges cross between layers, they cross half way.
    place = f"pos=0.4, anchor={anchor}"
    labelled = f"{stops[0]} -- node[cspartial, {place}] {{${label}$}} {stops[1]}"
    return f"  \\draw[{options}] " + " -- ".join([labelled, *stops[2:]]) + ";"


def tree_to_tikz(diagram: TreeDiagram, *, values: PointValues | None = None) -> str:
    r"""The tree diagram as a ``tikzpicture``: the target on top, branches labelled."""
    labels = _Labels(diagram.graph, values, latex=True)
    lines = _tikz_open(TIKZ_TREE_X, TIKZ_TREE_Y, arrows=False)
    if diagram.truncated:
        lines.append(f"  % {_truncation_note(diagram)}")
    for node in diagram.nodes:
        style = "cs" + diagram.graph.by_name[node.name].kind
        label = labels.node(node.name)
        lines.append(_tikz_node(f"t{node.id}", style, (node.x, node.y), f"${label}$"))
        if node.elided:
            below = (node.x, node.y - 0.6)
            lines.append(_tikz_node(f"t{node.id}more", "", below, r"$\cdots$"))
    for node in diagram.nodes:
        if node.parent is not None and node.edge is not None:
            label = labels.edge(node.edge)
            parent = diagram.nodes[node.parent]
            start, end = (parent.x, parent.y), (node.x, node.y)
            anchor = _label_anchor(start, end, left=node.x < parent.x)
            lines.append(
                f"  \\draw (t{node.parent}) -- node[cspartial, anchor={anchor}] {{${label}$}}"
                f" (t{node.id});"
            )
        if node.elided:
            lines.append(f"  \\draw[dashed] (t{node.id}) -- (t{node.id}more);")
    if diagram.truncated:
        bottom = min(node.y for node in diagram.nodes) - 1.1
        note = _truncation_note(diagram)
        lines.append(_tikz_node("note", r"font=\footnotesize", (0.0, bottom), note))
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


_GRAPH_EMITTERS: Mapping[GraphFormat, Emitter] = {
    "mermaid": to_mermaid,
    "dot": to_dot,
    "tikz": to_tikz,
    "text": to_text,
}

_TREE_EMITTERS: Mapping[GraphFormat, Callable[..., str]] = {
    "mermaid": tree_to_mermaid,
    "dot": tree_to_dot,
    "tikz": tree_to_tikz,
    "text": tree_to_text,
}
