"""Hypothesis strategies that write random problems in chainsolve's input language."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from chainsolve.functions import FUNCTIONS

#: Examples per fuzz property: a light profile by default (CI), a heavy one on demand with
#: CHAINSOLVE_FUZZ_EXAMPLES=1200 (or more), which every fuzz and round-trip property scales with.
FUZZ_EXAMPLES = max(1, int(os.environ.get("CHAINSOLVE_FUZZ_EXAMPLES", "200")))

#: Functions the language reads mainly so that chainsolve's answers read back (relu′, |u|′).
ANSWER_ONLY = ("sign", "Heaviside", "Abs")

#: Every unary function of the input language, aliases included (arcsin, ln, ...).
UNARY: tuple[str, ...] = tuple(sorted(name for name in FUNCTIONS if name not in ANSWER_ONLY))

#: Functions whose derivative is smooth wherever it is defined, for properties that need it.
SMOOTH = ("sin", "cos", "exp", "atan", "sinh", "cosh", "tanh", "sigmoid", "softplus")

#: Names of the abstract (unknown) functions definition systems may call.
ABSTRACT = ("f", "g", "h")

#: Exponents as typed after '^': integers, negative, fractional.
EXPONENTS = ("2", "3", "4", "(-1)", "(-2)", "(1/2)", "(3/2)", "(-1/2)", "(1/3)")


def small_numbers() -> st.SearchStrategy[str]:
    """Integers, fractions, short decimals and the constants e and pi, as typed."""
    return st.one_of(
        st.integers(1, 9).map(str),
        st.tuples(st.integers(1, 9), st.integers(2, 9)).map(lambda p: f"({p[0]}/{p[1]})"),
        st.sampled_from(["0.5", "1.5", "2.25", "e", "pi"]),
    )


def expressions(
    variables: tuple[str, ...] = ("x",), functions: tuple[str, ...] = UNARY, max_leaves: int = 6
) -> st.SearchStrategy[str]:
    """Random expressions: compositions, sums, products, quotients and powers of the given names.

    Powers cover integer, negative and fractional exponents, exponentials ``2^(...)``,
    ``e^(...)`` and, rarely, a variable base and exponent together (``(...)^(...)``).
    """
    leaves = st.one_of(st.sampled_from(variables), small_numbers())

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(st.sampled_from(functions), children).map(lambda p: f"{p[0]}({p[1]})"),
            st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
                lambda p: f"({p[0]} {p[1]} {p[2]})"
            ),
            st.tuples(children, st.sampled_from(EXPONENTS)).map(lambda p: f"({p[0]})^{p[1]}"),
            st.tuples(st.sampled_from(["2", "e", "(1/2)"]), children).map(
                lambda p: f"{p[0]}^({p[1]})"
            ),
            st.tuples(children, children).map(lambda p: f"({p[0]})^({p[1]})")
            | st.tuples(children, st.integers(2, 4)).map(lambda p: f"({p[0]})^{p[1]}"),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def single_variable_problems(functions: tuple[str, ...] = UNARY) -> st.SearchStrategy[str]:
    """A composition in x that really depends on x."""
    return expressions(("x",), functions).filter(lambda text: "x" in text)


def _abstract_call(draw: st.DrawFn, below: tuple[str, ...]) -> str:
    """A call of an abstract function on one or two names of the level below, like ``f(v11, t)``."""
    name = draw(st.sampled_from(ABSTRACT))
    arguments = draw(st.lists(st.sampled_from(below), min_size=1, max_size=2, unique=True))
    return f"{name}{len(arguments)}({', '.join(arguments)})"


@st.composite
def definition_systems(
    draw: st.DrawFn, functions: tuple[str, ...] = SMOOTH, abstract: bool = False
) -> str:
    """Multi-level definitions, target first, with shared nodes: each level uses the level below.

    The first definition of every level also adds all names of the level below, so no
    definition is left unused (which chainsolve rejects), and later definitions share
    those names. With ``abstract``, some definitions also call unknown functions such as
    ``f1(v11)`` or ``g2(t, s)`` (the digit is the arity, so one name keeps one arity).
    """
    depth = draw(st.integers(2, 4))
    below: tuple[str, ...] = ("t", "s")
    created: list[str] = []
    for level in range(1, depth + 1):
        names = (
            ["z"] if level == depth else [f"v{level}{i}" for i in range(draw(st.integers(1, 3)))]
        )
        for index, name in enumerate(names):
            body = draw(expressions(below, functions, max_leaves=4))
            if abstract and draw(st.booleans()):
                operator = draw(st.sampled_from(["+", "*"]))
                body = f"({body}) {operator} {_abstract_call(draw, below)}"
            if index == 0:
                body = f"{body} + " + " + ".join(below)
            created.append(f"{name} = {body}")
        below = tuple(names)
    return "; ".join(reversed(created))


#: One-argument forms the layers of :func:`layered_graphs` apply, each to the layer below.
LAYER_FORMS = (
    "sin({})", "cos({})", "exp({})", "tanh({})", "sigmoid({})", "({})^2", "({})^3",
    "log(1 + ({})^2)", "sqrt(1 + ({})^2)", "3*({})", "atan({})",
)  # fmt: skip


@st.composite
def layered_graphs(draw: st.DrawFn) -> str:
    """Chains of 4–6 diamonds, aₖ = bₖ ∘ cₖ with bₖ, cₖ functions of aₖ₋₁: 16 to 64 paths, so
    both the written-out path sums and backpropagation, and values that grow past what 40
    digits hold (e^(e^8), sin of it): where fixed-precision checks called right steps wrong."""
    layers = draw(st.integers(4, 6))
    form = st.sampled_from(LAYER_FORMS)
    lines = [f"z = a{layers}"]
    for k in range(layers, 0, -1):
        operator = draw(st.sampled_from(["+", "*", "-"]))
        below = f"a{k - 1}"
        lines.append(
            f"a{k} = b{k} {operator} c{k}; b{k} = {draw(form).format(below)}; "
            f"c{k} = {draw(form).format(below)}"
        )
    lines.append(f"a0 = {draw(form).format('x')}")
    return "; ".join(lines)


def abstract_definition_systems() -> st.SearchStrategy[str]:
    """Definition systems in which unknown functions appear (as in ``z = f(x, y); x = g(t)``)."""
    return definition_systems(abstract=True).filter(
        lambda text: any(f"{name}1(" in text or f"{name}2(" in text for name in ABSTRACT)
    )


def repeatable(max_examples: int, **overrides: Any) -> settings:
    """Hypothesis settings for the fuzz and round-trip properties: the same examples on every run,
    no example database, no deadline (a solve may take seconds on a busy machine)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **overrides,
    )
