"""Tests for chainsolve.matrix.expand: entry names, every operation entry by entry, the flattened target."""

from __future__ import annotations

import sys
from pathlib import Path

import sympy

from chainsolve.matrix.expand import entry_name, entry_symbols, expand
from chainsolve.matrix.model import Shape
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.shapes import infer_shapes
from chainsolve.problem import make_symbol


def test_entries_are_named_to_print_well() -> None:
    """W1_12 for a matrix, x_2 for a vector, b for a 1×1, W_10,3 past 9 rows."""
    assert entry_name("W1", 0, 1, Shape(3, 2)) == "W1_12"
    assert entry_name("x", 1, 0, Shape(2, 1)) == "x_2"
    assert entry_name("b", 0, 0, Shape(1, 1)) == "b"
    assert entry_name("W", 9, 2, Shape(12, 3)) == "W_10,3"
    assert entry_symbols("x", Shape(2, 1))[1, 0] == make_symbol("x_2")


def test_each_operation_expands_to_its_definition() -> None:
    """Product, transpose, ⊙, sum, dot, norm2, trace, softmax, cross-entropy written out by hand."""
    text = (
        "a = W'*u; s = sum(a .* a) + dot(u, u) + trace(M) + norm2(u)^2; "
        "p = softmax(a); L = cross_entropy(p, v) + s"
    )
    shaped = infer_shapes(parse_matrix_problem(text, "W: 2x2, u: 2, M: 2x2, v: 2"))
    local = expand(shaped).local
    w = entry_symbols("W", Shape(2, 2))
    u = entry_symbols("u", Shape(2, 1))
    m = entry_symbols("M", Shape(2, 2))
    a = entry_symbols("a", Shape(2, 1))
    assert local["a"] == w.T * u
    by_hand = a[0] ** 2 + a[1] ** 2 + u[0] ** 2 + u[1] ** 2 + m[0, 0] + m[1, 1]
    by_hand += u[0] ** 2 + u[1] ** 2  # norm2(u)^2 = sqrt(u1² + u2²)² = u1² + u2²
    assert sympy.expand(local["s"][0, 0] - by_hand) == 0
    total = sympy.exp(a[0]) + sympy.exp(a[1])
    assert local["p"] == sympy.Matrix([sympy.exp(a[0]) / total, sympy.exp(a[1]) / total])


def test_the_target_flattened_from_a_name_keeps_that_name_free() -> None:
    """flattened_from(a): definitions after a written out, a's entries left as symbols."""
    shaped = infer_shapes(parse_matrix_problem("a = W*x; h = tanh(a); L = sum(h)", "W: 2x2, x: 2"))
    expansion = expand(shaped)
    a = entry_symbols("a", Shape(2, 1))
    assert expansion.flattened_from("a") == sympy.tanh(a[0]) + sympy.tanh(a[1])
    flat = expansion.flattened_from("W")
    assert not flat.free_symbols & set(a)
    assert expansion.to_inputs(a[0]) == expansion.flat["a"][0]


def test_the_benchmark_runs_on_a_tiny_size() -> None:
    """benchmarks/bench_matrix_check.py still runs and reports its table (no timing asserted)."""
    benchmarks = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(benchmarks))
    try:
        import bench_matrix_check
    finally:
        sys.path.remove(str(benchmarks))
    table = bench_matrix_check.run([2], 1)
    assert table.splitlines()[2].startswith("| 2 | 4 | 4 |")
