"""A matrix solution as the words and strings its renderings show: the text template and JSON."""

from __future__ import annotations

from typing import Any

from chainsolve import wording
from chainsolve.matrix.backprop import MatrixStep
from chainsolve.matrix.check import MatrixCheck
from chainsolve.matrix.model import Shape
from chainsolve.matrix.printing import adjoint_text, gradient_text, latex, show
from chainsolve.matrix.solve import MatrixSolution

__all__ = ["matrix_context", "matrix_to_dict"]


def _shape(shape: Shape) -> list[int]:
    return [shape.rows, shape.cols]


def _lhs(step: MatrixStep, target: str, style: str = "text") -> str:
    return gradient_text(target, step.name, style)  # type: ignore[arg-type]


def _step_context(number: int, step: MatrixStep, check: MatrixCheck, target: str) -> dict[str, Any]:
    condition = step.condition
    symbol = f"{adjoint_text(step.name)} = " if step.kind == "delta" else ""
    return {
        "equation": f"{symbol}{_lhs(step, target)} = {show(step.claim)}",
        "number": number,
        "kind": step.kind,
        "sentence": wording.matrix_step_sentence(step.kind, step.name, target),
        "symbol": adjoint_text(step.name) if step.kind == "delta" else None,
        "lhs": _lhs(step, target),
        "rhs": show(step.claim),
        "shape": str(step.shape),
        "rules": [wording.matrix_rule_name(rule) for rule in step.rules],
        "factors": [f"{show(node)} ({shape})" for node, shape in step.factors],
        "condition": None if condition is None else wording.matrix_condition(*condition),
        "check": wording.matrix_check(check.method, check.checked, check.entries, check.points),
    }


def matrix_context(solution: MatrixSolution) -> dict[str, Any]:
    """What the matrix templates show, every word and formula already a string."""
    problem = solution.problem
    shaped = solution.backprop.shaped
    target = problem.target
    wrt = [name for name in problem.wrt if name in solution.backprop.gradients]
    return {
        "title": ", ".join(gradient_text(target, name) for name in wrt),
        "source": " ".join(problem.source.split()),
        "shapes": [(name, str(shaped.shapes[name])) for name in problem.inputs],
        "layout": wording.MATRIX_LAYOUT,
        "forward": [
            (name, show(node), str(shape)) for name, node, shape in solution.backprop.forward
        ],
        "steps": [
            _step_context(number, step, check, target)
            for number, (step, check) in enumerate(solution.steps, start=1)
        ],
        "results": [
            (gradient_text(target, name), show(value), str(shaped.shapes[name]))
            for name, value in solution.results.items()
        ],
        "verified": solution.verified,
        "verified_text": wording.MATRIX_VERIFIED,
    }


def _step_dict(step: MatrixStep, check: MatrixCheck, target: str) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "name": step.name,
        "symbol": adjoint_text(step.name) if step.kind == "delta" else None,
        "lhs": _lhs(step, target),
        "rhs": show(step.claim),
        "lhs_latex": _lhs(step, target, "latex"),
        "rhs_latex": latex(step.claim),
        "shape": _shape(step.shape),
        "rule_ids": list(step.rules),
        "factors": [{"expr": show(node), "shape": _shape(shape)} for node, shape in step.factors],
        "condition": None
        if step.condition is None
        else {"rule": step.condition[0], "name": step.condition[1]},
        "check": {
            "method": check.method,
            "entries_checked": check.checked,
            "entries": check.entries,
            "points": check.points,
            "agrees": check.agrees,
        },
    }


def matrix_to_dict(solution: MatrixSolution) -> dict[str, Any]:
    """The JSON of a matrix solution: the common fields of every solution, and ``matrix``."""
    from chainsolve.jsonout import SCHEMA_VERSION, validated

    problem = solution.problem
    shaped = solution.backprop.shaped
    target = problem.target
    results = solution.results
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "problem": {
            "source": problem.source,
            # Target first, as for every solution; matrix.forward has them in forward order.
            "definitions": [
                {"name": name, "expr": show(node)} for name, node in reversed(problem.definitions)
            ],
            "target": target,
            "inputs": list(problem.inputs),
            "wrt": list(problem.wrt),
            "point": {},
        },
        "derivatives": {name: show(value) for name, value in results.items()},
        "derivatives_latex": {name: latex(value) for name, value in results.items()},
        "steps": [],
        "verified": solution.verified,
        "graph": None,
        "paths": {},
        "notes": [],
        "evaluation": None,
        "matrix": {
            "layout": solution.backprop.layout,
            "shapes": {name: _shape(shape) for name, shape in shaped.shapes.items()},
            "forward": [
                {"name": name, "expr": show(node), "latex": latex(node), "shape": _shape(shape)}
                for name, node, shape in solution.backprop.forward
            ],
            "steps": [_step_dict(step, check, target) for step, check in solution.steps],
        },
    }
    return validated(data, "solution")
