"""chainsolve: derive derivatives with the chain rule, step by step, and prove every step."""

from __future__ import annotations

from chainsolve.api import load_problem, solve, solve_parsed, verify
from chainsolve.errors import BudgetExceeded, ChainsolveError, ParseError, ProblemError
from chainsolve.steps import Derivation, Leibniz, Solution, Step

__version__ = "0.1.0"

__all__ = [
    "BudgetExceeded",
    "ChainsolveError",
    "Derivation",
    "Leibniz",
    "ParseError",
    "ProblemError",
    "Solution",
    "Step",
    "__version__",
    "load_problem",
    "solve",
    "solve_parsed",
    "verify",
]
