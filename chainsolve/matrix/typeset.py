"""Names with their shapes, and matrices of numbers, in LaTeX and MathML (expressions: printing)."""

from __future__ import annotations

from collections.abc import Sequence

from chainsolve import filters
from chainsolve.matrix import model as m
from chainsolve.problem import make_symbol

__all__ = [
    "matrix_latex",
    "matrix_mathml",
    "name_latex",
    "name_mathml",
    "shape_latex",
    "shape_mathml",
    "shaped_latex",
    "shaped_mathml",
]


def name_latex(name: str) -> str:
    """A name as the other formats write it: ``W1`` → ``W_{1}``, ``theta`` → ``\\theta``."""
    return filters.latex_expr(make_symbol(name))


def name_mathml(name: str) -> str:
    """A name as MathML content: ``W1`` → ``<msub><mi>W</mi><mi>1</mi></msub>``."""
    return filters.mathml_expr(make_symbol(name))


def shape_latex(shape: m.Shape) -> str:
    """``3\\times 2``."""
    return rf"{shape.rows}\times {shape.cols}"


def shape_mathml(shape: m.Shape) -> str:
    return f"<mrow><mn>{shape.rows}</mn><mo>×</mo><mn>{shape.cols}</mn></mrow>"


def shaped_latex(name: str, shape: m.Shape) -> str:
    """A name with its shape written under it: ``\\underset{3\\times 2}{W_{1}}``."""
    return rf"\underset{{{shape_latex(shape)}}}{{{name_latex(name)}}}"


def shaped_mathml(name: str, shape: m.Shape) -> str:
    return f"<munder>{name_mathml(name)}{shape_mathml(shape)}</munder>"


# --------------------------------------------------------------------------- numbers


def matrix_latex(rows: Sequence[Sequence[str]]) -> str:
    """Numbers already written as LaTeX, as a ``bmatrix`` (a 1×1 is the number alone)."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    body = r" \\ ".join(" & ".join(row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def matrix_mathml(rows: Sequence[Sequence[str]]) -> str:
    """Numbers already written as MathML, as an ``mtable`` in brackets (a 1×1 alone)."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    body = "".join(
        "<mtr>" + "".join(f"<mtd>{entry}</mtd>" for entry in row) + "</mtr>" for row in rows
    )
    return f'<mrow><mo>[</mo><mtable columnalign="right">{body}</mtable><mo>]</mo></mrow>'
