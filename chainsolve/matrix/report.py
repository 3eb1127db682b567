"""A matrix solution as the words and strings its renderings show: the text template and JSON."""

from __future__ import annotations

from typing import Any, Literal

from chainsolve import wording
from chainsolve.matrix.backprop import MatrixStep, term_shape
from chainsolve.matrix.check import MatrixCheck
from chainsolve.matrix.model import (
    Constant,
    ElementDivide,
    Hadamard,
    MatMul,
    Node,
    ScalarMul,
    Shape,
    children,
)
from chainsolve.matrix.printing import adjoint_text, gradient_text, latex, show
from chainsolve.matrix.shapes import ShapedProblem
from chainsolve.matrix.solve import MatrixSolution

__all__ = [
    "MatrixDetail",
    "MatrixNotation",
    "delta_lhs",
    "matrix_context",
    "matrix_to_dict",
    "products",
]

#: How much of each step a matrix solution shows: ``brief`` the formulas only, ``normal`` with
#: each step's rules, factor shapes and check, ``full`` also the shapes of every product.
MatrixDetail = Literal["brief", "normal", "full"]
#: ``leibniz`` writes each δ as δ_a = ∂L/∂a = …; ``delta`` says once what δ_v means and writes
#: δ_a = … (as the scalar backward pass writes x̄ = …).
MatrixNotation = Literal["leibniz", "delta"]

_PRODUCT_SIGNS = {MatMul: "·", ScalarMul: "·", Hadamard: " ⊙ ", ElementDivide: " ⊘ "}


def _shape(shape: Shape) -> list[int]:
    return [shape.rows, shape.cols]


def _lhs(step: MatrixStep, target: str, style: str = "text") -> str:
    return gradient_text(target, step.name, style)  # type: ignore[arg-type]


def delta_lhs(step: MatrixStep, notation: MatrixNotation) -> bool:
    """Whether the step's left side is its δ alone (the delta notation), not ∂L/∂v."""
    return notation == "delta" and step.kind == "delta"


def products(claim: Node, shaped: ShapedProblem) -> list[tuple[Node, str]]:
    """Every product in ``claim``, innermost first, with its operands' shapes and its own:
    ``δ_a·xᵀ`` and ``(3×1)·(1×2) → 3×2`` (a number times a matrix is left out)."""
    found: list[tuple[Node, str]] = []

    def visit(node: Node) -> None:
        for child in children(node):
            visit(child)
        left: Node
        right: Node
        if isinstance(node, ScalarMul):
            if isinstance(node.scalar, Constant):
                return
            left, right = node.scalar, node.operand
        elif isinstance(node, MatMul | Hadamard | ElementDivide):
            left, right = node.left, node.right
        else:
            return
        shapes = wording.matrix_product_shapes(
            str(term_shape(left, shaped)),
            _PRODUCT_SIGNS[type(node)],
            str(term_shape(right, shaped)),
            str(term_shape(node, shaped)),
        )
        found.append((node, shapes))

    visit(claim)
    return list(dict.fromkeys(found))


def _step_context(
    number: int,
    step: MatrixStep,
    check: MatrixCheck,
    target: str,
    shaped: ShapedProblem,
    detail: MatrixDetail,
    notation: MatrixNotation,
) -> dict[str, Any]:
    condition = step.condition
    if delta_lhs(step, notation):
        left = adjoint_text(step.name)
    elif step.kind == "delta":
        left = f"{adjoint_text(step.name)} = {_lhs(step, target)}"
    else:
        left = _lhs(step, target)
    return {
        "equation": f"{left} = {show(step.claim)}",
        "number": number,
        "kind": step.kind,
        "sentence": wording.matrix_step_sentence(step.kind, step.name, target),
        "symbol": adjoint_text(step.name) if step.kind == "delta" else None,
        "lhs": _lhs(step, target),
        "rhs": show(step.claim),
        "shape": str(step.shape),
        "rules": [wording.matrix_rule_name(rule) for rule in step.rules],
        "factors": [f"{show(node)} ({shape})" for node, shape in step.factors],
        "products": [f"{show(node)}: {shapes}" for node, shapes in products(step.claim, shaped)]
        if detail == "full"
        else [],
        "condition": None if condition is None else wording.matrix_condition(*condition),
        "check": wording.matrix_check(check.method, check.checked, check.entries, check.points),
    }


def matrix_context(
    solution: MatrixSolution,
    detail: MatrixDetail = "normal",
    notation: MatrixNotation = "leibniz",
) -> dict[str, Any]:
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
        "detail": detail,
        "notation": notation,
        "delta_means": wording.MATRIX_DELTA_MEANS if notation == "delta" else None,
        "steps": [
            _step_context(number, step, check, target, shaped, detail, notation)
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
