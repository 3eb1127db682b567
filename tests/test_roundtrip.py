"""What chainsolve prints reads back as what it stands for: names, text equations, JSON strings."""

from __future__ import annotations

import pytest

from chainsolve.derivation import solve_problem
from chainsolve.filters import name_latex, unicode_name
from chainsolve.parsing import parse_problem
from chainsolve.render import render_solution


@pytest.mark.parametrize("user_name", ["u1", "u_1", "v1", "u2"])
def test_generated_names_differ_from_the_users_as_printed(user_name: str) -> None:
    """sin(cos(u1^2)): no generated name prints like the user's u1 in text or LaTeX (it was circular)."""
    problem = parse_problem(f"sin(cos({user_name}^2))")
    solution = solve_problem(problem)
    (user,) = problem.inputs
    assert solution.intermediates
    for name in solution.intermediates:
        assert unicode_name(name) != unicode_name(user)
        assert name_latex(name) != name_latex(user)
    latex = render_solution(solution, "latex")
    assert rf"{name_latex(user)} &= \cos" not in latex
