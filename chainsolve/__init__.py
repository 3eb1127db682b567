"""chainsolve: derive derivatives with the chain rule, step by step, and prove every step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainsolve.api import Detail, GraphStyle, Mode, load_problem, solve, solve_parsed, verify
from chainsolve.errors import (
    BudgetExceeded,
    ChainsolveError,
    OptionError,
    ParseError,
    ProblemError,
)
from chainsolve.steps import Derivation, Leibniz, Solution, Step

if TYPE_CHECKING:
    from chainsolve.verification import AnswerVerdict, DerivationReport

__version__ = "0.1.0"

#: Names imported on first use: the verifier's module is not loaded for ``solve`` alone.
_LAZY = {"AnswerVerdict": "chainsolve.verification", "DerivationReport": "chainsolve.verification"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chainsolve' has no attribute {name!r}")


__all__ = [
    "AnswerVerdict",
    "BudgetExceeded",
    "ChainsolveError",
    "Derivation",
    "DerivationReport",
    "Detail",
    "GraphStyle",
    "Leibniz",
    "Mode",
    "OptionError",
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
