"""Where a problem's statements start and whether one declares a shape: no sympy, cheap to import."""

from __future__ import annotations

import re

#: The start of a shape declaration (``x: 2``, ``W1: 3x2``).
DECLARATION_START = re.compile(r"\s*[A-Za-z][A-Za-z0-9_]*\s*:")


def statement_bounds(source: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each non-blank statement: separated by ``;`` or a newline."""
    bounds = []
    start = 0
    for i, char in enumerate([*source, ";"]):
        if char in ";\n":
            if source[start:i].strip():
                bounds.append((start, i))
            start = i + 1
    return bounds


def has_declarations(text: str) -> bool:
    """Does ``text`` declare a shape (``x: 2``)? Then it is a matrix problem."""
    return any(DECLARATION_START.match(text, start, end) for start, end in statement_bounds(text))
