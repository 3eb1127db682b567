"""Small dependency graphs shared by the layout and emitter tests."""

from __future__ import annotations

import sympy

from chainsolve.graph import Graph, build_graph
from chainsolve.problem import Definition, build_problem, make_symbol

t, x, y, p, q, u, v = (make_symbol(name) for name in "txypquv")


def two_path() -> Graph:
    """z(x(t), y(t)): two paths from z down to t."""
    definitions = [
        Definition("z", x**2 * y),
        Definition("x", sympy.cos(t)),
        Definition("y", sympy.exp(t)),
    ]
    return build_graph(build_problem(definitions, source=""))


def three_level() -> Graph:
    """z = p*q; p = u + v; q = u*v; u = x^2; v = exp(x): shared nodes on three levels."""
    definitions = [
        Definition("z", p * q),
        Definition("p", u + v),
        Definition("q", u * v),
        Definition("u", x**2),
        Definition("v", sympy.exp(x)),
    ]
    return build_graph(build_problem(definitions, source=""))


def abstract() -> Graph:
    """z = f(x, y); x = g(t); y = h(t) with undefined functions."""
    f, g, h = (sympy.Function(name, real=True) for name in "fgh")
    definitions = [Definition("z", f(x, y)), Definition("x", g(t)), Definition("y", h(t))]
    return build_graph(build_problem(definitions, source=""))
