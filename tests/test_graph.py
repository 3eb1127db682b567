"""Tests for chainsolve.graph: topological order, edges with local partials, path counts, layers."""

from __future__ import annotations

import time

import pytest
import sympy

from chainsolve.api import load_problem, solve_parsed
from chainsolve.derivation import _flatten, solve_problem
from chainsolve.graph import (
    PATH_LIMIT,
    Graph,
    build_graph,
    evaluation_graph,
    symbol_of,
    topological_definitions,
)
from chainsolve.parsing import parse_problem
from chainsolve.problem import Definition, Problem, build_problem, evaluate_typed, make_symbol

TWO_PATHS = "z = x^2*y; x = cos(t); y = exp(t)"
SHARED = "z = a*b + c; a = sin(p); b = p*q; c = p + q; p = t^2; q = exp(t)"


def graph_of(text: str) -> Graph:
    """The dependency graph of a problem given as text with one input."""
    return build_graph(parse_problem(text))


def diamonds(k: int) -> Problem:
    """k diamonds from x up to the target a{k}: a_i = b_i·c_i, b_i = sin(a_{i-1}), c_i = cos(a_{i-1})."""
    definitions: list[Definition] = []
    for i in range(k, 0, -1):
        below = make_symbol(f"a{i - 1}") if i > 1 else make_symbol("x")
        definitions += [
            Definition(f"a{i}", make_symbol(f"b{i}") * make_symbol(f"c{i}")),
            Definition(f"b{i}", sympy.sin(below)),
            Definition(f"c{i}", sympy.cos(below)),
        ]
    return build_problem(definitions, source="")


def enumerate_paths(graph: Graph, start: str) -> list[tuple[str, ...]]:
    """Every path from the target down to ``start``, by plain depth-first search."""
    found: list[tuple[str, ...]] = []

    def walk(name: str, trail: tuple[str, ...]) -> None:
        if name == start:
            found.append(trail)
            return
        for edge in graph.inputs_of(name):
            walk(edge.source, (*trail, edge.source))

    walk(graph.target, (graph.target,))
    return found


def test_nodes_in_topological_order() -> None:
    """Inputs come first, the target last, and every edge goes from an earlier to a later node."""
    graph = graph_of("z = a + b; b = a*t; a = sin(t)")
    names = [node.name for node in graph.nodes]
    assert names == ["t", "a", "b", "z"]
    kinds = [node.kind for node in graph.nodes]
    assert kinds == ["input", "intermediate", "intermediate", "target"]
    position = {name: i for i, name in enumerate(names)}
    assert all(position[e.source] < position[e.target] for e in graph.edges)


def test_topological_definitions_order() -> None:
    """topological_definitions puts every defined name after the names it uses."""
    problem = parse_problem(SHARED, wrt=None)
    order = topological_definitions(problem)
    assert sorted(order) == sorted(d.name for d in problem.definitions)
    for name in order:
        for symbol in problem.definition(name).expr.free_symbols:
            if symbol.name in order:
                assert order.index(symbol.name) < order.index(name)
    assert order[-1] == "z"


@pytest.mark.parametrize("text", [TWO_PATHS, SHARED, "L = (w*x + b - y)^2; w = sin(s)"])
def test_local_partials_equal_sympy_diff(text: str) -> None:
    """Each edge's local partial is sympy.diff of the target's definition by the source."""
    problem = parse_problem(text, wrt=("s",) if "w = sin(s)" in text else None)
    graph = build_graph(problem)
    for edge in graph.edges:
        expr = problem.definition(edge.target).expr
        assert edge.local_partial == sympy.diff(expr, symbol_of(edge.source))
    expected_edges = sum(len(d.expr.free_symbols) for d in problem.definitions)
    assert len(graph.edges) == expected_edges


def test_partial_flag() -> None:
    """An edge is partial (∂) when its target has several direct inputs, else total (d)."""
    graph = graph_of(TWO_PATHS)
    assert graph.edge("x", "z").partial and graph.edge("y", "z").partial
    assert not graph.edge("t", "x").partial and not graph.edge("t", "y").partial


def test_edge_lookup_and_neighbours() -> None:
    """edge(), inputs_of() and consumers_of() agree; a missing edge is a KeyError."""
    graph = graph_of(TWO_PATHS)
    assert graph.edge("t", "x").local_partial == -sympy.sin(make_symbol("t"))
    assert {e.source for e in graph.inputs_of("z")} == {"x", "y"}
    assert {e.target for e in graph.consumers_of("t")} == {"x", "y"}
    assert graph.consumers_of("z") == () and graph.inputs_of("t") == ()
    with pytest.raises(KeyError):
        graph.edge("t", "z")
    assert graph.by_name["x"].expr == sympy.cos(make_symbol("t"))


@pytest.mark.parametrize("text", [TWO_PATHS, SHARED, "sin(x^2)", "z = a*a2; a = x; a2 = x*a"])
def test_path_count_equals_enumerated_paths(text: str) -> None:
    """path_count (dynamic programming) equals the number of enumerated paths for every node."""
    graph = graph_of(text)
    for node in graph.nodes:
        paths = enumerate_paths(graph, node.name)
        assert graph.path_count(node.name) == len(paths)
        listed = graph.paths(node.name)
        assert listed is not None and sorted(listed) == sorted(paths)


def test_two_paths_listed() -> None:
    """The two-path problem has paths z → x → t and z → y → t."""
    graph = graph_of(TWO_PATHS)
    assert sorted(graph.paths("t") or ()) == [("z", "x", "t"), ("z", "y", "t")]
    assert graph.path_count("z") == 1


def test_diamonds_count_without_enumeration() -> None:
    """30 diamonds have 2^30 paths, counted at once; paths() beyond the limit is None."""
    graph = build_graph(diamonds(30))
    started = time.thread_time()  # CPU time: a busy machine must not fail the test
    assert graph.path_count("x") == 2**30
    assert graph.paths("x") is None
    assert time.thread_time() - started < 1.0
    assert graph.path_count("a29") == 2


def test_paths_limit_is_inclusive() -> None:
    """paths(limit) lists up to limit paths and returns None beyond: 4 diamonds = 16 paths."""
    graph = build_graph(diamonds(4))
    assert PATH_LIMIT == 16
    listed = graph.paths("x")
    assert listed is not None and len(set(listed)) == 16
    assert all(path[0] == "a4" and path[-1] == "x" for path in listed)
    assert graph.paths("x", limit=15) is None
    assert graph.paths("x", limit=100) == listed


def test_layers() -> None:
    """Layer 0 holds inputs, each other node is one above its deepest input."""
    graph = graph_of("z = a + t; a = sin(t)")
    assert graph.layers == {"t": 0, "a": 1, "z": 2}
    graph = graph_of(TWO_PATHS)
    assert graph.layers == {"t": 0, "x": 1, "y": 1, "z": 2}
    assert list(graph.iter_layers()) == [(0, ("t",)), (1, ("x", "y")), (2, ("z",))]


def test_depends_on() -> None:
    """depends_on(name) is name and every node it is computed from."""
    graph = graph_of(SHARED)
    assert graph.depends_on("q") == {"q", "t"}
    assert graph.depends_on("b") == {"b", "p", "q", "t"}
    assert graph.depends_on("z") == {node.name for node in graph.nodes}
    assert graph.depends_on("t") == {"t"}


def test_local_partials_are_differentiated_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a graph forms no derivative; an edge's local partial is sympy's derivative of
    its definition, formed on first use."""
    import chainsolve.graph

    calls: list[sympy.Expr] = []
    derivative = chainsolve.graph.derivative

    def counted(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
        calls.append(expr)
        return derivative(expr, var)

    monkeypatch.setattr(chainsolve.graph, "derivative", counted)
    graph = graph_of(TWO_PATHS)
    assert calls == []
    edge = graph.edge("x", "z")
    x, y = make_symbol("x"), make_symbol("y")
    assert edge.local_partial == 2 * x * y == sympy.diff(edge._definition, x)
    assert edge.local_partial == 2 * x * y
    assert len(calls) == 1


def test_a_constant_definition_is_not_an_input() -> None:
    """z = x*y; x = 3; y = sin(t): x (and c = 2x) are constants, no edges, and the answer is 3cos t."""
    from chainsolve.derivation import solve_problem
    from chainsolve.emitters import to_text

    problem = parse_problem("z = x*y + c; x = 3; y = sin(t); c = 2*x")
    graph = build_graph(problem)
    assert set(graph.constants) == {"x", "c"}
    assert all(e.source not in graph.constants for e in graph.edges)
    picture = to_text(graph)
    assert "layer 0 (inputs): t\n" in picture and "constants: x = 3, c = 2x" in picture
    solution = solve_problem(problem)
    t = make_symbol("t")
    flat = 3 * sympy.sin(t) + 6
    assert sympy.simplify(solution.derivatives["t"] - sympy.diff(flat, t)) == 0
    lines = [dict(s.words).get("dependencies", "") for s in solution.shared_steps]
    assert any("z depends on y (c, x are constants)" in line for line in lines)


def test_a_constant_gets_no_gradient_in_the_backward_pass() -> None:
    """At a point, a constant is a forward-pass row marked constant and has no backward row."""
    from chainsolve.evaluation import evaluate_at

    problem = parse_problem("z = x*y; x = 3; y = sin(t)")
    evaluation = evaluate_at(problem, build_graph(problem), {"t": sympy.Integer(1)})
    assert [r.operation for r in evaluation.forward_pass if r.node == "x"] == ["constant"]
    assert "x" not in [r.node for r in evaluation.backward_pass]
    assert [e.name for e in evaluation.gradient] == ["t"]


def deep_chain(depth: int) -> sympy.Expr:
    """sin, cos and exp nested ``depth`` deep around x (past the derivation's long-chain limit)."""
    expr: sympy.Expr = make_symbol("x")
    for level in range(depth):
        expr = (sympy.sin, sympy.cos, sympy.exp)[level % 3](expr)
    return expr


@pytest.mark.parametrize("depth", [12, 40])
def test_long_chain_at_a_point_has_one_node_per_link(depth: int) -> None:
    """--at on a long chain evaluates on the derivation's intermediates: one small local partial per link."""
    problem = build_problem([Definition("y", deep_chain(depth))], source="")
    graph = evaluation_graph(solve_problem(problem))
    assert len(graph.nodes) == depth + 1
    assert all(sympy.count_ops(edge.local_partial) <= 3 for edge in graph.edges)
    assert _flatten(graph, "y") == problem.definitions[0].expr


@pytest.mark.parametrize(
    "text",
    [
        "sin(cos(tan(sin(cos(tan(sin(cos(exp(x^2+1)))))))))",
        "exp(sin(x)) + sin(x)^2",
        "sin(cos(exp(sin(cos(exp(sin(cos(exp(x^2 + sin(x)*x)))))))))",
        "exp(sin(cos(exp(sin(cos(exp(sin(cos(x*exp(-x) + 1)))))))))",
        "tanh(sin(cos(exp(sin(cos(exp(sin(cos(sqrt(x^2 + 1) - x)))))))))^2",
    ],
)
def test_evaluation_graph_flattens_back_to_the_problem(text: str) -> None:
    """The graph a point is evaluated on substitutes back to exactly the expression typed."""
    problem = parse_problem(text)
    graph = evaluation_graph(solve_problem(problem))
    assert evaluate_typed(_flatten(graph, graph.target)) == problem.definitions[0].expr
    if text.count("(") > 9:  # a long chain: its links are nodes, each a small definition
        assert len(graph.nodes) > 9
        assert all(sympy.count_ops(node.expr) <= 6 for node in graph.nodes if node.expr is not None)


def test_long_chain_gradient_at_a_point_equals_sympy_diff() -> None:
    """The gradient of a long chain at x = 1/3 equals sympy.diff of the whole expression there."""
    text = "sin(cos(exp(sin(cos(exp(sin(cos(exp(sin(x))))))))))"
    solution = solve_parsed(load_problem(text, at="x=1/3"))
    assert solution.evaluation is not None
    (entry,) = solution.evaluation.gradient
    x = make_symbol("x")
    expected = sympy.diff(parse_problem(text).definitions[0].expr, x).subs(x, sympy.Rational(1, 3))
    assert abs(entry.value.decimal - expected.evalf(30)) < 1e-12
    assert solution.evaluation.verified


def test_short_expression_at_a_point_stays_one_node() -> None:
    """An expression whose derivation is written in the inputs keeps its single-node graph."""
    solution = solve_parsed(load_problem("sin(x^2)", at="x=1"))
    assert [node.name for node in evaluation_graph(solution).nodes] == ["x", "y"]
