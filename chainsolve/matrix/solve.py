"""A matrix problem from text to a checked worked solution: read, shape, backpropagate, check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chainsolve.budget import stage
from chainsolve.matrix.backprop import Backprop, MatrixStep, backprop, summed
from chainsolve.matrix.check import CheckedBackprop, MatrixCheck, check_backprop
from chainsolve.matrix.model import (
    NO_SPAN,
    Adjoint,
    Declaration,
    MatrixProblem,
    Node,
    SumAll,
    children,
)
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.shapes import infer_shapes

__all__ = ["MatrixSolution", "inline", "solve_matrix"]


@dataclass(frozen=True)
class MatrixSolution:
    """The checked backward pass of a matrix problem."""

    checked: CheckedBackprop

    @property
    def problem(self) -> MatrixProblem:
        """The problem, with ``*`` by a 1×1 read as a scalar multiple."""
        return self.checked.backprop.shaped.problem

    @property
    def backprop(self) -> Backprop:
        """The worked backward pass."""
        return self.checked.backprop

    @property
    def steps(self) -> tuple[tuple[MatrixStep, MatrixCheck], ...]:
        """Each step with its check."""
        return tuple(zip(self.backprop.steps, self.checked.checks, strict=True))

    @property
    def verified(self) -> bool:
        """Did every step agree with the oracle, entry by entry?"""
        return self.checked.verified

    @property
    def results(self) -> dict[str, Node]:
        """Each gradient with every δ written out, in the problem's own names."""
        deltas = {s.name: s.claim for s in self.backprop.steps if s.kind == "delta"}
        return {name: inline(step.claim, deltas) for name, step in self.backprop.gradients.items()}


def inline(node: Node, deltas: Mapping[str, Node]) -> Node:
    """``node`` with each δ replaced by what it equals (the δs it uses written out in turn)."""
    if isinstance(node, Adjoint) and node.name in deltas:
        return inline(deltas[node.name], deltas)
    if isinstance(node, SumAll) and node.span == NO_SPAN:
        # A broadcast's sum(δ) with δ written out: numbers taken out, sum(2·r) = 2·sum(r).
        return summed(inline(node.operand, deltas))
    if not children(node):
        return node
    changes = {
        field.name: inline(value, deltas)
        for field in dataclasses.fields(node)
        if not isinstance(value := getattr(node, field.name), str | int) and value in children(node)
    }
    return dataclasses.replace(node, **changes)  # type: ignore[arg-type]


def solve_matrix(
    text: str, shapes: str | Sequence[Declaration] = (), wrt: Sequence[str] | None = None
) -> MatrixSolution:
    """Solve a matrix problem: ``text`` with its shapes (in it, or ``shapes`` as ``--shapes``
    writes them), differentiated by ``wrt`` (default: every input)."""
    with stage("parse"):
        problem = parse_matrix_problem(text, shapes, wrt)
        shaped = infer_shapes(problem)
    with stage("derivation"):
        worked = backprop(shaped)
    with stage("check"):
        return MatrixSolution(check_backprop(worked))
