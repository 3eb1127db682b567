"""Tests for chainsolve.problem: validating definitions, ordering inputs, choosing wrt and the target."""

from __future__ import annotations

import pytest
import sympy

from chainsolve.errors import ProblemError, Span
from chainsolve.parsing import parse_problem
from chainsolve.problem import (
    IMPLICIT_TARGET_NAMES,
    Definition,
    build_problem,
    implicit_target_name,
    make_symbol,
)

a, b, c, p, q, t, x, y, z = (make_symbol(name) for name in "abcpqtxyz")


def error_of(definitions: list[Definition], **options: object) -> ProblemError:
    """The ProblemError build_problem raises for these definitions."""
    with pytest.raises(ProblemError) as info:
        build_problem(definitions, source="src", **options)  # type: ignore[arg-type]
    return info.value


def test_two_path_problem() -> None:
    """z = x²y; x = cos t; y = eᵗ: target z, one input t, wrt inferred as t."""
    problem = build_problem(
        [Definition("z", x**2 * y), Definition("x", sympy.cos(t)), Definition("y", sympy.exp(t))],
        source="",
    )
    assert (problem.target, problem.inputs, problem.wrt) == ("z", ("t",), ("t",))
    assert problem.names == {"z", "x", "y", "t"}
    assert problem.definition("x").expr == sympy.cos(t)
    assert not problem.is_single_expression
    with pytest.raises(KeyError):
        problem.definition("t")


def test_symbols_are_real() -> None:
    """make_symbol and Problem.symbol give real symbols, equal to each other."""
    problem = build_problem([Definition("y", x**2)], source="")
    assert problem.symbol("x") == make_symbol("x") == x
    assert x.is_real


def test_empty_problem() -> None:
    """No definitions at all is an `empty_problem` error."""
    assert error_of([]).code == "empty_problem"


def test_duplicate_definition_points_at_the_second() -> None:
    """A name defined twice is `duplicate_definition`, with the span of the second definition."""
    second = Span(7, 12)
    error = error_of([Definition("z", x, Span(0, 5)), Definition("z", y, second)])
    assert error.code == "duplicate_definition"
    assert "'z' is defined twice" in error.message
    assert error.span == second


def test_cycle_names_the_cycle_path() -> None:
    """Circular definitions are a `cycle` error whose message spells the cycle z → a → b → z."""
    error = error_of([Definition("z", a + x), Definition("a", b * 2), Definition("b", z + 1)])
    assert error.code == "cycle"
    assert error.message.endswith("z → a → b → z")
    assert error.hint


def test_self_reference_is_a_cycle() -> None:
    """A definition using its own name is a cycle z → z."""
    error = error_of([Definition("z", z + x)])
    assert error.code == "cycle"
    assert "z → z" in error.message


def test_cycle_away_from_the_target() -> None:
    """A cycle among intermediates (not through the target) is still found."""
    error = error_of([Definition("z", a), Definition("a", b + x), Definition("b", a * 2)])
    assert error.code == "cycle"
    assert "a → b → a" in error.message


def test_unused_definition() -> None:
    """A definition the target does not depend on is `unused_definition`, naming it."""
    error = error_of([Definition("z", a * x), Definition("a", x), Definition("b", x, Span(3, 4))])
    assert error.code == "unused_definition"
    assert "'b'" in error.message and "'z'" in error.message
    assert error.span == Span(3, 4)


def test_unknown_wrt() -> None:
    """A wrt naming no variable of a graph problem is `unknown_wrt`; the hint lists the inputs."""
    error = error_of([Definition("z", a * x), Definition("a", x)], wrt=["q"])
    assert error.code == "unknown_wrt"
    assert error.hint == "inputs: x"


def test_wrt_a_single_expression_does_not_use_is_allowed() -> None:
    """A single expression may be differentiated by a variable it does not use (derivative 0)."""
    problem = build_problem([Definition("z", y**2 + 1)], source="y^2 + 1", wrt=["x"])
    assert (problem.inputs, problem.wrt) == (("y",), ("x",))


def test_variables_that_cancel_are_what_to_differentiate_by() -> None:
    """x - x has no input, but it is written in x: its wrt is x."""
    typed = sympy.Add(x, -x, evaluate=False)
    problem = build_problem([Definition("y", sympy.Integer(0), None, typed)], source="x - x")
    assert (problem.inputs, problem.wrt) == ((), ("x",))


def test_defined_wrt() -> None:
    """A wrt naming a defined variable is `wrt_is_defined`; the hint lists the inputs."""
    error = error_of([Definition("z", a * x), Definition("a", sympy.sin(t))], wrt=["a"])
    assert error.code == "wrt_is_defined"
    assert "x" in (error.hint or "") and "t" in (error.hint or "")


def test_ambiguous_wrt_lists_inputs() -> None:
    """Several inputs and no wrt is `ambiguous_wrt`, listing all inputs."""
    error = error_of([Definition("z", x * y)])
    assert error.code == "ambiguous_wrt"
    assert "(x, y)" in error.message
    assert error.hint and "--wrt x" in error.hint


def test_wrt_is_deduplicated_in_order() -> None:
    """wrt keeps the order given and drops repeats."""
    problem = build_problem([Definition("z", x * y)], source="", wrt=["y", "x", "y"])
    assert problem.wrt == ("y", "x")


def test_point_with_several_inputs_means_every_input() -> None:
    """With a point and no wrt, wrt is every input."""
    problem = build_problem([Definition("z", x * y)], source="", point={"x": 1, "y": 2})
    assert problem.wrt == ("x", "y")
    assert dict(problem.point) == {"x": 1, "y": 2}


@pytest.mark.parametrize(("name", "defined"), [("q", False), ("a", True)])
def test_point_naming_a_non_input(name: str, defined: bool) -> None:
    """A point value for an unknown or a defined name is `unknown_point_name`."""
    error = error_of(
        [Definition("z", a * x), Definition("a", sympy.sin(x))], point={name: sympy.Integer(1)}
    )
    assert error.code == "unknown_point_name"
    assert f"'{name}'" in error.message
    assert ("defined in terms of other variables" in error.message) is defined


def test_no_variables() -> None:
    """A constant written without a variable, and no wrt, is `no_variables`; the hint says --wrt."""
    error = error_of([Definition("y", sympy.Integer(5))])
    assert error.code == "no_variables"
    assert "--wrt" in (error.hint or "")


def test_inputs_in_order_of_first_use_across_definitions() -> None:
    """Inputs are ordered by the definition that first uses them, not alphabetically."""
    problem = build_problem(
        [Definition("z", a * q), Definition("a", sympy.sin(p))], source="", wrt=["p"]
    )
    assert problem.inputs == ("q", "p")


def test_inputs_in_order_of_first_appearance_in_the_text() -> None:
    """`L = (w*x + b - y)^2` has inputs w, x, b, y: the order they appear in."""
    problem = parse_problem("L = (w*x + b - y)^2", wrt=("w",))
    assert problem.inputs == ("w", "x", "b", "y")


def test_abstract_function_names_are_not_inputs() -> None:
    """In f(x, y) the function name f is not an input."""
    f = sympy.Function("f", real=True)
    problem = build_problem(
        [Definition("z", f(x, y)), Definition("x", t), Definition("y", t)], source=""
    )
    assert problem.inputs == ("t",)


def test_implicit_target_name_avoids_user_names() -> None:
    """The implicit target is the first of y, f, z, F, out unused, then out1, out2, …."""
    assert implicit_target_name({"x"}) == "y"
    assert implicit_target_name({"y"}) == "f"
    assert implicit_target_name({"y", "f"}) == "z"
    assert implicit_target_name(set(IMPLICIT_TARGET_NAMES)) == "out1"
    assert implicit_target_name({*IMPLICIT_TARGET_NAMES, "out1"}) == "out2"


@pytest.mark.parametrize(
    ("text", "wrt", "target"),
    [("sin(x)", None, "y"), ("y + f", ("y",), "z"), ("y*z + F(x)", ("x",), "f")],
)
def test_bare_expression_gets_a_fresh_target(
    text: str, wrt: tuple[str, ...] | None, target: str
) -> None:
    """A bare expression's target name clashes with no variable or function name in it."""
    problem = parse_problem(text, wrt=wrt)
    assert problem.target == target
    assert problem.implicit_target
    assert problem.is_single_expression
