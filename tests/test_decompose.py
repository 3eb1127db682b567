"""Tests for chainsolve.decompose: definitions broken into one node per elementary operation."""

from __future__ import annotations

import sympy

from chainsolve.decompose import elementary_problem, operation_of
from chainsolve.derivation import _flatten
from chainsolve.functions import relu, sigmoid
from chainsolve.graph import build_graph
from chainsolve.parsing import parse_problem
from chainsolve.problem import Definition, Problem, build_problem, make_symbol


def _problem(*definitions: Definition, wrt: list[str] | None = None) -> Problem:
    return build_problem(list(definitions), source="", wrt=wrt)


def _nodes(problem: Problem) -> list[tuple[str, str, str]]:
    graph = build_graph(elementary_problem(problem))
    return [(n.name, str(n.expr), operation_of(n.expr)) for n in graph.nodes if n.expr is not None]


W, X, B, Y, Z = (make_symbol(n) for n in ("w", "x", "b", "y", "z"))


def test_linear_model_loss_is_drawn_as_the_seed_draws_it() -> None:
    """(w·x + b − y)² becomes p = w·x, q = p + b, r = q − y, L = r², one node per operation."""
    problem = _problem(Definition("L", (W * X + B - Y) ** 2), wrt=["w"])
    assert _nodes(problem) == [
        ("p", "w*x", "·"),
        ("q", "b + p", "+"),
        ("r", "q - y", "−"),
        ("L", "r**2", "^2"),
    ]


def test_user_names_are_kept_and_only_right_hand_sides_are_broken_down() -> None:
    """The one-hidden-layer network keeps a, h, z, L and inserts binary nodes between them."""
    z, y, w2, h, b2, a, w1, x, b1 = (
        make_symbol(n) for n in ["z", "y", "W2", "h", "b2", "a", "W1", "x", "b1"]
    )
    problem = _problem(
        Definition("L", sympy.Rational(1, 2) * (z - y) ** 2),
        Definition("z", w2 * h + b2),
        Definition("h", sigmoid(a)),
        Definition("a", w1 * x + b1),
        wrt=["W1"],
    )
    elementary = elementary_problem(problem)
    assert elementary.target == "L"
    assert elementary.inputs == problem.inputs
    names = [name for name, _, _ in _nodes(problem)]
    assert {"a", "h", "z", "L"} <= set(names)
    assert dict((n, op) for n, _, op in _nodes(problem))["h"] == "σ"


def test_generated_names_never_clash_with_user_names_or_constants() -> None:
    """With the user already using p, q and r, generated names skip them (and e, pi)."""
    p, q, r = (make_symbol(n) for n in "pqr")
    problem = _problem(Definition("f", sympy.sin(p * q) + r * sympy.exp(p)), wrt=["p"])
    generated = {name for name, _, _ in _nodes(problem)} - {"f"}
    assert generated.isdisjoint({"p", "q", "r", "e", "pi", "f"})


def test_every_node_is_one_elementary_operation() -> None:
    """After decomposition no node is labelled 'definition' (a compound right-hand side)."""
    expr = -X * Y + 2 / X - sympy.sin(X) * sympy.cos(X) + relu(X - 1) + sympy.Max(X, Y, Z)
    problem = _problem(Definition("f", expr), wrt=["x"])
    assert all(op != "definition" for _, _, op in _nodes(problem))


def test_decomposition_keeps_the_function_unchanged() -> None:
    """Substituting every generated node back gives the original expression."""
    cases = [
        (W * X + B - Y) ** 2,
        1 / (1 + sympy.exp(-(W * X + B))),
        sympy.sqrt(X**2 + Y**2) * sympy.log(X + 3) - X / Y,
        relu(W * X - B) * sigmoid(X) ** 3,
    ]
    for expr in cases:
        problem = _problem(Definition("f", expr), wrt=["x"])
        flattened = _flatten(build_graph(elementary_problem(problem)), "f")
        assert sympy.simplify(flattened - expr) == 0, expr


def test_shared_subexpressions_become_one_node() -> None:
    """sin(x) used twice is computed once: the graph is a DAG, as textbooks draw it."""
    problem = _problem(Definition("f", sympy.sin(X) * Y + sympy.sin(X)), wrt=["x"])
    sines = [name for name, expr, _ in _nodes(problem) if expr == "sin(x)"]
    assert len(sines) == 1


def test_classic_example_is_q_times_z() -> None:
    """(x + y)·z becomes p = x + y, f = p·z (the compound factor first, as CS231n draws it)."""
    problem = _problem(Definition("f", (X + Y) * Z), wrt=["x"])
    assert _nodes(problem) == [("p", "x + y", "+"), ("f", "p*z", "·")]


def test_operation_labels() -> None:
    """Operations are named as drawn: ·, +, −, /, neg, σ, relu, exp, ^2, √ and 'definition'."""
    a, b = make_symbol("a"), make_symbol("b")
    assert operation_of(a / b) == "/"
    assert operation_of(-a) == "neg"
    assert operation_of(sympy.sqrt(a)) == "√"
    assert operation_of(a**2) == "^2"
    assert operation_of(sympy.exp(a)) == "exp"
    assert operation_of(relu(a)) == "relu"
    assert operation_of(None) == "input"
    assert operation_of(sympy.sin(a * b)) == "definition"


def test_elementary_graph_follows_the_typed_definition() -> None:
    """exp(x)^3 is drawn as a cube of e^x (as typed), not as e^(3x) (sympy's rewrite)."""
    x, p = make_symbol("x"), make_symbol("p")
    elementary = elementary_problem(parse_problem("exp(x)^3"))
    drawn = {d.name: d.expr for d in elementary.definitions}
    assert drawn == {"y": p**3, "p": sympy.exp(x)}


def test_generated_sums_print_in_the_order_they_were_built() -> None:
    """q = p + b (the product w·x first, as typed), not sympy's b + p, in the rendered solution."""
    from chainsolve.api import solve
    from chainsolve.render import render_solution

    solution = solve("(w*x + b - y)^2 + cos(x)", wrt=["w"], graph="elementary")
    text = render_solution(solution, "text")
    assert "q = p + b" in text
    assert "r = q - y" in text
    typed = (W * X + B - Y) ** 2 + sympy.cos(X)
    flat = _flatten(build_graph(solution.problem), solution.problem.target)
    assert sympy.expand(flat - typed) == 0
    assert sympy.expand(solution.derivations[0].result - sympy.diff(typed, W)) == 0
