"""Tests for chainsolve.evaluation: forward and backward passes, gradients, checks, gates."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import mpmath
import pytest
import sympy

from chainsolve.decompose import elementary_problem
from chainsolve.errors import ProblemError
from chainsolve.evaluation import Evaluation, evaluate_at, evaluation_to_dict
from chainsolve.functions import relu, sigmoid
from chainsolve.graph import Graph, build_graph
from chainsolve.numeric import evaluate
from chainsolve.problem import Definition, Problem, build_problem, make_symbol
from chainsolve.render import make_environment
from chainsolve.wording import note_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "backprop"
S = make_symbol
I = sympy.Integer  # noqa: E741 - short for the many integer points below


def _build(
    definitions: list[Definition], point: dict[str, sympy.Expr], *, elementary: bool = True
) -> tuple[Problem, Graph]:
    problem = build_problem(definitions, source="", point=point)
    if elementary:
        problem = elementary_problem(problem)
    return problem, build_graph(problem)


def _flat(definitions: list[Definition]) -> sympy.Expr:
    """The target with every definition substituted: the reference sympy differentiates."""
    by_name = {d.name: d.expr for d in definitions}
    expr = definitions[0].expr
    while any(s.name in by_name for s in expr.free_symbols):
        expr = expr.xreplace({S(n): e for n, e in by_name.items()})
    return expr


def _hidden_layer() -> list[Definition]:
    z, y, w2, h, b2, a, w1, x, b1 = (
        S(n) for n in ["z", "y", "W2", "h", "b2", "a", "W1", "x", "b1"]
    )
    return [
        Definition("L", sympy.Rational(1, 2) * (z - y) ** 2),
        Definition("z", w2 * h + b2),
        Definition("h", sigmoid(a)),
        Definition("a", w1 * x + b1),
    ]


def _relu_network() -> list[Definition]:
    z, y, v1, h1, v2, h2, w1, x, c1, w2, c2 = (
        S(n) for n in ["z", "y", "v1", "h1", "v2", "h2", "w1", "x", "c1", "w2", "c2"]
    )
    return [
        Definition("L", (z - y) ** 2),
        Definition("z", v1 * h1 + v2 * h2),
        Definition("h1", relu(w1 * x + c1)),
        Definition("h2", relu(w2 * x + c2)),
    ]


def _sigmoid_network() -> list[Definition]:
    y, u, h1, h2, x1, x2 = (S(n) for n in ["y", "u", "h1", "h2", "x1", "x2"])
    return [
        Definition("L", (sigmoid(u) - y) ** 2),
        Definition("u", 2 * h1 - 3 * h2),
        Definition("h1", sigmoid(x1 + x2)),
        Definition("h2", sigmoid(x1 * x2)),
    ]


w, x, b, y, z = (S(n) for n in "wxbyz")
w0, x0, w1, x1, w2 = (S(n) for n in ["w0", "x0", "w1", "x1", "w2"])

#: (name, definitions, point): every problem is checked against sympy.diff of its flattening.
CASES: list[tuple[str, list[Definition], dict[str, sympy.Expr]]] = [
    (
        "linear",
        [Definition("L", (w * x + b - y) ** 2)],
        {"w": I(2), "x": I(3), "b": I(1), "y": I(10)},
    ),
    (
        "sigmoid_neuron",
        [Definition("L", (sigmoid(w * x + b) - y) ** 2)],
        {"w": I(2), "x": I(-1), "b": I(1), "y": I(1)},
    ),
    (
        "hidden_layer",
        _hidden_layer(),
        {"W1": sympy.Rational(1, 2), "x": I(1), "b1": I(0), "W2": I(2), "b2": I(0), "y": I(1)},
    ),
    (
        "relu_network",
        _relu_network(),
        {
            "w1": I(1),
            "c1": I(-1),
            "w2": I(-1),
            "c2": I(3),
            "v1": I(3),
            "v2": I(2),
            "x": I(2),
            "y": I(1),
        },
    ),
    ("sigmoid_network", _sigmoid_network(), {"x1": I(1), "x2": I(-2), "y": I(0)}),
    ("classic", [Definition("f", (x + y) * z)], {"x": I(-2), "y": I(5), "z": I(-4)}),
    (
        "two_input_neuron",
        [Definition("f", 1 / (1 + sympy.exp(-(w0 * x0 + w1 * x1 + w2))))],
        {"w0": I(2), "x0": I(-1), "w1": I(-3), "x1": I(-2), "w2": I(-3)},
    ),
    (
        "chain_of_functions",
        [Definition("y", sympy.sin(x**2) * sympy.exp(sympy.cos(x)))],
        {"x": sympy.Float("0.7")},
    ),
    (
        "shared_input",
        [Definition("z", x**2 * y), Definition("x", sympy.cos(w)), Definition("y", sympy.exp(w))],
        {"w": sympy.Rational(1, 3)},
    ),
    (
        "quotient_and_log",
        [Definition("f", sympy.log(x**2 + 1) / (y + 2) - sympy.sqrt(x * y))],
        {"x": I(2), "y": I(8)},
    ),
    ("max_routes", [Definition("f", sympy.Max(x * y, x + y) ** 2)], {"x": I(3), "y": I(4)}),
    ("abs_value", [Definition("f", sympy.Abs(x - y) * z)], {"x": I(1), "y": I(4), "z": I(5)}),
    (
        "hyperbolic_and_inverse",
        [
            Definition(
                "L",
                sympy.sech(w * x)
                + sympy.csch(w) * sympy.coth(x)
                + sympy.asinh(w - x)
                + sympy.acosh(w * x)
                + sympy.atanh(w / x)
                + sympy.acot(w - x)
                + sympy.asec(w * x)
                - sympy.acsc(x),
            )
        ],
        {"w": sympy.Rational(1, 2), "x": I(3)},
    ),
]


def _reference(
    definitions: list[Definition], point: dict[str, sympy.Expr], name: str
) -> sympy.Expr:
    derivative = sympy.diff(_flat(definitions), S(name))
    return derivative.xreplace({S(k): v for k, v in point.items()})


@pytest.mark.parametrize("elementary", [True, False], ids=["elementary", "definitions"])
@pytest.mark.parametrize(("name", "definitions", "point"), CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_sympy_diff_of_the_flattened_expression(
    name: str, definitions: list[Definition], point: dict[str, sympy.Expr], elementary: bool
) -> None:
    """Every ∂target/∂input at the point equals sympy.diff of the flattened target there."""
    problem, graph = _build(definitions, point, elementary=elementary)
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.verified
    assert {e.name for e in evaluation.gradient} == set(problem.inputs)
    for entry in evaluation.gradient:
        reference = _reference(definitions, point, entry.name)
        if entry.value.rational:
            assert entry.value.exact == reference, entry.name
        assert abs(float(entry.value.decimal) - float(sympy.N(reference, 30))) <= 1e-12 * max(
            1.0, abs(float(sympy.N(reference)))
        ), entry.name


@pytest.mark.parametrize(("name", "definitions", "point"), CASES, ids=[c[0] for c in CASES])
def test_forward_mode_and_reverse_mode_agree(
    name: str, definitions: list[Definition], point: dict[str, sympy.Expr]
) -> None:
    """Tangent passes (one per input) give the same gradient as the single backward pass."""
    problem, graph = _build(definitions, point)
    reverse = evaluate_at(problem, graph, None, mode="reverse")
    forward = evaluate_at(problem, graph, None, mode="forward")
    assert forward.backward_pass == () and len(forward.tangent_passes) == len(problem.wrt)
    for r, f in zip(reverse.gradient, forward.gradient, strict=True):
        assert r.name == f.name
        assert r.value.decimal == f.value.decimal
        if r.value.rational:
            assert r.value.exact == f.value.exact
    edges = len(graph.edges)
    assert reverse.multiply_adds == edges
    assert forward.multiply_adds == len(problem.wrt) * edges


def test_linear_model_matches_the_seed_numbers() -> None:
    """At w=2, x=3, b=1, y=10: L = 9, ∂L/∂w = −18, ∂L/∂b = −6, as the textbook computes."""
    problem, graph = _build(*CASES[0][1:])
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.value.exact == 9
    assert dict((k, v.exact) for k, v in evaluation.gradient_values.items()) == {
        "w": -18,
        "x": -12,
        "b": -6,
        "y": 6,
    }
    rows = {row.node: row for row in evaluation.forward_pass}
    assert [(rows[n].operation, rows[n].value.exact) for n in "pqrL"] == [
        ("·", 6),
        ("+", 7),
        ("−", -3),
        ("^2", 9),
    ]
    backward = {row.node: row for row in evaluation.backward_pass}
    assert evaluation.backward_pass[0].node == "L" and evaluation.backward_pass[0].seed
    term = backward["r"].terms[0]
    assert (term.consumer, term.local_derivative, term.local_value.exact, term.upstream.exact) == (
        "L",
        2 * S("r"),
        -6,
        1,
    )


def test_exact_fractions_stay_fractions() -> None:
    """Integer and fraction inputs give exact sympy Rationals at every node, never decimals."""
    definitions = [Definition("L", (w * x + b - y) ** 2)]
    point = {
        "w": sympy.Rational(1, 2),
        "x": sympy.Rational(2, 3),
        "b": I(1),
        "y": sympy.Rational(7, 5),
    }
    problem, graph = _build(definitions, point)
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.exact
    assert all(v.rational for v in evaluation.values.values())
    assert evaluation.gradient_values["w"].exact == sympy.Rational(-4, 45)
    assert all(row.gradient.rational for row in evaluation.backward_pass)


def test_python_fractions_and_ints_are_accepted_as_exact_points() -> None:
    """A point given as int and Fraction is exact too (no text goes through sympify)."""
    problem, graph = _build([Definition("f", x * y)], {"x": I(1), "y": I(1)})
    evaluation = evaluate_at(problem, graph, {"x": Fraction(1, 3), "y": 6})
    assert evaluation.value.exact == 2


def test_decimal_inputs_and_numeric_mode_give_decimals() -> None:
    """A Float input makes every value a decimal; numeric=True does so for exact inputs too."""
    problem, graph = _build([Definition("f", x**2 * y)], {"x": sympy.Float("0.5"), "y": I(3)})
    decimal = evaluate_at(problem, graph, None)
    assert not decimal.exact and decimal.value.exact is None
    assert float(decimal.value.decimal) == 0.75
    exact_problem, exact_graph = _build([Definition("f", x**2 * y)], {"x": I(2), "y": I(3)})
    numeric = evaluate_at(exact_problem, exact_graph, None, numeric=True)
    assert numeric.value.exact is None and float(numeric.value.decimal) == 12.0
    assert any("numeric" in note for note in map(note_text, numeric.notes))
    # Notes are data, their sentences in wording: the kind and the values, no text.
    assert [note.kind for note in decimal.notes] == ["decimal_inputs"]
    assert [note.kind for note in numeric.notes] == ["numeric_mode"]


def test_exact_values_past_200_digits_fall_back_to_decimals_and_say_so() -> None:
    """x^300 at x = 7 would have 254 digits: it is shown as a decimal with a note."""
    problem, graph = _build([Definition("f", (x**300 + 1) * 2)], {"x": I(7)})
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.value.exact is None
    assert evaluation.values["x"].exact == 7
    assert any("200 digits" in note for note in map(note_text, evaluation.notes))
    assert evaluation.verified


def test_relu_at_its_kink_uses_the_pytorch_convention() -> None:
    """relu′(0) = 0: the gradient is blocked at the kink and the convention is stated."""
    problem, graph = _build([Definition("f", relu(w * x + b))], {"w": I(2), "x": I(3), "b": I(-6)})
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.gradient_values["w"].exact == 0
    (kink,) = evaluation.kinks
    assert (
        kink.operation == "relu"
        and "relu′(0) = 0" in kink.convention
        and "PyTorch" in kink.convention
    )
    checks = {c.method: c.status for c in evaluation.gradient[0].checks}
    assert checks["finite_difference"] == "skipped"
    assert evaluation.verified


def test_abs_at_its_kink_uses_sign_zero() -> None:
    """|u|′ at u = 0 is sign(0) = 0, and the convention is stated."""
    problem, graph = _build(
        [Definition("f", sympy.Abs(x - y) * z)], {"x": I(2), "y": I(2), "z": I(5)}
    )
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.gradient_values["x"].exact == 0
    assert [k.operation for k in evaluation.kinks] == ["abs"]
    assert "sign(0) = 0" in evaluation.kinks[0].convention


def test_missing_point_values_are_named() -> None:
    """An input without a value raises ProblemError missing_point_value naming every such input."""
    problem, graph = _build(
        [Definition("L", (w * x + b - y) ** 2)], {"w": I(1), "x": I(1), "b": I(1), "y": I(1)}
    )
    with pytest.raises(ProblemError) as error:
        evaluate_at(problem, graph, {"w": I(2), "x": I(3)})
    assert error.value.code == "missing_point_value"
    assert "b" in error.value.message and "y" in error.value.message


def test_a_point_outside_the_domain_is_a_problem_error() -> None:
    """log(x) at x = −1 has no real value: undefined_at_point, naming the node."""
    problem, graph = _build([Definition("f", sympy.log(x) * y)], {"x": I(-1), "y": I(1)})
    with pytest.raises(ProblemError) as error:
        evaluate_at(problem, graph, None)
    assert error.value.code == "undefined_at_point"


def test_gate_patterns_are_named() -> None:
    """The five gate patterns are met and named as the textbook names them."""
    expr = sympy.Max(relu(w * x + b), sigmoid(x) - y)
    problem, graph = _build([Definition("f", expr)], {"w": I(2), "x": I(1), "b": I(-5), "y": I(0)})
    evaluation = evaluate_at(problem, graph, None)
    titles = {g.kind: g.title for g in evaluation.gate_patterns}
    assert titles == {
        "add": "add distributes the gradient",
        "multiply": "multiply swaps and scales",
        "relu": "relu gates",
        "max": "max routes",
        "sigmoid": "sigmoid multiplies by σ(1 − σ)",
    }
    relu_gate = next(g for g in evaluation.gate_patterns if g.kind == "relu")
    assert "closed" in relu_gate.explanation


def test_costs_compare_forward_and_reverse_mode() -> None:
    """Forward mode needs #inputs passes × #edges multiply-adds, reverse mode 1 pass × #edges."""
    problem, graph = _build(_relu_network(), dict(CASES[3][2]))
    evaluation = evaluate_at(problem, graph, None)
    forward, reverse = evaluation.costs
    edges = len(graph.edges)
    assert (forward.mode, forward.passes, forward.multiply_adds) == ("forward", 8, 8 * edges)
    assert (reverse.mode, reverse.passes, reverse.multiply_adds) == ("reverse", 1, edges)


def _diamonds(count: int) -> list[Definition]:
    definitions = []
    for i in range(count, 0, -1):
        previous = S(f"x_{i - 1}")
        definitions.append(Definition(f"x_{i}", S(f"a_{i}") * S(f"b_{i}")))
        definitions.append(Definition(f"a_{i}", sympy.sin(previous)))
        definitions.append(Definition(f"b_{i}", sympy.cos(previous) + 2))
    return definitions


def test_forty_diamonds_take_one_multiply_add_per_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """2^40 paths, yet the gradient costs exactly #edges multiply-adds and no path is enumerated."""

    def no_paths(*args: object, **kwargs: object) -> None:
        raise AssertionError("paths must not be enumerated")

    monkeypatch.setattr(Graph, "paths", no_paths)
    problem = build_problem(_diamonds(40), source="", point={"x_0": sympy.Float("0.4")})
    graph = build_graph(problem)
    assert graph.path_count("x_0") == 2**40
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.multiply_adds == len(graph.edges) == 160
    (entry,) = evaluation.gradient
    assert entry.symbolic is None  # too large to flatten: checked by graphcheck's reverse pass
    assert [c.method for c in entry.checks] == ["reverse_reference", "finite_difference"]
    assert evaluation.verified
    forward = evaluate_at(problem, graph, None, mode="forward")
    assert forward.gradient[0].value.decimal == entry.value.decimal


def test_json_data_has_the_keys_the_cli_reads() -> None:
    """evaluation_to_dict has values, gradient, forward_pass, backward_pass; JSON-ready."""
    problem, graph = _build(*CASES[0][1:])
    data = evaluation_to_dict(evaluate_at(problem, graph, None))
    assert {"values", "gradient", "forward_pass", "backward_pass"} <= set(data)
    assert data["gradient"]["w"] == {"exact": "-18", "decimal": "-18.0"}
    json.dumps(data)


@pytest.mark.parametrize(
    ("fmt", "template"),
    [
        ("text", "evaluation.txt.jinja"),
        ("markdown", "evaluation.md.jinja"),
        ("latex", "evaluation.tex.jinja"),
        ("html", "evaluation.html.jinja"),
    ],
)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_partials_render_from_the_evaluation_alone(fmt: str, template: str, mode: str) -> None:
    """Each format's partial renders from the single context variable `evaluation`."""
    point = {
        "w1": I(1),
        "c1": I(-1),
        "w2": I(-1),
        "c2": I(1),
        "v1": I(3),
        "v2": I(2),
        "x": I(2),
        "y": I(1),
    }
    problem, graph = _build(_relu_network(), point)
    evaluation: Evaluation = evaluate_at(problem, graph, None, mode=mode)  # type: ignore[arg-type]
    text = make_environment(fmt).get_template(template).render(evaluation=evaluation)
    assert "relu gates" in text
    assert "kinks" not in text.lower() or evaluation.kinks


def _load_examples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("backprop_examples", EXAMPLES / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class body runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_examples = _load_examples()


@pytest.mark.parametrize("example", _examples.EXAMPLES, ids=lambda e: e.name)
def test_backprop_examples_match_their_golden_files(example: object) -> None:
    """examples/backprop/<name>.txt is exactly what chainsolve renders for <name>.cmd."""
    name: str = example.name  # type: ignore[attr-defined]
    render: Callable[[object], str] = _examples.render
    files = {
        EXAMPLES / f"{name}.cmd": example.command_file(),  # type: ignore[attr-defined]
        EXAMPLES / f"{name}.txt": render(example),
    }
    for path, expected in files.items():
        if os.environ.get("CHAINSOLVE_UPDATE_GOLDEN"):
            path.write_text(expected, encoding="utf-8")
        stored = path.read_text(encoding="utf-8") if path.exists() else None
        assert stored == expected, (
            f"{path.name} is out of date; regenerate with "
            "CHAINSOLVE_UPDATE_GOLDEN=1 python -m pytest tests/test_evaluation.py -k golden "
            "(or python examples/backprop/regenerate.py)"
        )


@pytest.mark.parametrize("example", _examples.EXAMPLES, ids=lambda e: e.name)
def test_backprop_example_text_parses_to_the_same_definitions(example: object) -> None:
    """The parser reads each example's problem text back to the definitions built in Python."""
    parsing = pytest.importorskip("chainsolve.parsing")
    point = _examples.parse_point(example.at)  # type: ignore[attr-defined]
    parsed = parsing.parse_problem(example.text, wrt=None, point=point)  # type: ignore[attr-defined]
    built = build_problem(example.build(), source="", point=point)  # type: ignore[attr-defined]
    assert [(d.name, d.expr) for d in parsed.definitions] == [
        (d.name, d.expr) for d in built.definitions
    ]


def test_finite_difference_is_skipped_where_the_point_cannot_resolve_a_step() -> None:
    """Bug: at x = 10^1000, x + h == x, so the finite difference said 0 and marked dy/dx = 1 ✗."""
    x = S("x")
    problem, graph = _build([Definition("y", x)], {"x": I(10) ** 1000}, elementary=False)
    evaluation = evaluate_at(problem, graph)
    checks = {c.method: c.status for c in evaluation.gradient[0].checks}
    assert checks["finite_difference"] == "skipped"
    assert "failed" not in checks.values()


def test_values_at_a_point_are_computed_with_the_digits_they_need() -> None:
    """Bug: sin(eˣ) at x = 100 showed ∂y/∂x ≈ 1.76·10⁴³ with a ✓, for 2.66·10⁴³: at 40 digits
    e¹⁰⁰ keeps too few digits of its angle, and the reference, evaluated alike, agreed. The
    precision is raised until the next one confirms the values (80 here), and a note says so;
    the value matches sympy's derivative at 200 digits, and the finite difference agrees."""
    x = S("x")
    problem, graph = _build([Definition("y", sympy.sin(sympy.exp(x)))], {"x": I(100)})
    evaluation = evaluate_at(problem, graph)
    (entry,) = evaluation.gradient
    truth = sympy.N(sympy.exp(100) * sympy.cos(sympy.exp(100)), 200)
    assert abs(entry.value.decimal - truth) < sympy.Float("1e-10") * abs(truth)
    assert {c.status for c in entry.checks} == {"passed"}
    assert [n.kind for n in evaluation.notes if n.kind == "working_digits"] == ["working_digits"]
    assert "80 significant digits" in note_text(
        next(n for n in evaluation.notes if n.kind == "working_digits")
    )


def test_values_that_need_no_more_digits_keep_the_usual_precision() -> None:
    """The hidden layer at its seed point: no note, the usual 40 digits."""
    problem, graph = _build(
        _hidden_layer(), {"x": I(1), "y": I(0), "W1": I(1), "b1": I(0), "W2": I(1), "b2": I(0)}
    )
    evaluation = evaluate_at(problem, graph)
    assert not any(n.kind == "working_digits" for n in evaluation.notes)


def test_point_value_too_large_to_evaluate_is_refused() -> None:
    """Bug: --at x=e^e^e^e ended in 'internal error: Undefined'; now a ProblemError names x."""
    x = S("x")
    huge = sympy.Pow(sympy.E, sympy.Pow(sympy.E, sympy.Pow(sympy.E, sympy.E, evaluate=False)))
    problem, graph = _build([Definition("y", sympy.sin(x))], {"x": huge}, elementary=False)
    with pytest.raises(ProblemError, match="value of x at the point"):
        evaluate_at(problem, graph)


def test_arccot_at_its_jump_states_the_convention() -> None:
    """arccot jumps at 0 (sympy's branch): its kink convention, from the registry, is stated there."""
    problem, graph = _build([Definition("f", sympy.acot(x - y))], {"x": I(2), "y": I(2)})
    evaluation = evaluate_at(problem, graph, None)
    assert evaluation.gradient_values["x"].exact == -1
    assert [k.operation for k in evaluation.kinks] == ["acot"]
    assert "jumps" in evaluation.kinks[0].convention


def _backprop_output(fmt: str) -> str:
    from click.testing import CliRunner

    from chainsolve.cli import main

    args = ["solve", "L = (sigmoid(w*x + b) - y)^2", "--at", "w=0.5,x=1.5,b=0.1,y=1"]
    result = CliRunner().invoke(main, [*args, "--graph", "elementary", "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("fmt", "definition", "row"),
    [
        ("text", "s̄ means ∂L/∂s", "s̄ = L̄ · dL/ds"),
        ("markdown", "s̄ means ∂L/∂s", "| s̄ | L |"),
        (
            "latex",
            r"$\bar{s}$ means $\frac{\partial L}{\partial s}$",
            r"\bar{s} &= \bar{L} \cdot \frac{dL}{ds}",
        ),
        ("html", "<mover><mi>s</mi>", "<mover><mi>L</mi><mo stretchy"),
    ],
)
def test_backward_pass_writes_adjoints_not_circular_partials(
    fmt: str, definition: str, row: str
) -> None:
    """The backward pass names adjoints s̄ (defined once as ∂L/∂s), never ∂L/∂s = ∂L/∂L · ∂L/∂s."""
    output = _backprop_output(fmt)
    assert definition in output and row in output
    assert output.count(" means ") == 1
    for circular in (
        "∂L/∂L",
        r"\frac{\partial L}{\partial L}",
        '<mi>L</mi></mrow><mrow><mi mathvariant="normal">∂</mi><mi>L</mi>',
    ):
        assert circular not in output


def test_passes_write_local_derivatives_as_the_graph_labels_them() -> None:
    """A local derivative is d or ∂ in the passes exactly as on the graph's edge (dL/ds, ∂s/∂r)."""
    from chainsolve.emitters import to_text
    from chainsolve.parsing import parse_problem

    output = _backprop_output("text")
    problem = elementary_problem(parse_problem("L = (sigmoid(w*x + b) - y)^2", wrt=["w"]))
    graph = build_graph(problem)
    picture = to_text(graph)
    for edge in graph.edges:
        d = "∂" if edge.partial else "d"
        local = f"{d}{edge.target}/{d}{edge.source}"
        assert local in picture and f"· {local} =" in output


def test_a_deep_chain_is_checked_against_the_flattened_problems_derivative() -> None:
    """A composition 12 layers deep is checked at --at against the flattened problem's derivative."""
    x = make_symbol("x")
    expr: sympy.Expr = x
    for level in range(12):
        expr = (sympy.sin, sympy.cos, sympy.exp)[level % 3](expr)
    problem, graph = _build([Definition("y", expr)], {"x": sympy.Rational(3, 10)})
    assert graph.layers[graph.target] > 8
    evaluation = evaluate_at(problem, graph, None)
    (entry,) = evaluation.gradient
    assert entry.symbolic is not None
    assert entry.checks[0].method in ("symbolic", "exact")
    assert entry.checks[0].status == "passed" and evaluation.verified
    point = {x: mpmath.mpf("0.3")}
    with mpmath.workdps(40):
        assert abs(evaluate(entry.symbolic, point) - evaluate(sympy.diff(expr, x), point)) < 1e-30


def test_a_text_evaluation_does_not_load_the_json_writer() -> None:
    """solve --at in text loads no jsonout (its schema machinery); JSON output still writes values."""
    from tests.fresh import loads_module

    script = (
        "from chainsolve import api, render\n"
        "solution = api.solve('z = x^2 + y^3', at='x=2,y=3')\n"
        "assert 'Backward pass' in render.render_solution(solution, 'text')\n"
    )
    assert not loads_module(script, "chainsolve.jsonout")
    problem = build_problem([Definition("z", make_symbol("x") ** 2)], source="", wrt=["x"])
    data = evaluation_to_dict(evaluate_at(problem, build_graph(problem), {"x": 3}))
    assert data["gradient"]["x"]["exact"] == "6"
