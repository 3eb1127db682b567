"""Hypothesis strategies that write random problems in chainsolve's input language."""

from __future__ import annotations

from hypothesis import strategies as st

#: Every unary function of the input language.
UNARY = (
    "sin", "cos", "tan", "sec", "csc", "cot", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "exp", "log", "ln", "sqrt", "abs", "sigmoid", "relu", "softplus",
)  # fmt: skip

#: Functions whose derivative is smooth wherever it is defined, for properties that need it.
SMOOTH = ("sin", "cos", "exp", "atan", "sinh", "cosh", "tanh", "sigmoid", "softplus")


def small_numbers() -> st.SearchStrategy[str]:
    """Integers, fractions and short decimals as typed."""
    return st.one_of(
        st.integers(1, 9).map(str),
        st.tuples(st.integers(1, 9), st.integers(2, 9)).map(lambda p: f"({p[0]}/{p[1]})"),
        st.sampled_from(["0.5", "1.5", "2.25"]),
    )


def expressions(
    variables: tuple[str, ...] = ("x",), functions: tuple[str, ...] = UNARY, max_leaves: int = 6
) -> st.SearchStrategy[str]:
    """Random expressions: compositions, sums, products, quotients and powers of the given names."""
    leaves = st.one_of(st.sampled_from(variables), small_numbers())

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(st.sampled_from(functions), children).map(lambda p: f"{p[0]}({p[1]})"),
            st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
                lambda p: f"({p[0]} {p[1]} {p[2]})"
            ),
            st.tuples(children, st.integers(2, 4)).map(lambda p: f"({p[0]})^{p[1]}"),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def single_variable_problems(functions: tuple[str, ...] = UNARY) -> st.SearchStrategy[str]:
    """A composition in x that really depends on x."""
    return expressions(("x",), functions).filter(lambda text: "x" in text)


@st.composite
def definition_systems(draw: st.DrawFn, functions: tuple[str, ...] = SMOOTH) -> str:
    """Multi-level definitions, target first, with shared nodes: each level uses the level below.

    The first definition of every level also adds all names of the level below, so no
    definition is left unused (which chainsolve rejects).
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
            if index == 0:
                body = f"{body} + " + " + ".join(below)
            created.append(f"{name} = {body}")
        below = tuple(names)
    return "; ".join(reversed(created))
