"""Tests for chainsolve.layout: layered coordinates of the graph and the textbook tree diagram."""

from __future__ import annotations

import itertools
import time

import pytest
import sympy
from graphs import abstract, t, three_level, two_path, x

from chainsolve.graph import Edge, Graph, Node, build_graph
from chainsolve.layout import layout, tree
from chainsolve.problem import Definition, build_problem, make_symbol


def diamond_chain(stages: int, width: int) -> Graph:
    """``stages`` diamonds in a row: x_k fans out to ``width`` arms that x_{k+1} sums.

    Built as a :class:`Graph` directly (local partials are placeholders) so that the test
    times the layout, not sympy.
    """
    nodes = [Node("x0", "input")]
    edges = []
    one = sympy.S.One
    for stage in range(1, stages + 1):
        arms = [f"a{stage}_{arm}" for arm in range(width)]
        nodes.extend(Node(arm, "intermediate") for arm in arms)
        edges.extend(Edge(f"x{stage - 1}", arm, one) for arm in arms)
        kind = "target" if stage == stages else "intermediate"
        nodes.append(Node(f"x{stage}", kind))
        edges.extend(Edge(arm, f"x{stage}", one, partial=True) for arm in arms)
    return Graph(tuple(nodes), tuple(edges), f"x{stages}")


def test_two_path_layers_put_target_on_top_and_input_at_bottom() -> None:
    """The target is alone on the top layer, the input on layer 0, x and y side by side."""
    drawing = layout(two_path())
    assert drawing.positions["t"] == (0.0, 0.0)
    assert drawing.positions["z"] == (0.0, 2.0)
    assert {drawing.positions["x"], drawing.positions["y"]} == {(-0.5, 1.0), (0.5, 1.0)}
    assert drawing.layers == (("t",), ("x", "y"), ("z",))
    assert drawing.crossings == 0


def test_every_edge_points_upwards() -> None:
    """Data flows up the picture: each edge's target is on a higher layer than its source."""
    graph = three_level()
    drawing = layout(graph)
    for edge in graph.edges:
        assert drawing.positions[edge.target][1] > drawing.positions[edge.source][1]


def test_three_level_graph_has_only_its_unavoidable_crossing() -> None:
    """p and q both use u and v (a K2,2), which has exactly one crossing in any order."""
    assert layout(three_level()).crossings == 1


def test_barycenter_sweeps_untangle_a_crossed_start() -> None:
    """A layer listed against its neighbours' order is reordered until nothing crosses."""
    one = sympy.S.One
    graph = Graph(
        (
            Node("a", "input"),
            Node("b", "input"),
            Node("q", "intermediate"),
            Node("p", "intermediate"),
            Node("z", "target"),
        ),
        (
            Edge("a", "p", one),
            Edge("b", "q", one),
            Edge("p", "z", one, partial=True),
            Edge("q", "z", one, partial=True),
        ),
        "z",
    )
    drawing = layout(graph)
    assert drawing.crossings == 0
    left_to_right = sorted("ab", key=lambda name: drawing.positions[name][0])
    above = sorted("pq", key=lambda name: drawing.positions[name][0])
    assert [{"a": "p", "b": "q"}[name] for name in left_to_right] == above


def test_long_edge_bends_beside_the_node_it_skips() -> None:
    """z = x*t with x = sin(t): the edge t → z bends around x instead of crossing it."""
    graph = build_graph(
        build_problem([Definition("z", x * t), Definition("x", sympy.sin(t))], source="")
    )
    drawing = layout(graph)
    (bend,) = drawing.bends[("t", "z")]
    assert bend[1] == drawing.positions["x"][1]
    assert bend[0] != drawing.positions["x"][0]
    assert drawing.width == 2


def test_forty_diamonds_of_two_thousand_nodes_lay_out_fast_without_crossings() -> None:
    """A chain of 40 diamonds 50 arms wide (2041 nodes, 4000 edges) is laid out well under 1 s."""
    graph = diamond_chain(40, 50)
    assert len(graph.nodes) == 2041
    start = time.thread_time()  # CPU time: a busy machine must not fail the test
    drawing = layout(graph)
    elapsed = time.thread_time() - start
    print(f"layout of {len(graph.nodes)} nodes: {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0
    assert drawing.crossings == 0
    assert len(set(drawing.positions.values())) == len(graph.nodes)


def test_diamond_chain_built_from_definitions_has_no_crossings() -> None:
    """40 two-armed diamonds from real definitions (sympy partials) lay out without crossings."""
    definitions = []
    for stage in range(40, 0, -1):
        below = make_symbol(f"x{stage - 1}")
        left, right = make_symbol(f"l{stage}"), make_symbol(f"r{stage}")
        definitions += [
            Definition(f"x{stage}", left * right),
            Definition(left.name, sympy.sin(below)),
            Definition(right.name, sympy.cos(below)),
        ]
    drawing = layout(build_graph(build_problem(definitions, source="")))
    assert drawing.crossings == 0
    assert drawing.positions["x40"] == (0.0, 80.0)


def test_tree_repeats_a_shared_variable_under_each_parent() -> None:
    """The textbook tree of z(x(t), y(t)) shows t twice, once under x and once under y."""
    diagram = tree(two_path())
    assert [node.name for node in diagram.nodes] == ["z", "x", "y", "t", "t"]
    under = {diagram.nodes[node.parent].name for node in diagram.nodes[3:] if node.parent}
    assert under == {"x", "y"}
    assert diagram.nodes[3].edge == two_path().edge("t", "x")
    assert not diagram.truncated
    assert diagram.full_size == 5


def test_tree_centres_each_parent_over_its_children() -> None:
    """Leaves are one unit apart and every parent sits midway over its outer children."""
    diagram = tree(three_level())
    assert len(diagram.nodes) == 1 + 2 + 4 + 4
    for node in diagram.nodes:
        children = diagram.children(node.id)
        if children:
            assert node.x == (children[0].x + children[-1].x) / 2
            assert all(child.y == node.y - 1 for child in children)
    leaves = sorted(node.x for node in diagram.nodes if not diagram.children(node.id))
    assert [b - a for a, b in itertools.pairwise(leaves)] == [1.0] * (len(leaves) - 1)
    assert diagram.nodes[0].x == 0


def test_tree_of_a_huge_graph_stops_at_whole_levels_and_says_so() -> None:
    """The tree of 40 wide diamonds is astronomically big: it is cut to complete levels."""
    graph = diamond_chain(40, 50)
    diagram = tree(graph, max_nodes=200)
    assert diagram.truncated
    assert len(diagram.nodes) == 101  # root, 50 arms, 50 copies of x39; the next level is 2500
    assert diagram.full_size == sum(graph.path_count(node.name) for node in graph.nodes)
    assert diagram.full_size > 10**60
    deepest = max(node.depth for node in diagram.nodes)
    assert all(node.elided for node in diagram.nodes if node.depth == deepest)
    assert not any(node.elided for node in diagram.nodes if node.depth < deepest)


def test_tree_with_room_for_the_root_only() -> None:
    """max_nodes=1 keeps the root, marked as having inputs left out; 0 is refused."""
    diagram = tree(two_path(), max_nodes=1)
    assert [(node.name, node.elided) for node in diagram.nodes] == [("z", True)]
    assert diagram.truncated
    with pytest.raises(ValueError):
        tree(two_path(), max_nodes=0)


def test_tree_of_abstract_functions_labels_branches_with_their_partials() -> None:
    """z = f(x, y): the branches under z carry ∂f/∂x and ∂f/∂y as unevaluated derivatives."""
    diagram = tree(abstract())
    z_branches = [node.edge for node in diagram.children(0)]
    assert all(edge is not None and edge.partial for edge in z_branches)
    assert all(edge is not None and edge.local_partial.has(sympy.Derivative) for edge in z_branches)
