"""A matrix solution in every output format: text and JSON with the point, Markdown, LaTeX and HTML."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import mpmath

from chainsolve import filters, wording
from chainsolve.evaluation import SHORT_DIGITS, Value
from chainsolve.matrix import printing, typeset
from chainsolve.matrix.backprop import MatrixStep
from chainsolve.matrix.model import Node, Shape
from chainsolve.matrix.numeric import MatrixEvaluation, MatrixValue, matrix_evaluation_to_dict
from chainsolve.matrix.report import (
    MatrixDetail,
    MatrixNotation,
    delta_lhs,
    matrix_context,
    matrix_to_dict,
    products,
)
from chainsolve.matrix.solve import MatrixSolution

__all__ = [
    "MATRIX_TEMPLATES",
    "format_context",
    "matrix_json",
    "matrix_notation",
    "render_matrix_solution",
]

MatrixFormat = Literal["text", "markdown", "latex", "html", "json"]

#: The main matrix template of each Jinja format.
MATRIX_TEMPLATES = {
    "text": "matrix.point.txt.jinja",
    "markdown": "matrix.md.jinja",
    "latex": "matrix.tex.jinja",
    "html": "matrix.html.jinja",
}


def number_text(value: Value) -> str:
    """An entry in a table: an integer exactly, anything else to 6 significant digits."""
    if value.exact is not None and value.exact.is_integer:
        return str(value.exact)
    return str(mpmath.nstr(mpmath.mpf(value.decimal._mpf_), SHORT_DIGITS))


def _entries(value: MatrixValue, write: Callable[[str], str]) -> list[list[str]]:
    return [[write(number_text(entry)) for entry in row] for row in value.rows]


def value_text(value: MatrixValue) -> str:
    """A value as the ``--at`` input writes it: ``0.5``, ``[1, 2]``, ``[[1, 2], [3, 4]]``."""
    rows = _entries(value, str)
    if value.shape.is_scalar:
        return rows[0][0]
    if value.shape.is_column:
        return "[" + ", ".join(row[0] for row in rows) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"


def _number_mathml(text: str) -> str:
    if text.startswith("-"):
        return f"<mrow><mo>{filters.MINUS}</mo><mn>{text[1:]}</mn></mrow>"
    return f"<mn>{text}</mn>"


@dataclass(frozen=True)
class _Maths:
    """How one format writes the maths of a matrix solution."""

    node: Callable[[Node], str]
    gradient: Callable[[str, str], str]
    adjoint: Callable[[str], str]
    shaped: Callable[[str, Shape], str]
    value: Callable[[MatrixValue], str]
    equals: str


_LATEX = _Maths(
    node=printing.latex,
    gradient=lambda target, name: printing.gradient_text(target, name, "latex"),
    adjoint=lambda name: printing.adjoint_text(name, "latex"),
    shaped=typeset.shaped_latex,
    value=lambda value: typeset.matrix_latex(_entries(value, str)),
    equals=" = ",
)

_MATHML = _Maths(
    node=printing.mathml,
    gradient=lambda target, name: printing.gradient_text(target, name, "mathml"),
    adjoint=lambda name: printing.adjoint_text(name, "mathml"),
    shaped=typeset.shaped_mathml,
    value=lambda value: typeset.matrix_mathml(_entries(value, _number_mathml)),
    equals="<mo>=</mo>",
)


def _step_lhs(step: MatrixStep, maths: _Maths, target: str, notation: MatrixNotation) -> str:
    """δ_a = ∂L/∂a (Leibniz), δ_a (delta notation) or ∂L/∂W (a gradient), written by ``maths``."""
    if delta_lhs(step, notation):
        return maths.adjoint(step.name)
    lhs = maths.gradient(target, step.name)
    return maths.adjoint(step.name) + maths.equals + lhs if step.kind == "delta" else lhs


def _point_context(
    evaluation: MatrixEvaluation, maths: _Maths, target: str, notation: MatrixNotation
) -> dict[str, Any]:
    """The forward and backward tables and the central-difference checks, maths written."""
    backward = []
    for row in evaluation.backward:
        step = row.step
        backward.append(
            {
                "kind": step.kind,
                "lhs": _step_lhs(step, maths, target, notation),
                "formula": maths.node(step.claim),
                "value": maths.value(row.value),
                "text": value_text(row.value),
                "shape": str(step.shape),
            }
        )
    return {
        "exact": evaluation.exact,
        "forward": [
            {
                "name": row.name,
                "shaped": maths.shaped(row.name, row.value.shape),
                "input": row.node is None,
                "value": maths.value(row.value),
                "text": value_text(row.value),
                "shape": str(row.value.shape),
            }
            for row in evaluation.forward
        ],
        "backward": backward,
        "checks": [
            {
                "name": check.name,
                "gradient": maths.gradient(target, check.name),
                "status": check.status,
                "checked": check.checked,
                "entries": check.entries,
                "sampled": check.sampled,
                "difference": f"{float(check.difference):.1e}",
                "tolerance": f"{float(check.tolerance):.0e}",
                "kinks": list(check.kinks),
            }
            for check in evaluation.checks
        ],
        "step": f"{float(evaluation.step):.0e}",
        "verified": evaluation.verified,
    }


def _text_maths() -> _Maths:
    return _Maths(
        node=printing.show,
        gradient=printing.gradient_text,
        adjoint=printing.adjoint_text,
        shaped=lambda name, shape: name,
        value=value_text,
        equals=" = ",
    )


def _format_context(
    solution: MatrixSolution,
    fmt: str,
    evaluation: MatrixEvaluation | None,
    detail: MatrixDetail = "normal",
    notation: MatrixNotation = "leibniz",
) -> dict[str, Any]:
    """:func:`~chainsolve.matrix.report.matrix_context` (the words) with the maths of ``fmt``."""
    context = matrix_context(solution, detail, notation)
    maths = {"html": _MATHML, "text": _text_maths()}.get(fmt, _LATEX)
    problem = solution.problem
    shapes = solution.backprop.shaped.shapes
    target = problem.target
    gradients = solution.backprop.gradients
    context["maths"] = {
        "title": [maths.gradient(target, name) for name in problem.wrt if name in gradients],
        "shapes": [maths.shaped(name, shapes[name]) for name in problem.inputs],
        "forward": [
            (maths.shaped(name, shape), maths.node(node))
            for name, node, shape in solution.backprop.forward
        ],
        "steps": [
            {
                "lhs": _step_lhs(step, maths, target, notation),
                "rhs": maths.node(step.claim),
                "factors": [(maths.node(node), str(shape)) for node, shape in step.factors],
                "products": [
                    (maths.node(node), shapes)
                    for node, shapes in products(step.claim, solution.backprop.shaped)
                ]
                if detail == "full"
                else [],
            }
            for step, _ in solution.steps
        ],
        "results": [
            (maths.gradient(target, name), maths.node(value))
            for name, value in solution.results.items()
        ],
        # δ_v and ∂L/∂v, before the words of context["delta_means"] (the delta notation).
        "delta_v": (maths.adjoint("v"), maths.gradient(target, "v")),
    }
    context["point"] = (
        None if evaluation is None else _point_context(evaluation, maths, target, notation)
    )
    # Verified only when the steps agree with the oracle and, at a point, the gradients with
    # the central differences.
    context["verified"] = solution.verified and (evaluation is None or evaluation.verified)
    return context


def format_context(
    solution: MatrixSolution,
    fmt: str,
    evaluation: MatrixEvaluation | None = None,
    detail: MatrixDetail = "normal",
    notation: MatrixNotation = "leibniz",
) -> dict[str, Any]:
    """What the matrix templates of ``fmt`` receive: the words and the maths written in ``fmt``
    (for HTML, MathML strings not yet marked safe)."""
    return _format_context(solution, fmt, evaluation, detail, notation)


def matrix_notation(notation: str) -> tuple[MatrixNotation, str | None]:
    """The notation a matrix solution is written in for ``--notation``, and the stderr note when
    the option has no meaning for matrices (Lagrange's primes: a gradient by a matrix has none)."""
    if notation == "delta":
        return "delta", None
    if notation == "leibniz":
        return "leibniz", None
    return "leibniz", wording.matrix_notation_note(notation)


def matrix_json(solution: MatrixSolution, evaluation: MatrixEvaluation | None) -> dict[str, Any]:
    """The JSON of a matrix solution; with a point, ``evaluation`` and the top-level
    ``values``, ``forward_pass``, ``gradient`` and ``backward_pass`` as for a scalar problem at a point."""
    from chainsolve.jsonout import validated

    data = matrix_to_dict(solution)
    if evaluation is None:
        return data
    numbers = matrix_evaluation_to_dict(evaluation)
    data["verified"] = data["verified"] and evaluation.verified
    data["evaluation"] = numbers
    for key in ("values", "forward_pass", "gradient", "backward_pass"):
        data[key] = numbers[key]
    return validated(data, "solution")


def render_matrix_solution(
    solution: MatrixSolution,
    fmt: MatrixFormat,
    evaluation: MatrixEvaluation | None = None,
    template_dir: str | None = None,
    template: str | None = None,
    extra: dict[str, Any] | None = None,
    detail: MatrixDetail = "normal",
    notation: MatrixNotation = "leibniz",
) -> str:
    """A matrix solution (and its numbers at a point, when given) in one output format;
    ``template`` and ``extra`` (more context) render it another way, e.g. inside a sheet;
    ``detail`` and ``notation`` as for a scalar solution (JSON always has everything)."""
    if fmt == "json":
        return json.dumps(matrix_json(solution, evaluation), ensure_ascii=False, indent=2) + "\n"
    from chainsolve.render import make_environment

    environment = make_environment(fmt, template_dir)
    environment.filters["matrix_prose"] = matrix_prose
    context = {
        "fragment": False,
        **_format_context(solution, fmt, evaluation, detail, notation),
        **(extra or {}),
    }
    if fmt == "html":
        from markupsafe import Markup

        environment.filters["matrix_equation"] = lambda rows: Markup(
            filters._equation_rows([(str(left), str(right)) for left, right in rows])
        )
        context["maths"] = _marked(context["maths"], Markup)
        if context["point"] is not None:
            context["point"] = _marked(context["point"], Markup)
    return environment.get_template(template or MATRIX_TEMPLATES[fmt]).render(**context)


#: Matrix signs in the words of a step, and what LaTeX writes for them (``latex_prose`` would
#: spell them as code points: ``\\textsc{u+2299}``).
_PROSE_SIGNS = {
    "ᵢⱼ": r"\ensuremath{_{ij}}",
    "⊙": r"\ensuremath{\odot}",
    "⊘": r"\ensuremath{\oslash}",
    "ᵀ": r"\ensuremath{^{\top}}",
    "𝟙": r"\ensuremath{\mathbf{1}}",
    "‖": r"\ensuremath{\|}",
}


def _code_points(sign: str) -> str:
    return "".join(f"\\textsc{{u+{ord(char):x}}}" for char in sign)


def matrix_prose(text: str) -> str:
    r"""The words of a matrix step as LaTeX text: ``latex_prose``, with the matrix signs.

    >>> matrix_prose("passes δ ⊙ F′(A), Gᵀ to Aᵀ")
    "passes $\\delta$ \\ensuremath{\\odot} $F'(A)$, G\\ensuremath{^{\\top}} to A\\ensuremath{^{\\top}}"
    """
    written = filters.latex_prose(text)
    for sign, latex in _PROSE_SIGNS.items():
        written = written.replace(_code_points(sign), latex)
    return written


def _marked(data: Any, markup: Callable[[str], Any]) -> Any:
    """Every string of ``data`` marked as safe HTML: the maths is MathML built from escaped
    pieces (names and numbers chainsolve wrote), so autoescaping must not touch it."""
    if isinstance(data, str):
        return markup(data)
    if isinstance(data, dict):
        return {key: _marked(value, markup) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(_marked(value, markup) for value in data)
    return data
