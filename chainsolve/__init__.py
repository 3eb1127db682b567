"""chainsolve: derive derivatives with the chain rule, step by step, and prove every step."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainsolve.api import Detail, GraphStyle, Mode, load_problem, solve, solve_parsed, verify
    from chainsolve.errors import (
        BudgetExceeded,
        ChainsolveError,
        OptionError,
        ParseError,
        ProblemError,
    )
    from chainsolve.steps import Derivation, Leibniz, Solution, Step
    from chainsolve.verification import AnswerVerdict, DerivationReport

__version__ = "0.1.0"

#: Where each public name lives: imported on first use, so that ``chainsolve --version`` and
#: ``--help`` do not pay for sympy.
_MODULE_OF = {
    "load_problem": "chainsolve.api",
    "solve": "chainsolve.api",
    "solve_parsed": "chainsolve.api",
    "verify": "chainsolve.api",
    "BudgetExceeded": "chainsolve.errors",
    "ChainsolveError": "chainsolve.errors",
    "ParseError": "chainsolve.errors",
    "ProblemError": "chainsolve.errors",
    "OptionError": "chainsolve.errors",
    "Detail": "chainsolve.api",
    "GraphStyle": "chainsolve.api",
    "Mode": "chainsolve.api",
    "AnswerVerdict": "chainsolve.verification",
    "DerivationReport": "chainsolve.verification",
    "Derivation": "chainsolve.steps",
    "Leibniz": "chainsolve.steps",
    "Solution": "chainsolve.steps",
    "Step": "chainsolve.steps",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'chainsolve' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value
