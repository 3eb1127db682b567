"""Fixed drawing coordinates for the dependency graph (layered) and the textbook tree diagram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from chainsolve.graph import Edge, Graph
from chainsolve.record import record

#: Barycenter sweeps (one down, one up each); a few suffice in practice, and each is O(E log V).
SWEEPS = 4

#: Long edges get one bend point per layer they cross, up to this many per graph node; beyond
#: it (a target that uses thousands of far-away variables) edges are drawn straight so that
#: the layout stays linear in the graph's size instead of quadratic.
BENDS_PER_NODE = 8

Point = tuple[float, float]


@dataclass(frozen=True)
class Layout:
    """Node coordinates: ``y`` is the layer (inputs at 0, the target on top), ``x`` the slot.

    ``layers`` lists the node names of each layer bottom to top, left to right. A long edge
    (spanning several layers) is routed through the points in ``bends`` so that it passes
    beside, not through, the nodes of the layers in between. ``crossings`` counts the edge
    crossings of the chosen order, ``width`` the slots of the widest layer (bends included).
    """

    positions: Mapping[str, Point]
    layers: tuple[tuple[str, ...], ...]
    bends: Mapping[tuple[str, str], tuple[Point, ...]]
    crossings: int
    #: Slots in the widest layer, bend points included.
    width: int


def layout(graph: Graph) -> Layout:
    """Layered layout of ``graph``: layers from ``graph.layers``, order by barycenter sweeps.

    Nodes sit on integer-spaced slots centred on ``x = 0``; the crossing count of the order
    kept is the smallest seen over the sweeps.

    >>> import sympy
    >>> from chainsolve.graph import Node
    >>> g = Graph((Node("t", "input"), Node("z", "target")), (Edge("t", "z", sympy.S(2)),), "z")
    >>> layout(g).positions
    mappingproxy({'t': (0.0, 0.0), 'z': (0.0, 1.0)})
    """
    names = [node.name for node in graph.nodes]
    index = {name: i for i, name in enumerate(names)}
    layer_of: list[int] = [graph.layers[name] for name in names]
    # Vertices are ints: graph nodes first, then one bend vertex per layer a long edge crosses.
    up: list[list[int]] = [[] for _ in names]
    down: list[list[int]] = [[] for _ in names]
    chains: list[tuple[Edge, list[int]]] = []
    budget = BENDS_PER_NODE * max(len(names), 1)
    for edge in graph.edges:
        low, high = index[edge.source], index[edge.target]
        span = layer_of[high] - layer_of[low]
        previous = low
        if 1 < span <= budget + 1:
            budget -= span - 1
            bend_vertices: list[int] = []
            for layer in range(layer_of[low] + 1, layer_of[high]):
                vertex = len(layer_of)
                layer_of.append(layer)
                up.append([])
                down.append([previous])
                up[previous].append(vertex)
                bend_vertices.append(vertex)
                previous = vertex
            chains.append((edge, bend_vertices))
        up[previous].append(high)
        down[high].append(previous)

    # Start from topological order within each layer: usually close to readable already.
    rows: list[list[int]] = [[] for _ in range(max(layer_of, default=-1) + 1)]
    for vertex, layer in enumerate(layer_of):
        rows[layer].append(vertex)
    best = [row[:] for row in rows]
    best_crossings = _crossings(rows, up)
    for _ in range(SWEEPS):
        if best_crossings == 0:
            break
        for layer in range(len(rows) - 2, -1, -1):
            _sort_by_barycenter(rows, layer, layer + 1, up)
        for layer in range(1, len(rows)):
            _sort_by_barycenter(rows, layer, layer - 1, down)
        count = _crossings(rows, up)
        if count < best_crossings:
            best, best_crossings = [row[:] for row in rows], count

    x_of: dict[int, float] = {}
    for row in best:
        offset = (len(row) - 1) / 2
        for slot, vertex in enumerate(row):
            x_of[vertex] = slot - offset
    positions = {name: (x_of[i], float(layer_of[i])) for i, name in enumerate(names)}
    bends = {
        (edge.source, edge.target): tuple((x_of[v], float(layer_of[v])) for v in vertices)
        for edge, vertices in chains
    }
    return Layout(
        positions=MappingProxyType(positions),
        layers=tuple(tuple(names[v] for v in row if v < len(names)) for row in best),
        bends=MappingProxyType(bends),
        crossings=best_crossings,
        width=max((len(row) for row in best), default=0),
    )


def _sort_by_barycenter(
    rows: list[list[int]], layer: int, fixed: int, neighbours: Sequence[list[int]]
) -> None:
    """Reorder ``layer`` by the mean slot of each vertex's neighbours in the layer ``fixed``."""
    slot = {vertex: position for position, vertex in enumerate(rows[fixed])}

    def key(item: tuple[int, int]) -> tuple[float, int]:
        position, vertex = item
        linked = [slot[n] for n in neighbours[vertex]]
        # A vertex without neighbours there keeps its place rather than drifting to one side.
        return (sum(linked) / len(linked) if linked else float(position), position)

    rows[layer] = [vertex for _, vertex in sorted(enumerate(rows[layer]), key=key)]


def _crossings(rows: list[list[int]], up: Sequence[list[int]]) -> int:
    """Edge crossings between adjacent layers, counted as inversions with a Fenwick tree."""
    total = 0
    for layer in range(len(rows) - 1):
        upper_slot = {vertex: position for position, vertex in enumerate(rows[layer + 1])}
        ends = sorted(
            (position, upper_slot[n])
            for position, vertex in enumerate(rows[layer])
            for n in up[vertex]
        )
        size = len(rows[layer + 1])
        tree = [0] * (size + 1)
        for seen, (_, upper) in enumerate(ends):
            # Edges already seen that end strictly to the right of this one cross it.
            smaller_or_equal = 0
            i = upper + 1
            while i > 0:
                smaller_or_equal += tree[i]
                i -= i & -i
            total += seen - smaller_or_equal
            i = upper + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
    return total


@record
class TreeNode:
    """One occurrence of a variable in the tree diagram.

    ``edge`` is the graph edge from this variable into its parent (its label is the local
    partial ∂parent/∂name); ``None`` at the root. ``elided`` is True when the variable has
    inputs that were left out because the tree reached its size limit.
    """

    id: int
    name: str
    parent: int | None
    depth: int
    edge: Edge | None
    x: float
    elided: bool = False

    @property
    def y(self) -> float:
        """Drawing height: the root at 0, each level one unit lower."""
        return -float(self.depth)


@dataclass(frozen=True)
class TreeDiagram:
    """The textbook tree: the target at the root, a variable repeated under each variable using it.

    ``nodes`` are in breadth-first order (root first). The full tree can be exponentially
    large; when it has more than the limit, only whole levels that fit are kept, ``truncated``
    is True and ``full_size`` says how many nodes the whole tree has.
    """

    graph: Graph
    nodes: tuple[TreeNode, ...]
    truncated: bool
    full_size: int

    def children(self, node_id: int) -> tuple[TreeNode, ...]:
        """The tree nodes directly under ``node_id``, left to right."""
        return self._children.get(node_id, ())

    @cached_property
    def _children(self) -> Mapping[int, tuple[TreeNode, ...]]:
        grouped: dict[int, list[TreeNode]] = {}
        for node in self.nodes:
            if node.parent is not None:
                grouped.setdefault(node.parent, []).append(node)
        return {parent: tuple(kids) for parent, kids in grouped.items()}


def tree(graph: Graph, max_nodes: int = 200) -> TreeDiagram:
    """The textbook tree diagram of ``graph``, at most ``max_nodes`` nodes (whole levels only).

    Leaves sit one unit apart and each parent is centred over its children (root at x = 0).
    """
    if max_nodes < 1:
        raise ValueError("max_nodes must be at least 1")
    # Each variable occurs once per path from the target down to it.
    full_size = sum(graph.path_count(node.name) for node in graph.nodes)
    # Rows of (name, parent id, edge into parent); ids are positions in breadth-first order.
    levels: list[list[tuple[str, int | None, Edge | None]]] = [[(graph.target, None, None)]]
    count = 1
    truncated = False
    while True:
        first_id = count - len(levels[-1])
        below = sum(len(graph.inputs_of(name)) for name, _, _ in levels[-1])
        if below == 0:
            break
        if count + below > max_nodes:
            truncated = True
            break
        levels.append(
            [
                (edge.source, first_id + position, edge)
                for position, (name, _, _) in enumerate(levels[-1])
                for edge in graph.inputs_of(name)
            ]
        )
        count += below

    flat = [(depth, item) for depth, level in enumerate(levels) for item in level]
    kids: list[list[int]] = [[] for _ in flat]
    for node_id, (_, (_, parent, _)) in enumerate(flat):
        if parent is not None:
            kids[parent].append(node_id)
    x_of = _tidy_x(kids)
    shift = x_of[0]
    nodes = tuple(
        TreeNode(
            id=node_id,
            name=name,
            parent=parent,
            depth=depth,
            edge=edge,
            x=x_of[node_id] - shift,
            elided=not kids[node_id] and bool(graph.inputs_of(name)),
        )
        for node_id, (depth, (name, parent, edge)) in enumerate(flat)
    )
    return TreeDiagram(graph=graph, nodes=nodes, truncated=truncated, full_size=full_size)


def _tidy_x(kids: Sequence[Sequence[int]]) -> list[float]:
    """Leaves at consecutive x in depth-first order, parents centred over their children."""
    x_of = [0.0] * len(kids)
    next_leaf = 0.0
    # Iterative post-order: the tree can be deeper than Python's recursion limit.
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:
        node_id, done = stack.pop()
        if done:
            children = kids[node_id]
            x_of[node_id] = (x_of[children[0]] + x_of[children[-1]]) / 2
            continue
        if not kids[node_id]:
            x_of[node_id] = next_leaf
            next_leaf += 1
            continue
        stack.append((node_id, True))
        stack.extend((child, False) for child in reversed(kids[node_id]))
    return x_of
