"""A Solution as a plain JSON-ready dict with a stable schema (see docs/json-schema.md)."""

from __future__ import annotations

from typing import Any

import sympy
from sympy.printing.str import StrPrinter

from chainsolve.filters import (
    chain_latex,
    chain_unicode,
    definition_latex,
    definition_unicode,
    latex_expr,
)
from chainsolve.graph import Graph
from chainsolve.steps import Claim, Derivation, Solution, Step
from chainsolve.wording import rule_label, sentence

#: Bumped whenever a field is removed or changes meaning (adding a field keeps the version).
SCHEMA_VERSION = 1


def step_text(step: Step) -> str:
    """One line of plain Unicode: the sentence, then the equality chain, definitions or paths.

    >>> from chainsolve.steps import Leibniz
    >>> x, y = sympy.Symbol("x"), sympy.Symbol("y")
    >>> step_text(Step("rule", "direct", (Leibniz(y, x), 2 * x)))
    'Differentiate directly: dy/dx = 2x'
    """
    parts = [chain_unicode(step.sides)] if step.sides else []
    parts += [definition_unicode(name, expr) for name, expr in step.definitions]
    parts += [" → ".join(path) for path in step.paths]
    text = sentence(step)
    if not parts:
        return text
    details = "; ".join(parts)
    return f"{text}: {details}" if text else details


def step_latex(step: Step) -> str:
    r"""The LaTeX of a step's maths: its equality chain, else its definitions or paths."""
    if step.sides:
        return chain_latex(step.sides)
    if step.definitions:
        return r",\quad ".join(definition_latex(name, expr) for name, expr in step.definitions)
    if step.paths:
        return r",\quad ".join(
            r" \to ".join(latex_expr_name(name) for name in path) for path in step.paths
        )
    return ""


def latex_expr_name(name: str) -> str:
    """A variable name in LaTeX (``u_1`` → ``u_{1}``)."""
    return latex_expr(sympy.Symbol(name))


def _claim_dict(claim: Claim | None) -> dict[str, Any] | None:
    """A step's equality in the input language: each of ``equals`` is d(derivative_of)/d(wrt)."""
    if claim is None:
        return None
    return {
        "derivative_of": expression_text(claim.subject),
        "wrt": claim.var.name,
        "equals": [expression_text(value) for value in claim.values],
    }


def _step_dict(step: Step, derivation: str | None) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "rule": rule_label(step),
        "rule_ids": [rule.id for rule in step.rules],
        "claim": _claim_dict(step.claim),
        "text": step_text(step),
        "latex": step_latex(step),
        "verified": step.verified,
        "check": {"status": step.check.status, "detail": step.check.detail},
        "depth": step.depth,
        "derivation": derivation,
    }


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """Nodes (name, kind, definition) and edges (source, target, local partial) as strings."""
    return {
        "nodes": [
            {
                "name": node.name,
                "kind": node.kind,
                "expr": None if node.expr is None else str(node.expr),
            }
            for node in graph.nodes
        ],
        "edges": [
            {"source": edge.source, "target": edge.target, "local_partial": str(edge.local_partial)}
            for edge in graph.edges
        ],
    }


def _paths_dict(derivation: Derivation) -> dict[str, Any]:
    paths = [list(path) for path in derivation.paths] if derivation.paths else None
    return {"count": derivation.path_count, "paths": paths}


class _ReadableStrPrinter(StrPrinter):
    """sympy's ``str()``, except Euler's number: ``E`` would read back as a variable, ``exp(1)`` does not."""

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "exp(1)"


def expression_text(expr: sympy.Expr) -> str:
    """An expression as a string that both sympy and chainsolve's own parser read back."""
    return str(_ReadableStrPrinter().doprint(expr))


def solution_to_dict(solution: Solution) -> dict[str, Any]:
    """The documented JSON schema (version 1) of a solution.

    Expressions are sympy's ``str()`` (``2*x*cos(x**2)``), which both sympy and
    chainsolve's parser read back. With a point (``--at``), ``evaluation`` holds the
    forward and backward passes and the checked gradient, and ``values``, ``gradient``,
    ``forward_pass`` and ``backward_pass`` are repeated at the top level.
    """
    problem = solution.problem
    steps = [_step_dict(step, None) for step in solution.shared_steps]
    for derivation in solution.derivations:
        steps += [_step_dict(step, derivation.wrt) for step in derivation.steps]
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "problem": {
            "source": problem.source,
            "definitions": [
                {"name": d.name, "expr": expression_text(d.expr)} for d in problem.definitions
            ],
            "target": problem.target,
            "inputs": list(problem.inputs),
            "wrt": list(problem.wrt),
            "point": {name: str(value) for name, value in problem.point.items()},
        },
        "derivatives": {d.wrt: expression_text(d.result) for d in solution.derivations},
        "derivatives_latex": {d.wrt: latex_expr(d.result) for d in solution.derivations},
        "steps": steps,
        "verified": solution.verified,
        "graph": None if solution.graph is None else graph_to_dict(solution.graph),
        "paths": {d.wrt: _paths_dict(d) for d in solution.derivations},
        "notes": list(solution.notes),
        "evaluation": None,
    }
    if solution.evaluation is not None:
        from chainsolve.evaluation import evaluation_to_dict

        evaluation = evaluation_to_dict(solution.evaluation)
        result["evaluation"] = evaluation
        # The keys graders read at the top level, as documented for --at.
        for key in ("values", "gradient", "forward_pass", "backward_pass"):
            result[key] = evaluation.get(key)
    return result


__all__ = ["SCHEMA_VERSION", "graph_to_dict", "solution_to_dict", "step_latex", "step_text"]
