"""Matrix-level mistakes: the core's backward pass with one gate done wrong, and the verdict on an answer.

Each wrong variant is the correct backward pass with one gate of one step (a δ or the
gradient) done the way students get it wrong, carried through the later steps unchanged:

- ``matrix_wrong_order``: the transpose of a matrix-multiply gate's result, x·δᵀ for δ·xᵀ
  (or δᵀ·W for Wᵀ·δ), or its factors swapped;
- ``matrix_missing_transpose``: Wᵀ·δ written W·δ (or δ·xᵀ written δ·x);
- ``matrix_missing_elementwise_derivative``: δ_h ⊙ σ′(a) without its ⊙ σ′(a);
- ``matrix_product_for_elementwise``: δ_h ⊙ σ′(a) written as a matrix product (δ_hᵀ·σ′(a),
  δ_h·σ′(a)ᵀ);
- ``matrix_missing_broadcast_sum``: sum(δ_a) of a broadcast 1×1 (b in W·x + b) written δ_a,
  the copies' gradient for the scalar's.

A student's answer is compared with the gradient and with each variant entry by entry,
through the same expansion the core checks its steps with (``chainsolve.matrix.check``);
an answer whose shape is not the gradient's and matches no variant is a ``matrix_shape_mismatch``.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections.abc import Iterator, Mapping
from dataclasses import field
from typing import Any, Literal

import sympy

from chainsolve import wording
from chainsolve.errors import ProblemError
from chainsolve.matrix.backprop import MatrixStep
from chainsolve.matrix.check import (
    CHECK_LIMITS,
    _numerically_equal,
    _Points,
    _proved,
    _within,
)
from chainsolve.matrix.expand import entries_of
from chainsolve.matrix.lexer import tokenize
from chainsolve.matrix.model import (
    NO_SPAN,
    Hadamard,
    MatMul,
    Node,
    Prime,
    Shape,
    SumAll,
    Transpose,
    children,
)
from chainsolve.matrix.parse import _Parser
from chainsolve.matrix.printing import adjoint_text, gradient_text, show
from chainsolve.matrix.shapes import _Inference
from chainsolve.matrix.solve import MatrixSolution, inline
from chainsolve.parsing import LIMITS, check_length
from chainsolve.record import record

__all__ = [
    "DELTA_PREFIX",
    "MAX_VARIANTS",
    "MatrixMistakeMatch",
    "MatrixVerdict",
    "Variant",
    "matrix_verdict_to_dict",
    "verify_matrix_answer",
    "wrong_variants",
]

#: An answer names δ of an intermediate ``a`` as ``delta_a``.
DELTA_PREFIX = "delta_"
#: At most this many wrong variants per gradient (they grow with the number of gates).
MAX_VARIANTS = 64
#: At most this many entries are compared per answer, a seeded sample beyond it.
MAX_ENTRIES = CHECK_LIMITS.max_entries

MatrixVerdictId = Literal["equivalent", "not_equivalent"]


@record
class Variant:
    """A wrong gradient: ``mistake`` made in the step ``site`` (printed), carried to the end."""

    mistake: str
    site: str
    result: Node


@record
class MatrixMistakeMatch:
    """A mistake that reproduces the answer, and where it was made (``detail``)."""

    id: str
    detail: str = ""

    @property
    def title(self) -> str:
        """The mistake's short title."""
        return wording.MATRIX_MISTAKES[self.id][0]

    @property
    def message(self) -> str:
        """What went wrong, in words."""
        return wording.MATRIX_MISTAKES[self.id][1]


@record
class MatrixVerdict:
    """The check of a matrix answer: verdict, the shapes, the mistakes it matches."""

    source: str
    target: str
    wrt: str
    answer_text: str
    answer_shape: Shape | None
    expected: str
    expected_shape: Shape
    verdict: MatrixVerdictId
    mistakes: tuple[MatrixMistakeMatch, ...] = ()
    shape_error: str = ""
    kind: str = field(default="answer", init=False)

    @property
    def correct(self) -> bool:
        """True for an answer equal to the gradient entry by entry."""
        return self.verdict == "equivalent"

    @property
    def derivative(self) -> str:
        """∂L/∂W1."""
        return gradient_text(self.target, self.wrt)

    @property
    def message(self) -> str:
        """The verdict in prose (worded by :mod:`chainsolve.wording`)."""
        return wording.matrix_verdict_message(self)

    def to_text(self) -> str:
        """The verdict as plain text (``templates/text/matrix_verdict.txt.jinja``)."""
        from chainsolve.render import make_environment

        template = make_environment("text").get_template("matrix_verdict.txt.jinja")
        return template.render(report=self)


# -- the wrong variants --------------------------------------------------------------------


def _own_wrongs(node: Node, broadcast: bool) -> Iterator[tuple[str, Node]]:
    """The wrong ways of doing the gate ``node`` is itself (``broadcast``: the step passes
    through a broadcast gate, whose sum(G) may be left out)."""
    if isinstance(node, SumAll) and broadcast:
        yield "matrix_missing_broadcast_sum", node.operand
    elif isinstance(node, MatMul):
        left, right = node.left, node.right
        if isinstance(right, Transpose):  # G·Xᵀ, the gradient of a weight
            yield "matrix_wrong_order", _matmul(right.operand, Transpose(left, NO_SPAN))
            yield "matrix_missing_transpose", _matmul(left, right.operand)
        if isinstance(left, Transpose):  # Wᵀ·G, δ passed back through W
            yield "matrix_missing_transpose", _matmul(left.operand, right)
            yield "matrix_wrong_order", _matmul(Transpose(right, NO_SPAN), left.operand)
        yield "matrix_wrong_order", _matmul(right, left)
    elif isinstance(node, Hadamard):
        left, right = node.left, node.right
        for kept, dropped in ((left, right), (right, left)):
            if isinstance(dropped, Prime):
                yield "matrix_missing_elementwise_derivative", kept
        yield "matrix_product_for_elementwise", _matmul(Transpose(left, NO_SPAN), right)
        yield "matrix_product_for_elementwise", _matmul(left, Transpose(right, NO_SPAN))
        yield "matrix_product_for_elementwise", _matmul(left, right)


def _matmul(left: Node, right: Node) -> MatMul:
    return MatMul(left, right, NO_SPAN, NO_SPAN)


def _one_gate_wrong(node: Node, broadcast: bool) -> Iterator[tuple[str, Node]]:
    """``node`` with one of its gates done wrong, each way in turn (the rest kept)."""
    yield from _own_wrongs(node, broadcast)
    for item in dataclasses.fields(node):
        child = getattr(node, item.name)
        if child is None or isinstance(child, str | int) or child not in children(node):
            continue
        for mistake, wrong in _one_gate_wrong(child, broadcast):
            changed: dict[str, Any] = {item.name: wrong}
            yield mistake, dataclasses.replace(node, **changed)


def _step_site(step: MatrixStep, target: str) -> str:
    left = adjoint_text(step.name) if step.kind == "delta" else gradient_text(target, step.name)
    return f"{left} = {show(step.claim)}"


def wrong_variants(solution: MatrixSolution, name: str) -> tuple[Variant, ...]:
    """The gradient by ``name`` with one gate of one step wrong, each carried to the result."""
    steps = solution.backprop.steps
    deltas = {s.name: s.claim for s in steps if s.kind == "delta"}
    gradient = solution.backprop.gradients[name]
    target = solution.problem.target
    right = show(inline(gradient.claim, deltas))
    found: dict[str, Variant] = {}
    for step in [*steps[: steps.index(gradient)], gradient]:
        if step.kind == "gradient" and step is not gradient:
            continue
        for mistake, wrong in _one_gate_wrong(step.claim, "broadcast" in step.rules):
            # A wrong δ is used by the later steps as it is: the slip carried to the result.
            claim, known = (
                (wrong, deltas)
                if step is gradient
                else (gradient.claim, {**deltas, step.name: wrong})
            )
            result = inline(claim, known)
            printed = show(result)
            if printed != right and printed not in found:
                found[printed] = Variant(mistake, _step_site(step, target), result)
            if len(found) >= MAX_VARIANTS:
                return tuple(found.values())
    return tuple(found.values())


# -- the answer ----------------------------------------------------------------------------


def _read_answer(solution: MatrixSolution, text: str) -> tuple[Node | None, Shape | None, str]:
    """The answer's expression and shape, or its shape error (a verdict, not a usage error).

    An answer that cannot be read, or that uses a name the problem does not have, raises.
    """
    check_length(text)
    node = _Parser(text, tokenize(text, 0, len(text)), [LIMITS.max_nodes]).whole()
    shaped = solution.backprop.shaped
    problem = dataclasses.replace(shaped.problem, source=text)
    inference = _Inference(problem)
    inference.names.update(shaped.shapes)
    for step in solution.backprop.steps:
        if step.kind == "delta":
            inference.names[DELTA_PREFIX + step.name] = step.shape
    try:
        resolved, shape = inference.visit(node)
    except ProblemError as error:
        if error.code == "undeclared_name":
            deltas = [n for n in inference.names if n.startswith(DELTA_PREFIX)]
            error.hint = wording.matrix_answer_names_hint(list(shaped.shapes), deltas)
        if error.code != "shape_mismatch":
            raise
        return None, None, error.message
    return resolved, shape, ""


class _Comparison:
    """Entry-by-entry equality of matrix expressions, through the core's expansion and points."""

    def __init__(self, solution: MatrixSolution, gradient: MatrixStep) -> None:
        expansion = solution.checked.expansion
        self.expansion = expansion
        adjoints: dict[str, sympy.Matrix] = {}
        for step in solution.backprop.steps:
            if step.kind == "delta":
                adjoints[step.name] = entries_of(step.claim, expansion.symbols, adjoints)
        self.names: dict[str, sympy.Matrix] = dict(expansion.symbols)
        self.names.update({DELTA_PREFIX + name: value for name, value in adjoints.items()})
        self.points = _Points(expansion, CHECK_LIMITS)
        self.condition = gradient.condition[1] if gradient.condition is not None else None

    def entries(self, node: Node) -> sympy.Matrix | None:
        """``node`` entry by entry, or None when its shapes do not fit."""
        try:
            return entries_of(node, self.names)
        except (sympy.ShapeError, ValueError, TypeError, IndexError):
            return None

    def equal(self, left: sympy.Matrix, right: sympy.Matrix) -> bool:
        """Every compared entry of two matrices of one shape agrees (a seeded sample when large)."""
        if left.shape != right.shape:
            return False
        every = [(i, j) for i in range(left.rows) for j in range(left.cols)]
        if len(every) > MAX_ENTRIES:
            every = sorted(random.Random("answer").sample(every, MAX_ENTRIES))
        flattening = self.expansion.flattening
        bound = CHECK_LIMITS.exact_nodes
        for i, j in every:
            # As the core checks a step: small sides are expanded, the rest decided at points.
            sides = [side.xreplace(flattening) for side in (left[i, j], right[i, j])]
            if all(_within(side, bound) for side in sides) and _proved(sides[0] - sides[1]):
                continue
            if not _numerically_equal(left[i, j], right[i, j], self.points, self.condition):
                return False
        return True


def verify_matrix_answer(solution: MatrixSolution, name: str, answer: str) -> MatrixVerdict:
    """The verdict on ``answer`` for the gradient by ``name``, naming the mistakes it matches."""
    gradient = solution.backprop.gradients[name]
    expected = solution.results[name]
    node, shape, shape_error = _read_answer(solution, answer)
    verdict = functools.partial(
        MatrixVerdict,
        solution.problem.source,
        solution.problem.target,
        name,
        answer,
        shape,
        show(expected),
        gradient.shape,
    )
    if node is None:
        match = MatrixMistakeMatch("matrix_shape_mismatch", shape_error)
        return verdict("not_equivalent", (match,), shape_error)
    compare = _Comparison(solution, gradient)
    given = compare.entries(node)
    right = compare.entries(expected)
    if given is not None and right is not None and compare.equal(given, right):
        return verdict("equivalent")
    matches: dict[str, MatrixMistakeMatch] = {}
    for variant in wrong_variants(solution, name):
        wrong = compare.entries(variant.result)
        if wrong is None or given is None or variant.mistake in matches:
            continue
        if compare.equal(given, wrong):
            detail = wording.matrix_mistake_detail(variant.site)
            matches[variant.mistake] = MatrixMistakeMatch(variant.mistake, detail)
    if shape != gradient.shape and not matches:
        detail = wording.matrix_shape_detail(str(shape), str(gradient.shape), name)
        matches["matrix_shape_mismatch"] = MatrixMistakeMatch("matrix_shape_mismatch", detail)
    return verdict("not_equivalent", tuple(matches.values()))


def matrix_verdict_to_dict(report: MatrixVerdict) -> dict[str, Any]:
    """The JSON of a matrix verdict, in the verdict schema's ``answer`` form plus its shapes."""
    from chainsolve.jsonout import validated

    data: dict[str, Any] = {
        "kind": report.kind,
        "correct": report.correct,
        "verdict": report.verdict,
        "counterexample": None,
        "mistakes": [m.id for m in report.mistakes],
        "message": report.message,
        "mistake_details": [
            {"id": m.id, "title": m.title, "message": m.message, "detail": m.detail}
            for m in report.mistakes
        ],
        "wrt": report.wrt,
        "expected": report.expected,
        "answer": report.answer_text,
        "agree_where": None,
        "shapes": _shapes(report),
    }
    return validated(data, "verdict")


def _shapes(report: MatrixVerdict) -> Mapping[str, list[int] | None]:
    answer = report.answer_shape
    return {
        "expected": [report.expected_shape.rows, report.expected_shape.cols],
        "answer": None if answer is None else [answer.rows, answer.cols],
    }
