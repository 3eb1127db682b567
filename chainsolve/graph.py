"""The dependency graph: variables as nodes, edges carrying their local partial derivative, paths and layers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import sympy

from chainsolve.dag import bottom_up, derivative
from chainsolve.problem import Definition, Problem, build_problem, evaluate_typed, make_symbol
from chainsolve.record import record

if TYPE_CHECKING:
    from chainsolve.steps import Solution

NodeKind = Literal["input", "intermediate", "target"]

#: Paths are written out one by one up to this many; beyond it only their number is given.
PATH_LIMIT = 16


@record
class Node:
    """A variable: an input, an intermediate ``name = expr``, or the target.

    ``operation`` names the elementary operation for computational graphs (``"*"``, ``"sin"``).
    """

    name: str
    kind: NodeKind
    expr: sympy.Expr | None = None
    operation: str | None = None


class Edge:
    """Data flows from ``source`` into ``target``; ``local_partial`` is ∂target/∂source.

    ``partial`` is True when ``target`` has several direct inputs (so ∂, not d, is written).
    Built from the target's ``definition``, the local partial is only differentiated when
    first asked for: drawing a graph must not pay for a derivative with n² terms
    (the product of n sums) that its picture will not show.
    """

    __slots__ = ("_definition", "_local_partial", "partial", "rule", "source", "target")

    source: str
    target: str
    rule: str
    partial: bool

    def __init__(
        self,
        source: str,
        target: str,
        local_partial: sympy.Expr | None = None,
        rule: str = "",
        partial: bool = False,
        *,
        definition: sympy.Expr | None = None,
    ) -> None:
        if local_partial is None and definition is None:
            raise ValueError("an edge needs its local partial or the definition it comes from")
        self.source = source
        self.target = target
        self.rule = rule
        self.partial = partial
        self._local_partial = local_partial
        self._definition = definition

    @property
    def local_partial(self) -> sympy.Expr:
        """∂target/∂source, differentiated from the definition on first use."""
        if self._local_partial is None:
            assert self._definition is not None
            # sympy's rules node by node: sympy.diff's expression at a quarter of its cost.
            self._local_partial = derivative(self._definition, make_symbol(self.source))
        return self._local_partial

    def _key(self) -> tuple[object, ...]:
        return (self.source, self.target, self.rule, self.partial, self.local_partial)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Edge) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.source, self.target, self.rule, self.partial))

    def __repr__(self) -> str:
        return f"Edge({self.source!r}, {self.target!r}, partial={self.partial})"


@dataclass(frozen=True)
class Graph:
    """A DAG of variables in topological order (inputs first, the target last)."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    target: str

    @cached_property
    def constants(self) -> tuple[str, ...]:
        """Defined names whose definition holds no variable (``x = 3``, ``c = 2x``): no edges."""
        return tuple(
            n.name
            for n in self.nodes
            if n.expr is not None and n.kind != "target" and not self.inputs_of(n.name)
        )

    @cached_property
    def by_name(self) -> dict[str, Node]:
        """Nodes by name."""
        return {node.name: node for node in self.nodes}

    @cached_property
    def _incoming(self) -> dict[str, tuple[Edge, ...]]:
        grouped: dict[str, list[Edge]] = {node.name: [] for node in self.nodes}
        for edge in self.edges:
            grouped[edge.target].append(edge)
        return {name: tuple(edges) for name, edges in grouped.items()}

    @cached_property
    def _outgoing(self) -> dict[str, tuple[Edge, ...]]:
        grouped: dict[str, list[Edge]] = {node.name: [] for node in self.nodes}
        for edge in self.edges:
            grouped[edge.source].append(edge)
        return {name: tuple(edges) for name, edges in grouped.items()}

    def inputs_of(self, name: str) -> tuple[Edge, ...]:
        """Edges into ``name``: the variables its definition uses directly."""
        return self._incoming[name]

    def consumers_of(self, name: str) -> tuple[Edge, ...]:
        """Edges out of ``name``: the variables whose definitions use it."""
        return self._outgoing[name]

    def edge(self, source: str, target: str) -> Edge:
        """The edge from ``source`` into ``target``."""
        for edge in self._incoming[target]:
            if edge.source == source:
                return edge
        raise KeyError((source, target))

    def path_count(self, start: str) -> int:
        """How many paths lead from the target down to ``start`` (one multiply-add per edge, no enumeration)."""
        return self._path_counts[start]

    @cached_property
    def _path_counts(self) -> dict[str, int]:
        counts = {node.name: 0 for node in self.nodes}
        counts[self.target] = 1
        for node in reversed(self.nodes):
            for edge in self.inputs_of(node.name):
                counts[edge.source] += counts[node.name]
        return counts

    def paths(self, start: str, limit: int = PATH_LIMIT) -> tuple[tuple[str, ...], ...] | None:
        """Every path from the target to ``start`` (target first), or ``None`` when there are more than ``limit``."""
        if self.path_count(start) > limit:
            return None
        found: list[tuple[str, ...]] = []

        def walk(name: str, trail: list[str]) -> None:
            if name == start:
                found.append(tuple(trail))
                return
            for edge in self.inputs_of(name):
                if self._path_counts_to(start).get(edge.source, 0):
                    trail.append(edge.source)
                    walk(edge.source, trail)
                    trail.pop()

        walk(self.target, [self.target])
        return tuple(found)

    def _path_counts_to(self, start: str) -> dict[str, int]:
        """How many paths lead from each node down to ``start``."""
        counts = {node.name: 0 for node in self.nodes}
        counts[start] = 1
        for node in self.nodes:
            for edge in self.inputs_of(node.name):
                counts[node.name] += counts[edge.source]
        return counts

    def depends_on(self, name: str) -> frozenset[str]:
        """The nodes from which ``name`` can be reached (its ancestors in data flow), itself included."""
        seen = {name}
        stack = [name]
        while stack:
            for edge in self.inputs_of(stack.pop()):
                if edge.source not in seen:
                    seen.add(edge.source)
                    stack.append(edge.source)
        return frozenset(seen)

    def influenced_by(self, name: str) -> frozenset[str]:
        """The nodes that ``name`` feeds into, directly or not, itself included."""
        seen = {name}
        stack = [name]
        while stack:
            for edge in self.consumers_of(stack.pop()):
                if edge.target not in seen:
                    seen.add(edge.target)
                    stack.append(edge.target)
        return frozenset(seen)

    def on_paths_from(self, name: str) -> frozenset[str]:
        """The nodes on some path from ``name`` to the target (two linear passes, no enumeration)."""
        return self.influenced_by(name) & self.depends_on(self.target)

    @cached_property
    def layers(self) -> dict[str, int]:
        """Layer of each node for drawing: 0 for inputs, else one more than its deepest input."""
        layer: dict[str, int] = {}
        for node in self.nodes:
            incoming = self.inputs_of(node.name)
            layer[node.name] = 1 + max((layer[e.source] for e in incoming), default=-1)
        return layer

    def iter_layers(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        """Layers in order, each with its node names in topological order."""
        by_layer: dict[int, list[str]] = {}
        for node in self.nodes:
            by_layer.setdefault(self.layers[node.name], []).append(node.name)
        for index in sorted(by_layer):
            yield index, tuple(by_layer[index])


def topological_definitions(problem: Problem) -> list[str]:
    """Defined names ordered so that every name comes after the names its definition uses."""
    defined = {d.name: d for d in problem.definitions}
    order: list[str] = []
    state: dict[str, int] = {}
    # Every definition is reachable from the target (build_problem checks it).
    for root in [problem.target]:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, done = stack.pop()
            if done:
                if state.get(name) != 2:
                    state[name] = 2
                    order.append(name)
                continue
            if state.get(name) or name not in defined:
                continue
            state[name] = 1
            stack.append((name, True))
            for symbol in sorted(
                defined[name].expr.free_symbols, key=lambda s: s.name, reverse=True
            ):
                if symbol.name in defined and not state.get(symbol.name):
                    stack.append((symbol.name, False))
    return order


def build_graph(problem: Problem) -> Graph:
    """The dependency graph of a problem, local partials computed by sympy on each definition alone.

    Cost is linear in the size of the definitions: each is differentiated only by the
    variables it uses directly, never flattened, and only when a local partial is asked for.

    >>> from chainsolve.problem import Definition, build_problem
    >>> t, x, y = (make_symbol(n) for n in "txy")
    >>> p = build_problem([Definition("z", x**2 * y), Definition("x", sympy.cos(t)),
    ...                    Definition("y", sympy.exp(t))], source="")
    >>> g = build_graph(p)
    >>> [n.name for n in g.nodes], g.path_count("t")
    (['t', 'x', 'y', 'z'], 2)
    """
    defined = {d.name: d for d in problem.definitions}
    order = topological_definitions(problem)
    nodes: list[Node] = [Node(name, "input") for name in problem.inputs]
    edges: list[Edge] = []
    constants: set[str] = set()
    for name in order:
        expr = defined[name].expr
        kind: NodeKind = "target" if name == problem.target else "intermediate"
        nodes.append(Node(name, kind, expr))
        # A constant (x = 3) is a number in its consumers: no edge, nothing flows back to it.
        used = sorted(
            (s for s in expr.free_symbols if s.name not in constants), key=lambda s: s.name
        )
        if not used and name != problem.target:
            constants.add(name)  # in topological order, so c = 2x with x = 3 is one too
        for symbol in used:
            edges.append(Edge(symbol.name, name, partial=len(used) > 1, definition=expr))
    return Graph(tuple(nodes), tuple(edges), problem.target)


def evaluation_graph(solution: Solution) -> Graph:
    """The graph a point is evaluated on, linear in the size of the problem.

    A graph problem's own graph; a single expression is one node, except when its derivation
    was left in terms of intermediate variables (a long chain): then those variables are
    nodes too, each defined by one link, as the derivation named them. Differentiating the
    whole expression as one definition would cost far more than linear time in its depth
    (sympy sorts the factors of each product by comparing their deep arguments).
    """
    if solution.graph is not None:
        return solution.graph
    problem = solution.problem
    if not solution.intermediates or all(d.in_terms_of_inputs for d in solution.derivations):
        return build_graph(problem)
    return build_graph(with_intermediates(problem, solution.intermediates))


def with_intermediates(problem: Problem, intermediates: Mapping[str, sympy.Expr]) -> Problem:
    """A single-expression problem rewritten as definitions of its named intermediate variables.

    ``intermediates`` maps each name to the subexpression it stands for (in the inputs); a
    definition refers to the parts just below it by name. A name that is not a subexpression
    (nothing refers to it) is left out.
    """
    parts = {expr: make_symbol(name) for name, expr in intermediates.items()}
    target = problem.definitions[0]
    # The derivation named parts of the expression as typed: match them there.
    rewritten = {target.name: _named_parts(target.typed, parts)}
    stack = [target.name]
    while stack:
        for symbol in rewritten[stack.pop()].free_symbols:
            name = symbol.name
            if name in intermediates and name not in rewritten:
                rewritten[name] = _named_parts(intermediates[name], parts)
                stack.append(name)
    definitions = [
        Definition(name, evaluate_typed(expr), typed=expr) for name, expr in rewritten.items()
    ]
    split = build_problem(
        definitions, source=problem.source, wrt=problem.wrt or None, point=problem.point
    )
    # The inputs are the same; keep the user's order rather than the one the definitions imply.
    return dataclasses.replace(split, inputs=problem.inputs)


def _named_parts(expr: sympy.Expr, parts: Mapping[sympy.Expr, sympy.Symbol]) -> sympy.Expr:
    """``expr`` with each proper subexpression that is one of ``parts`` replaced by its name.

    Each shared part is visited once (:func:`chainsolve.dag.bottom_up`).
    """

    def named(node: sympy.Basic) -> sympy.Basic | None:
        return parts.get(node) if node is not expr else None

    def build(node: sympy.Basic, args: tuple[sympy.Basic, ...]) -> sympy.Basic:
        return node if args == node.args else node.func(*args)

    result: sympy.Expr = bottom_up(expr, build, named)
    return result


def symbol_of(name: str) -> sympy.Symbol:
    """The sympy symbol of a graph node."""
    return make_symbol(name)
