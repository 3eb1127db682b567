"""Regenerates the worked backpropagation examples: ``python examples/backprop/regenerate.py``.

Each example is stored as ``<name>.cmd``, the chainsolve command that shows it (``--at`` the
point, ``--graph elementary`` or the user's definitions, ``--mode``), and ``<name>.txt``: the
graph's definitions and the tables at the point, exactly as that command prints them
(``tests/test_examples.py`` checks both). The problems are also built here from Python
expressions, so that a test can check the parser reads each text back to the same definitions.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import sympy

from chainsolve.decompose import elementary_problem
from chainsolve.evaluation import Mode, evaluate_at
from chainsolve.filters import unicode_expr, unicode_name
from chainsolve.functions import relu, sigmoid
from chainsolve.graph import build_graph
from chainsolve.problem import Definition, Problem, build_problem, make_symbol

HERE = Path(__file__).resolve().parent


def _s(names: str) -> list[sympy.Symbol]:
    return [make_symbol(name) for name in names.split()]


def _linear() -> list[Definition]:
    w, x, b, y = _s("w x b y")
    return [Definition("L", (w * x + b - y) ** 2)]


def _sigmoid_neuron() -> list[Definition]:
    w, x, b, y = _s("w x b y")
    return [Definition("L", (sigmoid(w * x + b) - y) ** 2)]


def _hidden_layer() -> list[Definition]:
    z, y, w2, h, b2, a, w1, x, b1 = _s("z y W2 h b2 a W1 x b1")
    return [
        Definition("L", sympy.Rational(1, 2) * (z - y) ** 2),
        Definition("z", w2 * h + b2),
        Definition("h", sigmoid(a)),
        Definition("a", w1 * x + b1),
    ]


def _relu_network() -> list[Definition]:
    z, y, v1, h1, v2, h2, w1, x, c1, w2, c2 = _s("z y v1 h1 v2 h2 w1 x c1 w2 c2")
    return [
        Definition("L", (z - y) ** 2),
        Definition("z", v1 * h1 + v2 * h2),
        Definition("h1", relu(w1 * x + c1)),
        Definition("h2", relu(w2 * x + c2)),
    ]


def _classic() -> list[Definition]:
    x, y, z = _s("x y z")
    return [Definition("f", (x + y) * z)]


def _two_input_neuron() -> list[Definition]:
    w0, x0, w1, x1, w2 = _s("w0 x0 w1 x1 w2")
    # As typed, the minus sign is a gate of its own (CS231n's graph): sympy would fold it in.
    negated = sympy.Mul(-1, w0 * x0 + w1 * x1 + w2, evaluate=False)
    typed = 1 / (1 + sympy.exp(negated, evaluate=False))
    return [Definition("f", 1 / (1 + sympy.exp(-(w0 * x0 + w1 * x1 + w2))), typed=typed)]


@dataclass(frozen=True)
class Example:
    """One worked example: its text as a user types it, the point, and how to show it."""

    name: str
    text: str
    at: str
    build: Callable[[], list[Definition]]
    mode: Mode = "reverse"
    graph: str = "elementary"

    def command_file(self) -> str:
        """The ``.cmd`` line: the chainsolve arguments that print this example's tables."""
        args = ["solve", self.text, "--at", self.at.replace(" ", ""), "--graph", self.graph]
        if self.mode != "reverse":
            args += ["--mode", self.mode]
        return shlex.join(args) + "\n"


EXAMPLES = (
    Example("linear_model", "L = (w*x + b - y)^2", "w=2, x=3, b=1, y=10", _linear),
    Example(
        "sigmoid_neuron",
        "L = (sigmoid(w*x + b) - y)^2",
        "w=0.5, x=1.5, b=0.1, y=1",
        _sigmoid_neuron,
    ),
    Example(
        "hidden_layer",
        "L = 1/2*(z - y)^2; z = W2*h + b2; h = sigmoid(a); a = W1*x + b1",
        "W1=0.5, x=1, b1=0, W2=2, b2=0, y=1",
        _hidden_layer,
        graph="definitions",
    ),
    Example(
        "relu_network",
        "L = (z - y)^2; z = v1*h1 + v2*h2; h1 = relu(w1*x + c1); h2 = relu(w2*x + c2)",
        "w1=1, c1=-1, w2=-1, c2=1, v1=3, v2=2, x=2, y=1",
        _relu_network,
    ),
    Example("classic", "f = (x + y)*z", "x=-2, y=5, z=-4", _classic),
    Example("classic_forward", "f = (x + y)*z", "x=-2, y=5, z=-4", _classic, mode="forward"),
    Example(
        "two_input_neuron",
        "f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))",
        "w0=2, x0=-1, w1=-3, x1=-2, w2=-3",
        _two_input_neuron,
    ),
)


def parse_point(text: str) -> dict[str, sympy.Expr]:
    """``"w=2, x=1/2, y=0.5"`` as exact integers and fractions, decimals as sympy Floats."""
    point: dict[str, sympy.Expr] = {}
    for item in text.split(","):
        name, _, value = (part.strip() for part in item.partition("="))
        if any(c in value for c in ".eE"):
            point[name] = sympy.Float(value)
        else:
            fraction = Fraction(value)
            point[name] = sympy.Rational(fraction.numerator, fraction.denominator)
    return point


def problem_of(example: Example) -> Problem:
    """The example's problem (elementary operations unless it shows the user's definitions)."""
    problem = build_problem(example.build(), source=example.text, point=parse_point(example.at))
    return elementary_problem(problem) if example.graph == "elementary" else problem


def render(example: Example) -> str:
    """The text tables of an example: the graph's definitions, then the evaluation partial.

    Sums print in the order the command prints them (as typed, or as ``--graph elementary``
    built them).
    """
    from chainsolve.render import in_typed_order, make_environment

    problem = problem_of(example)
    graph = build_graph(problem)
    evaluation = evaluate_at(problem, graph, mode=example.mode)
    lines = [f"Problem: {example.text}", "", "Computational graph (evaluation order):"]
    template = make_environment("text").get_template("evaluation.txt.jinja")
    context: dict[str, Any] = {"evaluation": evaluation}
    with in_typed_order(problem):
        for node in graph.nodes:
            if node.expr is not None:
                lines.append(f"  {unicode_name(node.name)} = {unicode_expr(node.expr)}")
        return "\n".join(lines) + "\n" + template.render(context)



def main(argv: list[str]) -> int:
    """Write every example's ``.cmd`` and ``.txt`` next to this script."""
    for example in EXAMPLES:
        (HERE / f"{example.name}.cmd").write_text(example.command_file(), encoding="utf-8")
        (HERE / f"{example.name}.txt").write_text(render(example), encoding="utf-8")
        print(f"wrote {example.name}.cmd, {example.name}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
